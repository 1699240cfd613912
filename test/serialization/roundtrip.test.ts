import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFrame, createRuntime, encodeBranch, readFrame } from '../../src/index.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { loadBinding } from '../../src/native/index.js';
import { FINISH_PARAMS } from '../../src/native/binding.js';
import { buildHistory, dumpBranch, historyArb, KEY } from './helpers.js';

const native = loadBinding({ native: true });

describe('frames: round trip through delta frames', () => {
  it('rebuilds a random branch exactly, history included, from its per-beat deltas', () => {
    fc.assert(
      fc.property(historyArb, (beats) => {
        const { rt, branch } = buildHistory(beats);
        const last = rt.beat;
        const rt2 = createRuntime();
        let prev: Uint8Array = new Uint8Array(32);
        for (let b = 0; b <= last; b++) {
          const frame = encodeBranch(branch, { beat: b, mode: 'delta', prevRoot: prev });
          const read = readFrame(frame);
          expect(read.beat).toBe(b);
          expect(read.prevRoot).toEqual(prev);
          prev = read.root;
          applyFrame(rt2, frame);
        }
        expect(dumpBranch(rt2.find('/data/app')!, last)).toEqual(dumpBranch(branch, last));
      }),
      { numRuns: 60 },
    );
  });

  it('rebuilds the same branch from one snapshot with full history windows (sealed and deflated too)', () => {
    fc.assert(
      fc.property(historyArb, fc.boolean(), (beats, seal) => {
        const { rt, branch } = buildHistory(beats);
        const last = rt.beat;
        const opts = seal ? { aead: { key: KEY }, deflate: true } : {};
        const frame = encodeBranch(branch, { mode: 'snapshot', history: { payload: last + 1, manifest: last + 1 }, ...opts });
        const rt2 = createRuntime();
        applyFrame(rt2, frame, seal ? { aead: { key: KEY } } : undefined);
        expect(dumpBranch(rt2.find('/data/app')!, last)).toEqual(dumpBranch(branch, last));
      }),
      { numRuns: 40 },
    );
  });

  it('is deterministic: the same branch gives the same bytes, in both halves', () => {
    fc.assert(
      fc.property(historyArb, (beats) => {
        const a = buildHistory(beats);
        const b = buildHistory(beats);
        const fa = encodeBranch(a.branch, { mode: 'snapshot', history: { payload: 3 }, aead: { key: KEY, cipher: 'chacha20-poly1305' } });
        const fb = encodeBranch(b.branch, { mode: 'snapshot', history: { payload: 3 }, aead: { key: KEY, cipher: 'chacha20-poly1305' } });
        expect(Buffer.from(fa).equals(Buffer.from(fb))).toBe(true);
        // re-finish the staged records with each half: byte-identical to the frame
        const read = readFrame(fa);
        const trailer = read.records[read.records.length - 1];
        for (const half of [fallbackBinding, native.binding]) {
          const staged = new Uint8Array(fa.length + 64);
          staged.set(fa.subarray(0, trailer.offset));
          for (const r of read.records.slice(0, -1)) staged.fill(0, r.offset + r.length - 4, r.offset + r.length);
          staged.fill(0, 0, 16);
          const params = new Float64Array(FINISH_PARAMS);
          params.set([read.beat, 1, read.caps, read.aead === 'none' ? 0 : 2, 0, 3, 0]);
          const len = half.flatFinish(staged, trailer.offset, params, read.prevRoot);
          expect(len).toBe(fa.length);
          expect(Buffer.from(staged.subarray(0, len)).equals(Buffer.from(fa))).toBe(true);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('rebuilds a link to a cell that a namesake replaced in the beat both were made (snapshot with history)', () => {
    // beat 1: a/x made, a/a -> a/x, a/x removed, a new a/x made; the link stays on the dead first one
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app', { store: 'list', indexing: 'insertion' });
    const a = app.add('a');
    rt.advance();
    const x1 = a.add('x');
    a.add('a', { link: x1 });
    x1.remove();
    a.add('x');
    const frame = encodeBranch(app, { mode: 'snapshot', history: { payload: 2, manifest: 2 } });
    const rt2 = createRuntime();
    applyFrame(rt2, frame);
    expect(dumpBranch(rt2.find('/data/app')!, 1)).toEqual(dumpBranch(app, 1));
    expect(rt2.find('/data/app/a/a')!.isDead).toBe(true);
  });

  it('keeps the order of prepended children in insertion-ordered stores', () => {
    const rt = createRuntime();
    const q = rt.find('/data')!.add('q', { store: 'list', indexing: 'insertion' });
    q.add('m');
    rt.advance();
    q.add('a', { prepend: true });
    q.add('z');
    q.add('b', { prepend: true });
    const rt2 = createRuntime();
    applyFrame(rt2, encodeBranch(q, { beat: 0, mode: 'delta' }));
    applyFrame(rt2, encodeBranch(q, { beat: 1, mode: 'delta' }));
    expect(
      rt2
        .find('/data/q')!
        .children()
        .map((c) => c.name),
    ).toEqual(['b', 'a', 'm', 'z']);
    const rt3 = createRuntime();
    applyFrame(rt3, encodeBranch(q, { mode: 'snapshot' }));
    expect(
      rt3
        .find('/data/q')!
        .children()
        .map((c) => c.name),
    ).toEqual(['b', 'a', 'm', 'z']);
  });

  it('frames a branch recursively: grandchildren and their payloads travel', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    app.add('users').add('ada', { value: 'admin' }).add('prefs', { value: 'dark' });
    const frame = readFrame(encodeBranch(app, { mode: 'snapshot' }));
    expect(frame.cells.map((c) => c.ordinal)).toEqual([0, 1, 2, 3]);
    expect(new TextDecoder().decode(frame.cells[3].payload!.bytes)).toBe('dark');
  });

  it('sends only what changed, with anchors for the unchanged ancestors', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    const users = app.add('users');
    for (let i = 1; i <= 50; i++) users.add(i, { value: `u${i}` });
    rt.advance();
    users.child(7)!.set('changed');
    const frame = readFrame(encodeBranch(app, { mode: 'delta' }));
    expect(frame.cells.map((c) => [c.anchor, c.payload?.kind])).toEqual([
      [true, undefined],
      [true, undefined],
      [false, 'value'],
    ]);
    expect(frame.cells[2].name!.lo).toBe(7);
  });

  it('chains frames: each frame carries the previous root, and the root binds it', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app', { value: 'v' });
    const a = encodeBranch(app, { mode: 'snapshot' });
    const b = encodeBranch(app, { mode: 'snapshot', prevRoot: readFrame(a).root });
    expect(readFrame(b).prevRoot).toEqual(readFrame(a).root);
    expect(readFrame(b).root).not.toEqual(readFrame(a).root);
  });
});
