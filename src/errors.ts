/**
 * The one table of error factories. Every error CEP throws carries a stable `code`
 * (`ERR_*`) that callers may match on; messages are for people and may change.
 */

export type CepErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_NATIVE_LOAD'
  // kernel data model
  | 'ERR_INVALID_NAME'
  | 'ERR_INVALID_PATH'
  | 'ERR_NAME_EXISTS'
  | 'ERR_NOT_FOUND'
  | 'ERR_DELETED'
  | 'ERR_LOCKED'
  | 'ERR_IMMUTABLE'
  | 'ERR_LINK_CYCLE'
  | 'ERR_SHADOWED'
  | 'ERR_INVALID_STORE'
  | 'ERR_INVALID_STATE'
  | 'ERR_PROXY'
  | 'ERR_HISTORY_PRUNED'
  // heartbeat, enzymes, OPS, CEI, replay
  | 'ERR_ENZYME_CONFLICT'
  | 'ERR_BEAT_IN_PROGRESS'
  | 'ERR_HALTED'
  | 'ERR_REPLAY_MISMATCH'
  // flat frames (src/serialization/)
  | FrameErrorCode
  // async I/O (src/async/)
  | 'ERR_REACTOR_UNAVAILABLE'
  | 'ERR_REACTOR_CLOSED'
  | 'ERR_QUEUE_FULL'
  | 'ERR_IO'
  | 'ERR_IO_TIMEOUT'
  | 'ERR_JOB_FAILED'
  | 'ERR_WORKER_CRASHED'
  // episodes (src/kernel/episode/)
  | 'ERR_BEAT_NOT_READY'
  // persistence: storage engines (src/persistence/flatfile/)
  | StoreErrorCode
  // persistence service (src/persistence/service/)
  | PersistErrorCode
  // lazy hydration (src/persistence/service/hydrate/)
  | HydrateErrorCode;

export interface CepError extends Error {
  code: CepErrorCode;
}

