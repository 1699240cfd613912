/**
 * CEP for Node: the public API, named one by one (test/exports.test.ts keeps the list).
 * Internals are in `cep/internal` (src/internal.ts), with no stability promise.
 */
// errors and the native addon
export { ERROR_CODES, type CepError, type CepErrorCode } from './errors.js';
export { nativeInfo, type NativeInfo } from './native/index.js';
// hashing (docs/hashing.md)
export { crc32c, crc32cMany, CRC32C_NATIVE_MIN_BYTES } from './hash/crc32c.js';
export { blake3, blake3DeriveKey, blake3Many, Blake3Hasher, createBlake3 } from './hash/blake3.js';
export type { BytesLike, SliceList } from './hash/validate.js';
// the runtime: tree, beats, persistence (docs/kernel.md, docs/heartbeat.md, docs/persistence.md)
export { createRuntime } from './runtime/create.js';
export { Runtime, ROOT_LAYOUT, type RuntimeOptions } from './runtime/runtime.js';
export { PersistentRuntime, type PersistentRuntimeOptions, type StoreOptions as PersistStoreOptions } from './runtime/persistent.js';
export type { ServiceOptions, RetainOptions } from './persistence/service/service.js';
export { POLICY_MODES, type BranchPolicy, type PolicyMode } from './persistence/service/policy.js';
export type { HydrateBudget, HydrateOptions, HydrateResult } from './persistence/service/hydrate/hydrator.js';
export { Cell, type CellInit, type NameInput, type TraverseOptions } from './kernel/cell/cell.js';
export type { ProxyAdapter } from './kernel/cell/payload.js';
export { VALUE_MAX, VALUE_INLINE_DEFAULT } from './kernel/cell/flags.js';
export { LockToken, type LockKind } from './kernel/lock.js';
export { Name } from './kernel/naming/name.js';
export { parsePath, parsePattern, formatPath, globMatch, type PathSegment } from './kernel/path.js';
export { STORE_MATRIX, type StoreKind, type Indexing, type StoreOptions, type Point } from './kernel/store/index.js';
export type { HeartbeatOptions, EnqueueOptions, CaptureHook, CommitHook, ShutdownHook } from './beat/heartbeat/heartbeat.js';
export type { EnzymeContext, ImpulsePayload, JsonValue } from './beat/heartbeat/context.js';
export { type BeatChanges, beatDigest, beatFrame, beatLink, encodeBeat } from './beat/heartbeat/digest.js';
export { decodeImpulses, decodeAgenda, type JournalImpulse, type AgendaResult } from './beat/heartbeat/codec.js';
export type { Recording, RecordedBeat, RecordedDecision } from './beat/heartbeat/recording.js';
export type { ImpulseQos } from './beat/heartbeat/queue.js';
export { PARKED_MAILBOX } from './beat/heartbeat/prr.js';
export type { EnzymeDescriptor, EnzymeResult } from './beat/enzyme/registry.js';
export { type MatchKind, signalMatches } from './beat/enzyme/signal.js';
export type { OpStart, OpAwait } from './beat/ops/ops.js';
export { DIAG_MAILBOX, type CeiFact, type CeiSeverity, type CeiOrigin } from './beat/cei/cei.js';
export type { MailboxTtl, PostOptions } from './beat/cei/mailbox.js';
export { registerCellOperations, CELL_OP_SIGNALS } from './beat/enzyme/cell-ops.js';
// episodes (docs/episodes.md)
export { requireRW, accountIO, checkCancel, currentEpisode } from './organs/episode/current.js';
// flat frames (docs/FORMAT.md, docs/api.md)
export { encodeBranch, type EncodeOptions } from './serialization/writer.js';
export { readFrame, FrameReader, type Frame, type FrameCell, type FrameName, type FramePayload, type FrameRecordInfo, type ReadOptions } from './serialization/reader.js';
export { applyFrame, type ApplyOptions, type ApplyResult } from './serialization/apply.js';
export type { AeadCipher, AeadOptions } from './serialization/aead.js';
export { capsNames } from './serialization/caps.js';
export { deflateFrameAsync, inflateFrameAsync } from './serialization/container-jobs.js';
// async I/O (docs/async.md)
export { Reactor, createReactor, type ReactorOptions, type ReactorStats, type IoCompletion, type SocketAddress, type SubmitOptions } from './async/reactor.js';
export { availableBackends, REACTOR_CHOICES, type ReactorBackend, type ReactorChoice } from './async/select.js';
export { Executor, createExecutor, type ExecutorOptions, type JobOptions, type JobResult } from './async/executor.js';
export type { ChannelOptions, RequestOptions } from './organs/io/fabric.js';
export { WorkerPool, createWorkerPool, type WorkerPoolOptions, type TaskResult } from './async/worker-pool.js';
// storage engines (docs/flatfile.md)
export { ENGINE_CAP, type StorageEngine, type RecoveryReport, type BranchHead, type StoredFrame, type EngineStats, type BundleManifest, type FrameLocator } from './persistence/engine.js';
export { FlatfileEngine, openFlatfileStore, verifyFlatfileStore, type FlatfileOptions } from './persistence/flatfile/store.js';
