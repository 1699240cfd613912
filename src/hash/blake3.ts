/**
 * BLAKE3, public API: validated arguments, then the loaded binding (native, or the pure-TS
 * fallback). Covers the three modes of the specification (hash, keyed hash, derive key), the
 * extendable output (any length, from any position), incremental hashing, and many slices of
 * one buffer in one call.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { binding } from '../native/index.js';
import type { Blake3State } from '../native/index.js';
import { BLAKE3_DERIVE_KEY_CONTEXT, BLAKE3_DERIVE_KEY_MATERIAL, BLAKE3_KEYED_HASH } from '../native/binding.js';
import { checkLength, checkOptions, checkOutput, checkOutputLength, checkSlices, toBinary, toBytes, type BytesLike, type SliceList } from './validate.js';

/** Default output length in bytes. */
export const BLAKE3_OUT_LEN = 32;
/** Key length in bytes (keyed mode). */
export const BLAKE3_KEY_LEN = 32;

export interface Blake3Options {
  /** Output length in bytes. Default 32, or `out.length` when `out` is longer (a shorter `out` needs an explicit `length`). */
  length?: number;
  /** 32-byte key: switches to the keyed-hash mode. */
  key?: ArrayBufferView;
  /** Where to write the output (its first `length` bytes). Default: a new Uint8Array. */
  out?: Uint8Array;
  /** First output byte to produce: the extendable output read from this position. Default 0. */
  seek?: number;
}

export type Blake3DigestOptions = Omit<Blake3Options, 'key'>;

export interface Blake3HasherOptions {
  /** 32-byte key: keyed-hash mode. */
  key?: ArrayBufferView;
  /** Context string (or bytes): derive-key mode, the input being the key material. */
  context?: BytesLike;
}

function checkKey(key: unknown): Uint8Array {
  const bytes = toBinary(key, 'key');
  if (bytes.length !== BLAKE3_KEY_LEN) throw outOfRange('key', `${BLAKE3_KEY_LEN} bytes long`, `${bytes.length} bytes`);
  return bytes;
}

/** A caller's output buffer: a Uint8Array (a Buffer is one) with room for `length` bytes. */
function checkOut(out: unknown, length: number): Uint8Array {
  if (!(out instanceof Uint8Array)) throw invalidArgType('out', 'a Uint8Array', out);
  checkOutput(out, length, 'out');
  return out;
}

/** `out` itself when it is `length` bytes long, else its first `length` bytes. */
function exactly(out: Uint8Array, length: number): Uint8Array {
  return out.length === length ? out : out.subarray(0, length);
}

/** The output buffer a call writes to, exactly `length` bytes, and where the output starts. */
function outputOf(options: Partial<Blake3DigestOptions>): { target: Uint8Array; seek: number } {
  const { out } = options;
  let length: number;
  if (out === undefined) {
    length = options.length === undefined ? BLAKE3_OUT_LEN : checkOutputLength(options.length, 'length');
  } else {
    // without `length`: 32 bytes, or all of a longer `out`; a shorter one is refused, never a short hash
    length = options.length === undefined ? Math.max(BLAKE3_OUT_LEN, checkOut(out, 0).length) : checkLength(options.length, 'length');
    checkOut(out, length);
  }
  // Keeps seek + length exact as a double (the fallback's block arithmetic needs it).
  const seek = options.seek === undefined ? 0 : checkLength(options.seek, 'seek', Number.MAX_SAFE_INTEGER - length);
  return { target: out === undefined ? new Uint8Array(length) : exactly(out, length), seek };
}

/** The 32-byte key of a derive-key context: BLAKE3 of the context in DERIVE_KEY_CONTEXT mode. */
function contextKey(context: unknown): Uint8Array {
  const key = new Uint8Array(BLAKE3_KEY_LEN);
  binding.blake3(toBytes(context, 'context'), null, BLAKE3_DERIVE_KEY_CONTEXT, key, 0);
  return key;
}

