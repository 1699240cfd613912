/**
 * Pure-TypeScript BLAKE3, the fallback twin of native/hash/blake3.cc, written from the BLAKE3
 * specification (https://github.com/BLAKE3-team/BLAKE3-specs): 1 KiB chunks of 64-byte blocks,
 * chunk chaining values merged into a binary tree through a stack, and an extendable root
 * output. Arguments are trusted; the public API in src/hash/blake3.ts validates them.
 *
 * Speed notes (V8 on x86-64 reaches ~0.5 GB/s at 1 MiB with this shape):
 * - The compression function is fully unrolled with the whole state and message in local
 *   variables; the message permutation of every round is resolved ahead of time, so each
 *   G call names its message words directly. V8 turns `(x >>> n) | (x << (32 - n))` into one
 *   `ror` and `(a + b + m) | 0` into 32-bit adds.
 * - All words live in Int32Arrays (not Uint32Arrays) so loads stay int32 and never box.
 * - Input that is 4-byte aligned is read in place through an Int32Array view of its whole
 *   ArrayBuffer (little-endian hosts only); longer unaligned input is first copied into an
 *   aligned scratch area, 16 KiB at a time. Short and partial blocks are assembled a word (not
 *   a byte) at a time: byte loops cost more than the compression itself for small inputs.
 * - Nothing is allocated per block, per call (beyond one view of the input's buffer), or per
 *   blake3Many slice.
 */
import type { Blake3State } from '../binding.js';

// Internal domain flags (specification, table 3); the mode flags come from the caller.
const CHUNK_START = 1 << 0;
const CHUNK_END = 1 << 1;
const PARENT = 1 << 2;
const ROOT = 1 << 3;

const BLOCK_LEN = 64;
const CHUNK_LEN = 1024;
const BLOCKS_PER_CHUNK = CHUNK_LEN / BLOCK_LEN;
const WORDS_PER_CHUNK = CHUNK_LEN / 4;
const OUT_LEN = 32;
/** 2^54 chunks of 1 KiB is 2^64 bytes, the most BLAKE3 hashes; one stack entry per level. */
const MAX_DEPTH = 54;
const TWO_POW_32 = 4294967296;

/** The BLAKE3 IV: the SHA-256 initial hash values, as int32. */
const IV = Int32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);

/** Typed-array views read words in host byte order; BLAKE3 words are little-endian. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The BLAKE3 compression function. Reads the 8-word chaining value at `cv[cp]` and the
 * 16-word block at `m[mp]`; writes the new 8-word chaining value to `out[op]`, or with `wide`
 * the full 16-word output (root/XOF blocks). Every input is read before anything is written,
 * so `out` may overlap `cv` or `m` (parents are compressed in place on the CV stack).
 */
