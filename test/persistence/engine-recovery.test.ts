/** Recovery: torn tails at every byte of the last beat, bit flips, multi-branch beat atomicity. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c, readFrame } from '../../src/index.js';
import { frameTrailer } from '../../src/persistence/flatfile/frame-info.js';
import { LOG_SOLO, encodeLogHeader } from '../../src/persistence/flatfile/layout.js';
import { commitBeat, open, restoreFiles, saveFiles, Source, tempDirs, view } from './helpers.js';

// in RAM: these tests reopen damaged stores by the thousand, and each cut is synced (see tempDirs)
const { fresh, clean } = tempDirs(undefined, { ram: true });
afterAll(clean);

const LOGS = ['branches/a/frames.log', 'branches/b/frames.log', 'journal.log'];
/** Byte offsets below are file sizes: these stores keep no preallocated room (its own test is below). */
const NOPRE = { preallocate: false } as const;

function sizes(dir: string, files: string[]): number[] {
  return files.map((f) => (fs.existsSync(path.join(dir, f)) ? fs.statSync(path.join(dir, f)).size : 0));
}

/** A store with beats 0..3 (0 and 2 span both branches, 1 and 3 are solo) and its view. */
async function base(): Promise<{ dir: string; src: Source; before: Record<string, string[]> }> {
  const dir = fresh();
  const src = new Source(['a', 'b']);
  const store = open(dir, NOPRE);
  await commitBeat(store, src, ['a', 'b']);
  src.advance(['a']);
  await commitBeat(store, src, ['a']);
  src.advance();
  await commitBeat(store, src, ['a', 'b']);
  src.advance(['b']);
  await commitBeat(store, src, ['b']);
  const before = view(store);
  await store.close();
  return { dir, src, before };
}

