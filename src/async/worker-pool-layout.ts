/** The worker pool's shared memory layout, one definition for the main thread (worker-pool.ts) and the workers (worker-pool-worker.ts). */
// Control words (Int32 indices) at the start of each worker's buffer.
export const REQ_HEAD = 0; // tasks written by the main thread (count)
export const REQ_TAIL = 1; // tasks taken by the worker
export const RES_HEAD = 2; // results written by the worker
export const RES_TAIL = 3; // results taken by the main thread
export const STOP = 4;
export const CTRL_BYTES = 64;
export const SLOT_HEADER = 12; // ticket (f64 would be nicer; i32 wraps at 2^31 tasks), fn/status, length

// Result statuses.
export const ST_OK = 0;
export const ST_THROWN = 1;
export const ST_TOO_BIG = 2;

/** What each pool worker is started with. */
export interface PoolWorkerData {
  sab: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
  spin: number;
  /** The task module's URL. */
  module: string;
  functions: string[];
}
