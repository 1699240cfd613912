/** The engine's cheap trailer parse agrees with full validation and never fails without a code. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBranch } from '../../src/index.js';
import { frameInfo, frameTrailer } from '../../src/persistence/flatfile/frame-info.js';
import { Source } from './helpers.js';

const src = new Source(['a']);
const frames: Uint8Array[] = [];
for (let b = 0; b < 6; b++) {
  if (b > 0) src.advance(['a'], 40 + b * 300);
  frames.push(src.frame('a'), src.snapshot('a'), encodeBranch(src.cells.get('a')!, { mode: 'delta', deflate: true }));
}

describe('flatfile frame facts', () => {
  it('frameTrailer reads what frameInfo reads from every valid frame (raw and deflated)', () => {
    for (const f of frames) expect(frameTrailer(f)).toEqual(frameInfo(f));
  });

  it('frameTrailer on damaged or cut frames returns facts or throws a coded ERR_FRAME_* error, nothing else', () => {
    fc.assert(
      fc.property(fc.nat(frames.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.option(fc.nat(), { nil: undefined }), (which, edits, cut) => {
        const f = frames[which].slice();
        for (const [at, v] of edits) f[at % f.length] = v;
        const bytes = cut === undefined ? f : f.subarray(0, cut % f.length);
        try {
          frameTrailer(bytes);
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/^ERR_FRAME_/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
