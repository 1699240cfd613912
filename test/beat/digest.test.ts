import { describe, expect, it } from 'vitest';
import { beatFrame, beatLink } from '../../src/internal.js';
import { readFrame } from '../../src/index.js';
import { hex, runtime } from './helpers.js';

function scenario() {
  const rt = runtime();
  rt.registerEnzyme({
    name: 'w',
    signal: 'app/w',
    run(ctx) {
      const d = ctx.rt.find('/data')!;
      const n = ctx.decide('n', () => 7);
      (d.child('x') ?? d.add('x', { value: 'a' })).set(`v${n}:${String(ctx.payload)}`);
      d.add(null, { data: new Uint8Array(100).fill(ctx.beat) });
    },
  });
  rt.bind('/data', 'w');
  return rt;
}

describe('beat digest', () => {
  it("is the root of the beat's delta frame, chained to the previous digest through the beat link", () => {
    const rt = scenario();
    const seen: { beat: number; frame: Uint8Array; link: Uint8Array }[] = [];
    let prev: Uint8Array = new Uint8Array(32);
    rt.onCommit((beat, changes) => {
      const { frame } = beatFrame(rt, changes, prev);
      seen.push({ beat, frame: frame.slice(), link: beatLink(changes, prev) });
      prev = rt.digest(beat)!;
    });
    rt.enqueue('app/w', '/data', 'p');
    rt.step();
    rt.step();
    rt.step(); // beats that touch nothing take a shortcut to the same root
    rt.step();
    expect(rt.digest(5)).toBeUndefined();
    expect(seen.length).toBe(4);
    for (const { beat, frame, link } of seen) {
      const read = readFrame(frame); // a valid frame: CRCs, trailer, Merkle root
      expect(read.mode).toBe('delta');
      expect(read.beat).toBe(beat);
      expect(hex(read.root)).toBe(hex(rt.digest(beat)));
      expect(hex(read.prevRoot)).toBe(hex(link));
      expect(read.cells[0].path).toEqual([]); // the branch is the whole runtime
    }
    // beat 1 wrote /data/x = "v7:p" and a DATA child: both are in its frame
    const texts = readFrame(seen[0].frame).cells.map((c) => (c.payload?.bytes === undefined ? '' : new TextDecoder().decode(c.payload.bytes)));
    expect(texts).toContain('v7:p');
    // the link binds the previous digest: beat 2's differs when beat 1's does
    const other = beatLink({ beat: 2, unixTsNs: 0n, impulses: new Uint8Array(0), agenda: new Uint8Array(0), decisions: [], cells: [] }, new Uint8Array(32));
    const other2 = beatLink({ beat: 2, unixTsNs: 0n, impulses: new Uint8Array(0), agenda: new Uint8Array(0), decisions: [], cells: [] }, rt.digest(1)!);
    expect(hex(other)).not.toBe(hex(other2));
  });

  it('digests what a frame cannot carry (a proxy, a store ordered by a function) instead of failing', () => {
    const rt = runtime();
    let frame: Uint8Array | undefined;
    rt.onCommit((_beat, changes) => void (frame = beatFrame(rt, changes, new Uint8Array(32)).frame.slice()));
    rt.registerEnzyme({
      name: 'odd',
      signal: 'app/odd',
      run(ctx) {
        const d = ctx.rt.find('/data')!;
        d.add('h', { handle: {} });
        d.add('sorted', { store: 'rbtree', indexing: 'comparator', compare: (a, b) => a.created - b.created }).add('k', { value: 'v' });
      },
    });
    rt.bind('/data', 'odd');
    rt.enqueue('app/odd', '/data');
    rt.step();
    expect(rt.digest(1)).toHaveLength(32);
    const cells = readFrame(frame!).cells;
    const h = cells.find((c) => c.payload === undefined && !c.anchor && c.type === 'normal' && c.store === undefined && c.parent > 0);
    expect(h).toBeDefined(); // the proxy: described, its resource not carried
    expect(cells.some((c) => c.store?.indexing === 'comparator')).toBe(true);
  });

  it('frames only what the beat touched, however large the tree', () => {
    const rt = runtime();
    const big = rt.find('/data')!.add('big');
    for (let i = 1; i <= 2000; i++) big.add(i, { value: `v${i}` });
    rt.registerEnzyme({ name: 'one', signal: 'app/one', run: (ctx) => void ctx.rt.find('/data/big/77')!.set('changed') });
    rt.bind('/data/big', 'one');
    let cells = -1;
    rt.onCommit((beat, changes) => {
      if (beat === 2) cells = readFrame(beatFrame(rt, changes, new Uint8Array(32)).frame).cells.length;
    });
    rt.step();
    rt.enqueue('app/one', '/data/big');
    rt.step();
    expect(cells).toBeGreaterThan(2);
    expect(cells).toBeLessThan(20);
  });

  it('known answer: the same bytes on the native and the fallback backend (both suites pin it)', () => {
    const rt = scenario();
    rt.enqueue('app/w', '/data', 'p');
    rt.enqueue('app/w', null, new Uint8Array([1, 2, 3]));
    rt.step();
    rt.step();
    expect(hex(rt.digest(1))).toBe(KNOWN_1);
    expect(hex(rt.digest(2))).toBe(KNOWN_2);
  });

  it('changes with what the beat did: payload bytes, time, decisions', () => {
    const a = scenario();
    const b = scenario();
    const c = runtime({ clock: () => 5n });
    a.enqueue('app/w', '/data', 'p');
    b.enqueue('app/w', '/data', 'q');
    a.step();
    b.step();
    c.step();
    expect(hex(a.digest(1))).not.toBe(hex(b.digest(1)));
    const d = runtime({ clock: () => 6n });
    d.step();
    expect(hex(c.digest(1))).not.toBe(hex(d.digest(1)));
  });

  it('keeps only digestBeats digests', () => {
    const rt = runtime({ digestBeats: 3, journalBeats: 0 });
    rt.run({ beats: 10 });
    expect([7, 8, 9, 10].map((b) => rt.digest(b) !== undefined)).toEqual([false, true, true, true]);
    expect(rt.find('/rt/beat')).toBeUndefined();
  });
});

// the beat frame encoding (docs/heartbeat.md, "The beat digest"; frame format v2)
const KNOWN_1 = 'd0ca34983f357edf5f31f2ab4df992296bb0ccb4d5f76c2009482edcfcc060fa';
const KNOWN_2 = 'c6f539fc37bbaec4dbf3ea7b20e948cf1407d2c6528288dade51a63f42572f8a';
