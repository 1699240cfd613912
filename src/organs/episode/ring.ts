/**
 * A slice ring: worker threads that take module slices from one shared ring by themselves.
 *
 * The runtime thread publishes a slice into the next free slot (input bytes, then the ring's
 * tail) and each idle worker claims the next published slot with a compare-and-swap, runs it and
 * writes the outcome into the same slot. No worker waits for the runtime thread to hand it work
 * (the round trip a per-worker queue costs for every slice), and a worker slowed down by a busy
 * core simply claims fewer slots. The runtime thread takes outcomes back in publication order.
 * It sleeps until a batch of outcomes is done (`WAKE_BATCH_PER_THREAD` per worker), everything it
 * published is done (what a beat waits for), or a worker runs out of slices to claim while
 * outcomes wait to be taken back (so no worker idles for want of the guesses the runtime thread
 * makes from them): on two cores every wake-up of the runtime thread preempts a worker
 * (docs/episodes.md, Performance, has the measurements). A publication wakes a worker only when one
 * sleeps (no system call per slice while they run).
 *
 * Shared memory: control words (tail, claim, done, stop, sleepers, the slot each worker runs), then one
 * header per slot (state, input length, outcome length, status), then per slot `bytes` of input
 * and `bytes` of outcome.
 */
import { Worker } from 'node:worker_threads';
import { compiledModuleUrl } from '../../native/module-url.js';
import { C_CLAIM, C_DONE, C_RELEASED, C_RUNS, C_SLEEP, C_STOP, C_TAIL, C_WAKE_AT, CTRL_BYTES, H_IN, H_OUT, H_STATE, H_STATUS, HDR, MAX_THREADS, type RingWorkerData } from './ring-layout.js';

const WORKER = compiledModuleUrl('./ring-worker.js', import.meta.url);

/** Event loop turns the runtime thread polls before it sleeps (a turn is cheaper than a wake-up). */
const POLL_TURNS = 8;
/**
 * Outcomes per worker thread that wake the runtime thread at once: it sleeps until that many more
 * are done, all it published is done, or a worker runs out of slices to claim (so the workers
 * never wait on a late wake-up for work), instead of waking for every outcome.
 */
const WAKE_BATCH_PER_THREAD = 4;

/** One outcome, in publication order: the runner's bytes, or why there are none. */
export type RingResult = { ok: true; value: Uint8Array } | { ok: false; error: string };

export interface RingOptions {
  /** ES module (URL) whose `runSlice(input: Uint8Array): Uint8Array` runs a slice. */
  module: string;
  threads: number;
  /** Slots in the ring (slices published at once). */
  slots: number;
  /** Largest input and outcome. */
  bytes: number;
  /** Called on the runtime thread with outcomes as they come back, in publication order. */
  onResults(results: RingResult[]): void;
  /**
   * Longest sleep of the runtime thread before it looks at the ring again without being woken
   * (default 50 ms: a safety net only, every outcome it waits for wakes it).
   */
  sleepMs?: number;
}

// Atomics.waitAsync (V8 since Node 16) is missing from the ES2022 lib typings.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t?: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

export class SliceRing {
  private readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly hdr: Int32Array;
  private readonly u8: Uint8Array;
  private readonly data: number;
  private readonly workers: Worker[] = [];
  private readonly ready: Promise<void>[] = [];
  /** Workers that loaded the module: only those are replaced when they die (a module that cannot load is not retried forever). */
  private readonly loaded: boolean[] = [];
  /** Slots published, and taken back, by this thread. */
  private tail = 0;
  private released = 0;
  /** Slices published since the last `wake`. */
  private unwoken = 0;
  private listening = false;
  private closed = false;

  constructor(private readonly o: RingOptions) {
    const slotBytes = 2 * o.bytes;
    this.sab = new SharedArrayBuffer(CTRL_BYTES + o.slots * HDR * 4 + o.slots * slotBytes);
    this.ctl = new Int32Array(this.sab, 0, C_RUNS + MAX_THREADS);
    this.hdr = new Int32Array(this.sab, CTRL_BYTES, o.slots * HDR);
    this.u8 = new Uint8Array(this.sab);
    this.data = CTRL_BYTES + o.slots * HDR * 4;
    for (let i = 0; i < o.threads; i++) this.ctl[C_RUNS + i] = -1;
    for (let i = 0; i < o.threads; i++) this.spawn(i);
  }

  /** Resolves once every worker loaded the module (rejects if one could not). */
  async started(): Promise<void> {
    await Promise.all(this.ready);
  }

  /** Slices published and not yet taken back. */
  get outstanding(): number {
    return this.tail - this.released;
  }

  /** Whether a slot is free for `publish`. */
  get room(): boolean {
    return !this.closed && this.tail - this.released < this.o.slots;
  }

  /**
   * Publish a slice (the caller checked `room` and the input's size). Sleeping workers are woken
   * by `wake`, once for a batch of publications: a notify per slice costs a system call each
   * while a woken worker has not yet counted itself awake.
   */
  publish(input: Uint8Array): void {
    const s = this.tail % this.o.slots;
    const h = s * HDR;
    this.u8.set(input, this.data + s * 2 * this.o.bytes);
    this.hdr[h + H_IN] = input.length;
    Atomics.store(this.hdr, h + H_STATE, 0);
    Atomics.store(this.ctl, C_TAIL, ++this.tail);
    this.unwoken++;
  }

