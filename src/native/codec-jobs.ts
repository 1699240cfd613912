/**
 * The TypeScript twin of the executor's codec jobs (native/executor/codec.cc): deflate and
 * inflate through node:zlib (the same zlib the addon calls, so the bytes are the same) and
 * AEAD seal/open through sodium-native (ChaCha20-Poly1305 IETF and XChaCha20-Poly1305, the
 * constructions the native job builds from OpenSSL and HChaCha20). The twin runs a job in one
 * piece: it cannot stop half-way, so a cancel lands only while the job is queued and a CPU
 * budget is judged once the job is done.
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG, DEFLATE_FORMATS, JOB_AEAD_SEAL, JOB_DEFLATE, JOB_INFLATE, ST_BYTE_BUDGET, ST_FAILED, ST_INVALID, ST_OK } from './ops.js';

/** A finished codec job: value, status and (deflate/inflate) the output. */
export type CodecOutcome = [number, number, Uint8Array?];

type AeadCall = (out: Uint8Array, nsec: null, input: Uint8Array, ad: Uint8Array, npub: Uint8Array, key: Uint8Array) => number;
type AeadSealCall = (out: Uint8Array, input: Uint8Array, ad: Uint8Array, nsec: null, npub: Uint8Array, key: Uint8Array) => number;

interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt: AeadSealCall;
  crypto_aead_chacha20poly1305_ietf_decrypt: AeadCall;
  crypto_aead_xchacha20poly1305_ietf_encrypt: AeadSealCall;
  crypto_aead_xchacha20poly1305_ietf_decrypt: AeadCall;
}

let sodium: SodiumAead | undefined;
const loadSodium = (): SodiumAead => (sodium ??= createRequire(import.meta.url)('sodium-native') as SodiumAead);

const DEFLATE_BY_FORMAT = [zlib.deflateSync, zlib.deflateRawSync, zlib.gzipSync];
const INFLATE_BY_FORMAT = [zlib.inflateSync, zlib.inflateRawSync, zlib.gunzipSync];

/** The job param of a deflate/inflate job: level + 1 in bits 0..3, the format in bits 4..5. */
export function deflateParam(level: number, format: number): number {
  return (level + 1) | (format << 4);
}

function runZlib(kind: number, param: number, input: Uint8Array, maxOut: number): CodecOutcome {
  const level = (param & 15) - 1;
  const format = (param >> 4) & 3;
  if (format > DEFLATE_FORMATS.gzip || level < -1 || level > 9 || input.length > 0xffffffff) return [0, ST_INVALID];
  if (kind === JOB_DEFLATE) {
    const out = DEFLATE_BY_FORMAT[format](input, { level });
    return [out.length, ST_OK, out];
  }
  try {
    const out = INFLATE_BY_FORMAT[format](input, maxOut > 0 ? { maxOutputLength: maxOut } : {});
    return [out.length, ST_OK, out];
  } catch (error) {
    const e = error as { code?: string; errno?: number };
    if (e.code === 'ERR_BUFFER_TOO_LARGE') return [0, ST_BYTE_BUDGET];
    if (typeof e.errno === 'number') return [e.errno, ST_FAILED];
    throw error;
  }
}

function runAead(seal: boolean, cipher: number, input: Uint8Array, out: Uint8Array | undefined, aux: Uint8Array | undefined): CodecOutcome {
  const nonceBytes = AEAD_NONCE_BYTES[cipher as 0 | 1];
  if (nonceBytes === undefined || aux === undefined || aux.length < AEAD_KEY_BYTES + nonceBytes) return [0, ST_INVALID];
  if (!seal && input.length < AEAD_TAG) return [0, ST_FAILED];
  const body = seal ? input.length : input.length - AEAD_TAG;
  const size = seal ? body + AEAD_TAG : body;
  if ((out?.length ?? 0) < size) return [0, ST_INVALID];
  const key = aux.subarray(0, AEAD_KEY_BYTES);
  const nonce = aux.subarray(AEAD_KEY_BYTES, AEAD_KEY_BYTES + nonceBytes);
  const ad = aux.subarray(AEAD_KEY_BYTES + nonceBytes);
  const s = loadSodium();
  const target = out!.subarray(0, size);
  if (seal) {
    const fn = cipher === 0 ? s.crypto_aead_chacha20poly1305_ietf_encrypt : s.crypto_aead_xchacha20poly1305_ietf_encrypt;
    return [fn(target, input, ad, null, nonce, key), ST_OK];
  }
  const fn = cipher === 0 ? s.crypto_aead_chacha20poly1305_ietf_decrypt : s.crypto_aead_xchacha20poly1305_ietf_decrypt;
  try {
    return [fn(target, null, input, ad, nonce, key), ST_OK];
  } catch {
    target.fill(0); // never hand out unauthenticated plaintext
    return [0, ST_FAILED];
  }
}

/** Runs one deflate, inflate, aead-seal or aead-open job, as native run_job does. */
export function runCodecJob(kind: number, param: number, input: Uint8Array, out: Uint8Array | undefined, aux: Uint8Array | undefined, maxOut: number): CodecOutcome {
  if (kind === JOB_DEFLATE || kind === JOB_INFLATE) return runZlib(kind, param, input, maxOut);
  return runAead(kind === JOB_AEAD_SEAL, param, input, out, aux);
}
