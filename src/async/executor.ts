/**
 * The executor: native jobs (BLAKE3 and CRC32C of large buffers, no-ops) on a thread pool
 * (default size: the core count), or on the TypeScript twin where the addon is not loaded.
 * Each job gets a ticket; it may be cancelled while queued or between 64 KiB chunks, and may
 * carry a CPU-time and an input-byte budget. Results wait in a gate and `drain()` releases
 * them in submission order, whatever order the threads finished them in.
 */
import { availableParallelism } from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange, queueFull, reactorClosed } from '../errors.js';
import { binding } from '../native/index.js';
import type { ExecutorCore } from './core.js';
import { Gated } from './gated.js';
import { JsExecutor } from './js-executor.js';
import { JOB_KINDS, JOB_STATUS, JOB_WIDTH, type JobKind, type JobStatus } from './ops.js';

export interface ExecutorOptions {
  /** Pool size (default: the core count). */
  threads?: number;
  /** false: the TypeScript twin even when the addon is loaded (tests compare the two). */
  native?: boolean;
  /** Most jobs outstanding (submitted, not yet drained). Default 65536. */
  depth?: number;
}

export interface JobOptions {
  /** Stop after this much CPU time on the job's thread (checked between chunks). */
  cpuBudgetMs?: number;
  /** Refuse inputs larger than this many bytes. */
  byteBudget?: number;
  tag?: unknown;
}

export interface JobResult {
  ticket: number;
  kind: JobKind;
  status: JobStatus;
  ok: boolean;
  /** crc32c: the CRC; blake3/noop: bytes processed (on failure: bytes done before stopping). */
  value: number;
  /** blake3: the 32-byte hash. */
  digest?: Uint8Array;
  tag?: unknown;
}

interface Pending {
  kind: JobKind;
  input: Uint8Array | undefined;
  out: Uint8Array | undefined;
  tag: unknown;
}

const BATCH = 512;

export class Executor extends Gated<JobResult> {
  readonly native: boolean;
  readonly depth: number;
  readonly #core: ExecutorCore;
  #desc = new Float64Array(JOB_WIDTH * BATCH);
  #inputs: (Uint8Array | undefined)[] = [];
  #outs: (Uint8Array | undefined)[] = [];
  #count = 0;
  #flushQueued = false;
  #seq = 0;
  #pending = new Map<number, Pending>();
  #closed = false;

  constructor(options: ExecutorOptions = {}) {
    super('prefix');
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw outOfRange('threads', 'an integer in 1 .. 256', threads);
    const depth = options.depth ?? 65536;
    if (!Number.isInteger(depth) || depth < 1) throw outOfRange('depth', 'an integer >= 1', depth);
    this.depth = depth;
    const wake = () => this.#pull();
    const Core = options.native === false ? JsExecutor : binding.NativeExecutor;
    this.#core = new Core(threads, wake);
    this.native = !(this.#core instanceof JsExecutor);
  }

  get threads(): number {
    return this.#core.threads();
  }
  get pending(): number {
    return this.outstanding;
  }
  get ready(): number {
    return this.gate.size;
  }

  /** Queues a job; returns its ticket. `input` is read in place: do not change it until the result is drained. */
  submit(kind: JobKind, input?: Uint8Array, options: JobOptions = {}): number {
    if (this.#closed) throw reactorClosed('executor');
    const code = JOB_KINDS[kind];
    if (code === undefined) throw invalidArgValue('kind', `must be one of ${Object.keys(JOB_KINDS).join(', ')}`);
    if (input !== undefined && !(input instanceof Uint8Array)) throw invalidArgType('input', 'a Uint8Array', input);
    const cpu = options.cpuBudgetMs ?? 0;
    const bytes = options.byteBudget ?? 0;
    if (typeof cpu !== 'number' || !(cpu >= 0) || !Number.isFinite(cpu)) throw outOfRange('cpuBudgetMs', 'a finite number >= 0', cpu);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw outOfRange('byteBudget', 'an integer >= 0', bytes);
    if (this.outstanding >= this.depth) throw queueFull('executor', this.depth);
    const ticket = ++this.#seq;
    this.outstanding++;
    const out = kind === 'blake3' ? new Uint8Array(32) : undefined;
    this.#pending.set(ticket, { kind, input, out, tag: options.tag });
    const d = this.#count * JOB_WIDTH;
    this.#desc[d] = code;
    this.#desc[d + 1] = ticket;
    this.#desc[d + 2] = Math.round(cpu * 1e6);
    this.#desc[d + 3] = bytes;
    this.#inputs.push(input);
    this.#outs.push(out);
    if (++this.#count === BATCH) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return ticket;
  }

  /** Cancels a job that has not finished; false when it already did (or the ticket is unknown). */
  cancel(ticket: number): boolean {
    if (!this.#pending.has(ticket)) return false;
    this.flush();
    return this.#core.cancel(ticket);
  }




  /** Cancels queued jobs, waits for running ones (they stop at their next chunk); results stay drainable. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    await this.#core.close();
    this.#pull();
  }

  protected flush(): void {
    this.#flushQueued = false;
    if (this.#count === 0) return;
    const n = this.#count;
    const inputs = this.#inputs;
    const outs = this.#outs;
    this.#count = 0;
    this.#inputs = [];
    this.#outs = [];
    this.#core.submit(this.#desc, n, inputs, outs);
  }

  #pull(): void {
    let got = false;
    for (let t = this.#core.drain(); t !== null; t = this.#core.drain()) {
      for (let i = 0; i < t.length; i += 3) {
        const ticket = t[i];
        const p = this.#pending.get(ticket);
        if (p === undefined) continue;
        this.#pending.delete(ticket);
        const status = JOB_STATUS[t[i + 2]] ?? 'invalid';
        const r: JobResult = { ticket, kind: p.kind, status, ok: status === 'ok', value: t[i + 1] };
        if (p.out !== undefined && status === 'ok') r.digest = p.out;
        if (p.tag !== undefined) r.tag = p.tag;
        this.gate.put(ticket, r);
        got = true;
      }
    }
    if (got) this.signal();
  }
}

export function createExecutor(options?: ExecutorOptions): Executor {
  return new Executor(options);
}
