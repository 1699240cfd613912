/**
 * The persistence service (CPS, docs/persistence.md). It plugs into the heartbeat from outside
 * the kernel: at each beat's Commit it walks the branch registry, asks each controller's policy,
 * frames the branches that must be written (`encodeBranch`, delta or snapshot, chained to the
 * branch's last root), validates the frames, and queues them for the trailing writer, which
 * hands each beat to the engine as one transaction while later beats compute. At shutdown
 * (`ist:flush`) controllers with `flushOnShutdown` stage their last frames.
 */
import { invalidArgType, invalidArgValue, notFound, outOfRange, persistError } from '../../errors.js';
import type { BeatChanges } from '../../kernel/heartbeat/digest.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Runtime } from '../../kernel/runtime.js';
import { encodeBranch } from '../../serialization/writer.js';
import { readFrame } from '../../serialization/reader.js';
import { Hydrator, type HydrateBudget } from './hydrate/hydrator.js';
import type { AeadOptions } from '../../serialization/aead.js';
import { ENGINE_CAP, type EngineStats, type StorageEngine } from '../engine.js';
import { BranchController } from './controller.js';
import { framesToLoad } from './recover.js';
import { flushCause, resolvePolicy, type BranchPolicy, type FlushCause, type PolicyMode, type ResolvedPolicy } from './policy.js';
import { BeatWriter, type QueuedBeat, type QueuedFrame } from './writer.js';
import { PersistEvents, registerPersistEvents } from './records.js';
import type { CeiSeverity } from '../../kernel/cei/cei.js';

/** Children of `/data` that are never branches: the service's own metrics, and mailboxes. */
export const RESERVED_BRANCHES: ReadonlySet<string> = new Set(['persist', 'mailbox']);

export interface ServiceOptions {
  /** Policy of branches not named in `branches` (default 'durable'). */
  policy?: BranchPolicy | PolicyMode;
  /** Policies by branch name (the child of `/data`). */
  branches?: Record<string, BranchPolicy | PolicyMode>;
  /** Frames of a branch between automatic checkpoints (default 4,096; 0: only `op/checkpt`). */
  checkpointEvery?: number;
  /** Beats with frames that may wait for the writer before `step()` is refused (`ERR_BEAT_NOT_READY`; driven mode waits). Default 4,096. */
  maxPendingBeats?: number;
  /** Publish `/data/persist/<branch>` every this many beats (and after every verb). Default 64. */
  metricsEveryBeats?: number;
  /** Frame options: deflate the frames; seal payloads. */
  deflate?: boolean;
  aead?: AeadOptions;
  /** Budget of the loads lazy branches make on plain access (a payload read, a child lookup); over it the access fails with ERR_HYDRATE_BUDGET. */
  hydrate?: HydrateBudget;
}

/** Serializer needs → engine capability bits the service refuses to run without. */
function requiredCaps(o: ServiceOptions): number {
  let caps = ENGINE_CAP.BEAT_ATOMIC | ENGINE_CAP.HISTORY_WINDOW | ENGINE_CAP.NAMEPOOL_MAP;
  if (o.deflate === true) caps |= ENGINE_CAP.DEFLATE;
  if (o.aead !== undefined) caps |= ENGINE_CAP.AEAD;
  return caps;
}

function count(v: unknown, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw outOfRange(name, `an integer >= ${min}`, v);
  return v;
}

export class PersistenceService {
  readonly controllers = new Map<string, BranchController>();
  readonly writer: BeatWriter;
  /** Events learnt outside beats (verbs, the writer's completions), written at the next beat (records.ts). */
  readonly events: PersistEvents;
  private readonly defaultPolicy: ResolvedPolicy;
  private readonly policies = new Map<string, ResolvedPolicy>();
  private readonly checkpointEvery: number;
  private readonly maxPending: number;
  private readonly metricsEvery: number;
  private readonly frameOptions: { deflate?: boolean; aead?: AeadOptions };
  /** Frames written per branch since its last checkpoint. */
  private readonly sinceCheckpoint = new Map<string, number>();
  /** Branches marked dirty from outside (`markDirty`): changes made between beats. */
  private readonly marked = new Set<string>();
  private readonly unhook: Array<() => void> = [];
  /** Callers waiting for a branch's next frame (verbs), resolved with its beat. */
  private readonly framedWaiters = new Map<string, Array<{ resolve: (beat: number) => void; reject: (e: unknown) => void }>>();
  /** Branches an `op/persist` load event replaced in this beat (their controllers restart at Commit). */
  private readonly loaded = new Set<string>();
  /** Failures seen (flush() compares before and after). */
  failures = 0;
  lastError: unknown = undefined;
  closed = false;

