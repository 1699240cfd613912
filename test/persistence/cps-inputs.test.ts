/**
 * Bad inputs against a store-backed runtime, on real stores: what the store cannot keep is
 * refused up front and changes nothing; a branch that fails anyway fails alone (the others stay
 * durable, `flush()` rejects naming it); changes made between beats go with the next beat;
 * writes after `close()` are refused; a store folder that cannot be one is ERR_STORE_DIR.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/runtime/create.js';
import { openFlatfileStore } from '../../src/persistence/flatfile/index.js';
import { MAX_PERSISTED_PAYLOAD } from '../../src/persistence/service/service.js';
import { contents, open, put, removeTempDirs, tempDir, topics } from './cps-helpers.js';

afterEach(removeTempDirs);

const code = (c: string) => expect.objectContaining({ code: c });

describe('options are checked before the store is opened', () => {
  it('a bad aead key, cipher, deflate or hydrate budget is refused by createRuntime and creates nothing', () => {
    const base = tempDir('opts');
    const bad: Array<[object, string]> = [
      [{ aead: { key: new Uint8Array(5) } }, 'ERR_INVALID_ARG_VALUE'],
      [{ aead: { key: 'k'.repeat(32) } }, 'ERR_INVALID_ARG_VALUE'],
      [{ aead: { key: new Uint8Array(32), cipher: 'rot13' } }, 'ERR_INVALID_ARG_VALUE'],
      [{ aead: null }, 'ERR_INVALID_ARG_TYPE'],
      [{ deflate: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
      [{ hydrate: { maxBytes: -1 } }, 'ERR_OUT_OF_RANGE'],
      [{ checkpointEvery: -1 }, 'ERR_OUT_OF_RANGE'],
    ];
    for (const [i, [opts, c]] of bad.entries()) {
      const dir = join(base, `s${i}`);
      expect(() => createRuntime({ store: { dir, ...opts } }), JSON.stringify(opts)).toThrow(code(c));
      expect(existsSync(dir)).toBe(false);
    }
  });
});

describe('what the store cannot keep is refused up front', () => {
  it('branch names the engine cannot store are ERR_INVALID_NAME at add under /data; the tree and namepool stay as they were', async () => {
    const dir = tempDir();
    const rt = open(dir);
    const data = rt.find('/data')!;
    const before = data.children().map((c) => c.name);
    const names = ['.', '..', 'é'.repeat(90), 'Ω'.repeat(120)];
    for (const name of names) expect(() => data.add(name), name).toThrow(code('ERR_INVALID_NAME'));
    expect(data.children().map((c) => c.name)).toEqual(before);
    for (const name of names) expect(rt.namepool.peekReference(name)).toBe(0); // the refused add gave its reference back
    // below a branch any name goes (it is a cell in the branch's frames, not a folder)
    const app = data.add('app');
    app.add('..', { value: 'dots' });
    app.add('é'.repeat(90), { value: 'long' });
    rt.step();
    await rt.close();
    const again = open(dir);
    expect(again.find('/data/app/..')?.text).toBe('dots');
    expect(again.find(`/data/app/${'é'.repeat(90)}`)?.text).toBe('long');
    await again.close();
  });

  it('a volatile branch may take such a name: it is never written, and nothing fails', async () => {
    const rt = open(tempDir(), { branches: { '..': 'volatile' } });
    rt.find('/data')!.add('..', { value: 'x' });
    put(rt, 'ok', 'k', 'v');
    await rt.flush();
    expect(rt.persist.failed).toEqual([]);
    await rt.close();
  });

  it('a payload no frame can hold is ERR_VALUE_TOO_LARGE in a persisted branch (set, setData, add), nothing changes; elsewhere it goes', async () => {
    const rt = open(tempDir(), { branches: { scratch: 'volatile' } });
    const data = rt.find('/data')!;
    const cell = data.add('app').add('blob', { value: 'small' });
    rt.step();
    const big = new Uint8Array(MAX_PERSISTED_PAYLOAD + 1); // zero pages: never touched, costs no memory
    expect(() => cell.set(big)).toThrow(code('ERR_VALUE_TOO_LARGE'));
    expect(() => cell.setData(big, { take: true })).toThrow(code('ERR_VALUE_TOO_LARGE'));
    expect(() => cell.setHard(big)).toThrow(code('ERR_VALUE_TOO_LARGE'));
    expect(() => data.child('app')!.add('huge', { data: big, take: true })).toThrow(code('ERR_VALUE_TOO_LARGE'));
    expect(() => data.add('bigbranch', { data: big, take: true })).toThrow(code('ERR_VALUE_TOO_LARGE'));
    expect(cell.text).toBe('small');
    expect(cell.payloadBeats()).toEqual([0]);
    expect(
      data
        .child('app')!
        .children()
        .map((c) => c.name),
    ).toEqual(['blob']);
    expect(data.child('bigbranch')).toBeUndefined();
    // a volatile branch and cells outside /data are not written: no limit there
    data.add('scratch').add('huge', { data: big, take: true });
    rt.find('/tmp')!.add('huge', { data: big, take: true });
    cell.set('small again');
    rt.step();
    await rt.flush();
    expect(rt.persist.failed).toEqual([]);
    await rt.close();
  });
});

describe('a branch that cannot be written fails alone', () => {
  it('the other branches stay durable, flush() rejects naming it, CEI and branch_stat say so; it recovers once it can be framed', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'good', 'k', '1');
    await rt.flush();
    // a HANDLE proxy cannot be framed (ERR_FRAME_UNSUPPORTED): before, every later step() threw
    const bad = rt.find('/data')!.add('bad');
    bad.add('ok', { value: 'kept' });
    const proxy = bad.add('dev', { handle: {} });
    const b1 = put(rt, 'good', 'k', '2');
    const b2 = put(rt, 'good', 'k', '3');
    await expect(rt.flush()).rejects.toMatchObject({ code: 'ERR_PERSIST_COMMIT', failed: [expect.objectContaining({ branch: 'bad', code: 'ERR_FRAME_UNSUPPORTED' })] });
    expect(rt.durableBeat).toBe(b2);
    expect(rt.persist.controller('good').durableBeat).toBe(b2);
    expect(rt.persist.failed.map((f) => [f.branch, f.code, f.beat])).toEqual([['bad', 'ERR_FRAME_UNSUPPORTED', b1]]);
    expect(topics(rt)).toContain('persist.flush.fail');
    rt.persist.publish(true);
    rt.step();
    expect(rt.find('/data/persist/bad/branch_stat/failed')?.text).toBe('ERR_FRAME_UNSUPPORTED');
    expect(rt.find('/data/persist/good/branch_stat/failed')?.text).toBe('');
    // an unchanged failed branch is not framed again at every beat
    const framesBefore = rt.persist.controller('bad').failures;
    put(rt, 'good', 'k', '4');
    expect(rt.persist.controller('bad').failures).toBe(framesBefore);
    // fixed: it is written at the next beat that changes it, and flush() resolves again
    proxy.removeHard();
    rt.step();
    await rt.flush();
    expect(rt.persist.failed).toEqual([]);
    expect(rt.find('/data/persist/bad/branch_stat/failed')).toBeDefined();
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'good')).toEqual({ k: '4' });
    expect(contents(again, 'bad')).toEqual({ ok: 'kept' });
    await again.close();
  });

  it('close() rejects while a branch could not be written, and the others are on disk', async () => {
    const dir = tempDir();
    const rt = open(dir);
    rt.find('/data')!.add('bad').add('dev', { handle: {} });
    put(rt, 'good', 'k', 'v');
    await expect(rt.close()).rejects.toMatchObject({ code: 'ERR_PERSIST_COMMIT' });
    const again = open(dir);
    expect(contents(again, 'good')).toEqual({ k: 'v' });
    expect(again.find('/data/bad')).toBeUndefined();
    await again.close();
  });
});

describe('changes between beats and after close', () => {
  it('a set() between beats goes with the next beat, and with the shutdown flush when no beat follows', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'app', 'k', 'one');
    await rt.flush();
    rt.find('/data/app/k')!.set('two'); // between beats, nothing else touches the branch
    rt.step();
    await rt.flush();
    rt.find('/data/app/k')!.set('three'); // and no beat after it: close() writes it
    rt.find('/data/app')!.add('new', { value: 'n' });
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'app')).toEqual({ k: 'three', new: 'n' });
    expect(again.find('/data/app/k')!.valueAt(again.beat - 1)).toEqual(new TextEncoder().encode('three'));
    await again.close();
  });

  it('in driven mode a change between beats wakes a beat that writes it', async () => {
    const dir = tempDir();
    const rt = open(dir);
    put(rt, 'app', 'k', 'one');
    await rt.flush();
    rt.start();
    const beat = rt.beat;
    const committed = new Promise<void>((resolve) => {
      const off = rt.onCommit(() => (off(), resolve()));
    });
    rt.find('/data/app/k')!.set('two');
    await committed; // the beat the change woke (none comes without it: the test times out)
    rt.stop();
    expect(rt.beat).toBe(beat + 1);
    await rt.flush();
    expect(rt.durableBeat).toBe(beat);
    await rt.close();
    const again = open(dir);
    expect(contents(again, 'app')).toEqual({ k: 'two' });
    await again.close();
  });

  it('writes after close() are refused with ERR_PERSIST_CLOSED and change nothing; reads still work', async () => {
    const rt = open(tempDir());
    put(rt, 'app', 'k', 'v');
    await rt.close();
    const app = rt.find('/data/app')!;
    const k = app.child('k')!;
    expect(() => k.set('w')).toThrow(code('ERR_PERSIST_CLOSED'));
    expect(() => k.setData(new Uint8Array(3))).toThrow(code('ERR_PERSIST_CLOSED'));
    expect(() => app.add('x')).toThrow(code('ERR_PERSIST_CLOSED'));
    expect(() => k.remove()).toThrow(code('ERR_PERSIST_CLOSED'));
    expect(() => rt.find('/tmp')!.add('x')).toThrow(code('ERR_PERSIST_CLOSED'));
    expect(() => rt.enqueue('app/put', '/data', { branch: 'app', key: 'k', value: 'w' })).toThrow(code('ERR_HALTED'));
    expect(k.text).toBe('v');
    expect(app.children().map((c) => c.name)).toEqual(['k']);
  });
});

describe('store folder errors', () => {
  it('a path that is a file, lies below a file or below a dangling link is ERR_STORE_DIR, for the engine and createRuntime', () => {
    const base = tempDir('dir');
    const file = join(base, 'file');
    writeFileSync(file, 'x');
    symlinkSync(join(base, 'nothing'), join(base, 'dangling'));
    mkdirSync(join(base, 'ok'));
    for (const dir of [file, join(file, 'sub'), join(base, 'dangling'), join(base, 'dangling', 'sub')]) {
      expect(() => openFlatfileStore(dir), dir).toThrow(code('ERR_STORE_DIR'));
      expect(() => createRuntime({ store: { dir } }), dir).toThrow(code('ERR_STORE_DIR'));
    }
  });

  it('a read-only file system is ERR_STORE_DIR (run where a private read-only mount can be made: unshare -m as root)', (ctx) => {
    const base = tempDir('rodir');
    const ro = join(base, 'ro');
    mkdirSync(ro);
    const mount = `mount --bind ${ro} ${ro} && mount -o remount,ro,bind ${ro} ${ro}`;
    if (spawnSync('unshare', ['-m', 'sh', '-c', `${mount} && ! touch ${ro}/probe`], { stdio: 'ignore' }).status !== 0) return ctx.skip();
    const child = join(base, 'child.mjs');
    buildSync({ entryPoints: [new URL('./store-dir-child.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', outfile: child, logLevel: 'silent' });
    const run = spawnSync('unshare', ['-m', 'sh', '-c', `${mount} && exec ${process.execPath} ${child} ${ro} ${join(ro, 'sub')}`], { encoding: 'utf8', env: process.env });
    expect(run.stdout.trim().split('\n')).toEqual(['ERR_STORE_DIR', 'ERR_STORE_DIR']);
  });
});
