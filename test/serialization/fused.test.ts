import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, encodeBranch, readFrame, type Cell, type EncodeOptions } from '../../src/index.js';
import { encodeFused } from '../../src/serialization/branch-writer.js';
import { checkLiterals } from '../../src/serialization/desc-writer.js';
import { MODE_DELTA, MODE_SNAPSHOT } from '../../src/serialization/format.js';
import { writerPaths } from '../../src/serialization/writer.js';
import { KEY, opArb, runOp, type Op } from './helpers.js';

type RootStore = { store: 'hash' | 'list' | 'array' | 'rbtree' | 'queue'; indexing: 'name' | 'insertion' | 'hash' };

const rootStoreArb: fc.Arbitrary<RootStore> = fc.constantFrom<RootStore>(
  { store: 'hash', indexing: 'name' },
  { store: 'hash', indexing: 'insertion' },
  { store: 'list', indexing: 'insertion' },
  { store: 'list', indexing: 'name' },
  { store: 'array', indexing: 'hash' },
  { store: 'rbtree', indexing: 'name' },
  { store: 'queue', indexing: 'insertion' },
);

/** Beats of random ops (adds with every store kind, sets, deletes, links, relinks) on a branch below a root store of the given kind. */
const caseArb = fc.record({
  root: rootStoreArb,
  beats: fc.array(fc.array(opArb, { maxLength: 10 }), { minLength: 1, maxLength: 6 }),
  /** Adds a deeper subtree in the first beat so later deltas hold anchors several levels deep. */
  deep: fc.boolean(),
});

function build(root: RootStore, beats: Op[][], deep: boolean): { branch: Cell; last: number } {
  const rt = createRuntime();
  const branch = rt.find('/data')!.add('app', root);
  if (deep) {
    let c = branch;
    for (let d = 0; d < 4; d++) c = c.add(`level${d}`, { store: d % 2 === 0 ? 'hash' : 'rbtree', value: new Uint8Array([d]) });
  }
  for (let b = 0; b < beats.length; b++) {
    if (b > 0) rt.advance();
    for (const op of beats[b]) runOp(branch, op);
  }
  return { branch, last: rt.beat };
}

/** The frame with the fused pass on or off (off: walkBranch + writeFrame), or the error code. */
function frame(cell: Cell, options: EncodeOptions, fused: boolean): Buffer | string {
  writerPaths.fused = fused;
  try {
    return Buffer.from(encodeBranch(cell, options));
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  } finally {
    writerPaths.fused = true;
  }
}

function expectSame(cell: Cell, options: EncodeOptions): void {
  const a = frame(cell, options, true);
  const b = frame(cell, options, false);
  if (typeof a === 'string' || typeof b === 'string') expect(a).toEqual(b);
  else expect(a.equals(b)).toBe(true);
}

