/**
 * A slice ring's worker thread (ring.ts starts it): claims published slots with a
 * compare-and-swap, runs the slice module's `runSlice` on the input and writes the outcome into
 * the same slot, until the ring is stopped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { C_CLAIM, C_DONE, C_RELEASED, C_RUNS, C_SLEEP, C_STOP, C_TAIL, C_WAKE_AT, CTRL_BYTES, H_IN, H_OUT, H_STATE, H_STATUS, HDR, MAX_THREADS, type RingWorkerData, SPIN } from './ring-layout.js';
import { invalidArgType, notFound } from '../../errors.js';

type RunSlice = (input: Uint8Array) => unknown;

const { sab, slots, bytes, index, module } = workerData as RingWorkerData;
const ctl = new Int32Array(sab, 0, C_RUNS + MAX_THREADS);
const hdr = new Int32Array(sab, CTRL_BYTES, slots * HDR);
const u8 = new Uint8Array(sab);
const data = CTRL_BYTES + slots * HDR * 4;
const enc = new TextEncoder();

/** Run the slice in slot `c` and publish its outcome. */
function runSlot(run: RunSlice, c: number): void {
  const s = c % slots;
  const h = s * HDR;
  const at = data + s * 2 * bytes;
  let status = 0;
  let out: Uint8Array;
  try {
    const r = run(u8.subarray(at, at + hdr[h + H_IN]!));
    if (!(r instanceof Uint8Array)) throw invalidArgType('the result of runSlice', 'a Uint8Array', r);
    out = r;
    if (out.length > bytes) {
      status = 2;
      out = enc.encode(String(out.length));
    }
  } catch (e) {
    status = 1;
    out = enc.encode(String((e as Error | undefined)?.message || e)).subarray(0, bytes);
  }
  u8.set(out, at + bytes);
  hdr[h + H_OUT] = out.length;
  hdr[h + H_STATUS] = status;
  Atomics.store(hdr, h + H_STATE, 1);
  Atomics.store(ctl, C_RUNS + index, -1);
  if (Atomics.add(ctl, C_DONE, 1) + 1 >= Atomics.load(ctl, C_WAKE_AT)) Atomics.notify(ctl, C_DONE);
}

function serve(run: RunSlice): void {
  for (;;) {
    const c = Atomics.load(ctl, C_CLAIM);
    const t = Atomics.load(ctl, C_TAIL);
    if (c < t) {
      Atomics.store(ctl, C_RUNS + index, c);
      if (Atomics.compareExchange(ctl, C_CLAIM, c, c + 1) === c) runSlot(run, c);
      continue;
    }
    Atomics.store(ctl, C_RUNS + index, -1);
    if (Atomics.load(ctl, C_STOP)) return;
    // out of slices: the runtime thread publishes more only when it has taken back what is done
    if (Atomics.load(ctl, C_DONE) > Atomics.load(ctl, C_RELEASED)) Atomics.notify(ctl, C_DONE);
    for (let i = 0; i < SPIN && Atomics.load(ctl, C_TAIL) === t; i++);
    if (Atomics.load(ctl, C_TAIL) === t) {
      Atomics.add(ctl, C_SLEEP, 1);
      if (Atomics.load(ctl, C_TAIL) === t) Atomics.wait(ctl, C_TAIL, t, 1000);
      Atomics.sub(ctl, C_SLEEP, 1);
    }
  }
}

const m = (await import(module)) as { runSlice?: RunSlice };
if (typeof m.runSlice !== 'function') throw notFound('the runSlice export of the slice module');
parentPort!.postMessage('ready');
serve(m.runSlice);