function compress(cv: Int32Array, cp: number, m: Int32Array, mp: number, counterLo: number, counterHi: number, blockLen: number, flags: number, out: Int32Array, op: number, wide: boolean): void {
  const c0 = cv[cp],
    c1 = cv[cp + 1],
    c2 = cv[cp + 2],
    c3 = cv[cp + 3];
  const c4 = cv[cp + 4],
    c5 = cv[cp + 5],
    c6 = cv[cp + 6],
    c7 = cv[cp + 7];
  const m0 = m[mp],
    m1 = m[mp + 1],
    m2 = m[mp + 2],
    m3 = m[mp + 3];
  const m4 = m[mp + 4],
    m5 = m[mp + 5],
    m6 = m[mp + 6],
    m7 = m[mp + 7];
  const m8 = m[mp + 8],
    m9 = m[mp + 9],
    m10 = m[mp + 10],
    m11 = m[mp + 11];
  const m12 = m[mp + 12],
    m13 = m[mp + 13],
    m14 = m[mp + 14],
    m15 = m[mp + 15];
  let s0 = c0,
    s1 = c1,
    s2 = c2,
    s3 = c3,
    s4 = c4,
    s5 = c5,
    s6 = c6,
    s7 = c7;
  let s8 = 0x6a09e667 | 0,
    s9 = 0xbb67ae85 | 0,
    s10 = 0x3c6ef372 | 0,
    s11 = 0xa54ff53a | 0;
  let s12 = counterLo | 0,
    s13 = counterHi | 0,
    s14 = blockLen | 0,
    s15 = flags | 0;
  // Seven rounds of G over columns then diagonals (spec section 2.2), generated: round r uses
  // the message words permuted r times by [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8].
  // round 1
  s0 = (s0 + s4 + m0) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m1) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m2) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m3) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m4) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m5) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m6) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m7) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m8) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m9) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m10) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m11) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m12) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m13) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m14) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m15) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  // round 2
  s0 = (s0 + s4 + m2) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m6) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m3) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m10) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m7) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m0) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m4) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m13) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m1) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m11) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m12) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m5) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m9) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m14) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m15) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m8) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  // round 3
  s0 = (s0 + s4 + m3) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m4) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m10) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m12) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m13) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m2) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m7) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m14) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m6) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m5) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m9) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m0) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m11) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m15) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m8) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m1) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  // round 4
  s0 = (s0 + s4 + m10) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m7) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m12) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m9) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m14) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m3) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m13) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m15) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m4) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m0) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m11) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m2) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m5) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m8) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m1) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m6) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  // round 5
  s0 = (s0 + s4 + m12) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m13) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m9) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m11) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m15) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m10) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m14) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m8) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m7) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m2) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m5) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m3) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m0) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m1) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m6) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m4) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  // round 6
  s0 = (s0 + s4 + m9) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m14) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m11) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m5) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m8) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m12) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m15) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m1) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m13) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m3) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m0) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m10) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m2) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m6) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m4) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m7) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  // round 7
  s0 = (s0 + s4 + m11) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 16) | (s12 << 16);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 12) | (s4 << 20);
  s0 = (s0 + s4 + m15) | 0;
  s12 ^= s0;
  s12 = (s12 >>> 8) | (s12 << 24);
  s8 = (s8 + s12) | 0;
  s4 ^= s8;
  s4 = (s4 >>> 7) | (s4 << 25);
  s1 = (s1 + s5 + m5) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 16) | (s13 << 16);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 12) | (s5 << 20);
  s1 = (s1 + s5 + m0) | 0;
  s13 ^= s1;
  s13 = (s13 >>> 8) | (s13 << 24);
  s9 = (s9 + s13) | 0;
  s5 ^= s9;
  s5 = (s5 >>> 7) | (s5 << 25);
  s2 = (s2 + s6 + m1) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 16) | (s14 << 16);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 12) | (s6 << 20);
  s2 = (s2 + s6 + m9) | 0;
  s14 ^= s2;
  s14 = (s14 >>> 8) | (s14 << 24);
  s10 = (s10 + s14) | 0;
  s6 ^= s10;
  s6 = (s6 >>> 7) | (s6 << 25);
  s3 = (s3 + s7 + m8) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 16) | (s15 << 16);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 12) | (s7 << 20);
  s3 = (s3 + s7 + m6) | 0;
  s15 ^= s3;
  s15 = (s15 >>> 8) | (s15 << 24);
  s11 = (s11 + s15) | 0;
  s7 ^= s11;
  s7 = (s7 >>> 7) | (s7 << 25);
  s0 = (s0 + s5 + m14) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 16) | (s15 << 16);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 12) | (s5 << 20);
  s0 = (s0 + s5 + m10) | 0;
  s15 ^= s0;
  s15 = (s15 >>> 8) | (s15 << 24);
  s10 = (s10 + s15) | 0;
  s5 ^= s10;
  s5 = (s5 >>> 7) | (s5 << 25);
  s1 = (s1 + s6 + m2) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 16) | (s12 << 16);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 12) | (s6 << 20);
  s1 = (s1 + s6 + m12) | 0;
  s12 ^= s1;
  s12 = (s12 >>> 8) | (s12 << 24);
  s11 = (s11 + s12) | 0;
  s6 ^= s11;
  s6 = (s6 >>> 7) | (s6 << 25);
  s2 = (s2 + s7 + m3) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 16) | (s13 << 16);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 12) | (s7 << 20);
  s2 = (s2 + s7 + m4) | 0;
  s13 ^= s2;
  s13 = (s13 >>> 8) | (s13 << 24);
  s8 = (s8 + s13) | 0;
  s7 ^= s8;
  s7 = (s7 >>> 7) | (s7 << 25);
  s3 = (s3 + s4 + m7) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 16) | (s14 << 16);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 12) | (s4 << 20);
  s3 = (s3 + s4 + m13) | 0;
  s14 ^= s3;
  s14 = (s14 >>> 8) | (s14 << 24);
  s9 = (s9 + s14) | 0;
  s4 ^= s9;
  s4 = (s4 >>> 7) | (s4 << 25);
  if (wide) {
    out[op + 8] = s8 ^ c0;
    out[op + 9] = s9 ^ c1;
    out[op + 10] = s10 ^ c2;
    out[op + 11] = s11 ^ c3;
    out[op + 12] = s12 ^ c4;
    out[op + 13] = s13 ^ c5;
    out[op + 14] = s14 ^ c6;
    out[op + 15] = s15 ^ c7;
  }
  out[op] = s0 ^ s8;
  out[op + 1] = s1 ^ s9;
  out[op + 2] = s2 ^ s10;
  out[op + 3] = s3 ^ s11;
  out[op + 4] = s4 ^ s12;
  out[op + 5] = s5 ^ s13;
  out[op + 6] = s6 ^ s14;
  out[op + 7] = s7 ^ s15;
}

