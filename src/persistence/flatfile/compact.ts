/**
 * Compaction of one branch: keep the newest checkpoint and every frame after it, drop what
 * came before. Replay stays possible from the retained checkpoint; the branch's chain now
 * starts at the root of the last dropped frame (branch.meta `baseBeat`/`baseRoot`). The new
 * folder is built beside the old one and swapped in by the caller.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeMeta, type BranchFiles } from './branch.js';
import { fsyncDir, readExactAt, writeAllAt, writeFileAtomic } from './files.js';
import { BRANCH_META, CHECKPOINTS_LOG, FRAMES_IDX, FRAMES_LOG, LOG_HEADER } from './layout.js';
import { storeError } from '../../errors.js';

const COPY_CHUNK = 16 * 1024 * 1024;

/** Copies `[from, to)` of `fd` into a new synced file; calls `onChunk` with every piece copied. */
export function copyRange(fd: number, from: number, to: number, file: string, onChunk?: (b: Uint8Array) => void): void {
  const out = fs.openSync(file, 'w');
  try {
    const buf = new Uint8Array(Math.min(COPY_CHUNK, Math.max(1, to - from)));
    for (let pos = from; pos < to; ) {
      const n = Math.min(buf.length, to - pos);
      if (!readExactAt(fd, buf, 0, n, pos)) throw storeError('ERR_STORE_CORRUPT', `${file}: the source ends at ${pos}, before the range to copy does`);
      writeAllAt(out, [buf.subarray(0, n)], pos - from);
      onChunk?.(buf.subarray(0, n));
      pos += n;
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
}

/** Builds the compacted folder at `staged`; false when there is nothing to drop. */
export function compactBranch(b: BranchFiles, staged: string): boolean {
  const cp = b.newestCheckpoint(Number.MAX_SAFE_INTEGER);
  if (cp === undefined) return false;
  const t = b.table;
  const inLog = cp.table === t;
  const first = inLog ? cp.i : t.lowerBound(cp.table.beats[cp.i] + 1);
  const keptCheckpoints = inLog ? 0 : 1;
  if (first === 0 && b.checkpoints.count === keptCheckpoints) return false;
  fs.rmSync(staged, { recursive: true, force: true });
  fs.mkdirSync(staged);
  copyRange(b.fdLog, first < t.count ? t.offsets[first] : b.logEnd, b.logEnd, path.join(staged, FRAMES_LOG));
  if (inLog) copyRange(b.fdCkp, 0, 0, path.join(staged, CHECKPOINTS_LOG));
  else copyRange(b.fdCkp, cp.table.offsets[cp.i], cp.table.offsets[cp.i] + LOG_HEADER + cp.table.lengths[cp.i], path.join(staged, CHECKPOINTS_LOG));
  copyRange(b.fdIdx, 0, 0, path.join(staged, FRAMES_IDX)); // rebuilt from the log when loaded
  const meta = first > 0 ? { ...b.meta, baseBeat: t.beats[first - 1], baseRoot: Buffer.from(t.root(first - 1)).toString('hex') } : b.meta;
  writeFileAtomic(path.join(staged, BRANCH_META), encodeMeta(meta));
  fsyncDir(staged);
  return true;
}
