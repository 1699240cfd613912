import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cMany } from '../../src/index.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { loadBinding } from '../../src/native/index.js';

const bytes = (values: number[]) => Uint8Array.from(values);
const range = (from: number, to: number) => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => (from < to ? from + i : from - i));

describe('crc32c known answers', () => {
  it('matches the standard check values', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c('123456789')).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(bytes(range(0, 31)))).toBe(0x46dd794e);
    expect(crc32c(bytes(range(31, 0)))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('gives the same answer on both sides of the native size threshold', () => {
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff);
    for (const n of [0, 1, 7, 8, 63, 64, 127, 128, 129, 255, 256, 257, 1000, 4096]) {
      expect(crc32c(data.subarray(0, n))).toBe(fallbackBinding.crc32c(data.subarray(0, n), 0));
    }
  });

  it('reads any ArrayBufferView as its bytes', () => {
    const u8 = bytes(range(0, 31));
    expect(crc32c(new DataView(u8.buffer))).toBe(0x46dd794e);
    expect(crc32c(new Uint32Array(u8.buffer))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(u8))).toBe(0x46dd794e);
  });
});

describe('crc32c properties', () => {
  it('continues a running CRC from a seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), (data, cutSeed) => {
        const cut = data.length ? cutSeed % data.length : 0;
        expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(crc32c(data));
      }),
    );
  });

  it('batched equals one by one, with and without lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (data, picks, seed) => {
        const offsets = Uint32Array.from(picks, ([a]) => a % data.length);
        const lengths = Uint32Array.from(picks, ([a, b]) => b % (data.length - (a % data.length) + 1));
        const many = crc32cMany(data, offsets, lengths, { seed });
        expect(Array.from(many)).toEqual(picks.map((_, i) => crc32c(data.subarray(offsets[i], offsets[i] + lengths[i]), seed)));
        const bounds = Uint32Array.from([...offsets].sort((x, y) => x - y));
        if (bounds.length > 0) {
          const contiguous = crc32cMany(data, bounds);
          expect(contiguous.length).toBe(bounds.length - 1);
          for (let i = 0; i + 1 < bounds.length; i++) expect(contiguous[i]).toBe(crc32c(data.subarray(bounds[i], bounds[i + 1])));
        }
      }),
    );
  });

  it('writes into a caller-provided output', () => {
    const data = new Uint8Array(256).fill(1);
    const out = new Uint32Array(4).fill(7);
    const result = crc32cMany(data, [0, 64, 128], null, { out });
    expect(result.length).toBe(2);
    expect(out[0]).toBe(crc32c(data.subarray(0, 64)));
    expect(out[2]).toBe(7);
  });
});

const native = loadBinding({ native: true });
const hasNative = native.info.backend === 'native';

describe('native == fallback, byte for byte', () => {
  it.skipIf(!hasNative)('crc32c on random data at random unaligned offsets, every CPU tier', () => {
    const tiers = ['portable', 'sse4.2', 'avx2', 'avx512', 'auto'];
    try {
      for (const tier of tiers) {
        native.binding.setCpuTier(tier);
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 20000 }), fc.nat(63), fc.nat(), (data, shift, seed) => {
            const host = new Uint8Array(data.length + 64);
            host.set(data, shift);
            const view = host.subarray(shift, shift + data.length);
            expect(native.binding.crc32c(view, seed >>> 0)).toBe(fallbackBinding.crc32c(data, seed >>> 0));
          }),
          { numRuns: 60 },
        );
        const big = Uint8Array.from({ length: (1 << 20) + 13 }, (_, i) => (i * 2654435761) >>> 24);
        expect(native.binding.crc32c(big.subarray(5), 0)).toBe(fallbackBinding.crc32c(big.subarray(5), 0));
      }
    } finally {
      native.binding.setCpuTier('auto');
    }
  });

  it.skipIf(!hasNative)('crc32cMany', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4000 }), fc.array(fc.nat(), { maxLength: 30 }), (data, cuts) => {
        const bounds = Uint32Array.from([0, ...cuts.map((c) => c % data.length), data.length].sort((a, b) => a - b));
        const a = new Uint32Array(bounds.length - 1);
        const b = new Uint32Array(bounds.length - 1);
        native.binding.crc32cMany(data, bounds, null, a, 0);
        fallbackBinding.crc32cMany(data, bounds, null, b, 0);
        expect(a).toEqual(b);
      }),
    );
  });
});

describe('crc32c bad input', () => {
  const expectCode = (fn: () => unknown, type: ErrorConstructor, code: string) => {
    let caught: unknown;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(type);
    expect((caught as { code?: string }).code).toBe(code);
  };

  it('rejects non-byte data with ERR_INVALID_ARG_TYPE', () => {
    for (const bad of [undefined, null, 42, {}, [1, 2, 3], new ArrayBuffer(4)]) {
      expectCode(() => crc32c(bad as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('rejects bad seeds', () => {
    expectCode(() => crc32c('x', -1), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32c('x', 2 ** 32), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32c('x', 1.5), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32c('x', '1' as never), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('rejects out-of-range slices and short outputs', () => {
    const data = new Uint8Array(100);
    expectCode(() => crc32cMany(data, [0, 101]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32cMany(data, [50, 10]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32cMany(data, [90], [11]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32cMany(data, [0, 1], [1]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32cMany(data, [0, 10, 20], null, { out: new Uint32Array(1) }), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => crc32cMany(data, 'abc' as never), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it.skipIf(!hasNative)('native binding called directly throws coded errors instead of crashing', () => {
    expectCode(() => native.binding.crc32c('abc' as never, 0), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => native.binding.crc32cMany(new Uint8Array(4), Uint32Array.of(0, 9), null, new Uint32Array(1), 0), RangeError, 'ERR_OUT_OF_RANGE');
  });
});
