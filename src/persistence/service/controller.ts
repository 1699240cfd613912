/**
 * One branch controller: where `/data/<branch>` stands against the store (pending changes, the
 * root the next frame chains to, what is durable) and its counters. It publishes them under
 * `/data/persist/<branch>/{metrics,branch_stat,config}`; nothing here touches the engine.
 */
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import type { EngineStats } from '../engine.js';
import type { FlushCause, ResolvedPolicy } from './policy.js';

const ZERO_ROOT = new Uint8Array(32);

export class BranchController {
  /** The branch cell, once seen (kept after a soft delete, whose frame still has to be written, and after a hard one). */
  root: Cell | undefined = undefined;
  /** The hard removal of `root` was handed to the writer (cleared when its commit fails: it is framed again). */
  removalFramed = false;
  /** Changes since the branch was last framed. */
  pending = false;
  /** First beat with changes not yet framed (-1: none). */
  pendingSince = -1;
  /** Changed cells counted since the last frame (`dirty_cells`). */
  dirtyCells = 0;
  /** An operator asked for a flush (`op/br_flush`); cleared when framed. */
  force = false;
  /** The next frame must be a snapshot: no frame on disk yet, or a write failed. */
  needsSnapshot: boolean;
  /** Root the next frame chains to (the last frame handed to the writer). */
  headRoot: Uint8Array;
  /** Beat of the last frame handed to the writer (-1: none). */
  lastFramed: number;
  /** Beat of the last frame known durable (-1: none). */
  durableBeat: number;
  /** Not in memory yet (lazy policy, before `hydrate`). */
  cold: boolean;
  // counters (`metrics`, `branch_stat`)
  frames = 0;
  bytes = 0;
  flushes = 0;
  failures = 0;
  lastCause: FlushCause | 'none' = 'none';
  lastFlushBytes = 0;
  lastFlushCells = 0;
  /** Something changed that `/data/persist/<branch>` does not show yet. */
  stale = true;
  /**
   * Why the branch's changes could not be made durable (its frame could not be made, the engine
   * refused it, or its commit failed), until one of its frames is durable again; `flush()` rejects
   * meanwhile. `retry`: try again at the next beat due (false after a frame that could not be
   * made: then only once the branch changes again or is flushed on demand, not at every beat).
   */
  failure: BranchFailure | undefined = undefined;

  constructor(
    readonly name: string,
    public policy: ResolvedPolicy,
    head: { beat: number; root: Uint8Array } | undefined,
  ) {
    this.headRoot = ZERO_ROOT;
    this.lastFramed = this.durableBeat = -1;
    this.needsSnapshot = true;
    this.reset(head);
    this.cold = policy.lazy && head !== undefined;
  }

  /** Continue from what the store holds (`head`: the branch's last frame on disk). */
  reset(head: { beat: number; root: Uint8Array } | undefined): void {
    this.headRoot = head?.root.slice() ?? ZERO_ROOT;
    this.lastFramed = this.durableBeat = head?.beat ?? -1;
    this.needsSnapshot = head === undefined;
    this.pending = false;
    this.pendingSince = -1;
    this.dirtyCells = 0;
    this.stale = true;
  }

  /**
   * The branch cell under `/data` now. Another cell than the one framed so far (the name added
   * again after a removal) starts a new chain content-wise: its next frame is a snapshot, so
   * nothing of the old cell is loaded with it. A cell deleted in this beat does not displace a
   * live one added in its place.
   */
  seen(cell: Cell): void {
    const prev = this.root;
    if (prev === cell) return;
    if (prev !== undefined && cell.isDeleted && !prev.isDeleted && !prev.isFinalized) return;
    if (prev !== undefined && this.lastFramed >= 0) this.needsSnapshot = true;
    this.root = cell;
    this.removalFramed = false;
  }

  /** The root's hard removal was framed: nothing is left to write until the name is added again, whose first frame is a snapshot. */
  removed(): void {
    this.removalFramed = true;
    this.needsSnapshot = true;
  }

  /** Record changes of `beat` (`cells` changed cells). */
  touch(beat: number, cells: number): void {
    if (!this.pending) {
      this.pending = true;
      this.pendingSince = beat;
    } else if (beat < this.pendingSince) this.pendingSince = beat;
    if (this.failure !== undefined) this.failure.retry = true;
    this.dirtyCells += cells;
    this.stale = true;
  }

  /** Whether a delta frame of `beat` holds every change not framed yet (else a snapshot is needed). */
  deltaSuffices(beat: number): boolean {
    return !this.needsSnapshot && this.pendingSince === beat;
  }

