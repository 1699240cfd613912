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

/**
 * Finish a staged frame in place: `buf[16, end)` holds records whose 4 CRC bytes are
 * placeholders. Writes the header, every CRC and the trailer at `end`; returns the frame
 * length, or a negative FLAT_STATUS_* (malformed staging, keys out of order, no room).
 */
export function flatFinish(buf: Uint8Array, end: number, params: Float64Array, prevRoot: Uint8Array): number {
  const beat = params[FINISH_BEAT];
  const mode = params[FINISH_MODE];
  const caps = params[FINISH_CAPS] >>> 0;
  const phist = params[FINISH_PHIST];
  const mhist = params[FINISH_MHIST];
  if (end < FLAT_HEADER_SIZE || end > buf.length) return -FLAT_STATUS_MALFORMED;
  for (let i = 0; i < 4; i++) buf[i] = MAGIC[i];
  buf[4] = FLAT_VERSION;
  buf[5] = mode;
  buf[6] = 0;
  buf[7] = 0;
  writeU32(buf, 8, caps);
  writeU32(buf, 12, crcOf(buf, 0, 12));
  // records: CRCs, bounds and key order
  let starts = new Uint32Array(1024);
  let count = 0;
  const c: Cur = { p: FLAT_HEADER_SIZE, v: 0 };
  let prevKey = -1;
  let prevKeyLen = 0;
  while (c.p < end) {
    const start = c.p;
    if (end - start < 4) return -FLAT_STATUS_MALFORMED;
    c.p = start + 4;
    if (!readVarint(buf, end, c)) return -FLAT_STATUS_MALFORMED;
    const klen = c.v;
    if (!readVarint(buf, end, c)) return -FLAT_STATUS_MALFORMED;
    const keyOff = c.p;
    const crcAt = keyOff + klen + c.v;
    if (klen > FLAT_KEY_MAX || crcAt + 4 > end) return -FLAT_STATUS_MALFORMED;
    if (prevKey >= 0 && compareBytes(buf, prevKey, prevKeyLen, keyOff, klen) >= 0) return -FLAT_STATUS_MALFORMED;
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
  starts[count] = end; // record i spans [starts[i], starts[i+1] - 4) without its CRC
  const lens = new Uint32Array(count);
  for (let i = 0; i < count; i++) lens[i] = starts[i + 1] - 4 - starts[i];
  const leaves = new Uint8Array(count * 32);
  if (count > 0) blake3Many(buf, starts, lens, leaves);
  const root = new Uint8Array(32);
  flatRoot(leaves, count, prevRoot, beat, caps, mode, root);
  // trailer
  let bodyLen = varintSize(beat) + varintSize(count) + 9 + varintSize(phist) + varintSize(mhist) + 64 + varintSize(count);
  let last = FLAT_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    bodyLen += 1 + varintSize(starts[i] - last);
    last = starts[i];
  }
  const total = end + 5 + varintSize(bodyLen) + bodyLen + 4;
  if (total > buf.length) return -FLAT_STATUS_CAPACITY;
  let p = end;
  buf[p++] = FLAT_T_TRAILER;
  buf[p++] = 1;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0; // key length
  p = writeVarint(buf, p, bodyLen);
  p = writeVarint(buf, p, beat);
  p = writeVarint(buf, p, count);
  buf[p++] = mode;
  buf[p++] = 1; // BLAKE3-256
  buf[p++] = 1; // standard CRC32C
  buf[p++] = params[FINISH_COMPRESSION];
  buf[p++] = params[FINISH_AEAD];
  writeU32(buf, p, caps);
  p += 4;
  p = writeVarint(buf, p, phist);
  p = writeVarint(buf, p, mhist);
  buf.set(prevRoot.subarray(0, 32), p);
  p += 32;
  buf.set(root, p);
  p += 32;
  p = writeVarint(buf, p, count);
  last = FLAT_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    buf[p++] = buf[starts[i]];
    p = writeVarint(buf, p, starts[i] - last);
    last = starts[i];
  }
  writeU32(buf, p, crcOf(buf, end, p));
  return p + 4;
}

/** flatValidate's diagnostics: [status, byte offset of the problem]. */
export const DIAG_STATUS = 0;
export const DIAG_OFFSET = 1;

function fail(diag: Float64Array, status: number, offset: number): null {
  diag[DIAG_STATUS] = status;
  diag[DIAG_OFFSET] = offset;
  return null;
}