function copyStore(from: string): string {
  const to = fresh();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

/** Lets the test runner's own messages through during long synchronous loops. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('flatfile recovery', () => {
  it('keeps zeroed room after the logs of small commits; a record torn inside it is cut', async () => {
    const dir = fresh();
    const src = new Source(['a', 'b']);
    const store = open(dir);
    for (let b = 0; b < 5; b++) {
      if (b > 0) src.advance();
      await commitBeat(store, src, b % 2 === 0 ? ['a', 'b'] : ['a']);
    }
    const before = view(store);
    const aEnd = store.stats('a').bytes - 5 * 64; // frames.log's end (the rest: 5 index entries)
    await store.close();
    const aLog = path.join(dir, 'branches/a/frames.log');
    const room = sizes(dir, LOGS);
    for (const size of room) expect(size).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    const s = open(dir);
    expect(s.recovery.cut).toEqual([]);
    expect(view(s)).toEqual(before);
    await s.close();
    expect(sizes(dir, LOGS)).toEqual(room); // kept
    // the start of a record that never finished, inside the room
    const fd = fs.openSync(aLog, 'r+');
    fs.writeSync(fd, Buffer.from([0x43, 0x45, 0x50, 0x4c, 1, 1, 0, 0, 9]), 0, 9, aEnd);
    fs.closeSync(fd);
    const t = open(dir);
    expect(t.recovery.cut).toEqual([{ branch: 'a', bytes: room[0] - aEnd, fromBeat: 5, reason: 'crc', file: 'branches/a/frames.log' }]); // its header parses, its CRC does not match
    expect(view(t)).toEqual(before);
    expect(fs.statSync(aLog).size).toBe(aEnd);
    src.advance();
    await commitBeat(t, src, ['a', 'b']);
    await t.close();
    const u = open(dir);
    expect(u.recovery.cut).toEqual([]);
    expect(u.head('a')!.beat).toBe(5);
    await u.close();
  });

  for (const last of [['a', 'b'], ['a']]) {
    it(`cuts a torn last beat (${last.join('+')}) at every byte offset and keeps every earlier beat`, async () => {
      const { dir, src, before } = await base();
      const sizesBefore = sizes(dir, LOGS);
      const store = open(dir, NOPRE);
      src.advance(last);
      const frames = last.map((b) => [b, src.frame(b)] as const);
      store.beginBeat(4);
      for (const [b, f] of frames) store.putFrame(b, f);
      await store.commitBeat();
      const after = view(store);
      await store.close();
      const sizesAfter = sizes(dir, LOGS);
      const saved = saveFiles(dir);
      const d = dir;
      let cases = 0;
      for (let f = 0; f < LOGS.length; f++) {
        for (let cut = sizesBefore[f]; cut < sizesAfter[f]; cut++) {
          await breathe();
          restoreFiles(saved);
          fs.truncateSync(path.join(d, LOGS[f]), cut);
          const s = open(d, NOPRE);
          expect(s.recovery.beat).toBe(3);
          expect(view(s)).toEqual(before);
          const removed = s.recovery.cut.reduce((n, c) => n + c.bytes, 0);
          expect(removed).toBe(sizesAfter.reduce((n, x, i) => n + x - sizesBefore[i], 0) - (sizesAfter[f] - cut));
          for (const c of s.recovery.cut) expect(c.fromBeat).toBe(4);
          cases++;
          if (cut % 16 !== 0 && cut !== sizesBefore[f]) {
            await s.close();
            continue;
          }
          // the store goes on from beat 3: beat 4 can be committed again
          s.beginBeat(4);
          for (const [b, f] of frames) s.putFrame(b, f);
          await s.commitBeat();
          await s.close();
          const r = open(d, NOPRE);
          expect(r.recovery.cut).toEqual([]);
          expect(view(r)).toEqual(after);
          await r.close();
        }
      }
      expect(cases).toBe(sizesAfter.reduce((n, x, i) => n + x - sizesBefore[i], 0));
    }, 120_000);
  }

  it('a complete frame whose journal record is missing is not committed (multi-branch atomicity)', async () => {
    const { dir, src, before } = await base();
    const store = open(dir, NOPRE);
    src.advance();
    await commitBeat(store, src, ['a', 'b']);
    await store.close();
    // lose b's frame: a's frame and the journal record are intact, the beat is still not committed
    const d = copyStore(dir);
    const bLog = path.join(d, 'branches/b/frames.log');
    fs.truncateSync(bLog, fs.statSync(bLog).size - 1);
    const s = open(d, NOPRE);
    expect(s.recovery.beat).toBe(3);
    expect(view(s)).toEqual(before);
    expect(s.recovery.cut.map((c) => [c.branch, c.reason]).sort()).toEqual([
      ['', 'uncommitted'],
      ['a', 'uncommitted'],
      ['b', 'torn'],
    ]);
    await s.close();
  });

  it('a bit flip anywhere in a log: refused untouched (damage) or cut as a torn last record; a repair cuts from the beat it hits and quarantines the rest', async () => {
    const { dir } = await base();
    const saved = saveFiles(dir);
    const d = dir;
    let refused = 0;
    for (const file of LOGS) {
      const size = fs.statSync(path.join(dir, file)).size;
      for (let at = 0; at < size; at += 5) {
        await breathe();
        fs.rmSync(path.join(d, 'quarantine'), { recursive: true, force: true });
        restoreFiles(saved);
        const p = path.join(d, file);
        const bytes = fs.readFileSync(p);
        bytes[at] ^= 1 << (at % 8);
        fs.writeFileSync(p, bytes);
        let s: ReturnType<typeof open>;
        try {
          s = open(d, NOPRE);
        } catch (e) {
          // damage: a plain open changes nothing and says what a repair would cut
          expect((e as { code?: string }).code).toBe('ERR_STORE_CORRUPT');
          expect((e as { report?: { damage: unknown[] } }).report!.damage.length).toBeGreaterThan(0);
          expect(fs.readFileSync(p).equals(bytes)).toBe(true);
          refused++;
          s = open(d, { ...NOPRE, repair: true });
          expect(s.recovery.quarantine).toBeDefined();
          // every byte cut is in the quarantine, byte for byte
          const q = JSON.parse(fs.readFileSync(path.join(s.recovery.quarantine!, 'manifest.json'), 'utf8')) as { pieces: Array<{ file: string; from: number; to: number; copy: string }> };
          for (const piece of q.pieces) {
            const original = piece.file === file ? bytes : saved.get(path.join(d, piece.file))!;
            expect(fs.readFileSync(path.join(s.recovery.quarantine!, piece.copy)).equals(original.subarray(piece.from, piece.to))).toBe(true);
          }
          expect(q.pieces.some((piece) => piece.file === file)).toBe(true);
        }
        expect(s.recovery.beat).toBeLessThan(3 + 1);
        expect(s.recovery.cut.length).toBeGreaterThan(0);
        const cutFrom = Math.min(...s.recovery.cut.map((c) => c.fromBeat));
        // everything left reads back verified, and nothing at or after the cut beat is left
        for (const b of s.branches()) for (const f of s.frames(b)) expect(f.beat).toBeLessThan(cutFrom);
        await s.close();
      }
    }
    expect(refused).toBeGreaterThan(0);
  }, 120_000);

  it('a damaged beat index is rebuilt from the log; a frame damaged after open is refused on read', async () => {
    const { dir, before } = await base();
    const idx = path.join(dir, 'branches/a/frames.idx');
    const bytes = fs.readFileSync(idx);
    bytes[70] ^= 0xff;
    fs.writeFileSync(idx, bytes.subarray(0, bytes.length - 5));
    const s = open(dir, NOPRE);
    expect(s.recovery.cut).toEqual([]);
    expect(view(s)).toEqual(before);
    expect(fs.statSync(idx).size).toBe(64 * before.a.length);
    // flip a frame byte under the open store
    const log = path.join(dir, 'branches/a/frames.log');
    const fd = fs.openSync(log, 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, 96 + 20);
    one[0] ^= 0x10;
    fs.writeSync(fd, one, 0, 1, 96 + 20);
    fs.closeSync(fd);
    expect(() => s.frameAt('a', 0)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    expect(() => [...s.frames('a')]).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    await s.close();
  });

  it('cuts a newest frame whose record CRCs pass but whose content does not (a crash before its validation ended)', async () => {
    const { dir, src, before } = await base();
    // append, as a commit would have, a SOLO record of beat 4 for 'a' whose frame body is damaged
    src.advance(['a']);
    const frame = src.frame('a').slice();
    const rec = readFrame(frame).records[0];
    frame[rec.offset + rec.length - 5] ^= 0x01; // a body byte: that record's CRC fails, the framing holds
    const log = path.join(dir, 'branches/a/frames.log');
    const size = fs.statSync(log).size;
    const info = frameTrailer(frame);
    const header = encodeLogHeader({ flags: LOG_SOLO, beat: 4, prevGap: 1, length: frame.length, frameCrc: crc32c(frame), prevRoot: info.prevRoot, root: info.root });
    fs.appendFileSync(log, Buffer.concat([header, frame]));
    const s = open(dir, NOPRE);
    expect(view(s)).toEqual(before);
    expect(s.recovery.beat).toBe(3);
    expect(s.recovery.cut).toEqual([{ branch: 'a', bytes: header.length + frame.length, fromBeat: 4, reason: 'invalid', file: 'branches/a/frames.log' }]);
    expect(fs.statSync(log).size).toBe(size);
    await s.close();
  });

  it("verify: 'full' checks every frame's Merkle root on open", async () => {
    const { dir, before } = await base();
    const s = open(dir, { ...NOPRE, verify: 'full' });
    expect(view(s)).toEqual(before);
    expect(s.recovery.scannedBytes).toBe(sizes(dir, [...LOGS]).reduce((a, b) => a + b, 0));
    await s.close();
  });
});
