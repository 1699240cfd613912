/**
 * The flatfile store's on-disk records, byte by byte (docs/flatfile.md): the frame log record
 * header, the commit journal record and the beat index entry. Pure encode/decode, no I/O.
 * Integers are little-endian; beats are u64 below 2^53.
 */
import { binding } from '../../native/index.js';

/** File and folder names inside a store directory. */
export const STORE_FILE = 'STORE';
export const LOCK_FILE = 'LOCK';
export const JOURNAL_FILE = 'journal.log';
export const BRANCHES_DIR = 'branches';
export const CAS_DIR = 'cas';
export const CAS_MANIFEST = 'manifest.bin';
export const IMPORTS_DIR = 'imports';
/** Inside a branch folder. */
export const FRAMES_LOG = 'frames.log';
export const FRAMES_IDX = 'frames.idx';
export const CHECKPOINTS_LOG = 'checkpoints.log';
export const BRANCH_META = 'branch.meta';

export const STORE_FORMAT = 'cep-flatfile';
export const STORE_VERSION = 1;

/** Log record: 96-byte header, then the frame bytes. */
export const LOG_MAGIC = 0x4c504543; // "CEPL" read as u32 LE
export const LOG_HEADER = 96;
export const LOG_VERSION = 1;
/** Header flags. */
export const LOG_SOLO = 1; // the beat's only frame: it commits the beat on its own (no journal record)
export const LOG_SNAPSHOT = 2; // the frame's apply mode is snapshot

/** Journal record: 24-byte head, entries, CRC32C. */
export const JOURNAL_MAGIC = 0x4a504543; // "CEPJ"
export const JOURNAL_HEAD = 24;
export const JOURNAL_VERSION = 1;
/** Bounds that keep a hostile journal from asking for much memory. */
export const JOURNAL_MAX_BRANCHES = 4096;
export const BRANCH_NAME_MAX = 255;
export const JOURNAL_MAX_RECORD = JOURNAL_HEAD + JOURNAL_MAX_BRANCHES * (2 + BRANCH_NAME_MAX + 40) + 4;

/**
 * Preallocation: after a commit of small records, a log with less than PREALLOC_LOW bytes of
 * zeroed room left is extended by PREALLOC_BYTES of zeros (written and synced between
 * beats), so later small commits overwrite allocated blocks: their fdatasync then flushes
 * data only, not the file size and block allocation. Large records are appended as they are.
 */
export const PREALLOC_BYTES = 4 * 1024 * 1024;
export const PREALLOC_LOW = 1024 * 1024;
export const PREALLOC_MAX_RECORD = 64 * 1024;

/** Beat index entry: fixed 64 bytes. */
export const INDEX_ENTRY = 64;

/** CAS manifest entry: fixed 48 bytes. */
export const CAS_ENTRY = 48;

export const ROOT_BYTES = 32;
/** `prevGap`: no beat was committed before this one. */
export const GAP_NONE = 0;
/** `prevGap`: the previous committed beat lies 2^32 - 1 or more beats back (not checked). */
export const GAP_FAR = 0xffffffff;

/** The `prevGap` field for a beat whose previous committed beat is `prev` (-1: none). */
export function gapOf(beat: number, prev: number): number {
  if (prev < 0) return GAP_NONE;
  return Math.min(beat - prev, GAP_FAR);
}
export const ZERO_ROOT = new Uint8Array(ROOT_BYTES);

export function writeU64(b: Uint8Array, p: number, v: number): void {
  const lo = v >>> 0;
  const hi = Math.floor(v / 2 ** 32);
  b[p] = lo & 0xff;
  b[p + 1] = (lo >>> 8) & 0xff;
  b[p + 2] = (lo >>> 16) & 0xff;
  b[p + 3] = lo >>> 24;
  b[p + 4] = hi & 0xff;
  b[p + 5] = (hi >>> 8) & 0xff;
  b[p + 6] = (hi >>> 16) & 0xff;
  b[p + 7] = hi >>> 24;
}

export function writeU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = v >>> 24;
}

