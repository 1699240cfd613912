/**
 * The TypeScript twin of the native executor (native/executor/executor.cc): the same job
 * kinds, statuses, chunking, cancellation and budget rules, run on the JS thread in
 * setImmediate slices (codec jobs: ./codec-jobs.ts). Used when the addon is not loaded;
 * results are identical.
 */
import { blake3Hasher } from './fallback/blake3.js';
import { crc32c } from './fallback/crc32c.js';
import { runCodecJob } from './codec-jobs.js';
import type { CoreBatch, ExecutorCore } from './core.js';
import { JOB_AEAD_OPEN, JOB_BLAKE3, JOB_CHUNK, JOB_CRC32C, JOB_DEFLATE, JOB_NOOP, JOB_WIDTH, ST_BYTE_BUDGET, ST_CANCELLED, ST_CPU_BUDGET, ST_INVALID, ST_OK } from './ops.js';

interface JsJob {
  kind: number;
  seq: number;
  cpuBudgetNs: number;
  byteBudget: number;
  input: Uint8Array;
  out: Uint8Array | undefined;
  aux: Uint8Array | undefined;
  param: number;
  maxOut: number;
  cancelled: boolean;
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Runs one job to its (result, status, output?), as native run_job does. */
export function runJob(job: JsJob): [number, number, Uint8Array?] {
  if (job.cancelled) return [0, ST_CANCELLED];
  if (job.byteBudget && job.input.length > job.byteBudget) return [0, ST_BYTE_BUDGET];
  if (job.kind >= JOB_DEFLATE && job.kind <= JOB_AEAD_OPEN) {
    const start = job.cpuBudgetNs ? cpuNs() : 0;
    const outcome = runCodecJob(job.kind, job.param, job.input, job.out, job.aux, job.maxOut);
    if (job.cpuBudgetNs && outcome[1] === ST_OK && cpuNs() - start > job.cpuBudgetNs) return [job.input.length, ST_CPU_BUDGET];
    return outcome;
  }
  if (job.kind !== JOB_NOOP && job.kind !== JOB_BLAKE3 && job.kind !== JOB_CRC32C) return [0, ST_INVALID];
  if (job.kind === JOB_BLAKE3 && (job.out === undefined || job.out.length < 32)) return [0, ST_INVALID];
  const start = job.cpuBudgetNs ? cpuNs() : 0;
  const hasher = job.kind === JOB_BLAKE3 ? blake3Hasher(null, 0) : undefined;
  let crc = 0;
  for (let at = 0; at < job.input.length; at += JOB_CHUNK) {
    if (at > 0) {
      if (job.cancelled) return [at, ST_CANCELLED];
      if (job.cpuBudgetNs && cpuNs() - start > job.cpuBudgetNs) return [at, ST_CPU_BUDGET];
    }
    const chunk = job.input.subarray(at, Math.min(job.input.length, at + JOB_CHUNK));
    if (hasher) hasher.update(chunk);
    else if (job.kind === JOB_CRC32C) crc = crc32c(chunk, crc);
  }
  if (hasher) hasher.finalize(job.out!.subarray(0, 32), 0);
  return [job.kind === JOB_CRC32C ? crc : job.input.length, ST_OK];
}

const EMPTY = new Uint8Array(0);

export class JsExecutor implements ExecutorCore {
  #queue: JsJob[] = [];
  #jobs = new Map<number, JsJob>();
  #done: number[] = [];
  #outputs: (Uint8Array | undefined)[] | undefined;
  #scheduled = false;
  #closed = false;
  readonly #wake: () => void;

  constructor(_threads: number, wake: () => void) {
    this.#wake = wake;
  }

  submit(desc: Float64Array, count: number, inputs: (Uint8Array | undefined)[], outs: (Uint8Array | undefined)[], aux: (Uint8Array | undefined)[]): void {
    for (let i = 0; i < count; i++) {
      const d = i * JOB_WIDTH;
      const job: JsJob = {
        kind: desc[d],
        seq: desc[d + 1],
        cpuBudgetNs: desc[d + 2],
        byteBudget: desc[d + 3],
        input: inputs[i] ?? EMPTY,
        out: outs[i],
        aux: aux[i],
        param: desc[d + 4],
        maxOut: desc[d + 5],
        cancelled: false,
      };
      this.#queue.push(job);
      this.#jobs.set(job.seq, job);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#run());
  }

  // A slice of queued jobs per turn of the event loop, so the loop stays responsive.
  #run(): void {
    this.#scheduled = false;
    const before = this.#done.length;
    for (let n = 0; n < 1024 && this.#queue.length > 0; n++) {
      const job = this.#queue.shift()!;
      const [result, status, output] = runJob(job);
      this.#jobs.delete(job.seq);
      if (output !== undefined) (this.#outputs ??= [])[this.#done.length / 3] = output;
      this.#done.push(job.seq, result, status);
    }
    if (before === 0 && this.#done.length > 0) this.#wake();
    this.#schedule();
  }

  drain(): CoreBatch | null {
    if (this.#done.length === 0) return null;
    const batch: CoreBatch = [Float64Array.from(this.#done), this.#outputs];
    this.#done = [];
    this.#outputs = undefined;
    return batch;
  }

  cancel(ticket: number): boolean {
    const job = this.#jobs.get(ticket);
    if (job === undefined) return false;
    job.cancelled = true;
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#queue) job.cancelled = true;
    this.#run(); // queued jobs finish (cancelled) now, as native close does
  }

  threads(): number {
    return 1;
  }
}
