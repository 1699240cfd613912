import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFrame, createRuntime, encodeBranch, FrameReader, readFrame } from '../../src/index.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { loadBinding } from '../../src/native/index.js';
import { buildHistory, dumpBranch, historyArb, KEY, codeOf, refinishMutated } from './helpers.js';
import { setBeat } from '../../src/kernel/tree.js';

const native = loadBinding({ native: true }).binding;

/** A few frames covering every record type, sealed and plain, raw and deflated. */
function sampleFrames(): Uint8Array[] {
  const rt = createRuntime();
  const app = rt.find('/data')!.add('app', { store: 'list', indexing: 'insertion' });
  app.add('a', { value: 'one' });
  app.add('b', { data: new Uint8Array(300).fill(9) });
  app.add('a long reference name', { value: 'r' });
  rt.advance();
  app.child('a')!.set('two');
  app.add('front', { prepend: true });
  app.child('b')!.remove();
  app.add('ln', { link: app.child('a')! });
  const history = { payload: 2, manifest: 2 };
  return [
    encodeBranch(app, { mode: 'delta' }),
    encodeBranch(app, { mode: 'snapshot', history, chunkSize: 100 }),
    encodeBranch(app, { mode: 'snapshot', history, chunkSize: 128, aead: { key: KEY } }),
    encodeBranch(app, { mode: 'snapshot', history, deflate: true }),
  ];
}