  /** Per-cell hydration of lazy branches (hydrate/hydrator.ts). */
  readonly hydrator: Hydrator;

  constructor(
    readonly rt: Runtime,
    readonly engine: StorageEngine,
    options: ServiceOptions = {},
  ) {
    if (options === null || typeof options !== 'object') throw invalidArgType('store', 'an object', options);
    const need = requiredCaps(options);
    if ((engine.caps & need) !== need) {
      const missing = Object.entries(ENGINE_CAP)
        .filter(([, bit]) => (need & bit) !== 0 && (engine.caps & bit) === 0)
        .map(([k]) => k);
      throw persistError('ERR_PERSIST_ENGINE', `engine '${engine.kind}' lacks what the serializer needs: ${missing.join(', ')}`);
    }
    this.defaultPolicy = resolvePolicy(options.policy, 'store.policy');
    if (options.branches !== undefined) {
      if (options.branches === null || typeof options.branches !== 'object') throw invalidArgType('store.branches', 'an object of policies', options.branches);
      for (const [name, p] of Object.entries(options.branches)) {
        if (RESERVED_BRANCHES.has(name)) throw invalidArgValue(`store.branches.${name}`, `/data/${name} is reserved and cannot be a persisted branch`);
        this.policies.set(name, resolvePolicy(p, `store.branches.${name}`));
      }
    }
    this.checkpointEvery = count(options.checkpointEvery, 'store.checkpointEvery', 4096, 0);
    this.maxPending = count(options.maxPendingBeats, 'store.maxPendingBeats', 4096, 1);
    this.metricsEvery = count(options.metricsEveryBeats, 'store.metricsEveryBeats', 64, 1);
    this.frameOptions = { deflate: options.deflate, aead: options.aead };
    this.hydrator = new Hydrator(rt, engine, options.aead, options.hydrate);
    this.writer = new BeatWriter(engine, { durable: (b) => this.onDurable(b), failed: (b, d, e) => this.onFailed(b, d, e) }, engine.recovery.beat);
    for (const name of engine.branches()) this.controller(name);
    this.events = new PersistEvents(rt, registerPersistEvents(rt, { aead: options.aead, loaded: (b) => this.onLoaded(b) }));
  }

  /** A load event was applied (this beat): its controller restarts at Commit; the old cold index goes. */
  private onLoaded(branch: string): void {
    this.loaded.add(branch);
    this.hydrator.forget(branch);
  }

  /** A CEI fact learnt outside a beat: recorded and written at the next beat's Compute. */
  report(fact: { severity: CeiSeverity; topic: string; note: string; subject?: string }): void {
    this.events.post({ k: 'fact', sev: fact.severity, topic: fact.topic, note: fact.note, subject: fact.subject });
  }

  /** Hook into the heartbeat: commit, shutdown, and backpressure. */
  attach(): void {
    const rt = this.rt;
    this.unhook.push(rt.onCommit((beat, changes) => this.onCommit(beat, changes)));
    this.unhook.push(rt.onShutdown(() => this.onShutdown()));
    const writer = this.writer;
    const max = this.maxPending;
    rt.heartbeat.participate({
      compute() {},
      commit() {},
      ready: () => writer.backlog < max,
      whenReady: async () => {
        while (writer.backlog >= max) await writer.nextDurable();
      },
      busy: () => false,
    });
  }

  /** The controller of `name`, registered on first use with its configured (or the default) policy. */
  controller(name: string): BranchController {
    let c = this.controllers.get(name);
    if (c === undefined) {
      c = new BranchController(name, this.policies.get(name) ?? this.defaultPolicy, this.engine.head(name));
      this.controllers.set(name, c);
    }
    return c;
  }