  /** A frame of `beat` was handed to the writer. */
  framed(beat: number, root: Uint8Array, bytes: number, cause: FlushCause): void {
    this.headRoot = root;
    this.lastFramed = beat;
    this.pending = false;
    this.pendingSince = -1;
    this.force = false;
    this.needsSnapshot = false;
    this.lastCause = cause;
    this.lastFlushBytes = bytes;
    this.lastFlushCells = this.dirtyCells;
    this.dirtyCells = 0;
    this.stale = true;
  }

  /** Whether the branch's frame is skipped at this beat: it failed and nothing asks to try again. */
  get held(): boolean {
    return this.failure !== undefined && !this.failure.retry && !this.force;
  }

  /**
   * A write failed: the next frame starts over from a snapshot chained to what is on disk.
   * `error` (with its code) is kept as the branch's failure; `retry`: try again at the next
   * beat due, else only once the branch changes again or is forced.
   */
  failed(head: { beat: number; root: Uint8Array } | undefined, beat: number, error: unknown, retry: boolean): void {
    this.failure = { beat, code: (error as { code?: string })?.code ?? 'ERR_STORE_IO', message: (error as Error)?.message ?? String(error), retry };
    this.headRoot = head?.root.slice() ?? ZERO_ROOT;
    this.lastFramed = head?.beat ?? -1;
    this.needsSnapshot = true;
    this.removalFramed = false; // a removal that did not commit is framed again
    this.pending = true;
    if (this.pendingSince < 0) this.pendingSince = this.lastFramed + 1;
    this.failures++;
    this.stale = true;
  }

  /**
   * The controller's view for `/data/persist/<branch>` (written by the `op/persist` enzyme at the
   * next beat, records.ts: the timings in it are recorded inputs, not read inside a beat).
   */
  view(engineKind: string, stats: EngineStats | undefined): BranchView {
    const p = this.policy;
    this.stale = false;
    return {
      kv_eng: engineKind,
      config: {
        policy_mode: p.mode,
        flush_every_beats: p.flushEveryBeats,
        flush_scheduled_bt: p.flushScheduledBt,
        flush_on_shutdown: p.flushOnShutdown ? 1 : 0,
        allow_volatile_reads: p.allowVolatileReads ? 1 : 0,
        lazy: p.lazy ? 1 : 0,
        snapshot_ro: p.mode === 'ro_snapshot' ? 1 : 0,
      },
      branch_stat: {
        last_bt: this.lastFramed,
        durable_bt: this.durableBeat,
        pending: this.pending ? 1 : 0,
        dirty_cells: this.dirtyCells,
        last_cause: this.lastCause,
        flush_bytes: this.lastFlushBytes,
        flush_cells: this.lastFlushCells,
        flushes: this.flushes,
        failures: this.failures,
        failed: this.failure?.code ?? '',
        cold: this.cold ? 1 : 0,
      },
      metrics:
        stats === undefined
          ? undefined
          : {
              frames: stats.frames,
              beats: stats.beats,
              bytes: stats.bytes,
              checkpoints: stats.checkpoints,
              cas_blobs: stats.casBlobs,
              cas_hits: stats.casHits,
              cas_miss: stats.casMisses,
              syncs: stats.syncs,
              sync_ns: stats.syncNs,
            },
    };
  }
}

/** Why a branch is not durable: the beat its write failed at, the error's code and message. */
export interface BranchFailure {
  beat: number;
  code: string;
  message: string;
  retry: boolean;
}

/** What `/data/persist/<branch>` shows. */
export interface BranchView {
  kv_eng: string;
  config: Record<string, string | number>;
  branch_stat: Record<string, string | number>;
  metrics: Record<string, string | number> | undefined;
}

/** Write `view` under `/data/persist/<branch>` (hard updates: no history piles up). */
export function writeView(rt: Tree, branch: string, view: BranchView): void {
  const data = rt.find('/data')!;
  const persist = data.child('persist') ?? data.add('persist');
  const dir = persist.child(branch) ?? persist.add(branch);
  put(dir, 'kv_eng', view.kv_eng);
  group(dir, 'config', view.config);
  group(dir, 'branch_stat', view.branch_stat);
  if (view.metrics !== undefined) group(dir, 'metrics', view.metrics);
}

function put(parent: Cell, name: string, value: string | number): void {
  const text = String(value);
  const c = parent.child(name);
  if (c === undefined) parent.add(name, { value: text });
  else if (c.text !== text) c.setHard(text);
}

function group(parent: Cell, name: string, fields: Record<string, string | number>): void {
  const g = parent.child(name) ?? parent.add(name);
  for (const [k, v] of Object.entries(fields)) put(g, k, v);
}
