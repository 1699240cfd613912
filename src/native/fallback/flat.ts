/**
 * Flat frames, pure-TypeScript twin of native/flat/flat.cc: finishing a staged frame (header,
 * record CRC32Cs, leaf hashes, Merkle root, trailer) and validating a whole frame (header,
 * records, key order and shape, trailer and table of contents, payload chunk trackers,
 * capability bits, Merkle root). Byte for byte the same as the native code; docs/FORMAT.md is
 * the specification both follow. Arguments are trusted (src/serialization/ checks them); the
 * frame bytes are not: every length is bounded before it is used.
 */
import {
  FINISH_AEAD,
  FINISH_BEAT,
  FINISH_CAPS,
  FINISH_COMPRESSION,
  FINISH_MHIST,
  FINISH_MODE,
  FINISH_PHIST,
  FLAT_CAP_AEAD,
  FLAT_CAP_CHUNKS,
  FLAT_CAP_DEFLATE,
  FLAT_CAP_MANIFEST,
  FLAT_CAP_MANIFEST_HISTORY,
  FLAT_CAP_NAMEPOOL,
  FLAT_CAP_ORDER,
  FLAT_CAP_PAYLOAD_HISTORY,
  FLAT_CAP_TOC,
  FLAT_CAPS_SUPPORTED,
  FLAT_DESC_MIN,
  FLAT_HEADER_SIZE,
  FLAT_INDEX_STRIDE,
  FLAT_KEY_MAX,
  FLAT_ROOT_DESC_MIN,
  FLAT_ROOT_KEY,
  FLAT_RUN_MAX,
  FLAT_STATUS_CAPACITY,
  FLAT_STATUS_CAPS,
  FLAT_STATUS_CHUNK,
  FLAT_STATUS_CRC,
  FLAT_STATUS_FORMAT,
  FLAT_STATUS_MALFORMED,
  FLAT_STATUS_MERKLE,
  FLAT_STATUS_TRUNCATED,
  FLAT_STATUS_UNSUPPORTED,
  FLAT_T_CELL,
  FLAT_T_CHUNK,
  FLAT_T_HISTORY,
  FLAT_T_MANIFEST,
  FLAT_T_MANIFEST_HISTORY,
  FLAT_T_NAMEPOOL,
  FLAT_T_ORDER,
  FLAT_T_TRAILER,
  FLAT_VERSION,
} from '../binding.js';
import type { Blake3State } from '../binding.js';
import { blake3, blake3Hasher, blake3Many } from './blake3.js';
import { crc32cRaw } from './crc32c.js';

const MAX_SAFE = 2 ** 53;
const MAGIC = [0x43, 0x45, 0x50, 0x46]; // "CEPF"

/** Parse cursor (one per call; no allocation per varint). */
interface Cur {
  p: number;
  v: number;
}

/** Minimal LEB128, at most 8 bytes, value < 2^53. False (cursor unchanged) on a bad or short varint. */
function readVarint(b: Uint8Array, end: number, c: Cur): boolean {
  let p = c.p;
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (p >= end) return false;
    const x = b[p++];
    v += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) {
      if (x === 0 && i > 0) return false; // not minimal
      if (v >= MAX_SAFE) return false;
      c.p = p;
      c.v = v;
      return true;
    }
    mul *= 128;
  }
  return false;
}

