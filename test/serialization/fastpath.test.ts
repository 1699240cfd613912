import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBranch, readFrame } from '../../src/index.js';
import { readerPaths } from '../../src/serialization/leaf-reader.js';
import { writerPaths } from '../../src/serialization/writer.js';
import { buildHistory, historyArb, refinishMutated } from './helpers.js';

/** Every frame of a history: per-beat deltas and a snapshot with a manifest history window. */
function framesOf(beats: Parameters<typeof buildHistory>[0]): Buffer[] {
  const { rt, branch } = buildHistory(beats);
  const out: Buffer[] = [];
  for (let beat = 0; beat <= rt.beat; beat++) out.push(Buffer.from(encodeBranch(branch, { mode: 'delta', beat })));
  out.push(Buffer.from(encodeBranch(branch, { mode: 'snapshot', history: { manifest: 4 } })));
  out.push(Buffer.from(encodeBranch(branch.parent!, { mode: 'snapshot' })));
  return out;
}

/** What reading a frame gives: its cells (plain) or the coded error. */
function readOutcome(frame: Uint8Array): unknown {
  try {
    return JSON.parse(JSON.stringify(readFrame(frame).cells));
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
}

/** The outcome with the reader's fast path on and off. */
function bothReaders(frame: Uint8Array): [unknown, unknown] {
  readerPaths.leafFastPath = true;
  const fast = readOutcome(frame);
  readerPaths.leafFastPath = false;
  return [fast, readOutcome(frame)];
}

describe('frames: the writer and reader fast paths', () => {
  afterEach(() => {
    writerPaths.leafFastPath = true;
    writerPaths.fused = true;
    readerPaths.leafFastPath = true;
  });

  it('writes the same bytes as the general path for random branches and beat histories', () => {
    writerPaths.fused = false; // (writeFrame's leaf fast path; the fused pass has its own test)
    fc.assert(
      fc.property(historyArb, (beats) => {
        writerPaths.leafFastPath = true;
        const fast = framesOf(beats);
        writerPaths.leafFastPath = false;
        const general = framesOf(beats);
        expect(fast.length).toBe(general.length);
        for (let i = 0; i < fast.length; i++) expect(fast[i].equals(general[i])).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('writes the same bytes for a large branch of small values (several runs)', () => {
    const build = (): Buffer => {
      const { branch } = buildHistory([[]]);
      for (let i = 1; i <= 9000; i++) branch.add(i, { value: new Uint8Array([i & 255, i >> 8, 3]) });
      return Buffer.from(encodeBranch(branch, { mode: 'delta' }));
    };
    writerPaths.fused = false;
    writerPaths.leafFastPath = true;
    const fast = build();
    writerPaths.leafFastPath = false;
    expect(fast.equals(build())).toBe(true);
  });

  it('reads every frame of random histories to the same cells as the general path', () => {
    fc.assert(
      fc.property(historyArb, (beats) => {
        for (const frame of framesOf(beats)) {
          const [fast, general] = bothReaders(frame);
          expect(fast).toEqual(general);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('gives the same cells or the same coded error as the general path on mutated descriptions', () => {
    const { branch } = buildHistory([[]]);
    for (let i = 1; i <= 300; i++) branch.add(i * 977, { value: new Uint8Array([i & 255, 7]) });
    branch.add('none');
    branch.child(5 * 977)!.remove();
    const frame = encodeBranch(branch, { mode: 'snapshot' });
    let errors = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), (edits) => {
        const bytes = refinishMutated(frame, edits);
        if (bytes === undefined) return;
        const [fast, general] = bothReaders(bytes);
        expect(fast).toEqual(general);
        if ((fast as { code?: string }).code !== undefined) errors++;
      }),
      { numRuns: 400 },
    );
    expect(errors).toBeGreaterThan(10);
  });
});