  /** The AEAD options frames are sealed with (needed to read them back). */
  get aead(): AeadOptions | undefined {
    return this.frameOptions.aead;
  }

  /** Resolves with the beat of `branch`'s next frame (or its last one, when a forced flush finds nothing new). */
  whenFramed(branch: string): Promise<number> {
    if (this.closed) return Promise.reject(persistError('ERR_PERSIST_CLOSED', 'the store is closed'));
    return new Promise((resolve, reject) => {
      let list = this.framedWaiters.get(branch);
      if (list === undefined) this.framedWaiters.set(branch, (list = []));
      list.push({ resolve, reject });
    });
  }

  private settleWaiters(branch: string, beat: number): void {
    const list = this.framedWaiters.get(branch);
    if (list === undefined) return;
    this.framedWaiters.delete(branch);
    for (const w of list) w.resolve(beat);
  }

  /**
   * Put `branch` back as the store holds it (after an import): its frames go out as a recorded
   * load event, so the next beat removes the runtime's copy and rebuilds it from them (a replay
   * does the same from the recording). The controller stays cold until then and restarts from
   * the store's head at that beat's Commit.
   */
  loadFromStore(branch: string): void {
    const rt = this.rt;
    const c = this.controller(branch);
    c.cold = true;
    const head = this.engine.head(branch);
    // the loading beat must come after every beat the store now holds
    if (head !== undefined && rt.beat <= head.beat) rt.beat = head.beat + 1;
    const f = framesToLoad(this.engine, branch).map((x) => Buffer.from(x.bytes.buffer, x.bytes.byteOffset, x.bytes.byteLength).toString('base64'));
    this.events.post({ k: 'load', b: branch, f });
  }

  /** Last beat known durable. */
  get durableBeat(): number {
    return this.writer.durableBeat;
  }

  /** Note changes made to `/data/<branch>` between beats (the heartbeat only reports changes made inside beats). */
  markDirty(branch: string): void {
    this.marked.add(branch);
  }

  /** Change a branch's policy (verbs; the configured policy of new branches is unaffected). */
  setPolicy(name: string, policy: ResolvedPolicy): void {
    const c = this.controller(name);
    c.policy = policy;
    c.stale = true;
  }

  // ---- commit -------------------------------------------------------------------------------

  private onCommit(beat: number, changes: BeatChanges): void {
    if (this.closed) return;
    const rt = this.rt;
    const data = rt.find('/data');
    if (data === undefined) return;
    let last: Cell | undefined;
    let lastCtl: BranchController | undefined;
    const tops = new BranchRoots(data);
    for (const cell of changes.cells) {
      const top = tops.of(cell);
      if (top === undefined) continue;
      if (top !== last) {
        last = top;
        const name = top.name;
        lastCtl = RESERVED_BRANCHES.has(name) ? undefined : this.controller(name);
        if (lastCtl !== undefined) lastCtl.root = top;
      }
      lastCtl?.touch(beat, 1);
    }
    if (this.marked.size > 0) {
      for (const name of this.marked) this.controller(name).touch(beat, 0);
      this.marked.clear();
    }
    // branches created between beats (setup code): their first frame is a snapshot
    for (const child of data.children()) {
      const name = child.name;
      if (RESERVED_BRANCHES.has(name) || this.controllers.has(name)) continue;
      const c = this.controller(name);
      c.root = child;
      c.touch(beat, 0);
    }
    const frames = this.frameDue(beat, false);
    this.writer.push(beat, frames);
    if (this.loaded.size > 0) this.restartLoaded();
    if (beat % this.metricsEvery === 0) this.publish(false);
  }

  /** Controllers of branches loaded in this beat continue from the store's head (nothing of the load is framed again). */
  private restartLoaded(): void {
    for (const name of this.loaded) {
      const c = this.controller(name);
      c.reset(this.engine.head(name));
      c.root = this.rt.find(`/data/${name}`);
      c.cold = false;
    }
    this.loaded.clear();
  }

