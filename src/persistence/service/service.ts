/**
 * The persistence service (CPS, docs/persistence.md). It plugs into the heartbeat from outside
 * the kernel: at each beat's Commit it walks the branch registry, asks each controller's policy,
 * frames the branches that must be written (`encodeBranch`, delta or snapshot, chained to the
 * branch's last root), validates the frames, and queues them for the trailing writer, which
 * hands each beat to the engine as one transaction while later beats compute. At shutdown
 * (`ist:flush`) controllers with `flushOnShutdown` stage their last frames.
 */
import { invalidArgType, invalidArgValue, invalidName, notFound, outOfRange, persistError } from '../../errors.js';
import type { BeatChanges } from '../../beat/heartbeat/digest.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import { setBeat, Tree, type WriteGuard } from '../../kernel/tree.js';
import { encodeBranch } from '../../serialization/writer.js';
import { readFrame } from '../../serialization/reader.js';
import { checkBudget, Hydrator, type HydrateBudget } from './hydrate/hydrator.js';
import { ChunkCipher, type AeadOptions } from '../../serialization/aead.js';
import { MAX_FRAME_BYTES_DEFAULT } from '../../serialization/format.js';
import { ENGINE_CAP, type EngineStats, type StorageEngine } from '../engine.js';
import { BranchController, type BranchFailure } from './controller.js';
import { framesToLoad } from './recover.js';
import { flushCause, resolvePolicy, type BranchPolicy, type FlushCause, type PolicyMode, type ResolvedPolicy } from './policy.js';
import { BeatWriter, type QueuedBeat, type QueuedFrame } from './writer.js';
import { PersistEvents, registerPersistEvents } from './records.js';
import type { CeiSeverity } from '../../beat/cei/cei.js';

/** Children of `/data` that are never branches: the service's own metrics, and mailboxes. */
export const RESERVED_BRANCHES: ReadonlySet<string> = new Set(['persist', 'mailbox']);

