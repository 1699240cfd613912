/**
 * The Episodic Enzyme Engine (E3): long-running work as `op/ep` dossiers, run in slices.
 *
 * An episode's dossier is `/rt/ops/<eid>` (an OPS dossier, verb `op/ep`) with an `episode/`
 * block (signal, target, profile, ticket, slices, budget, pipeline). Its states (`ist:plan`,
 * `ist:run`, `ist:yield`, `ist:await`, `ist:ok`, `ist:cxl`, `ist:fail`) go to the dossier's
 * append-only history (a window of the newest entries). Slices run at the start of Commit, ready
 * episodes in FIFO order, each at most once per beat. A yield is a cycle: its first slice
 * records `ist:run`, `ist:yield` and a standing watcher on the episode's own dossier; while the
 * episode keeps yielding, nothing more is written and the engine requeues it for the next beat
 * itself (no impulse). An await arms an OPS watcher on the awaited operation, so `op/cont`
 * brings the episode back through the `ep/cont` enzyme at the next beat, and `op/tmo` (through
 * `ep/tmo`) cancels it with `sts:cnl`.
 *
 * Function slices run on the runtime thread. Module slices (read-only) run against a snapshot
 * of what they declared they read; their outcomes are applied at the start of the next beat's
 * Compute, in submission order: on worker threads with the threaded backend, on the runtime
 * thread with the stub backend, with the same runner and so the same outcome.
 *
 * Run-ahead (threaded backend): when a module slice's outcome comes back as a plain yield, the
 * engine guesses the episode's next input (the same snapshot, the state the slice left, the next
 * beat) and hands it to the workers as a low-priority guess, so their idle time at the beat
 * barrier is used. At the next Commit the real input is encoded as always; a guess with the very
 * same bytes is adopted (the runner is a function of its input, so its outcome is the outcome the
 * real slice would have had), any other is dropped and the slice submitted as usual.
 */
