/**
 * The Episodic Enzyme Engine (E3): long-running work as `op/ep` dossiers, run in slices
 * (docs/episodes.md). `Episodes` holds the public API and wires the parts, each with one job:
 *
 *   dossier.ts          the `op/ep` dossier: its `episode/` block, states in the history window,
 *                       the yield and await watchers, lease notes, CEI facts
 *   leases.ts           leases on targets (RW, promoted hybrids) and the RO guard (root locks)
 *   budget.ts           I/O and CPU budgets; CPU time taken through a recorded decision
 *   scheduler.ts        the ready queue and Commit's slice loop (one slice per episode per beat)
 *   function-slices.ts  function slices on the runtime thread (context, lease or RO guard, CPU time)
 *   module-slices.ts    module slices: stub or threaded executor, outcomes applied at the next Compute
 *   run-ahead.ts        run-ahead guesses of the threaded backend (made, adopted, dropped)
 *   outcomes.ts         what a slice decided, applied: next state, or the episode's end
 *   staging.ts          staged writes, published at the commit edge
 *   episode.ts          the episode record they share
 *
 * Ready episodes run at the start of Commit in FIFO order. A yield is a cycle: its first slice
 * records `ist:run`, `ist:yield` and a standing watcher on the episode's own dossier; while the
 * episode keeps yielding nothing more is written and the engine requeues it itself (no impulse).
 * An await arms an OPS watcher on the awaited operation, so `op/cont` brings the episode back
 * through the `ep/cont` enzyme at the next beat, and `op/tmo` (through `ep/tmo`) cancels it
 * with `sts:cnl`; `ep/cancel` (`ep/cxl`) is a cancellation by ticket from outside a beat.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../../errors.js';
import { checkSignal, checkTarget } from '../../beat/enzyme/signal.js';
import type { EnzymeContext } from '../../beat/heartbeat/context.js';
import type { BeatParticipant, Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import type { Tree } from '../../kernel/tree.js';
import { Budgets, checkBudget } from './budget.js';
import type { FunctionSlice } from './context.js';
import { Dossiers } from './dossier.js';
import { newEpisode, type Episode, type EpisodeModule, type EpisodeStart, type ExecutorBackend } from './episode.js';
import { FunctionSlices } from './function-slices.js';
import { Leases } from './leases.js';
import { ModuleSlices } from './module-slices.js';
import { Outcomes } from './outcomes.js';
import { Scheduler } from './scheduler.js';
import { Staging } from './staging.js';
import type { ThreadedOptions } from './threaded.js';

export { EPISODE_HISTORY_WINDOW } from './dossier.js';
export type { EpisodeBudget, EpisodeStart, ExecutorBackend, ModuleSlice } from './episode.js';

export interface EpisodeOptions {
  /** Executor backend for module slices (default 'stub'). */
  executor?: ExecutorBackend;
  /** Threaded backend: workers per slice module (default 2). */
  threads?: number;
  /** Threaded backend: largest serialized slice input a worker takes (default 64 KiB). */
  sliceBytes?: number;
}

const PROFILES: ReadonlySet<string> = new Set(['ro', 'rw', 'hybrid']);
const SIG_CANCEL = 'ep/cancel';

/** The threaded backend's options, checked (undefined: the stub backend). */
function threadedOptions(options: EpisodeOptions, ex: ExecutorBackend): ThreadedOptions | undefined {
  if (ex !== 'threaded') return undefined;
  const threads = options.threads ?? 2;
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) throw outOfRange('threads', 'an integer in 1 .. 256', threads);
  const sliceBytes = options.sliceBytes ?? 1 << 16;
  if (!Number.isSafeInteger(sliceBytes) || sliceBytes < 1024 || sliceBytes > 1 << 26) throw outOfRange('sliceBytes', 'an integer in 1024 .. 2^26', sliceBytes);
  return { threads, sliceBytes };
}

export class Episodes<R extends Tree = Tree> implements BeatParticipant {
  readonly executor: ExecutorBackend;
  private readonly live = new Map<number, Episode>();
  private readonly byTicket = new Map<number, Episode>();
  private nextTicket = 0;
  private readonly dossiers: Dossiers;
  private readonly outcomes: Outcomes;
  private readonly modules: ModuleSlices;
  private readonly scheduler: Scheduler;

