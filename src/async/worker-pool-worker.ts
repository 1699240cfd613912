/**
 * A worker pool's worker thread (worker-pool.ts starts it): takes tasks from its request ring,
 * calls the named export of the task module and writes the result into its response ring,
 * until the pool stops it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTRL_BYTES, type PoolWorkerData, REQ_HEAD, REQ_TAIL, RES_HEAD, RES_TAIL, SLOT_HEADER, ST_OK, ST_THROWN, ST_TOO_BIG, STOP } from './worker-pool-layout.js';
import { invalidArgType, notFound } from '../errors.js';

type Task = (arg: Uint8Array) => unknown;

const { sab, slots, slotBytes, spin, module, functions } = workerData as PoolWorkerData;
const ctl = new Int32Array(sab, 0, 16);
const slotSize = SLOT_HEADER + slotBytes;
const reqBase = CTRL_BYTES;
const resBase = reqBase + slots * slotSize;
const bytes = new Uint8Array(sab);
const view = new DataView(sab);
const enc = new TextEncoder();

/** Run one task; its status and result bytes. */
function call(fn: Task | undefined, arg: Uint8Array): { status: number; out: Uint8Array } {
  try {
    let out = fn!(arg);
    if (out === undefined) out = new Uint8Array(0);
    if (!(out instanceof Uint8Array)) throw invalidArgType('the result of a task', 'a Uint8Array or undefined', out);
    if (out.length > slotBytes) return { status: ST_TOO_BIG, out: enc.encode(String(out.length)) };
    return { status: ST_OK, out };
  } catch (e) {
    return { status: ST_THROWN, out: enc.encode(String((e as Error | undefined)?.message || e)).subarray(0, slotBytes) };
  }
}

function serve(fns: (Task | undefined)[]): void {
  let tail = Atomics.load(ctl, REQ_TAIL);
  for (;;) {
    let head = Atomics.load(ctl, REQ_HEAD);
    for (let i = 0; head === tail && i < spin; i++) head = Atomics.load(ctl, REQ_HEAD);
    while (head === tail) {
      if (Atomics.load(ctl, STOP)) return;
      Atomics.wait(ctl, REQ_HEAD, head, 1000);
      head = Atomics.load(ctl, REQ_HEAD);
    }
    for (; tail !== head; tail++) {
      const at = reqBase + (tail % slots) * slotSize;
      const ticket = view.getInt32(at, true);
      const fn = view.getInt32(at + 4, true);
      const len = view.getInt32(at + 8, true);
      const { status, out } = call(fns[fn], bytes.subarray(at + SLOT_HEADER, at + SLOT_HEADER + len));
      const rh = Atomics.load(ctl, RES_HEAD);
      while (rh - Atomics.load(ctl, RES_TAIL) >= slots) Atomics.wait(ctl, RES_TAIL, Atomics.load(ctl, RES_TAIL), 1000);
      const rat = resBase + (rh % slots) * slotSize;
      view.setInt32(rat, ticket, true);
      view.setInt32(rat + 4, status, true);
      view.setInt32(rat + 8, out.length, true);
      bytes.set(out, rat + SLOT_HEADER);
      Atomics.store(ctl, REQ_TAIL, tail + 1);
      Atomics.store(ctl, RES_HEAD, rh + 1);
      Atomics.notify(ctl, RES_HEAD);
    }
  }
}

const m = (await import(module)) as Record<string, unknown>;
const fns = functions.map((n) => m[n] as Task | undefined);
const missing = functions.filter((_, i) => typeof fns[i] !== 'function');
if (missing.length) throw notFound(`missing exports: ${missing.join(', ')}`);
parentPort!.postMessage('ready');
serve(fns);
