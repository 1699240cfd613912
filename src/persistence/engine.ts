/**
 * The storage engine contract (docs/persistence.md). The persistence service (CPS) frames each
 * dirty branch once per beat and hands the frames to one engine; the engine makes a beat's frames
 * durable together or not at all. Engines advertise what they can do as capability bits; the
 * service refuses an engine that lacks what the serializer needs.
 *
 * Branches are named by their path below `/data` (e.g. 'ledger' for `/data/ledger`). Frames are
 * the bytes `encodeBranch` produced (docs/FORMAT.md); the service has validated them with
 * `readFrame`, the engine re-validates what it reads back from disk.
 */

/** Capability bits (`StorageEngine.caps`). */
export const ENGINE_CAP = {
  /** All frames of a beat become durable together, or none of them does. */
  BEAT_ATOMIC: 1 << 0,
  /** `frames()` scans a beat range without reading the whole log. */
  PREFIX_SCAN: 1 << 1,
  /** Stored bytes are checked with CRC32C on read. */
  CRC32C: 1 << 2,
  /** Frame roots are verified (Merkle root, previous-root hash chain) on read and recovery. */
  MERKLE: 1 << 3,
  /** Stores AEAD-sealed payload chunks as they are (the key never reaches the engine). */
  AEAD: 1 << 4,
  /** Stores deflate-wrapped frames. */
  DEFLATE: 1 << 5,
  /** Large payloads are kept once, content-addressed (`cas/XY/<hash>`). */
  CAS_DEDUP: 1 << 6,
  /** Keeps frames carrying history windows, so as-of reads reach persisted history. */
  HISTORY_WINDOW: 1 << 7,
  /** Frames carrying namepool deltas are kept in order, so references resolve on replay. */
  NAMEPOOL_MAP: 1 << 8,
  /** The store lives on another machine. */
  REMOTE: 1 << 9,
} as const;

export type EngineCapName = keyof typeof ENGINE_CAP;

/** One frame as stored. */
export interface StoredFrame {
  branch: string;
  beat: number;
  mode: 'delta' | 'snapshot';
  /** The frame's Merkle root and its previous-root field (32 bytes each). */
  root: Uint8Array;
  prevRoot: Uint8Array;
  /** The frame bytes exactly as `encodeBranch` produced them. */
  bytes: Uint8Array;
  /** Where the frame lies, for `readRange` (engines that support positioned reads). */
  locator?: FrameLocator;
}

/** Where a stored frame's bytes lie: opaque to the service, handed back to `readRange`. */
export interface FrameLocator {
  file: string;
  offset: number;
}

/** Where a branch stands on disk. */
export interface BranchHead {
  /** Last durable beat that carried a frame of this branch. */
  beat: number;
  /** That frame's root (the next frame's previous root). */
  root: Uint8Array;
  /** Beat of the newest checkpoint (snapshot frame), or -1. */
  checkpointBeat: number;
}

/** What opening (recovering) a store found. */
export interface RecoveryReport {
  /** Last beat every branch agrees was committed (-1: empty store). */
  beat: number;
  /**
   * What was cut, per file: bytes removed, the first beat lost and why. `branch` '' is a
   * store-wide file (the journal, the CAS manifest); `file` is relative to the store.
   */
  cut: Array<{ branch: string; bytes: number; fromBeat: number; reason: string; file?: string }>;
  /** Bytes scanned and verified. */
  scannedBytes: number;
  /**
   * Damage found: records that are not crash artefacts (a bad record with more data after it, a
   * beat that later files prove durable). An open refuses such a store (ERR_STORE_CORRUPT, this
   * report on `error.report`) unless it was asked to repair it.
   */
  damage?: Array<{ branch: string; file: string; offset: number; fromBeat: number; reason: string }>;
  /**
   * With `damage`, when no repair can reach a consistent state: why (a compacted branch would
   * keep no checkpoint to rebuild it from). A repair then refuses and changes nothing.
   */
  unrepairable?: string;
  /** Where a repair moved the bytes it cut (byte for byte, with a manifest.json). */
  quarantine?: string;
}

/** The manifest of an exported bundle. */
export interface BundleManifest {
  branch: string;
  /** Beat and root of the newest frame in the bundle. */
  beat: number;
  root: Uint8Array;
  /** Every file of the bundle (relative path), its size and BLAKE3 hex. */
  files: Array<{ path: string; size: number; blake3: string }>;
}

