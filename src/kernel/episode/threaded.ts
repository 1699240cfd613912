/**
 * The worker side of the threaded backend. Each slice module gets a slice ring (`ring.ts`):
 * `threads` worker threads that claim published slices from shared memory by themselves, so no
 * worker waits on the runtime thread between slices and a worker slowed down by a busy core
 * takes fewer. Slices beyond the ring's slots wait in a bounded backlog and are published as
 * slots free up. The engine applies outcomes in its own submission order, so which worker ran a
 * slice never shows.
 */
import { reactorClosed } from '../../errors.js';
import type { TaskResult } from '../../async/worker-pool.js';
import { SliceRing, type RingResult } from './ring.js';
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

interface ModuleWorkers {
  ring: SliceRing;
  /** Jobs published to the ring, in publication order (their outcomes come back in it). */
  published: Job[];
  /** Jobs waiting for a free slot: `backlog[head..]`. */
  backlog: Array<Job | undefined>;
  head: number;
  /** Bytes of the inputs waiting in the backlog. */
  bytes: number;
}

/** Slots of a ring per worker thread (slices published at once), within `RING_BYTES` of shared memory (at least one per thread). */
const SLOTS_PER_THREAD = 16;
const RING_BYTES = 64 << 20;
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
      const module = `data:text/javascript,${encodeURIComponent(workerModuleSource(href))}`;
      const threads = this.options.threads;
      const mw = { published: [], backlog: [], head: 0, bytes: 0 } as unknown as ModuleWorkers;
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

  /** Publish backlog jobs while the ring has free slots. */
  private pump(m: ModuleWorkers): void {
    while (m.head < m.backlog.length && m.ring.room) {
      const job = m.backlog[m.head]!;
      m.backlog[m.head++] = undefined;
      const input = job.input!;
      job.input = undefined;
      m.bytes -= input.length;
      m.published.push(job);
      m.ring.publish(input);
    }
    if (m.head === m.backlog.length) {
      m.backlog.length = 0;
      m.head = 0;
    }
  }

  /** Outcomes in publication order: settle their jobs, refill the ring, wake whoever waits. */
  private arrived(m: ModuleWorkers, results: RingResult[]): void {
    let ticket = 0;
    for (const r of results) {
      const job = m.published.shift()!;
      job.result = r.ok ? { ticket: ++ticket, ok: true, value: r.value } : { ticket: ++ticket, ok: false, error: new Error(r.error) };
    }
    this.pump(m);
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
      for (let i = m.head; i < m.backlog.length; i++) m.backlog[i]!.result = { ticket: 0, ok: false, error: reactorClosed('slice worker pool') };
      m.backlog.length = 0;
      m.head = 0;
      m.bytes = 0;
    }
    await Promise.all(mods.map((m) => m.ring.close()));
    for (const w of this.waiters.splice(0)) w();
  }
}
