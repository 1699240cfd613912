/**
 * Group commit: one engine transaction holding several consecutive beats (beginBeat while a beat
 * is open seals it), made durable in one sync round — on every I/O mode; torn writes at every
 * byte offset of a multi-beat commit; abort; refusals.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFrame } from '../../src/index.js';
import type { FlatfileEngine } from '../../src/persistence/flatfile/index.js';
import { commitBeat, hex, ioModes, open, restoreFiles, saveFiles, Source, tempDirs, view } from './helpers.js';

const { fresh, clean } = tempDirs();
afterEach(clean);
/** For the torn-write sweep, which reopens a damaged store once per byte (see tempDirs). */
const sweep = tempDirs('cep-sweep-', { ram: true });
afterEach(sweep.clean);

/** Files whose bytes decide what recovery keeps (index files are rebuilt from the logs). */
const LOGS = ['branches/a/frames.log', 'branches/b/frames.log', 'branches/c/frames.log', 'journal.log'];
/** Byte offsets below are file sizes: no preallocated room. */
const NOPRE = { preallocate: false } as const;

function sizes(dir: string): number[] {
  return LOGS.map((f) => (fs.existsSync(path.join(dir, f)) ? fs.statSync(path.join(dir, f)).size : 0));
}

function read(dir: string): Buffer[] {
  return LOGS.map((f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f)) : Buffer.alloc(0)));
}

/** The group's beats after the base beat 0: which branches each one frames ([] = a beat without frames). */
const GROUP: string[][] = [['a', 'b'], ['a'], [], ['b'], ['a', 'b', 'c'], ['c']];

/** Stages the GROUP beats of `src` into the open transaction of `store` (no commit). */
function stageGroup(store: FlatfileEngine, src: Source): number[] {
  const beats: number[] = [];
  for (const touch of GROUP) {
    src.advance(touch);
    store.beginBeat(src.beat);
    for (const b of touch) store.putFrame(b, src.frame(b));
    beats.push(src.beat);
  }
  return beats;
}

/** A store (in a folder from `dirs`) with beat 0 (frames of a and b) committed. */
async function base(options: object, dirs: () => string = fresh): Promise<{ dir: string; store: FlatfileEngine; src: Source }> {
  const dir = dirs();
  const store = open(dir, options);
  const src = new Source(['a', 'b', 'c']);
  await commitBeat(store, src, ['a', 'b']);
  return { dir, store, src };
}

/** A fresh source whose branches a and b stand where `src`'s stood after beat 0 (runtimes are deterministic). */
function sameStart(src: Source): Source {
  const s = new Source(['a', 'b', 'c']);
  for (const b of ['a', 'b']) expect(hex(readFrame(s.frame(b)).root)).toBe(src.roots.get(b)!.get(0));
  return s;
}

const keepTo = (v: Record<string, string[]>, beat: number): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const [b, list] of Object.entries(v)) {
    const kept = list.filter((e) => Number(e.split(':')[0]) <= beat);
    if (kept.length > 0) out[b] = kept;
  }
  return out;
};