describe('frames: the fused single pass of encodeBranch', () => {
  afterEach(() => {
    writerPaths.fused = true;
  });

  it('writes the general path’s bytes for random branches and beat histories, delta and snapshot', () => {
    let frames = 0;
    let fusedFrames = 0;
    fc.assert(
      fc.property(caseArb, ({ root, beats, deep }) => {
        const { branch, last } = build(root, beats, deep);
        const cells: Cell[] = [branch, branch.parent!];
        branch.traverse((c) => {
          if (c.store !== null && cells.length < 6) cells.push(c);
        });
        for (const cell of cells) {
          for (let beat = 0; beat <= last; beat++) {
            for (const mode of ['delta', 'snapshot'] as const) {
              expectSame(cell, { mode, beat });
              frames++;
              const m = mode === 'delta' ? MODE_DELTA : MODE_SNAPSHOT;
              try {
                if (encodeFused(cell.runtime, cell, beat, m, { mode, beat }) !== null) fusedFrames++;
              } catch {
                // (a branch root that is gone at that beat: the general path throws the same way)
              }
            }
          }
        }
      }),
      { numRuns: 80 },
    );
    // most frames take the fused pass; the rest (links with payloads, prepends, reference names...) give up to the general path
    expect(fusedFrames).toBeGreaterThan(frames * 0.15);
  });

  it('gives up, and the general path writes the frame, where its records need the general path', () => {
    const rt = createRuntime();
    const branch = rt.find('/data')!.add('gu', { store: 'hash' });
    branch.add('v', { value: new Uint8Array([1, 2, 3]) });
    const none = branch.add('n');
    const opts = { mode: 'snapshot' as const };
    expect(encodeFused(rt, branch, rt.beat, MODE_SNAPSHOT, opts)).not.toBeNull();
    // AEAD, history windows: give up up front
    expect(encodeFused(rt, branch, rt.beat, MODE_SNAPSHOT, { ...opts, aead: { key: KEY } })).toBeNull();
    expect(encodeFused(rt, branch, rt.beat, MODE_SNAPSHOT, { ...opts, history: { payload: 2 } })).toBeNull();
    expect(encodeFused(rt, branch, rt.beat, MODE_SNAPSHOT, { ...opts, history: { manifest: 2 } })).toBeNull();
    // a DATA payload travels in chunk records; a link's target by ordinal
    for (const add of [() => branch.add('d', { data: new Uint8Array([9]) }), () => branch.add('l', { link: none })]) {
      const c = add();
      expect(encodeFused(rt, branch, rt.beat, MODE_SNAPSHOT, opts)).toBeNull();
      expectSame(branch, opts);
      c.remove();
      rt.advance();
      expect(encodeFused(rt, branch, rt.beat, MODE_SNAPSHOT, opts)).not.toBeNull();
    }
    // a child prepended in an insertion-ordered store (an order_delta record)
    const list = branch.add('list', { store: 'list', indexing: 'insertion' });
    list.add('old');
    rt.advance();
    list.add('new', { prepend: true });
    expect(encodeFused(rt, branch, rt.beat, MODE_DELTA, { mode: 'delta' })).toBeNull();
    expectSame(branch, { mode: 'delta' });
    expect(readFrame(encodeBranch(branch, { mode: 'delta' })).cells.find((c) => c.front !== undefined)).toBeDefined();
  });

  it('teaches the reference names it uses (cells, anchors, the root path) in namepool records', () => {
    const rt = createRuntime();
    const root = rt.find('/data')!.add('a branch with a long reference name', { store: 'hash' });
    const inner = root.add('another long reference name', { store: 'list' });
    inner.add('x', { value: new Uint8Array([1]) });
    rt.advance();
    inner.add('yet another long reference name', { value: new Uint8Array([2]) });
    for (const options of [{ mode: 'delta' }, { mode: 'snapshot' }] as EncodeOptions[]) {
      expect(encodeFused(rt, root, rt.beat, options.mode === 'delta' ? MODE_DELTA : MODE_SNAPSHOT, options)).not.toBeNull();
      expectSame(root, options);
      const read = readFrame(encodeBranch(root, options));
      expect(read.records.filter((r) => r.type === 'namepool_delta').length).toBe(3);
    }
  });

  it('holds back anchors until a described descendant appears, and drops the ones without', () => {
    const rt = createRuntime();
    const branch = rt.find('/data')!.add('anchors', { store: 'hash' });
    const a = branch.add('a', { store: 'hash' });
    const b = a.add('b', { store: 'rbtree' });
    const c = b.add('c', { value: new Uint8Array([1]) });
    a.add('quiet', { store: 'list' }).add('leaf', { value: new Uint8Array([2]) });
    branch.add('z', { store: 'hash' }).add('y', { value: new Uint8Array([3]) });
    rt.advance();
    c.set(new Uint8Array([7, 7]));
    const opts = { mode: 'delta' as const };
    expect(encodeFused(rt, branch, rt.beat, MODE_DELTA, opts)).not.toBeNull();
    expectSame(branch, opts);
    const cells = readFrame(encodeBranch(branch, opts)).cells;
    // the root anchor, a and b (anchors, flushed when c is described), c; not quiet, leaf, z or y
    expect(cells.map((x) => [x.ordinal, x.parent, x.anchor])).toEqual([
      [0, -1, true],
      [1, 0, true],
      [2, 1, true],
      [3, 2, false],
    ]);
    expect(cells[3].payload?.bytes).toEqual(new Uint8Array([7, 7]));
  });

  it('refuses to run with a hot-path literal that no longer matches its constant', () => {
    expect(() => checkLiterals('test', [[3, 3, 'SAME']])).not.toThrow();
    expect(() => checkLiterals('test', [[3, 7, 'TYPE_MASK']])).toThrow(/test: the literal for TYPE_MASK is 3, the source says 7/);
  });

  it('writes the same bytes for a large branch of small values, with every option it covers', () => {
    const rt = createRuntime();
    const branch = rt.find('/data')!.add('big', { store: 'hash' });
    for (let i = 1; i <= 9000; i++) branch.add(i, { value: new Uint8Array([i & 255, i >> 8, 3]) });
    const prevRoot = new Uint8Array(32).fill(5);
    for (const options of [{ mode: 'delta' }, { mode: 'snapshot' }, { mode: 'snapshot', deflate: true, prevRoot }, { mode: 'delta', chunkSize: 2 }] as EncodeOptions[]) {
      expect(encodeFused(rt, branch, rt.beat, options.mode === 'delta' ? MODE_DELTA : MODE_SNAPSHOT, options)).not.toBeNull();
      expectSame(branch, options);
    }
  });
});
