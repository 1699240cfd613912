import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../src/runtime/create.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { openFlatfileStore } from '../../src/persistence/flatfile/store.js';
import { ENGINE_CAP } from '../../src/persistence/engine.js';
import { contents, dossiers, installApp, open, put, removeTempDirs, tempDir, topics } from './cps-helpers.js';

afterEach(() => removeTempDirs());

describe('createRuntime({ store })', () => {
  it('keeps createRuntime() without a store a plain kernel runtime', () => {
    const rt = createRuntime();
    expect(rt).toBeInstanceOf(Runtime);
    expect('durableBeat' in rt).toBe(false);
  });

  it('persists durable beats, reports durableBeat, and resumes state and beat counter on reopen', async () => {
    const dir = tempDir();
    const rt = open(dir);
    expect(rt.durableBeat).toBe(-1);
    expect(rt.beat).toBe(0);
    put(rt, 'users', 'ada', 'admin');
    put(rt, 'users', 'bob', 'guest');
    const last = put(rt, 'users', 'ada', 'owner');
    await rt.flush();
    expect(rt.durableBeat).toBe(last);
    expect(rt.persist.engine.frameAt('users', last)?.mode).toBe('delta');
    expect(rt.persist.engine.frameAt('users', 1)?.mode).toBe('snapshot'); // the branch's first frame
    await rt.close();
    expect(rt.halted).toBe(true);
    expect(dossiers(rt, 'op/shdn')[0]).toMatchObject({ status: 'sts:ok', states: ['ist:stop', 'ist:flush', 'ist:halt'] });

    const again = open(dir);
    expect(contents(again, 'users')).toEqual({ ada: 'owner', bob: 'guest' });
    expect(again.beat).toBe(last + 1);
    expect(again.find('/data/users/ada')!.valueAt(1)).toEqual(new TextEncoder().encode('admin')); // history came back
    expect(topics(again)).toContain('persist.recover');
    const next = put(again, 'users', 'cy', 'new');
    expect(next).toBe(last + 1);
    await again.close();
    const third = open(dir);
    expect(contents(third, 'users')).toEqual({ ada: 'owner', bob: 'guest', cy: 'new' });
    await third.close();
  });

  it('a torn tail is cut at open and reported as a persist.recover warning; the beats before it are intact', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'users', 'ada', 'one');
    const good = put(rt, 'users', 'ada', 'two');
    await rt.close();
    const log = join(dir, 'branches', readdirSync(join(dir, 'branches'))[0], 'frames.log');
    // the start of a record a crash cut short, where the next record goes (in the preallocated room):
    // anything else after the records is damage, which an open refuses (store-corruption.test.ts)
    const bytes = readFileSync(log);
    let end = 0;
    while (end + 96 <= bytes.length && bytes.readUInt32LE(end) === 0x4c504543) end += 96 + bytes.readUInt32LE(end + 8);
    bytes.fill(0x5a, end, end + 60);
    writeFileSync(log, bytes);
    const again = open(dir);
    expect(again.persist.engine.recovery.cut.length).toBeGreaterThan(0);
    const warn = again.mailboxes.messages('/data/mailbox/diag').find((m) => m.child('topic')!.text === 'persist.recover' && m.child('sev')!.text === 'sev:warn');
    expect(warn).toBeDefined();
    expect(again.beat).toBe(good + 1);
    expect(contents(again, 'users')).toEqual({ ada: 'two' });
    await again.close();
  });

  it('writes changes made between beats with the next beat that frames the branch (first frame: a snapshot)', async () => {
    const dir = tempDir();
    const rt = open(dir);
    const cfg = rt.find('/data')!.add('cfg');
    cfg.add('mode', { value: 'fast' }); // setup before the first beat, outside any enzyme
    rt.step();
    await rt.flush();
    cfg.child('mode')!.set('slow'); // between beats: the heartbeat does not report it, the kernel's hook does
    rt.persist.markDirty('cfg'); // (and markDirty, for changes no cell call made, changes nothing here)
    rt.step();
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'cfg')).toEqual({ mode: 'slow' });
    await again.close();
  });

  it('publishes metrics, branch_stat and config under /data/persist/<branch>', async () => {
    const rt = open(tempDir(), { metricsEveryBeats: 1 });
    put(rt, 'users', 'ada', 'x');
    await rt.flush();
    const last = put(rt, 'users', 'ada', 'y');
    await rt.flush();
    rt.persist.publish(true);
    rt.step(); // the view is a recorded event, written at the next beat
    const dir = rt.find('/data/persist/users')!;
    expect(dir.child('kv_eng')!.text).toBe('flatfile');
    expect(dir.child('config')!.child('policy_mode')!.text).toBe('durable');
    expect(Number(dir.child('metrics')!.child('frames')!.text)).toBe(2);
    expect(Number(dir.child('metrics')!.child('syncs')!.text)).toBeGreaterThanOrEqual(2);
    expect(Number(dir.child('branch_stat')!.child('durable_bt')!.text)).toBe(last);
    // /data/persist and /data/mailbox are never branches
    expect(rt.persist.engine.branches()).toEqual(['users']);
    await rt.close();
  });

  it('refuses an engine that lacks what the serializer needs, and bad store options', () => {
    const engine = openFlatfileStore(tempDir());
    try {
      const weak = Object.create(engine, { caps: { value: engine.caps & ~ENGINE_CAP.BEAT_ATOMIC } });
      expect(() => createRuntime({ store: { engine: weak } })).toThrow(expect.objectContaining({ code: 'ERR_PERSIST_ENGINE' }));
      const noDeflate = Object.create(engine, { caps: { value: engine.caps & ~ENGINE_CAP.DEFLATE } });
      expect(() => createRuntime({ store: { engine: noDeflate, deflate: true } })).toThrow(expect.objectContaining({ code: 'ERR_PERSIST_ENGINE' }));
      expect(() => createRuntime({ store: { engine, branches: { persist: 'durable' } } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => createRuntime({ store: { engine, checkpointEvery: -1 } })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => createRuntime({ store: {} })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    } finally {
      void engine.close();
    }
  });

  it('a failed commit emits persist.commit, aborts the beat, rejects flush(), and leaves nothing of it on disk', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'users', 'ada', 'one');
    await rt.flush();
    const good = rt.durableBeat;
    await rt.persist.engine.close(); // the engine goes away under the service: every later commit fails
    put(rt, 'users', 'ada', 'two');
    await expect(rt.flush()).rejects.toMatchObject({ code: 'ERR_PERSIST_COMMIT' });
    expect(rt.durableBeat).toBe(good);
    expect(rt.persist.controller('users').needsSnapshot).toBe(true); // the next frame starts over
    expect(topics(rt)).not.toContain('persist.commit'); // learnt between beats: written at the next beat (a recorded event)
    rt.step();
    expect(topics(rt)).toContain('persist.commit');
    expect(topics(rt)).toContain('persist.flush.fail');
    const again = open(dir);
    expect(again.persist.engine.recovery.beat).toBe(good);
    expect(contents(again, 'users')).toEqual({ ada: 'one' });
    await again.close();
  });

  it('backpressure: step() is refused while maxPendingBeats beats wait for the writer, and works again once they are written', async () => {
    const dir = tempDir();
    const rt = open(dir, { maxPendingBeats: 3 });
    put(rt, 'q', 'a', '1');
    put(rt, 'q', 'a', '2');
    put(rt, 'q', 'a', '3'); // the writer has not had a turn: three beats wait
    expect(rt.persist.writer.backlog).toBe(3);
    rt.enqueue('app/put', '/data', { branch: 'q', key: 'a', value: '4' });
    expect(() => rt.step()).toThrow(expect.objectContaining({ code: 'ERR_BEAT_NOT_READY' }));
    await rt.flush();
    expect(rt.persist.writer.backlog).toBe(0);
    const beat = rt.step();
    await rt.close();
    const again = open(dir);
    expect(again.persist.engine.recovery.beat).toBe(beat);
    expect(contents(again, 'q')).toEqual({ a: '4' });
    await again.close();
  });

  it('writes a checkpoint every checkpointEvery frames of a branch', async () => {
    const dir = tempDir();
    const rt = open(dir, { checkpointEvery: 5 });
    for (let i = 0; i < 12; i++) {
      put(rt, 'ck', 'n', String(i));
      await rt.flush(); // the checkpoint after the 5th and 10th frames runs in the writer's sequence
    }
    expect(rt.persist.engine.head('ck')!.checkpointBeat).toBe(10);
    // each automatic checkpoint compacts the branch (retain.compact): the newest one and the frames after it stay
    expect(rt.persist.engine.stats('ck').checkpoints).toBe(1);
    expect([...rt.persist.engine.frames('ck')].map((f) => f.beat)).toEqual([11, 12]);
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'ck')).toEqual({ n: '11' });
    expect(again.find('/data/ck/n')!.valueAt(2)).toEqual(new TextEncoder().encode('1'));
    await again.close();
  });

  it('deflated and sealed frames round-trip through the store', async () => {
    const dir = tempDir();
    const aead = { key: new Uint8Array(32).fill(7) };
    const rt = open(dir, { deflate: true, aead });
    put(rt, 'vault', 'secret', 'x'.repeat(300));
    put(rt, 'vault', 'secret', 'y'.repeat(300));
    await rt.close();
    const raw = readFileSync(join(dir, 'branches', readdirSync(join(dir, 'branches'))[0], 'frames.log'));
    expect(raw.includes(Buffer.from('y'.repeat(64)))).toBe(false);
    const again = open(dir, { deflate: true, aead });
    expect(contents(again, 'vault')).toEqual({ secret: 'y'.repeat(300) });
    await again.close();
  });
});

