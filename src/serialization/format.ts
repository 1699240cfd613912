/**
 * Flat frame body layouts (format version 2) shared by the writer and the reader
 * (docs/FORMAT.md). The frame envelope (header, record framing, trailer, Merkle root) is the
 * binding's job (native/flat/, src/native/fallback/flat.ts); this module holds what the record
 * bodies mean.
 */
import type { Indexing, StoreKind } from '../kernel/store/index.js';

export {
  FLAT_CAP_AEAD,
  FLAT_CAP_CHUNKS,
  FLAT_CAP_DEFLATE,
  FLAT_CAP_MANIFEST,
  FLAT_CAP_MANIFEST_HISTORY,
  FLAT_CAP_NAMEPOOL,
  FLAT_CAP_ORDER,
  FLAT_CAP_PAYLOAD_HISTORY,
  FLAT_CAP_TOC,
  FLAT_HEADER_SIZE,
  FLAT_INDEX_STRIDE,
  FLAT_T_CELL,
  FLAT_T_CHUNK,
  FLAT_T_HISTORY,
  FLAT_T_MANIFEST,
  FLAT_T_MANIFEST_HISTORY,
  FLAT_T_NAMEPOOL,
  FLAT_T_ORDER,
  FLAT_T_TRAILER,
} from '../native/binding.js';

/** Apply modes (header byte 5, trailer). */
export const MODE_DELTA = 0;
export const MODE_SNAPSHOT = 1;

/** Key of the namepool records: the ordinal slot holds 0xFFFFFFFF so they sort last. */
export const NAMEPOOL_ORDINAL = 0xffffffff;

/** cell_desc flags (body byte 0). */
export const DESC_ANCHOR = 1; // identity only: locates a changed descendant
// bit 1 is reserved (veiled cells are never framed)
export const DESC_IMMUTABLE = 4;
export const DESC_PAYLOAD = 8; // the payload fields are present

/** Cell types (cell_desc). */
export const CELL_NORMAL = 0;
export const CELL_LINK = 1;

/** Payload kinds (cell_desc, payload chunks, history). */
export const KIND_NONE = 0;
export const KIND_VALUE = 1;
export const KIND_DATA = 2;
export const KIND_LINK = 5;

/** Where a VALUE/DATA payload's bytes are: inline in the description, or in payload chunks. */
export const PLACE_INLINE = 0;
export const PLACE_CHUNKS = 1;

/** How a link names its target: a cell record of this frame, or an absolute path. */
export const TARGET_ORDINAL = 0;
export const TARGET_PATH = 1;

/** AEAD selectors (trailer byte, chunk flag bit 0 = sealed). */
export const AEAD_NONE = 0;
export const AEAD_CHACHA20 = 2;
export const AEAD_XCHACHA20 = 3;
export const RECORD_SEALED = 1;

/** Compression selectors (trailer byte). */
export const COMPRESSION_NONE = 0;
export const COMPRESSION_DEFLATE = 1;

/** Name: domain id then tag id, each the 58-bit id as u64 little-endian. */
export const NAME_BYTES = 16;

/** Store kinds and indexings as they appear in manifest_delta. */
export const STORE_CODES: readonly StoreKind[] = ['list', 'array', 'queue', 'rbtree', 'hash', 'octree'];
export const INDEXING_CODES: readonly Indexing[] = ['insertion', 'name', 'comparator', 'hash', 'function'];

/** Default and largest payload chunk sizes. */
export const CHUNK_SIZE_DEFAULT = 64 * 1024;
export const CHUNK_SIZE_MAX = 1024 * 1024;

/** Default bound of a frame a reader accepts (bytes, after inflating). */
export const MAX_FRAME_BYTES_DEFAULT = 256 * 1024 * 1024;

/** The low u32 word of a 58-bit id held as two 29-bit halves (the high word is `hi >>> 3`). */
export function idLow(hi: number, lo: number): number {
  return (lo | ((hi & 7) << 29)) >>> 0;
}

/** Writes a 58-bit id held as two 29-bit halves as u64 little-endian. */
export function writeId(b: Uint8Array, p: number, hi: number, lo: number): void {
  writeU32LE(b, p, idLow(hi, lo));
  writeU32LE(b, p + 4, hi >>> 3);
}

export function writeU32LE(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = v >>> 24;
}

export function writeU32BE(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}

export function readU32BE(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export function writeVarint(b: Uint8Array, p: number, v: number): number {
  while (v >= 128) {
    b[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[p++] = v;
  return p;
}
