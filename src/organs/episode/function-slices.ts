/**
 * Function slices: run on the runtime thread, with a context reused slice after slice, under
 * the episode's lease when it holds one, else inside the RO guard; timed with this thread's
 * CPU clock only when the episode has a CPU budget. The context lends them promotion and
 * demotion (hybrid episodes) and staging.
 */
import { binding } from '../../native/index.js';
import type { Tree } from '../../kernel/tree.js';
import { ioLeft, isTimed } from './budget.js';
import { FunctionContext, type ContextHost, type StagedWrite } from './context.js';
import { enterContext, leaveContext } from './current.js';
import type { Dossiers } from './dossier.js';
import type { Episode } from './episode.js';
import type { Leases } from './leases.js';
import type { SliceOutcome } from './slice-runner.js';
import type { Staging } from './staging.js';

export class FunctionSlices {
  constructor(
    private readonly rt: Tree,
    private readonly leases: Leases,
    private readonly dossiers: Dossiers,
    private readonly staging: Staging,
  ) {}

  /** Run the episode's function slice now; what it decided (its context's outcome, reused). */
  run(ep: Episode): SliceOutcome {
    const timed = isTimed(ep.budget);
    ep.ctx ??= new FunctionContext(this.host(ep), ep.eid, ep.ticket, ep.profile, ep.signal, ep.target);
    const ctx = ep.ctx.begin(this.rt.beat, ep.state, ep.cancel, ioLeft(ep));
    const t0 = timed ? binding.threadCpuMs() : 0; // this thread's CPU time (docs/episodes.md: CPU)
    const prev = enterContext(ctx);
    try {
      const l = ep.lease;
      if (l !== undefined) {
        this.leases.unguard();
        l.store.run(() => l.data.run(() => ep.fn!(ctx)));
      } else {
        this.leases.guard();
        ep.fn!(ctx);
      }
    } catch (e) {
      if ((e as { code?: string })?.code === 'ERR_REPLAY_MISMATCH') throw e;
      ctx.out.action = 'fail';
      ctx.out.error = (e as Error)?.message ?? String(e);
    } finally {
      leaveContext(prev);
    }
    if (timed) ctx.out.ms = binding.threadCpuMs() - t0;
    ctx.out.state = ctx.state;
    return ctx.out;
  }

  /** What the contexts of `ep`'s function slices lend from the engine (made once per episode). */
  private host(ep: Episode): ContextHost {
    if (ep.host !== undefined) return ep.host;
    return (ep.host = {
      rt: this.rt,
      leased: () => ep.lease !== undefined,
      cancelled: () => ep.cancel,
      promote: () => this.promote(ep),
      demote: () => this.demote(ep),
      underLease<T>(fn: () => T): T {
        const l = ep.lease;
        return l === undefined ? fn() : l.store.run(() => l.data.run(fn));
      },
      stage: (w: StagedWrite) => this.staging.stage(ep, w),
    });
  }

  /** Hybrid: take the lease; the promotion shows in the history (`ist:run`) and under `episode/lease`. */
  private promote(ep: Episode): boolean {
    if (ep.profile === 'ro') return false;
    if (ep.lease !== undefined) return true;
    if (!this.leases.promote(ep)) return false;
    this.dossiers.enterRun(ep);
    this.dossiers.record(ep, 'ist:run'); // history shows the promotion point
    this.dossiers.leaseNote(ep, 'promote');
    return true;
  }

  /** Hybrid: give the lease back; the rest of the slice is read-only again. */
  private demote(ep: Episode): boolean {
    if (ep.lease === undefined || ep.profile !== 'hybrid') return false;
    this.leases.release(ep);
    this.dossiers.leaseNote(ep, 'demote');
    // read-only again for the rest of the slice: the cell API is refused as in any RO slice
    this.leases.guard();
    return true;
  }
}
