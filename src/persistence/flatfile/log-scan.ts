/**
 * Recovery scan of a frame log (frames.log, checkpoints.log): every record's header CRC and
 * frame CRC (one crc32cMany call per 16 MiB chunk), beats strictly ascending and, for a chained
 * log, each frame's previous root equal to the root before it. Yields the beat index of the
 * good prefix and where and why it ends.
 */
import { binding } from '../../native/index.js';
import { MAX_FRAME_BYTES_DEFAULT } from '../../serialization/format.js';
import { FrameTable } from './frame-table.js';
import { readExactAt } from './files.js';
import { LOG_HEADER, LOG_MAGIC, crc, peekLogHeader, readU32, readU64, sameRoot, writeU32 } from './layout.js';
import { intactRecordIn, nonZeroEnd, scanRecords, type RecordShape } from './scan.js';

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

const LOG_MAGIC_BYTES = new Uint8Array(4);
writeU32(LOG_MAGIC_BYTES, 0, LOG_MAGIC);

/** The header at `offset` when it parses and passes its CRC, else null. */
function intactHeader(fd: number, offset: number): Uint8Array | null {
  const head = new Uint8Array(LOG_HEADER);
  if (!readExactAt(fd, head, 0, LOG_HEADER, offset) || peekLogHeader(head, 0) < 0) return null;
  return crc(head.subarray(0, 92)) === readU32(head, 92) ? head : null;
}

/** What follows a log's good prefix: whether it is a torn tail, and the beat of the first record lost (-1: unknown). */
export interface LogTail {
  torn: boolean;
  beat: number;
}

/**
 * Classifies what follows the good prefix of a scanned log (docs/flatfile.md, "Recovery").
 * Torn — the mark a crash leaves: every file is written front to back, so a torn record is a
 * prefix of a record with nothing but zeros (preallocated room) after it. Damage is anything
 * else: a record refused for its order or chain (its CRCs pass: no crash writes that), a
 * record complete to its last byte that fails its CRC, an intact record further on.
 * The lost beat comes from the record's header when it is intact, or, for a torn header, from
 * its first 24 bytes when they were written (the beat field ends there).
 */
export function classifyLogTail(fd: number, scan: LogScan): LogTail {
  if (scan.reason === '') return { torn: true, beat: -1 };
  const known = scan.reason !== 'order' && scan.badBeat >= 0 ? scan.badBeat : -1;
  if (scan.reason === 'order' || scan.reason === 'chain') return { torn: false, beat: known };
  const head = intactHeader(fd, scan.end);
  const span = head === null ? LOG_HEADER : LOG_HEADER + readU32(head, 8);
  const last = nonZeroEnd(fd, scan.end, scan.size);
  // a frame that fails validation was written whole (its CRCs pass): torn only as the file's last record
  const prefix = scan.reason === 'invalid' ? last <= scan.end + span : last < scan.end + span;
  const torn = prefix && !intactRecordIn(fd, scan.end + 1, last, LOG_MAGIC_BYTES, (at) => intactHeader(fd, at) !== null);
  if (known >= 0 || head !== null) return { torn, beat: known >= 0 ? known : readU64(head!, 16) };
  if (!torn) return { torn, beat: -1 };
  const written = scan.size < scan.end + LOG_HEADER ? scan.size - scan.end : last - scan.end;
  const part = new Uint8Array(24);
  return { torn, beat: written >= 24 && readExactAt(fd, part, 0, 24, scan.end) ? readU64(part, 16) : -1 };
}