export function readU32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** A u64 as a number, or -1 when it is 2^53 or more (never a valid beat or offset). */
export function readU64(b: Uint8Array, p: number): number {
  const hi = readU32(b, p + 4);
  if (hi >= 1 << 21) return -1;
  return hi * 2 ** 32 + readU32(b, p);
}

/** CRC32C through the binding (native when loaded, else its TS twin). */
export function crc(b: Uint8Array): number {
  return binding.crc32c(b, 0);
}

export function sameRoot(a: Uint8Array, ap: number, b: Uint8Array, bp = 0): boolean {
  for (let i = 0; i < ROOT_BYTES; i++) if (a[ap + i] !== b[bp + i]) return false;
  return true;
}

// ---- frame log record --------------------------------------------------------------------

export interface LogRecord {
  flags: number;
  beat: number;
  /** Beats back to the store's previous committed beat (see gapOf). */
  prevGap: number;
  /** Frame length (the stored bytes: raw frame, or its deflate container). */
  length: number;
  /** CRC32C of the frame bytes. */
  frameCrc: number;
  prevRoot: Uint8Array;
  root: Uint8Array;
}

/**
 * The 96-byte header of a log record:
 * magic u32 | version u8 | flags u8 | reserved u16 | frame length u32 | frame CRC32C u32 |
 * beat u64 | previous root 32 | root 32 | prevGap u32 | CRC32C of bytes 0..91.
 */
export function encodeLogHeader(r: LogRecord, out = new Uint8Array(LOG_HEADER)): Uint8Array {
  out.fill(0, 0, LOG_HEADER);
  writeU32(out, 0, LOG_MAGIC);
  out[4] = LOG_VERSION;
  out[5] = r.flags;
  writeU32(out, 8, r.length);
  writeU32(out, 12, r.frameCrc);
  writeU64(out, 16, r.beat);
  out.set(r.prevRoot, 24);
  out.set(r.root, 56);
  writeU32(out, 88, r.prevGap);
  writeU32(out, 92, crc(out.subarray(0, 92)));
  return out;
}

/**
 * Structural checks of a header at `p` (magic, version, known flags, reserved zeros, beat in
 * range); its CRC is checked separately (in batches). Returns the frame length, or -1.
 */
export function peekLogHeader(b: Uint8Array, p: number): number {
  if (readU32(b, p) !== LOG_MAGIC || b[p + 4] !== LOG_VERSION) return -1;
  if ((b[p + 5] & ~(LOG_SOLO | LOG_SNAPSHOT)) !== 0 || b[p + 6] !== 0 || b[p + 7] !== 0) return -1;
  if (readU64(b, p + 16) < 0) return -1;
  return readU32(b, p + 8);
}

export function decodeLogHeader(b: Uint8Array, p: number): LogRecord {
  return {
    flags: b[p + 5],
    beat: readU64(b, p + 16),
    prevGap: readU32(b, p + 88),
    length: readU32(b, p + 8),
    frameCrc: readU32(b, p + 12),
    prevRoot: b.slice(p + 24, p + 56),
    root: b.slice(p + 56, p + 88),
  };
}

// ---- commit journal record ---------------------------------------------------------------

/** One branch's frame as a journal record names it. */
export interface JournalEntry {
  branch: string;
  length: number;
  frameCrc: number;
  root: Uint8Array;
}

export interface JournalRecord {
  beat: number;
  /** Beats back to the store's previous committed beat (see gapOf). */
  prevGap: number;
  entries: JournalEntry[];
}

const UTF8 = new TextEncoder();
const UTF8_DECODE = new TextDecoder('utf-8', { fatal: true });

/**
 * magic u32 | version u8 | reserved u8 | entry count u16 | record length u32 | prevGap u32 |
 * beat u64 | entries (name length u16, name UTF-8, frame length u32, frame CRC32C u32, root 32) |
 * CRC32C of every byte before it.
 */
