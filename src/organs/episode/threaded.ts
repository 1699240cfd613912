/**
 * The worker side of the threaded backend. Each slice module gets a slice ring (`ring.ts`):
 * `threads` worker threads that claim published slices from shared memory by themselves, so no
 * worker waits on the runtime thread between slices and a worker slowed down by a busy core
 * takes fewer. Slices beyond the ring's slots wait in a bounded backlog and are published as
 * slots free up. The engine applies outcomes in its own submission order, so which worker ran a
 * slice never shows.
 *
 * Run-ahead slices (`ahead`) are the engine's guesses at a yielding episode's next slice: they
 * wait in a backlog of their own and go to the ring only when no submitted slice waits, a few
 * per worker at a time, so they fill the workers' idle time at the beat barrier and hold a
 * submitted slice back by at most those few. The engine adopts a guess that
 * proved right (it then counts as submitted) and drops the others.
 */
import { poolClosed, sliceFailed } from '../../errors.js';
import type { TaskResult } from '../../async/worker-pool.js';
import { SliceRing, type RingResult } from './ring.js';
import { workerModuleUrl } from './slice-runner.js';

export interface ThreadedOptions {
  /** Workers per slice module (default 2). */
  threads: number;
  /** Largest serialized slice input or outcome a worker takes (default 64 KiB); larger inputs run on the runtime thread. */
  sliceBytes: number;
}

/** A slice handed to the workers; `result` is set once it is back. */
export interface SliceHandle {
  readonly result: TaskResult | undefined;
}

interface Job {
  result: TaskResult | undefined;
  input: Uint8Array | undefined;
  /** A run-ahead guess not adopted (yet). */
  ahead: boolean;
  /** Where it is: waiting in a backlog, published to the ring, or back. */
  at: 'backlog' | 'ring' | 'back';
  /** Dropped: its outcome is of no use (a guess that proved wrong). */
  dropped: boolean;
  /** Called once its result is in. */
  onResult: (() => void) | undefined;
  /** Published to the ring as a guess and still counted in `aheadInRing` (until back or adopted). */
  guessInRing: boolean;
  /** Its index in `aheadLog` while a guess waits there. */
  logIndex: number;
}

interface ModuleWorkers {
  ring: SliceRing;
  /** Jobs published to the ring, in publication order (their outcomes come back in it). */
  published: Job[];
  /** Jobs waiting for a free slot: `backlog[head..]`. */
  backlog: Array<Job | undefined>;
  head: number;
  /** Bytes of the inputs waiting in the backlog. */
  bytes: number;
  /** Run-ahead jobs waiting for the ring: `aheadLog[aheadHead..]` (undefined: adopted or dropped meanwhile). */
  aheadLog: Array<Job | undefined>;
  aheadHead: number;
  /** Run-ahead jobs published to the ring and not back. */
  aheadInRing: number;
}

/** Slots of a ring per worker thread (slices published at once), within `RING_BYTES` of shared memory (at least one per thread). */
const SLOTS_PER_THREAD = 16;
const RING_BYTES = 64 << 20;
/** Bounds of one module's backlog (memory stays bounded); past them slices run on the runtime thread. */
const BACKLOG_JOBS = 4096;
const BACKLOG_BYTES = 32 << 20;
/**
 * Run-ahead guesses in the ring at once, per worker (half its slots): enough that the workers
 * keep busy while a busy machine makes the runtime thread late to wake, few enough that a slice
 * submitted later waits behind at most this many guesses per worker.
 */
const AHEAD_IN_RING_PER_THREAD = 8;
/** Bounds of the run-ahead guesses held (adopted or dropped ones no longer count). */
const AHEAD_JOBS = 4096;
const AHEAD_BYTES = 32 << 20;

export class SlicePools {
  private readonly modules = new Map<string, ModuleWorkers>();
  private waiters: Array<() => void> = [];
  /** Run-ahead guesses held (not adopted, not dropped), and the bytes of their inputs. */
  private aheadJobs = 0;
  private aheadBytes = 0;

  constructor(private readonly options: ThreadedOptions) {}

  /** Start the workers for the slice module at `href` (once). */
  async open(href: string): Promise<void> {
    let m = this.modules.get(href);
    if (m === undefined) {
      const module = workerModuleUrl(href);
      const threads = this.options.threads;
      const mw = { published: [], backlog: [], head: 0, bytes: 0, aheadLog: [], aheadHead: 0, aheadInRing: 0 } as unknown as ModuleWorkers;
      const slots = Math.max(threads, Math.min(SLOTS_PER_THREAD * threads, Math.floor(RING_BYTES / (2 * this.options.sliceBytes))));
      mw.ring = new SliceRing({ module, threads, slots, bytes: this.options.sliceBytes, onResults: (r) => this.arrived(mw, r) });
      this.modules.set(href, (m = mw));
    }
    try {
      await m.ring.started();
    } catch (e) {
      // the workers cannot load the module: its slices run on the runtime thread
      this.modules.delete(href);
      await m.ring.close();
      throw e;
    }
  }