export interface ServiceOptions {
  /** Policy of branches not named in `branches` (default 'durable'). */
  policy?: BranchPolicy | PolicyMode;
  /** Policies by branch name (the child of `/data`). */
  branches?: Record<string, BranchPolicy | PolicyMode>;
  /** Frames of a branch between automatic checkpoints (default 4,096; 0: only `op/checkpt`). */
  checkpointEvery?: number;
  /** Retention of history on disk (docs/persistence.md, "Retention"). */
  retain?: RetainOptions;
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

/** What the store keeps of the past. */
export interface RetainOptions {
  /**
   * Beats of history a snapshot frame (an automatic checkpoint, a snapshot flush) carries, and so
   * what as-of reads reach after a restart (default 4,096; 0: all of it, back to beat 0).
   */
  beats?: number;
  /** After each automatic checkpoint, compact the branch: its log keeps only the frames after that checkpoint (default true). */
  compact?: boolean;
}

/** Default `retain.beats`: as many beats as frames between automatic checkpoints. */
export const RETAIN_BEATS = 4096;

/**
 * Largest payload a cell of a persisted branch may hold: what still fits one frame
 * (MAX_FRAME_BYTES_DEFAULT) with a MiB to spare for its records' headers, AEAD tags and the
 * cell's description. Larger ones are refused at `set`/`add` (ERR_VALUE_TOO_LARGE); a branch
 * whose frame passes the limit all the same (many large payloads, or their history in a
 * snapshot) fails on its own (docs/persistence.md, "Failures").
 */
export const MAX_PERSISTED_PAYLOAD = MAX_FRAME_BYTES_DEFAULT - (1 << 20);

/** Service options checked, defaults filled in: nothing is opened before they pass. */
export interface ResolvedServiceOptions {
  defaultPolicy: ResolvedPolicy;
  policies: Map<string, ResolvedPolicy>;
  checkpointEvery: number;
  maxPending: number;
  metricsEvery: number;
  deflate: boolean;
  aead: AeadOptions | undefined;
  hydrate: HydrateBudget | undefined;
  retainBeats: number;
  retainCompact: boolean;
}

/** Check every service option (`store.*`) without touching anything: a bad one throws its coded error. */
export function resolveServiceOptions(options: ServiceOptions): ResolvedServiceOptions {
  if (options === null || typeof options !== 'object') throw invalidArgType('store', 'an object', options);
  const policies = new Map<string, ResolvedPolicy>();
  if (options.branches !== undefined) {
    if (options.branches === null || typeof options.branches !== 'object') throw invalidArgType('store.branches', 'an object of policies', options.branches);
    for (const [name, p] of Object.entries(options.branches)) {
      if (RESERVED_BRANCHES.has(name)) throw invalidArgValue(`store.branches.${name}`, `/data/${name} is reserved and cannot be a persisted branch`);
      policies.set(name, resolvePolicy(p, `store.branches.${name}`));
    }
  }
  if (options.deflate !== undefined && typeof options.deflate !== 'boolean') throw invalidArgType('store.deflate', 'a boolean', options.deflate);
  if (options.aead !== undefined) {
    if (options.aead === null || typeof options.aead !== 'object') throw invalidArgType('store.aead', 'an object { key, cipher? }', options.aead);
    new ChunkCipher(options.aead); // the key and cipher checks frames would meet at the first beat
  }
  if (options.hydrate !== undefined) checkBudget(options.hydrate, 'store.hydrate');
  const retain = options.retain ?? {};
  if (retain === null || typeof retain !== 'object') throw invalidArgType('store.retain', 'an object { beats?, compact? }', retain);
  const retainBeats = count(retain.beats, 'store.retain.beats', RETAIN_BEATS, 0);
  if (retainBeats > 0x7fffffff) throw outOfRange('store.retain.beats', 'an integer from 0 to 2^31-1', retainBeats);
  if (retain.compact !== undefined && typeof retain.compact !== 'boolean') throw invalidArgType('store.retain.compact', 'a boolean', retain.compact);
  return {
    defaultPolicy: resolvePolicy(options.policy, 'store.policy'),
    policies,
    checkpointEvery: count(options.checkpointEvery, 'store.checkpointEvery', 4096, 0),
    maxPending: count(options.maxPendingBeats, 'store.maxPendingBeats', 4096, 1),
    metricsEvery: count(options.metricsEveryBeats, 'store.metricsEveryBeats', 64, 1),
    deflate: options.deflate === true,
    aead: options.aead,
    hydrate: options.hydrate,
    retainBeats,
    retainCompact: retain.compact ?? true,
  };
}

/** Serializer needs → engine capability bits the service refuses to run without. */
function requiredCaps(o: { deflate: boolean; aead: AeadOptions | undefined }): number {
  let caps = ENGINE_CAP.BEAT_ATOMIC | ENGINE_CAP.HISTORY_WINDOW | ENGINE_CAP.NAMEPOOL_MAP;
  if (o.deflate) caps |= ENGINE_CAP.DEFLATE;
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
  private readonly policies: Map<string, ResolvedPolicy>;
  private readonly checkpointEvery: number;
  /** `retain.beats` (0: all) and `retain.compact`. */
  readonly retainBeats: number;
  private readonly retainCompact: boolean;
  private readonly maxPending: number;
  private readonly metricsEvery: number;
  private readonly frameOptions: { deflate?: boolean; aead?: AeadOptions };
  /** Frames written per branch since its last checkpoint. */
  private readonly sinceCheckpoint = new Map<string, number>();
  /** Branches changed between beats (the kernel's hook, `markDirty`), with the first beat such a change was stamped with. */
  private readonly marked = new Map<string, number>();
  /** First beat a branch root may have been hard-removed between beats (-1: none). */
  private removedSince = -1;
  /** The last branch root a change between beats was mapped from (most changes come in runs). */
  private lastBetween: { cell: Cell; name: string | undefined } | undefined;
  /** Walks up remembered for the changes made between two beats. */
  private betweenRoots: BranchRoots | undefined;
  private readonly unhook: Array<() => void> = [];
  /** Callers waiting for a branch's next frame (verbs), resolved with its beat. */
  private readonly framedWaiters = new Map<string, Array<{ resolve: (beat: number) => void; reject: (e: unknown) => void }>>();
  /** Branches an `op/persist` load event replaced in this beat (their controllers restart at Commit). */
  private readonly loaded = new Set<string>();
  /** Commit failures seen (flush() compares before and after). */
  failures = 0;
  lastError: unknown = undefined;
  closed = false;

  /** Per-cell hydration of lazy branches (hydrate/hydrator.ts). */
  readonly hydrator: Hydrator;

  /** The tree persisted (the heartbeat's). */
  readonly rt: Tree;

  constructor(
    readonly hb: Heartbeat,
    readonly engine: StorageEngine,
    options: ResolvedServiceOptions,
  ) {
    this.rt = hb.rt;
    const need = requiredCaps(options);
    if ((engine.caps & need) !== need) {
      const missing = Object.entries(ENGINE_CAP)
        .filter(([, bit]) => (need & bit) !== 0 && (engine.caps & bit) === 0)
        .map(([k]) => k);
      throw persistError('ERR_PERSIST_ENGINE', `engine '${engine.kind}' lacks what the serializer needs: ${missing.join(', ')}`);
    }
    this.defaultPolicy = options.defaultPolicy;
    this.policies = options.policies;
    this.checkpointEvery = options.checkpointEvery;
    this.retainBeats = options.retainBeats;
    this.retainCompact = options.retainCompact;
    this.maxPending = options.maxPending;
    this.metricsEvery = options.metricsEvery;
    this.frameOptions = { deflate: options.deflate, aead: options.aead };
    this.hydrator = new Hydrator(hb, engine, options.aead, options.hydrate);
    this.writer = new BeatWriter(engine, { durable: (b) => this.onDurable(b), failed: (b, d, e) => this.onFailed(b, d, e) }, engine.recovery.beat);
    for (const name of engine.branches()) this.controller(name);
    this.events = new PersistEvents(hb, registerPersistEvents(hb, { aead: options.aead, loaded: (b) => this.onLoaded(b) }));
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
    rt.writeGuard = this.guard();
    rt.changedBetweenBeats = (cell) => this.changedBetween(cell);
    this.unhook.push(() => {
      rt.writeGuard = null;
      rt.changedBetweenBeats = null;
    });
    this.unhook.push(this.hb.onCommit((beat, changes) => this.onCommit(beat, changes)));
    this.unhook.push(this.hb.onShutdown(() => this.onShutdown()));
    const writer = this.writer;
    const max = this.maxPending;
    this.hb.participate({
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
      let head: { beat: number; root: Uint8Array } | undefined;
      let refused: unknown;
      try {
        head = this.engine.head(name);
      } catch (e) {
        refused = e; // a name the engine cannot keep: the branch fails on its own, the others go on
      }
      c = new BranchController(name, this.policyOf(name), head);
      this.controllers.set(name, c);
      if (refused !== undefined && c.policy.mode !== 'volatile') this.branchFailed(c, this.rt.beat, refused, false);
    }
    return c;
  }

  /** The policy a branch of this name gets (configured, else the default). */
  private policyOf(name: string): ResolvedPolicy {
    return this.controllers.get(name)?.policy ?? this.policies.get(name) ?? this.defaultPolicy;
  }

  /** Whether the branch `name` is written to the store (not reserved, not volatile). */
  private persisted(name: string): boolean {
    return !RESERVED_BRANCHES.has(name) && this.policyOf(name).mode !== 'volatile';
  }

  /**
   * The kernel's write guard: what the store could never keep is refused before it is written
   * (a refused write changes nothing): a payload no frame can hold, in a persisted branch; a
   * branch name the engine cannot store (ERR_INVALID_NAME at `add` under `/data`).
   */
  private guard(): WriteGuard {
    const data = this.rt.find('/data') ?? null;
    return {
      payloadBytes: MAX_PERSISTED_PAYLOAD,
      payload: (cell, bytes) => {
        const top = data === null ? undefined : new BranchRoots(data).of(cell); // a refusal: no need to remember walks
        if (top === undefined || !this.persisted(top.name)) return;
        throw persistError('ERR_VALUE_TOO_LARGE', `${cell.path}: a payload of ${bytes} bytes cannot be stored (branch ${top.name} is persisted; at most ${MAX_PERSISTED_PAYLOAD} bytes fit a frame)`);
      },
      parent: data,
      child: (name) => {
        if (!this.persisted(name)) return;
        const problem = this.engine.branchNameProblem?.(name) ?? null;
        if (problem !== null) throw invalidName(name, `the store cannot keep a branch of this name: ${problem}`);
      },
    };
  }

  /** A change made between beats (kernel hook): its branch is written with the next beat, which driven mode runs. */
  private changedBetween(cell: Cell): void {
    if (this.closed) return;
    const data = this.rt.find('/data');
    if (data === undefined) return;
    // walks up are remembered until the next beat: a deep subtree built between beats stays linear
    if (this.betweenRoots === undefined || this.betweenRoots.data !== data) this.betweenRoots = new BranchRoots(data);
    const top = this.betweenRoots.of(cell);
    if (top === undefined) {
      if (cell === data) this.rootsRemoved(this.rt.beat); // a branch root hard-removed (`removeHard` reports its parent)
      return;
    }
    let name: string | undefined;
    if (this.lastBetween?.cell === top) name = this.lastBetween.name;
    else {
      name = RESERVED_BRANCHES.has(top.name) ? undefined : top.name;
      this.lastBetween = { cell: top, name };
    }
    if (name === undefined) return;
    if (!this.marked.has(name)) this.marked.set(name, this.rt.beat);
    this.hb.wake();
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
    if (head !== undefined && rt.beat <= head.beat) setBeat(rt, head.beat + 1);
    const f = framesToLoad(this.engine, branch, this.frameOptions.aead).map((x) => Buffer.from(x.bytes.buffer, x.bytes.byteOffset, x.bytes.byteLength).toString('base64'));
    this.events.post({ k: 'load', b: branch, f });
  }

  /** Last beat known durable. */
  get durableBeat(): number {
    return this.writer.durableBeat;
  }

  /** Note changes made to `/data/<branch>` that the service could not see (changes made through the cell API between beats are seen). */
  markDirty(branch: string): void {
    if (!this.marked.has(branch)) this.marked.set(branch, this.rt.beat);
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
    let removed = false;
    for (const cell of changes.cells) {
      const top = tops.of(cell);
      if (top === undefined) {
        if (cell === data) removed = true; // `removeHard` of a branch root reports `/data`
        continue;
      }
      if (top !== last) {
        last = top;
        const name = top.name;
        lastCtl = RESERVED_BRANCHES.has(name) ? undefined : this.controller(name);
        lastCtl?.seen(top);
      }
      lastCtl?.touch(beat, 1);
    }
    if (removed) this.touchRemoved(beat);
    this.takeMarked(beat);
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

  /** Branches changed between beats become pending with `beat`'s frames. */
  private takeMarked(beat: number): void {
    this.betweenRoots = undefined; // cells may move from one beat to the next
    if (this.removedSince >= 0) {
      this.touchRemoved(Math.min(this.removedSince, beat));
      this.removedSince = -1;
    }
    if (this.marked.size === 0) return;
    // stamped with the beat current when they were made: this one, unless beats were advanced by hand since
    for (const [name, since] of this.marked) this.controller(name).touch(Math.min(since, beat), 0);
    this.marked.clear();
    this.lastBetween = undefined;
  }

  /** A branch root may have been hard-removed between beats: looked for at the next Commit. */
  private rootsRemoved(beat: number): void {
    if (this.removedSince < 0) this.removedSince = beat;
    this.hb.wake();
  }

  /** Branches whose root was hard-removed become pending: their removal must be framed (`frameBranch`). */
  private touchRemoved(beat: number): void {
    for (const c of this.controllers.values()) if (c.root?.isFinalized === true && !c.removalFramed) c.touch(beat, 0);
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
      if (c.cold || c.held) continue;
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
      let f: QueuedFrame | undefined;
      try {
        f = this.frameBranch(c, beat, cause);
      } catch (e) {
        // this branch cannot be framed (too large, a cell frames cannot hold): it fails alone
        this.branchFailed(c, beat, e, false);
        continue;
      }
      if (f !== undefined) frames.push(f);
    }
    return frames;
  }

  /**
   * The history windows of a snapshot frame of `beat`: `retain.beats` (0: everything), but never
   * past the runtime's `historyFloor` (what the kernel dropped cannot travel, and the window must
   * say so, since a load trusts it: recover.ts `historyFrom`).
   */
  historyWindow(beat: number): { payload: number; manifest: number } {
    let w = this.retainBeats > 0 ? this.retainBeats : Math.min(beat + 1, 0x7fffffff);
    if (this.rt.historyFloor > 0) w = Math.min(w, Math.max(0, beat - this.rt.historyFloor));
    return { payload: w, manifest: w };
  }

  /** Frame one branch (delta when the beat holds all its unwritten changes, else a snapshot carrying the retained history). */
  frameBranch(c: BranchController, beat: number, cause: FlushCause): QueuedFrame | undefined {
    if (c.root === undefined || c.root.isFinalized) {
      const now = this.rt.find(`/data/${c.name}`); // added again since (between beats)
      if (now !== undefined) c.seen(now);
    }
    const cell = c.root;
    const removal = cell?.isFinalized === true && c.lastFramed >= 0 && !c.removalFramed;
    if (cell === undefined || (cell.isFinalized && !removal)) {
      c.pending = false;
      c.failure = undefined; // gone for good, and nothing of it on disk: nothing to write
      return undefined;
    }
    const delta = removal || c.deltaSuffices(beat);
    const bytes = removal
      ? removalFrame(c.name, beat, c.headRoot, this.frameOptions)
      : encodeBranch(cell, {
          mode: delta ? 'delta' : 'snapshot',
          beat,
          prevRoot: c.headRoot,
          history: delta ? undefined : this.historyWindow(beat),
          ...this.frameOptions,
        });
    // the frame is read back before it goes anywhere: what the engine gets has passed the reader
    const root = readFrame(bytes, { aead: this.frameOptions.aead }).root;
    c.framed(beat, root, bytes.length, cause);
    if (removal) c.removed();
    this.settleWaiters(c.name, beat);
    if (cause !== 'durable')
      this.report({
        severity: 'debug',
        topic: 'persist.flush.begin',
        note: `${c.name}: ${delta ? 'delta' : 'snapshot'} of beat ${beat} (${bytes.length} bytes, cause ${cause})`,
        subject: `/data/${c.name}`,
      });
    return { branch: c.name, bytes, root, cause };
  }

  // ---- writer events --------------------------------------------------------------------------

  private onDurable(b: QueuedBeat): void {
    for (const f of b.frames) {
      const c = this.controllers.get(f.branch);
      if (c === undefined) continue;
      const refused = b.refused?.get(f.branch);
      if (refused !== undefined) {
        // the engine would not take this frame: the branch fails alone, the beat's other frames are durable
        if (c.failure === undefined || c.failure.beat < b.beat) this.branchFailed(c, b.beat, refused, false);
        continue;
      }
      c.failure = undefined;
      c.durableBeat = b.beat;
      c.frames++;
      c.bytes += f.bytes.length;
      c.flushes++;
      c.stale = true;
      if (f.cause !== 'durable') this.report({ severity: 'debug', topic: 'persist.flush.done', note: `${f.branch}: beat ${b.beat} is durable (cause ${f.cause})`, subject: `/data/${f.branch}` });
      const n = (this.sinceCheckpoint.get(f.branch) ?? 0) + 1;
      this.sinceCheckpoint.set(f.branch, n);
      if (this.checkpointEvery > 0 && n >= this.checkpointEvery && !this.closed && c.root?.isFinalized !== true) {
        this.sinceCheckpoint.set(f.branch, 0);
        void this.checkpoint(f.branch, this.retainCompact).catch(() => {
          // reported as CEI by checkpoint(); the log still replays without it
        });
      }
    }
  }

  private onFailed(failed: QueuedBeat, dropped: QueuedBeat[], error: unknown): void {
    this.failures++;
    this.lastError = error;
    const code = (error as { code?: string })?.code ?? 'ERR_STORE_IO';
    const message = (error as Error)?.message ?? String(error);
    const branches = new Set<string>();
    for (const b of [failed, ...dropped]) for (const f of b.frames) branches.add(f.branch);
    for (const name of branches) {
      this.controllers.get(name)?.failed(this.headOf(name), failed.beat, error, true);
      this.report({ severity: 'warn', topic: 'persist.flush.fail', note: `${name}: ${code}: ${message}`, subject: `/data/${name}` });
    }
    this.report({
      severity: 'crit',
      topic: 'persist.commit',
      note: `beat ${failed.beat} was not committed (${code}: ${message}); ${dropped.length} later beat(s) dropped; their branches start over from snapshots`,
    });
  }

  /**
   * One branch could not be written at `beat` (its frame could not be made, or the engine refused
   * it): it starts over from a snapshot chained to what is on disk, tried again once it changes
   * again or is flushed on demand; the other branches go on. `flush()` rejects until one of its
   * frames is durable again.
   */
  private branchFailed(c: BranchController, beat: number, error: unknown, retry: boolean): void {
    c.failed(this.headOf(c.name), beat, error, retry);
    this.report({ severity: 'warn', topic: 'persist.flush.fail', note: `${c.name}: ${c.failure!.code}: ${c.failure!.message}`, subject: `/data/${c.name}` });
  }

  /** Branches whose changes could not be made durable, and why (each until one of its frames is durable again). */
  get failed(): Array<{ branch: string } & BranchFailure> {
    const out: Array<{ branch: string } & BranchFailure> = [];
    for (const c of this.controllers.values()) if (c.failure !== undefined) out.push({ branch: c.name, ...c.failure });
    return out;
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

  /**
   * Wait until every beat framed so far is durable; rejects with ERR_PERSIST_COMMIT when a
   * commit failed meanwhile, or while a branch's changes could not be made durable (its frame
   * could not be made or was refused: `error.failed` names each such branch with its code).
   */
  async flush(): Promise<void> {
    const before = this.failures;
    await this.writer.settle();
    if (this.failures !== before) throw persistError('ERR_PERSIST_COMMIT', `a beat could not be committed: ${(this.lastError as Error)?.message ?? String(this.lastError)}`);
    const failed = this.failed;
    if (failed.length > 0) {
      const e = persistError('ERR_PERSIST_COMMIT', `not durable: ${failed.map((f) => `branch ${f.branch} (beat ${f.beat}, ${f.code}: ${f.message})`).join('; ')}`);
      throw Object.assign(e, { failed });
    }
  }

  /**
   * Store a checkpoint of `branch` as of its last durable frame (after the frames queued before
   * it); with `compact` (automatic checkpoints, `retain.compact`) the branch's log is then cut to
   * the frames after it, so the store holds one checkpoint plus at most `checkpointEvery` frames
   * per branch (a lazy branch still served from its index is left as it is).
   */
  checkpoint(branch: string, compact = false): Promise<number> {
    return this.writer.run(async () => {
      const head = this.engine.head(branch);
      const cell = this.controllers.get(branch)?.root ?? this.rt.find(`/data/${branch}`);
      if (head === undefined || cell === undefined) throw notFound(`a frame of branch ${branch} to checkpoint`);
      const snap = encodeBranch(cell, { mode: 'snapshot', beat: head.beat, prevRoot: head.root, history: this.historyWindow(head.beat), ...this.frameOptions });
      try {
        await this.engine.checkpoint(branch, snap);
        if (compact && !this.hydrator.has(branch)) await this.engine.compact(branch);
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
      this.takeMarked(beat);
      const frames = this.frameDue(beat, true);
      if (frames.length > 0) this.writer.push(beat, frames);
    } catch (e) {
      this.failures++;
      this.lastError = e;
      this.hb.report({ severity: 'crit', topic: 'persist.commit', note: `the shutdown flush could not be framed: ${(e as Error)?.message ?? String(e)}` });
    }
  }

  /** Shut the runtime down (op/shdn with its flush), wait for the writer, close the engine. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.hb.isHalted) this.hb.shutdown();
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
    // the tree outlives the store, but nothing written to it now could be kept: refuse it
    this.rt.writesRefused = () => persistError('ERR_PERSIST_CLOSED', 'the runtime was closed (rt.close()): its tree is read-only');
    await this.engine.close();
    if (error !== undefined) throw error;
  }
}

/**
 * The frame that records the hard removal of `/data/<name>` at `beat` (a hard delete leaves no
 * stamp to frame, docs/FORMAT.md §10): a delta chained to the branch's last frame whose root alone
 * is created and soft-deleted at `beat`, so it is visible at no beat. A load that meets it as the
 * branch's newest frame loads nothing (recover.ts `isRemoval`); the branch's next frame, if the
 * name is added again, is a snapshot. The root is built in a scratch tree so that the one
 * encoder writes it.
 */
function removalFrame(name: string, beat: number, prevRoot: Uint8Array, options: { deflate?: boolean; aead?: AeadOptions }): Uint8Array {
  const scratch = new Tree();
  setBeat(scratch, beat);
  const root = scratch.find('/data')!.add(name);
  root.remove();
  return encodeBranch(root, { mode: 'delta', beat, prevRoot, ...options });
}

/**
 * The child of `/data` that a cell lies in (undefined: not below `/data`), for the cells of one
 * beat: a walk up stops at the first cell an earlier long walk met, so a beat that builds a
 * chain N deep costs O(N), not O(N²); short walks (most cells) are not remembered.
 */
class BranchRoots {
  private readonly known = new Map<Cell, Cell | undefined>();
  private readonly walked: Cell[] = [];

  constructor(readonly data: Cell) {}

  /** The child of `/data` that `cell` lies in (undefined outside `/data`). */
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
