/**
 * Recovery scan of a frame log (frames.log, checkpoints.log): every record's header CRC and
 * frame CRC (one crc32cMany call per 16 MiB chunk), beats strictly ascending and, for a chained
 * log, each frame's previous root equal to the root before it. Yields the beat index of the
 * good prefix and where and why it ends.
 */
import { binding } from '../../native/index.js';
import { MAX_FRAME_BYTES_DEFAULT } from '../../serialization/format.js';
import { FrameTable } from './frame-table.js';
import { LOG_HEADER, peekLogHeader, readU32, readU64, sameRoot } from './layout.js';
import { scanRecords, type RecordShape } from './scan.js';

/** Frames are at most 256 MiB (docs/FORMAT.md §11); a deflate container adds its header. */
const MAX_RECORD = LOG_HEADER + MAX_FRAME_BYTES_DEFAULT + 64;

const LOG_SHAPE: RecordShape = {
  head: LOG_HEADER,
  length: (b, p) => {
    const len = peekLogHeader(b, p);
    return len < 0 ? -1 : LOG_HEADER + len;
  },
  max: MAX_RECORD,
};

export interface LogScan {
  table: FrameTable;
  /** End of the good prefix. */
  end: number;
  size: number;
  /** '' when the whole file is good, else why the rest is cut. */
  reason: '' | 'torn' | 'crc' | 'order' | 'chain' | 'invalid';
  /** The beat announced by the first refused record when its header is intact, else -1. */
  badBeat: number;
}

/**
 * `chainFrom`: the previous root the first frame must carry (null: unchained, as checkpoints
 * are); `afterBeat`: beats must be above it.
 */
export function scanLog(fd: number, chainFrom: Uint8Array | null, afterBeat: number, chunk?: number): LogScan {
  const table = new FrameTable();
  let reason: LogScan['reason'] = '';
  let badBeat = -1;
  let prevBeat = afterBeat;
  let prevRoot: Uint8Array | null = chainFrom;
  let prevRootAt = 0;
  let offsets = new Uint32Array(0);
  let lens = new Uint32Array(0);
  let crcs = new Uint32Array(0);
  const result = scanRecords(
    fd,
    LOG_SHAPE,
    (b, starts, lengths, base) => {
      const n = starts.length;
      if (offsets.length < 2 * n) {
        offsets = new Uint32Array(4 * n);
        lens = new Uint32Array(4 * n);
        crcs = new Uint32Array(2 * n);
      }
      for (let i = 0; i < n; i++) {
        offsets[2 * i] = starts[i];
        lens[2 * i] = 92;
        offsets[2 * i + 1] = starts[i] + LOG_HEADER;
        lens[2 * i + 1] = lengths[i] - LOG_HEADER;
      }
      binding.crc32cMany(b, offsets.subarray(0, 2 * n), lens.subarray(0, 2 * n), crcs.subarray(0, 2 * n), 0);
      for (let i = 0; i < n; i++) {
        const p = starts[i];
        if (crcs[2 * i] !== readU32(b, p + 92)) {
          reason = 'crc';
          return i;
        }
        const beat = readU64(b, p + 16);
        if (crcs[2 * i + 1] !== readU32(b, p + 12)) {
          reason = 'crc';
          badBeat = beat;
          return i;
        }
        if (beat <= prevBeat) {
          reason = 'order';
          badBeat = beat;
          return i;
        }
        if (prevRoot !== null && !sameRoot(b, p + 24, prevRoot, prevRootAt)) {
          reason = 'chain';
          badBeat = beat;
          return i;
        }
        table.push(beat, base + p, lengths[i] - LOG_HEADER, readU32(b, p + 12), b[p + 5], readU32(b, p + 88), b, p + 56);
        prevBeat = beat;
        if (prevRoot !== null) {
          prevRoot = table.roots;
          prevRootAt = (table.count - 1) * 32;
        }
      }
      return n;
    },
    chunk,
  );
  if (result.stop === 'torn') reason = 'torn';
  return { table, end: result.end, size: result.size, reason, badBeat };
}