  /** Frame every branch whose policy says so at `beat` (`shutdown`: also those flushed on shutdown). */
  private frameDue(beat: number, shutdown: boolean): QueuedFrame[] {
    const frames: QueuedFrame[] = [];
    for (const c of this.controllers.values()) {
      if (c.cold) continue;
      let cause: FlushCause | null = flushCause(c.policy, beat, c.pending, c.force, c.lastFramed);
      if (cause === null && shutdown && c.policy.flushOnShutdown && c.pending && c.policy.mode !== 'volatile' && c.policy.mode !== 'ro_snapshot') cause = 'shutdown';
      if (cause === null) {
        if (c.force) {
          // forced with nothing new: what is on disk (or queued) already holds the branch
          c.force = false;
          this.settleWaiters(c.name, c.lastFramed);
        }
        continue;
      }
      if (cause === 'schedule') c.policy = { ...c.policy, flushScheduledBt: 0 }; // one shot
      const f = this.frameBranch(c, beat, cause);
      if (f !== undefined) frames.push(f);
    }
    return frames;
  }

  /** Frame one branch (delta when the beat holds all its unwritten changes, else a snapshot with full history). */
  frameBranch(c: BranchController, beat: number, cause: FlushCause): QueuedFrame | undefined {
    const cell = c.root ?? this.rt.find(`/data/${c.name}`);
    if (cell === undefined || cell.isFinalized) {
      c.pending = false;
      return undefined;
    }
    const delta = c.deltaSuffices(beat);
    const bytes = encodeBranch(cell, {
      mode: delta ? 'delta' : 'snapshot',
      beat,
      prevRoot: c.headRoot,
      history: delta ? undefined : { payload: beat, manifest: beat },
      ...this.frameOptions,
    });
    // the frame is read back before it goes anywhere: what the engine gets has passed the reader
    const root = readFrame(bytes, { aead: this.frameOptions.aead }).root;
    c.framed(beat, root, bytes.length, cause);
    this.settleWaiters(c.name, beat);
    if (cause !== 'durable') this.report({ severity: 'debug', topic: 'persist.flush.begin', note: `${c.name}: ${delta ? 'delta' : 'snapshot'} of beat ${beat} (${bytes.length} bytes, cause ${cause})`, subject: `/data/${c.name}` });
    return { branch: c.name, bytes, root, cause };
  }

  // ---- writer events --------------------------------------------------------------------------

  private onDurable(b: QueuedBeat): void {
    for (const f of b.frames) {
      const c = this.controllers.get(f.branch);
      if (c === undefined) continue;
      c.durableBeat = b.beat;
      c.frames++;
      c.bytes += f.bytes.length;
      c.flushes++;
      c.stale = true;
      if (f.cause !== 'durable') this.report({ severity: 'debug', topic: 'persist.flush.done', note: `${f.branch}: beat ${b.beat} is durable (cause ${f.cause})`, subject: `/data/${f.branch}` });
      const n = (this.sinceCheckpoint.get(f.branch) ?? 0) + 1;
      this.sinceCheckpoint.set(f.branch, n);
      if (this.checkpointEvery > 0 && n >= this.checkpointEvery && !this.closed) {
        this.sinceCheckpoint.set(f.branch, 0);
        void this.checkpoint(f.branch).catch(() => {
          // reported as CEI by checkpoint(); the log still replays without it
        });
      }
    }
  }

  private onFailed(failed: QueuedBeat, dropped: QueuedBeat[], error: unknown): void {
    this.failures++;
    this.lastError = error;
    const code = (error as { code?: string })?.code ?? 'ERR_IO';
    const message = (error as Error)?.message ?? String(error);
    const branches = new Set<string>();
    for (const b of [failed, ...dropped]) for (const f of b.frames) branches.add(f.branch);
    for (const name of branches) {
      this.controllers.get(name)?.failed(this.headOf(name));
      this.report({ severity: 'warn', topic: 'persist.flush.fail', note: `${name}: ${code}: ${message}`, subject: `/data/${name}` });
    }
    this.report({ severity: 'crit', topic: 'persist.commit', note: `beat ${failed.beat} was not committed (${code}: ${message}); ${dropped.length} later beat(s) dropped; their branches start over from snapshots` });
  }

  /** The engine's head of `branch`; undefined when it has none or cannot say (closed). */
  private headOf(branch: string): { beat: number; root: Uint8Array } | undefined {
    try {
      return this.engine.head(branch);
    } catch {
      return undefined;
    }
  }

