/**
 * A pool of worker threads for JavaScript work that must run in parallel. Tasks and results
 * travel through one SharedArrayBuffer per worker (a request ring and a response ring of
 * fixed-size slots) signalled with Atomics, never through per-task postMessage. A worker
 * polls its ring for a bounded number of loads (default 0) before it sleeps in Atomics.wait;
 * the main thread learns of results through one Atomics.waitAsync per worker with tasks. Results are released in submission order by `drain()` (or, per task,
 * through the promise of `run()`); a worker that dies fails its tasks with ERR_WORKER_CRASHED
 * and is replaced.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { invalidArgType, invalidArgValue, jobFailed, outOfRange, queueFull, poolClosed, workerCrashed } from '../errors.js';
import { compiledModuleUrl } from '../native/module-url.js';
import { Gated } from './gated.js';
import { CTRL_BYTES, REQ_HEAD, RES_HEAD, RES_TAIL, SLOT_HEADER, ST_OK, ST_TOO_BIG, STOP, type PoolWorkerData } from './worker-pool-layout.js';

const WORKER = compiledModuleUrl('./worker-pool-worker.js', import.meta.url);

export interface WorkerPoolOptions {
  /** An ES module (path or URL) whose named exports are the task functions. */
  module: string | URL;
  /** The exports tasks may call, by name. */
  functions: string[];
  /** Workers (default: the core count). */
  threads?: number;
  /** Slots per worker ring (default 256). */
  slots?: number;
  /** Bytes per argument / result slot (default 4096). */
  slotBytes?: number;
  /**
   * Loads a worker polls its ring for before it sleeps in Atomics.wait (default 0). Polling
   * only pays where every worker and the main thread have a core of their own; on a shared
   * machine the polling worker takes the CPU the main thread needs to answer it.
   */
  spin?: number;
}

export interface TaskResult {
  ticket: number;
  ok: boolean;
  /** The bytes the function returned (a copy), when ok. */
  value?: Uint8Array;
  error?: Error;
  tag?: unknown;
}

// Atomics.waitAsync (V8 since Node 16) is missing from the ES2022 lib typings.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

interface Slot {
  worker: Worker;
  sab: SharedArrayBuffer;
  ctl: Int32Array;
  bytes: Uint8Array;
  view: DataView;
  inFlight: Map<number, number>; // ring position -> ticket, for crash accounting
  written: number; // REQ_HEAD as the main thread knows it
  taken: number; // RES_TAIL as the main thread knows it
  waiting: boolean; // a waitAsync on RES_HEAD is armed
  refed: boolean; // the worker keeps the process alive (it has tasks, or had them this turn)
  unrefQueued: boolean;
  dead: boolean;
  ready: Promise<void>;
  idle: (() => void)[]; // close() waiting for the in-flight tasks
}

interface Pending {
  tag: unknown;
  resolve?: (v: Uint8Array) => void;
  reject?: (e: Error) => void;
}

export class WorkerPool extends Gated<TaskResult> {
  readonly threads: number;
  readonly slots: number;
  readonly slotBytes: number;
  readonly #module: string;
  readonly #functions: string[];
  readonly #spin: number;
  #workers: Slot[] = [];
  #seq = 0;
  #pending = new Map<number, Pending>();
  #closed = false;
  /** Workers replaced after a crash. */
  restarts = 0;

  constructor(options: WorkerPoolOptions) {
    super('prefix');
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const mod = options.module instanceof URL ? options.module.href : typeof options.module === 'string' ? pathToFileURL(options.module).href : undefined;
    if (mod === undefined) throw invalidArgType('options.module', 'a path or URL', options.module);
    if (!Array.isArray(options.functions) || options.functions.length === 0 || options.functions.some((f) => typeof f !== 'string')) {
      throw invalidArgType('options.functions', 'a non-empty array of export names', options.functions);
    }
    this.threads = options.threads ?? availableParallelism();
    this.slots = options.slots ?? 256;
    this.slotBytes = options.slotBytes ?? 4096;
    if (!Number.isInteger(this.threads) || this.threads < 1 || this.threads > 256) throw outOfRange('threads', 'an integer in 1 .. 256', this.threads);
    if (!Number.isInteger(this.slots) || this.slots < 1 || this.slots > 65536) throw outOfRange('slots', 'an integer in 1 .. 65536', this.slots);
    if (!Number.isInteger(this.slotBytes) || this.slotBytes < 16 || this.slotBytes > 1 << 24) throw outOfRange('slotBytes', 'an integer in 16 .. 2^24', this.slotBytes);
    this.#module = mod;
    this.#functions = [...options.functions];
    this.#spin = options.spin ?? 0;
    for (let i = 0; i < this.threads; i++) this.#workers.push(this.#spawn());
  }

