/**
 * CRC32C (Castagnoli) in TypeScript: slicing-by-8 for short inputs, slicing-by-16 over aligned
 * 32-bit words for long ones. Same results as
 * native/hash/crc32c.cc; also the small-input path of the public API, where crossing into
 * native costs more than the work.
 */

const POLY = 0x82f63b78; // reflected Castagnoli polynomial
const SLICES = 16;

/** tables[k * 256 + b]: CRC of byte b followed by k zero bytes. */
const tables = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(SLICES * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[(k - 1) * 256 + b];
      t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes, building a word view costs more than it saves. */
const WORD_VIEW_MIN = 256;

/** Advances a raw (not inverted) CRC register over data[start, end). */
export function crc32cRaw(state: number, data: Uint8Array, start: number, end: number): number {
  const t = tables;
  let crc = state | 0;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= WORD_VIEW_MIN) {
    // Align to 4 bytes, then read four little-endian words per 16-byte step.
    for (; (data.byteOffset + i) & 3; i++) crc = (crc >>> 8) ^ t[(crc ^ data[i]) & 0xff];
    const words = new Int32Array(data.buffer, data.byteOffset + i, ((end - i) >>> 4) << 2);
    crc = wordsRaw(crc, words);
    i += words.length << 2;
  } else {
    for (const stop = end - 7; i < stop; i += 8) {
      const lo = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
      crc =
        t[1792 + (lo & 0xff)] ^
        t[1536 + ((lo >>> 8) & 0xff)] ^
        t[1280 + ((lo >>> 16) & 0xff)] ^
        t[1024 + (lo >>> 24)] ^
        t[768 + data[i + 4]] ^
        t[512 + data[i + 5]] ^
        t[256 + data[i + 6]] ^
        t[data[i + 7]];
    }
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ t[(crc ^ data[i]) & 0xff];
  return crc;
}

function wordsRaw(crc: number, words: Int32Array): number {
  for (let w = 0; w < words.length; w += 4) crc = step16(crc ^ words[w], words[w + 1], words[w + 2], words[w + 3]);
  return crc;
}

/** One slicing-by-16 step: a = CRC-mixed first word, b..d the next three little-endian words. */
function step16(a: number, b: number, c: number, d: number): number {
  const t = tables;
  return (
    t[3840 + (a & 0xff)] ^
    t[3584 + ((a >>> 8) & 0xff)] ^
    t[3328 + ((a >>> 16) & 0xff)] ^
    t[3072 + (a >>> 24)] ^
    t[2816 + (b & 0xff)] ^
    t[2560 + ((b >>> 8) & 0xff)] ^
    t[2304 + ((b >>> 16) & 0xff)] ^
    t[2048 + (b >>> 24)] ^
    t[1792 + (c & 0xff)] ^
    t[1536 + ((c >>> 8) & 0xff)] ^
    t[1280 + ((c >>> 16) & 0xff)] ^
    t[1024 + (c >>> 24)] ^
    t[768 + (d & 0xff)] ^
    t[512 + ((d >>> 8) & 0xff)] ^
    t[256 + ((d >>> 16) & 0xff)] ^
    t[d >>> 24]
  );
}

/** Standard CRC32C of `data`, continuing from the finished CRC `crc` of the bytes before it. */
export function crc32c(data: Uint8Array, crc: number): number {
  return ~crc32cRaw(~crc, data, 0, data.length) >>> 0;
}

/** One CRC32C per slice; see HashBinding.crc32cMany. */
export function crc32cMany(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array | null, out: Uint32Array, seed: number): void {
  const init = ~seed;
  for (let i = 0; i < out.length; i++) {
    const start = offsets[i];
    const end = lengths ? start + lengths[i] : offsets[i + 1];
    out[i] = ~crc32cRaw(init, data, start, end) >>> 0;
  }
}
