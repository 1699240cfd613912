/** The kernel's public surface: names, namepool, paths, cells, stores, runtime. */
export { createRuntime, Runtime, ROOT_LAYOUT, type RuntimeOptions } from './runtime.js';
export { Cell, type CellInit, type NameInput, type TraverseOptions } from './cell/cell.js';
export { cloneInit } from './cell/clone.js';
export { addColdChild, coldToken, fillChildren, fillPayload, type ColdChild, type ColdLoader, type ColdPart, type ColdStore, type ColdVersion } from './cold.js';
export { type ProxyAdapter, payloadHash } from './cell/payload.js';
export { VALUE_MAX, VALUE_INLINE_DEFAULT } from './cell/flags.js';
export { LockToken, type LockKind } from './lock.js';
export { Namepool, REFERENCE_MAX_LENGTH } from './namepool.js';
export { Name, DOM_CEP, domainId, domainIndex } from './naming/name.js';
export {
  type Id,
  NAMING_WORD,
  NAMING_ACRONYM,
  NAMING_REFERENCE,
  NAMING_NUMERIC,
  WORD_MAX_CHARS,
  ACRONYM_MAX_CHARS,
  namingOf,
  idToBigInt,
  idFromBigInt,
  decodeWord,
  decodeAcronym,
  numericText,
  idHasGlobChar,
} from './naming/id.js';
export { encodeWordId, encodeAcronymId, encodeNumericId } from './naming/public.js';
export { parsePath, parsePattern, formatPath, globMatch, type PathSegment } from './path.js';
export { STORE_MATRIX, type StoreKind, type Indexing, type StoreOptions, type Point } from './store/index.js';
// heartbeat, enzymes, OPS, CEI, mailboxes, replay (docs/heartbeat.md)
export { Heartbeat, DIAG_TTL_BEATS, type HeartbeatOptions, type EnqueueOptions, type CaptureHook, type CommitHook, type ShutdownHook } from './heartbeat/heartbeat.js';
export { EnzymeContext, type ImpulsePayload, type JsonValue } from './heartbeat/context.js';
export { type BeatChanges, beatDigest, beatFrame, beatLink, encodeBeat } from './heartbeat/digest.js';
export { decodeImpulses, decodeAgenda, type JournalImpulse, type AgendaResult } from './heartbeat/codec.js';
export { type Recording, type RecordedBeat, type RecordedDecision } from './heartbeat/recording.js';
export { type ImpulseQos } from './heartbeat/queue.js';
export { PARKED_MAILBOX } from './heartbeat/prr.js';
export { type EnzymeDescriptor, type EnzymeResult, Enzyme } from './enzyme/registry.js';
export { type MatchKind, signalMatches } from './enzyme/signal.js';
export { Ops, type OpStart, type OpAwait } from './ops/ops.js';
export { Cei, DIAG_MAILBOX, type CeiFact, type CeiSeverity, type CeiOrigin, type PipelineBlock } from './cei/cei.js';
export { Mailboxes, type MailboxTtl, type PostOptions } from './cei/mailbox.js';
// episodes (docs/episodes.md)
export * from './episode/index.js';
