/**
 * The heartbeat of one runtime: beats of Capture → Compute → Commit.
 *
 * Capture freezes the beat's impulses (those enzymes emitted last beat, then those queued from
 * outside, then whatever capture hooks deliver), stamps the wall-clock time (from the clock or
 * the recording) and applies pause/rollback/resume controls. Compute resolves each impulse's
 * agenda and runs the enzymes; what they emit goes to the next beat. Commit fires OPS watchers,
 * applies mailbox retention, digests what the beat changed, runs commit hooks, writes
 * `/rt/beat/<n>/` and advances the runtime's beat.
 */
import { beatInProgress, beatNotReady, halted, invalidArgType, invalidArgValue, outOfRange, replayMismatch, type CepError } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import { Cei, DIAG_MAILBOX, type CeiFact } from '../cei/cei.js';
import { checkTtl, Mailboxes, type MailboxTtl } from '../cei/mailbox.js';
import { EnzymeRegistry, type Agenda, type Enzyme, type EnzymeDescriptor, type EnzymeResult } from '../enzyme/registry.js';
import { checkSignal, checkTarget } from '../enzyme/signal.js';
import { Ops } from '../ops/ops.js';
import { BeatCodec, R_DROPPED, R_FATAL, R_OK, R_PARKED, R_RETRY } from './codec.js';
import { EnzymeContext, JsonPayload, readPayload, storePayload, type ImpulsePayload, type StoredPayload } from './context.js';
import { beatDigest, type BeatChanges } from './digest.js';
import { BeatJournal } from './journal.js';
import { isPrrSignal, Prr, SIG_PAUSE, SIG_RESUME, SIG_ROLLBACK } from './prr.js';
import { ImpulseQueue, QOS_CONTROL, QOS_DEFAULT, qosBits, type ImpulseQos } from './queue.js';
import { checkRecording, RECORD_BEATS, Recorder, Replayer, type Recording } from './recording.js';
import { TargetTable, type TargetInfo } from './targets.js';

export interface HeartbeatOptions {
  /** Wall-clock source in Unix nanoseconds: read once per beat, and recorded. */
  clock?: () => bigint;
  /** Replay this recording (from `rt.recording()`): outside impulses, timestamps and decisions come from it. */
  replay?: Recording;
  /** Keep a recording for `rt.recording()` (default true: a window of the newest `recordBeats` beats; servers that never replay pass false). */
  record?: boolean;
  /** Beats the recording keeps (default 65,536; 0: every beat, unbounded). Older beats leave with their decisions. */
  recordBeats?: number;
  /** Beats kept under `/rt/beat` and `/journal/decisions` (default 64; 0: no beat journal). */
  journalBeats?: number;
  /** Beat digests kept for `rt.digest()` (default 65,536). */
  digestBeats?: number;
  /** Topology-scope TTLs of mailbox messages. */
  mailboxTtl?: MailboxTtl;
  /** Called with the error that stops driven mode (`start`). */
  onError?: (error: unknown) => void;
}

export interface EnqueueOptions {
  qos?: ImpulseQos;
}

export type CaptureHook = (beat: number) => void;

/**
 * Work that runs inside the beat at fixed points (the episode engine): `compute(n)` at the start
 * of Compute (before any enzyme), `commit(n)` at the start of Commit (before OPS watchers fire,
 * so what it records is part of the beat). `ready()` false refuses `step()` (results still out on
 * worker threads); driven mode waits for `whenReady()` instead.
 */
export interface BeatParticipant {
  compute(beat: number): void;
  commit(beat: number): void;
  ready(): boolean;
  whenReady(): Promise<void>;
  /** Whether it has work that needs another beat (driven mode and `run()` take one for it). */
  busy(): boolean;
}
export type CommitHook = (beat: number, changes: BeatChanges) => void;
/** Runs when shutdown reaches `ist:flush` (persistence stages its last frames there). */
export type ShutdownHook = () => void;

/** What carries a heartbeat (a runtime): the argument of helpers such as `registerCellOperations`. */
export interface HasHeartbeat {
  readonly heartbeat: Heartbeat;
}

/** Default retention of diagnostics (facts would otherwise pile up under hostile input). */
export const DIAG_TTL_BEATS = 4096;

function remember(set: Set<string>, text: string): void {
  if (set.size >= 65536) set.clear();
  set.add(text);
}

