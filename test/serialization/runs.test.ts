/** Format v2 cell runs: one cell_desc record describes up to 4096 consecutive cells (docs/FORMAT.md §5.1). */
import { describe, expect, it } from 'vitest';
import { applyFrame, createRuntime, encodeBranch, readFrame, type Cell } from '../../src/index.js';
import { FINISH_PARAMS, FLAT_CAP_CHUNKS, FLAT_CAP_TOC, FLAT_RUN_MAX } from '../../src/native/binding.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { loadBinding } from '../../src/native/index.js';
import { dumpBranch, codeOf } from './helpers.js';

const native = loadBinding({ native: true }).binding;
const halves = [fallbackBinding, native];

/** A branch of `n` VALUE cells (`size` bytes each) under one new parent. */
function wide(n: number, size: number): { branch: Cell } {
  const rt = createRuntime();
  const branch = rt.find('/data')!.add('wide');
  const v = new Uint8Array(size);
  for (let i = 1; i <= n; i++) {
    v[0] = i & 0xff;
    v[1] = i >> 8;
    branch.add(i, { value: v });
  }
  return { branch };
}

/** Staged records finished by a binding (lengths below 128: one-byte varints). */
function craft(records: { type: number; key: number[]; body: number[] }[], caps: number, finish = fallbackBinding.flatFinish): Uint8Array {
  const buf = new Uint8Array(4096);
  let p = 16;
  for (const r of records) {
    buf.set([r.type, 1, 0, 0, r.key.length, r.body.length, ...r.key, ...r.body], p);
    p += 6 + r.key.length + r.body.length + 4;
  }
  const params = new Float64Array(FINISH_PARAMS);
  params.set([1, 0, caps, 0, 0, 0, 0]);
  const len = finish(buf, p, params, new Uint8Array(32));
  expect(len).toBeGreaterThan(0);
  return buf.slice(0, len);
}

const key = (ord: number, type: number): number[] => [ord >>> 24, (ord >>> 16) & 0xff, (ord >>> 8) & 0xff, ord & 0xff, type];

/** An anchor description (identity only): flags, parent + 1, name (16 bytes), dup. */
const anchorDesc = (parent: number, tag: number): number[] => [1, parent + 1, 0, 0, 0, 0, 0, 0, 0, 0, tag, 0, 0, 0, 0, 0, 0, 0, 0];
/** The branch root's anchor: flags, parent 0, empty path. */
const rootAnchor = [1, 0, 0];

