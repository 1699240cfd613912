import { describe, expect, it } from 'vitest';
import { nativeInfo } from '../../src/index.js';
import { binding } from '../../src/native/index.js';

// Blocks this thread for `ms` without using CPU (no event to await: time asleep is what is measured).
const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// The clock episode CPU budgets are charged by (binding.threadCpuMs).
describe('thread CPU clock', () => {
  it('counts this thread’s own work: not time asleep (native), the wall clock (fallback)', () => {
    const native = nativeInfo().backend === 'native';
    const c0 = binding.threadCpuMs();
    const w0 = performance.now();
    sleep(60);
    const asleep = binding.threadCpuMs() - c0;
    const wall = performance.now() - w0;
    expect(wall).toBeGreaterThanOrEqual(55);
    if (native)
      expect(asleep).toBeLessThan(20); // a sleeping thread runs no CPU, however busy the machine
    else expect(asleep).toBeGreaterThanOrEqual(55);
    // busy work advances it, never by more than the wall time that passed
    const c1 = binding.threadCpuMs();
    const w1 = performance.now();
    let x = 0;
    for (let i = 0; i < 5e6; i++) x = (x * 31 + i) | 0;
    const busy = binding.threadCpuMs() - c1;
    expect(x).not.toBe(0.5);
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(performance.now() - w1 + 1);
  });

  it('is per thread: a busy worker thread does not advance it', async () => {
    const { Worker } = await import('node:worker_threads');
    const c0 = binding.threadCpuMs();
    const w = new Worker('const e = Date.now() + 150; while (Date.now() < e); require("node:worker_threads").parentPort.postMessage(1)', { eval: true });
    await new Promise((resolve) => w.once('message', resolve));
    await w.terminate();
    const here = binding.threadCpuMs() - c0;
    if (nativeInfo().backend === 'native')
      expect(here).toBeLessThan(120); // the worker's 150 ms of work is not this thread's
    else expect(here).toBeGreaterThanOrEqual(140); // the fallback's clock is the wall clock
  });
});