export interface EngineStats {
  frames: number;
  beats: number;
  /** Bytes in logs, checkpoints and CAS blobs. */
  bytes: number;
  checkpoints: number;
  casBlobs: number;
  casHits: number;
  casMisses: number;
  /** Syncs issued and their total time in ns (the wall clock is read here, outside the kernel). */
  syncs: number;
  syncNs: number;
}

/**
 * The engine vtable. Exactly one transaction is open at a time; it holds one beat or several
 * consecutive ones (group commit):
 * (`beginBeat(n)` → `putFrame(...)`*)+ → `commitBeat()` | `abortBeat()`.
 * `beginBeat(n2)` while beat n1 < n2 is open seals n1 into the transaction and opens n2;
 * `commitBeat()` makes every beat of it durable in one sync round, `abortBeat()` drops them all.
 * Each beat stays its own atomic unit on disk: a crash during the round keeps, per the
 * engine's recovery, some prefix of the transaction's beats (each one whole) and never a part
 * of a beat; only the resolved `commitBeat()` says that all of them are durable.
 */
export interface StorageEngine {
  /** Engine name, published as `kv_eng` (e.g. 'flatfile'). */
  readonly kind: string;
  /** `ENGINE_CAP` bits. */
  readonly caps: number;
  /** What opening the store found and repaired. */
  readonly recovery: RecoveryReport;

  /**
   * Open beat `beat` (greater than every committed beat): a new transaction, or, while a beat
   * is open, the next beat of the same transaction (`beat` greater than the open one, which is
   * sealed: no more frames for it).
   */
  beginBeat(beat: number): void;
  /**
   * Stage one frame of `branch` for the open beat (at most one per branch per beat). Its
   * previous root must be the root of the branch's newest frame: the one staged in an earlier
   * beat of this transaction, else the committed head.
   */
  putFrame(branch: string, frame: Uint8Array): void;
  /**
   * Make every staged frame of every beat of the transaction durable: append them, then one
   * sync round (per file one write and one sync, through the reactor when one is attached).
   * Resolves once durable; on failure rejects with a coded error and, after a crash or reopen,
   * nothing of the transaction is visible.
   */
  commitBeat(): Promise<void>;
  /** Drop the open transaction, every beat of it; nothing of it becomes visible. */
  abortBeat(): void;
  /**
   * Why the engine could not keep a branch of this name (too long for its files, a name its
   * layout reserves), or null when it can. Optional: without it every name is taken to fit. The
   * service refuses such names at `add` under `/data` (ERR_INVALID_NAME).
   */
  branchNameProblem?(name: string): string | null;

  /** Branches that have frames. */
  branches(): string[];
  head(branch: string): BranchHead | undefined;
  /** The frame of `branch` written at `beat`, if any (lookup through the beat index). */
  frameAt(branch: string, beat: number): StoredFrame | undefined;
  /**
   * Frames of `branch` with `from <= beat <= to`, in beat order (defaults: the whole log).
   * `fromCheckpoint`: start at the newest checkpoint at or before `to` and continue with the
   * deltas after it — the frames that rebuild the branch as of `to`.
   */
  frames(branch: string, range?: { from?: number; to?: number; fromCheckpoint?: boolean }): Iterable<StoredFrame>;

  /**
   * Optional: `length` bytes at `start` inside the stored frame at `locator` (a positioned read
   * of part of a frame, for lazy hydration); the caller checks what it reads (record CRCs).
   * Locators stay valid until the branch's files are rewritten (`compact`, `importBundle`).
   */
  readRange?(branch: string, locator: FrameLocator, start: number, length: number): Uint8Array;
  /** Store a snapshot frame of `branch` as a checkpoint. */
  checkpoint(branch: string, snapshot: Uint8Array): Promise<void>;
  /** Rewrite the branch's files keeping replay possible from the retained checkpoints. */
  compact(branch: string): Promise<{ bytesBefore: number; bytesAfter: number }>;
  stats(branch?: string): EngineStats;

  /** Put a content-addressed blob (key: BLAKE3 hex of `bytes`); returns the key. */
  putBlob(bytes: Uint8Array): Promise<string>;
  getBlob(key: string): Uint8Array | undefined;

  /** Write a verified bundle of `branch` (its files, its CAS blobs and a manifest) into `dir`. */
  exportBundle(branch: string, dir: string): Promise<BundleManifest>;
  /**
   * Verify the bundle in `dir` (manifest, every file's hash, every frame), stage it, and promote it
   * as `branch` (default: the bundle's) in one step; a bad bundle leaves the branch untouched.
   */
  importBundle(dir: string, branch?: string): Promise<BundleManifest>;

  /** Flush and close files; no calls after it. */
  close(): Promise<void>;
}
