/**
 * Verb dossiers under replay: every verb runs on a real store with a recording; a replay of
 * that recording with no store at all (the store folders are removed first) writes the same
 * `/rt/ops` dossiers and CEI facts and reaches the same beat digests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../../src/runtime/create.js';
import type { Cell } from '../../src/kernel/cell/cell.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { PersistentRuntime } from '../../src/runtime/persistent.js';
import { beatWhere } from '../beat/helpers.js';
import { registerPersistEvents } from '../../src/persistence/service/records.js';
import { dossiers, installApp, put, removeTempDirs, tempDir, topics } from './cps-helpers.js';

afterEach(removeTempDirs);

/** Every cell below `path` as `path=hex(value)`, in tree order (a link as `->target`). */
function dump(rt: Runtime, path: string): string[] {
  const out: string[] = [];
  const walk = (c: Cell): void => {
    const v = c.value;
    out.push(`${c.path}=${v === undefined ? '' : Buffer.from(v).toString('hex')}`);
    for (const k of c.children()) walk(k);
  };
  const root = rt.find(path);
  if (root !== undefined) walk(root);
  return out;
}

function openRecorded(dir: string, branches: Record<string, 'on_demand' | 'durable'> = {}): PersistentRuntime {
  let now = 1_700_000_000_000_000_000n;
  const rt = createRuntime({ store: { dir, branches }, clock: () => (now += 1_000_000n) });
  installApp(rt);
  return rt as PersistentRuntime;
}

describe('verb dossiers are recorded inputs', () => {
  it('a replay without the store reproduces every verb dossier, its facts, and the beat digests', async () => {
    // a bundle to import, made by another store
    const other = openRecorded(tempDir());
    put(other, 'shared', 'note', 'from elsewhere');
    const bundle = join(tempDir('bundle'), 'shared');
    await other.verbs.sync('shared', bundle);
    await other.close();
    const bad = join(tempDir('bad'), 'shared');
    cpSync(bundle, bad, { recursive: true });
    const files = readdirSync(bad, { recursive: true, encoding: 'utf8' })
      .map((f) => join(bad, f))
      .filter((f) => statSync(f).isFile());
    const big = files.sort((x, y) => statSync(y).size - statSync(x).size)[0];
    const bytes = readFileSync(big);
    bytes[bytes.length >> 1] ^= 0xff; // one byte of the largest file
    writeFileSync(big, bytes);

    const dir = tempDir();
    const rt = openRecorded(dir, { od: 'on_demand' });
    put(rt, 'od', 'a', '1');
    put(rt, 'log', 'x', '1');
    put(rt, 'ref', 'pi', '3.14');
    // branch verbs: they take effect at the next beat's Commit
    await rt.verbs.defer('log');
    put(rt, 'log', 'x', '2');
    const flushed = rt.verbs.flush('od');
    rt.step();
    await flushed;
    await rt.verbs.schedule('log', rt.beat + 2, 0);
    const sealed = rt.verbs.snapshot('ref');
    rt.step();
    await sealed;
    // store verbs: engine work between beats
    put(rt, 'log', 'x', '3');
    put(rt, 'log', 'x', '4');
    await rt.verbs.checkpoint('log');
    put(rt, 'log', 'x', '5');
    await rt.verbs.compact('log');
    await rt.verbs.sync('log', join(tempDir('out'), 'log'));
    await rt.verbs.import(bundle);
    await expect(rt.verbs.import(bad)).rejects.toHaveProperty('code');
    await expect(rt.verbs.checkpoint('never')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' }); // a failure: sts:fail through a crit fact
    await expect(rt.verbs.snapshot('missing')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    put(rt, 'od', 'b', '2'); // the beat that writes what the verbs above reported
    put(rt, 'log', 'x', '6');
    rt.step();

    const verbs = ['op/br_defer', 'op/br_flush', 'op/br_sched', 'op/br_snapshot', 'op/checkpt', 'op/compact', 'op/sync', 'op/import'];
    for (const v of verbs) expect(dossiers(rt, v).length, v).toBeGreaterThan(0);
    expect(dossiers(rt, 'op/br_flush')[0]).toMatchObject({ status: 'sts:ok', states: ['ist:plan', 'ist:flush', 'ist:ok'] });
    expect(dossiers(rt, 'op/import').map((d) => d.status)).toEqual(['sts:ok', 'sts:fail']);
    expect(dossiers(rt, 'op/checkpt').map((d) => d.status)).toEqual(['sts:ok', 'sts:fail']);
    expect(dossiers(rt, 'op/br_snapshot').map((d) => d.status)).toEqual(['sts:ok', 'sts:fail']);
    const last = rt.beat - 1;
    const digests = Array.from({ length: last }, (_, i) => Buffer.from(rt.digest(i + 1)!).toString('hex'));
    const ops = dump(rt, '/rt/ops');
    const diag = dump(rt, '/data/mailbox/diag');
    const views = dump(rt, '/data/persist');
    expect(views.length).toBeGreaterThan(0);
    const shared = dump(rt, '/data/shared'); // the imported branch
    expect(shared.some((l) => l.startsWith('/data/shared/note='))).toBe(true);
    const recording = rt.recording();
    await rt.close();
    removeTempDirs(); // no store, no bundles: the replay must not need them

    const replay = createRuntime({ replay: recording });
    installApp(replay);
    for (let b = 1; b <= last; b++) {
      expect(replay.step()).toBe(b);
      expect(Buffer.from(replay.digest(b)!).toString('hex'), `beat ${b}`).toBe(digests[b - 1]);
    }
    expect(dump(replay, '/rt/ops')).toEqual(ops);
    expect(dump(replay, '/data/mailbox/diag')).toEqual(diag);
    expect(dump(replay, '/data/persist')).toEqual(views);
    expect(dump(replay, '/data/shared')).toEqual(shared);
    // the seal came with the snapshot dossier, inside a beat
    expect(() => replay.find('/data/ref/pi')!.set('3')).toThrow(expect.objectContaining({ code: 'ERR_IMMUTABLE' }));
  });

  it("in driven mode a verb's events wake the heartbeat: the dossier opens and closes without stepping by hand", async () => {
    const rt = openRecorded(tempDir());
    put(rt, 'log', 'x', '1');
    rt.start({ intervalMs: 0 });
    try {
      const at = await rt.verbs.checkpoint('log');
      expect(at).toBe(1);
      await beatWhere(rt, () => dossiers(rt, 'op/checkpt')[0]?.status !== undefined);
      expect(dossiers(rt, 'op/checkpt')[0]).toMatchObject({ status: 'sts:ok', states: ['ist:plan', 'ist:write', 'ist:ok'] });
    } finally {
      rt.stop();
      await rt.close();
    }
  });
});

describe('the op/persist enzyme', () => {
  it('an event it cannot apply (a load of frames the runtime refuses) is a crit fact; the events after it still apply', () => {
    const rt = createRuntime();
    registerPersistEvents(rt.heartbeat);
    rt.find('/data')!.add('keep', { value: 'x' });
    rt.enqueue('op/persist/ev', null, {
      e: [
        { k: 'load', b: 'broken', f: [Buffer.from('not a frame').toString('base64')] },
        { k: 'fact', sev: 'debug', topic: 'persist.import', note: 'after the refused load' },
      ],
    });
    rt.step();
    expect(topics(rt)).toEqual(['persist.event', 'persist.import']);
    expect(rt.find('/data/broken')).toBeUndefined();
    expect(rt.find('/data/keep')!.text).toBe('x');
  });
});