/** Copies `n` words; a plain loop beats TypedArray#set for runs this short. */
function copyWords(src: Int32Array, sp: number, dst: Int32Array, dp: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dp + i] = src[sp + i];
}

/** Reads `count` little-endian words from `bytes[at..]` into `words[wp..]`, any alignment or host. */
function readWordsLE(bytes: Uint8Array, at: number, words: Int32Array, wp: number, count: number): void {
  for (let i = 0; i < count; i++, at += 4) {
    words[wp + i] = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
  }
}

/** Writes `n` output bytes, starting at byte `from` of the little-endian `words`, to `out[op..]`. */
function writeBytesLE(words: Int32Array, from: number, out: Uint8Array, op: number, n: number): void {
  const end = from + n;
  let b = from;
  for (; b < end && (b & 3) !== 0; b++, op++) out[op] = words[b >> 2] >>> ((b & 3) << 3);
  // Uint8Array stores keep the low byte, so whole words need no masking.
  for (; end - b >= 4; b += 4, op += 4) {
    const x = words[b >> 2];
    out[op] = x;
    out[op + 1] = x >>> 8;
    out[op + 2] = x >>> 16;
    out[op + 3] = x >>> 24;
  }
  for (; b < end; b++, op++) out[op] = words[b >> 2] >>> ((b & 3) << 3);
}

/** Aligned scratch that longer unaligned input is copied into (little-endian hosts). */
const scratchBytes = new Uint8Array(16 * CHUNK_LEN);
const scratchWords = new Int32Array(scratchBytes.buffer);
/** Unaligned input shorter than this is assembled word by word instead of copied. */
const COPY_MIN = 256;
/** Scratch for finalization: a parent block (left CV | right CV) and one wide output block. */
const parentBlock = new Int32Array(16);
const outputWords = new Int32Array(16);

/**
 * An incremental BLAKE3 state (the spec's hasher: chunk state plus CV stack). The last block
 * seen is kept in `block` until more input arrives, because only then is it known not to be
 * the final block (which carries CHUNK_END, and ROOT when it is the only chunk).
 */
