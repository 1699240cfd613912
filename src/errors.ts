/**
 * The one table of error factories. Every error CEP throws carries a stable `code`
 * (`ERR_*`) that callers may match on; messages are for people and may change.
 */

/**
 * Every code, with when it is thrown: the one list (docs/errors.md has the same table, and a
 * test checks that the list, the table and the throw sites in src/ and native/ agree).
 */
export const ERROR_CODES = {
  ERR_INVALID_ARG_TYPE: 'an argument of the wrong type',
  ERR_INVALID_ARG_VALUE: 'an argument of the right type with a value that is not accepted',
  ERR_OUT_OF_RANGE: 'a number, offset, length or beat outside its range',
  ERR_NATIVE_LOAD: 'the native addon exists but failed to load',
  ERR_INTERNAL: 'an internal invariant broke: a bug, please report it',
  // kernel data model (src/kernel/)
  ERR_INVALID_NAME: 'a cell name that is not valid or cannot be kept',
  ERR_INVALID_PATH: 'a path that does not parse',
  ERR_NAME_EXISTS: 'a child of that name already exists',
  ERR_NOT_FOUND: 'no cell, enzyme, dossier or branch of that name',
  ERR_DELETED: 'the cell was deleted (or finalized)',
  ERR_LOCKED: 'a store or data lock held by another token',
  ERR_IMMUTABLE: 'the cell or branch is immutable',
  ERR_LINK_CYCLE: 'the link would close a cycle',
  ERR_SHADOWED: 'the cell is still the target of links',
  ERR_INVALID_STORE: 'a store kind or indexing that cannot be used there',
  ERR_INVALID_STATE: "the operation does not fit the cell's state",
  ERR_PROXY: 'a HANDLE or STREAM adapter refused the operation',
  ERR_HISTORY_PRUNED: 'an as-of read older than the history kept (historyBeats, store.retain)',
  // heartbeat, enzymes, OPS, CEI, replay
  ERR_ENZYME_CONFLICT: 'another enzyme descriptor under the same name',
  ERR_BEAT_IN_PROGRESS: 'a call that cannot be made during a beat',
  ERR_HALTED: 'the runtime has shut down',
  ERR_REPLAY_MISMATCH: 'a replay diverged from its recording',
  // flat frames (src/serialization/)
  ERR_FRAME_TRUNCATED: 'a frame ends before its trailer',
  ERR_FRAME_CRC: 'a record or the trailer fails its CRC32C',
  ERR_FRAME_MERKLE: 'the Merkle root does not match the records',
  ERR_FRAME_FORMAT: 'bytes that are not a frame (magic, version, layout)',
  ERR_FRAME_UNSUPPORTED: 'a frame feature this reader does not support',
  ERR_FRAME_MALFORMED: "records that parse but break the format's rules",
  ERR_FRAME_CHUNK: 'chunked payload records that do not add up',
  ERR_FRAME_CAPS: 'the frame needs capabilities the reader was not given (e.g. a key)',
  ERR_FRAME_TOO_LARGE: 'a frame over the size limit',
  ERR_FRAME_AEAD: 'a sealed payload fails authentication',
  ERR_FRAME_APPLY: 'a valid frame that does not apply to this runtime',
  // async I/O (src/async/)
  ERR_REACTOR_UNAVAILABLE: 'the asked-for reactor backend cannot run here',
  ERR_REACTOR_CLOSED: 'the reactor is closed',
  ERR_EXECUTOR_CLOSED: 'the executor is closed',
  ERR_POOL_CLOSED: 'the worker pool (or an episode slice pool) is closed',
  ERR_QUEUE_FULL: 'too many requests outstanding; drain completions first',
  ERR_JOB_FAILED: 'an executor job ended with an error',
  ERR_WORKER_CRASHED: 'a pool worker died while running a task',
  // episodes
  ERR_BEAT_NOT_READY: 'a beat while slices or pending writes are not settled',
  // persistence: storage engines (src/persistence/flatfile/)
  ERR_STORE_CORRUPT: 'stored bytes fail their checks where they cannot simply be cut',
  ERR_STORE_LOCKED: 'another engine (this or another process) holds the store',
  ERR_STORE_CLOSED: 'the engine was closed, or a failed write left it unusable until reopened',
  ERR_STORE_TXN: 'beat transaction misuse (no open beat, a beat not after the last, two frames of a branch)',
  ERR_STORE_FRAME: 'a frame that does not fit where it is put (wrong beat, broken chain, not a snapshot)',
  ERR_STORE_IO: 'a write or sync failed; nothing of the beat became visible',
  ERR_STORE_DIR: 'the store folder cannot be created or used (a file, below a file or a dangling link, read-only, not permitted)',
  ERR_BUNDLE_INVALID: 'an export bundle fails verification',
  // persistence service (src/persistence/service/)
  ERR_PERSIST_ENGINE: 'the engine lacks a needed capability, or cannot be opened',
  ERR_PERSIST_COMMIT: 'a beat could not be made durable',
  ERR_PERSIST_CROSS_READ: "a cross-branch read the consumer's policy does not allow",
  ERR_PERSIST_BUDGET: 'loading a branch would exceed its depth or byte budget',
  ERR_PERSIST_CLOSED: 'the store was closed',
  ERR_PERSIST_LINK: 'branches whose links point into each other in a cycle',
  ERR_VALUE_TOO_LARGE: 'a payload too large for any frame, in a branch that is persisted',
  // lazy hydration (src/persistence/service/hydrate/)
  ERR_HYDRATE_BUDGET: 'a hydration would exceed its depth or byte budget (nothing loaded)',
  ERR_HYDRATE_FAIL: 'the store could not give a cold cell back (nothing loaded)',
  ERR_HYDRATE_EVICT: 'eviction refused: the subtree is not clean and durable, or not lazy',
} as const;

