/** Shared by the async tests: temp dirs, and waiting for a reactor's completions. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorCore } from '../../src/native/core.js';
import type { IoCompletion, Reactor } from '../../src/async/reactor.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cep-async-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Waits until every listed request finished, then drains; returns them by seq. */
export async function settle(r: Reactor, ...seqs: number[]): Promise<Map<number, IoCompletion>> {
  const got = new Map<number, IoCompletion>();
  const want = new Set(seqs);
  const stash: IoCompletion[] = [];
  while ([...want].some((s) => !got.has(s))) {
    await r.whenReady();
    for (const c of r.drain()) want.has(c.seq) ? got.set(c.seq, c) : stash.push(c);
  }
  return got;
}

/**
 * Resolves once `done()` holds: checked now and each time new completions enter the reactor's
 * gate (`onReady`), so nothing waits on a timer and nothing spins (`whenReady()` resolves at
 * once while anything is drainable, so looping on it until more arrive would never yield).
 */
export function readyWhen(r: Pick<Reactor, 'onReady'>, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = r.onReady(() => {
      if (!done()) return;
      off();
      resolve();
    });
  });
}

/** Resolves once none of `seqs` is still running (their completions wait in the gate, not drained). */
export function finished(r: Reactor, ...seqs: number[]): Promise<void> {
  return readyWhen(r, () => !seqs.some((s) => r.pendingSeq(s)));
}

/** Submits one request and waits for its completion (throws if it failed and `ok` is expected). */
export async function one(r: Reactor, seq: number): Promise<IoCompletion> {
  return (await settle(r, seq)).get(seq)!;
}

export async function ok(r: Reactor, seq: number): Promise<IoCompletion> {
  const c = await one(r, seq);
  if (!c.ok) throw new Error(`${c.op} #${c.seq} failed: ${c.errno}`);
  return c;
}

/** Waits for and drains `n` results from anything with whenReady/drain (executor, worker pool). */
export async function takeN<T>(src: { whenReady(): Promise<void>; drain(): T[] }, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    await src.whenReady();
    out.push(...src.drain());
  }
  return out;
}

export interface CoreJob {
  kind: number;
  input: Uint8Array;
  /** The preallocated output (blake3: 32 bytes; AEAD: the sealed/opened size). */
  out?: Uint8Array;
  aux?: Uint8Array;
  param?: number;
  maxOut?: number;
}

/** What one job gave: value, status, and its output bytes (the data handed back, else `out`) as hex. */
export type CoreOutcome = [number, number, string];

/** Runs one job on an executor core directly (native or twin) and waits for its completion. */
export function runCore(core: ExecutorCore, wake: { fn: () => void }, job: CoreJob): Promise<CoreOutcome> {
  return new Promise((resolve) => {
    wake.fn = () => {
      const batch = core.drain();
      if (batch === null) return;
      const [t, data] = batch;
      const bytes = data?.[0] ?? job.out ?? new Uint8Array(0);
      resolve([t[1], t[2], Buffer.from(bytes).toString('hex')]);
    };
    core.submit(Float64Array.of(job.kind, 1, 0, 0, job.param ?? 0, job.maxOut ?? 0), 1, [job.input], [job.out], [job.aux]);
  });
}