class Blake3Core implements Blake3State {
  /** The key words: the caller's key, or the IV for the hash and derive-key-context modes. */
  private readonly key = new Int32Array(8);
  private flags = 0;
  /** Chaining value of the current chunk. */
  private readonly cv = new Int32Array(8);
  private chunkCounter = 0;
  /** Blocks of the current chunk already compressed (0..15). */
  private blocks = 0;
  /**
   * The buffered block as little-endian words, `blockLen` bytes long. Invariant: the bytes of
   * the word holding byte `blockLen` that lie past it are zero, so bytes can be OR-ed in.
   */
  private readonly block = new Int32Array(16);
  private blockLen = 0;
  /** CVs of completed subtrees, 8 words each; `depth` of them are live. */
  private readonly stack = new Int32Array(MAX_DEPTH * 8);
  private depth = 0;
  /** Int32Array over the whole ArrayBuffer of `viewSource`, cached for one absorb call. */
  private view: Int32Array | null = null;
  private viewSource: Uint8Array | null = null;

  constructor(key: Uint8Array | null, flags: number) {
    this.configure(key, flags);
  }

  /** Sets key and mode and forgets all input (lets one shared core serve every one-shot call). */
  configure(key: Uint8Array | null, flags: number): void {
    if (key === null) copyWords(IV, 0, this.key, 0, 8);
    else readWordsLE(key, 0, this.key, 0, 8);
    this.flags = flags;
    this.reset();
  }

  reset(): void {
    copyWords(this.key, 0, this.cv, 0, 8);
    this.chunkCounter = 0;
    this.blocks = 0;
    this.blockLen = 0;
    this.depth = 0;
  }

  update(data: Uint8Array): void {
    try {
      this.absorb(data, 0, data.length);
    } finally {
      this.release();
    }
  }

  finalize(out: Uint8Array, seek: number): void {
    this.squeeze(out, 0, out.length, seek);
  }

  /** Drops the cached input view so the state never keeps a caller's buffer alive. */
  release(): void {
    this.view = null;
    this.viewSource = null;
  }

  /** Absorbs `data[pos..end)`. */
  absorb(data: Uint8Array, pos: number, end: number): void {
    while (pos < end) {
      // More input follows, so a full buffered block is not the final one: compress it now.
      if (this.blockLen === BLOCK_LEN) this.flushBlock();
      // Whole blocks that are not a chunk's 16th go straight from the input.
      if (this.blockLen === 0 && end - pos > BLOCK_LEN && this.blocks < BLOCKS_PER_CHUNK - 1) {
        const words = this.alignedWords(data, pos);
        if (words !== null) {
          pos = this.blocks === 0 && end - pos > CHUNK_LEN ? this.wholeChunks(words, data, pos, end) : this.directBlocks(words, data, pos, end);
          continue;
        }
        if (LITTLE_ENDIAN && data !== scratchBytes && end - pos >= COPY_MIN) {
          pos = this.absorbCopied(data, pos, end);
          continue;
        }
      }
      pos = this.fill(data, pos, end);
    }
  }

  /** Absorbs up to 16 KiB of unaligned input through the aligned scratch; returns the new position. */
  private absorbCopied(data: Uint8Array, pos: number, end: number): number {
    const n = Math.min(end - pos, scratchBytes.length);
    scratchBytes.set(data.subarray(pos, pos + n));
    this.absorb(scratchBytes, 0, n);
    return pos + n;
  }

