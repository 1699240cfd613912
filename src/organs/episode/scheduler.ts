/**
 * When slices run (docs/episodes.md: Scheduling): the ready queue, run at the start of Commit in
 * FIFO order, each episode at most once per beat. Commit first ends episodes cancelled between
 * their slices, then starts each ready episode's slice (an RW episode takes its lease first, or
 * waits for the next beat while the target is leased elsewhere), then publishes staged writes
 * (the commit edge).
 */
import type { Tree } from '../../kernel/tree.js';
import type { Dossiers } from './dossier.js';
import type { Episode } from './episode.js';
import type { FunctionSlices } from './function-slices.js';
import type { Leases } from './leases.js';
import type { ModuleSlices } from './module-slices.js';
import type { Outcomes } from './outcomes.js';
import type { Staging } from './staging.js';

/** What the scheduler drives. */
export interface SchedulerParts {
  leases: Leases;
  dossiers: Dossiers;
  outcomes: Outcomes;
  functions: FunctionSlices;
  modules: ModuleSlices;
  staging: Staging;
}

export class Scheduler {
  /** Episodes whose next slice runs at the coming Commit (FIFO). */
  private queue: Episode[] = [];
  /** The other half of the queue's double buffer (reused: no allocation per beat). */
  private spare: Episode[] = [];
  /** Episodes cancelled by ticket during a beat, ended at its Commit. */
  private readonly toCancel: Episode[] = [];

  constructor(
    private readonly rt: Tree,
    private readonly parts: SchedulerParts,
  ) {}

  /** Queue the episode's next slice for the coming Commit. */
  push(ep: Episode): void {
    this.queue.push(ep);
  }

  /** Cancel at this beat's Commit (a running slice sees it at once through `checkCancel()`). */
  cancel(ep: Episode): void {
    ep.cancel = true;
    this.toCancel.push(ep);
  }

  /** Whether slices are queued. */
  get queued(): boolean {
    return this.queue.length > 0;
  }

  /** Commit: cancellations, then ready slices in FIFO order, then staged writes (the commit edge). */
  commit(): void {
    const { outcomes, modules, staging } = this.parts;
    for (const ep of this.toCancel.splice(0)) if (!ep.done && !modules.isInFlight(ep)) outcomes.end(ep, 'ist:cxl', 'sts:cxl');
    if (this.queue.length > 0) {
      const list = this.queue;
      this.queue = this.spare;
      const beat = this.rt.beat;
      try {
        for (let i = 0; i < list.length; i++) {
          const ep = list[i];
          if (ep.done || ep.takenAt === beat) continue; // at most one slice per episode per beat
          ep.takenAt = beat;
          this.runSlice(ep);
        }
      } finally {
        this.parts.leases.unguard();
      }
      list.length = 0;
      this.spare = list;
    }
    if (staging.pending) staging.publish();
  }

  /** Start the episode's next slice: a function slice runs now, a module slice is submitted. */
  private runSlice(ep: Episode): void {
    const { leases, dossiers, outcomes } = this.parts;
    if (ep.cancel) return outcomes.end(ep, 'ist:cxl', 'sts:cxl');
    if (ep.profile === 'rw' && ep.lease === undefined && !leases.acquire(ep)) {
      if (this.rt.find(ep.target) === undefined) {
        dossiers.fact(ep, 'usage', 'ep:lease', `episode ${ep.eid}: the target ${ep.target} does not exist; nothing to lease`);
        return outcomes.end(ep, 'ist:fail', 'sts:fail');
      }
      this.queue.push(ep); // the target is leased elsewhere: try again at the next beat
      return;
    }
    ep.slices++;
    ep.runBeat = this.rt.beat;
    ep.runRecorded = false;
    ep.waitingOn = 0;
    // in the yield cycle the dossier stays `ist:yield` until a slice ends otherwise
    if (ep.yieldWatch === undefined) dossiers.enterRun(ep);
    if (ep.module !== undefined) return this.parts.modules.submit(ep);
    outcomes.finish(ep, this.parts.functions.run(ep));
  }
}