  /**
   * Queue a slice for the module's workers; undefined when it cannot go to one (too big, backlog
   * full): run it here. `ahead`: a run-ahead guess (its own backlog and bounds; adopt or drop it).
   * `onResult` is called once its result is in.
   */
  submit(href: string, input: Uint8Array, ahead = false, onResult?: () => void): SliceHandle | undefined {
    const m = this.modules.get(href);
    if (m === undefined || input.length > this.options.sliceBytes) return undefined;
    const job: Job = { result: undefined, input, ahead, at: 'backlog', dropped: false, onResult, guessInRing: false, logIndex: -1 };
    if (ahead) {
      if (this.aheadJobs >= AHEAD_JOBS || this.aheadBytes + input.length > AHEAD_BYTES) return undefined;
      this.aheadJobs++;
      this.aheadBytes += input.length;
      job.logIndex = m.aheadLog.push(job) - 1;
    } else {
      if (m.backlog.length - m.head >= BACKLOG_JOBS || m.bytes + input.length > BACKLOG_BYTES) return undefined;
      m.backlog.push(job);
      m.bytes += input.length;
    }
    this.pump(m);
    return job;
  }

  /**
   * Adopt a run-ahead guess as a submitted slice: false when it can no longer give a result
   * (it failed, or the workers are closed); then submit the slice again.
   */
  adopt(href: string, h: SliceHandle): boolean {
    const job = h as Job;
    const m = this.modules.get(href);
    if (!job.ahead || job.dropped || m === undefined || (job.result !== undefined && !job.result.ok)) return false;
    this.unhold(job);
    if (job.at === 'backlog') {
      // still waiting for the ring: it moves to the submitted slices' backlog, in order
      m.aheadLog[job.logIndex] = undefined;
      m.backlog.push(job);
      m.bytes += job.input!.length;
    } else {
      job.input = undefined; // published: the ring holds its copy
      if (job.guessInRing) {
        job.guessInRing = false;
        m.aheadInRing--;
      }
    }
    this.pump(m);
    return true;
  }

  /** Drop a run-ahead guess: its outcome, if it comes, is of no use. */
  drop(href: string, h: SliceHandle): void {
    const job = h as Job;
    if (!job.ahead || job.dropped) return;
    this.unhold(job);
    job.dropped = true;
    job.onResult = undefined;
    const m = this.modules.get(href);
    if (m !== undefined && job.at === 'backlog') m.aheadLog[job.logIndex] = undefined;
    job.input = undefined;
  }

  private unhold(job: Job): void {
    job.ahead = false;
    this.aheadJobs--;
    this.aheadBytes -= job.input?.length ?? 0;
  }

  /**
   * Publish while the ring has free slots: submitted slices first, then run-ahead guesses, at
   * most `AHEAD_IN_RING_PER_THREAD` per worker in the ring.
   */
  private pump(m: ModuleWorkers): void {
    while (m.ring.room) {
      let job: Job;
      if (m.head < m.backlog.length) {
        job = m.backlog[m.head]!;
        m.backlog[m.head++] = undefined;
        m.bytes -= job.input!.length;
      } else if (m.aheadHead < m.aheadLog.length && m.aheadInRing < AHEAD_IN_RING_PER_THREAD * this.options.threads) {
        const next = m.aheadLog[m.aheadHead];
        m.aheadLog[m.aheadHead++] = undefined;
        if (next === undefined) continue; // adopted or dropped while it waited
        job = next;
        job.guessInRing = true;
        m.aheadInRing++;
      } else break;
      const input = job.input!;
      if (!job.ahead) job.input = undefined; // a held guess keeps its input (counted in aheadBytes) until adopted or dropped
      job.at = 'ring';
      m.published.push(job);
      m.ring.publish(input);
    }
    m.ring.wake();
    if (m.head === m.backlog.length) {
      m.backlog.length = 0;
      m.head = 0;
    }
    if (m.aheadHead === m.aheadLog.length) {
      m.aheadLog.length = 0;
      m.aheadHead = 0;
    }
  }

  /** Outcomes in publication order: settle their jobs, refill the ring, tell the engine, wake whoever waits. */
  private arrived(m: ModuleWorkers, results: RingResult[]): void {
    let ticket = 0;
    const settled: Job[] = [];
    for (const r of results) {
      const job = m.published.shift()!;
      job.at = 'back';
      if (job.guessInRing) m.aheadInRing--;
      job.result = r.ok ? { ticket: ++ticket, ok: true, value: r.value } : { ticket: ++ticket, ok: false, error: sliceFailed(r.error) };
      if (job.onResult !== undefined) settled.push(job);
    }
    this.pump(m);
    for (const job of settled) {
      const f = job.onResult!;
      job.onResult = undefined;
      f();
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Whether the slice's result is in. */
  has(h: SliceHandle): boolean {
    if (h.result === undefined) for (const m of this.modules.values()) m.ring.collect();
    return h.result !== undefined;
  }

  /** Resolves at the next result in (at once when nothing is out). */
  progress(): Promise<void> {
    let out = false;
    for (const m of this.modules.values()) if (m.head < m.backlog.length || m.ring.outstanding > 0) out = true;
    return out ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  /** Stop the workers once the slices published to them are done; slices still in the backlog fail at once. */
  async close(): Promise<void> {
    const mods = [...this.modules.values()];
    this.modules.clear();
    for (const m of mods) {
      for (let i = m.head; i < m.backlog.length; i++) m.backlog[i]!.result = { ticket: 0, ok: false, error: poolClosed('slice worker pool') };
      m.backlog.length = 0;
      m.head = 0;
      m.bytes = 0;
      for (let i = m.aheadHead; i < m.aheadLog.length; i++) {
        const job = m.aheadLog[i];
        if (job === undefined) continue;
        job.at = 'back';
        job.result = { ticket: 0, ok: false, error: poolClosed('slice worker pool') };
      }
      m.aheadLog.length = 0;
      m.aheadHead = 0;
    }
    await Promise.all(mods.map((m) => m.ring.close()));
    for (const w of this.waiters.splice(0)) w();
  }
}
