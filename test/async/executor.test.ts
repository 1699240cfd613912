import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor, type JobResult } from '../../src/async/executor.js';
import { blake3 } from '../../src/hash/blake3.js';
import { crc32c } from '../../src/hash/crc32c.js';
import { runCore, takeN } from './helpers.js';
import { loadBinding, nativeInfo } from '../../src/native/index.js';
import { JsExecutor } from '../../src/native/js-executor.js';
import { JOB_BLAKE3, JOB_CRC32C, JOB_NOOP } from '../../src/native/ops.js';

const modes = nativeInfo().backend === 'native' ? [true, false] : [false];

const all = (ex: Executor, n: number): Promise<JobResult[]> => takeN(ex, n);

function big(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4096) b[i] = i & 0xff;
  return b;
}

describe.each(modes)('executor (native=%s)', (native) => {
  let ex: Executor;
  afterEach(async () => ex?.close());

  it('runs hashing jobs with the same results as the hash API', async () => {
    ex = createExecutor({ native, threads: 2 });
    expect(ex.native).toBe(native);
    const inputs = [new Uint8Array(0), new TextEncoder().encode('abc'), big(200_000), big(65_536), big(65_537)];
    const tickets = inputs.flatMap((b) => [ex.submit('blake3', b), ex.submit('crc32c', b), ex.submit('noop', b)]);
    const res = await all(ex, tickets.length);
    expect(res.map((r) => r.ticket)).toEqual(tickets);
    inputs.forEach((b, i) => {
      const [h, c, n] = res.slice(i * 3, i * 3 + 3);
      expect(h).toMatchObject({ kind: 'blake3', ok: true, value: b.length });
      expect(Buffer.from(h.digest!).equals(Buffer.from(blake3(b)))).toBe(true);
      expect(c).toMatchObject({ kind: 'crc32c', ok: true, value: crc32c(b) });
      expect(n).toMatchObject({ kind: 'noop', ok: true, value: b.length });
    });
  });

  it('releases results in submission order whatever order they finished in', async () => {
    ex = createExecutor({ native, threads: 4 });
    const tickets = [ex.submit('blake3', big(8 << 20)), ...Array.from({ length: 200 }, () => ex.submit('noop'))];
    const res = await all(ex, tickets.length);
    expect(res.map((r) => r.ticket)).toEqual(tickets);
  });

  it('cancels queued and running jobs', async () => {
    ex = createExecutor({ native, threads: 1 });
    const running = ex.submit('blake3', big(64 << 20));
    const queued = ex.submit('crc32c', big(1 << 20));
    const after = ex.submit('noop');
    expect(ex.cancel(queued)).toBe(true);
    expect(ex.cancel(running)).toBe(true);
    const [a, b, c] = await all(ex, 3);
    expect(a).toMatchObject({ ticket: running, status: 'cancelled', ok: false });
    expect(a.value).toBeLessThan(64 << 20);
    expect(a.digest).toBeUndefined();
    expect(b).toMatchObject({ ticket: queued, status: 'cancelled' });
    expect(c).toMatchObject({ ticket: after, status: 'ok' });
    expect(ex.cancel(after)).toBe(false);
  });

  it('enforces byte and CPU budgets', async () => {
    ex = createExecutor({ native, threads: 1 });
    const bytes = ex.submit('blake3', big(100_000), { byteBudget: 1000 });
    const fits = ex.submit('crc32c', big(1000), { byteBudget: 1000 });
    const cpu = ex.submit('blake3', big(64 << 20), { cpuBudgetMs: 1 });
    const [a, b, c] = await all(ex, 3);
    expect(a).toMatchObject({ ticket: bytes, status: 'byte-budget', ok: false });
    expect(b).toMatchObject({ ticket: fits, status: 'ok' });
    expect(c).toMatchObject({ ticket: cpu, status: 'cpu-budget', ok: false });
    expect(c.value).toBeGreaterThan(0);
    expect(c.value).toBeLessThan(64 << 20);
  });

  it('refuses bad jobs with coded errors and bounds its queue', async () => {
    ex = createExecutor({ native, threads: 1, depth: 2 });
    expect(() => ex.submit('sha1' as 'noop')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => ex.submit('noop', 'x' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ex.submit('noop', undefined, { cpuBudgetMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    ex.submit('noop');
    ex.submit('noop');
    expect(() => ex.submit('noop')).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    await all(ex, 2);
    await ex.close();
    expect(() => ex.submit('noop')).toThrow(expect.objectContaining({ code: 'ERR_EXECUTOR_CLOSED' }));
    expect(() => createExecutor({ threads: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});

describe('native executor vs its TypeScript twin', () => {
  it('gives identical results byte for byte', async () => {
    const native = loadBinding({ native: true }).binding;
    const wn = { fn: () => {} };
    const wj = { fn: () => {} };
    const nat = new native.NativeExecutor(2, () => wn.fn());
    const js = new JsExecutor(1, () => wj.fn());
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200_000 }), fc.constantFrom(JOB_NOOP, JOB_BLAKE3, JOB_CRC32C), async (data, kind) => {
        expect(await runCore(nat, wn, { kind, input: data, out: new Uint8Array(32) })).toEqual(await runCore(js, wj, { kind, input: data, out: new Uint8Array(32) }));
      }),
      { numRuns: 40 },
    );
    await nat.close();
    await js.close();
  });
});