export function encodeJournalRecord(r: JournalRecord): Uint8Array {
  const names = r.entries.map((e) => UTF8.encode(e.branch));
  let size = JOURNAL_HEAD + 4;
  for (const n of names) size += 2 + n.length + 40;
  const out = new Uint8Array(size);
  writeU32(out, 0, JOURNAL_MAGIC);
  out[4] = JOURNAL_VERSION;
  out[6] = r.entries.length & 0xff;
  out[7] = r.entries.length >>> 8;
  writeU32(out, 8, size);
  writeU32(out, 12, r.prevGap);
  writeU64(out, 16, r.beat);
  let p = JOURNAL_HEAD;
  r.entries.forEach((e, i) => {
    const n = names[i];
    out[p] = n.length & 0xff;
    out[p + 1] = n.length >>> 8;
    out.set(n, p + 2);
    p += 2 + n.length;
    writeU32(out, p, e.length);
    writeU32(out, p + 4, e.frameCrc);
    out.set(e.root, p + 8);
    p += 40;
  });
  writeU32(out, p, crc(out.subarray(0, p)));
  return out;
}

/** The record length announced at `p` when the head looks like a journal record, else -1. */
export function peekJournalRecord(b: Uint8Array, p: number): number {
  if (readU32(b, p) !== JOURNAL_MAGIC || b[p + 4] !== JOURNAL_VERSION || b[p + 5] !== 0) return -1;
  const n = b[p + 6] | (b[p + 7] << 8);
  const len = readU32(b, p + 8);
  if (n === 0 || n > JOURNAL_MAX_BRANCHES || len < JOURNAL_HEAD + 4 + n * 42 || len > JOURNAL_MAX_RECORD) return -1;
  return len;
}

/** Decodes a whole record (`b[p, p + len)`, CRC already checked); null when its body is malformed. */
export function decodeJournalRecord(b: Uint8Array, p: number, len: number): JournalRecord | null {
  const beat = readU64(b, p + 16);
  if (beat < 0) return null;
  const n = b[p + 6] | (b[p + 7] << 8);
  const end = p + len - 4;
  let q = p + JOURNAL_HEAD;
  const entries: JournalEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (q + 2 > end) return null;
    const nl = b[q] | (b[q + 1] << 8);
    if (nl === 0 || nl > BRANCH_NAME_MAX || q + 2 + nl + 40 > end) return null;
    let branch: string;
    try {
      branch = UTF8_DECODE.decode(b.subarray(q + 2, q + 2 + nl));
    } catch {
      return null;
    }
    if (seen.has(branch)) return null;
    seen.add(branch);
    q += 2 + nl;
    entries.push({ branch, length: readU32(b, q), frameCrc: readU32(b, q + 4), root: b.slice(q + 8, q + 40) });
    q += 40;
  }
  return q === end ? { beat, prevGap: readU32(b, p + 12), entries } : null;
}

// ---- beat index entry --------------------------------------------------------------------

export interface IndexEntry {
  beat: number;
  /** Offset of the record header in frames.log. */
  offset: number;
  length: number;
  flags: number;
  root: Uint8Array;
}

/** beat u64 | record offset u64 | frame length u32 | flags u8 | reserved 3 | root 32 | reserved u32 | CRC32C of bytes 0..59. */
export function encodeIndexEntry(e: IndexEntry, out: Uint8Array, p: number): void {
  out.fill(0, p, p + INDEX_ENTRY);
  writeU64(out, p, e.beat);
  writeU64(out, p + 8, e.offset);
  writeU32(out, p + 16, e.length);
  out[p + 20] = e.flags;
  out.set(e.root, p + 24);
  writeU32(out, p + 60, crc(out.subarray(p, p + 60)));
}

// ---- CAS manifest entry ------------------------------------------------------------------

/** BLAKE3 32 | size u64 | reserved u32 | CRC32C of bytes 0..43. */
export function encodeCasEntry(hash: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(CAS_ENTRY);
  out.set(hash, 0);
  writeU64(out, 32, size);
  writeU32(out, 44, crc(out.subarray(0, 44)));
  return out;
}

/** The entry at `p` when intact: its key (hex) and size; else null. */
export function decodeCasEntry(b: Uint8Array, p: number): { key: string; size: number } | null {
  if (readU32(b, p + 44) !== crc(b.subarray(p, p + 44)) || readU32(b, p + 40) !== 0) return null;
  const size = readU64(b, p + 32);
  if (size < 0) return null;
  return { key: Buffer.from(b.buffer, b.byteOffset + p, 32).toString('hex'), size };
}