  constructor(
    private readonly hb: Heartbeat<R>,
    options: EpisodeOptions = {},
  ) {
    const rt = hb.rt;
    const ex = options.executor ?? 'stub';
    if (ex !== 'stub' && ex !== 'threaded') throw invalidArgValue('executor', `must be 'stub' or 'threaded' (got ${String(ex)})`);
    this.executor = ex;
    const leases = new Leases(rt);
    const dossiers = (this.dossiers = new Dossiers(hb, leases));
    const outcomes = (this.outcomes = new Outcomes(dossiers, new Budgets(hb, dossiers, leases), leases, {
      requeue: (ep) => this.scheduler.push(ep),
      retire: (ep) => this.retire(ep),
    }));
    const modules = (this.modules = new ModuleSlices(rt, threadedOptions(options, ex), (ep, out) => outcomes.finish(ep, out)));
    const staging = new Staging(rt, dossiers, (ep) => outcomes.end(ep, 'ist:fail', 'sts:fail'));
    const functions = new FunctionSlices(rt, leases, dossiers, staging);
    this.scheduler = new Scheduler(rt, { leases, dossiers, outcomes, functions, modules, staging });
    hb.registerEnzyme({ name: 'ep/cont', signal: 'op/cont', label: 'episode continuation', run: (ctx) => this.onCont(ctx) });
    hb.registerEnzyme({ name: 'ep/tmo', signal: 'op/tmo', label: 'episode timeout', run: (ctx) => this.onTimeout(ctx) });
    hb.registerEnzyme({ name: 'ep/cxl', signal: SIG_CANCEL, label: 'episode cancel by ticket', run: (ctx) => this.onCancel(ctx) });
    for (const e of ['ep/cont', 'ep/tmo', 'ep/cxl']) hb.registry.bind('/rt/ops', e, true);
    hb.participate(this);
  }

  // ---- public API -------------------------------------------------------------------------------

  /**
   * Load a slice module (an ES module whose named exports are slice functions) so module slices
   * can name it; with the threaded backend this starts its workers.
   */
  load(module: string | URL): Promise<void> {
    return this.modules.load(module);
  }

  /** Open an episode: its `op/ep` dossier (`ist:plan`) and its first slice, at the next Commit. */
  start(options: EpisodeStart<R>): { eid: number; ticket: number } {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const signal = checkSignal(options.signal);
    const target = checkTarget(options.target);
    const profile = options.profile;
    if (!PROFILES.has(profile)) throw invalidArgValue('profile', `must be 'ro', 'rw' or 'hybrid' (got ${String(profile)})`);
    const budget = checkBudget(options.budget);
    let fn: FunctionSlice | undefined;
    let module: EpisodeModule | undefined;
    const s = options.slice;
    if (typeof s === 'function')
      fn = s as FunctionSlice; // called with the heartbeat's tree, which is an R
    else if (s !== null && typeof s === 'object' && typeof s.name === 'string') {
      if (profile !== 'ro') throw invalidArgValue('slice', 'module slices are read-only: use a function slice for rw and hybrid episodes');
      module = this.modules.resolve(s);
    } else throw invalidArgType('slice', 'a function or { module, name }', s);
    const reads = options.reads ?? [];
    if (!Array.isArray(reads) || reads.some((p) => typeof p !== 'string' || !p.startsWith('/'))) throw invalidArgType('reads', 'an array of absolute paths', reads);
    if (fn === undefined && reads.length === 0) throw invalidArgValue('reads', 'a module slice declares the subtrees it reads');
    const pipeline = options.pipeline;
    if (pipeline !== undefined && (pipeline === null || typeof pipeline !== 'object')) throw invalidArgType('pipeline', 'an object', pipeline);
    const ticket = this.nextTicket + 1;
    const slice = fn !== undefined ? 'function' : `${module!.href}#${module!.name}`;
    const { eid, slicesCell } = this.dossiers.open({ signal, target, profile, ticket, budget, pipeline, slice });
    this.nextTicket = ticket;
    const path = this.dossiers.plan(eid);
    const ep = newEpisode({ eid, ticket, path, slicesCell, signal, target, profile, budget, fn, module, reads, state: options.state });
    this.live.set(eid, ep);
    this.byTicket.set(ticket, ep);
    this.scheduler.push(ep);
    this.hb.wake();
    return { eid, ticket };
  }

  /**
   * Cancel an episode by its ticket (queued, waiting or running): it ends `ist:cxl`, `sts:cxl`.
   * Inside a beat it takes effect at this beat's Commit; from outside, through an `ep/cancel`
   * impulse for the next beat (so a replay sees it). Returns false for an unknown or finished
   * ticket.
   */
  cancelTicket(ticket: number): boolean {
    if (!Number.isSafeInteger(ticket) || ticket < 1) throw outOfRange('ticket', 'an integer >= 1', ticket);
    const ep = this.byTicket.get(ticket);
    if (ep === undefined || ep.done) return false;
    if (this.hb.inProgress) this.scheduler.cancel(ep);
    else this.hb.enqueue(SIG_CANCEL, ep.path, String(ticket), { qos: { control: true } });
    return true;
  }