describe('policies', () => {
  it('scheduled: every N beats (a snapshot with history covers the beats between), and at the scheduled beat', async () => {
    const dir = tempDir();
    const rt = open(dir, { branches: { sched: { mode: 'scheduled', flushEveryBeats: 4 } } });
    const beats: number[] = [];
    for (let i = 0; i < 9; i++) beats.push(put(rt, 'sched', 'n', String(i)));
    await rt.flush();
    const written = [...rt.persist.engine.frames('sched')].map((f) => f.beat);
    expect(written).toEqual([4, 8]); // every 4 beats
    expect(rt.persist.engine.frameAt('sched', 8)!.mode).toBe('snapshot');
    await rt.verbs.schedule('sched', 12, 0);
    for (let i = 9; i < 14; i++) put(rt, 'sched', 'n', String(i));
    await rt.flush();
    expect([...rt.persist.engine.frames('sched')].map((f) => f.beat)).toEqual([4, 8, 12]); // the schedule fires once
    expect(dossiers(rt, 'op/br_sched')[0].status).toBe('sts:ok');
    await rt.close();
    const again = open(dir, { branches: { sched: { mode: 'scheduled', flushEveryBeats: 0 } } });
    expect(contents(again, 'sched')).toEqual({ n: '13' }); // shutdown flushed beats 13-14
    expect(again.find('/data/sched/n')!.valueAt(3)).toEqual(new TextEncoder().encode('2'));
    await again.close();
  });

  it('on-demand (op/br_defer): nothing until op/br_flush; the shutdown flush writes the rest', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'od', 'a', '1');
    await rt.flush();
    await rt.verbs.defer('od');
    rt.step(); // the verb's dossier and fact are written at the next beat
    expect(topics(rt)).toContain('persist.defer');
    put(rt, 'od', 'a', '2');
    put(rt, 'od', 'b', '3');
    await rt.flush();
    expect([...rt.persist.engine.frames('od')].length).toBe(1);
    const flushed = rt.verbs.flush('od');
    rt.step(); // the forced flush happens at the next Commit
    const beat = await flushed;
    rt.step(); // the dossier's last states are written at the next beat
    expect(rt.persist.engine.frameAt('od', beat)!.mode).toBe('snapshot');
    expect(dossiers(rt, 'op/br_flush')[0]).toMatchObject({ status: 'sts:ok', states: ['ist:plan', 'ist:flush', 'ist:ok'] });
    put(rt, 'od', 'c', '4');
    await rt.close(); // flushOnShutdown
    const again = open(dir);
    expect(contents(again, 'od')).toEqual({ a: '2', b: '3', c: '4' });
    await again.close();
  });

  it('volatile branches are never written; flushOnShutdown false keeps on-demand changes out', async () => {
    const dir = tempDir();
    const rt = open(dir, { branches: { cache: 'volatile', lazyish: { mode: 'on_demand', flushOnShutdown: false } } });
    put(rt, 'cache', 'k', 'v');
    put(rt, 'lazyish', 'k', 'v');
    put(rt, 'keep', 'k', 'v');
    await rt.close();
    const again = open(dir);
    expect(again.find('/data/cache')).toBeUndefined();
    expect(again.find('/data/lazyish')).toBeUndefined();
    expect(contents(again, 'keep')).toEqual({ k: 'v' });
    await again.close();
  });

  it('op/br_snapshot seals the branch, writes it once more, and then treats it as read-only', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'ref', 'pi', '3.14');
    const sealed = rt.verbs.snapshot('ref');
    rt.step();
    await sealed;
    rt.step(); // the close of the dossier is written at the next beat
    expect(rt.persist.controller('ref').policy.mode).toBe('ro_snapshot');
    expect(() => rt.find('/data/ref/pi')!.set('3')).toThrow(expect.objectContaining({ code: 'ERR_IMMUTABLE' }));
    expect(topics(rt)).toContain('persist.snapshot');
    expect(dossiers(rt, 'op/br_snapshot')[0].status).toBe('sts:ok');
    rt.persist.publish(true);
    rt.step();
    expect(rt.find('/data/persist/ref/config/snapshot_ro')!.text).toBe('1');
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'ref')).toEqual({ pi: '3.14' });
    await again.close();
  });

  it('lazy branches stay cold until hydrated, within depth and byte budgets (over budget loads nothing)', async () => {
    const dir = tempDir();
    const rt = open(dir);
    for (let i = 0; i < 5; i++) put(rt, 'big', `k${'abcde'[i]}`, 'v'.repeat(100));
    put(rt, 'small', 'x', '1');
    await rt.close();
    const again = open(dir, { branches: { big: { lazy: true } } });
    const big = again
      .find('/data')!
      .childrenRaw()
      .find((c) => c.name === 'big')!;
    expect(big.isCold).toBe(true); // a cold stub: its cells load on first access (test/persistence/hydrate.test.ts)
    expect(contents(again, 'small')).toEqual({ x: '1' });
    expect(() => again.verbs.hydrate('big', { maxBytes: 64 })).toThrow(expect.objectContaining({ code: 'ERR_HYDRATE_BUDGET' }));
    expect(() => again.verbs.hydrate('big', { maxDepth: 0 })).toThrow(expect.objectContaining({ code: 'ERR_HYDRATE_BUDGET' }));
    expect(big.isCold).toBe(true);
    const loaded = again.verbs.hydrate('big', { maxDepth: 1, maxBytes: 1 << 20 });
    expect(loaded.frames).toBeGreaterThan(0);
    expect(Object.keys(contents(again, 'big'))).toHaveLength(5);
    // hydrated: it is written again like any durable branch
    put(again, 'big', 'kz', 'new');
    await again.close();
    const third = open(dir);
    expect(Object.keys(contents(third, 'big'))).toHaveLength(6);
    await third.close();
  });
});