  /** Resolves once every worker loaded the module (rejects if one could not). */
  async ready(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.ready));
  }

  /** Tasks submitted and not yet released. */
  get pending(): number {
    return this.#pending.size + this.gate.size;
  }

  /** Queues `fn(args)` on the least busy worker; returns its ticket. Results come out of `drain()`. */
  submit(fn: string, args: Uint8Array = new Uint8Array(0), tag?: unknown): number {
    return this.#submit(fn, args, { tag });
  }

  /** Runs `fn(args)` and resolves with its result (outside the ordered drain). */
  run(fn: string, args: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#submit(fn, args, { tag: undefined, resolve, reject });
    });
  }

  /** Tasks go to the workers as they are submitted: nothing to flush. */
  protected flush(): void {}

  /** Stops the workers after the tasks already queued; tasks left unfinished fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Idle workers are unref'ed, and a worker leaving on STOP can close its handle before
    // terminate() settles, so ref() alone may not hold the event loop: with nothing else alive
    // the process would end with close() unsettled (exit code 13). A timer holds it until every
    // worker has exited.
    const hold = setInterval(() => {}, 1 << 30);
    try {
      await Promise.all(
        this.#workers.map(async (w) => {
          if (!w.dead && w.inFlight.size > 0) await new Promise<void>((resolve) => w.idle.push(resolve));
          Atomics.store(w.ctl, STOP, 1);
          Atomics.notify(w.ctl, REQ_HEAD);
          await w.worker.terminate();
        }),
      );
    } finally {
      clearInterval(hold);
    }
  }

  #submit(fn: string, args: Uint8Array, p: Pending): number {
    if (this.#closed) throw poolClosed('worker pool');
    const index = this.#functions.indexOf(fn);
    if (index < 0) throw invalidArgValue('fn', `must be one of ${this.#functions.join(', ')}`);
    if (!(args instanceof Uint8Array)) throw invalidArgType('args', 'a Uint8Array', args);
    if (args.length > this.slotBytes) throw outOfRange('args.length', `<= ${this.slotBytes} (slotBytes)`, args.length);
    let w = this.#workers[0];
    for (const x of this.#workers) if (x.inFlight.size < w.inFlight.size) w = x;
    if (w.inFlight.size >= this.slots) throw queueFull('worker pool', this.slots * this.threads);
    const ticket = ++this.#seq;
    const pos = w.written;
    const at = CTRL_BYTES + (pos % this.slots) * (SLOT_HEADER + this.slotBytes);
    w.view.setInt32(at, ticket, true);
    w.view.setInt32(at + 4, index, true);
    w.view.setInt32(at + 8, args.length, true);
    w.bytes.set(args, at + SLOT_HEADER);
    w.written = pos + 1;
    w.inFlight.set(pos, ticket);
    this.#pending.set(ticket, p);
    Atomics.store(w.ctl, REQ_HEAD, w.written);
    Atomics.notify(w.ctl, REQ_HEAD);
    this.#listen(w);
    return ticket;
  }

  #spawn(): Slot {
    const slotSize = SLOT_HEADER + this.slotBytes;
    const sab = new SharedArrayBuffer(CTRL_BYTES + 2 * this.slots * slotSize);
    const workerData: PoolWorkerData = { sab, slots: this.slots, slotBytes: this.slotBytes, spin: this.#spin, module: this.#module, functions: this.#functions };
    const worker = new Worker(WORKER, { workerData });
    const slot: Slot = {
      worker,
      sab,
      ctl: new Int32Array(sab, 0, 16),
      bytes: new Uint8Array(sab),
      view: new DataView(sab),
      inFlight: new Map(),
      written: 0,
      taken: 0,
      waiting: false,
      refed: false,
      unrefQueued: false,
      dead: false,
      ready: undefined as unknown as Promise<void>,
      idle: [],
    };
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    // Idle workers do not keep the process alive (starting ones do, until they are ready).
    slot.ready.then(
      () => void (!slot.refed && worker.unref()),
      () => {}, // surfaced through ready() and the crash path
    );
    worker.on('error', (e) => this.#crashed(slot, e.message));
    worker.on('exit', (code) => {
      if (!this.#closed || slot.inFlight.size > 0) this.#crashed(slot, `exit code ${code}`);
    });
    return slot;
  }

  // A worker died: collect what it finished, fail the rest, and replace it.
  #crashed(w: Slot, reason: string): void {
    if (w.dead) return;
    this.#collect(w);
    w.dead = true;
    const lost = [...w.inFlight.values()];
    w.inFlight.clear();
    for (const ticket of lost) this.#settle(ticket, { ticket, ok: false, error: workerCrashed(reason) });
    for (const resolve of w.idle.splice(0)) resolve();
    if (!this.#closed) {
      const i = this.#workers.indexOf(w);
      if (i >= 0) this.#workers[i] = this.#spawn();
      this.restarts++;
    }
    this.#notify();
  }

  // Results wake the main thread through one Atomics.waitAsync on the result head per worker
  // with tasks (no timeout: a timed wait leaves a platform timer behind for every task). The
  // worker keeps the process alive while it has tasks; it is let go one event-loop turn after
  // its last one, so a caller awaiting task after task does not pay a ref/unref per task.
  #listen(w: Slot): void {
    if (w.waiting || w.dead) return;
    w.waiting = true;
    if (!w.refed) {
      w.refed = true;
      w.worker.ref();
    }
    const r = waitAsync(w.ctl, RES_HEAD, w.taken);
    if (r.async) (r.value as Promise<string>).then(() => this.#woken(w));
    else queueMicrotask(() => this.#woken(w));
  }

  #woken(w: Slot): void {
    w.waiting = false;
    if (w.dead) return;
    if (this.#collect(w) > 0) this.#notify();
    if (w.inFlight.size > 0) return this.#listen(w);
    for (const resolve of w.idle.splice(0)) resolve();
    if (w.unrefQueued) return;
    w.unrefQueued = true;
    setImmediate(() => {
      w.unrefQueued = false;
      if (w.inFlight.size === 0 && w.refed && !w.dead) {
        w.refed = false;
        w.worker.unref();
      }
    });
  }

  #collect(w: Slot): number {
    const head = Atomics.load(w.ctl, RES_HEAD);
    let n = 0;
    const slotSize = SLOT_HEADER + this.slotBytes;
    const base = CTRL_BYTES + this.slots * slotSize;
    for (; w.taken !== head; w.taken++, n++) {
      const at = base + (w.taken % this.slots) * slotSize;
      const ticket = w.view.getInt32(at, true);
      const status = w.view.getInt32(at + 4, true);
      const len = w.view.getInt32(at + 8, true);
      const data = w.bytes.slice(at + SLOT_HEADER, at + SLOT_HEADER + len);
      for (const [pos, t] of w.inFlight) {
        if (t === ticket) {
          w.inFlight.delete(pos);
          break;
        }
      }
      const r: TaskResult =
        status === ST_OK
          ? { ticket, ok: true, value: data }
          : { ticket, ok: false, error: jobFailed(ticket, status === ST_TOO_BIG ? `result of ${new TextDecoder().decode(data)} bytes exceeds slotBytes` : `threw: ${new TextDecoder().decode(data)}`) };
      this.#settle(ticket, r);
    }
    if (n > 0) {
      Atomics.store(w.ctl, RES_TAIL, w.taken);
      Atomics.notify(w.ctl, RES_TAIL);
    }
    return n;
  }

  #settle(ticket: number, r: TaskResult): void {
    const p = this.#pending.get(ticket);
    if (p === undefined) return;
    this.#pending.delete(ticket);
    if (p.resolve) {
      this.gate.skip(ticket);
      if (r.ok) p.resolve(r.value!);
      else p.reject!(r.error!);
      return;
    }
    if (p.tag !== undefined) r.tag = p.tag;
    this.gate.put(ticket, r);
  }

  #notify(): void {
    this.signal();
  }
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  return new WorkerPool(options);
}
