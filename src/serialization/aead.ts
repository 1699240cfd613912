/**
 * AEAD on payload chunks (docs/FORMAT.md, "AEAD"): ChaCha20-Poly1305 (IETF) or
 * XChaCha20-Poly1305 through sodium-native. Everything is derived from the caller's 32-byte
 * key with BLAKE3, so the same content under the same key gives the same bytes (replays
 * reproduce frames):
 *
 *   fingerprint key = BLAKE3-derive-key("CEP flat frame v1 AEAD fingerprint", key)
 *   nonce key       = BLAKE3-derive-key("CEP flat frame v1 AEAD nonce", key)
 *   fingerprint     = keyed BLAKE3(fingerprint key, plaintext payload)   (no plain hash leaks)
 *   nonce           = first 12/24 bytes of keyed BLAKE3(nonce key, chunk key || fingerprint)
 *   AAD             = the chunk's record key (binds the ciphertext to its cell and position)
 */
import { createRequire } from 'node:module';
import { frameError, invalidArgType, invalidArgValue } from '../errors.js';
import { BLAKE3_KEYED_HASH } from '../native/binding.js';
import { binding } from '../native/index.js';
import { AEAD_CHACHA20, AEAD_XCHACHA20 } from './format.js';

export type AeadCipher = 'chacha20-poly1305' | 'xchacha20-poly1305';

export interface AeadOptions {
  /** The 32-byte secret key. */
  key: Uint8Array;
  /** Default 'xchacha20-poly1305'. */
  cipher?: AeadCipher;
}

interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): number;
}

let sodium: Sodium | undefined;
function sodiumNative(): Sodium {
  sodium ??= createRequire(import.meta.url)('sodium-native') as Sodium;
  return sodium;
}

export const AEAD_TAG_BYTES = 16;

const DERIVE_CONTEXT = 1 << 5;
const DERIVE_MATERIAL = 1 << 6;

function deriveKey(context: string, material: Uint8Array): Uint8Array {
  const ctx = new Uint8Array(32);
  binding.blake3(new TextEncoder().encode(context), null, DERIVE_CONTEXT, ctx, 0);
  const out = new Uint8Array(32);
  binding.blake3(material, ctx, DERIVE_MATERIAL, out, 0);
  return out;
}

/** The chunk sealer/opener for one key and cipher. */
export class ChunkCipher {
  readonly selector: number;
  readonly nonceBytes: number;
  private readonly key: Uint8Array;
  private readonly fpKey: Uint8Array;
  private readonly nonceKey: Uint8Array;
  private readonly scratch = new Uint8Array(64);

  constructor(options: AeadOptions, selector?: number) {
    if (options === null || typeof options !== 'object') throw invalidArgType('aead', 'an object { key, cipher? }', options);
    if (!(options.key instanceof Uint8Array) || options.key.length !== 32) throw invalidArgValue('aead.key', 'it must be a 32-byte Uint8Array');
    const cipher = options.cipher ?? 'xchacha20-poly1305';
    if (cipher !== 'chacha20-poly1305' && cipher !== 'xchacha20-poly1305') throw invalidArgValue('aead.cipher', "it must be 'chacha20-poly1305' or 'xchacha20-poly1305'");
    this.selector = selector ?? (cipher === 'chacha20-poly1305' ? AEAD_CHACHA20 : AEAD_XCHACHA20);
    this.nonceBytes = this.selector === AEAD_CHACHA20 ? 12 : 24;
    this.key = options.key.slice();
    this.fpKey = deriveKey('CEP flat frame v1 AEAD fingerprint', this.key);
    this.nonceKey = deriveKey('CEP flat frame v1 AEAD nonce', this.key);
  }

  /** Keyed fingerprint of a whole plaintext payload into out[at, at+32). */
  fingerprint(payload: Uint8Array, out: Uint8Array, at: number): void {
    binding.blake3(payload, this.fpKey, BLAKE3_KEYED_HASH, out.subarray(at, at + 32), 0);
  }

  /** The nonce of a chunk into out[at, at+nonceBytes). */
  nonce(chunkKey: Uint8Array, fingerprint: Uint8Array, out: Uint8Array, at: number): void {
    const input = new Uint8Array(chunkKey.length + 32);
    input.set(chunkKey);
    input.set(fingerprint, chunkKey.length);
    binding.blake3(input, this.nonceKey, BLAKE3_KEYED_HASH, this.scratch.subarray(0, 32), 0);
    out.set(this.scratch.subarray(0, this.nonceBytes), at);
  }

  /** Seal `plain` into out (plain.length + 16 bytes). */
  seal(out: Uint8Array, plain: Uint8Array, chunkKey: Uint8Array, nonce: Uint8Array): void {
    const s = sodiumNative();
    if (this.selector === AEAD_CHACHA20) s.crypto_aead_chacha20poly1305_ietf_encrypt(out, plain, chunkKey, null, nonce, this.key);
    else s.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plain, chunkKey, null, nonce, this.key);
  }

  /** Open a sealed chunk into out; a wrong key or altered bytes is ERR_FRAME_AEAD. */
  open(out: Uint8Array, sealed: Uint8Array, chunkKey: Uint8Array, nonce: Uint8Array, offset: number): void {
    const s = sodiumNative();
    try {
      if (this.selector === AEAD_CHACHA20) s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, chunkKey, nonce, this.key);
      else s.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, chunkKey, nonce, this.key);
    } catch {
      throw frameError('ERR_FRAME_AEAD', 'a sealed payload chunk does not open with this key', offset);
    }
  }
}