describe('frames: cell runs', () => {
  it('packs consecutive descriptions into runs of at most 4096 cells or about 64 KiB, byte-identical in both halves', () => {
    for (const [n, size] of [
      [FLAT_RUN_MAX + 10, 1],
      [3000, 40],
    ]) {
      const { branch } = wide(n, size);
      const frame = encodeBranch(branch, { mode: 'delta' });
      const read = readFrame(frame);
      const runs = read.records.filter((r) => r.type === 'cell_desc');
      // the branch root ends its run (its store follows it); the children fill the rest
      let described = 0;
      for (const r of runs) {
        const bodyAt = r.offset + r.length - 4 - bodyLength(frame, r.offset);
        const run = frame[bodyAt] | (frame[bodyAt + 1] << 8);
        expect(run).toBeGreaterThanOrEqual(1);
        expect(run).toBeLessThanOrEqual(FLAT_RUN_MAX);
        expect(r.length).toBeLessThan(64 * 1024 + 200);
        described += run;
      }
      expect(described).toBe(n + 1);
      expect(runs.length).toBeGreaterThan(2);
      expect(read.cells.length).toBe(n + 1);
      // both halves finish the staged runs to the same bytes and read them the same way
      const trailer = read.records[read.records.length - 1];
      for (const half of halves) {
        const staged = new Uint8Array(frame.length + 64);
        staged.set(frame.subarray(0, trailer.offset));
        staged.fill(0, 0, 16);
        const params = new Float64Array(FINISH_PARAMS);
        params.set([read.beat, 0, read.caps, 0, 0, 0, 0]);
        const len = half.flatFinish(staged, trailer.offset, params, read.prevRoot);
        expect(Buffer.from(staged.subarray(0, len)).equals(Buffer.from(frame))).toBe(true);
        const diag = new Float64Array(2);
        expect(half.flatValidate(frame, diag)).not.toBeNull();
      }
      const rt2 = createRuntime();
      applyFrame(rt2, frame);
      expect(dumpBranch(rt2.find('/data/wide')!, 0)).toEqual(dumpBranch(branch, 0));
    }
  });

  it('decodes names and inline payloads on demand, the same as the frame holds them', () => {
    const { branch } = wide(50, 3);
    const kids = branch.store!.toArray();
    const read = readFrame(encodeBranch(branch, { mode: 'snapshot' }));
    const cells = read.cells;
    expect(read.cells).toBe(cells); // built once
    for (let i = 1; i <= 50; i++) {
      const c = cells[i];
      expect([c.name!.hi, c.name!.lo]).toEqual([kids[i - 1].hi, kids[i - 1].lo]);
      expect(c.parent).toBe(0);
      expect(Array.from(c.payload!.bytes!)).toEqual([i & 0xff, i >> 8, 0]);
      expect(c.payload!.kind).toBe('value');
    }
    // JSON holds the plain shape, never the frame bytes
    const json = JSON.parse(JSON.stringify(cells[1]));
    expect(Object.keys(json).sort()).toEqual(['anchor', 'created', 'deleted', 'dup', 'history', 'immutable', 'name', 'ordinal', 'parent', 'payload', 'type'].sort());
    expect(json.name).toEqual({ domHi: cells[1].name!.domHi, domLo: cells[1].name!.domLo, hi: cells[1].name!.hi, lo: cells[1].name!.lo });
  });

  it('refuses, in both halves, runs of no cell, of more than 4096, longer than their body can hold, and a run that skips ordinals', () => {
    const cases: [string, { type: number; key: number[]; body: number[] }[]][] = [
      ['an empty run', [{ type: 1, key: key(0, 1), body: [0, 0] }]],
      ['a run of 4097', [{ type: 1, key: key(0, 1), body: [0x01, 0x10, ...rootAnchor] }]],
      ['a body too short for its count', [{ type: 1, key: key(0, 1), body: [1] }]],
      // bounded before a reader allocates anything for the cells a run claims
      ['a run of 4096 whose body cannot hold them', [{ type: 1, key: key(0, 1), body: [0x00, 0x10, ...rootAnchor, ...anchorDesc(0, 5)] }]],
      ['a run of 2 a byte short of two anchors', [{ type: 1, key: key(0, 1), body: [2, 0, ...rootAnchor, ...anchorDesc(0, 5).slice(1)] }]],
      [
        'a second run that does not start where the first ended',
        [
          { type: 1, key: key(0, 1), body: [2, 0, ...rootAnchor, ...anchorDesc(0, 5)] },
          { type: 1, key: key(3, 1), body: [1, 0, ...anchorDesc(0, 6)] },
        ],
      ],
    ];
    for (const [what, records] of cases) {
      const frame = craft(records, FLAT_CAP_TOC);
      for (const half of halves) {
        const diag = new Float64Array(2);
        expect(half.flatValidate(frame, diag), what).toBeNull();
        expect(diag[0], what).toBe(6); // FLAT_STATUS_MALFORMED
      }
      expect(
        codeOf(() => readFrame(frame)),
        what,
      ).toBe('ERR_FRAME_MALFORMED');
    }
    // the same records with consecutive runs read fine
    const ok = craft(
      [
        { type: 1, key: key(0, 1), body: [2, 0, ...rootAnchor, ...anchorDesc(0, 5)] },
        { type: 1, key: key(2, 1), body: [1, 0, ...anchorDesc(0, 6)] },
      ],
      FLAT_CAP_TOC,
    );
    expect(readFrame(ok).cells.map((c) => [c.parent, c.name?.lo])).toEqual([
      [-1, undefined],
      [0, 5],
      [0, 6],
    ]);
  });

  it('refuses a run whose count disagrees with its descriptions, and chunks for a cell that is not the last of its run', () => {
    // a count of 3 over two descriptions; a count of 1 over two
    for (const body of [
      [3, 0, ...rootAnchor, ...anchorDesc(0, 5)],
      [1, 0, ...rootAnchor, ...anchorDesc(0, 5)],
    ]) {
      expect(codeOf(() => readFrame(craft([{ type: 1, key: key(0, 1), body }], FLAT_CAP_TOC)))).toBe('ERR_FRAME_MALFORMED');
    }
    // cell 1 announces a chunked DATA payload but cell 2 follows it in the run: its chunks cannot follow
    const chunked = [0x08, ...anchorDesc(0, 7).slice(1), 0, 0, 0, 0, 2, 1, 2, 1]; // flags PAYLOAD, parent, name, dup; type, reserved, created, deleted; DATA, beat 0, 2 bytes, in chunks
    const frame = craft([{ type: 1, key: key(0, 1), body: [3, 0, ...rootAnchor, ...chunked, ...anchorDesc(0, 6)] }], FLAT_CAP_TOC | FLAT_CAP_CHUNKS);
    expect(codeOf(() => readFrame(frame))).toBe('ERR_FRAME_MALFORMED');
  });
});

/** The body length of the record at `at` (its second varint). */
function bodyLength(frame: Uint8Array, at: number): number {
  let p = at + 4;
  while ((frame[p++] & 0x80) !== 0);
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = frame[p++];
    v += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) return v;
    mul *= 128;
  }
}