function withCode<E extends Error>(error: E, code: CepErrorCode): E & CepError {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error as E & CepError;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  return `type ${typeof value} (${String(value).slice(0, 32)})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & CepError {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, reason: string): TypeError & CepError {
  return withCode(new TypeError(`The "${name}" argument is invalid: ${reason}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError & CepError {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`), 'ERR_OUT_OF_RANGE');
}

export function nativeLoadFailed(path: string, cause: unknown): Error & CepError {
  return withCode(new Error(`The native addon at ${path} failed to load: ${(cause as Error)?.message ?? String(cause)}`, { cause }), 'ERR_NATIVE_LOAD');
}

// ---- kernel data model (src/kernel/) ----------------------------------------------------

/** A Domain/Tag name (or one segment of it) that cannot be encoded or is not allowed here. */
export function invalidName(text: string, reason: string): TypeError & CepError {
  return withCode(new TypeError(`Invalid cell name ${JSON.stringify(String(text).slice(0, 64))}: ${reason}`), 'ERR_INVALID_NAME');
}

/** A path text that does not parse. */
export function invalidPath(text: string, reason: string): TypeError & CepError {
  return withCode(new TypeError(`Invalid path ${JSON.stringify(String(text).slice(0, 128))}: ${reason}`), 'ERR_INVALID_PATH');
}

/** A live child with the same name already exists in a store that keeps names unique. */
export function nameExists(name: string, parent: string): Error & CepError {
  return withCode(new Error(`A child named ${JSON.stringify(name)} already exists under ${parent}`), 'ERR_NAME_EXISTS');
}

export function notFound(what: string): Error & CepError {
  return withCode(new Error(`Not found: ${what}`), 'ERR_NOT_FOUND');
}

/** The cell was deleted (soft) or finalized (hard) and cannot be changed. */
export function cellDeleted(path: string, hard: boolean): Error & CepError {
  return withCode(new Error(`The cell ${path} was ${hard ? 'finalized (hard-deleted)' : 'deleted'}`), 'ERR_DELETED');
}

/** A store or data lock (on the cell or an ancestor) refuses the change. */
export function locked(path: string, what: 'store' | 'data', reason: string): Error & CepError {
  return withCode(new Error(`The ${what} of ${path} is locked: ${reason}`), 'ERR_LOCKED');
}

/** The cell is immutable (or inside a sealed branch). */
export function immutable(path: string): Error & CepError {
  return withCode(new Error(`The cell ${path} is immutable`), 'ERR_IMMUTABLE');
}

export function linkCycle(path: string): Error & CepError {
  return withCode(new Error(`Linking ${path} would create a link cycle`), 'ERR_LINK_CYCLE');
}

/** The cell is still the target of live links (shadows) and cannot be finalized. */
export function shadowed(path: string, links: number): Error & CepError {
  return withCode(new Error(`The cell ${path} is still referenced by ${links} link(s)`), 'ERR_SHADOWED');
}

/** A store kind / indexing combination (or its options) that is not supported. */
export function invalidStore(reason: string): TypeError & CepError {
  return withCode(new TypeError(`Invalid store: ${reason}`), 'ERR_INVALID_STORE');
}

/** An operation that does not apply to the cell in its present state (wrong type, root, ...). */
export function invalidState(path: string, reason: string): Error & CepError {
  return withCode(new Error(`Cannot do that on ${path}: ${reason}`), 'ERR_INVALID_STATE');
}

/** A HANDLE/STREAM adapter refused or lacks the requested operation. */
export function proxyFailed(path: string, op: string, cause?: unknown): Error & CepError {
  const detail = cause === undefined ? '' : `: ${(cause as Error)?.message ?? String(cause)}`;
  return withCode(new Error(`The adapter of ${path} refused ${op}${detail}`, cause === undefined ? undefined : { cause }), 'ERR_PROXY');
}

// ---- heartbeat, enzymes, OPS, CEI, replay (src/kernel/heartbeat/, enzyme/, ops/, cei/) ------

/** An enzyme name is already registered with a different descriptor. */
export function enzymeConflict(name: string, reason: string): Error & CepError {
  return withCode(new Error(`An enzyme named ${JSON.stringify(name)} is already registered with a different descriptor: ${reason}`), 'ERR_ENZYME_CONFLICT');
}

/** `step()` (or `run()`) was called while a beat is running (from inside an enzyme). */
export function beatInProgress(what: string): Error & CepError {
  return withCode(new Error(`Cannot ${what} while beat is in progress`), 'ERR_BEAT_IN_PROGRESS');
}

/** The runtime was shut down (op/shdn) and takes no more beats or impulses. */
export function halted(what: string): Error & CepError {
  return withCode(new Error(`The runtime has shut down: cannot ${what}`), 'ERR_HALTED');
}

/** A replaying runtime met something the recording does not hold (or holds differently). */
export function replayMismatch(beat: number, reason: string): Error & CepError {
  return withCode(new Error(`Replay mismatch at beat ${beat}: ${reason}`), 'ERR_REPLAY_MISMATCH');
}

/** An as-of read (or a frame of a past beat) older than the history the runtime still keeps. */
export function historyPruned(beat: number, floor: number): RangeError & CepError {
  return withCode(new RangeError(`Beat ${beat} is older than the history kept (from beat ${floor} on; see the historyBeats and store.retain options)`), 'ERR_HISTORY_PRUNED');
}

// ---- flat frames (src/serialization/) -------------------------------------------------------

export type FrameErrorCode =
  | 'ERR_FRAME_TRUNCATED'
  | 'ERR_FRAME_CRC'
  | 'ERR_FRAME_MERKLE'
  | 'ERR_FRAME_FORMAT'
  | 'ERR_FRAME_UNSUPPORTED'
  | 'ERR_FRAME_MALFORMED'
  | 'ERR_FRAME_CHUNK'
  | 'ERR_FRAME_CAPS'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_FRAME_AEAD'
  | 'ERR_FRAME_APPLY';

/**
 * A frame that cannot be read, verified or applied (or a branch that cannot be framed).
 * `offset` is the byte where the problem was found, when there is one.
 */
export function frameError(code: FrameErrorCode, reason: string, offset?: number): Error & CepError & { offset?: number } {
  const where = offset === undefined ? '' : ` (at byte ${offset})`;
  const error = withCode(new Error(`Bad frame: ${reason}${where}`), code) as Error & CepError & { offset?: number };
  if (offset !== undefined) error.offset = offset;
  return error;
}

// ---- async I/O (src/async/) --------------------------------------------------------------

/** The requested reactor backend cannot run here (kernel refusal, addon not loaded). */
export function reactorUnavailable(backend: string, reason: string): Error & CepError {
  return withCode(new Error(`The ${backend} reactor is unavailable: ${reason}`), 'ERR_REACTOR_UNAVAILABLE');
}

/** Work submitted to a reactor, executor or worker pool that is closing or closed. */
export function reactorClosed(what: string): Error & CepError {
  return withCode(new Error(`The ${what} is closed`), 'ERR_REACTOR_CLOSED');
}

/** The bounded submission queue is full: drain completions before submitting more. */
export function queueFull(what: string, limit: number): Error & CepError {
  return withCode(new Error(`The ${what} queue is full (${limit} requests outstanding); drain completions first`), 'ERR_QUEUE_FULL');
}

/** An I/O request failed with an errno. */
export function ioFailed(op: string, errno: string): Error & CepError {
  const e = withCode(new Error(`${op} failed: ${errno}`), 'ERR_IO');
  (e as unknown as { errno: string }).errno = errno;
  return e;
}

/** An I/O request passed its beat or wall-clock deadline. */
export function ioTimeout(op: string, why: string): Error & CepError {
  return withCode(new Error(`${op} timed out: ${why}`), 'ERR_IO_TIMEOUT');
}

/** A job ended without a result (cancelled, over budget, invalid). */
export function jobFailed(ticket: number, status: string): Error & CepError {
  return withCode(new Error(`Job ${ticket} ended: ${status}`), 'ERR_JOB_FAILED');
}

/** A worker thread died with tasks on it. */
export function workerCrashed(reason: string): Error & CepError {
  return withCode(new Error(`A pool worker crashed: ${reason}`), 'ERR_WORKER_CRASHED');
}

// ---- episodes (src/kernel/episode/) --------------------------------------------------------

/** `step()` while episode slice results are still out on worker threads. */
export function beatNotReady(): Error & CepError {
  return withCode(new Error('Cannot step: episode slices are still running on worker threads (await rt.episodes.settle() first, use rt.episodes.step(), or drive with rt.start())'), 'ERR_BEAT_NOT_READY');
}

// ---- persistence: storage engines (src/persistence/flatfile/) ---------------------------------

export type StoreErrorCode =
  /** Stored bytes fail their checks (CRC, root, hash chain, layout) where they cannot simply be cut. */
  | 'ERR_STORE_CORRUPT'
  /** Another engine (this or another process) holds the store's lock file. */
  | 'ERR_STORE_LOCKED'
  /** The engine was closed, or a failed write left it unusable until it is reopened. */
  | 'ERR_STORE_CLOSED'
  /** Beat transaction misuse: no open beat, a beat not after the last one, two frames of a branch. */
  | 'ERR_STORE_TXN'
  /** A frame that does not fit where it is put (wrong beat, broken chain, not a snapshot). */
  | 'ERR_STORE_FRAME'
  /** A write or sync failed; nothing of the beat became visible. */
  | 'ERR_STORE_IO'
  /** An export bundle fails verification (manifest, file hashes, frames). */
  | 'ERR_BUNDLE_INVALID';

export function storeError(code: StoreErrorCode, reason: string, cause?: unknown): Error & CepError {
  return withCode(new Error(reason, cause === undefined ? undefined : { cause }), code);
}

// ---- persistence service (src/persistence/service/) ----------------------------------------

export type PersistErrorCode =
  /** The engine lacks a capability the serializer needs, or cannot be opened. */
  | 'ERR_PERSIST_ENGINE'
  /** A beat could not be made durable (the beat was aborted; nothing of it is visible). */
  | 'ERR_PERSIST_COMMIT'
  /** A cross-branch read the consumer's policy does not allow. */
  | 'ERR_PERSIST_CROSS_READ'
  /** Hydration would exceed its depth or byte budget (nothing was loaded). */
  | 'ERR_PERSIST_BUDGET'
  /** The store was closed. */
  | 'ERR_PERSIST_CLOSED'
  /** Branches cannot be rebuilt: their links point into each other in a cycle (recovery, hydration). */
  | 'ERR_PERSIST_LINK';

export function persistError(code: PersistErrorCode, reason: string): Error & CepError {
  return withCode(new Error(`Persistence: ${reason}`), code);
}

// ---- lazy hydration of cold cells (src/persistence/service/hydrate/) -----------------------

export type HydrateErrorCode =
  /** A hydration would exceed its depth or byte budget (nothing was loaded). */
  | 'ERR_HYDRATE_BUDGET'
  /** The store could not give a cold cell back (a corrupt record, a missing frame; nothing was loaded). */
  | 'ERR_HYDRATE_FAIL'
  /** Eviction refused: the subtree is not clean and durable, or not in a lazily loaded branch. */
  | 'ERR_HYDRATE_EVICT';

export function hydrateError(code: HydrateErrorCode, reason: string, cause?: unknown): Error & CepError {
  return withCode(new Error(`Hydration: ${reason}`, cause === undefined ? undefined : { cause }), code);
}
