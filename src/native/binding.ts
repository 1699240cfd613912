/**
 * The one interface both halves implement: the C++ addon (native/napi/addon.cc) and the
 * pure-TypeScript twins in ./fallback/. Everything here is low level and trusts its
 * arguments: the public wrappers in src/hash/ validate first ("validate in TS, compute in C++").
 */
import type { BackendProbe, ExecutorCore, ReactorCore } from './core.js';

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

// ---- flat frames (docs/FORMAT.md; native/flat/flat.h mirrors these numbers) ----------------

/** Frame header size: magic, version, apply mode, 2 reserved, caps u32, header CRC32C. */
export const FLAT_HEADER_SIZE = 16;
/** Longest record key a reader accepts (bytes). */
export const FLAT_KEY_MAX = 64;
/** u32 entries per record in the index flatValidate returns. */
export const FLAT_INDEX_STRIDE = 5;
/** The 32-byte BLAKE3 key of the root finalization (ASCII). */
export const FLAT_ROOT_KEY = 'CEP flat frame v2: chained root.';
/** Frame format version (header byte 4). */
export const FLAT_VERSION = 2;
/** Most cell descriptions one cell_desc record (a run) holds. */
export const FLAT_RUN_MAX = 4096;
/**
 * Shortest descriptions: the branch root's anchor, and any other cell's anchor. A run's body
 * must hold at least 2 + FLAT_ROOT_DESC_MIN + FLAT_DESC_MIN * (count - 1) bytes, so the cells a
 * frame can claim (and what a reader allocates for them) stay proportional to its size.
 */
export const FLAT_ROOT_DESC_MIN = 3;
export const FLAT_DESC_MIN = 19;

export const FLAT_T_CELL = 0x01;
export const FLAT_T_CHUNK = 0x02;
export const FLAT_T_MANIFEST = 0x03;
export const FLAT_T_ORDER = 0x04;
export const FLAT_T_NAMEPOOL = 0x05;
export const FLAT_T_HISTORY = 0x06;
export const FLAT_T_MANIFEST_HISTORY = 0x07;
export const FLAT_T_TRAILER = 0xff;

export const FLAT_CAP_NAMEPOOL = 1 << 0;
export const FLAT_CAP_CHUNKS = 1 << 1;
export const FLAT_CAP_PAYLOAD_HISTORY = 1 << 2;
export const FLAT_CAP_AEAD = 1 << 3;
export const FLAT_CAP_DEFLATE = 1 << 4;
export const FLAT_CAP_TOC = 1 << 5;
export const FLAT_CAP_MANIFEST = 1 << 6;
export const FLAT_CAP_ORDER = 1 << 7;
export const FLAT_CAP_MANIFEST_HISTORY = 1 << 8;
/** What this version reads; a frame announcing anything else is refused before its records. */
export const FLAT_CAPS_SUPPORTED = 0x1ff;

/** Status codes of flatFinish (negated) and flatValidate (diag[0]). */
export const FLAT_STATUS_TRUNCATED = 1;
export const FLAT_STATUS_CRC = 2;
export const FLAT_STATUS_MERKLE = 3;
export const FLAT_STATUS_FORMAT = 4;
export const FLAT_STATUS_UNSUPPORTED = 5;
export const FLAT_STATUS_MALFORMED = 6;
export const FLAT_STATUS_CHUNK = 7;
export const FLAT_STATUS_CAPACITY = 8;
export const FLAT_STATUS_CAPS = 9;

/** Slots of flatFinish's `params` (a Float64Array: beats go past 2^32). */
export const FINISH_BEAT = 0;
export const FINISH_MODE = 1;
export const FINISH_CAPS = 2;
export const FINISH_AEAD = 3;
export const FINISH_COMPRESSION = 4;
export const FINISH_PHIST = 5;
export const FINISH_MHIST = 6;
export const FINISH_PARAMS = 7;

export interface FlatBinding {
  /**
   * Finish a staged frame in place. `buf[16, end)` holds records (type, version, flags, varint
   * key and body lengths, key, body, 4 placeholder bytes) in strictly ascending key order.
   * Writes the header, each record's CRC32C and the trailer (at `end`) from `params`
   * (FINISH_* slots) and the 32-byte previous root; returns the frame length or a negative
   * FLAT_STATUS_* (malformed staging, keys out of order, buffer too small).
   */
  flatFinish(buf: Uint8Array, end: number, params: Float64Array, prevRoot: Uint8Array): number;
  /**
   * Validate a whole frame (no container). Returns its record index (FLAT_INDEX_STRIDE u32 per
   * record, the trailer last: start, key offset, key length, body offset, body length), or
   * null with `diag` = [FLAT_STATUS_*, byte offset].
   */
  flatValidate(frame: Uint8Array, diag: Float64Array): Uint32Array | null;
}

// ---- async I/O: reactor backends and executor (native/napi/reactor.cc, executor.cc) ------------

/** The reactor and executor classes; the fallback twin has no native reactors (portable only). */
export interface AsyncBinding {
  /** Which native reactor backends this kernel accepts, and why not. */
  reactorProbe(): BackendProbe[];
  /** `inline` (default true): frame ops run on the calling thread when they need no wait. */
  NativeReactor: new (
    kind: string,
    depth: number,
    wake: () => void,
    inline?: boolean,
  ) => ReactorCore;
  NativeExecutor: new (threads: number, wake: () => void) => ExecutorCore;
}

export interface Binding extends HashBinding, FlatBinding, AsyncBinding {
  /** CPU features the code dispatches on, e.g. ['sse4.2', 'pclmul', 'avx2', 'avx512', 'vpclmulqdq']. */
  cpuFeatures(): string[];
  /**
   * Caps the instruction sets the dispatcher may use ('portable', 'sse4.2', 'avx2', 'avx512',
   * or 'auto' for everything detected), so tests can drive every code path on one machine.
   * Returns the tier now in force.
   */
  setCpuTier(tier: string): string;
  /**
   * CPU time the calling thread has run, in milliseconds (`CLOCK_THREAD_CPUTIME_ID`; -1 where the
   * system has no such clock). Differences measure a slice's own work on its thread. The
   * fallback has no per-thread CPU clock (Node 20 has none) and returns `performance.now()`:
   * there, a difference also counts the time the thread waited for a core.
   */
  threadCpuMs(): number;
  /**
   * Opens `path` (created if missing, close-on-exec) and takes `flock(LOCK_EX | LOCK_NB)` on it:
   * returns the descriptor that holds the lock (close it to release), or LOCK_HELD when another
   * open file description holds it (this process or another). The kernel drops the lock when
   * its holder dies. Node has no flock: the fallback returns LOCK_UNAVAILABLE and the caller
   * uses its own protocol (src/persistence/flatfile/lock.ts). Other failures: ERR_STORE_IO.
   */
  lockFile(path: string): number;
}

/** {@link Binding.lockFile}: the lock is held by another open file description. */
export const LOCK_HELD = -1;
/** {@link Binding.lockFile}: this binding has no OS file locks (the fallback). */
export const LOCK_UNAVAILABLE = -2;