function defaultClock(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class Heartbeat<R extends Tree = Tree> {
  readonly registry = new EnzymeRegistry();
  readonly mailboxes: Mailboxes;
  readonly ops: Ops;
  readonly cei: Cei;
  readonly prr: Prr;
  private next = new ImpulseQueue();
  private spare = new ImpulseQueue();
  /** Index in `next` where impulses from outside begin (before it: emitted by the last beat). */
  private externalStart = 0;
  /** The queue of the beat in Capture (outside impulses go there), else null. */
  private capturing: ImpulseQueue | null = null;
  private readonly ctx: EnzymeContext<R>;
  private readonly clock: () => bigint;
  private readonly codec = new BeatCodec();
  private readonly journal: BeatJournal;
  readonly recorder: Recorder;
  private replayer: Replayer | undefined;
  private readonly captureHooks: CaptureHook[] = [];
  private readonly commitHooks: CommitHook[] = [];
  private readonly shutdownHooks: ShutdownHook[] = [];
  private readonly participants: BeatParticipant[] = [];
  /** Digests of the last `digestBeats` beats: a ring indexed by beat. */
  private readonly digests: Array<Uint8Array | undefined> = [];
  private readonly digestOf: number[] = [];
  private readonly digestBeats: number;
  /** The last beat's digest (zeros before the first beat): the next beat frame chains to it. */
  private lastDigest: Uint8Array = new Uint8Array(32);
  /** This beat's decisions and touched cells (reused: hooks see them only during their call). */
  private readonly beatDecisions: Array<{ kind: string; value: string }> = [];
  private readonly touched: Cell[] = [];
  /** Results of the enzymes on the current agenda (reused). */
  private codes = new Int8Array(16);
  private inBeat = false;
  private shutdownPending = false;
  /** Wall-clock time of the current (or last) beat, Unix ns. */
  ts = 0n;
  isHalted = false;
  // driven mode
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private soon: ReturnType<typeof setImmediate> | undefined;
  /** `wake()` was called during a beat: driven mode runs another. */
  private woken = false;
  /** Driven mode is waiting for a participant to become ready. */
  private waiting = false;
  private readonly onError: ((e: unknown) => void) | undefined;
  /** The error that stopped driven mode, if any. */
  lastError: unknown = undefined;

  constructor(
    readonly rt: R,
    options: HeartbeatOptions = {},
  ) {
    const jb = options.journalBeats ?? 64;
    if (!Number.isSafeInteger(jb) || jb < 0) throw outOfRange('journalBeats', 'an integer >= 0', jb);
    const rb = options.recordBeats ?? RECORD_BEATS;
    if (!Number.isSafeInteger(rb) || rb < 0) throw outOfRange('recordBeats', 'an integer >= 0', rb);
    const db = options.digestBeats ?? 65_536;
    if (!Number.isSafeInteger(db) || db < 1) throw outOfRange('digestBeats', 'an integer >= 1', db);
    if (options.clock !== undefined && typeof options.clock !== 'function') throw invalidArgType('clock', 'a function', options.clock);
    if (options.onError !== undefined && typeof options.onError !== 'function') throw invalidArgType('onError', 'a function', options.onError);
    const ttl = checkTtl(options.mailboxTtl, 'mailboxTtl');
    this.replayer = options.replay === undefined ? undefined : new Replayer(checkRecording(options.replay));
    this.digestBeats = db;
    this.clock = options.clock ?? defaultClock;
    this.recorder = new Recorder(options.record !== false, rb);
    this.onError = options.onError;
    this.journal = new BeatJournal(rt, jb);
    this.ctx = new EnzymeContext(rt, this);
    this.mailboxes = new Mailboxes(rt, () => this.ts, ttl);
    this.ops = new Ops(rt, (s, t, p) => this.pushInternal(s, t, p, QOS_CONTROL));
    this.cei = new Cei(rt, this.mailboxes, this.ops, {
      emitControl: (s, t) => this.pushInternal(s, t, undefined, QOS_CONTROL),
      shutdown: () => this.shutdown(),
      now: () => this.ts,
    });
    this.prr = new Prr(rt, this.mailboxes, this.ops, this.cei);
  }

  /** The boot evidence: the diagnostics mailbox and the `op/boot` dossier. */
  boot(): void {
    this.mailboxes.open(DIAG_MAILBOX, { ttlBeats: DIAG_TTL_BEATS });
    const oid = this.ops.start('op/boot', { target: '/' });
    this.ops.state(oid, 'ist:kernel');
    this.ops.state(oid, 'ist:store');
    this.ops.state(oid, 'ist:packs');
    this.ops.close(oid, 'sts:ok');
  }

  get inProgress(): boolean {
    return this.inBeat;
  }

  /** Impulses waiting for the next beat. */
  get pending(): number {
    return this.next.n;
  }

  // ---- registration and hooks -----------------------------------------------------------------

  registerEnzyme(d: EnzymeDescriptor<R>): void {
    this.registry.register(d);
  }

  onCapture(fn: CaptureHook): () => void {
    return this.addHook(this.captureHooks, fn);
  }

  onCommit(fn: CommitHook): () => void {
    return this.addHook(this.commitHooks, fn);
  }

  onShutdown(fn: ShutdownHook): () => void {
    return this.addHook(this.shutdownHooks, fn);
  }

  /** Add work that runs inside every beat (see `BeatParticipant`). */
  participate(p: BeatParticipant): void {
    this.participants.push(p);
  }

  /** Whether a participant has work for another beat. */
  private get busy(): boolean {
    for (const p of this.participants) if (p.busy()) return true;
    return false;
  }

  /** Whether every participant can take a beat now. */
  get ready(): boolean {
    for (const p of this.participants) if (!p.ready()) return false;
    return true;
  }

  private addHook<F>(list: F[], fn: F): () => void {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  // ---- impulses --------------------------------------------------------------------------------

  /**
   * Queue an impulse from outside: for the next beat, or for the beat in Capture when a capture
   * hook calls it. Recorded. From inside an enzyme it behaves like `ctx.emit` (not recorded: a
   * replay regenerates it).
   */
  enqueue(signal: string, target: string | null, payload?: ImpulsePayload, options?: EnqueueOptions): void {
    if (this.isHalted) throw halted('enqueue');
    if (!this.validSignals.has(signal)) remember(this.validSignals, checkSignal(signal));
    const info = target === null ? undefined : this.targets.get(target);
    const stored = storePayload(payload);
    let qos = QOS_DEFAULT;
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
      if (options.qos !== undefined) {
        if (options.qos === null || typeof options.qos !== 'object') throw invalidArgType('options.qos', 'an object', options.qos);
        qos = qosBits(options.qos);
      }
    }
    if (this.replayer?.active === true && !this.inBeat) throw replayMismatch(this.rt.beat, 'impulses cannot be queued from outside while a recording is replayed');
    if (this.capturing !== null) this.capturing.push(signal, target, stored, qos, undefined, info);
    else this.pushInternal(signal, target, stored, qos, info);
  }

  /** Queue an impulse for the next beat from inside (enzymes): regenerated on replay, not recorded. */
  emit(signal: string, target: string | null, payload?: ImpulsePayload): void {
    checkSignal(signal);
    if (target !== null) checkTarget(target);
    this.pushInternal(signal, target, storePayload(payload), QOS_DEFAULT);
  }

  /** Signals and targets already validated (bounded: cleared when full). */
  private readonly validSignals = new Set<string>();
  private readonly targets = new TargetTable();

  private pushInternal(signal: string, target: string | null, payload: StoredPayload, qos: number, info?: TargetInfo): void {
    this.next.push(signal, target, payload, qos, undefined, info);
    if (this.running && this.soon === undefined && !this.inBeat && !this.waiting) this.soon = setImmediate(this.tick);
  }

  // ---- decisions -------------------------------------------------------------------------------

  decide<T>(kind: string, fn: () => T): T {
    if (typeof kind !== 'string' || kind.length === 0 || kind.length > 256) throw invalidArgType('kind', 'a non-empty string (at most 256 characters)', kind);
    if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
    if (!this.inBeat) throw invalidArgValue('decide', 'decisions are taken inside a beat (from an enzyme)');
    const beat = this.rt.beat;
    let text = this.replayer?.decision(beat, kind);
    if (text === undefined) {
      text = JSON.stringify(fn());
      if (text === undefined) throw invalidArgValue('decide', 'the decided value must be JSON-serializable');
    }
    this.recorder.decision(beat, kind, text);
    this.journal.decision(beat, this.beatDecisions.length, kind, text);
    this.beatDecisions.push({ kind, value: text });
    return JSON.parse(text) as T;
  }

  // ---- beats -----------------------------------------------------------------------------------

  /** Run one beat; returns the number of the beat it ran. */
  step(): number {
    if (this.isHalted) throw halted('step');
    if (this.inBeat) throw beatInProgress('step');
    if (this.participants.length > 0 && !this.ready) throw beatNotReady();
    const rt = this.rt;
    if (rt.beat === 0) rt.advance(); // beat 0 is boot (layout, op/boot); the heartbeat runs from beat 1
    const n = rt.beat;
    this.registry.activatePending();
    const q = this.next;
    this.next = this.spare;
    this.spare = q;
    const touched = this.touched;
    touched.length = 0;
    this.inBeat = true;
    this.registry.deferring = true;
    this.beatDecisions.length = 0;
    rt.touched = touched;
    try {
      // Capture
      const rp = this.replayer;
      if (rp?.active === true) this.ts = rp.nextBeat(n, q);
      else {
        const ts = this.clock();
        if (typeof ts !== 'bigint' || ts < 0n || ts >= 1n << 64n) throw invalidArgType('clock()', 'a bigint of Unix nanoseconds (0 to 2^64-1)', ts);
        this.ts = ts;
        if (this.captureHooks.length > 0) {
          this.capturing = q;
          try {
            for (const h of this.captureHooks) h(n);
          } finally {
            this.capturing = null;
          }
        }
      }
      this.recorder.beat(n, this.ts, q, this.externalStart);
      this.applyControls(q);
      // Compute and Commit, under the pause locks while paused
      this.prr.grant(() => {
        this.compute(q, n);
        this.commit(q, n, touched);
      });
    } finally {
      rt.touched = null;
      this.inBeat = false;
      this.registry.deferring = false;
      q.clear();
      this.externalStart = this.next.n;
      rt.advance();
    }
    if (this.shutdownPending) this.shutdown();
    return n;
  }

  /** Apply pause/rollback/resume impulses in queue order (a resume's backlog goes to the next beat). */
  private applyControls(q: ImpulseQueue): void {
    for (let i = 0; i < q.n; i++) if (isPrrSignal(q.sig[i])) this.prr.apply(q.sig[i], q.pay[i], this.next);
  }

  private compute(q: ImpulseQueue, n: number): void {
    for (const p of this.participants) p.compute(n);
    const codec = this.codec;
    codec.begin(q.n);
    const ctx = this.ctx;
    ctx.beat = n;
    const reg = this.registry;
    const prr = this.prr;
    const targets = this.targets;
    let cycles: Set<Agenda> | undefined;
    for (let i = 0; i < q.n; i++) {
      const s = q.sig[i];
      const t = q.tgt[i];
      const p = q.pay[i];
      const qos = q.qos[i];
      const info = t === null ? undefined : (q.info[i] ?? targets.get(t));
      codec.impulse(s, t, p, qos, info);
      if (prr.paused && !prr.isControl(s, qos)) {
        codec.ran(i, '', prr.park(s, t, p, qos) ? R_PARKED : R_DROPPED);
        continue;
      }
      let agenda: Agenda;
      if (info === undefined) agenda = reg.agenda(s, t);
      else if (info.agSignal === s && info.agGen === reg.generation) agenda = info.agenda!;
      else {
        agenda = info.agenda = reg.agenda(s, t);
        info.agSignal = s;
        info.agGen = reg.generation;
      }
      const list = agenda.enzymes;
      if (list.length === 0) continue;
      if (agenda.cycle !== null && !(cycles ??= new Set()).has(agenda)) {
        cycles.add(agenda);
        this.cei.emit({
          severity: 'usage',
          topic: 'enzyme/cycle',
          note: `dependency cycle among ${agenda.cycle.join(', ')}; they ran in specificity order`,
          origin: { signal: s, target: t ?? undefined },
        });
      }
      ctx.signal = s;
      ctx.target = t;
      ctx.payload = readPayload(p);
      const json = p instanceof JsonPayload; // each enzyme gets its own copy of a JSON payload
      const skip = q.skip[i];
      let retry = false;
      let codes = this.codes;
      if (codes.length < list.length) codes = this.codes = new Int8Array(list.length * 2);
      for (let k = 0; k < list.length; k++) {
        const e = list[k];
        if (skip?.has(e.name)) {
          codes[k] = -1;
          continue;
        }
        ctx.enzyme = e.name;
        if (json && k > 0) ctx.payload = readPayload(p);
        let r: EnzymeResult;
        let note = '';
        const facts = this.cei.count;
        try {
          r = e.run(ctx);
        } catch (err) {
          if ((err as CepError)?.code === 'ERR_REPLAY_MISMATCH') throw err;
          r = 'fatal';
          note = (err as Error)?.message ?? String(err);
        }
        const code = r === undefined || r === 'ok' ? R_OK : r === 'retry' ? R_RETRY : R_FATAL;
        codes[k] = code;
        codec.ran(i, e.name, code);
        if (code === R_RETRY) retry = true;
        else if (code === R_FATAL && this.cei.count === facts) {
          // a fatal result the enzyme did not explain with a fact of its own
          this.cei.emit({
            severity: 'crit',
            topic: 'enzyme/fatal',
            note: note || `enzyme ${e.name} returned fatal`,
            origin: { enzyme: e.name, signal: s, target: t ?? undefined },
            subject: t ?? undefined,
          });
        }
      }
      if (retry) this.retry(q, i, list, codes, info);
    }
  }

  /** Queue a retried impulse once; what finished it (fatal, or ok and not idempotent) does not run again. */
  private retry(q: ImpulseQueue, i: number, list: readonly Enzyme[], codes: Int8Array, info: TargetInfo | undefined): void {
    const skip = q.skip[i];
    const again = new Set(skip);
    for (let k = 0; k < list.length; k++) {
      const c = codes[k];
      if (c === R_FATAL || (c === R_OK && !list[k].idempotent)) again.add(list[k].name);
    }
    this.next.push(q.sig[i], q.tgt[i], q.pay[i], q.qos[i], again.size === 0 ? undefined : again, info);
  }

  private commit(q: ImpulseQueue, n: number, touched: Cell[]): void {
    const rt = this.rt;
    for (const p of this.participants) p.commit(n);
    this.ops.commit(n);
    this.mailboxes.retain(n, this.ts);
    rt.touched = null;
    const cells = touched.length < 2 ? touched : [...new Set(touched)];
    const changes: BeatChanges = { beat: n, unixTsNs: this.ts, impulses: this.codec.impulses.view(), agenda: this.codec.agenda.view(), decisions: this.beatDecisions, cells };
    const digest = beatDigest(rt, changes, this.lastDigest);
    this.lastDigest = digest;
    const slot = n % this.digestBeats;
    this.digests[slot] = digest;
    this.digestOf[slot] = n;
    for (const h of this.commitHooks) h(n, changes);
    this.journal.beat(n, this.ts, q.n > 0 ? this.codec.impulses.take() : null, this.codec.agenda.view().length > 0 ? this.codec.agenda.take() : null, digest);
    this.replayer?.checkBeatDone(n);
  }

  /** Run `beats` beats, or (without) until nothing is queued (at most 1,000,000). Returns beats run. */
  run(options: { beats?: number } = {}): number {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const beats = options.beats;
    if (beats !== undefined && (!Number.isSafeInteger(beats) || beats < 0)) throw outOfRange('beats', 'an integer >= 0', beats);
    if (this.isHalted) throw halted('run');
    let ran = 0;
    if (beats !== undefined) for (; ran < beats && !this.isHalted; ran++) this.step();
    else while ((this.next.n > 0 || this.busy || this.replayer?.active === true) && ran < 1_000_000 && !this.isHalted) this.step(), ran++;
    return ran;
  }

  /** The 32-byte digest of `beat` (a copy), or undefined when not run or no longer kept. */
  digest(beat: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(beat) || beat < 0) return undefined;
    const slot = beat % this.digestBeats;
    return this.digestOf[slot] === beat ? this.digests[slot]!.slice() : undefined;
  }

  recording(): Recording {
    if (!this.recorder.on) throw invalidArgValue('recording', 'this runtime keeps no recording (it was created with { record: false })');
    return this.recorder.copy();
  }

  /**
   * Replay `recording` from the next beat on, in this runtime as it stands: a recording window
   * (`rt.recording()` once older beats left it) continues a runtime that ran or replayed the
   * beats before its first one. Its first beat must be the next beat.
   */
  replay(recording: Recording): void {
    if (this.isHalted) throw halted('replay');
    if (this.inBeat) throw beatInProgress('replay');
    if (this.replayer?.active === true) throw invalidArgValue('replay', 'a recording is still being replayed');
    const rec = checkRecording(recording);
    const next = this.rt.beat === 0 ? 1 : this.rt.beat;
    if (rec.beats.length > 0 && rec.beats[0].beat !== next) throw replayMismatch(next, `the recording starts at beat ${rec.beats[0].beat}`);
    if (this.next.n > this.externalStart) throw replayMismatch(next, 'impulses were queued from outside before the replay');
    this.replayer = new Replayer(rec);
  }

  // ---- pause / rollback / resume (control impulses for the next beat) ----------------------------

  pause(): void {
    this.enqueue(SIG_PAUSE, '/sys/state', undefined, { qos: { control: true } });
  }

  rollback(beat: number): void {
    if (!Number.isSafeInteger(beat) || beat < 0) throw outOfRange('beat', 'an integer >= 0', beat);
    this.enqueue(SIG_ROLLBACK, '/sys/state', String(beat), { qos: { control: true } });
  }

  resume(): void {
    this.enqueue(SIG_RESUME, '/sys/state', undefined, { qos: { control: true } });
  }

  // ---- driven mode -----------------------------------------------------------------------------

  private readonly tick = (): void => {
    this.soon = undefined;
    if (!this.running) return;
    this.woken = false;
    // results still on worker threads: take the beat once they are in (asking a participant can
    // take in results that arrived meanwhile, so the one found is the one still waiting, if any)
    const pending = this.participants.find((p) => !p.ready());
    if (pending !== undefined) {
      this.waiting = true;
      void pending.whenReady().then(
        () => {
          this.waiting = false;
          if (this.running && this.soon === undefined && !this.waiting) this.tick();
        },
        (e: unknown) => {
          this.waiting = false;
          this.fail(e);
        },
      );
      return;
    }
    try {
      this.step();
    } catch (e) {
      this.fail(e);
      return;
    }
    // queued impulses, a wake from an input source, or participants' work (slices queued or out
    // on worker threads) call for another beat
    if (this.running && (this.next.n > 0 || this.woken || this.busy) && this.soon === undefined) this.soon = setImmediate(this.tick);
  };

  private fail(e: unknown): void {
    this.lastError = e;
    this.stop();
    this.onError?.(e);
  }

  private readonly onTimer = (): void => {
    if (this.running && this.soon === undefined) this.tick();
  };

  /**
   * An input source (the async reactor) or a participant (episodes) has work for the next beat:
   * in driven mode a beat runs soon, as if work had been queued; otherwise nothing happens.
   */
  wake(): void {
    if (this.inBeat) this.woken = true;
    else if (this.running && this.soon === undefined && !this.waiting) this.soon = setImmediate(this.tick);
  }

  /** Drive beats: every `intervalMs` (0: only when work is queued) and as soon as work is queued. */
  start(options: { intervalMs?: number } = {}): void {
    if (this.isHalted) throw halted('start');
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const iv = options.intervalMs ?? 0;
    if (typeof iv !== 'number' || !Number.isFinite(iv) || iv < 0) throw outOfRange('intervalMs', 'a number >= 0', iv);
    this.stop();
    this.running = true;
    this.lastError = undefined;
    if (iv > 0) {
      this.timer = setInterval(this.onTimer, iv);
      this.timer.unref?.();
    }
    if (this.next.n > 0 || this.busy) this.soon = setImmediate(this.tick);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.soon !== undefined) clearImmediate(this.soon);
    this.timer = undefined;
    this.soon = undefined;
  }

  get driven(): boolean {
    return this.running;
  }

  // ---- shutdown --------------------------------------------------------------------------------

  /** Shut down through `op/shdn` (ist:stop, ist:flush, ist:halt, sts:ok); inside a beat, at its end. */
  shutdown(): void {
    if (this.isHalted) return;
    if (this.inBeat) {
      this.shutdownPending = true;
      return;
    }
    this.shutdownPending = false;
    this.stop();
    const oid = this.ops.start('op/shdn', { target: '/' });
    this.ops.state(oid, 'ist:stop');
    this.ops.state(oid, 'ist:flush');
    for (const h of this.shutdownHooks) h();
    this.ops.state(oid, 'ist:halt');
    this.ops.close(oid, 'sts:ok');
    this.isHalted = true;
  }

  /** Record a CEI fact. */
  report(fact: CeiFact): Cell {
    return this.prr.grant(() => this.cei.emit(fact)); // facts flow while paused
  }
}
