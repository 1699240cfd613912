/** The beat layer's surface: heartbeat, enzymes, OPS, CEI, mailboxes, replay (docs/heartbeat.md). */
export {
  Heartbeat,
  DIAG_TTL_BEATS,
  type HasHeartbeat,
  type HeartbeatOptions,
  type EnqueueOptions,
  type CaptureHook,
  type CommitHook,
  type ShutdownHook,
  type BeatParticipant,
} from './heartbeat/heartbeat.js';
export { EnzymeContext, type ImpulsePayload, type JsonValue } from './heartbeat/context.js';
export { type BeatChanges, beatDigest, beatFrame, beatLink, encodeBeat } from './heartbeat/digest.js';
export { decodeImpulses, decodeAgenda, type JournalImpulse, type AgendaResult } from './heartbeat/codec.js';
export type { Recording, RecordedBeat, RecordedDecision } from './heartbeat/recording.js';
export type { ImpulseQos } from './heartbeat/queue.js';
export { PARKED_MAILBOX } from './heartbeat/prr.js';
export { type EnzymeDescriptor, type EnzymeResult, Enzyme } from './enzyme/registry.js';
export { type MatchKind, signalMatches } from './enzyme/signal.js';
export { registerCellOperations, CELL_OP_SIGNALS } from './enzyme/cell-ops.js';
export { Ops, type OpStart, type OpAwait } from './ops/ops.js';
export { Cei, DIAG_MAILBOX, type CeiFact, type CeiSeverity, type CeiOrigin, type PipelineBlock } from './cei/cei.js';
export { Mailboxes, type MailboxTtl, type PostOptions } from './cei/mailbox.js';