describe('frames: hostile input', () => {
  const frames = sampleFrames();

  it('rejects every single-bit flip of sample frames with a coded error', () => {
    for (const frame of frames) {
      expect(codeOf(() => readFrame(frame))).toBeUndefined();
      for (let bit = 0; bit < frame.length * 8; bit++) {
        const bad = frame.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        const code = codeOf(() => readFrame(bad));
        if (code === undefined || !code.startsWith('ERR_FRAME_')) throw new Error(`bit ${bit} of a ${frame.length}-byte frame: ${code ?? 'accepted'}`);
      }
    }
  });

  it('rejects truncation at every offset', () => {
    for (const frame of frames) {
      for (let n = 0; n < frame.length; n++) {
        const code = codeOf(() => readFrame(frame.subarray(0, n)));
        if (code === undefined || !code.startsWith('ERR_FRAME_')) throw new Error(`cut at ${n}: ${code ?? 'accepted'}`);
      }
    }
  });

  it('gives the same verdict (status and offset) in both halves on mutated frames', () => {
    fc.assert(
      fc.property(fc.nat(frames.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(), (which, edits, cut) => {
        const frame = frames[which === 3 ? 0 : which].slice();
        for (const [at, v] of edits) frame[at % frame.length] = v;
        const input = frame.subarray(0, frame.length - (cut % 3 === 0 ? cut % frame.length : 0));
        const da = new Float64Array(2);
        const db = new Float64Array(2);
        const a = fallbackBinding.flatValidate(input, da);
        const b = native.flatValidate(input, db);
        expect(Array.from(db)).toEqual(Array.from(da));
        expect(a === null ? null : Array.from(a)).toEqual(b === null ? null : Array.from(b));
      }),
      { numRuns: 300 },
    );
  });

  it('never crashes or hangs on random garbage (time-bounded fuzz)', () => {
    const until = Date.now() + 1500;
    let runs = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (junk, framed) => {
        if (Date.now() > until && runs > 50) return; // the time caps the extra runs only: a slow machine never fails the floor
        runs++;
        const input = framed && junk.length >= 4 ? Uint8Array.from([0x43, 0x45, 0x50, 0x46, 1, 0, 0, 0, ...junk]) : junk;
        const code = codeOf(() => readFrame(input));
        if (code !== undefined) expect(code).toMatch(/^ERR_FRAME_/);
      }),
      { numRuns: 100000 },
    );
    expect(runs).toBeGreaterThan(50);
  });

  it('a frame that fails leaves the runtime unchanged', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), (beats, at) => {
        const { rt, branch } = buildHistory(beats);
        const frame = encodeBranch(branch, { mode: 'snapshot' });
        const rt2 = createRuntime();
        const before = dumpBranch(rt2.root, 0);
        const bad = frame.slice();
        bad[at % bad.length] ^= 0x40;
        expect(codeOf(() => applyFrame(rt2, bad))).toMatch(/^ERR_FRAME_/);
        expect(dumpBranch(rt2.root, 0)).toEqual(before);
        expect(rt2.beat).toBe(0);
        void rt;
      }),
      { numRuns: 30 },
    );
  });

  it('refuses to apply the same frame twice, and a delta older than the runtime, changing nothing', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    app.add('x', { value: '1' });
    const f0 = encodeBranch(app, { mode: 'delta' });
    rt.advance();
    app.child('x')!.set('2');
    const f1 = encodeBranch(app, { mode: 'delta' });
    const rt2 = createRuntime();
    applyFrame(rt2, f0);
    expect(codeOf(() => applyFrame(rt2, f0))).toBe('ERR_FRAME_APPLY');
    applyFrame(rt2, f1);
    rt2.advance();
    const rt3 = createRuntime();
    setBeat(rt3, 5);
    expect(codeOf(() => applyFrame(rt3, f1))).toBe('ERR_FRAME_APPLY');
    expect(rt3.find('/data/app')).toBeUndefined();
  });

  it('bounds frames before allocating: maxFrameBytes, also for what a deflate container announces', () => {
    const [delta, , , deflated] = frames;
    expect(codeOf(() => readFrame(delta, { maxFrameBytes: delta.length - 1 }))).toBe('ERR_FRAME_TOO_LARGE');
    expect(codeOf(() => readFrame(deflated, { maxFrameBytes: 64 }))).toBe('ERR_FRAME_TOO_LARGE');
    const huge = deflated.slice();
    huge[12] = 0xff; // announced raw size: > 2^32 (the header CRC is then wrong too: the CRC speaks first)
    expect(codeOf(() => readFrame(huge))).toBe('ERR_FRAME_CRC');
    new DataView(huge.buffer).setUint32(20, fallbackBinding.crc32c(huge.subarray(0, 20), 0), true);
    expect(codeOf(() => readFrame(huge))).toBe('ERR_FRAME_TOO_LARGE');
    const reader = new FrameReader({ maxFrameBytes: 100 });
    expect(codeOf(() => reader.feed(new Uint8Array(101)))).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('refuses a frame announcing unsupported capabilities as soon as the header arrives', () => {
    const frame = frames[0].slice();
    frame[11] = 0x80; // capability bit 31
    const reader = new FrameReader();
    expect(codeOf(() => reader.feed(frame.subarray(0, 10)))).toBeUndefined();
    expect(codeOf(() => reader.feed(frame.subarray(10, 16)))).toBe('ERR_FRAME_CRC');
    // with a recomputed header CRC the capability check itself speaks
    const view = new DataView(frame.buffer);
    view.setUint32(12, fallbackBinding.crc32c(frame.subarray(0, 12), 0), true);
    expect(codeOf(() => new FrameReader().feed(frame.subarray(0, 16)))).toBe('ERR_FRAME_UNSUPPORTED');
    expect(codeOf(() => new FrameReader().feed(Uint8Array.of(1, 2, 3, 4)))).toBeUndefined();
    expect(codeOf(() => new FrameReader().feed(new Uint8Array(16)))).toBe('ERR_FRAME_FORMAT');
  });

  it('reads a frame fed in arbitrary slices', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(200), { maxLength: 20 }), (cuts) => {
        const frame = frames[1];
        const reader = new FrameReader();
        let at = 0;
        for (const c of cuts) {
          const next = Math.min(frame.length, at + c);
          reader.feed(frame.subarray(at, next));
          at = next;
        }
        reader.feed(frame.subarray(at));
        expect(reader.commit().root).toEqual(readFrame(frame).root);
      }),
    );
  });
});

describe('frames: intact but hostile bodies', () => {
  it('decodes and applies re-finished frames with mutated bodies only to coded errors (time-bounded fuzz)', () => {
    const frames = sampleFrames().slice(0, 3);
    const until = Date.now() + 2000;
    let decoded = 0;
    fc.assert(
      fc.property(fc.nat(2), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), (which, edits) => {
        if (Date.now() > until && decoded > 20) return; // the time caps the extra runs only, as above
        const frame = frames[which];
        // mutate record bytes after the framing (keys and bodies), then re-finish: CRCs and root are valid again
        const bytes = refinishMutated(frame, edits);
        if (bytes === undefined) return; // the edit broke the framing itself: nothing to finish
        for (const step of [() => readFrame(bytes, { aead: { key: KEY } }), () => applyFrame(createRuntime(), bytes, { aead: { key: KEY } })]) {
          const code = codeOf(step);
          if (code !== undefined && !code.startsWith('ERR_')) throw new Error(`uncoded failure: ${code}`);
        }
        decoded++;
      }),
      { numRuns: 100000 },
    );
    expect(decoded).toBeGreaterThan(20);
  });
});
