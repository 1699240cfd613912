/** The flatfile engine: beat transactions, reads, reopen, lock, bad input — on every I/O mode. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_CAP } from '../../src/persistence/engine.js';
import { readFrame } from '../../src/index.js';
import { commitBeat, hex, ioModes, open, Source, tempDirs } from './helpers.js';

const { fresh, clean } = tempDirs();
afterEach(clean);

for (const mode of ioModes()) {
  describe(`flatfile engine (${mode.name})`, () => {
    it('creates an empty store, commits beats of several branches and reads them back', async () => {
      const dir = fresh();
      const store = open(dir, mode.options);
      expect(store.kind).toBe('flatfile');
      expect(store.caps & ENGINE_CAP.BEAT_ATOMIC).toBeTruthy();
      expect(store.recovery).toEqual({ beat: -1, cut: [], scannedBytes: 0 });
      expect(store.branches()).toEqual([]);
      const src = new Source(['ledger', 'users']);
      await commitBeat(store, src, ['ledger', 'users']); // beat 0: both (journal record)
      src.advance(['ledger']);
      await commitBeat(store, src, ['ledger']); // beat 1: solo
      src.advance();
      await commitBeat(store, src, ['ledger', 'users']); // beat 2
      expect(store.branches()).toEqual(['ledger', 'users']);
      expect(store.lastBeat).toBe(2);
      const head = store.head('ledger')!;
      expect(head.beat).toBe(2);
      expect(hex(head.root)).toBe(src.roots.get('ledger')!.get(2));
      expect(head.checkpointBeat).toBe(-1);
      expect(store.head('users')!.beat).toBe(2);
      expect(store.head('nobody')).toBeUndefined();
      const f1 = store.frameAt('ledger', 1)!;
      expect(f1.beat).toBe(1);
      expect(f1.mode).toBe('delta');
      expect(hex(f1.root)).toBe(src.roots.get('ledger')!.get(1));
      expect(hex(f1.prevRoot)).toBe(src.roots.get('ledger')!.get(0));
      expect(readFrame(f1.bytes).beat).toBe(1);
      expect(store.frameAt('users', 1)).toBeUndefined();
      expect([...store.frames('ledger')].map((f) => f.beat)).toEqual([0, 1, 2]);
      expect([...store.frames('ledger', { from: 1, to: 1 })].map((f) => f.beat)).toEqual([1]);
      expect([...store.frames('users')].map((f) => f.beat)).toEqual([0, 2]);
      const stats = store.stats();
      expect(stats.frames).toBe(5);
      expect(stats.beats).toBe(3);
      expect(stats.syncs).toBeGreaterThanOrEqual(5); // 2 + journal, 1, 2 + journal
      expect(store.stats('users').frames).toBe(2);
      await store.close();

      const again = open(dir, mode.options);
      expect(again.recovery.beat).toBe(2);
      expect(again.recovery.cut).toEqual([]);
      expect(again.recovery.scannedBytes).toBeGreaterThan(0);
      expect(again.branches()).toEqual(['ledger', 'users']);
      expect(hex(again.head('ledger')!.root)).toBe(src.roots.get('ledger')!.get(2));
      expect([...again.frames('users')].map((f) => hex(f.root))).toEqual([src.roots.get('users')!.get(0), src.roots.get('users')!.get(2)]);
      // and continues the chains where it stopped
      src.advance();
      await commitBeat(again, src, ['ledger', 'users']);
      expect(again.head('users')!.beat).toBe(3);
      await again.close();
    });

    it('abortBeat and a beat without frames leave nothing on disk', async () => {
      const dir = fresh();
      const store = open(dir, mode.options);
      const src = new Source(['a']);
      store.beginBeat(0);
      store.putFrame('a', src.frame('a'));
      store.abortBeat();
      expect(store.branches()).toEqual([]);
      store.beginBeat(0);
      await store.commitBeat(); // nothing staged
      expect(store.lastBeat).toBe(0);
      expect(store.stats().syncs).toBe(0);
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.beat).toBe(-1);
      expect(again.branches()).toEqual([]);
      await again.close();
    });

    it('refuses transaction misuse and frames that do not fit, changing nothing', async () => {
      const dir = fresh();
      const store = open(dir, mode.options);
      const src = new Source(['a', 'b']);
      expect(() => store.putFrame('a', src.frame('a'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      await expect(store.commitBeat()).rejects.toMatchObject({ code: 'ERR_STORE_TXN' });
      expect(() => store.abortBeat()).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      src.prev.clear();
      await commitBeat(store, src, ['a']);
      expect(() => store.beginBeat(0)).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      expect(() => store.beginBeat(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => store.beginBeat(1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      src.advance();
      store.beginBeat(1);
      expect(() => store.beginBeat(1)).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' })); // not after the open beat
      const fa = src.frame('a');
      store.putFrame('a', fa);
      expect(() => store.putFrame('a', fa)).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      // a frame of another beat, a broken chain, garbage, a bad name
      src.advance();
      expect(() => store.putFrame('b', src.frame('b'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_FRAME' }));
      expect(() => store.putFrame('a2', new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_FORMAT' }));
      expect(() => store.putFrame('', fa)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => store.putFrame('a/../b', fa)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => store.putFrame('a', 'x' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      await store.commitBeat();
      expect([...store.frames('a')].map((f) => f.beat)).toEqual([0, 1]);
      // beat 3 of 'a' whose previous root is not beat 1's
      const other = new Source(['a']);
      for (let i = 0; i < 3; i++) other.advance();
      store.beginBeat(3);
      expect(() => store.putFrame('a', other.frame('a'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_FRAME' }));
      store.abortBeat();
      await store.close();
      expect(() => store.branches()).toThrow(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }));
      expect(() => store.beginBeat(9)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }));
    });

    it('refuses a frame whose framing is intact but whose content is not, leaving nothing of its beat', async () => {
      const dir = fresh();
      const store = open(dir, mode.options);
      const src = new Source(['a', 'b']);
      await commitBeat(store, src, ['a', 'b']);
      src.advance();
      const good = src.frame('a');
      const bad = src.frame('b').slice();
      const rec = readFrame(bad).records[0];
      bad[rec.offset + rec.length - 5] ^= 0x01; // the last byte of the first record's body: its CRC no longer matches
      store.beginBeat(1);
      store.putFrame('a', good);
      if (store.io === 'sync') {
        // validated in putFrame
        expect(() => store.putFrame('b', bad)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_CRC' }));
        store.abortBeat();
      } else {
        // validated while the commit's bytes travel; the whole beat is undone
        store.putFrame('b', bad);
        await expect(store.commitBeat()).rejects.toMatchObject({ code: 'ERR_FRAME_CRC' });
      }
      expect([...store.frames('a')].map((f) => f.beat)).toEqual([0]);
      expect(store.stats().frames).toBe(2);
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.cut).toEqual([]);
      expect(again.stats().frames).toBe(2);
      await again.close();
    });

    it('takes a lock: a second open of the same folder is ERR_STORE_LOCKED until the first closes', async () => {
      const dir = fresh();
      const store = open(dir, mode.options);
      expect(() => open(dir, mode.options)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED' }));
      await store.close();
      const again = open(dir, mode.options);
      await again.close();
      // a lock left by a process that is gone (here an older version's: a pid alone) is stale
      fs.writeFileSync(path.join(dir, 'LOCK'), '2147483646\n');
      const third = open(dir, mode.options);
      await third.close();
      // LOCK stays (native owners hold the kernel lock on it), emptied; the claim is gone
      expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe('');
      expect(fs.existsSync(path.join(dir, 'LOCK.owner'))).toBe(false);
    });
  });
}

describe('flatfile engine: opening', () => {
  it('refuses a folder that holds something else, and a STORE file of another format', () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    const dir2 = fresh();
    fs.writeFileSync(path.join(dir2, 'STORE'), JSON.stringify({ format: 'cep-flatfile', version: 99 }));
    expect(() => open(dir2)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    expect(() => open('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => open(fresh(), { verify: 'some' as 'full' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('opens a folder where an open was killed while creating the store (LOCK and a torn STORE.tmp left)', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'LOCK'), '');
    fs.writeFileSync(path.join(dir, 'STORE.tmp'), '{"format":"cep-fl'); // written in part, never renamed
    const store = open(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'STORE'), 'utf8'))).toEqual({ format: 'cep-flatfile', version: 1 });
    expect(fs.existsSync(path.join(dir, 'STORE.tmp'))).toBe(false);
    await store.close();
  });

  it("frames() with fromCheckpoint starts at the newest checkpoint at or before 'to'", async () => {
    const dir = fresh();
    const store = open(dir);
    const src = new Source(['a']);
    const snaps = new Map<number, string>();
    for (let b = 0; b < 8; b++) {
      if (b > 0) src.advance();
      await commitBeat(store, src, ['a']);
      if (b === 2 || b === 5) {
        const s = src.snapshot('a');
        snaps.set(b, hex(readFrame(s).root));
        await store.checkpoint('a', s);
      }
    }
    expect(store.head('a')!.checkpointBeat).toBe(5);
    const seq = (to?: number) => [...store.frames('a', { fromCheckpoint: true, to })].map((f) => `${f.mode[0]}${f.beat}`);
    expect(seq()).toEqual(['s5', 'd6', 'd7']);
    expect(seq(4)).toEqual(['s2', 'd3', 'd4']);
    expect(seq(1)).toEqual(['d0', 'd1']);
    expect(hex([...store.frames('a', { fromCheckpoint: true, to: 4 })][0].root)).toBe(snaps.get(2));
    // checkpoint refusals: not a snapshot, not after the last checkpoint, after the head, unknown branch
    await expect(store.checkpoint('a', src.frame('a'))).rejects.toMatchObject({ code: 'ERR_STORE_FRAME' });
    await expect(store.checkpoint('a', src.snapshot('a'))).resolves.toBeUndefined(); // beat 7
    await expect(store.checkpoint('a', src.snapshot('a'))).rejects.toMatchObject({ code: 'ERR_STORE_FRAME' });
    src.advance();
    await expect(store.checkpoint('a', src.snapshot('a'))).rejects.toMatchObject({ code: 'ERR_STORE_FRAME' });
    await expect(store.checkpoint('zz', src.snapshot('a'))).rejects.toMatchObject({ code: 'ERR_STORE_FRAME' });
    await store.close();
    const again = open(dir);
    expect(again.head('a')!.checkpointBeat).toBe(7);
    expect(again.stats('a').checkpoints).toBe(3);
    await again.close();
  });
});
