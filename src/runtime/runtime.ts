/**
 * The runtime: a tree (src/kernel/tree.ts) with its heartbeat, and the organs attached to them
 * (episodes, the I/O fabric over a reactor). The only composition root below `createRuntime`;
 * `close()` takes the parts down in order. The facade methods forward to the heartbeat.
 */
import { halted } from '../errors.js';
import { Tree, type TreeOptions } from '../kernel/tree.js';
import type { Cell } from '../kernel/cell/cell.js';
import type { CeiFact } from '../beat/cei/cei.js';
import type { EnzymeDescriptor } from '../beat/enzyme/registry.js';
import type { EnzymeContext, ImpulsePayload } from '../beat/heartbeat/context.js';
import { Heartbeat, type CaptureHook, type CommitHook, type EnqueueOptions, type ShutdownHook, type HeartbeatOptions } from '../beat/heartbeat/heartbeat.js';
import type { Recording } from '../beat/heartbeat/recording.js';
import { AsyncFabric } from '../organs/io/fabric.js';
import { Episodes, type EpisodeOptions } from '../organs/episode/engine.js';
import { Reactor } from '../async/reactor.js';
import type { ReactorChoice } from '../async/select.js';

export { ROOT_LAYOUT, HISTORY_BEATS } from '../kernel/tree.js';

export interface RuntimeOptions extends TreeOptions, HeartbeatOptions, EpisodeOptions {
  /** Async I/O: a reactor backend to start ('uring' | 'epoll' | 'portable' | 'auto') or a reactor to use. */
  reactor?: ReactorChoice | Reactor;
}

/** What an enzyme of a runtime sees: `ctx.rt` is the runtime. */
export type RuntimeEnzymeContext = EnzymeContext<Runtime>;
/** An enzyme registered on a runtime. */
export type RuntimeEnzymeDescriptor = EnzymeDescriptor<Runtime>;

export class Runtime extends Tree {
  /** Beats, enzymes, OPS, CEI, mailboxes, pause/rollback/resume (`src/beat/`). */
  readonly heartbeat: Heartbeat<Runtime>;
  /** The async I/O reactor (`reactor.backend` names it), when `options.reactor` asked for one. */
  readonly reactor: Reactor | undefined;
  /** The op/io fabric over that reactor (`/rt/async`). */
  readonly io: AsyncFabric | undefined;

  constructor(options: RuntimeOptions = {}) {
    super(options);
    this.heartbeat = new Heartbeat<Runtime>(this, options);
    if (options.layout !== false) this.heartbeat.boot();
    if (options.executor !== undefined || options.threads !== undefined || options.sliceBytes !== undefined) this.episodeEngine = new Episodes(this.heartbeat, options);
    if (options.reactor !== undefined) {
      this.ownsReactor = !(options.reactor instanceof Reactor);
      this.reactor = options.reactor instanceof Reactor ? options.reactor : new Reactor({ backend: options.reactor });
      this.io = new AsyncFabric(this.heartbeat, this.reactor);
    }
  }

  /** Whether `reactor` was started by this runtime (so `close()` closes it); a reactor given in is the caller's. */
  private readonly ownsReactor: boolean = false;
  private closing: Promise<void> | undefined;

  /**
   * The one lifecycle call: stop driven mode, shut down through `op/shdn`, stop the episodes'
   * worker threads, detach the I/O fabric (from the reactor and the attached executors and
   * pools, which stay the caller's), close the reactor this runtime started; nothing of it keeps the process
   * alive afterwards. The tree stays readable; writes, beats and impulses after it throw coded
   * errors (ERR_HALTED). Closing again returns the same promise.
   */
  close(): Promise<void> {
    return (this.closing ??= this.closeParts());
  }

  /** What `close()` does, in order; a persistent runtime closes its store before this runs. */
  protected async closeParts(): Promise<void> {
    this.stop();
    this.shutdown();
    await this.episodeEngine?.close();
    this.io?.close();
    if (this.ownsReactor) await this.reactor!.close();
    this.writesRefused ??= () => halted('change the tree of a closed runtime');
  }

  // ---- heartbeat entry points (docs/heartbeat.md) -------------------------------------------

  /** Register an enzyme (idempotent; during a beat it activates at the next beat). */
  registerEnzyme(descriptor: RuntimeEnzymeDescriptor): void {
    this.heartbeat.registerEnzyme(descriptor);
  }