  /** Appends up to one block of input to `block`; returns the new position. */
  private fill(data: Uint8Array, pos: number, end: number): number {
    const w = this.block;
    let len = this.blockLen;
    const stop = Math.min(end, pos + BLOCK_LEN - len);
    for (; (len & 3) !== 0 && pos < stop; pos++, len++) w[len >> 2] |= data[pos] << ((len & 3) << 3);
    for (; stop - pos >= 4; pos += 4, len += 4) {
      w[len >> 2] = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) | (data[pos + 3] << 24);
    }
    if (pos < stop) {
      // A new, partial word: assigning it also zeroes its bytes past the end (the invariant).
      let x = 0;
      for (let shift = 0; pos < stop; pos++, len++, shift += 8) x |= data[pos] << shift;
      w[(len - 1) >> 2] = x;
    }
    this.blockLen = len;
    return pos;
  }

  /** Compresses the full buffered block, knowing more input follows it. */
  private flushBlock(): void {
    const ctr = this.chunkCounter;
    const last = this.blocks === BLOCKS_PER_CHUNK - 1;
    const flags = this.flags | (last ? CHUNK_END : this.blocks === 0 ? CHUNK_START : 0);
    compress(this.cv, 0, this.block, 0, ctr | 0, (ctr / TWO_POW_32) | 0, BLOCK_LEN, flags, this.cv, 0, false);
    this.blockLen = 0;
    if (last) this.pushChunk();
    else this.blocks++;
  }

  /**
   * The words of `data`'s whole ArrayBuffer when `data[pos]` is 4-byte aligned on a
   * little-endian host, else null. The view is made once per absorb call and source.
   */
  private alignedWords(data: Uint8Array, pos: number): Int32Array | null {
    if (!LITTLE_ENDIAN || ((data.byteOffset + pos) & 3) !== 0) return null;
    if (data === scratchBytes) return scratchWords;
    if (this.viewSource !== data) {
      const buffer = data.buffer;
      this.view = new Int32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
      this.viewSource = data;
    }
    return this.view;
  }

  /** Compresses whole blocks straight from aligned input while more input follows; returns the new position. */
  private directBlocks(words: Int32Array, data: Uint8Array, pos: number, end: number): number {
    const cv = this.cv;
    const ctr = this.chunkCounter;
    const lo = ctr | 0;
    const hi = (ctr / TWO_POW_32) | 0;
    let wp = (data.byteOffset + pos) / 4;
    while (end - pos > BLOCK_LEN && this.blocks < BLOCKS_PER_CHUNK - 1) {
      const start = this.blocks === 0 ? CHUNK_START : 0;
      compress(cv, 0, words, wp, lo, hi, BLOCK_LEN, this.flags | start, cv, 0, false);
      this.blocks++;
      pos += BLOCK_LEN;
      wp += 16;
    }
    return pos;
  }

  /**
   * Hashes whole chunks from aligned `data[pos..]` while more input follows them (the final
   * chunk may be the root, so it always goes through `block`); returns the new position.
   */
  private wholeChunks(words: Int32Array, data: Uint8Array, pos: number, end: number): number {
    const count = Math.floor((end - pos - 1) / CHUNK_LEN);
    let wp = (data.byteOffset + pos) / 4;
    for (let i = 0; i < count; i++, wp += WORDS_PER_CHUNK) this.chunk(words, wp);
    return pos + count * CHUNK_LEN;
  }

  /** Hashes one whole chunk (known not to be the last) from `words[wp..]` and pushes its CV. */
  private chunk(words: Int32Array, wp: number): void {
    const cv = this.cv;
    const flags = this.flags;
    const ctr = this.chunkCounter;
    const lo = ctr | 0;
    const hi = (ctr / TWO_POW_32) | 0;
    compress(this.key, 0, words, wp, lo, hi, BLOCK_LEN, flags | CHUNK_START, cv, 0, false);
    for (let b = 1; b < BLOCKS_PER_CHUNK - 1; b++) {
      compress(cv, 0, words, wp + b * 16, lo, hi, BLOCK_LEN, flags, cv, 0, false);
    }
    compress(cv, 0, words, wp + (BLOCKS_PER_CHUNK - 1) * 16, lo, hi, BLOCK_LEN, flags | CHUNK_END, cv, 0, false);
    this.pushChunk();
  }

  /**
   * Pushes the finished chunk's CV and merges completed subtrees: after n chunks (n counted
   * from 1), one parent is formed per trailing zero bit of n (spec section 5.1.2). Then starts
   * the next chunk.
   */
  private pushChunk(): void {
    const stack = this.stack;
    let at = this.depth * 8;
    copyWords(this.cv, 0, stack, at, 8);
    let total = ++this.chunkCounter;
    while (total % 2 === 0) {
      at -= 8;
      compress(this.key, 0, stack, at, 0, 0, BLOCK_LEN, this.flags | PARENT, stack, at, false);
      total /= 2;
    }
    this.depth = at / 8 + 1;
    copyWords(this.key, 0, this.cv, 0, 8);
    this.blocks = 0;
  }

  /**
   * Writes `len` output bytes from output byte `seek` to `out[op..]`. Folds the current chunk
   * and the CV stack into the root node without changing the state.
   */
  squeeze(out: Uint8Array, op: number, len: number, seek: number): void {
    const block = this.block;
    for (let k = (this.blockLen + 3) >> 2; k < 16; k++) block[k] = 0; // zero-pad the final block
    const ctr = this.chunkCounter;
    const chunkFlags = this.flags | CHUNK_END | (this.blocks === 0 ? CHUNK_START : 0);
    if (this.depth === 0) {
      // The only chunk is the root; its counter (0) is replaced by the output block counter.
      emitRoot(this.cv, block, this.blockLen, chunkFlags, out, op, len, seek);
      return;
    }
    const parent = parentBlock;
    const stack = this.stack;
    compress(this.cv, 0, block, 0, ctr | 0, (ctr / TWO_POW_32) | 0, this.blockLen, chunkFlags, parent, 8, false);
    for (let i = this.depth - 1; i > 0; i--) {
      copyWords(stack, i * 8, parent, 0, 8);
      compress(this.key, 0, parent, 0, 0, 0, BLOCK_LEN, this.flags | PARENT, parent, 8, false);
    }
    copyWords(stack, 0, parent, 0, 8);
    emitRoot(this.key, parent, BLOCK_LEN, this.flags | PARENT, out, op, len, seek);
  }
}