for (const mode of ioModes()) {
  describe(`flatfile group commit (${mode.name})`, () => {
    it('commits several beats in one transaction with one sync per file; they read back and survive a reopen', async () => {
      const { dir, store, src } = await base({ ...mode.options, ...NOPRE }); // no preallocation syncs in the count
      const syncsBefore = store.stats().syncs;
      const beatsBefore = store.stats().beats;
      const beats = stageGroup(store, src);
      await store.commitBeat();
      expect(store.lastBeat).toBe(beats[beats.length - 1]);
      // logs of a, b, c and the journal: one sync each for six beats
      expect(store.stats().syncs - syncsBefore).toBe(4);
      expect(store.stats().beats - beatsBefore).toBe(5); // the beat without frames writes nothing
      for (const b of ['a', 'b', 'c']) {
        const frames = [...store.frames(b)];
        const expected = [0, ...beats].filter((_n, i) => (i === 0 ? b !== 'c' : GROUP[i - 1].includes(b)));
        expect(frames.map((f) => f.beat)).toEqual(expected);
        for (const f of frames) expect(Buffer.from(f.root).toString('hex')).toBe(src.roots.get(b)!.get(f.beat));
        expect(readFrame(store.frameAt(b, expected[expected.length - 1])!.bytes).beat).toBe(expected[expected.length - 1]);
      }
      const after = view(store);
      // a lone beat continues the chains the group left
      src.advance();
      await commitBeat(store, src, ['a', 'b', 'c']);
      const more = view(store);
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.cut).toEqual([]);
      expect(again.recovery.beat).toBe(src.beat);
      expect(view(again)).toEqual(more);
      expect(keepTo(view(again), beats[beats.length - 1])).toEqual(after);
      await again.close();
    });

    it('writes exactly the bytes the same beats committed one at a time write', async () => {
      const one = await base({ ...mode.options, ...NOPRE });
      const grouped = await base({ ...mode.options, ...NOPRE });
      for (const touch of GROUP) {
        one.src.advance(touch);
        await commitBeat(one.store, one.src, touch);
      }
      stageGroup(grouped.store, grouped.src);
      await grouped.store.commitBeat();
      await one.store.close();
      await grouped.store.close();
      expect(read(grouped.dir)).toEqual(read(one.dir));
    });

    it('abortBeat drops every beat of the transaction; the same beats commit afterwards', async () => {
      const { dir, store, src } = await base({ ...mode.options, ...NOPRE });
      const before = view(store);
      const sizesBefore = sizes(dir);
      const redo = sameStart(src);
      stageGroup(store, src);
      store.abortBeat();
      expect(store.lastBeat).toBe(0);
      expect(view(store)).toEqual(before);
      expect(sizes(dir)).toEqual(sizesBefore);
      expect(() => store.putFrame('a', src.frame('a'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      const beats = stageGroup(store, redo);
      await store.commitBeat();
      expect(store.lastBeat).toBe(beats[beats.length - 1]);
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.cut).toEqual([]);
      expect(again.head('c')!.beat).toBe(beats[beats.length - 1]);
      await again.close();
    });

    it('refuses beats out of order and a frame that does not continue the one staged before it, changing nothing', async () => {
      const { store, src } = await base(mode.options);
      src.advance();
      store.beginBeat(src.beat);
      store.putFrame('a', src.frame('a'));
      expect(() => store.beginBeat(src.beat)).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      expect(() => store.beginBeat(0)).toThrow(expect.objectContaining({ code: 'ERR_STORE_TXN' }));
      src.advance();
      store.beginBeat(src.beat);
      // a's frame of this beat chained to beat 0 (the committed head), not to the staged beat 1
      const stale = sameStart(src);
      stale.advance();
      stale.advance();
      expect(() => store.putFrame('a', stale.frame('a'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_FRAME' }));
      store.putFrame('a', src.frame('a'));
      await store.commitBeat();
      expect([...store.frames('a')].map((f) => f.beat)).toEqual([0, 1, 2]);
      expect(store.lastBeat).toBe(2);
      await store.close();
    });

    it('a frame with bad content anywhere in the group fails the whole group and leaves nothing of it', async () => {
      const { dir, store, src } = await base({ ...mode.options, ...NOPRE });
      const before = view(store);
      const sizesBefore = sizes(dir);
      src.advance();
      store.beginBeat(src.beat);
      store.putFrame('a', src.frame('a'));
      src.advance();
      store.beginBeat(src.beat);
      const bad = src.frame('b').slice();
      const rec = readFrame(bad).records[0];
      bad[rec.offset + rec.length - 5] ^= 0x01; // the body of the first record: its CRC no longer matches
      if (store.io === 'sync') {
        expect(() => store.putFrame('b', bad)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_CRC' }));
        store.abortBeat();
      } else {
        store.putFrame('b', bad); // checked while the group's bytes travel
        src.advance();
        store.beginBeat(src.beat);
        store.putFrame('a', src.frame('a'));
        await expect(store.commitBeat()).rejects.toMatchObject({ code: 'ERR_FRAME_CRC' });
      }
      expect(store.lastBeat).toBe(0);
      expect(view(store)).toEqual(before);
      expect(sizes(dir)).toEqual(sizesBefore);
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.cut).toEqual([]);
      expect(view(again)).toEqual(before);
      await again.close();
    });
  });
}

describe('flatfile group commit: torn writes', () => {
  it('cuts a torn multi-beat commit at every byte offset of every file, keeping exactly the beats written whole', async () => {
    // file ends after each beat, from the same beats committed one at a time (the bytes are identical, see above)
    const ref = await base(NOPRE, sweep.fresh);
    const ends: number[][] = [sizes(ref.dir)];
    const refBeats = [0];
    for (const touch of GROUP) {
      ref.src.advance(touch);
      await commitBeat(ref.store, ref.src, touch);
      ends.push(sizes(ref.dir));
      refBeats.push(ref.src.beat);
    }
    await ref.store.close();

    const { dir, store, src } = await base(NOPRE, sweep.fresh);
    stageGroup(store, src);
    await store.commitBeat();
    const after = view(store);
    await store.close();
    const full = sizes(dir);
    expect(full).toEqual(ends[ends.length - 1]);
    const saved = saveFiles(dir);
    let cases = 0;
    for (let f = 0; f < LOGS.length; f++) {
      for (let cut = ends[0][f]; cut < full[f]; cut++) {
        if (cut % 64 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the runner's messages through
        restoreFiles(saved);
        fs.truncateSync(path.join(dir, LOGS[f]), cut);
        // the newest beat all of whose records (and every earlier beat's) lie before the cut
        let k = 0;
        while (k + 1 < ends.length && ends[k + 1][f] <= cut) k++;
        const kept = refBeats[k];
        let written = k; // recovery sees beats that wrote frames only
        while (written > 0 && GROUP[written - 1].length === 0) written--;
        const s = open(dir, NOPRE);
        expect(s.recovery.beat).toBe(refBeats[written]);
        expect(view(s)).toEqual(keepTo(after, kept));
        for (const c of s.recovery.cut) expect(c.fromBeat).toBeGreaterThan(refBeats[written]);
        expect(sizes(dir)).toEqual(ends[k]);
        await s.close();
        cases++;
      }
    }
    expect(cases).toBe(full.reduce((n, x, i) => n + x - ends[0][i], 0));
  }, 120_000);
});
