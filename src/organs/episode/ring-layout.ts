/** The slice ring's shared memory layout, one definition for the runtime thread (ring.ts) and the workers (ring-worker.ts). */
export const C_TAIL = 0; // slots published (monotonic)
export const C_CLAIM = 1; // slots claimed by workers (monotonic)
export const C_DONE = 2; // outcomes written (monotonic; the runtime thread waits on it)
export const C_STOP = 3;
export const C_SLEEP = 4; // workers asleep on the tail (a publication wakes one only then: no futex call while they run)
export const C_WAKE_AT = 5; // the done count at which a worker wakes the runtime thread (set before it sleeps)
export const C_RELEASED = 6; // outcomes the runtime thread took back (a worker that runs dry wakes it if more are done)
export const C_RUNS = 8; // C_RUNS + i: the slot worker i runs now, or -1
export const MAX_THREADS = 256;
export const CTRL_BYTES = (C_RUNS + MAX_THREADS) * 4;
export const H_STATE = 0; // 0 published, 1 done
export const H_IN = 1;
export const H_OUT = 2;
export const H_STATUS = 3; // 0 ok, 1 threw, 2 outcome too big, 3 the worker died
export const HDR = 4;
/** Loads a worker spins on the tail before it sleeps in Atomics.wait. */
export const SPIN = 20_000;

/** What each ring worker is started with. */
export interface RingWorkerData {
  sab: SharedArrayBuffer;
  slots: number;
  bytes: number;
  index: number;
  /** ES module URL whose `runSlice(input)` runs a slice. */
  module: string;
}