/**
 * BLAKE3 of `data` (a string is hashed as UTF-8; any ArrayBufferView as its bytes). With
 * `key`, the keyed hash (a MAC). `length` and `seek` read any part of the extendable output.
 */
export function blake3(data: BytesLike, options?: Blake3Options): Uint8Array {
  const bytes = toBytes(data, 'data');
  if (options === undefined) {
    const out = new Uint8Array(BLAKE3_OUT_LEN);
    binding.blake3(bytes, null, 0, out, 0);
    return out;
  }
  const opts = checkOptions(options);
  const key = opts.key === undefined ? null : checkKey(opts.key);
  const { target, seek } = outputOf(opts);
  binding.blake3(bytes, key, key === null ? 0 : BLAKE3_KEYED_HASH, target, seek);
  return target;
}

/**
 * BLAKE3 key derivation: `length` bytes of key for `context` (a fixed, application-specific
 * string such as "example.com 2024-01-01 session tokens v1") from the secret `material`.
 */
export function blake3DeriveKey(context: BytesLike, material: BytesLike, length: number = BLAKE3_OUT_LEN): Uint8Array {
  const contextBytes = toBytes(context, 'context');
  const bytes = toBytes(material, 'material');
  const out = new Uint8Array(checkOutputLength(length, 'length'));
  binding.blake3(bytes, contextKey(contextBytes), BLAKE3_DERIVE_KEY_MATERIAL, out, 0);
  return out;
}

/**
 * Incremental BLAKE3: `update` any number of times, `digest` whenever (it does not end the
 * hasher: more input may follow, and the next digest covers everything so far).
 */
export class Blake3Hasher {
  readonly #state: Blake3State;

  constructor(options?: Blake3HasherOptions) {
    const opts = checkOptions(options);
    if (opts.key !== undefined && opts.context !== undefined) {
      throw invalidArgValue('options', 'key and context are mutually exclusive');
    }
    if (opts.key !== undefined) this.#state = binding.blake3Hasher(checkKey(opts.key), BLAKE3_KEYED_HASH);
    else if (opts.context !== undefined) this.#state = binding.blake3Hasher(contextKey(opts.context), BLAKE3_DERIVE_KEY_MATERIAL);
    else this.#state = binding.blake3Hasher(null, 0);
  }

  /** Absorbs `data` (a string as UTF-8, any ArrayBufferView as its bytes). */
  update(data: BytesLike): this {
    this.#state.update(toBytes(data, 'data'));
    return this;
  }

  /** The output for everything absorbed so far (32 bytes by default; see Blake3Options). */
  digest(options?: Blake3DigestOptions): Uint8Array {
    const { target, seek } = outputOf(checkOptions(options));
    this.#state.finalize(target, seek);
    return target;
  }

  /** Forgets all input, keeping the key or context. */
  reset(): this {
    this.#state.reset();
    return this;
  }
}

/** A new incremental hasher (see Blake3Hasher). */
export function createBlake3(options?: Blake3HasherOptions): Blake3Hasher {
  return new Blake3Hasher(options);
}

/**
 * 32-byte BLAKE3 hashes of many slices of `data` in one call, concatenated. Slice i is
 * `data[offsets[i], offsets[i] + lengths[i])`, or without `lengths` the contiguous
 * `data[offsets[i], offsets[i + 1])`. Results go to `out` when given (at least 32 bytes per slice).
 */
export function blake3Many(data: BytesLike, offsets: SliceList, lengths?: SliceList | null, out?: Uint8Array): Uint8Array {
  const bytes = toBytes(data, 'data');
  const slices = checkSlices(bytes, offsets, lengths);
  const size = slices.count * BLAKE3_OUT_LEN;
  let target: Uint8Array;
  if (out === undefined) target = new Uint8Array(size);
  else target = exactly(checkOut(out, size), size);
  // The binding takes the slice count from out.length; with no slices there is nothing to do.
  if (slices.count > 0) binding.blake3Many(bytes, slices.offsets, slices.lengths, target);
  return target;
}
