/**
 * Checks the options of an executor codec job (deflate, inflate, aead-seal, aead-open) and
 * turns them into the descriptor fields both halves read: the param (level and framing, or
 * the cipher), the output cap, the aux bytes (key || nonce || associated data, copied so the
 * caller may reuse its buffers) and the preallocated AEAD output.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { deflateParam } from '../native/codec-jobs.js';
import { AEAD_CIPHERS, AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG, DEFLATE_FORMATS, type JobKind } from '../native/ops.js';

export interface CodecJobOptions {
  level?: number;
  format?: string;
  maxOutputBytes?: number;
  key?: Uint8Array;
  nonce?: Uint8Array;
  ad?: Uint8Array;
  cipher?: string;
}

export interface CodecJobFields {
  param: number;
  maxOut: number;
  aux: Uint8Array | undefined;
  out: Uint8Array | undefined;
}

const NONE: CodecJobFields = { param: 0, maxOut: 0, aux: undefined, out: undefined };
export const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const MAX_OUTPUT_LIMIT = 0xffffffff;

function formatCode(format: string | undefined): number {
  const code = DEFLATE_FORMATS[(format ?? 'zlib') as keyof typeof DEFLATE_FORMATS];
  if (code === undefined) throw invalidArgValue('format', `must be one of ${Object.keys(DEFLATE_FORMATS).join(', ')}`);
  return code;
}

function bytesOption(name: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgType(name, 'a Uint8Array', value);
  if (length !== undefined && value.length !== length) throw invalidArgValue(name, `it must be ${length} bytes`);
  return value;
}

/** Throws a coded error (and nothing is queued) when an option does not fit the kind. */
export function codecJobFields(kind: JobKind, input: Uint8Array | undefined, options: CodecJobOptions): CodecJobFields {
  if (kind === 'deflate') {
    const level = options.level ?? -1;
    if (!Number.isInteger(level) || level < -1 || level > 9) throw outOfRange('level', 'an integer in -1 .. 9', level);
    return { ...NONE, param: deflateParam(level, formatCode(options.format)) };
  }
  if (kind === 'inflate') {
    const maxOut = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    if (!Number.isInteger(maxOut) || maxOut < 1 || maxOut > MAX_OUTPUT_LIMIT) throw outOfRange('maxOutputBytes', `an integer in 1 .. ${MAX_OUTPUT_LIMIT}`, maxOut);
    return { ...NONE, param: deflateParam(-1, formatCode(options.format)), maxOut };
  }
  if (kind !== 'aead-seal' && kind !== 'aead-open') return NONE;
  const cipher = AEAD_CIPHERS[(options.cipher ?? 'xchacha20-poly1305') as keyof typeof AEAD_CIPHERS];
  if (cipher === undefined) throw invalidArgValue('cipher', `must be one of ${Object.keys(AEAD_CIPHERS).join(', ')}`);
  const key = bytesOption('key', options.key, AEAD_KEY_BYTES);
  const nonce = bytesOption('nonce', options.nonce, AEAD_NONCE_BYTES[cipher]);
  const ad = options.ad === undefined ? undefined : bytesOption('ad', options.ad);
  const aux = new Uint8Array(key.length + nonce.length + (ad?.length ?? 0));
  aux.set(key, 0);
  aux.set(nonce, key.length);
  if (ad) aux.set(ad, key.length + nonce.length);
  const length = input?.length ?? 0;
  const out = new Uint8Array(kind === 'aead-seal' ? length + AEAD_TAG : Math.max(0, length - AEAD_TAG));
  return { param: cipher, maxOut: 0, aux, out };
}
