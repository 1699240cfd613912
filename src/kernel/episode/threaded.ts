/**
 * The worker side of the threaded backend. Each slice module gets `threads` worker threads,
 * each its own one-worker pool (issue 6's SharedArrayBuffer + Atomics pool), all fed from one
 * backlog: a worker holds at most `DEPTH` slices and is handed the next one as soon as it
 * returns one. A worker slowed down (its core busy with other work) so takes fewer slices and
 * nothing waits behind it, where dealing the slices out at submission would leave the beat
 * waiting for the slowest worker. The engine applies results in its own submission order, so
 * which worker ran a slice never shows.
 */
import { reactorClosed } from '../../errors.js';
import { WorkerPool, type TaskResult } from '../../async/worker-pool.js';
import { workerModuleSource } from './slice-runner.js';

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
}

/** One worker thread: a one-worker pool and its jobs in submission order (its results come back in that order). */
interface Lane {
  pool: WorkerPool;
  jobs: Job[];
}

interface ModuleWorkers {
  lanes: Lane[];
  /** Jobs not yet handed to a worker: `backlog[head..]`. */
  backlog: Array<Job | undefined>;
  head: number;
  /** Bytes of the inputs waiting in the backlog. */
  bytes: number;
  /** A result can come in while `pump` submits (a fast worker): the running pump goes on, no second one starts. */
  pumping: boolean;
  /** Closed: nothing more goes to the workers. */
  closed: boolean;
}

/** Slices a worker holds at once: one running, one ready to start the moment it finishes. */
const DEPTH = 2;
/** Bounds of one module's backlog (memory stays bounded); past them slices run on the runtime thread. */
const BACKLOG_JOBS = 4096;
const BACKLOG_BYTES = 32 << 20;

export class SlicePools {
  private readonly modules = new Map<string, ModuleWorkers>();
  private waiters: Array<() => void> = [];

  constructor(private readonly options: ThreadedOptions) {}

  /** Start the workers for the slice module at `href` (once). */
  async open(href: string): Promise<void> {
    let m = this.modules.get(href);
    if (m === undefined) {
      const module = new URL(`data:text/javascript,${encodeURIComponent(workerModuleSource(href))}`);
      const mw: ModuleWorkers = { lanes: [], backlog: [], head: 0, bytes: 0, pumping: false, closed: false };
      for (let i = 0; i < this.options.threads; i++) {
        const lane: Lane = { pool: new WorkerPool({ module, functions: ['runSlice'], threads: 1, slots: DEPTH, slotBytes: this.options.sliceBytes }), jobs: [] };
        mw.lanes.push(lane);
        lane.pool.onReady(() => this.collect(mw, lane));
      }
      this.modules.set(href, (m = mw));
    }
    await Promise.all(m.lanes.map((l) => l.pool.ready()));
  }

  /** Queue a slice for the module's workers; undefined when it cannot go to one (too big, backlog full): run it here. */
  submit(href: string, input: Uint8Array): SliceHandle | undefined {
    const m = this.modules.get(href);
    if (m === undefined || input.length > this.options.sliceBytes) return undefined;
    if (m.backlog.length - m.head >= BACKLOG_JOBS || m.bytes + input.length > BACKLOG_BYTES) return undefined;
    const job: Job = { result: undefined, input };
    m.backlog.push(job);
    m.bytes += input.length;
    this.pump(m);
    return job;
  }

  /** Hand backlog jobs to the workers with room, the least loaded first. */
  private pump(m: ModuleWorkers): void {
    if (m.pumping || m.closed) return;
    m.pumping = true;
    try {
      while (m.head < m.backlog.length) {
        let best: Lane | undefined;
        for (const l of m.lanes) if (l.jobs.length < DEPTH && (best === undefined || l.jobs.length < best.jobs.length)) best = l;
        if (best === undefined) return;
        const job = m.backlog[m.head]!;
        m.backlog[m.head++] = undefined;
        const input = job.input!;
        job.input = undefined;
        m.bytes -= input.length;
        best.jobs.push(job); // before submit: its result may be collected inside it
        best.pool.submit('runSlice', input);
      }
      m.backlog.length = 0;
      m.head = 0;
    } finally {
      m.pumping = false;
    }
  }

  /** Take the results `pool` has in, refill the workers, wake whoever waits. */
  private collect(m: ModuleWorkers, lane: Lane): void {
    let n = 0;
    for (const r of lane.pool.drain()) {
      lane.jobs.shift()!.result = r; // results come in submission order
      n++;
    }
    if (n === 0) return;
    this.pump(m);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Whether the slice's result is in. */
  has(h: SliceHandle): boolean {
    if (h.result === undefined) for (const m of this.modules.values()) for (const l of m.lanes) this.collect(m, l);
    return h.result !== undefined;
  }

  /** Resolves at the next result in (at once when nothing is out). */
  progress(): Promise<void> {
    let out = false;
    for (const m of this.modules.values()) if (m.head < m.backlog.length || m.lanes.some((l) => l.jobs.length > 0)) out = true;
    return out ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  /** Stop the workers: slices still in the backlog fail at once, those on a worker when it stops. */
  async close(): Promise<void> {
    const mods = [...this.modules.values()];
    this.modules.clear();
    for (const m of mods) {
      m.closed = true;
      for (let i = m.head; i < m.backlog.length; i++) m.backlog[i]!.result = { ticket: 0, ok: false, error: reactorClosed('slice worker pool') };
      m.backlog.length = 0;
      m.head = 0;
      m.bytes = 0;
    }
    const lanes = mods.flatMap((m) => m.lanes);
    await Promise.all(lanes.map((l) => l.pool.close()));
    for (const w of this.waiters.splice(0)) w();
  }
}
