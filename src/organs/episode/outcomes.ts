/**
 * What a slice decided, applied to its episode (function slices as they return, module slices
 * at the next Compute): refused-mutation facts, budgets, then the next state: another slice at
 * the next beat (a yield), an await, or the end. And the end itself, however it comes.
 */
import type { Budgets } from './budget.js';
import type { Dossiers } from './dossier.js';
import type { Episode } from './episode.js';
import type { Leases } from './leases.js';
import type { SliceOutcome } from './slice-runner.js';

/** What the episode's end asks of the rest of the engine. */
export interface OutcomeHooks {
  /** Queue the episode's next slice for the next beat's Commit. */
  requeue(ep: Episode): void;
  /** Forget an episode that ended: its run-ahead guesses, its entries by eid and ticket. */
  retire(ep: Episode): void;
}

export class Outcomes {
  constructor(
    private readonly dossiers: Dossiers,
    private readonly budgets: Budgets,
    private readonly leases: Leases,
    private readonly hooks: OutcomeHooks,
  ) {}

  /** Apply what a slice decided: facts, budgets, then the next state. */
  finish(ep: Episode, out: SliceOutcome): void {
    if (ep.done) return;
    ep.state = out.state;
    const dossiers = this.dossiers;
    for (let i = 0; i < out.guard; i++) dossiers.fact(ep, 'usage', 'ep:pro/ro', `episode ${ep.eid}: a read-only slice tried to mutate; refused`);
    this.budgets.charge(ep, out);
    if (out.cancel) ep.cancel = true;
    if (out.action === 'yield' && !ep.cancel) {
      // the yield cycle: only a change of state is recorded, with the standing watcher armed once
      if (ep.runRecorded) dossiers.startYieldCycle(ep);
      this.hooks.requeue(ep); // the continuation: the next beat's Commit runs the next slice
      return;
    }
    dossiers.enterRun(ep);
    if (ep.cancel) return this.end(ep, 'ist:cxl', 'sts:cxl');
    switch (out.action) {
      case 'await':
        // want and ttl were checked when the slice called ctx.await (checkAwait, both slice kinds)
        if (dossiers.await(ep, out.oid, out.want, out.ttl)) return;
        dossiers.fact(ep, 'usage', 'ep:await', `episode ${ep.eid} awaits operation ${out.oid}, which does not exist`);
        return this.end(ep, 'ist:fail', 'sts:fail');
      case 'cancel':
        return this.end(ep, 'ist:cxl', 'sts:cnl');
      case 'fail':
        dossiers.fact(ep, 'usage', 'ep:fail', `episode ${ep.eid}: the slice threw: ${out.error}`);
        return this.end(ep, 'ist:fail', 'sts:fail');
      default: // 'close', or a slice that chose nothing: its work is done
        return this.end(ep, 'ist:ok', 'sts:ok');
    }
  }

  /** End an episode: nothing of it is held or waited on any more, its dossier closed with `state` and `status`. */
  end(ep: Episode, state: string, status: string): void {
    ep.done = true;
    this.hooks.retire(ep);
    this.leases.release(ep);
    this.dossiers.close(ep, state, status);
  }
}
