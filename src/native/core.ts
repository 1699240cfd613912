/**
 * The low-level seam every reactor backend implements: the native io_uring and epoll
 * reactors (native/napi/reactor.cc) and the portable one over Node's fs/net (./portable.ts).
 * Batches in (descriptor arrays), batches out (completion triples); no per-op objects.
 */

/** One drained batch: (seq, result, flags) triples, and received frames by triple index. */
export type CoreBatch = [Float64Array, (Uint8Array | undefined)[] | undefined];

export interface ReactorCore {
  /** 'uring' | 'epoll' | 'portable'. */
  name(): string;
  /**
   * Queues `count` ops described by `desc` (DESC_WIDTH doubles each) with their buffers/paths.
   * A native core may finish some at once on the calling thread (frame ops that need no wait)
   * and return their completions here rather than through `drain()`.
   */
  submit(desc: Float64Array, count: number, objects: unknown[]): CoreBatch | null | void;
  /** Everything finished since the last call, or null. */
  drain(): CoreBatch | null;
  /** Makes the next `count` steps of class `step` fail with -errno (0 clears). */
  fault(step: number, errno: number, count: number): void;
  /** Finishes work in flight, cancels peer waits; completions stay drainable. */
  close(): void | Promise<void>;
  /** Local port of a listening/connected socket handle (0 for unix sockets), or -errno. */
  port(handle: number): number;
  /** Native cores: wake counters so far (see `Reactor.stats()`). */
  stats?(): { handoffs: number; wakes: number; inline: number };
}

export interface ExecutorCore {
  /**
   * Queues `count` jobs described by `desc` (JOB_WIDTH doubles each) with their input, output
   * (blake3 digest, AEAD bytes) and aux (AEAD key || nonce || associated data) arrays.
   */
  submit(desc: Float64Array, count: number, inputs: (Uint8Array | undefined)[], outs: (Uint8Array | undefined)[], aux: (Uint8Array | undefined)[]): void;
  /** (ticket, result, status) triples finished since the last call, with deflate/inflate outputs by triple index; or null. */
  drain(): CoreBatch | null;
  cancel(ticket: number): boolean;
  close(): void | Promise<void>;
  threads(): number;
}

export interface BackendProbe {
  name: string;
  available: boolean;
  reason: string;
}
