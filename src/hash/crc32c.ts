/** CRC32C, public API: validated arguments, then the faster of the native and TS paths. */
import { outOfRange, invalidArgType } from '../errors.js';
import { binding } from '../native/index.js';
import { crc32c as crc32cTs } from '../native/fallback/crc32c.js';
import { checkOutput, checkSlices, toBytes, type BytesLike, type SliceList } from './validate.js';

/**
 * Below this many bytes one N-API crossing (~100 ns) costs more than the CRC itself, so the
 * TS path runs even when the addon is loaded. Measured with `npm run bench` (crc32c 64 B rows):
 * the crossover sits near 96 bytes on x86-64 (AVX-512 machine, Node 20).
 */
export const CRC32C_NATIVE_MIN_BYTES = 96;

function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number') throw invalidArgType('seed', 'of type number', seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw outOfRange('seed', 'an integer >= 0 and <= 4294967295', seed);
  return seed;
}

/**
 * The standard CRC32C (Castagnoli) of `data`. Pass the CRC of the preceding bytes as `seed` to
 * continue a running CRC: `crc32c(b, crc32c(a)) === crc32c(a + b)`.
 */
export function crc32c(data: BytesLike, seed = 0): number {
  const bytes = toBytes(data, 'data');
  checkSeed(seed);
  return bytes.length < CRC32C_NATIVE_MIN_BYTES ? crc32cTs(bytes, seed) : binding.crc32c(bytes, seed);
}

/**
 * One CRC32C per slice of `data`, in one call. Slice i is `data[offsets[i], offsets[i] + lengths[i])`,
 * or without `lengths` the contiguous `data[offsets[i], offsets[i + 1])`. Every CRC starts from
 * `seed` (default 0). Results go to `out` when given (at least one entry per slice).
 */
export function crc32cMany(data: BytesLike, offsets: SliceList, lengths?: SliceList | null, options: { out?: Uint32Array; seed?: number } = {}): Uint32Array {
  const bytes = toBytes(data, 'data');
  const slices = checkSlices(bytes, offsets, lengths);
  const seed = checkSeed(options.seed ?? 0);
  let out = options.out;
  if (out === undefined) out = new Uint32Array(slices.count);
  else if (!(out instanceof Uint32Array)) throw invalidArgType('out', 'a Uint32Array', out);
  else checkOutput(out, slices.count, 'out');
  const target = out.length === slices.count ? out : out.subarray(0, slices.count);
  binding.crc32cMany(bytes, slices.offsets, slices.lengths, target, seed);
  return target;
}
