/**
 * An episode as the engine holds it: the one record that every part of the engine (dossier,
 * leases, budgets, scheduling, run-ahead) reads and updates, and the options it is started with.
 */
import type { PipelineBlock } from '../../beat/cei/cei.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { LockToken } from '../../kernel/lock.js';
import type { Tree } from '../../kernel/tree.js';
import type { ContextHost, EpisodeProfile, FunctionContext, FunctionSlice } from './context.js';
import type { SliceHandle } from './threaded.js';

export type ExecutorBackend = 'stub' | 'threaded';

/** Budgets: CPU milliseconds and accounted I/O bytes, per slice and per episode. */
export interface EpisodeBudget {
  cpuMs?: number;
  sliceCpuMs?: number;
  ioBytes?: number;
  sliceIoBytes?: number;
}

/** A slice exported by a module loaded with `rt.episodes.load(module)`. */
export interface ModuleSlice {
  module: string | URL;
  name: string;
}

export interface EpisodeStart<R extends Tree = Tree> {
  /** The signal the episode works for (recorded in the dossier). */
  signal: string;
  /** The path it works on (RW and hybrid lease it). */
  target: string;
  profile: EpisodeProfile;
  budget?: EpisodeBudget;
  /** A function (runtime thread) or a module slice (read-only; worker threads when threaded). */
  slice: FunctionSlice<R> | ModuleSlice;
  /** Module slices: the subtrees the slice reads (snapshotted at each submission). */
  reads?: string[];
  /** Initial episode state (structured-clone-safe for module slices). */
  state?: unknown;
  /** Pipeline metadata recorded in the dossier. */
  pipeline?: PipelineBlock;
}

/** The store and data locks of one cell, held together (a lease, the RO guard). */
export interface Locks {
  store: LockToken;
  data: LockToken;
}

/** A module slice: its module, and the fields of its inputs that never change (`head`, encoded once). */
export interface EpisodeModule {
  href: string;
  name: string;
  ns: Record<string, unknown>;
  head: Uint8Array | undefined;
}

/** An episode: what it was started with, and what it has run and holds. */
export interface Episode extends EpisodeFields {
  io: number;
  cpu: number;
  /** Cancellation asked for (ticket, requestCancel, budget): ends `sts:cxl`. */
  cancel: boolean;
  lease: Locks | undefined;
  /** The operation an awaiting episode waits for (0: none), and its watcher there. */
  waitingOn: number;
  awaitWatch: number;
  done: boolean;
  host?: ContextHost;
  /** The context of its function slices (reused slice after slice). */
  ctx?: FunctionContext;
  /** Slices run so far; the dossier's `episode/slices` is brought up to date at each recorded state. */
  slices: number;
  slicesWritten: number;
  /** The standing watcher of the yield cycle: set while the recorded state is `ist:yield`. */
  yieldWatch: Cell | undefined;
  /** The beat the current slice started (was submitted, for a module slice). */
  runBeat: number;
  /** Whether `ist:run` is recorded for the current slice (deferred in the yield cycle). */
  runRecorded: boolean;
  /** The beat whose Commit last took the episode from the queue (one slice per beat). */
  takenAt: number;
  /** Threaded module slices: the slice last submitted (or adopted), the base of the first guess. */
  sent: Guess | undefined;
  /** Run-ahead guesses at its next slices, in beat order. */
  ahead: Guess[];
  /** No guess is made before this beat (one proved wrong: its reads or inputs change). */
  aheadOff: number;
}

/** A module slice out on the workers: submitted, or guessed ahead of its beat. */
export interface Guess {
  beat: number;
  handle: SliceHandle;
  /** A guess's input, compared with the real one at its Commit (until adopted or dropped). */
  input: Uint8Array | undefined;
  /** The snapshot it read (encoded): kept until the next guess is made from it. */
  snap: Uint8Array | undefined;
  /** A guess's snapshot and state as in `input` (until adopted or dropped): see `RunAhead.holds`. */
  read: Uint8Array | undefined;
  state: unknown;
  /** I/O bytes the episode had accounted before this slice. */
  io: number;
}

/** What an episode is started with, checked; and where its dossier is. */
export interface EpisodeFields {
  eid: number;
  ticket: number;
  path: string;
  slicesCell: Cell;
  signal: string;
  target: string;
  profile: EpisodeProfile;
  budget: EpisodeBudget;
  fn: FunctionSlice | undefined;
  module: EpisodeModule | undefined;
  reads: string[];
  state: unknown;
}

/** A new episode's record: nothing run, nothing held. */
export function newEpisode(f: EpisodeFields): Episode {
  // a literal with every field (not a spread): one object shape for every episode on the hot path
  return {
    eid: f.eid,
    ticket: f.ticket,
    path: f.path,
    slicesCell: f.slicesCell,
    signal: f.signal,
    target: f.target,
    profile: f.profile,
    budget: f.budget,
    fn: f.fn,
    module: f.module,
    reads: [...f.reads],
    state: f.state,
    io: 0,
    cpu: 0,
    cancel: false,
    lease: undefined,
    waitingOn: 0,
    awaitWatch: 0,
    done: false,
    slices: 0,
    slicesWritten: 0,
    yieldWatch: undefined,
    runBeat: 0,
    runRecorded: false,
    takenAt: -1,
    sent: undefined,
    ahead: [],
    aheadOff: 0,
  };
}
