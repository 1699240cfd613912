/**
 * Sequential scan of an append-only record file in large chunks: one read per chunk, the
 * records found in it handed to a verifier as one batch (so CRCs are computed with one binding
 * call per chunk), until the end of the file or the first record that does not check out. The
 * buffer is bounded: a chunk, or one record when a record is larger.
 */
import fs from 'node:fs';
import { readExactAt } from './files.js';

export const SCAN_CHUNK = 16 * 1024 * 1024;

export interface RecordShape {
  /** Bytes needed before `length` can tell a record's size. */
  head: number;
  /** Total size of the record at `p` (head included), or -1 when the head is not a record's. */
  length(b: Uint8Array, p: number): number;
  /** Largest record accepted. */
  max: number;
}

/**
 * Verifies a batch: records start at `starts[i]` in `b` with `lengths[i]` bytes, at file offsets
 * `base + starts[i]`. Returns how many of them, from the first, are good.
 */
export type BatchVerifier = (b: Uint8Array, starts: number[], lengths: number[], base: number) => number;

export interface ScanResult {
  /** End of the last good record: where the file should end. */
  end: number;
  /** File size. */
  size: number;
  /**
   * Why the scan stopped before `size`: '' (it did not, or only zeros follow: preallocated
   * room), 'torn' (a record cut short or an unreadable head), 'bad' (the verifier refused a record).
   */
  stop: '' | 'torn' | 'bad';
  /** Offset of the refused record when `stop` is 'bad'. */
  badAt: number;
}

/** Whether `fd` holds only zero bytes in `[from, to)`. */
export function allZero(fd: number, from: number, to: number): boolean {
  const buf = new Uint8Array(Math.min(1 << 20, Math.max(1, to - from)));
  const zero = new Uint8Array(buf.length);
  for (let pos = from; pos < to; ) {
    const n = Math.min(buf.length, to - pos);
    if (!readExactAt(fd, buf, 0, n, pos)) return false;
    if (Buffer.compare(buf.subarray(0, n), zero.subarray(0, n)) !== 0) return false;
    pos += n;
  }
  return true;
}

export function scanRecords(fd: number, shape: RecordShape, verify: BatchVerifier, chunk = SCAN_CHUNK): ScanResult {
  const r = scanPrefix(fd, shape, verify, chunk);
  // a head that does not parse where only zeros follow is the preallocated end, not a tear
  if (r.stop === 'torn' && allZero(fd, r.end, r.size)) return { ...r, stop: '' };
  return r;
}

function scanPrefix(fd: number, shape: RecordShape, verify: BatchVerifier, chunk: number): ScanResult {
  const size = fs.fstatSync(fd).size;
  let buf = new Uint8Array(Math.min(chunk, Math.max(size, shape.head)));
  let base = 0; // file offset of buf[0]
  let have = 0; // bytes in buf
  const starts: number[] = [];
  const lengths: number[] = [];
  for (;;) {
    // fill the buffer from the file
    const want = Math.min(buf.length - have, size - (base + have));
    if (want > 0) {
      if (!readExactAt(fd, buf, have, want, base + have)) return { end: base, size, stop: 'torn', badAt: -1 };
      have += want;
    }
    starts.length = 0;
    lengths.length = 0;
    let p = 0;
    let torn = false;
    while (p + shape.head <= have) {
      const len = shape.length(buf, p);
      if (len < shape.head || len > shape.max) {
        torn = true;
        break;
      }
      if (p + len > have) break;
      starts.push(p);
      lengths.push(len);
      p += len;
    }
    const good = starts.length === 0 ? 0 : verify(buf, starts, lengths, base);
    if (good < starts.length) return { end: base + starts[good], size, stop: 'bad', badAt: base + starts[good] };
    if (torn) return { end: base + p, size, stop: 'torn', badAt: -1 };
    if (base + have === size && p === have) return { end: size, size, stop: '', badAt: -1 };
    if (base + have === size && p < have && (p + shape.head > have || p + shape.length(buf, p) > have)) {
      return { end: base + p, size, stop: 'torn', badAt: -1 }; // the file ends inside a record
    }
    // keep the unfinished record, growing the buffer when one record is larger than it
    const rest = have - p;
    const need = p + shape.head <= have ? shape.length(buf, p) : shape.head;
    if (need > buf.length) {
      const bigger = new Uint8Array(need);
      bigger.set(buf.subarray(p, have));
      buf = bigger;
    } else buf.copyWithin(0, p, have);
    base += p;
    have = rest;
  }
}

/**
 * Offset just past the last non-zero byte of `fd` in `[from, to)` (`from` when all are zero),
 * read backwards in bounded chunks: what a log holds beyond its good prefix, preallocated zero
 * room left out.
 */
export function nonZeroEnd(fd: number, from: number, to: number): number {
  const buf = new Uint8Array(Math.min(1 << 20, Math.max(1, to - from)));
  for (let hi = to; hi > from; ) {
    const lo = Math.max(from, hi - buf.length);
    const n = hi - lo;
    if (!readExactAt(fd, buf, 0, n, lo)) return hi; // the file is shorter than it said: treat the rest as data
    for (let i = n - 1; i >= 0; i--) if (buf[i] !== 0) return lo + i + 1;
    hi = lo;
  }
  return from;
}

/**
 * Whether an intact record starts anywhere in `[from, to)` of `fd`: every offset where `magic`
 * (4 bytes, as stored) appears is handed to `intactAt`. A torn write leaves nothing intact after
 * the record it tore (each file is written front to back), so an intact record past a bad one
 * means the bad one is damage, not a crash artefact.
 */
export function intactRecordIn(fd: number, from: number, to: number, magic: Uint8Array, intactAt: (offset: number) => boolean): boolean {
  if (to <= from) return false;
  const step = Math.min(1 << 20, to - from);
  const buf = new Uint8Array(step + magic.length);
  for (let pos = from; pos < to; pos += step) {
    const n = Math.min(buf.length, to - pos);
    if (!readExactAt(fd, buf, 0, n, pos)) return false;
    const b = Buffer.from(buf.buffer, 0, n);
    for (let i = b.indexOf(magic); i >= 0 && i < Math.min(n, step); i = b.indexOf(magic, i + 1)) if (intactAt(pos + i)) return true;
  }
  return false;
}
