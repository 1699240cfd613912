/**
 * Domain/Tag identifiers (ids): 58-bit values, held as two 29-bit halves in plain numbers so
 * every part is a V8 small integer (Smi). No BigInt on any hot path.
 *
 *   id (58 bits) = hi (bits 57..29) : lo (bits 28..0)
 *   hi bits 28..27 = naming (0 word, 1 acronym, 2 reference, 3 numeric)
 *   hi bits 26..0 and lo bits 28..0 = the 56-bit payload
 *
 * Word: 11 five-bit characters, first character in the highest place (payload bits 54..50),
 *   codes ' '=0 (padding), 'a'..'z'=1..26, ':'=27, '_'=28, '-'=29, '.'=30, '*'=31 (glob).
 *   Digits do not fit in five bits: a text with digits is not a word (see docs/kernel.md).
 * Acronym: 9 six-bit characters (code = ASCII - 0x20, 0x20..0x5F), first in payload bits 53..48.
 * Numeric: the payload is the number (1 .. 2^56-2); 2^56-1 is the auto-id sentinel.
 * Reference: the payload is a namepool id; the three highest payloads are glob sentinels.
 * The value 0 payload is never a valid id.
 */
import { outOfRange } from '../../errors.js';

export const HALF = 0x20000000; // 2^29
export const HALF_MASK = 0x1fffffff;
export const HI_PAYLOAD_MASK = 0x07ffffff; // 27 payload bits in hi
export const NAMING_SHIFT = 27;

export const NAMING_WORD = 0;
export const NAMING_ACRONYM = 1;
export const NAMING_REFERENCE = 2;
export const NAMING_NUMERIC = 3;

export const WORD_HI = NAMING_WORD << NAMING_SHIFT;
export const ACRONYM_HI = NAMING_ACRONYM << NAMING_SHIFT;
export const REFERENCE_HI = NAMING_REFERENCE << NAMING_SHIFT;
export const NUMERIC_HI = NAMING_NUMERIC << NAMING_SHIFT;

export const WORD_MAX_CHARS = 11;
export const ACRONYM_MAX_CHARS = 9;
/** Word code of '*'. */
export const WORD_GLOB_CODE = 31;

/** Numeric auto-id sentinel (payload all ones). */
export const AUTO_HI = NUMERIC_HI | HI_PAYLOAD_MASK;
export const AUTO_LO = HALF_MASK;
/** Reference-space glob sentinels (highest payloads): '**' any run of segments, '*' any name. */
export const GLOB_MULTI_HI = REFERENCE_HI | HI_PAYLOAD_MASK;
export const GLOB_MULTI_LO = HALF_MASK;
export const GLOB_STAR_HI = REFERENCE_HI | HI_PAYLOAD_MASK;
export const GLOB_STAR_LO = HALF_MASK - 1;
/** Highest namepool reference payload that is not a sentinel. */
export const REFERENCE_MAX = HALF_MASK - 3; // ids are handed out from 1; 2^29 - 4 names is plenty

/** An id as two 29-bit halves. */
export interface Id {
  readonly hi: number;
  readonly lo: number;
}

/**
 * Scratch result of the encoders (no allocation on hot paths). Read it right after a call that
 * returned true; the next call overwrites it.
 */
export const enc = { hi: 0, lo: 0, glob: false };

export function namingOf(hi: number): number {
  return hi >>> NAMING_SHIFT;
}

export function isZeroPayload(hi: number, lo: number): boolean {
  return (hi & HI_PAYLOAD_MASK) === 0 && lo === 0;
}

export function compareId(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return aHi !== bHi ? aHi - bHi : aLo - bLo;
}

/** Word code of a char code, or -1. */
function wordCode(ch: number): number {
  if (ch >= 0x61 && ch <= 0x7a) return ch - 0x60;
  switch (ch) {
    case 0x3a:
      return 27; // ':'
    case 0x5f:
      return 28; // '_'
    case 0x2d:
      return 29; // '-'
    case 0x2e:
      return 30; // '.'
    case 0x2a:
      return 31; // '*'
    default:
      return -1;
  }
}

const WORD_CHARS = ' abcdefghijklmnopqrstuvwxyz:_-.*';

/** Place a `bits`-wide code at payload shift `s` into the scratch halves. */
function place(code: number, s: number): void {
  if (s >= 29) enc.hi |= code << (s - 29);
  else {
    enc.lo |= (code << s) & HALF_MASK;
    if (s + 6 > 29) enc.hi |= code >>> (29 - s);
  }
}

function extract(hi: number, lo: number, s: number, mask: number): number {
  if (s >= 29) return (hi >>> (s - 29)) & mask;
  return ((lo >>> s) | (hi << (29 - s))) & mask;
}

/**
 * Encode `s[start..end)` as a word. Rules: 1..11 characters from [a-z:_-.*], at least one letter.
 * Sets `enc` and returns true, or returns false (not a word).
 */
export function encodeWord(s: string, start = 0, end = s.length): boolean {
  const n = end - start;
  if (n < 1 || n > WORD_MAX_CHARS) return false;
  enc.hi = WORD_HI;
  enc.lo = 0;
  let letter = false;
  let glob = false;
  for (let i = 0; i < n; i++) {
    const c = wordCode(s.charCodeAt(start + i));
    if (c < 0) return false;
    if (c <= 26) letter = true;
    else if (c === WORD_GLOB_CODE) glob = true;
    place(c, 5 * (WORD_MAX_CHARS - 1 - i));
  }
  if (!letter) return false;
  enc.glob = glob;
  return true;
}

