/**
 * What the engine writes about an episode: its `op/ep` OPS dossier (`/rt/ops/<eid>`, with the
 * `episode/` block), the states in its history window, the yield cycle's standing watcher and an
 * await's watcher, lease notes, and CEI facts with the dossier as subject (docs/episodes.md:
 * Dossier). Every write leaves the RO guard first; opening a dossier does not, so a read-only
 * function slice cannot start an episode.
 */
import type { CeiFact, PipelineBlock } from '../../beat/cei/cei.js';
import { u64leOf } from '../../beat/heartbeat/encode.js';
import type { Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { EpisodeProfile } from './context.js';
import type { Episode, EpisodeBudget } from './episode.js';
import type { Leases } from './leases.js';

/** Entries an episode dossier's `history/` keeps (the newest; older ones are removed hard). */
export const EPISODE_HISTORY_WINDOW = 64;
/** Pipeline fields as CEI facts name them. */
const PIPELINE_KEYS = [
  ['pipelineId', 'pipeline_id'],
  ['stageId', 'stage_id'],
  ['dagRunId', 'dag_run_id'],
  ['hopIndex', 'hop_index'],
] as const;

/** What the `episode/` block of a new dossier records. */
export interface DossierBlock {
  signal: string;
  target: string;
  profile: EpisodeProfile;
  ticket: number;
  budget: EpisodeBudget;
  pipeline: PipelineBlock | undefined;
  /** `function`, or `module#name`. */
  slice: string;
}

export class Dossiers {
  constructor(
    private readonly hb: Heartbeat,
    private readonly leases: Leases,
  ) {}

  /** Open an episode's dossier with its `episode/` block; `slicesCell` is its `episode/slices`. */
  open(b: DossierBlock): { eid: number; slicesCell: Cell } {
    const ops = this.hb.ops;
    let slicesCell: Cell | undefined;
    // the `episode/` block is built with the dossier, its cells added in name order (a name-indexed
    // store stays sorted: no re-sort when the beat's digest walks it)
    const eid = ops.start('op/ep', { target: b.target, mode: 'opm:states' }, (d) => {
      const meta = d.add('episode');
      const budget = Object.entries(b.budget);
      if (budget.length > 0) {
        const bc = meta.add('budget');
        for (const [k, v] of budget) bc.add(k, { value: String(v) });
      }
      const pipeline = b.pipeline;
      if (pipeline !== undefined) {
        const pc = meta.add('pipeline');
        for (const [k, key] of PIPELINE_KEYS) if (pipeline[k] !== undefined) pc.add(key, { value: String(pipeline[k]) });
      }
      meta.add('profile', { value: `ep:pro/${b.profile}` });
      meta.add('signal', { value: b.signal });
      meta.add('slice', { value: b.slice });
      slicesCell = meta.add('slices', { value: u64leOf(0) });
      meta.add('target', { value: b.target });
      meta.add('ticket', { value: String(b.ticket) });
    });
    return { eid, slicesCell: slicesCell! };
  }

  /** A new dossier's history window and first state, `ist:plan`; its path. */
  plan(eid: number): string {
    const ops = this.hb.ops;
    const d = ops.dossier(eid);
    ops.window(eid, EPISODE_HISTORY_WINDOW);
    ops.state(eid, 'ist:plan');
    return d.path;
  }

  /** Record a state: it ends the yield cycle (its watcher goes) and brings `episode/slices` up to date. */
  record(ep: Episode, state: string, at?: number): void {
    this.leases.unguard();
    const w = ep.yieldWatch;
    if (w !== undefined) {
      ep.yieldWatch = undefined;
      if (!w.isFinalized) w.removeHard();
    }
    if (ep.slicesWritten !== ep.slices) {
      ep.slicesWritten = ep.slices;
      ep.slicesCell.setHard(u64leOf(ep.slices));
    }
    this.hb.ops.state(ep.eid, state, at);
  }

  /** Record `ist:run` for the current slice, at the beat it started (once). */
  enterRun(ep: Episode): void {
    if (ep.runRecorded) return;
    ep.runRecorded = true;
    this.record(ep, 'ist:run', ep.runBeat);
  }

  /** The yield cycle's first yield: `ist:yield`, and the standing watcher on the episode's own dossier. */
  startYieldCycle(ep: Episode): void {
    this.record(ep, 'ist:yield');
    ep.yieldWatch = this.hb.ops.standing(ep.eid, 'ist:yield', ep.path);
  }

  /**
   * Await operation `oid`: `ist:await`, and a watcher on its dossier with the episode as target.
   * False (nothing written) when there is no such operation.
   */
  await(ep: Episode, oid: number, want: string, ttl: number): boolean {
    const ops = this.hb.ops;
    let awaited: Cell | undefined;
    try {
      awaited = ops.dossier(oid);
    } catch {
      awaited = undefined;
    }
    if (awaited === undefined) return false;
    this.record(ep, 'ist:await');
    ep.waitingOn = oid;
    ep.awaitWatch = ops.await(oid, { want, ttl, target: ep.path });
    return true;
  }

  /** An episode's end: the watcher of an await it ends in is taken back, the final state recorded, the dossier closed. */
  close(ep: Episode, state: string, status: string): void {
    const ops = this.hb.ops;
    if (ep.waitingOn !== 0) {
      // ended while it waited (cancelled): nobody waits on the awaited dossier any more
      this.leases.unguard();
      ops.unwatch(ep.waitingOn, ep.awaitWatch);
      ep.waitingOn = 0;
    }
    if (ops.isOpen(ep.eid)) {
      this.record(ep, state);
      ops.close(ep.eid, status);
    }
  }

  /** The dossier's status (`sts:ok` once closed so). */
  status(ep: Episode): string | undefined {
    return this.hb.ops.info(ep.eid).status;
  }

  /** A promotion or demotion, under `episode/lease`. */
  leaseNote(ep: Episode, what: 'promote' | 'demote'): void {
    this.leases.unguard();
    const meta = this.hb.ops.dossier(ep.eid).child('episode')!;
    const l = meta.child('lease') ?? meta.add('lease', { store: 'list', indexing: 'insertion' });
    l.add(null, { value: `${what}@${this.hb.rt.beat}` });
  }

  /** A CEI fact about the episode: the dossier is its subject, the signal and target its origin. */
  fact(ep: Episode, severity: CeiFact['severity'], topic: string, note: string): void {
    this.leases.unguard();
    this.hb.report({ severity, topic, note, subject: ep.path, origin: { signal: ep.signal, target: ep.target } });
  }
}