import { invalidArgType, invalidArgValue, invalidState, notFound, outOfRange } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { CeiFact } from '../../beat/cei/cei.js';
import type { PipelineBlock } from '../../beat/cei/cei.js';
import { checkSignal, checkTarget } from '../../beat/enzyme/signal.js';
import type { EnzymeContext } from '../../beat/heartbeat/context.js';
import type { BeatParticipant, Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import type { LockToken } from '../../kernel/lock.js';
import type { Tree } from '../../kernel/tree.js';
import { u64leOf } from '../../beat/heartbeat/encode.js';
import { binding } from '../../native/index.js';
import { enterContext, leaveContext } from './current.js';
import { FunctionContext, type ContextHost, type EpisodeProfile, type FunctionSlice, type StagedWrite } from './context.js';
import { bytesEqual } from '../../kernel/cell/payload.js';
import { decodeOutcome, encodeHead, encodeInput, encodeState, runModuleSlice, type SliceOutcome } from './slice-runner.js';
import { encodeSnapshot } from './snapshot.js';
import { SlicePools, type SliceHandle } from './threaded.js';

export type ExecutorBackend = 'stub' | 'threaded';

export interface EpisodeOptions {
  /** Executor backend for module slices (default 'stub'). */
  executor?: ExecutorBackend;
  /** Threaded backend: workers per slice module (default 2). */
  threads?: number;
  /** Threaded backend: largest serialized slice input a worker takes (default 64 KiB). */
  sliceBytes?: number;
}

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

const PROFILES: ReadonlySet<string> = new Set(['ro', 'rw', 'hybrid']);
/** Entries an episode dossier's `history/` keeps (the newest; older ones are removed hard). */
export const EPISODE_HISTORY_WINDOW = 64;
const CPU_DECISION = 'ep:cpu';
const SIG_CANCEL = 'ep/cancel';
/** Pipeline fields as CEI facts name them. */
const PIPELINE_KEYS = [
  ['pipelineId', 'pipeline_id'],
  ['stageId', 'stage_id'],
  ['dagRunId', 'dag_run_id'],
  ['hopIndex', 'hop_index'],
] as const;

interface Episode {
  eid: number;
  ticket: number;
  path: string;
  signal: string;
  target: string;
  profile: EpisodeProfile;
  budget: EpisodeBudget;
  fn: FunctionSlice | undefined;
  /** A module slice; `head`: the fields of its inputs that never change, encoded once. */
  module: { href: string; name: string; ns: Record<string, unknown>; head: Uint8Array | undefined } | undefined;
  reads: string[];
  state: unknown;
  io: number;
  cpu: number;
  /** Cancellation asked for (ticket, requestCancel, budget): ends `sts:cxl`. */
  cancel: boolean;
  lease: { store: LockToken; data: LockToken } | undefined;
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
  slicesCell: Cell;
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
interface Guess {
  beat: number;
  handle: SliceHandle;
  /** A guess's input, compared with the real one at its Commit (until adopted or dropped). */
  input: Uint8Array | undefined;
  /** The snapshot it read (encoded): kept until the next guess is made from it. */
  snap: Uint8Array | undefined;
  /** A guess's snapshot and state as in `input` (until adopted or dropped): see `sameInput`. */
  read: Uint8Array | undefined;
  state: unknown;
  /** I/O bytes the episode had accounted before this slice. */
  io: number;
}

/** Guesses an episode may have out at once, and beats without guesses after a wrong one. */
const AHEAD_SLICES = 2;
const AHEAD_BACKOFF = 16;

/** A module slice submitted at Commit, applied at the next Compute. */
interface InFlight {
  ep: Episode;
  /** The outcome, when the slice ran on the runtime thread. */
  bytes?: Uint8Array;
  /** The slice, when it went to the worker threads. */
  handle?: SliceHandle;
}

function checkBudget(b: unknown): EpisodeBudget {
  if (b === undefined) return {};
  if (b === null || typeof b !== 'object') throw invalidArgType('budget', 'an object', b);
  const out: EpisodeBudget = {};
  for (const k of ['cpuMs', 'sliceCpuMs', 'ioBytes', 'sliceIoBytes'] as const) {
    const v = (b as EpisodeBudget)[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw outOfRange(`budget.${k}`, 'a finite number >= 0', v);
    out[k] = v;
  }
  return out;
}

/** One staged write: through the adapter of a STREAM cell, else over the payload from `offset` (growing it). */
function applyStaged(c: Cell, w: StagedWrite): void {
  if (c.type === 'proxy') {
    c.write(w.offset, w.bytes);
    return;
  }
  const cur = c.value ?? new Uint8Array(0);
  const next = new Uint8Array(Math.max(cur.length, w.offset + w.bytes.length));
  next.set(cur);
  next.set(w.bytes, w.offset);
  c.set(next);
}

export class Episodes<R extends Tree = Tree> implements BeatParticipant {
  readonly executor: ExecutorBackend;
  private readonly live = new Map<number, Episode>();
  private readonly byTicket = new Map<number, Episode>();
  /** Episodes whose next slice runs at the coming Commit (FIFO). */
  private queue: Episode[] = [];
  /** The other half of the queue's double buffer (reused: no allocation per beat). */
  private spare: Episode[] = [];
  private readonly toCancel: Episode[] = [];
  private inFlight: InFlight[] = [];
  private staged: Array<{ ep: Episode; w: StagedWrite }> = [];
  private readonly modules = new Map<string, Record<string, unknown>>();
  private readonly pools: SlicePools | undefined;
  /** Worker outcomes decoded so far (`outcomeOf`). */
  private readonly decoded = new WeakMap<SliceHandle, SliceOutcome>();
  private nextTicket = 0;
  /** Module slices run on worker threads so far (the rest ran on the runtime thread). */
  offloaded = 0;
  /** Of those, slices whose run-ahead guess was adopted (it ran before its beat's Commit). */
  ranAhead = 0;
  /**
   * Root locks held while read-only function slices run (their guard against the cell API).
   * Taken at the first such slice of a Commit and kept across the next ones (a yield cycle
   * writes nothing); every engine write, lease and read-write slice drops it first (`unguard`).
   */
  private roGuard: { store: LockToken; data: LockToken } | undefined;

  /** The tree the episodes run on (the heartbeat's). */
  private readonly rt: R;

  constructor(
    private readonly hb: Heartbeat<R>,
    options: EpisodeOptions = {},
  ) {
    this.rt = hb.rt;
    const ex = options.executor ?? 'stub';
    if (ex !== 'stub' && ex !== 'threaded') throw invalidArgValue('executor', `must be 'stub' or 'threaded' (got ${String(ex)})`);
    this.executor = ex;
    if (ex === 'threaded') {
      const threads = options.threads ?? 2;
      if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) throw outOfRange('threads', 'an integer in 1 .. 256', threads);
      const sliceBytes = options.sliceBytes ?? 1 << 16;
      if (!Number.isSafeInteger(sliceBytes) || sliceBytes < 1024 || sliceBytes > 1 << 26) throw outOfRange('sliceBytes', 'an integer in 1024 .. 2^26', sliceBytes);
      this.pools = new SlicePools({ threads, sliceBytes });
    }
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
  async load(module: string | URL): Promise<void> {
    const href = this.href(module);
    if (!this.modules.has(href)) this.modules.set(href, (await import(href)) as Record<string, unknown>);
    await this.pools?.open(href);
  }

  private href(module: unknown): string {
    if (module instanceof URL) return module.href;
    if (typeof module === 'string' && module.length > 0) return module.includes(':') && !module.startsWith('/') ? module : new URL(`file://${module}`).href;
    throw invalidArgType('module', 'a path or URL', module);
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
    let module: Episode['module'];
    const s = options.slice;
    if (typeof s === 'function')
      fn = s as FunctionSlice; // called with this.rt, which is an R
    else if (s !== null && typeof s === 'object' && typeof s.name === 'string') {
      if (profile !== 'ro') throw invalidArgValue('slice', 'module slices are read-only: use a function slice for rw and hybrid episodes');
      const href = this.href(s.module);
      const ns = this.modules.get(href);
      if (ns === undefined) throw invalidState(href, 'load the slice module first (await rt.episodes.load(module))');
      if (typeof ns[s.name] !== 'function') throw notFound(`slice function ${s.name} in ${href}`);
      module = { href, name: s.name, ns, head: undefined };
    } else throw invalidArgType('slice', 'a function or { module, name }', s);
    const reads = options.reads ?? [];
    if (!Array.isArray(reads) || reads.some((p) => typeof p !== 'string' || !p.startsWith('/'))) throw invalidArgType('reads', 'an array of absolute paths', reads);
    if (fn === undefined && reads.length === 0) throw invalidArgValue('reads', 'a module slice declares the subtrees it reads');
    const pipeline = options.pipeline;
    if (pipeline !== undefined && (pipeline === null || typeof pipeline !== 'object')) throw invalidArgType('pipeline', 'an object', pipeline);
    const ops = this.hb.ops;
    const ticket = this.nextTicket + 1;
    let slicesCell: Cell | undefined;
    // the `episode/` block is built with the dossier, its cells added in name order (a name-indexed
    // store stays sorted: no re-sort when the beat's digest walks it)
    const eid = ops.start('op/ep', { target, mode: 'opm:states' }, (d) => {
      const meta = d.add('episode');
      const b = Object.entries(budget);
      if (b.length > 0) {
        const bc = meta.add('budget');
        for (const [k, v] of b) bc.add(k, { value: String(v) });
      }
      if (pipeline !== undefined) {
        const pc = meta.add('pipeline');
        for (const [k, key] of PIPELINE_KEYS) if (pipeline[k] !== undefined) pc.add(key, { value: String(pipeline[k]) });
      }
      meta.add('profile', { value: `ep:pro/${profile}` });
      meta.add('signal', { value: signal });
      meta.add('slice', { value: fn !== undefined ? 'function' : `${module!.href}#${module!.name}` });
      slicesCell = meta.add('slices', { value: u64leOf(0) });
      meta.add('target', { value: target });
      meta.add('ticket', { value: String(ticket) });
    });
    this.nextTicket = ticket;
    const d = ops.dossier(eid);
    ops.window(eid, EPISODE_HISTORY_WINDOW);
    ops.state(eid, 'ist:plan');
    const ep: Episode = {
      eid,
      ticket,
      path: d.path,
      signal,
      target,
      profile,
      budget,
      fn,
      module,
      reads: [...reads],
      state: options.state,
      io: 0,
      cpu: 0,
      cancel: false,
      lease: undefined,
      waitingOn: 0,
      awaitWatch: 0,
      done: false,
      slices: 0,
      slicesWritten: 0,
      slicesCell: slicesCell!,
      yieldWatch: undefined,
      runBeat: 0,
      runRecorded: false,
      takenAt: -1,
      sent: undefined,
      ahead: [],
      aheadOff: 0,
    };
    this.live.set(eid, ep);
    this.byTicket.set(ticket, ep);
    this.queue.push(ep);
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
    if (this.hb.inProgress) this.markCancel(ep);
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

  /** Whether no module slice is out on a worker thread. */
  get settled(): boolean {
    return this.isReady();
  }

  /** Resolves once every slice out on worker threads has its result. */
  async settle(): Promise<void> {
    while (!this.isReady()) await this.whenReady();
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
    await this.pools?.close();
  }

  // ---- the beat -------------------------------------------------------------------------------

  /** Compute: apply the outcomes of module slices submitted at the last Commit, in order. */
  compute(): void {
    if (this.inFlight.length === 0) return;
    const list = this.inFlight;
    this.inFlight = [];
    for (const f of list) {
      let out: SliceOutcome;
      if (f.bytes !== undefined) out = decodeOutcome(f.bytes);
      else {
        const r = f.handle!.result!;
        out = r.ok ? this.outcomeOf(f.handle!) : Object.assign(this.blank(f.ep), { action: 'fail' as const, error: r.error?.message ?? 'the worker failed' });
      }
      this.finish(f.ep, out);
    }
  }

  /** Commit: cancellations, then ready slices in FIFO order, then staged writes (the commit edge). */
  commit(): void {
    for (const ep of this.toCancel.splice(0)) if (!ep.done && !this.isInFlight(ep)) this.end(ep, 'ist:cxl', 'sts:cxl');
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
        this.unguard();
      }
      list.length = 0;
      this.spare = list;
    }
    if (this.staged.length > 0) this.publish();
  }

  /** Whether a beat can run: no module slice result is still out on a worker thread. */
  ready(): boolean {
    return this.isReady();
  }

  private isReady(): boolean {
    if (this.pools === undefined) return true;
    for (const f of this.inFlight) if (f.handle !== undefined && !this.pools.has(f.handle)) return false;
    return true;
  }

  /** Whether a beat has work here: slices queued, or outcomes to apply. */
  busy(): boolean {
    return this.queue.length > 0 || this.inFlight.length > 0;
  }

  whenReady(): Promise<void> {
    return this.isReady() ? Promise.resolve() : this.pools!.progress();
  }

  private isInFlight(ep: Episode): boolean {
    return this.inFlight.some((f) => f.ep === ep);
  }

  // ---- slices ---------------------------------------------------------------------------------

  private blank(ep: Episode): SliceOutcome {
    return { action: 'none', oid: 0, want: '', ttl: 0, state: ep.state, io: 0, over: false, guard: 0, cancel: false, error: '', ms: 0 };
  }

  /** Bytes this slice may still account (-1: unlimited), with `io` bytes accounted so far. */
  private ioLeft(ep: Episode, io = ep.io): number {
    const b = ep.budget;
    let left = -1;
    if (b.ioBytes !== undefined) left = Math.max(0, b.ioBytes - io);
    if (b.sliceIoBytes !== undefined) left = left < 0 ? b.sliceIoBytes : Math.min(left, b.sliceIoBytes);
    return left;
  }

  private runSlice(ep: Episode): void {
    if (ep.cancel) return this.end(ep, 'ist:cxl', 'sts:cxl');
    if (ep.profile === 'rw' && ep.lease === undefined && !this.acquire(ep)) {
      if (this.rt.find(ep.target) === undefined) {
        this.fact(ep, 'usage', 'ep:lease', `episode ${ep.eid}: the target ${ep.target} does not exist; nothing to lease`);
        return this.end(ep, 'ist:fail', 'sts:fail');
      }
      this.queue.push(ep); // the target is leased elsewhere: try again at the next beat
      return;
    }
    ep.slices++;
    ep.runBeat = this.rt.beat;
    ep.runRecorded = false;
    ep.waitingOn = 0;
    // in the yield cycle the dossier stays `ist:yield` until a slice ends otherwise
    if (ep.yieldWatch === undefined) this.enterRun(ep);
    if (ep.module !== undefined) return this.submit(ep);
    const timed = ep.budget.cpuMs !== undefined || ep.budget.sliceCpuMs !== undefined;
    ep.ctx ??= new FunctionContext(this.host(ep), ep.eid, ep.ticket, ep.profile, ep.signal, ep.target);
    const ctx = ep.ctx.begin(this.rt.beat, ep.state, ep.cancel, this.ioLeft(ep));
    const t0 = timed ? binding.threadCpuMs() : 0; // this thread's CPU time (docs/episodes.md: CPU)
    const prev = enterContext(ctx);
    try {
      const l = ep.lease;
      if (l !== undefined) {
        this.unguard();
        l.store.run(() => l.data.run(() => ep.fn!(ctx)));
      } else {
        this.roGuard ??= this.takeRoGuard();
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
    this.finish(ep, ctx.out);
  }

  /** Submit a module slice: to a worker (threaded) or run here (stub); applied at the next Compute. */
  private submit(ep: Episode): void {
    const m = ep.module!;
    const beat = this.rt.beat;
    const guess = ep.ahead[0];
    let input: Uint8Array | undefined;
    let snap: Uint8Array;
    try {
      snap = encodeSnapshot(this.rt, ep.reads);
      // a guess known to hold this very input needs no second encoding to be compared with
      if (guess === undefined || guess.beat !== beat || !this.sameInput(ep, guess, snap)) input = this.sliceInput(ep, beat, ep.state, ep.io, snap);
    } catch (e) {
      // a snapshot over its bound, a state that cannot be cloned: the episode fails, the beat goes on
      this.dropAhead(ep);
      return this.finish(ep, Object.assign(this.blank(ep), { action: 'fail' as const, error: (e as Error)?.message ?? String(e) }));
    }
    const pools = this.pools;
    let handle: SliceHandle | undefined;
    if (guess !== undefined && guess.beat === beat && (input === undefined || bytesEqual(guess.input!, input)) && pools!.adopt(m.href, guess.handle)) {
      // the guess ran on this very input: its outcome is this slice's
      ep.ahead.shift();
      guess.input = undefined;
      guess.read = undefined;
      guess.state = undefined;
      handle = guess.handle;
      this.ranAhead++;
    } else {
      if (guess !== undefined) ep.aheadOff = beat + AHEAD_BACKOFF;
      this.dropAhead(ep);
      const real = input ?? guess!.input!; // undefined: equal to the guess's input, which could not be adopted
      handle = pools?.submit(m.href, real, false, () => this.guessNext(ep));
      if (handle === undefined) {
        ep.sent = undefined;
        this.inFlight.push({ ep, bytes: runModuleSlice(m.ns, real) });
        return;
      }
    }
    this.offloaded++;
    // the first guess is made from this slice, unless a guess made from the adopted one is out already
    ep.sent = { beat, handle, input: undefined, snap: ep.ahead.length > 0 ? undefined : snap, io: ep.io, read: undefined, state: undefined };
    this.inFlight.push({ ep, handle });
    this.guessNext(ep); // an adopted guess may be back already
  }

  /**
   * Run ahead: once the episode's newest slice out (submitted or guessed) is back as a plain
   * yield, guess its next input (the next beat, the state the slice left, the same snapshot) and
   * hand it to the workers as a low-priority guess. A guess changes nothing until a Commit finds
   * the real input byte for byte equal to it.
   */
  private guessNext(ep: Episode): void {
    const last = ep.ahead.length > 0 ? ep.ahead[ep.ahead.length - 1] : ep.sent;
    if (last === undefined || last.snap === undefined || ep.done || ep.cancel || ep.ahead.length >= AHEAD_SLICES || this.rt.beat < ep.aheadOff) return;
    const r = last.handle.result;
    if (r === undefined) return; // called again when it is back
    const snap = last.snap;
    last.snap = undefined; // one guess is made from a slice
    const out = r.ok ? this.outcomeOf(last.handle) : undefined;
    if (out === undefined || out.action !== 'yield' || out.over || out.cancel) {
      if (last === ep.sent) ep.sent = undefined; // no next slice to guess: hold nothing
      return;
    }
    const io = last.io + out.io;
    let bytes: Uint8Array;
    try {
      bytes = this.sliceInput(ep, last.beat + 1, out.state, io, snap);
    } catch {
      return; // the real submission meets the same error and reports it
    }
    const handle = this.pools!.submit(ep.module!.href, bytes, true, () => this.guessNext(ep));
    if (handle === undefined) return;
    ep.ahead.push({ beat: last.beat + 1, handle, input: bytes, snap, io, read: snap, state: out.state });
  }

  /**
   * A worker slice's decoded outcome, decoded once: the guess made from it and the Compute that
   * applies it share one object, so a guess's state is the episode's state by identity.
   */
  private outcomeOf(h: SliceHandle): SliceOutcome {
    let out = this.decoded.get(h);
    if (out === undefined) this.decoded.set(h, (out = decodeOutcome(h.result!.value!)));
    return out;
  }

  /**
   * Whether the real input of `ep`'s slice at the guess's beat is the guess's input without
   * encoding it: the same encoded state object (an outcome's, never changed here), I/O count
   * and snapshot bytes, and not cancelled (a guess is never made for a cancelled episode). The
   * other fields are fixed per episode. Otherwise the input is encoded and compared byte for byte.
   */
  private sameInput(ep: Episode, guess: Guess, snap: Uint8Array): boolean {
    return guess.state === ep.state && guess.io === ep.io && !ep.cancel && guess.read !== undefined && bytesEqual(guess.read, snap);
  }

  /**
   * A module slice's input (one shape for submitted slices and guesses: equal inputs are equal
   * bytes): the episode's head, encoded once, and its state, encoded once (throws when the
   * state is not structured-clone-safe); a slice's state comes back encoded and stays so.
   */
  private sliceInput(ep: Episode, beat: number, state: unknown, io: number, snap: Uint8Array): Uint8Array {
    const m = ep.module!;
    m.head ??= encodeHead({ name: m.name, eid: ep.eid, ticket: ep.ticket, signal: ep.signal, target: ep.target });
    const encoded = encodeState(state);
    if (state === ep.state) ep.state = encoded;
    return encodeInput(m.head, beat, this.ioLeft(ep, io), ep.cancel, snap, encoded);
  }

  /** Drop the episode's guesses (it ends, or its next input is not what was guessed). */
  private dropAhead(ep: Episode): void {
    for (const g of ep.ahead) {
      this.pools!.drop(ep.module!.href, g.handle);
      g.read = undefined;
      g.state = undefined;
    }
    ep.ahead.length = 0;
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
      stage: (w: StagedWrite) => void this.staged.push({ ep, w }),
    });
  }

  // ---- leases ---------------------------------------------------------------------------------

  /** Take the store and data locks of the target (the lease); false when it is missing or held. */
  private acquire(ep: Episode): boolean {
    this.unguard();
    const c = this.rt.find(ep.target);
    if (c === undefined) return false;
    let store: LockToken | undefined;
    try {
      store = c.lockStore();
      ep.lease = { store, data: c.lockData() };
      return true;
    } catch {
      if (store !== undefined) c.unlockStore(store);
      return false;
    }
  }

  private promote(ep: Episode): boolean {
    if (ep.profile === 'ro') return false;
    if (ep.lease !== undefined) return true;
    // the RO guard holds the root's locks, under which no lease can be taken: drop it first
    const guarded = this.dropRoGuard();
    if (!this.acquire(ep)) {
      if (guarded) this.roGuard = this.takeRoGuard();
      return false;
    }
    this.enterRun(ep);
    this.record(ep, 'ist:run'); // history shows the promotion point
    this.leaseNote(ep, 'promote');
    return true;
  }

  private demote(ep: Episode): boolean {
    if (ep.lease === undefined || ep.profile !== 'hybrid') return false;
    this.release(ep);
    this.leaseNote(ep, 'demote');
    // read-only again for the rest of the slice: the cell API is refused as in any RO slice
    this.roGuard ??= this.takeRoGuard();
    return true;
  }

  private leaseNote(ep: Episode, what: string): void {
    this.unguard();
    const meta = this.hb.ops.dossier(ep.eid).child('episode')!;
    const l = meta.child('lease') ?? meta.add('lease', { store: 'list', indexing: 'insertion' });
    l.add(null, { value: `${what}@${this.rt.beat}` });
  }

  /** The root's store and data locks: while a read-only slice runs, the cell API refuses mutations. */
  private takeRoGuard(): { store: LockToken; data: LockToken } | undefined {
    const root = this.rt.root;
    let store: LockToken | undefined;
    try {
      store = root.lockStore();
      return { store, data: root.lockData() };
    } catch {
      if (store !== undefined) root.unlockStore(store);
      return undefined; // the root is locked already: nothing can mutate anyway
    }
  }

  /** Leave the RO guard before the engine writes, leases, or runs a slice that may mutate. */
  private unguard(): void {
    if (this.roGuard !== undefined) this.dropRoGuard();
  }

  /** Leave the RO guard (a promoted hybrid slice may mutate from then on); whether it was held. */
  private dropRoGuard(): boolean {
    const g = this.roGuard;
    if (g === undefined) return false;
    this.roGuard = undefined;
    this.rt.root.unlockData(g.data);
    this.rt.root.unlockStore(g.store);
    return true;
  }

  private release(ep: Episode): void {
    const l = ep.lease;
    if (l === undefined) return;
    ep.lease = undefined;
    if (!l.data.released) l.data.cell.unlockData(l.data);
    if (!l.store.released) l.store.cell.unlockStore(l.store);
  }

  // ---- outcomes -------------------------------------------------------------------------------

  private fact(ep: Episode, severity: CeiFact['severity'], topic: string, note: string): void {
    this.unguard();
    this.hb.report({ severity, topic, note, subject: ep.path, origin: { signal: ep.signal, target: ep.target } });
  }

  /** Apply what a slice decided: facts, budgets, then the next state. */
  private finish(ep: Episode, out: SliceOutcome): void {
    if (ep.done) return;
    ep.state = out.state;
    for (let i = 0; i < out.guard; i++) this.fact(ep, 'usage', 'ep:pro/ro', `episode ${ep.eid}: a read-only slice tried to mutate; refused`);
    ep.io += out.io;
    if (out.over) {
      this.fact(ep, 'warn', 'ep:bud/io', `episode ${ep.eid}: I/O budget overrun (${ep.io} bytes accounted)`);
      ep.cancel = true;
    }
    const b = ep.budget;
    if (b.cpuMs !== undefined || b.sliceCpuMs !== undefined) {
      // measured time is a nondeterministic input: recorded (in the journal), and replayed
      this.unguard();
      const ms = this.hb.decide(CPU_DECISION, () => out.ms);
      ep.cpu += ms;
      if ((b.sliceCpuMs !== undefined && ms > b.sliceCpuMs) || (b.cpuMs !== undefined && ep.cpu > b.cpuMs)) {
        this.fact(ep, 'warn', 'ep:bud/cpu', `episode ${ep.eid}: CPU budget overrun (${ms.toFixed(3)} ms this slice, ${ep.cpu.toFixed(3)} ms in all)`);
        ep.cancel = true;
      }
    }
    if (out.cancel) ep.cancel = true;
    if (out.action === 'yield' && !ep.cancel) {
      // the yield cycle: only a change of state is recorded, with the standing watcher armed once
      if (ep.runRecorded) {
        this.record(ep, 'ist:yield');
        ep.yieldWatch = this.hb.ops.standing(ep.eid, 'ist:yield', ep.path);
      }
      this.queue.push(ep); // the continuation: the next beat's Commit runs the next slice
      return;
    }
    this.enterRun(ep);
    if (ep.cancel) return this.end(ep, 'ist:cxl', 'sts:cxl');
    const ops = this.hb.ops;
    switch (out.action) {
      case 'await': {
        let awaited: Cell | undefined;
        try {
          awaited = ops.dossier(out.oid);
        } catch {
          awaited = undefined;
        }
        if (awaited === undefined) {
          this.fact(ep, 'usage', 'ep:await', `episode ${ep.eid} awaits operation ${out.oid}, which does not exist`);
          return this.end(ep, 'ist:fail', 'sts:fail');
        }
        // want and ttl were checked when the slice called ctx.await (checkAwait, both slice kinds)
        this.record(ep, 'ist:await');
        ep.waitingOn = out.oid;
        ep.awaitWatch = ops.await(out.oid, { want: out.want, ttl: out.ttl, target: ep.path });
        return;
      }
      case 'cancel':
        return this.end(ep, 'ist:cxl', 'sts:cnl');
      case 'fail':
        this.fact(ep, 'usage', 'ep:fail', `episode ${ep.eid}: the slice threw: ${out.error}`);
        return this.end(ep, 'ist:fail', 'sts:fail');
      default: // 'close', or a slice that chose nothing: its work is done
        return this.end(ep, 'ist:ok', 'sts:ok');
    }
  }

  private end(ep: Episode, state: string, status: string): void {
    ep.done = true;
    if (ep.ahead.length > 0) this.dropAhead(ep);
    ep.sent = undefined;
    this.release(ep);
    this.live.delete(ep.eid);
    this.byTicket.delete(ep.ticket);
    const ops = this.hb.ops;
    if (ep.waitingOn !== 0) {
      // ended while it waited (cancelled): nobody waits on the awaited dossier any more
      this.unguard();
      ops.unwatch(ep.waitingOn, ep.awaitWatch);
      ep.waitingOn = 0;
    }
    if (ops.isOpen(ep.eid)) {
      this.record(ep, state);
      ops.close(ep.eid, status);
    }
  }

  /** Record `ist:run` for the current slice, at the beat it started (once). */
  private enterRun(ep: Episode): void {
    if (ep.runRecorded) return;
    ep.runRecorded = true;
    this.record(ep, 'ist:run', ep.runBeat);
  }

  /** Record a state: it ends the yield cycle (its watcher goes) and brings `episode/slices` up to date. */
  private record(ep: Episode, state: string, at?: number): void {
    this.unguard();
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

  /**
   * The commit edge: staged writes of episodes still running or closed `sts:ok` become visible,
   * through the stream adapter for a STREAM cell, as a payload overwrite otherwise. A write the
   * kernel refuses (a cell locked by someone else, a proxy without `write`) never breaks the beat:
   * it is dropped with an `ep:stage` fact, and an episode still running fails with it.
   */
  private publish(): void {
    const list = this.staged;
    this.staged = [];
    for (const { ep, w } of list) {
      if (ep.cancel || (ep.done && this.hb.ops.info(ep.eid).status !== 'sts:ok')) continue;
      const c = this.rt.find(w.path);
      if (c === undefined) {
        this.fact(ep, 'usage', 'ep:stage', `episode ${ep.eid}: staged write to ${w.path}, which does not exist; dropped`);
        continue;
      }
      try {
        const l = ep.lease;
        if (l !== undefined && !l.store.released) l.store.run(() => l.data.run(() => applyStaged(c, w)));
        else applyStaged(c, w); // the lease ended with the episode (closed in the same slice)
      } catch (e) {
        if ((e as { code?: string })?.code === 'ERR_REPLAY_MISMATCH') throw e;
        this.fact(ep, 'usage', 'ep:stage', `episode ${ep.eid}: staged write to ${w.path} refused (${(e as Error)?.message ?? String(e)}); dropped`);
        if (!ep.done) this.end(ep, 'ist:fail', 'sts:fail');
      }
    }
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
    if (ep.waitingOn !== 0 && oid === ep.waitingOn) this.queue.push(ep);
  }

  /** `op/tmo` on an episode's dossier: what it awaited did not arrive in time. */
  private onTimeout(ctx: EnzymeContext): void {
    const ep = this.episodeAt(ctx);
    if (ep === undefined || ep.done || ep.waitingOn === 0 || Number(ctx.payload) !== ep.waitingOn) return;
    this.fact(ep, 'warn', 'ep:tmo', `episode ${ep.eid}: operation ${ep.waitingOn} did not arrive in time`);
    this.end(ep, 'ist:cxl', 'sts:cnl');
  }

  /** `ep/cancel` (from `cancelTicket` outside a beat). */
  private onCancel(ctx: EnzymeContext): void {
    const ep = this.byTicket.get(Number(ctx.payload));
    if (ep !== undefined && !ep.done) this.markCancel(ep);
  }

  private markCancel(ep: Episode): void {
    ep.cancel = true;
    this.toCancel.push(ep);
  }
}
