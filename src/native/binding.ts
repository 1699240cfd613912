/**
 * The one interface both halves implement: the C++ addon (native/napi/addon.cc) and the
 * pure-TypeScript twins in ./fallback/. Everything here is low level and trusts its
 * arguments: the public wrappers in src/hash/ validate first ("validate in TS, compute in C++").
 */
import type { BackendProbe, ExecutorCore, ReactorCore } from '../async/core.js';

/** BLAKE3 domain flags (BLAKE3 specification, table 3), as passed to {@link HashBinding.blake3}. */
export const BLAKE3_KEYED_HASH = 1 << 4;
export const BLAKE3_DERIVE_KEY_CONTEXT = 1 << 5;
export const BLAKE3_DERIVE_KEY_MATERIAL = 1 << 6;

/** An incremental BLAKE3 state. */
export interface Blake3State {
  /** Absorbs `data`. */
  update(data: Uint8Array): void;
  /** Writes `out.length` bytes of output starting at output byte `seek`; the state stays usable. */
  finalize(out: Uint8Array, seek: number): void;
  /** Forgets all input, keeping the key and mode it was created with. */
  reset(): void;
}

export interface HashBinding {
  /**
   * Standard CRC32C (Castagnoli, reflected 0x82F63B78, init/xorout 0xFFFFFFFF) of `data`,
   * continuing from `crc`, the finished CRC of the bytes before it (0 for a fresh start).
   */
  crc32c(data: Uint8Array, crc: number): number;
  /**
   * One CRC32C per slice of `data`, each started from `seed`. Slice i is
   * `data[offsets[i] .. offsets[i] + lengths[i])`, or with `lengths` null the contiguous
   * `data[offsets[i] .. offsets[i + 1])` (offsets then has one more entry than `out`).
   */
  crc32cMany(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array | null, out: Uint32Array, seed: number): void;
  /**
   * BLAKE3 of `data` into `out` (any length, XOF from byte `seek`). `key` is the 32-byte key
   * for the keyed and derive-key-material modes, null otherwise; `flags` is 0 or one of the
   * BLAKE3_* domain flags above.
   */
  blake3(data: Uint8Array, key: Uint8Array | null, flags: number, out: Uint8Array, seek: number): void;
  /** 32-byte BLAKE3 hashes of many slices (same slice rules as crc32cMany) into `out`. */
  blake3Many(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array | null, out: Uint8Array): void;
  /** A fresh incremental state for the given key (or null) and flags. */
  blake3Hasher(key: Uint8Array | null, flags: number): Blake3State;
}

// ---- async I/O: reactor backends and executor (native/napi/reactor.cc, executor.cc) ------------

/** The reactor and executor classes; the fallback twin has no native reactors (portable only). */
export interface AsyncBinding {
  /** Which native reactor backends this kernel accepts, and why not. */
  reactorProbe(): BackendProbe[];
  NativeReactor: new (kind: string, depth: number, wake: () => void) => ReactorCore;
  NativeExecutor: new (threads: number, wake: () => void) => ExecutorCore;
}

export interface Binding extends HashBinding, AsyncBinding {
  /** CPU features the code dispatches on, e.g. ['sse4.2', 'pclmul', 'avx2', 'avx512', 'vpclmulqdq']. */
  cpuFeatures(): string[];
  /**
   * Caps the instruction sets the dispatcher may use ('portable', 'sse4.2', 'avx2', 'avx512',
   * or 'auto' for everything detected), so tests can drive every code path on one machine.
   * Returns the tier now in force.
   */
  setCpuTier(tier: string): string;
}