describe('verbs', () => {
  it('op/checkpt and op/compact keep recovery exact', async () => {
    const dir = tempDir();
    const rt = open(dir);
    for (let i = 0; i < 20; i++) put(rt, 'log', `k${'abcdefghij'[i % 10]}`, String(i));
    const at = await rt.verbs.checkpoint('log');
    rt.step();
    expect(rt.persist.engine.head('log')!.checkpointBeat).toBe(at);
    expect(dossiers(rt, 'op/checkpt')[0].status).toBe('sts:ok');
    for (let i = 20; i < 25; i++) put(rt, 'log', 'ka', String(i));
    const { bytesBefore, bytesAfter } = await rt.verbs.compact('log');
    rt.step();
    expect(bytesAfter).toBeLessThanOrEqual(bytesBefore);
    expect(dossiers(rt, 'op/compact')[0].status).toBe('sts:ok');
    const before = contents(rt, 'log');
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'log')).toEqual(before);
    await again.close();
  });

  it('op/sync exports a bundle that op/import promotes in another store; a tampered bundle is refused and changes nothing', async () => {
    const a = open(tempDir());
    put(a, 'docs', 'readme', 'hello');
    put(a, 'docs', 'readme', 'hello again');
    const bundle = join(tempDir('bundle'), 'docs');
    const manifest = await a.verbs.sync('docs', bundle);
    a.step();
    expect(manifest.branch).toBe('docs');
    expect(dossiers(a, 'op/sync')[0].status).toBe('sts:ok');
    await a.close();

    const bDir = tempDir();
    const b = open(bDir);
    put(b, 'docs', 'readme', 'local');
    const imported = await b.verbs.import(bundle);
    b.step();
    expect(imported.beat).toBe(manifest.beat);
    expect(contents(b, 'docs')).toEqual({ readme: 'hello again' });
    expect(dossiers(b, 'op/import')[0].status).toBe('sts:ok');

    // tamper with a copy: one byte of the largest file
    const bad = join(tempDir('bad'), 'docs');
    cpSync(bundle, bad, { recursive: true });
    const files = manifest.files.map((f) => join(bad, f.path)).sort((x, y) => statSync(y).size - statSync(x).size);
    const bytes = readFileSync(files[0]);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(files[0], bytes);
    put(b, 'docs', 'readme', 'after import');
    await b.flush();
    const headBefore = b.persist.engine.head('docs');
    await expect(b.verbs.import(bad)).rejects.toHaveProperty('code');
    b.step();
    expect(b.persist.engine.head('docs')).toEqual(headBefore);
    expect(contents(b, 'docs')).toEqual({ readme: 'after import' });
    expect(dossiers(b, 'op/import')[1].status).toBe('sts:fail');
    await b.close();
    const c = open(bDir);
    expect(contents(c, 'docs')).toEqual({ readme: 'after import' });
    await c.close();
  });
});

