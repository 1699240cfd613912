/**
 * Which CAS blobs a branch's frames reference. Blobs are content-addressed (their key is the
 * BLAKE3 of their bytes) and frames name no blob explicitly, so a frame references a blob by
 * content: one of its VALUE/DATA payloads, current or past version, is that blob (same size,
 * same BLAKE3). Sealed payloads (AEAD, not opened here) reference nothing. Bundles carry only
 * these blobs (bundle.ts).
 */
import { readFrame, type FramePayload } from '../../serialization/reader.js';
import type { BranchFiles } from './branch.js';
import { blake3Hex } from './cas.js';

/** Keys of `candidates` (key → size) that a payload of a frame or checkpoint of `b` is, sorted. */
export function referencedBlobs(b: BranchFiles, candidates: ReadonlyMap<string, number>): string[] {
  const sizes = new Set(candidates.values());
  const found = new Set<string>();
  const visit = (p: FramePayload | undefined): void => {
    const bytes = p?.bytes;
    if (bytes === undefined || !sizes.has(bytes.length)) return; // only payloads of a blob's size are hashed
    const key = blake3Hex(bytes);
    if (candidates.get(key) === bytes.length) found.add(key);
  };
  if (sizes.size > 0) {
    for (const [table, fd] of [
      [b.table, b.fdLog],
      [b.checkpoints, b.fdCkp],
    ] as const) {
      for (let i = 0; i < table.count; i++) {
        for (const cell of readFrame(b.read(table, i, fd).bytes).cells) {
          visit(cell.payload);
          for (const h of cell.history) visit(h);
        }
      }
    }
  }
  return [...found].sort();
}