  /** Bind an enzyme to the subtree at `path` (`propagate`: descendants inherit it). */
  bind(path: string, enzyme: string, options: { propagate?: boolean } = {}): void {
    this.heartbeat.registry.bind(path, enzyme, options?.propagate === true);
  }

  /** Remove a binding at `path` and mask the one `path` would inherit (a tombstone). */
  unbind(path: string, enzyme: string): void {
    this.heartbeat.registry.unbind(path, enzyme);
  }

  /** Queue an impulse for the next beat (recorded for replay). */
  enqueue(signal: string, target: string | null, payload?: ImpulsePayload, options?: EnqueueOptions): void {
    this.heartbeat.enqueue(signal, target, payload, options);
  }

  /** Run one beat (Capture, Compute, Commit); returns the beat it ran. */
  step(): number {
    return this.heartbeat.step();
  }

  /** Run `beats` beats, or until nothing is queued. */
  run(options?: { beats?: number }): number {
    return this.heartbeat.run(options);
  }

  /** Drive beats from the event loop: every `intervalMs` and whenever work is queued. */
  start(options?: { intervalMs?: number }): void {
    this.heartbeat.start(options);
  }

  stop(): void {
    this.heartbeat.stop();
  }

  /** The 32-byte digest of a beat that ran (undefined when unknown or no longer kept). */
  digest(beat: number): Uint8Array | undefined {
    return this.heartbeat.digest(beat);
  }

  /** What a replay needs: `createRuntime({ replay: rt.recording() })`. */
  recording(): Recording {
    return this.heartbeat.recording();
  }

  /** Replay a recording window from the next beat on (its first beat must be the next beat): docs/heartbeat.md. */
  replay(recording: Recording): void {
    this.heartbeat.replay(recording);
  }

  /** Run `fn(beat)` at the start of each beat's Capture; it may `enqueue` inputs for that beat. */
  onCapture(fn: CaptureHook): () => void {
    return this.heartbeat.onCapture(fn);
  }

  /** Run `fn(beat, changes)` at Commit, once the beat's changes are final. */
  onCommit(fn: CommitHook): () => void {
    return this.heartbeat.onCommit(fn);
  }

  /** Run `fn()` when shutdown reaches `ist:flush` (persistence flushes there). */
  onShutdown(fn: ShutdownHook): () => void {
    return this.heartbeat.onShutdown(fn);
  }

  /** OPS dossiers under `/rt/ops`. */
  get ops(): Heartbeat['ops'] {
    return this.heartbeat.ops;
  }

  /** Mailboxes (`open`, `post`, `messages`). */
  get mailboxes(): Heartbeat['mailboxes'] {
    return this.heartbeat.mailboxes;
  }

  /** Record a CEI fact (default mailbox `/data/mailbox/diag`). */
  cei(fact: CeiFact): Cell {
    return this.heartbeat.report(fact);
  }

  /** Pause / rollback / resume: control impulses applied at the next beat's Capture. */
  pause(): void {
    this.heartbeat.pause();
  }

  rollback(toBeat: number): void {
    this.heartbeat.rollback(toBeat);
  }

  resume(): void {
    this.heartbeat.resume();
  }

  get paused(): boolean {
    return this.heartbeat.prr.paused;
  }

  /** The published view horizon after a rollback (undefined when none). */
  get viewHorizon(): number | undefined {
    return this.heartbeat.prr.horizon;
  }

  private episodeEngine: Episodes<Runtime> | undefined;

  /** The episode engine (E3, docs/episodes.md): created on first use with the stub executor unless `createRuntime({ executor })` chose one. */
  get episodes(): Episodes<Runtime> {
    return (this.episodeEngine ??= new Episodes(this.heartbeat));
  }

  /** Shut down through `op/shdn`; afterwards no beats or impulses. */
  shutdown(): void {
    this.heartbeat.shutdown();
  }

  get halted(): boolean {
    return this.heartbeat.isHalted;
  }
}

/** Create a runtime with the boot layout (`/sys`, `/rt`, `/journal`, `/env`, `/cas`, `/lib`, `/data`, `/tmp`, `/enzymes`). */
export function createRuntime(options?: RuntimeOptions): Runtime {
  return new Runtime(options);
}
