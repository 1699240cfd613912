/**
 * The executor: native jobs (BLAKE3 and CRC32C of large buffers, deflate/inflate, AEAD
 * seal/open, no-ops) on a thread pool (default size: the core count), or on the TypeScript
 * twin where the addon is not loaded.
 * Each job gets a ticket; it may be cancelled while queued or between 64 KiB chunks, and may
 * carry a CPU-time and an input-byte budget. Results wait in a gate and `drain()` releases
 * them in submission order, whatever order the threads finished them in.
 */
import { availableParallelism } from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange, executorClosed, queueFull } from '../errors.js';
import { binding } from '../native/index.js';
import type { ExecutorCore } from '../native/core.js';
import { Gated } from './gated.js';
import { JsExecutor } from '../native/js-executor.js';
import { codecJobFields } from './codec-options.js';
import { JOB_KINDS, JOB_STATUS, JOB_WIDTH, type DeflateFormat, type JobCipher, type JobKind, type JobStatus } from '../native/ops.js';

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
  /** deflate: -1 (zlib's default, 6) .. 9. */
  level?: number;
  /** deflate/inflate framing: 'zlib' (default), 'raw' or 'gzip'. */
  format?: DeflateFormat;
  /** inflate: more output than this ends the job with status byte-budget (default 64 MiB, at most 4 GiB - 1). */
  maxOutputBytes?: number;
  /** aead-seal/aead-open: the 32-byte key. */
  key?: Uint8Array;
  /** aead-seal/aead-open: 12 bytes (chacha20-poly1305) or 24 (xchacha20-poly1305). */
  nonce?: Uint8Array;
  /** aead-seal/aead-open: associated data (authenticated, not encrypted). */
  ad?: Uint8Array;
  /** aead-seal/aead-open: default 'xchacha20-poly1305'. */
  cipher?: JobCipher;
}

export interface JobResult {
  ticket: number;
  kind: JobKind;
  status: JobStatus;
  ok: boolean;
  /**
   * crc32c: the CRC; blake3/noop: bytes processed; deflate/inflate/aead: output bytes. On
   * failure: bytes done before stopping, or for a failed inflate the zlib error code.
   */
  value: number;
  /** blake3: the 32-byte hash. */
  digest?: Uint8Array;
  /** deflate/inflate: the (de)compressed bytes; aead-seal: ciphertext || tag; aead-open: the plaintext. */
  output?: Uint8Array;
  tag?: unknown;
}

interface Pending {
  kind: JobKind;
  input: Uint8Array | undefined;
  out: Uint8Array | undefined;
  aux: Uint8Array | undefined;
  tag: unknown;
  /** Set by run(): the result goes to this promise instead of the ordered drain. */
  resolve?: (r: JobResult) => void;
}

const BATCH = 512;

export class Executor extends Gated<JobResult> {
  readonly native: boolean;
  readonly depth: number;
  readonly #core: ExecutorCore;
  #desc = new Float64Array(JOB_WIDTH * BATCH);
  #inputs: (Uint8Array | undefined)[] = [];
  #outs: (Uint8Array | undefined)[] = [];
  #aux: (Uint8Array | undefined)[] = [];
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
    if (this.#closed) throw executorClosed();
    const code = JOB_KINDS[kind];
    if (code === undefined) throw invalidArgValue('kind', `must be one of ${Object.keys(JOB_KINDS).join(', ')}`);
    if (input !== undefined && !(input instanceof Uint8Array)) throw invalidArgType('input', 'a Uint8Array', input);
    const cpu = options.cpuBudgetMs ?? 0;
    const bytes = options.byteBudget ?? 0;
    if (typeof cpu !== 'number' || !(cpu >= 0) || !Number.isFinite(cpu)) throw outOfRange('cpuBudgetMs', 'a finite number >= 0', cpu);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw outOfRange('byteBudget', 'an integer >= 0', bytes);
    const codec = codecJobFields(kind, input, options);
    if (this.outstanding >= this.depth) throw queueFull('executor', this.depth);
    const ticket = ++this.#seq;
    this.outstanding++;
    const out = kind === 'blake3' ? new Uint8Array(32) : codec.out;
    this.#pending.set(ticket, { kind, input, out, aux: codec.aux, tag: options.tag });
    const d = this.#count * JOB_WIDTH;
    this.#desc[d] = code;
    this.#desc[d + 1] = ticket;
    this.#desc[d + 2] = Math.round(cpu * 1e6);
    this.#desc[d + 3] = bytes;
    this.#desc[d + 4] = codec.param;
    this.#desc[d + 5] = codec.maxOut;
    this.#inputs.push(input);
    this.#outs.push(out);
    this.#aux.push(codec.aux);
    if (++this.#count === BATCH) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return ticket;
  }

  /**
   * Runs one job and resolves with its result (whatever its status), outside the ordered
   * `drain()`: for callers that await one job (frame containers) rather than a stream of them.
   */
  run(kind: JobKind, input?: Uint8Array, options: JobOptions = {}): Promise<JobResult> {
    const ticket = this.submit(kind, input, options);
    return new Promise((resolve) => {
      this.#pending.get(ticket)!.resolve = resolve;
    });
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
    const aux = this.#aux;
    this.#count = 0;
    this.#inputs = [];
    this.#outs = [];
    this.#aux = [];
    this.#core.submit(this.#desc, n, inputs, outs, aux);
  }

  #pull(): void {
    let got = false;
    for (let batch = this.#core.drain(); batch !== null; batch = this.#core.drain()) {
      const [t, outputs] = batch;
      for (let i = 0; i < t.length; i += 3) {
        const ticket = t[i];
        const p = this.#pending.get(ticket);
        if (p === undefined) continue;
        this.#pending.delete(ticket);
        const status = JOB_STATUS[t[i + 2]] ?? 'invalid';
        const r: JobResult = { ticket, kind: p.kind, status, ok: status === 'ok', value: t[i + 1] };
        if (status === 'ok') {
          if (p.kind === 'blake3') r.digest = p.out;
          else if (outputs?.[i / 3] !== undefined) r.output = outputs[i / 3];
          else if (p.out !== undefined) r.output = p.out;
        }
        if (p.tag !== undefined) r.tag = p.tag;
        if (p.resolve !== undefined) {
          this.gate.skip(ticket);
          this.outstanding--;
          p.resolve(r);
        } else {
          this.gate.put(ticket, r);
        }
        got = true;
      }
    }
    if (got) this.signal();
  }
}

export function createExecutor(options?: ExecutorOptions): Executor {
  return new Executor(options);
}
