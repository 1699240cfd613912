// Executor codec jobs: deflate/inflate against node:zlib, AEAD seal/open against sodium-native,
// the native jobs against their TypeScript twin byte for byte, failures and bad options.
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deflateParam } from '../../src/native/codec-jobs.js';
import { createExecutor, type Executor, type JobResult } from '../../src/async/executor.js';
import { JsExecutor } from '../../src/native/js-executor.js';
import { JOB_AEAD_OPEN, JOB_AEAD_SEAL, JOB_DEFLATE, JOB_INFLATE } from '../../src/native/ops.js';
import { loadBinding, nativeInfo } from '../../src/native/index.js';
import { runCore, takeN, type CoreJob } from './helpers.js';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
};

const modes = nativeInfo().backend === 'native' ? [true, false] : [false];
const FORMATS = ['zlib', 'raw', 'gzip'] as const;
const DEFLATE_SYNC = { zlib: zlib.deflateSync, raw: zlib.deflateRawSync, gzip: zlib.gzipSync };

/** Compressible text with some noise, so every level does something different. */
function sample(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x % 7 === 0 ? x >>> 24 : 97 + ((i >> 3) % 13);
  }
  return out;
}

async function one(ex: Executor, ...args: Parameters<Executor['submit']>): Promise<JobResult> {
  const ticket = ex.submit(...args);
  const [r] = await takeN(ex, 1);
  expect(r.ticket).toBe(ticket);
  return r;
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

describe.each(modes)('executor codec jobs (native: %s)', (native) => {
  it('deflate gives node:zlib bytes at every level and framing; inflate restores the input', async () => {
    const ex = createExecutor({ native, threads: 2 });
    const data = sample(150_000);
    for (const format of FORMATS) {
      for (let level = -1; level <= 9; level++) {
        const r = await one(ex, 'deflate', data, { level, format });
        expect(r.status).toBe('ok');
        expect(hex(r.output)).toBe(hex(DEFLATE_SYNC[format](data, { level })));
        expect(r.value).toBe(r.output!.length);
        const back = await one(ex, 'inflate', r.output, { format });
        expect(back.status).toBe('ok');
        expect(Buffer.from(back.output!).equals(Buffer.from(data))).toBe(true);
      }
    }
    await ex.close();
  });

  it('inflate reports corrupt and truncated streams with zlib error codes, and caps its output', async () => {
    const ex = createExecutor({ native });
    const packed = zlib.deflateSync(sample(100_000));
    const corrupt = packed.slice();
    corrupt[10] ^= 0xff;
    const bad = await one(ex, 'inflate', corrupt);
    expect(bad.status).toBe('failed');
    expect(bad.value).toBe(zlib.constants.Z_DATA_ERROR);
    expect(bad.output).toBeUndefined();
    const truncated = packed.subarray(0, packed.length - 100);
    const cut = await one(ex, 'inflate', truncated);
    let nodeErrno = 0;
    try {
      zlib.inflateSync(truncated);
    } catch (e) {
      nodeErrno = (e as { errno: number }).errno;
    }
    expect([cut.status, cut.value]).toEqual(['failed', nodeErrno]);
    const short = await one(ex, 'inflate', packed.subarray(0, 2));
    expect([short.status, short.value]).toEqual(['failed', zlib.constants.Z_BUF_ERROR]);
    // a bomb: 64 MiB of zeros is 64 KiB packed; a 1 MiB cap stops it
    const bomb = zlib.deflateSync(new Uint8Array(64 * 1024 * 1024));
    const capped = await one(ex, 'inflate', bomb, { maxOutputBytes: 1 << 20 });
    expect(capped.status).toBe('byte-budget');
    // two gzip members inflate as one, as gunzip does
    const two = Buffer.concat([zlib.gzipSync(Buffer.from('first ')), zlib.gzipSync(Buffer.from('second'))]);
    const both = await one(ex, 'inflate', two, { format: 'gzip' });
    expect(Buffer.from(both.output!).toString()).toBe('first second');
    await ex.close();
  });

  it('aead-seal gives sodium-native bytes; aead-open restores them and refuses tampering', async () => {
    const ex = createExecutor({ native });
    const key = sample(32, 7);
    const plain = sample(200_000, 3);
    const ad = Buffer.from('cell/7');
    for (const [cipher, nonceBytes] of [
      ['xchacha20-poly1305', 24],
      ['chacha20-poly1305', 12],
    ] as const) {
      const nonce = sample(nonceBytes, 9);
      const want = new Uint8Array(plain.length + 16);
      const encrypt = cipher === 'chacha20-poly1305' ? sodium.crypto_aead_chacha20poly1305_ietf_encrypt : sodium.crypto_aead_xchacha20poly1305_ietf_encrypt;
      encrypt(want, plain, ad, null, nonce, key);
      const sealed = await one(ex, 'aead-seal', plain, { key, nonce, ad, cipher });
      expect([sealed.status, sealed.value]).toEqual(['ok', plain.length + 16]);
      expect(hex(sealed.output)).toBe(hex(want));
      const opened = await one(ex, 'aead-open', sealed.output, { key, nonce, ad, cipher });
      expect(opened.status).toBe('ok');
      expect(hex(opened.output)).toBe(hex(plain));
      const tampered = sealed.output!.slice();
      tampered[5] ^= 1;
      const refused = await one(ex, 'aead-open', tampered, { key, nonce, ad, cipher });
      expect([refused.status, refused.output]).toEqual(['failed', undefined]);
      const otherAd = await one(ex, 'aead-open', sealed.output, { key, nonce, ad: Buffer.from('cell/8'), cipher });
      expect(otherAd.status).toBe('failed');
      expect((await one(ex, 'aead-open', new Uint8Array(15), { key, nonce, cipher })).status).toBe('failed');
    }
    await ex.close();
  });

  it('releases codec results in submission order and honours byte budgets', async () => {
    const ex = createExecutor({ native, threads: 2 });
    const big = sample(1 << 20);
    const small = sample(100);
    const tickets = [ex.submit('deflate', big, { level: 9 }), ex.submit('deflate', small), ex.submit('aead-seal', small, { key: new Uint8Array(32), nonce: new Uint8Array(24) })];
    const refused = ex.submit('deflate', big, { byteBudget: 1000 });
    const results = await takeN(ex, 4);
    expect(results.map((r) => r.ticket)).toEqual([...tickets, refused]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'byte-budget']);
    await ex.close();
  });

  it('stops codec jobs on a spent CPU budget and on cancel', async () => {
    const ex = createExecutor({ native, threads: 1 });
    const big = sample(1 << 20); // tens of ms of deflate at level 9
    const spent = await one(ex, 'deflate', big, { level: 9, cpuBudgetMs: 1 });
    expect([spent.status, spent.output]).toEqual(['cpu-budget', undefined]);
    const first = ex.submit('deflate', big, { level: 9 });
    const second = ex.submit('aead-seal', big, { key: new Uint8Array(32), nonce: new Uint8Array(24) });
    expect(ex.cancel(second)).toBe(true);
    const [a, b] = await takeN(ex, 2);
    expect([a.ticket, a.status, b.ticket, b.status]).toEqual([first, 'ok', second, 'cancelled']);
    await ex.close();
  }, 30_000);

  it('rejects bad options with coded errors and queues nothing', () => {
    const ex = createExecutor({ native });
    const key = new Uint8Array(32);
    const cases: [Parameters<Executor['submit']>, string][] = [
      [['deflate', sample(10), { level: 10 }], 'ERR_OUT_OF_RANGE'],
      [['deflate', sample(10), { format: 'brotli' as 'zlib' }], 'ERR_INVALID_ARG_VALUE'],
      [['inflate', sample(10), { maxOutputBytes: 0 }], 'ERR_OUT_OF_RANGE'],
      [['aead-seal', sample(10), { key: new Uint8Array(31), nonce: new Uint8Array(24) }], 'ERR_INVALID_ARG_VALUE'],
      [['aead-seal', sample(10), { key, nonce: new Uint8Array(12) }], 'ERR_INVALID_ARG_VALUE'],
      [['aead-open', sample(10), { key, nonce: new Uint8Array(12), cipher: 'aes' as 'chacha20-poly1305' }], 'ERR_INVALID_ARG_VALUE'],
      [['aead-seal', sample(10), { nonce: new Uint8Array(24) }], 'ERR_INVALID_ARG_TYPE'],
      [['aead-seal', sample(10), { key, nonce: new Uint8Array(24), ad: 'x' as unknown as Uint8Array }], 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [args, code] of cases) expect(() => ex.submit(...args)).toThrow(expect.objectContaining({ code }));
    expect(ex.pending).toBe(0);
    void ex.close();
  });
});

// The two cores side by side on random inputs (the addon loaded explicitly, whichever project runs).
describe('native codec jobs vs their TypeScript twin', () => {
  it('give identical bytes, values and statuses', async () => {
    const wn = { fn: () => {} };
    const wj = { fn: () => {} };
    const nat = new (loadBinding({ native: true }).binding.NativeExecutor)(2, () => wn.fn());
    const js = new JsExecutor(1, () => wj.fn());
    const job = fc.oneof(
      fc
        .record({ data: fc.uint8Array({ maxLength: 70_000 }), level: fc.integer({ min: -1, max: 9 }), format: fc.integer({ min: 0, max: 2 }) })
        .map(({ data, level, format }): CoreJob => ({ kind: JOB_DEFLATE, input: data, param: deflateParam(level, format) })),
      fc
        .record({ data: fc.uint8Array({ maxLength: 70_000 }), format: fc.integer({ min: 0, max: 2 }), flip: fc.nat(), maxOut: fc.constantFrom(0, 1000, 1 << 20) })
        .map(({ data, format, flip, maxOut }): CoreJob => {
          const packed = new Uint8Array([zlib.deflateSync, zlib.deflateRawSync, zlib.gzipSync][format](data));
          if (flip % 3 === 0 && packed.length > 0) packed[flip % packed.length] ^= 1 << (flip % 8);
          return { kind: JOB_INFLATE, input: flip % 5 === 1 ? packed.subarray(0, packed.length >> 1) : packed, param: deflateParam(-1, format), maxOut };
        }),
      fc
        .record({ data: fc.uint8Array({ maxLength: 140_000 }), x: fc.boolean(), key: fc.uint8Array({ minLength: 56, maxLength: 120 }), open: fc.boolean(), flip: fc.nat() })
        .map(({ data, x, key, open, flip }): CoreJob => {
          const aux = key.subarray(0, 32 + (x ? 24 : 12) + (flip % 20)); // key || nonce || ad
          if (!open) return { kind: JOB_AEAD_SEAL, input: data, param: x ? 1 : 0, aux, out: new Uint8Array(data.length + 16) };
          const sealed = new Uint8Array(data.length + 16);
          const encrypt = x ? sodium.crypto_aead_xchacha20poly1305_ietf_encrypt : sodium.crypto_aead_chacha20poly1305_ietf_encrypt;
          const nonceEnd = 32 + (x ? 24 : 12);
          encrypt(sealed, data, aux.subarray(nonceEnd), null, aux.subarray(32, nonceEnd), aux.subarray(0, 32));
          if (flip % 4 === 0) sealed[flip % sealed.length] ^= 1 << (flip % 8);
          return { kind: JOB_AEAD_OPEN, input: sealed, param: x ? 1 : 0, aux, out: new Uint8Array(data.length) };
        }),
    );
    await fc.assert(
      fc.asyncProperty(job, async (j) => {
        const a = await runCore(nat, wn, { ...j, out: j.out?.slice() });
        const b = await runCore(js, wj, { ...j, out: j.out?.slice() });
        expect(a).toEqual(b);
      }),
      { numRuns: 120 },
    );
    await nat.close();
    await js.close();
  });
});
