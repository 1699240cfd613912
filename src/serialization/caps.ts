/** Capability bits of a frame (header bytes 8..11, repeated in the trailer), by name. */
import { FLAT_CAP_AEAD, FLAT_CAP_CHUNKS, FLAT_CAP_DEFLATE, FLAT_CAP_MANIFEST, FLAT_CAP_MANIFEST_HISTORY, FLAT_CAP_NAMEPOOL, FLAT_CAP_ORDER, FLAT_CAP_PAYLOAD_HISTORY, FLAT_CAP_TOC } from './format.js';

export const CAP_NAMES: ReadonlyArray<[number, string]> = [
  [FLAT_CAP_NAMEPOOL, 'namepool'],
  [FLAT_CAP_CHUNKS, 'chunks'],
  [FLAT_CAP_PAYLOAD_HISTORY, 'payload_history'],
  [FLAT_CAP_AEAD, 'aead'],
  [FLAT_CAP_DEFLATE, 'deflate'],
  [FLAT_CAP_TOC, 'toc'],
  [FLAT_CAP_MANIFEST, 'manifest'],
  [FLAT_CAP_ORDER, 'order'],
  [FLAT_CAP_MANIFEST_HISTORY, 'manifest_history'],
];

/** The names of the bits set in `caps` (unknown bits as `bit<n>`). */
export function capsNames(caps: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of CAP_NAMES) if ((caps & bit) !== 0) out.push(name);
  for (let i = 9; i < 32; i++) if ((caps & (1 << i)) !== 0) out.push(`bit${i}`);
  return out;
}