  /** After a batch of `publish`: wake as many sleeping workers as slices were published, and wait for outcomes. */
  wake(): void {
    if (this.unwoken === 0) return;
    // a worker counts itself asleep before it checks the tail a last time, so one that missed these tails is counted here
    const sleeping = Atomics.load(this.ctl, C_SLEEP);
    if (sleeping > 0) Atomics.notify(this.ctl, C_TAIL, Math.min(sleeping, this.unwoken));
    this.unwoken = 0;
    this.listen();
  }

  /** Take back the outcomes that are in, in publication order, and hand them to `onResults`. */
  collect(): void {
    const out: RingResult[] = [];
    while (this.released < this.tail) {
      const s = this.released % this.o.slots;
      const h = s * HDR;
      if (Atomics.load(this.hdr, h + H_STATE) !== 1) break;
      const at = this.data + s * 2 * this.o.bytes + this.o.bytes;
      const bytes = this.u8.slice(at, at + this.hdr[h + H_OUT]);
      const status = this.hdr[h + H_STATUS];
      out.push(
        status === 0
          ? { ok: true, value: bytes }
          : { ok: false, error: status === 2 ? `the slice's outcome of ${new TextDecoder().decode(bytes)} bytes exceeds sliceBytes` : new TextDecoder().decode(bytes) },
      );
      this.released++;
    }
    Atomics.store(this.ctl, C_RELEASED, this.released);
    if (out.length > 0) this.o.onResults(out);
  }

  // While slices are out, the runtime thread polls a few turns, then sleeps on the done counter;
  // the workers keep the process alive only then.
  private listen(): void {
    if (this.listening || this.outstanding === 0) return;
    this.listening = true;
    for (const w of this.workers) w.ref();
    void this.wait().then(() => {
      this.listening = false;
      this.collect();
      if (this.outstanding > 0) this.listen();
      else if (!this.closed) for (const w of this.workers) w.unref(); // close() keeps them ref'ed to the end
    });
  }

  private async wait(): Promise<void> {
    const seen = Atomics.load(this.ctl, C_DONE);
    // sleep until a batch is done past what was taken back (at least one more outcome: the one
    // taken next may be the one not done), or everything published (a beat needs all its slices)
    const at = Math.min(Math.max(seen + 1, this.released + this.o.threads * WAKE_BATCH_PER_THREAD), this.tail);
    if (seen >= at) return;
    for (let i = 0; i < POLL_TURNS; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (Atomics.load(this.ctl, C_DONE) >= at) return;
    }
    Atomics.store(this.ctl, C_WAKE_AT, at);
    const now = Atomics.load(this.ctl, C_DONE);
    if (now >= at) return;
    const r = waitAsync(this.ctl, C_DONE, now, this.o.sleepMs ?? 50);
    if (r.async) await r.value;
  }

  private spawn(index: number): void {
    const workerData: RingWorkerData = { sab: this.sab, slots: this.o.slots, bytes: this.o.bytes, index, module: this.o.module };
    const w = new Worker(WORKER, { workerData });
    this.workers[index] = w;
    this.ready[index] = new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    this.loaded[index] = false;
    this.ready[index].then(
      () => {
        this.loaded[index] = true;
        if (!this.listening && !this.closed) w.unref();
      },
      () => {}, // surfaced through started()
    );
    w.on('exit', () => this.died(index, w));
  }

  /** A worker ended: the slot it was running fails (its outcome will never come), and it is replaced. */
  private died(index: number, w: Worker): void {
    if (this.workers[index] !== w) return;
    const c = Atomics.load(this.ctl, C_RUNS + index);
    Atomics.store(this.ctl, C_RUNS + index, -1);
    if (c >= 0 && c < Atomics.load(this.ctl, C_CLAIM)) {
      const s = c % this.o.slots;
      const h = s * HDR;
      if (Atomics.load(this.hdr, h + H_STATE) !== 1) {
        const msg = new TextEncoder().encode('the worker thread running the slice died').subarray(0, this.o.bytes);
        this.u8.set(msg, this.data + s * 2 * this.o.bytes + this.o.bytes);
        this.hdr[h + H_OUT] = msg.length;
        this.hdr[h + H_STATUS] = 3;
        Atomics.store(this.hdr, h + H_STATE, 1);
        Atomics.add(this.ctl, C_DONE, 1);
      }
    }
    if (!this.closed && this.loaded[index]) this.spawn(index);
    this.collect();
  }

  /** Stop taking slices; the workers finish what is published, then stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // idle workers are unref'ed, and a pending Atomics.waitAsync holds no handle: without this,
    // a process whose last work is `await close()` runs out of events and exits mid-close (13);
    // nothing unrefs them once closed (a wait still pending from listen() ends after this)
    for (const w of this.workers) w.ref();
    while (this.outstanding > 0) {
      await this.wait();
      this.collect();
    }
    Atomics.store(this.ctl, C_STOP, 1);
    Atomics.notify(this.ctl, C_TAIL);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