function nonceLength(aead: number): number {
  return aead === 2 ? 12 : aead === 3 ? 24 : 0;
}

/**
 * Validate a whole frame (no container): header, every record (bounds, type, version, flags,
 * CRC32C, key shape, strictly ascending keys, capability bits), the trailer and its table of
 * contents, the payload chunk trackers (ordinals, offsets, totals, zero-length chunks,
 * fingerprints of plaintext payloads) and the Merkle root. Returns the record index
 * (FLAT_INDEX_STRIDE u32 per record, the trailer last), or null with `diag` set.
 */
export function flatValidate(b: Uint8Array, diag: Float64Array): Uint32Array | null {
  const len = b.length;
  diag[DIAG_STATUS] = 0;
  diag[DIAG_OFFSET] = 0;
  for (let i = 0; i < 4 && i < len; i++) if (b[i] !== MAGIC[i]) return fail(diag, FLAT_STATUS_FORMAT, i);
  if (len < FLAT_HEADER_SIZE) return fail(diag, FLAT_STATUS_TRUNCATED, len);
  if (readU32(b, 12) !== crcOf(b, 0, 12)) return fail(diag, FLAT_STATUS_CRC, 12);
  if (b[4] !== FLAT_VERSION) return fail(diag, FLAT_STATUS_UNSUPPORTED, 4);
  const mode = b[5];
  if (mode > 1 || b[6] !== 0 || b[7] !== 0) return fail(diag, FLAT_STATUS_UNSUPPORTED, 5);
  const caps = readU32(b, 8);
  if ((caps & ~FLAT_CAPS_SUPPORTED) !== 0) return fail(diag, FLAT_STATUS_UNSUPPORTED, 8);
  if ((caps & FLAT_CAP_TOC) === 0) return fail(diag, FLAT_STATUS_UNSUPPORTED, 8);

  // pass 1: records
  let idx = new Uint32Array(FLAT_INDEX_STRIDE * 256);
  let n = 0; // u32 entries used
  const c: Cur = { p: FLAT_HEADER_SIZE, v: 0 };
  let prevKey = -1;
  let prevKeyLen = 0;
  let nextCell = 0; // cell ordinals are dense from 0
  let trailerAt = -1;
  while (c.p < len) {
    const start = c.p;
    if (len - start < 4) return fail(diag, FLAT_STATUS_TRUNCATED, len);
    const type = b[start];
    const flags = b[start + 2] | (b[start + 3] << 8);
    if (b[start + 1] !== 1) return fail(diag, FLAT_STATUS_UNSUPPORTED, start + 1);
    c.p = start + 4;
    if (!readVarint(b, len, c)) return fail(diag, varintTruncated(b, len, c.p) ? FLAT_STATUS_TRUNCATED : FLAT_STATUS_MALFORMED, c.p);
    const klen = c.v;
    if (!readVarint(b, len, c)) return fail(diag, varintTruncated(b, len, c.p) ? FLAT_STATUS_TRUNCATED : FLAT_STATUS_MALFORMED, c.p);
    const blen = c.v;
    const keyOff = c.p;
    if (klen > FLAT_KEY_MAX) return fail(diag, FLAT_STATUS_MALFORMED, start + 4);
    if (blen > len) return fail(diag, FLAT_STATUS_TRUNCATED, len);
    const crcAt = keyOff + klen + blen;
    if (crcAt + 4 > len) return fail(diag, FLAT_STATUS_TRUNCATED, len);
    if (readU32(b, crcAt) !== crcOf(b, start, crcAt)) return fail(diag, FLAT_STATUS_CRC, crcAt);
    if (n + FLAT_INDEX_STRIDE > idx.length) {
      const grown = new Uint32Array(idx.length * 2);
      grown.set(idx);
      idx = grown;
    }
    idx[n] = start;
    idx[n + 1] = keyOff;
    idx[n + 2] = klen;
    idx[n + 3] = keyOff + klen;
    idx[n + 4] = blen;
    n += FLAT_INDEX_STRIDE;
    c.p = crcAt + 4;
    if (type === FLAT_T_TRAILER) {
      if (klen !== 0 || flags !== 0) return fail(diag, FLAT_STATUS_MALFORMED, start);
      if (c.p !== len) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
      trailerAt = start;
      break;
    }
    // key shape: u32 BE cell ordinal, the type, a type-specific suffix
    const want = keyLengthOf(type);
    if (want < 0) return fail(diag, FLAT_STATUS_UNSUPPORTED, start);
    if ((caps & capOf(type)) !== capOf(type)) return fail(diag, FLAT_STATUS_CAPS, start);
    if (klen !== want || b[keyOff + 4] !== type) return fail(diag, FLAT_STATUS_MALFORMED, keyOff);
    const sealable = type === FLAT_T_CHUNK || type === FLAT_T_HISTORY;
    if ((flags & ~(sealable ? 1 : 0)) !== 0) return fail(diag, FLAT_STATUS_MALFORMED, start + 2);
    if ((flags & 1) !== 0 && (caps & FLAT_CAP_AEAD) === 0) return fail(diag, FLAT_STATUS_CAPS, start);
    if (prevKey >= 0 && compareBytes(b, prevKey, prevKeyLen, keyOff, klen) >= 0) return fail(diag, FLAT_STATUS_MALFORMED, keyOff);
    prevKey = keyOff;
    prevKeyLen = klen;
    const ord = readU32BE(b, keyOff);
    if (type === FLAT_T_CELL) {
      // a run of descriptions: u16 count, then the cells nextCell .. nextCell + count - 1
      if (ord !== nextCell) return fail(diag, FLAT_STATUS_MALFORMED, keyOff);
      const bo = keyOff + klen;
      const run = blen < 2 ? 0 : b[bo] | (b[bo + 1] << 8);
      if (run === 0 || run > FLAT_RUN_MAX || blen < 2 + FLAT_ROOT_DESC_MIN + FLAT_DESC_MIN * (run - 1)) return fail(diag, FLAT_STATUS_MALFORMED, bo);
      nextCell += run;
    } else if (type === FLAT_T_NAMEPOOL) {
      if (ord !== 0xffffffff) return fail(diag, FLAT_STATUS_MALFORMED, keyOff);
    } else if (ord + 1 !== nextCell) {
      return fail(diag, FLAT_STATUS_MALFORMED, keyOff); // a cell's records follow its description
    }
  }
  if (trailerAt < 0) return fail(diag, FLAT_STATUS_TRUNCATED, len);
  const count = n / FLAT_INDEX_STRIDE - 1;

  // trailer
  const tb = idx[n - 2];
  const te = tb + idx[n - 1];
  c.p = tb;
  if (!readVarint(b, te, c)) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  const beat = c.v;
  if (!readVarint(b, te, c) || c.v !== count) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  if (te - c.p < 9) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  const tp = c.p;
  if (b[tp] !== mode) return fail(diag, FLAT_STATUS_MALFORMED, tp);
  if (b[tp + 1] !== 1 || b[tp + 2] !== 1) return fail(diag, FLAT_STATUS_UNSUPPORTED, tp + 1);
  const compression = b[tp + 3];
  const aead = b[tp + 4];
  if (compression > 1 || (compression === 1) !== ((caps & FLAT_CAP_DEFLATE) !== 0)) return fail(diag, FLAT_STATUS_MALFORMED, tp + 3);
  if ((aead !== 0 && aead !== 2 && aead !== 3) || (aead !== 0) !== ((caps & FLAT_CAP_AEAD) !== 0)) return fail(diag, FLAT_STATUS_MALFORMED, tp + 4);
  if (readU32(b, tp + 5) !== caps) return fail(diag, FLAT_STATUS_MALFORMED, tp + 5);
  c.p = tp + 9;
  if (!readVarint(b, te, c)) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  if (!readVarint(b, te, c)) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  if (te - c.p < 64) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  const prevAt = c.p;
  const rootAt = c.p + 32;
  c.p += 64;
  if (!readVarint(b, te, c) || c.v !== count) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
  let last = FLAT_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const s = idx[i * FLAT_INDEX_STRIDE];
    if (c.p >= te || b[c.p] !== b[s]) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
    c.p++;
    if (!readVarint(b, te, c) || c.v !== s - last) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
    last = s;
  }
  if (c.p !== te) return fail(diag, FLAT_STATUS_MALFORMED, c.p);

  // pass 2: payload chunk trackers, one run per base key (the key without its chunk ordinal)
  const nonceLen = nonceLength(aead);
  let baseAt = -1;
  let baseLen = 0;
  let expectOrd = 0;
  let total = 0;
  let done = 0;
  let kind = 0;
  let fpAt = 0;
  let sealedRun = false;
  let hasher: ReturnType<typeof blake3Hasher> | null = null;
  const fpOut = new Uint8Array(32);
  const closeRun = (at: number): number => {
    if (baseAt < 0) return 0;
    if (done !== total) return at;
    if (!sealedRun) {
      hasher!.finalize(fpOut, 0);
      for (let i = 0; i < 32; i++) if (fpOut[i] !== b[fpAt + i]) return fpAt;
    }
    baseAt = -1;
    return 0;
  };
  for (let i = 0; i < count; i++) {
    const r = i * FLAT_INDEX_STRIDE;
    const start = idx[r];
    const type = b[start];
    if (type !== FLAT_T_CHUNK && type !== FLAT_T_HISTORY) {
      const bad = closeRun(start);
      if (bad) return fail(diag, FLAT_STATUS_CHUNK, bad);
      continue;
    }
    const keyOff = idx[r + 1];
    const klen = idx[r + 2];
    const bo = idx[r + 3];
    const be = bo + idx[r + 4];
    const sealed = (b[start + 2] & 1) !== 0;
    const ord = readU32BE(b, keyOff + klen - 4);
    const sameBase = baseAt >= 0 && compareBytes(b, baseAt, baseLen, keyOff, klen - 4) === 0;
    if (!sameBase) {
      const bad = closeRun(start);
      if (bad) return fail(diag, FLAT_STATUS_CHUNK, bad);
    }
    if (be - bo < 1) return fail(diag, FLAT_STATUS_MALFORMED, bo);
    const k = b[bo];
    c.p = bo + 1;
    if (!readVarint(b, be, c)) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
    const tot = c.v;
    if (!readVarint(b, be, c)) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
    const off = c.v;
    if (be - c.p < 32) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
    const fp = c.p;
    c.p += 32;
    if (sealed) {
      if (be - c.p < nonceLen + 16) return fail(diag, FLAT_STATUS_MALFORMED, c.p);
      c.p += nonceLen;
    }
    const size = be - c.p - (sealed ? 16 : 0);
    if (k > 2) return fail(diag, FLAT_STATUS_MALFORMED, bo);
    if (!sameBase) {
      if (ord !== 0 || off !== 0) return fail(diag, FLAT_STATUS_CHUNK, keyOff);
      baseAt = keyOff;
      baseLen = klen - 4;
      expectOrd = 0;
      total = tot;
      done = 0;
      kind = k;
      fpAt = fp;
      sealedRun = sealed;
      if (!sealed) {
        if (hasher === null) hasher = blake3Hasher(null, 0);
        else hasher.reset();
      }
    } else {
      if (sealed !== sealedRun || k !== kind || tot !== total) return fail(diag, FLAT_STATUS_CHUNK, bo);
      for (let j = 0; j < 32; j++) if (b[fp + j] !== b[fpAt + j]) return fail(diag, FLAT_STATUS_CHUNK, fp);
    }
    if (ord !== expectOrd || off !== done) return fail(diag, FLAT_STATUS_CHUNK, keyOff);
    // a zero-length chunk is only the one chunk of an empty payload
    if (size === 0 ? tot !== 0 || ord !== 0 : off + size > tot) return fail(diag, FLAT_STATUS_CHUNK, bo);
    if (!sealed) hasher!.update(b.subarray(c.p, c.p + size));
    done += size;
    expectOrd++;
  }
  const bad = closeRun(trailerAt);
  if (bad) return fail(diag, FLAT_STATUS_CHUNK, bad);

  // Merkle root
  const leaves = new Uint8Array(count * 32);
  if (count > 0) {
    const offs = new Uint32Array(count);
    const lens = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const r = i * FLAT_INDEX_STRIDE;
      offs[i] = idx[r];
      lens[i] = idx[r + 3] + idx[r + 4] - idx[r];
    }
    blake3Many(b, offs, lens, leaves);
  }
  const root = new Uint8Array(32);
  flatRoot(leaves, count, b.subarray(prevAt, prevAt + 32), beat, caps, mode, root);
  for (let i = 0; i < 32; i++) if (root[i] !== b[rootAt + i]) return fail(diag, FLAT_STATUS_MERKLE, rootAt);
  return idx.slice(0, n);
}

export { readVarint, varintSize, writeVarint };