describe('cross-branch reads', () => {
  function reader(rt: ReturnType<typeof open>): void {
    rt.registerEnzyme({
      name: 'copier',
      signal: 'app/copy',
      run(ctx) {
        const src = rt.readAcross(ctx, 'books', '/data/cache/price');
        const books = ctx.rt.find('/data')!.child('books') ?? ctx.rt.find('/data')!.add('books');
        const p = books.child('price');
        if (p === undefined) books.add('price', { value: src?.text ?? '' });
        else p.set(src?.text ?? '');
      },
    });
    rt.bind('/data', 'copier', { propagate: true });
  }

  it('a durable consumer may not read a volatile branch unless allowVolatileReads; allowed reads are recorded as decisions', async () => {
    const rt = open(tempDir(), { branches: { cache: 'volatile' } });
    reader(rt);
    put(rt, 'cache', 'price', '42');
    rt.enqueue('app/copy', '/data');
    rt.step();
    expect(rt.find('/data/books')).toBeUndefined(); // the enzyme failed before writing
    expect(topics(rt)).toContain('cell.cross_read');
    await rt.close();

    const rt2 = open(tempDir(), { branches: { cache: 'volatile', books: { allowVolatileReads: true } } });
    reader(rt2);
    put(rt2, 'cache', 'price', '42');
    rt2.enqueue('app/copy', '/data');
    const beat = rt2.step();
    expect(rt2.find('/data/books/price')!.text).toBe('42');
    const decision = rt2.find(`/journal/decisions/${beat}`)!.children()[0];
    expect(decision.child('kind')!.text).toBe('cross_read');
    expect(JSON.parse(decision.child('value')!.text!)).toMatchObject({ consumer: 'books', source: 'cache', risk: 'volatile' });
    await rt2.close();
  });

  it('a replay consumes the recorded cross-read decisions and reaches the same digests', async () => {
    const branches = { cache: 'volatile' as const, books: { allowVolatileReads: true } };
    const live = createRuntime({ store: { dir: tempDir(), branches } });
    installApp(live);
    reader(live);
    put(live, 'cache', 'price', '42');
    live.enqueue('app/copy', '/data');
    const beat = live.step();
    const recording = live.recording();
    await live.close();
    const replay = createRuntime({ store: { dir: tempDir(), branches }, replay: recording });
    installApp(replay);
    reader(replay);
    replay.run();
    expect(replay.find('/data/books/price')!.text).toBe('42');
    expect(replay.digest(beat)).toEqual(live.digest(beat));
    await replay.close();
  });

  it('a durable source with changes not yet durable is risky too', async () => {
    const rt = open(tempDir());
    reader(rt);
    put(rt, 'cache', 'price', '7'); // framed, but the writer has not had a turn
    rt.enqueue('app/copy', '/data');
    rt.step();
    expect(rt.find('/data/books')).toBeUndefined();
    const fact = rt.mailboxes.messages('/data/mailbox/diag').find((m) => m.child('topic')!.text === 'cell.cross_read')!;
    expect(fact.child('note')!.text).toContain('dirty');
    await rt.close();
  });

  it('a source whose last frame is durable is read without a decision', async () => {
    const rt = open(tempDir());
    reader(rt);
    put(rt, 'cache', 'price', '7');
    await rt.flush();
    rt.enqueue('app/copy', '/data');
    const beat = rt.step();
    expect(rt.find('/data/books/price')!.text).toBe('7');
    expect(rt.find(`/journal/decisions/${beat}`)).toBeUndefined();
    await rt.close();
  });
});
