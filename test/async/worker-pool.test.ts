import { afterEach, describe, expect, it } from 'vitest';
import { takeN } from './helpers.js';
import { createWorkerPool, type TaskResult, type WorkerPool } from '../../src/async/worker-pool.js';

const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);
const functions = ['echo', 'sum', 'noop', 'fail', 'crash', 'huge'];

const collect = (pool: WorkerPool, n: number): Promise<TaskResult[]> => takeN(pool, n);

describe('worker pool (SharedArrayBuffer + Atomics)', () => {
  let pool: WorkerPool;
  afterEach(async () => pool?.close());

  it('runs tasks on workers and releases results in submission order', async () => {
    pool = createWorkerPool({ module: tasks, functions, threads: 2, slots: 160 });
    await pool.ready();
    const inputs = Array.from({ length: 300 }, (_, i) => new Uint8Array(i % 50).fill(i & 0xff));
    const tickets = inputs.map((b, i) => pool.submit(i % 2 ? 'echo' : 'sum', b, i));
    const res = await collect(pool, tickets.length);
    expect(res.map((r) => r.ticket)).toEqual(tickets);
    res.forEach((r, i) => {
      expect(r.ok).toBe(true);
      expect(r.tag).toBe(i);
      if (i % 2) expect(Buffer.from(r.value!).equals(Buffer.from(inputs[i]))).toBe(true);
      else {
        const s = inputs[i].reduce((a, b) => a + b, 0);
        expect([...r.value!]).toEqual([s & 0xff, (s >> 8) & 0xff, (s >> 16) & 0xff]);
      }
    });
  }, 20_000);

  it('run() resolves per task; errors thrown by a task fail only that task', async () => {
    pool = createWorkerPool({ module: tasks, functions, threads: 1 });
    expect([...(await pool.run('echo', Uint8Array.of(1, 2, 3)))]).toEqual([1, 2, 3]);
    await expect(pool.run('fail', new Uint8Array(7))).rejects.toMatchObject({ code: 'ERR_JOB_FAILED', message: expect.stringContaining('refused 7 bytes') });
    await expect(pool.run('huge')).rejects.toMatchObject({ code: 'ERR_JOB_FAILED', message: expect.stringContaining('exceeds slotBytes') });
    expect((await pool.run('noop')).length).toBe(0);
  });

  it('a worker crash fails its tasks with ERR_WORKER_CRASHED and the pool carries on', async () => {
    pool = createWorkerPool({ module: tasks, functions, threads: 1 });
    await pool.ready();
    const before = pool.submit('echo', Uint8Array.of(9));
    const boom = pool.submit('crash');
    const after = pool.submit('echo', Uint8Array.of(8));
    const res = await collect(pool, 3);
    expect(res[0]).toMatchObject({ ticket: before, ok: true });
    expect(res[1]).toMatchObject({ ticket: boom, ok: false, error: expect.objectContaining({ code: 'ERR_WORKER_CRASHED' }) });
    expect(res[2]).toMatchObject({ ticket: after, ok: false, error: expect.objectContaining({ code: 'ERR_WORKER_CRASHED' }) });
    expect(pool.restarts).toBe(1);
    expect([...(await pool.run('echo', Uint8Array.of(5)))]).toEqual([5]);
  });

  it('refuses bad tasks with coded errors', async () => {
    pool = createWorkerPool({ module: tasks, functions, threads: 1, slots: 2, slotBytes: 16 });
    expect(() => pool.submit('nope')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => pool.submit('echo', new Uint8Array(17))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => pool.submit('echo', 'x' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    pool.submit('noop');
    pool.submit('noop');
    expect(() => pool.submit('noop')).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    await collect(pool, 2);
    await pool.close();
    expect(() => pool.submit('noop')).toThrow(expect.objectContaining({ code: 'ERR_POOL_CLOSED' }));
    expect(() => createWorkerPool({ module: tasks, functions: [] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('a module without the named exports fails ready()', async () => {
    pool = createWorkerPool({ module: tasks, functions: ['echo', 'absent'], threads: 1 });
    await expect(pool.ready()).rejects.toThrow(/missing exports: absent/);
  });
});