/**
 * Runs the root compression once per 64-byte output block (the counter is the block index,
 * spec section 2.6) and writes bytes [seek, seek + len) of the output stream to `out[op..]`.
 */
function emitRoot(cv: Int32Array, block: Int32Array, blockLen: number, flags: number, out: Uint8Array, op: number, len: number, seek: number): void {
  let index = Math.floor(seek / BLOCK_LEN);
  let skip = seek - index * BLOCK_LEN;
  while (len > 0) {
    compress(cv, 0, block, 0, index | 0, (index / TWO_POW_32) | 0, blockLen, flags | ROOT, outputWords, 0, true);
    const n = Math.min(BLOCK_LEN - skip, len);
    writeBytesLE(outputWords, skip, out, op, n);
    op += n;
    len -= n;
    skip = 0;
    index++;
  }
}

/** One core reused by every one-shot call, so those allocate nothing but an input view. */
const shared = new Blake3Core(null, 0);

/** BLAKE3 of `data` into `out` (XOF from byte `seek`); see HashBinding.blake3. */
export function blake3(data: Uint8Array, key: Uint8Array | null, flags: number, out: Uint8Array, seek: number): void {
  shared.configure(key, flags);
  try {
    shared.absorb(data, 0, data.length);
  } finally {
    shared.release();
  }
  shared.squeeze(out, 0, out.length, seek);
}

/**
 * 32-byte default-mode hashes of `out.length / 32` slices of `data` (see HashBinding.blake3Many):
 * slice i is `data[offsets[i], offsets[i] + lengths[i])`, or `data[offsets[i], offsets[i + 1])`.
 */
export function blake3Many(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array | null, out: Uint8Array): void {
  const count = Math.floor(out.length / OUT_LEN);
  const core = shared;
  core.configure(null, 0);
  try {
    for (let i = 0; i < count; i++) {
      const start = offsets[i];
      const end = lengths === null ? offsets[i + 1] : start + lengths[i];
      core.reset();
      core.absorb(data, start, end);
      core.squeeze(out, i * OUT_LEN, OUT_LEN, 0);
    }
  } finally {
    core.release();
  }
}

/** A fresh incremental state for `key` (or null) and the mode `flags`. */
export function blake3Hasher(key: Uint8Array | null, flags: number): Blake3State {
  return new Blake3Core(key, flags);
}