/** Whether a varint at p failed because the bytes ran out (truncation) rather than being bad. */
function varintTruncated(b: Uint8Array, end: number, p: number): boolean {
  for (let i = 0; i < 8; i++) {
    if (p + i >= end) return true;
    if ((b[p + i] & 0x80) === 0) return false;
  }
  return false;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(b: Uint8Array, p: number, v: number): number {
  while (v >= 128) {
    b[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[p++] = v;
  return p;
}

function writeU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = (v >>> 24) & 0xff;
}

function readU32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function readU32BE(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function writeU64(b: Uint8Array, p: number, v: number): void {
  writeU32(b, p, v % 0x100000000);
  writeU32(b, p + 4, Math.floor(v / 0x100000000));
}

function crcOf(b: Uint8Array, start: number, end: number): number {
  return ~crc32cRaw(-1, b, start, end) >>> 0;
}

/** Unsigned byte-wise comparison of b[ao, ao+al) and b[bo, bo+bl) (shorter first on a common prefix). */
function compareBytes(b: Uint8Array, ao: number, al: number, bo: number, bl: number): number {
  const n = Math.min(al, bl);
  for (let i = 0; i < n; i++) {
    const d = b[ao + i] - b[bo + i];
    if (d !== 0) return d;
  }
  return al - bl;
}

const ROOT_KEY_BYTES = new TextEncoder().encode(FLAT_ROOT_KEY);

/**
 * The frame root (docs/FORMAT.md, "Merkle root"): leaves paired level by level with
 * parent = BLAKE3(left || right), an odd last node promoted unchanged; the tree top (32 zero
 * bytes for no leaf, the leaf itself for one) is then bound to the chain and the trailer's
 * selectors with a keyed BLAKE3.
 */
export function flatRoot(leaves: Uint8Array, count: number, prevRoot: Uint8Array, beat: number, caps: number, mode: number, out: Uint8Array): void {
  const block = new Uint8Array(81);
  if (count === 1) block.set(leaves.subarray(0, 32));
  else if (count > 1) {
    let level = leaves.subarray(0, count * 32);
    let n = count;
    while (n > 1) {
      const pairs = n >>> 1;
      const next = new Uint8Array(((n + 1) >>> 1) * 32);
      const offs = new Uint32Array(pairs + 1);
      for (let i = 0; i <= pairs; i++) offs[i] = i * 64;
      blake3Many(level, offs, null, next.subarray(0, pairs * 32));
      if ((n & 1) !== 0) next.set(level.subarray((n - 1) * 32, n * 32), pairs * 32);
      level = next;
      n = (n + 1) >>> 1;
    }
    block.set(level.subarray(0, 32));
  }
  block.set(prevRoot.subarray(0, 32), 32);
  writeU64(block, 64, beat);
  writeU32(block, 72, count);
  writeU32(block, 76, caps);
  block[80] = mode;
  blake3(block, ROOT_KEY_BYTES, 1 << 4, out, 0);
}

/** Upper bound of the trailer record's size for `count` records. */
export function trailerBound(count: number): number {
  return 160 + count * 9;
}

/** The key length each record type must have, or -1 for a type this version does not know. */
function keyLengthOf(type: number): number {
  switch (type) {
    case FLAT_T_CELL:
    case FLAT_T_MANIFEST:
    case FLAT_T_ORDER:
    case FLAT_T_MANIFEST_HISTORY:
      return 5;
    case FLAT_T_CHUNK:
      return 9;
    case FLAT_T_NAMEPOOL:
    case FLAT_T_HISTORY:
      return 13;
    default:
      return -1;
  }
}

/** The capability bit a record type needs (0: always allowed). */
function capOf(type: number): number {
  switch (type) {
    case FLAT_T_CHUNK:
      return FLAT_CAP_CHUNKS;
    case FLAT_T_MANIFEST:
      return FLAT_CAP_MANIFEST;
    case FLAT_T_ORDER:
      return FLAT_CAP_ORDER;
    case FLAT_T_NAMEPOOL:
      return FLAT_CAP_NAMEPOOL;
    case FLAT_T_HISTORY:
      return FLAT_CAP_PAYLOAD_HISTORY;
    case FLAT_T_MANIFEST_HISTORY:
      return FLAT_CAP_MANIFEST_HISTORY;
    default:
      return 0;
  }
}

// Finishing, step by step (native/flat/flat.cc's finish has the same steps in the same order).

function writeHeader(buf: Uint8Array, mode: number, caps: number): void {
  for (let i = 0; i < 4; i++) buf[i] = MAGIC[i];
  buf[4] = FLAT_VERSION;
  buf[5] = mode;
  buf[6] = 0;
  buf[7] = 0;
  writeU32(buf, 8, caps);
  writeU32(buf, 12, crcOf(buf, 0, 12));
}

/**
 * The staged records of buf[16, end): bounds, strictly ascending keys; writes each CRC32C.
 * Returns the records' starts followed by `end` (record i without its CRC, its Merkle leaf's
 * bytes, spans [starts[i], starts[i + 1] - 4)), or null.
 */
function sealRecords(buf: Uint8Array, end: number): Uint32Array | null {
  let starts = new Uint32Array(1024);
  let count = 0;
  const c: Cur = { p: FLAT_HEADER_SIZE, v: 0 };
  let prevKey = -1;
  let prevKeyLen = 0;
  while (c.p < end) {
    const start = c.p;
    if (end - start < 4) return null;
    c.p = start + 4;
    if (!readVarint(buf, end, c)) return null;
    const klen = c.v;
    if (!readVarint(buf, end, c)) return null;
    const keyOff = c.p;
    const crcAt = keyOff + klen + c.v;
    if (klen > FLAT_KEY_MAX || crcAt + 4 > end) return null;
    if (prevKey >= 0 && compareBytes(buf, prevKey, prevKeyLen, keyOff, klen) >= 0) return null;
    prevKey = keyOff;
    prevKeyLen = klen;
    writeU32(buf, crcAt, crcOf(buf, start, crcAt));
    if (count + 1 >= starts.length) {
      const grown = new Uint32Array(starts.length * 2);
      grown.set(starts);
      starts = grown;
    }
    starts[count++] = start;
    c.p = crcAt + 4;
  }
  starts[count] = end;
  return starts.subarray(0, count + 1);
}

/** The trailer's body length: fields, roots, and the table of contents (type byte and start delta per record). */
function trailerBodySize(params: Float64Array, starts: Uint32Array, count: number): number {
  let body = varintSize(params[FINISH_BEAT]) + varintSize(count) + 9 + varintSize(params[FINISH_PHIST]) + varintSize(params[FINISH_MHIST]) + 64 + varintSize(count);
  let last = FLAT_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    body += 1 + varintSize(starts[i] - last);
    last = starts[i];
  }
  return body;
}

/** Writes the trailer record at `end` (room checked); returns the frame length. */
function writeTrailer(buf: Uint8Array, end: number, body: number, params: Float64Array, prevRoot: Uint8Array, root: Uint8Array, starts: Uint32Array, count: number): number {
  let p = end;
  buf[p++] = FLAT_T_TRAILER;
  buf[p++] = 1;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0; // key length
  p = writeVarint(buf, p, body);
  p = writeVarint(buf, p, params[FINISH_BEAT]);
  p = writeVarint(buf, p, count);
  buf[p++] = params[FINISH_MODE];
  buf[p++] = 1; // BLAKE3-256
  buf[p++] = 1; // standard CRC32C
  buf[p++] = params[FINISH_COMPRESSION];
  buf[p++] = params[FINISH_AEAD];
  writeU32(buf, p, params[FINISH_CAPS] >>> 0);
  p += 4;
  p = writeVarint(buf, p, params[FINISH_PHIST]);
  p = writeVarint(buf, p, params[FINISH_MHIST]);
  buf.set(prevRoot.subarray(0, 32), p);
  p += 32;
  buf.set(root, p);
  p += 32;
  p = writeVarint(buf, p, count);
  let last = FLAT_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    buf[p++] = buf[starts[i]];
    p = writeVarint(buf, p, starts[i] - last);
    last = starts[i];
  }
  writeU32(buf, p, crcOf(buf, end, p));
  return p + 4;
}

/** The records' Merkle leaves: BLAKE3 of b[offs[i], offs[i] + lens[i]) for i < count. */
function leavesOf(b: Uint8Array, offs: Uint32Array, lens: Uint32Array, count: number): Uint8Array {
  const leaves = new Uint8Array(count * 32);
  if (count > 0) blake3Many(b, offs, lens, leaves);
  return leaves;
}

/**
 * Finish a staged frame in place: `buf[16, end)` holds records whose 4 CRC bytes are
 * placeholders. Writes the header, every CRC and the trailer at `end`; returns the frame
 * length, or a negative FLAT_STATUS_* (malformed staging, keys out of order, no room).
 */
export function flatFinish(buf: Uint8Array, end: number, params: Float64Array, prevRoot: Uint8Array): number {
  const mode = params[FINISH_MODE];
  const caps = params[FINISH_CAPS] >>> 0;
  if (end < FLAT_HEADER_SIZE || end > buf.length) return -FLAT_STATUS_MALFORMED;
  writeHeader(buf, mode, caps);
  const starts = sealRecords(buf, end);
  if (starts === null) return -FLAT_STATUS_MALFORMED;
  const count = starts.length - 1;
  const lens = new Uint32Array(count);
  for (let i = 0; i < count; i++) lens[i] = starts[i + 1] - 4 - starts[i];
  const leaves = leavesOf(buf, starts, lens, count);
  const root = new Uint8Array(32);
  flatRoot(leaves, count, prevRoot, params[FINISH_BEAT], caps, mode, root);
  const body = trailerBodySize(params, starts, count);
  if (end + 5 + varintSize(body) + body + 4 > buf.length) return -FLAT_STATUS_CAPACITY;
  return writeTrailer(buf, end, body, params, prevRoot, root, starts, count);
}

// Validation, step by step (native/flat/flat.cc's validate has the same steps in the same
// order). Each step returns true, or false with `diag` set to the first problem.

/** flatValidate's diagnostics: [status, byte offset of the problem]. */
export const DIAG_STATUS = 0;
export const DIAG_OFFSET = 1;

const NO_INDEX = new Uint32Array(0);

/** One validation: the frame, its index, what the header and trailer said. */
interface Validation {
  b: Uint8Array;
  len: number;
  diag: Float64Array;
  /** FLAT_INDEX_STRIDE u32 per record, the trailer last; `n` entries used. */
  idx: Uint32Array;
  n: number;
  /** The varint cursor every step reads with (the C++ steps pass `p` by reference). */
  c: Cur;
  mode: number; // header
  caps: number;
  count: number; // records before the trailer
  trailerAt: number;
  beat: number; // trailer
  aead: number;
  prevAt: number; // where the trailer holds the previous root and this frame's
  rootAt: number;
}

function fail(v: Validation, status: number, offset: number): false {
  v.diag[DIAG_STATUS] = status;
  v.diag[DIAG_OFFSET] = offset;
  return false;
}

/** The record pass 1 is at. */
interface FrameRecord {
  start: number;
  keyOff: number;
  klen: number;
  blen: number;
  type: number;
  flags: number;
}

/** What pass 1 carries from record to record. */
interface KeyWalk {
  prevKey: number; // -1: none yet
  prevKeyLen: number;
  nextCell: number; // cell ordinals are dense from 0
}

/** Magic, length, header CRC, version, mode and reserved bytes, capability bits. */
function checkHeader(v: Validation): boolean {
  const b = v.b;
  for (let i = 0; i < 4 && i < v.len; i++) if (b[i] !== MAGIC[i]) return fail(v, FLAT_STATUS_FORMAT, i);
  if (v.len < FLAT_HEADER_SIZE) return fail(v, FLAT_STATUS_TRUNCATED, v.len);
  if (readU32(b, 12) !== crcOf(b, 0, 12)) return fail(v, FLAT_STATUS_CRC, 12);
  if (b[4] !== FLAT_VERSION) return fail(v, FLAT_STATUS_UNSUPPORTED, 4);
  v.mode = b[5];
  if (v.mode > 1 || b[6] !== 0 || b[7] !== 0) return fail(v, FLAT_STATUS_UNSUPPORTED, 5);
  v.caps = readU32(b, 8);
  if ((v.caps & ~FLAT_CAPS_SUPPORTED) !== 0) return fail(v, FLAT_STATUS_UNSUPPORTED, 8);
  if ((v.caps & FLAT_CAP_TOC) === 0) return fail(v, FLAT_STATUS_UNSUPPORTED, 8);
  return true;
}

/** A varint of a record's lengths that failed at p: cut short by the frame's end, or bad. */
function failVarint(v: Validation, p: number): false {
  return fail(v, varintTruncated(v.b, v.len, p) ? FLAT_STATUS_TRUNCATED : FLAT_STATUS_MALFORMED, p);
}

/**
 * The record at the cursor: version byte, key and body lengths within the frame, CRC32C;
 * appends its index entry and moves the cursor past it. (One function on purpose: V8 then
 * optimizes it on its own with its helpers inlined, leaving walkRecords' inlining budget to
 * the key checks; split further, the walk measured ~4% slower.)
 */
function readRecord(v: Validation, r: FrameRecord): boolean {
  const b = v.b;
  const len = v.len;
  const c = v.c;
  const start = c.p;
  if (len - start < 4) return fail(v, FLAT_STATUS_TRUNCATED, len);
  r.start = start;
  r.type = b[start];
  r.flags = b[start + 2] | (b[start + 3] << 8);
  if (b[start + 1] !== 1) return fail(v, FLAT_STATUS_UNSUPPORTED, start + 1);
  c.p = start + 4;
  if (!readVarint(b, len, c)) return failVarint(v, c.p);
  const klen = c.v;
  if (!readVarint(b, len, c)) return failVarint(v, c.p);
  const blen = c.v;
  const keyOff = c.p;
  if (klen > FLAT_KEY_MAX) return fail(v, FLAT_STATUS_MALFORMED, start + 4);
  if (blen > len) return fail(v, FLAT_STATUS_TRUNCATED, len);
  const crcAt = keyOff + klen + blen;
  if (crcAt + 4 > len) return fail(v, FLAT_STATUS_TRUNCATED, len);
  if (readU32(b, crcAt) !== crcOf(b, start, crcAt)) return fail(v, FLAT_STATUS_CRC, crcAt);
  r.keyOff = keyOff;
  r.klen = klen;
  r.blen = blen;
  if (v.n + FLAT_INDEX_STRIDE > v.idx.length) {
    const grown = new Uint32Array(v.idx.length * 2);
    grown.set(v.idx);
    v.idx = grown;
  }
  const idx = v.idx;
  const n = v.n;
  idx[n] = start;
  idx[n + 1] = keyOff;
  idx[n + 2] = klen;
  idx[n + 3] = keyOff + klen;
  idx[n + 4] = blen;
  v.n = n + FLAT_INDEX_STRIDE;
  c.p = crcAt + 4;
  return true;
}

/** The trailer record (p just past it): empty key, no flags, the frame's last bytes. */
function checkTrailerRecord(v: Validation, r: FrameRecord, p: number): boolean {
  if (r.klen !== 0 || r.flags !== 0) return fail(v, FLAT_STATUS_MALFORMED, r.start);
  if (p !== v.len) return fail(v, FLAT_STATUS_MALFORMED, p);
  v.trailerAt = r.start;
  v.count = v.n / FLAT_INDEX_STRIDE - 1;
  return true;
}

/**
 * A known type the capability bits allow, its key length with the type byte after the u32 BE
 * ordinal, and the sealed flag only on payload chunks of an AEAD frame.
 */
function checkKeyShape(v: Validation, r: FrameRecord): boolean {
  const want = keyLengthOf(r.type);
  if (want < 0) return fail(v, FLAT_STATUS_UNSUPPORTED, r.start);
  const cap = capOf(r.type);
  if ((v.caps & cap) !== cap) return fail(v, FLAT_STATUS_CAPS, r.start);
  if (r.klen !== want || v.b[r.keyOff + 4] !== r.type) return fail(v, FLAT_STATUS_MALFORMED, r.keyOff);
  const sealable = r.type === FLAT_T_CHUNK || r.type === FLAT_T_HISTORY;
  if ((r.flags & ~(sealable ? 1 : 0)) !== 0) return fail(v, FLAT_STATUS_MALFORMED, r.start + 2);
  if ((r.flags & 1) !== 0 && (v.caps & FLAT_CAP_AEAD) === 0) return fail(v, FLAT_STATUS_CAPS, r.start);
  return true;
}

/** Keys strictly ascending. */
function checkKeyOrder(v: Validation, w: KeyWalk, r: FrameRecord): boolean {
  if (w.prevKey >= 0 && compareBytes(v.b, w.prevKey, w.prevKeyLen, r.keyOff, r.klen) >= 0) return fail(v, FLAT_STATUS_MALFORMED, r.keyOff);
  w.prevKey = r.keyOff;
  w.prevKeyLen = r.klen;
  return true;
}

/**
 * Ordinals: description runs cover the cells densely from 0, the name pool sits at 0xFFFFFFFF,
 * and any other record belongs to the cell described last.
 */
function checkCellOrdinal(v: Validation, w: KeyWalk, r: FrameRecord): boolean {
  const b = v.b;
  const ord = readU32BE(b, r.keyOff);
  if (r.type === FLAT_T_CELL) {
    // a run of descriptions: u16 count, then the cells nextCell .. nextCell + count - 1
    if (ord !== w.nextCell) return fail(v, FLAT_STATUS_MALFORMED, r.keyOff);
    const bo = r.keyOff + r.klen;
    const run = r.blen < 2 ? 0 : b[bo] | (b[bo + 1] << 8);
    if (run === 0 || run > FLAT_RUN_MAX || r.blen < 2 + FLAT_ROOT_DESC_MIN + FLAT_DESC_MIN * (run - 1)) return fail(v, FLAT_STATUS_MALFORMED, bo);
    w.nextCell += run;
  } else if (r.type === FLAT_T_NAMEPOOL) {
    if (ord !== 0xffffffff) return fail(v, FLAT_STATUS_MALFORMED, r.keyOff);
  } else if (ord + 1 !== w.nextCell) {
    return fail(v, FLAT_STATUS_MALFORMED, r.keyOff); // a cell's records follow its description
  }
  return true;
}

/** Pass 1: every record in frame order, up to the trailer. */
function walkRecords(v: Validation): boolean {
  v.idx = new Uint32Array(FLAT_INDEX_STRIDE * 256);
  const w: KeyWalk = { prevKey: -1, prevKeyLen: 0, nextCell: 0 };
  const r: FrameRecord = { start: 0, keyOff: 0, klen: 0, blen: 0, type: 0, flags: 0 };
  const c = v.c;
  c.p = FLAT_HEADER_SIZE;
  while (c.p < v.len) {
    if (!readRecord(v, r)) return false;
    if (r.type === FLAT_T_TRAILER) return checkTrailerRecord(v, r, c.p);
    if (!checkKeyShape(v, r)) return false;
    if (!checkKeyOrder(v, w, r)) return false;
    if (!checkCellOrdinal(v, w, r)) return false;
  }
  return fail(v, FLAT_STATUS_TRUNCATED, v.len); // no trailer
}

/**
 * The trailer's fields up to its table of contents (the cursor from the body's start to past the
 * roots): beat, record count, selectors matching the header's mode and capability bits, history depths.
 */
function checkTrailerFields(v: Validation, te: number): boolean {
  const b = v.b;
  const c = v.c;
  if (!readVarint(b, te, c)) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  v.beat = c.v;
  if (!readVarint(b, te, c) || c.v !== v.count) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  if (te - c.p < 9) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  const tp = c.p;
  if (b[tp] !== v.mode) return fail(v, FLAT_STATUS_MALFORMED, tp);
  if (b[tp + 1] !== 1 || b[tp + 2] !== 1) return fail(v, FLAT_STATUS_UNSUPPORTED, tp + 1);
  const compression = b[tp + 3];
  const aead = b[tp + 4];
  if (compression > 1 || (compression === 1) !== ((v.caps & FLAT_CAP_DEFLATE) !== 0)) return fail(v, FLAT_STATUS_MALFORMED, tp + 3);
  if ((aead !== 0 && aead !== 2 && aead !== 3) || (aead !== 0) !== ((v.caps & FLAT_CAP_AEAD) !== 0)) return fail(v, FLAT_STATUS_MALFORMED, tp + 4);
  if (readU32(b, tp + 5) !== v.caps) return fail(v, FLAT_STATUS_MALFORMED, tp + 5);
  v.aead = aead;
  c.p = tp + 9;
  if (!readVarint(b, te, c)) return fail(v, FLAT_STATUS_MALFORMED, c.p); // payload history
  if (!readVarint(b, te, c)) return fail(v, FLAT_STATUS_MALFORMED, c.p); // manifest history
  if (te - c.p < 64) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  v.prevAt = c.p;
  v.rootAt = c.p + 32;
  c.p += 64;
  return true;
}

/**
 * The table of contents, from the cursor up to the body's end te: the record count, then per
 * record its type byte and its start's distance from the previous one.
 */
function checkToc(v: Validation, te: number): boolean {
  const b = v.b;
  const c = v.c;
  if (!readVarint(b, te, c) || c.v !== v.count) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  let last = FLAT_HEADER_SIZE;
  for (let i = 0; i < v.count; i++) {
    const s = v.idx[i * FLAT_INDEX_STRIDE];
    if (c.p >= te || b[c.p] !== b[s]) return fail(v, FLAT_STATUS_MALFORMED, c.p);
    c.p++;
    if (!readVarint(b, te, c) || c.v !== s - last) return fail(v, FLAT_STATUS_MALFORMED, c.p);
    last = s;
  }
  if (c.p !== te) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  return true;
}

/** The trailer's body: its fields, then the table of contents, filling it exactly. */
function checkTrailer(v: Validation): boolean {
  const n = v.n;
  const tb = v.idx[n - 2];
  const te = tb + v.idx[n - 1];
  v.c.p = tb;
  if (!checkTrailerFields(v, te)) return false;
  return checkToc(v, te);
}

function nonceLength(aead: number): number {
  return aead === 2 ? 12 : aead === 3 ? 24 : 0;
}

/** Pass 2's open payload: the chunks of one base key (the key without its chunk ordinal). */
interface ChunkRun {
  open: boolean;
  sealed: boolean;
  baseAt: number;
  baseLen: number;
  fpAt: number;
  expectOrd: number;
  total: number;
  done: number;
  kind: number;
  nonceLen: number;
  hasher: Blake3State | null; // made at the first plaintext run, reset for the next ones
  fpOut: Uint8Array;
}

/** One chunk's body: payload kind, total, offset, fingerprint, nonce (sealed); then its data. */
interface Chunk {
  kind: number;
  total: number;
  off: number;
  fp: number;
  data: number;
  size: number;
}

/**
 * The open run ends at `at` (the next record): all its bytes came, and a plaintext payload
 * hashes to its fingerprint.
 */
function closeRun(v: Validation, run: ChunkRun, at: number): boolean {
  if (!run.open) return true;
  if (run.done !== run.total) return fail(v, FLAT_STATUS_CHUNK, at);
  if (!run.sealed) {
    run.hasher!.finalize(run.fpOut, 0);
    for (let i = 0; i < 32; i++) if (run.fpOut[i] !== v.b[run.fpAt + i]) return fail(v, FLAT_STATUS_CHUNK, run.fpAt);
  }
  run.open = false;
  return true;
}

/** The chunk body b[bo, be): its fields fit, its kind is known. */
function readChunk(v: Validation, bo: number, be: number, sealed: boolean, nonceLen: number, ch: Chunk): boolean {
  const b = v.b;
  const c = v.c;
  if (be - bo < 1) return fail(v, FLAT_STATUS_MALFORMED, bo);
  ch.kind = b[bo];
  c.p = bo + 1;
  if (!readVarint(b, be, c)) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  ch.total = c.v;
  if (!readVarint(b, be, c)) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  ch.off = c.v;
  if (be - c.p < 32) return fail(v, FLAT_STATUS_MALFORMED, c.p);
  ch.fp = c.p;
  c.p += 32;
  if (sealed) {
    if (be - c.p < nonceLen + 16) return fail(v, FLAT_STATUS_MALFORMED, c.p);
    c.p += nonceLen;
  }
  ch.data = c.p;
  ch.size = be - c.p - (sealed ? 16 : 0);
  if (ch.kind > 2) return fail(v, FLAT_STATUS_MALFORMED, bo);
  return true;
}

/**
 * Index entry r, a payload chunk: it opens a run (ordinal 0, offset 0) or continues the open one
 * (same seal, kind, total and fingerprint) at the next ordinal and offset, within the total.
 */
function checkChunk(v: Validation, run: ChunkRun, ch: Chunk, r: number): boolean {
  const b = v.b;
  const idx = v.idx;
  const start = idx[r];
  const keyOff = idx[r + 1];
  const klen = idx[r + 2];
  const bo = idx[r + 3];
  const be = bo + idx[r + 4];
  const sealed = (b[start + 2] & 1) !== 0;
  const ord = readU32BE(b, keyOff + klen - 4);
  const sameBase = run.open && compareBytes(b, run.baseAt, run.baseLen, keyOff, klen - 4) === 0;
  if (!sameBase && !closeRun(v, run, start)) return false;
  if (!readChunk(v, bo, be, sealed, run.nonceLen, ch)) return false;
  if (!sameBase) {
    if (ord !== 0 || ch.off !== 0) return fail(v, FLAT_STATUS_CHUNK, keyOff);
    run.open = true;
    run.sealed = sealed;
    run.baseAt = keyOff;
    run.baseLen = klen - 4;
    run.fpAt = ch.fp;
    run.expectOrd = 0;
    run.total = ch.total;
    run.done = 0;
    run.kind = ch.kind;
    if (!sealed) {
      if (run.hasher === null) run.hasher = blake3Hasher(null, 0);
      else run.hasher.reset();
    }
  } else {
    if (sealed !== run.sealed || ch.kind !== run.kind || ch.total !== run.total) return fail(v, FLAT_STATUS_CHUNK, bo);
    for (let j = 0; j < 32; j++) if (b[ch.fp + j] !== b[run.fpAt + j]) return fail(v, FLAT_STATUS_CHUNK, ch.fp);
  }
  if (ord !== run.expectOrd || ch.off !== run.done) return fail(v, FLAT_STATUS_CHUNK, keyOff);
  // a zero-length chunk is only the one chunk of an empty payload
  if (ch.size === 0 ? ch.total !== 0 || ord !== 0 : ch.off + ch.size > ch.total) return fail(v, FLAT_STATUS_CHUNK, bo);
  if (!sealed) run.hasher!.update(b.subarray(ch.data, ch.data + ch.size));
  run.done += ch.size;
  run.expectOrd++;
  return true;
}

/** Pass 2: the payload chunk trackers, one run per base key; any other record ends a run. */
function checkChunkRuns(v: Validation): boolean {
  const run: ChunkRun = {
    open: false,
    sealed: false,
    baseAt: 0,
    baseLen: 0,
    fpAt: 0,
    expectOrd: 0,
    total: 0,
    done: 0,
    kind: 0,
    nonceLen: nonceLength(v.aead),
    hasher: null,
    fpOut: new Uint8Array(32),
  };
  const ch: Chunk = { kind: 0, total: 0, off: 0, fp: 0, data: 0, size: 0 };
  for (let i = 0; i < v.count; i++) {
    const r = i * FLAT_INDEX_STRIDE;
    const type = v.b[v.idx[r]];
    const ok = type === FLAT_T_CHUNK || type === FLAT_T_HISTORY ? checkChunk(v, run, ch, r) : closeRun(v, run, v.idx[r]);
    if (!ok) return false;
  }
  return closeRun(v, run, v.trailerAt);
}

/** The root of the records' leaves, bound to the trailer's fields, is the one the trailer holds. */
function checkMerkleRoot(v: Validation): boolean {
  const count = v.count;
  const offs = new Uint32Array(count);
  const lens = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * FLAT_INDEX_STRIDE;
    offs[i] = v.idx[r];
    lens[i] = v.idx[r + 3] + v.idx[r + 4] - v.idx[r];
  }
  const leaves = leavesOf(v.b, offs, lens, count);
  const root = new Uint8Array(32);
  flatRoot(leaves, count, v.b.subarray(v.prevAt, v.prevAt + 32), v.beat, v.caps, v.mode, root);
  for (let i = 0; i < 32; i++) if (root[i] !== v.b[v.rootAt + i]) return fail(v, FLAT_STATUS_MERKLE, v.rootAt);
  return true;
}

/**
 * Validate a whole frame (no container): header, every record (bounds, type, version, flags,
 * CRC32C, key shape, strictly ascending keys, capability bits), the trailer and its table of
 * contents, the payload chunk trackers (ordinals, offsets, totals, zero-length chunks,
 * fingerprints of plaintext payloads) and the Merkle root. Returns the record index
 * (FLAT_INDEX_STRIDE u32 per record, the trailer last), or null with `diag` set.
 */
export function flatValidate(b: Uint8Array, diag: Float64Array): Uint32Array | null {
  diag[DIAG_STATUS] = 0;
  diag[DIAG_OFFSET] = 0;
  const v: Validation = { b, len: b.length, diag, idx: NO_INDEX, n: 0, c: { p: 0, v: 0 }, mode: 0, caps: 0, count: 0, trailerAt: 0, beat: 0, aead: 0, prevAt: 0, rootAt: 0 };
  if (!checkHeader(v)) return null;
  if (!walkRecords(v)) return null;
  if (!checkTrailer(v)) return null;
  if (!checkChunkRuns(v)) return null;
  if (!checkMerkleRoot(v)) return null;
  return v.idx.slice(0, v.n);
}

export { readVarint, varintSize, writeVarint };
