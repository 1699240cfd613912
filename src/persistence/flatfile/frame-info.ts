/**
 * What the engine needs to know of a frame: one full validation (`validateFrame`: CRCs, key
 * order, chunk trackers, Merkle root; a deflated frame is inflated first), then the trailer's
 * beat, apply mode and both roots, read straight from the validated record index.
 */
import { FLAT_INDEX_STRIDE } from '../../native/binding.js';
import { validateFrame } from '../../serialization/reader.js';

export interface FrameInfo {
  beat: number;
  mode: 'delta' | 'snapshot';
  root: Uint8Array;
  prevRoot: Uint8Array;
}

/** Reads a minimal varint (already validated) at `p`; returns [value, next offset]. */
function varint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[p++];
    v += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) return [v, p];
    mul *= 128;
  }
}

/** Validates `bytes` as a frame (throws ERR_FRAME_*) and returns its trailer facts. */
export function frameInfo(bytes: Uint8Array): FrameInfo {
  const { frame, index } = validateFrame(bytes);
  const t = (index.length / FLAT_INDEX_STRIDE - 1) * FLAT_INDEX_STRIDE;
  let p = index[t + 3]; // trailer body (docs/FORMAT.md §6)
  const [beat, afterBeat] = varint(frame, p);
  [, p] = varint(frame, afterBeat); // record count
  const mode = frame[p] === 0 ? 'delta' : 'snapshot';
  p += 1 + 4 + 4; // mode, hash/checksum/compression/AEAD selectors, caps
  [, p] = varint(frame, p); // payload history window
  [, p] = varint(frame, p); // manifest history window
  return { beat, mode, prevRoot: frame.slice(p, p + 32), root: frame.slice(p + 32, p + 64) };
}