  // ---- flush, checkpoint, publish, shutdown ----------------------------------------------------

  /** Wait until every beat framed so far is durable; rejects when a write failed meanwhile. */
  async flush(): Promise<void> {
    const before = this.failures;
    await this.writer.settle();
    if (this.failures !== before) throw persistError('ERR_PERSIST_COMMIT', `a beat could not be committed: ${(this.lastError as Error)?.message ?? String(this.lastError)}`);
  }

  /** Store a checkpoint of `branch` as of its last durable frame (after the frames queued before it). */
  checkpoint(branch: string): Promise<number> {
    return this.writer.run(async () => {
      const head = this.engine.head(branch);
      const cell = this.controllers.get(branch)?.root ?? this.rt.find(`/data/${branch}`);
      if (head === undefined || cell === undefined) throw notFound(`a frame of branch ${branch} to checkpoint`);
      const snap = encodeBranch(cell, { mode: 'snapshot', beat: head.beat, prevRoot: head.root, history: { payload: head.beat, manifest: head.beat }, ...this.frameOptions });
      try {
        await this.engine.checkpoint(branch, snap);
      } catch (e) {
        this.report({ severity: 'warn', topic: 'persist.checkpoint', note: `${branch}: ${(e as Error)?.message ?? String(e)}`, subject: `/data/${branch}` });
        throw e;
      }
      return head.beat;
    });
  }

  /** Post `/data/persist/<branch>` of controllers whose view changed (`all`: every one); written at the next beat. */
  publish(all: boolean): void {
    for (const c of this.controllers.values()) {
      if (!all && !c.stale) continue;
      this.events.post({ k: 'view', b: c.name, v: c.view(this.engine.kind, this.statsOf(c.name)) });
    }
  }

  /** The engine's counters for `branch`, when it has the branch and can say. */
  private statsOf(branch: string): EngineStats | undefined {
    try {
      return this.engine.head(branch) === undefined ? undefined : this.engine.stats(branch);
    } catch {
      return undefined;
    }
  }

  /** `ist:flush`: frame what `flushOnShutdown` controllers still hold, as the shutdown beat. */
  private onShutdown(): void {
    if (this.closed) return;
    const beat = this.rt.beat;
    try {
      // the shutdown beat is recorded only when it writes something (the engine keeps no empty beats)
      const frames = this.frameDue(beat, true);
      if (frames.length > 0) this.writer.push(beat, frames);
    } catch (e) {
      this.failures++;
      this.lastError = e;
      this.rt.cei({ severity: 'crit', topic: 'persist.commit', note: `the shutdown flush could not be framed: ${(e as Error)?.message ?? String(e)}` });
    }
  }

  /** Shut the runtime down (op/shdn with its flush), wait for the writer, close the engine. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.rt.halted) this.rt.shutdown();
    let error: unknown;
    try {
      await this.flush();
    } catch (e) {
      error = e;
    }
    this.publish(true);
    this.closed = true;
    for (const u of this.unhook) u();
    for (const list of this.framedWaiters.values()) for (const w of list) w.reject(persistError('ERR_PERSIST_CLOSED', 'the store was closed'));
    this.framedWaiters.clear();
    this.events.close();
    await this.engine.close();
    if (error !== undefined) throw error;
  }
}

/**
 * The child of `/data` that a cell lies in (undefined: not below `/data`), for the cells of one
 * beat: a walk up stops at the first cell an earlier long walk met, so a beat that builds a
 * chain N deep costs O(N), not O(N²); short walks (most cells) are not remembered.
 */
class BranchRoots {
  private readonly known = new Map<Cell, Cell | undefined>();
  private readonly walked: Cell[] = [];

  constructor(private readonly data: Cell) {}

  of(cell: Cell): Cell | undefined {
    const { known, walked, data } = this;
    let top: Cell | undefined;
    let c: Cell | null = cell;
    walked.length = 0;
    for (; c !== null; c = c.parent) {
      if (known.has(c)) {
        top = known.get(c);
        break;
      }
      const p: Cell | null = c.parent;
      if (p === data) {
        top = c;
        break;
      }
      walked.push(c);
    }
    if (walked.length >= 8) for (const w of walked) known.set(w, top);
    return top;
  }
}