  /** Cancel by the episode's operation id (tooling that holds the OID): the same as `cancelTicket`. */
  cancel(eid: number): boolean {
    if (!Number.isSafeInteger(eid) || eid < 1) throw outOfRange('eid', 'an integer >= 1', eid);
    const ep = this.live.get(eid);
    return ep !== undefined && this.cancelTicket(ep.ticket);
  }

  /** Episodes not finished. */
  get active(): number {
    return this.live.size;
  }

  /** Module slices run on worker threads so far (the rest ran on the runtime thread). */
  get offloaded(): number {
    return this.modules.offloaded;
  }

  /** Of those, slices whose run-ahead guess was adopted (it ran before its beat's Commit). */
  get ranAhead(): number {
    return this.modules.ranAhead;
  }

  /** Whether no module slice is out on a worker thread. */
  get settled(): boolean {
    return this.modules.ready();
  }

  /** Resolves once every slice out on worker threads has its result. */
  async settle(): Promise<void> {
    while (!this.modules.ready()) await this.modules.whenReady();
  }

  /** One beat, once slices out on worker threads are in. */
  async step(): Promise<number> {
    await this.settle();
    return this.hb.step();
  }

  /** `beats` beats (or until nothing is queued or running), settling before each. */
  async run(options: { beats?: number } = {}): Promise<number> {
    const beats = options.beats;
    if (beats !== undefined && (!Number.isSafeInteger(beats) || beats < 0)) throw outOfRange('beats', 'an integer >= 0', beats);
    let ran = 0;
    while (beats === undefined ? (this.hb.pending > 0 || this.busy()) && ran < 1_000_000 : ran < beats) {
      if (this.hb.isHalted) break;
      await this.step();
      ran++;
    }
    return ran;
  }

  /** Stop the worker threads (the threaded backend). */
  async close(): Promise<void> {
    await this.modules.close();
  }

  // ---- the beat (BeatParticipant) -------------------------------------------------------------

  /** Compute: apply the outcomes of module slices submitted at the last Commit, in order. */
  compute(): void {
    this.modules.compute();
  }

  /** Commit: cancellations, then ready slices in FIFO order, then staged writes (the commit edge). */
  commit(): void {
    this.scheduler.commit();
  }

  /** Whether a beat can run: no module slice result is still out on a worker thread. */
  ready(): boolean {
    return this.modules.ready();
  }

  /** Whether a beat has work here: slices queued, or outcomes to apply. */
  busy(): boolean {
    return this.scheduler.queued || this.modules.pending;
  }

  whenReady(): Promise<void> {
    return this.modules.whenReady();
  }

  /** Forget an episode that ended: its guesses, its entries by eid and ticket. */
  private retire(ep: Episode): void {
    this.modules.forget(ep);
    this.live.delete(ep.eid);
    this.byTicket.delete(ep.ticket);
  }

  // ---- continuation enzymes --------------------------------------------------------------------

  private episodeAt(ctx: EnzymeContext): Episode | undefined {
    const t = ctx.target;
    if (t === null || !t.startsWith('/rt/ops/')) return undefined;
    const eid = Number(t.slice(8));
    return Number.isSafeInteger(eid) ? this.live.get(eid) : undefined;
  }

  /** `op/cont` on an episode's dossier: its yield watcher fired, or what it awaited arrived. */
  private onCont(ctx: EnzymeContext): void {
    const ep = this.episodeAt(ctx);
    if (ep === undefined || ep.done) return;
    const oid = Number(ctx.payload);
    if (ep.waitingOn !== 0 && oid === ep.waitingOn) this.scheduler.push(ep);
  }

  /** `op/tmo` on an episode's dossier: what it awaited did not arrive in time. */
  private onTimeout(ctx: EnzymeContext): void {
    const ep = this.episodeAt(ctx);
    if (ep === undefined || ep.done || ep.waitingOn === 0 || Number(ctx.payload) !== ep.waitingOn) return;
    this.dossiers.fact(ep, 'warn', 'ep:tmo', `episode ${ep.eid}: operation ${ep.waitingOn} did not arrive in time`);
    this.outcomes.end(ep, 'ist:cxl', 'sts:cnl');
  }

  /** `ep/cancel` (from `cancelTicket` outside a beat). */
  private onCancel(ctx: EnzymeContext): void {
    const ep = this.byTicket.get(Number(ctx.payload));
    if (ep !== undefined && !ep.done) this.scheduler.cancel(ep);
  }
}
