/**
 * What the engine needs to know of a frame: the trailer's beat, apply mode and both roots.
 * `frameInfo` gets them after one full validation (`validateFrame`: CRCs, key order, chunk
 * trackers, Merkle root; a deflated frame is inflated first). `frameTrailer` gets them
 * cheaply (header CRC, a bounds-checked walk over the record framing, the trailer's CRC) so a
 * commit can start writing while the full validation runs beside the I/O.
 */
import { frameError } from '../../errors.js';
import { binding } from '../../native/index.js';
import { FLAT_HEADER_SIZE, FLAT_INDEX_STRIDE, FLAT_T_TRAILER } from '../../native/binding.js';
import { isContainer } from '../../serialization/container.js';
import { validateFrame } from '../../serialization/reader.js';
import { readU32 } from './layout.js';

export interface FrameInfo {
  beat: number;
  mode: 'delta' | 'snapshot';
  root: Uint8Array;
  prevRoot: Uint8Array;
}

/** Reads a varint at `p` (at most 8 bytes, not past `end`); returns [value, next offset], or [-1, p] when it does not fit. */
function varint(b: Uint8Array, p: number, end = b.length): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8 && p < end; i++) {
    const x = b[p++];
    v += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) return [v, p];
    mul *= 128;
  }
  return [-1, p];
}

/** Validates `bytes` as a frame (throws ERR_FRAME_*) and returns its trailer facts. */
export function frameInfo(bytes: Uint8Array): FrameInfo {
  const { frame, index } = validateFrame(bytes);
  const t = (index.length / FLAT_INDEX_STRIDE - 1) * FLAT_INDEX_STRIDE;
  return trailerFacts(frame, index[t + 3]);
}

/**
 * The trailer facts of a raw frame from its framing alone: header magic and CRC, each record's
 * lengths within bounds, a trailer that ends the frame with a matching CRC. Record CRCs, key
 * order and the Merkle root are not checked here (`frameInfo` does). A deflated frame is
 * validated in full (its trailer is inside the compressed bytes).
 */
export function frameTrailer(bytes: Uint8Array): FrameInfo {
  if (isContainer(bytes)) return frameInfo(bytes);
  const bad = (reason: string, at: number): never => {
    throw frameError('ERR_FRAME_MALFORMED', reason, at);
  };
  const n = bytes.length;
  if (n < FLAT_HEADER_SIZE || bytes[0] !== 0x43 || bytes[1] !== 0x45 || bytes[2] !== 0x50 || bytes[3] !== 0x46) throw frameError('ERR_FRAME_FORMAT', 'not a CEP frame (bad magic)', 0);
  if (binding.crc32c(bytes.subarray(0, 12), 0) !== readU32(bytes, 12)) throw frameError('ERR_FRAME_CRC', 'a CRC32C does not match', 12);
  let p = FLAT_HEADER_SIZE;
  for (;;) {
    if (p + 4 > n) throw frameError('ERR_FRAME_TRUNCATED', 'the frame ends before its trailer is complete', p);
    const type = bytes[p];
    const [keyLen, q] = varint(bytes, p + 4);
    const [bodyLen, body] = keyLen < 0 ? [-1, q] : varint(bytes, q);
    if (keyLen < 0 || bodyLen < 0) bad('a record length is not a varint', p);
    const end = body + keyLen + bodyLen; // where the record's CRC starts
    if (end + 4 > n) throw frameError('ERR_FRAME_TRUNCATED', 'the frame ends before its trailer is complete', p);
    if (type === FLAT_T_TRAILER) {
      if (keyLen !== 0 || end + 4 !== n) bad('the trailer does not end the frame', p);
      if (binding.crc32c(bytes.subarray(p, end), 0) !== readU32(bytes, end)) throw frameError('ERR_FRAME_CRC', 'a CRC32C does not match', end);
      return trailerFacts(bytes, body, end);
    }
    p = end + 4;
  }
}

/** Reads beat, mode and roots from a trailer body at `p` (docs/FORMAT.md §6). */
function trailerFacts(frame: Uint8Array, start: number, end = frame.length): FrameInfo {
  let p = start;
  const [beat, afterBeat] = varint(frame, p, end);
  [, p] = varint(frame, afterBeat, end); // record count
  const mode = frame[p] === 0 ? 'delta' : 'snapshot';
  p += 1 + 4 + 4; // mode, hash/checksum/compression/AEAD selectors, caps
  [, p] = varint(frame, p, end); // payload history window
  [, p] = varint(frame, p, end); // manifest history window
  if (beat < 0 || p + 64 > end) throw frameError('ERR_FRAME_MALFORMED', 'the trailer is malformed', start);
  return { beat, mode, prevRoot: frame.slice(p, p + 32), root: frame.slice(p + 32, p + 64) };
}