/**
 * Encode `s[start..end)` as an acronym. Rules: 1..9 characters in 0x20..0x5F, not all digits,
 * no space at either end. Sets `enc` and returns true, or returns false.
 */
export function encodeAcronym(s: string, start = 0, end = s.length): boolean {
  const n = end - start;
  if (n < 1 || n > ACRONYM_MAX_CHARS) return false;
  if (s.charCodeAt(start) === 0x20 || s.charCodeAt(end - 1) === 0x20) return false;
  enc.hi = ACRONYM_HI;
  enc.lo = 0;
  let digits = true;
  let glob = false;
  for (let i = 0; i < n; i++) {
    const ch = s.charCodeAt(start + i);
    if (ch < 0x20 || ch > 0x5f) return false;
    if (ch < 0x30 || ch > 0x39) digits = false;
    if (ch === 0x2a) glob = true;
    place(ch - 0x20, 6 * (ACRONYM_MAX_CHARS - 1 - i));
  }
  if (digits) return false;
  enc.glob = glob;
  return true;
}

/**
 * Largest numeric name a cell may take: 2^53 - 2. Frames carry a store's auto-id cursor (one
 * past its largest numeric name) as a varint below 2^53, so a name of 2^53 - 1 or more could
 * not be stored; ids themselves reach 2^56 - 2 (encodeNumericText).
 */
export const NUMERIC_NAME_MAX = Number.MAX_SAFE_INTEGER - 1;

/** Encode a JS number as a numeric id (1 .. Number.MAX_SAFE_INTEGER). */
export function encodeNumber(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  if (n < HALF) {
    enc.hi = NUMERIC_HI;
    enc.lo = n;
  } else {
    enc.hi = NUMERIC_HI | Math.floor(n / HALF);
    enc.lo = n % HALF;
  }
  enc.glob = false;
  return true;
}

/**
 * Encode decimal digits `s[start..end)` (no sign, no leading zero) as a numeric id up to 2^56-2.
 */
export function encodeNumericText(s: string, start = 0, end = s.length): boolean {
  const n = end - start;
  if (n < 1 || n > 17) return false;
  if (s.charCodeAt(start) === 0x30) return false; // leading zero, or zero itself
  let v = 0;
  for (let i = start; i < end; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 0x30 || ch > 0x39) return false;
    v = v * 10 + (ch - 0x30);
  }
  if (v <= Number.MAX_SAFE_INTEGER) return encodeNumber(v);
  const b = BigInt(s.slice(start, end));
  if (b >= (1n << 56n) - 1n) return false;
  enc.hi = NUMERIC_HI | Number(b >> 29n);
  enc.lo = Number(b & BigInt(HALF_MASK));
  enc.glob = false;
  return true;
}

export function decodeWord(hi: number, lo: number): string {
  let out = '';
  for (let i = 0; i < WORD_MAX_CHARS; i++) out += WORD_CHARS[extract(hi, lo, 5 * (WORD_MAX_CHARS - 1 - i), 31)];
  return out.trimEnd();
}

export function decodeAcronym(hi: number, lo: number): string {
  let out = '';
  for (let i = 0; i < ACRONYM_MAX_CHARS; i++) out += String.fromCharCode(0x20 + extract(hi, lo, 6 * (ACRONYM_MAX_CHARS - 1 - i), 63));
  return out.trimEnd();
}

/** The numeric payload as decimal text (exact for the whole 56-bit range). */
export function numericText(hi: number, lo: number): string {
  const p = hi & HI_PAYLOAD_MASK;
  if (p < 0x400000) return String(p * HALF + lo); // < 2^51: exact in a double
  return ((BigInt(p) << 29n) | BigInt(lo)).toString();
}

/** The numeric payload as a number (exact up to Number.MAX_SAFE_INTEGER). */
export function numericValue(hi: number, lo: number): number {
  return (hi & HI_PAYLOAD_MASK) * HALF + lo;
}

/** Whole 58-bit id as a BigInt (for interop and documentation; never on hot paths). */
export function idToBigInt(hi: number, lo: number): bigint {
  return (BigInt(hi) << 29n) | BigInt(lo);
}

export function idFromBigInt(v: bigint): Id {
  if (v < 0n || v >= 1n << 58n) throw outOfRange('id', 'a 58-bit unsigned integer', v);
  return { hi: Number(v >> 29n), lo: Number(v & BigInt(HALF_MASK)) };
}

/** Whether a word or acronym id holds the glob character. */
export function idHasGlobChar(hi: number, lo: number): boolean {
  const naming = namingOf(hi);
  if (naming === NAMING_WORD) {
    for (let i = 0; i < WORD_MAX_CHARS; i++) if (extract(hi, lo, 5 * i, 31) === WORD_GLOB_CODE) return true;
    return false;
  }
  if (naming === NAMING_ACRONYM) {
    for (let i = 0; i < ACRONYM_MAX_CHARS; i++) if (extract(hi, lo, 6 * i, 63) === 0x2a - 0x20) return true;
    return false;
  }
  return false;
}

/**
 * 32-bit hash of a (domain index, hi, lo) name for hash tables. The tag's low half is folded
 * with itself (`lo ^ lo>>>9 ^ lo>>>18`, a bijection that maps every aligned block of 512
 * values onto itself), so dense runs of numeric names fill consecutive slots without a single
 * collision, while strided names still spread; the domain and the high half are mixed in.
 */
export function hashName(dom: number, hi: number, lo: number): number {
  let m = Math.imul(hi ^ Math.imul(dom, 0x27d4eb2d), 0x9e3779b1);
  m ^= m >>> 15;
  return lo ^ (lo >>> 9) ^ (lo >>> 18) ^ m;
}
