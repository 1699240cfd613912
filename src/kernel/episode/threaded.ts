/**
 * The worker side of the threaded backend: one worker pool (issue 6's SharedArrayBuffer pool)
 * per slice module, whose workers load the slice runner around that module. Results are
 * taken in submission order and kept until the engine applies them at Compute.
 */
import { WorkerPool, type TaskResult } from '../../async/worker-pool.js';
import { workerModuleSource } from './slice-runner.js';

export interface ThreadedOptions {
  /** Workers per slice module (default 2). */
  threads: number;
  /** Largest serialized slice input or outcome a worker takes (default 64 KiB); larger inputs run on the runtime thread. */
  sliceBytes: number;
}

export class SlicePools {
  private readonly pools = new Map<string, WorkerPool>();
  /** Results drained from the pools, by pool and ticket, until applied. */
  private readonly done = new Map<WorkerPool, Map<number, TaskResult>>();

  constructor(private readonly options: ThreadedOptions) {}

  /** Start the workers for the slice module at `href` (once). */
  async open(href: string): Promise<void> {
    let pool = this.pools.get(href);
    if (pool === undefined) {
      pool = new WorkerPool({
        module: new URL(`data:text/javascript,${encodeURIComponent(workerModuleSource(href))}`),
        functions: ['runSlice'],
        threads: this.options.threads,
        slots: 64,
        slotBytes: this.options.sliceBytes,
      });
      this.pools.set(href, pool);
      this.done.set(pool, new Map());
    }
    await pool.ready();
  }

  /** Submit a slice; undefined when it cannot go to a worker (too big, ring full): run it here. */
  submit(href: string, input: Uint8Array): { pool: WorkerPool; ticket: number } | undefined {
    const pool = this.pools.get(href);
    if (pool === undefined || input.length > pool.slotBytes || pool.pending >= pool.slots * pool.threads) return undefined;
    return { pool, ticket: pool.submit('runSlice', input) };
  }

  private collect(pool: WorkerPool): void {
    const m = this.done.get(pool)!;
    for (const r of pool.drain()) m.set(r.ticket, r);
  }

  /** The result of a submitted slice, once it is in (taken: asked once). */
  take(pool: WorkerPool, ticket: number): TaskResult | undefined {
    const m = this.done.get(pool)!;
    if (!m.has(ticket)) this.collect(pool);
    const r = m.get(ticket);
    if (r !== undefined) m.delete(ticket);
    return r;
  }

  /** Whether the result of a submitted slice is in. */
  has(pool: WorkerPool, ticket: number): boolean {
    const m = this.done.get(pool)!;
    if (!m.has(ticket)) this.collect(pool);
    return m.has(ticket);
  }

  whenReady(pool: WorkerPool): Promise<void> {
    return pool.whenReady();
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
    this.done.clear();
  }
}