export type CepErrorCode = keyof typeof ERROR_CODES;

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

export function internalError(reason: string): Error & CepError {
  return withCode(new Error(`Internal error: ${reason}`), 'ERR_INTERNAL');
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

// ---- heartbeat, enzymes, OPS, CEI, replay (src/beat/) ------

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

export type FrameErrorCode = Extract<CepErrorCode, `ERR_FRAME_${string}`>;

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

export function executorClosed(): Error & CepError {
  return withCode(new Error('The executor is closed'), 'ERR_EXECUTOR_CLOSED');
}

export function poolClosed(what: string): Error & CepError {
  return withCode(new Error(`The ${what} is closed`), 'ERR_POOL_CLOSED');
}

/** The bounded submission queue is full: drain completions before submitting more. */
export function queueFull(what: string, limit: number): Error & CepError {
  return withCode(new Error(`The ${what} queue is full (${limit} requests outstanding); drain completions first`), 'ERR_QUEUE_FULL');
}

/** An I/O request failed with an errno. */
export function jobFailed(ticket: number, status: string): Error & CepError {
  return withCode(new Error(`Job ${ticket} ended: ${status}`), 'ERR_JOB_FAILED');
}

/** A worker thread died with tasks on it. */
/** A module slice that failed on a worker thread; the message is the slice's own (outcomes record it). */
export function sliceFailed(message: string): Error & CepError {
  return withCode(new Error(message), 'ERR_JOB_FAILED');
}

export function workerCrashed(reason: string): Error & CepError {
  return withCode(new Error(`A pool worker crashed: ${reason}`), 'ERR_WORKER_CRASHED');
}

// ---- episodes (src/organs/episode/) --------------------------------------------------------

/** `step()` while episode slice results are still out on worker threads. */
export function beatNotReady(): Error & CepError {
  return withCode(
    new Error('Cannot step: episode slices are still running on worker threads (await rt.episodes.settle() first, use rt.episodes.step(), or drive with rt.start())'),
    'ERR_BEAT_NOT_READY',
  );
}

// ---- persistence: storage engines (src/persistence/flatfile/) ---------------------------------

export type StoreErrorCode = Extract<CepErrorCode, `ERR_STORE_${string}` | 'ERR_BUNDLE_INVALID'>;

export function storeError(code: StoreErrorCode, reason: string, cause?: unknown): Error & CepError {
  return withCode(new Error(reason, cause === undefined ? undefined : { cause }), code);
}

// ---- persistence service (src/persistence/service/) ----------------------------------------

export type PersistErrorCode = Extract<CepErrorCode, `ERR_PERSIST_${string}` | 'ERR_VALUE_TOO_LARGE'>;

export function persistError(code: PersistErrorCode, reason: string): Error & CepError {
  return withCode(new Error(`Persistence: ${reason}`), code);
}

// ---- lazy hydration of cold cells (src/persistence/service/hydrate/) -----------------------

export type HydrateErrorCode = Extract<CepErrorCode, `ERR_HYDRATE_${string}`>;

export function hydrateError(code: HydrateErrorCode, reason: string, cause?: unknown): Error & CepError {
  return withCode(new Error(`Hydration: ${reason}`, cause === undefined ? undefined : { cause }), code);
}
