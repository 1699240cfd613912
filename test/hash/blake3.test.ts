import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { blake3, blake3DeriveKey, Blake3Hasher, blake3Many, createBlake3 } from '../../src/hash/blake3.js';
import { BLAKE3_DERIVE_KEY_CONTEXT, BLAKE3_DERIVE_KEY_MATERIAL, BLAKE3_KEYED_HASH, type HashBinding } from '../../src/native/binding.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { loadBinding, nativeInfo } from '../../src/native/index.js';

interface VectorCase {
  input_len: number;
  hash: string;
  keyed_hash: string;
  derive_key: string;
}
interface Vectors {
  key: string;
  context_string: string;
  cases: VectorCase[];
}

// The official BLAKE3 test vectors (BLAKE3-team/BLAKE3 test_vectors.json), kept in the repository so
// a clone tests itself without anything beside it.
const vectors = JSON.parse(readFileSync(new URL('../vectors/blake3-test-vectors.json', import.meta.url), 'utf8')) as Vectors;
const KEY = Buffer.from(vectors.key, 'ascii');
const CONTEXT = vectors.context_string;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** The vectors' input: the repeating sequence 0, 1, ..., 250. */
function vectorInput(length: number): Uint8Array {
  const input = new Uint8Array(length);
  for (let i = 0; i < length; i++) input[i] = i % 251;
  return input;
}

/** Deterministic pseudo-random bytes (xorshift32), for inputs too big for fast-check to shrink. */
function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

/** `bytes` copied to `offset` bytes into a bigger buffer, so that reads start unaligned. */
function placeAt(bytes: Uint8Array, offset: number): Uint8Array {
  const big = new Uint8Array(offset + bytes.length + 7);
  big.set(bytes, offset);
  return big.subarray(offset, offset + bytes.length);
}

/** Asserts `fn` throws an error of `type` with the stable `code`. */
function expectCode(fn: () => unknown, type: ErrorConstructor, code: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a throw').toBeInstanceOf(type);
  expect((error as { code?: unknown }).code).toBe(code);
}

describe(`BLAKE3 official test vectors (${nativeInfo().backend} binding)`, () => {
  for (const c of vectors.cases) {
    const input = vectorInput(c.input_len);
    const length = c.hash.length / 2;

    it(`hash, ${c.input_len} bytes: extended output, default 32 bytes, hasher`, () => {
      expect(hex(blake3(input, { length }))).toBe(c.hash);
      expect(hex(blake3(input))).toBe(c.hash.slice(0, 64));
      expect(hex(new Blake3Hasher().update(input).digest({ length }))).toBe(c.hash);
      expect(hex(createBlake3().update(input).digest())).toBe(c.hash.slice(0, 64));
    });

    it(`keyed_hash, ${c.input_len} bytes`, () => {
      expect(hex(blake3(input, { key: KEY, length }))).toBe(c.keyed_hash);
      expect(hex(blake3(input, { key: KEY }))).toBe(c.keyed_hash.slice(0, 64));
      expect(hex(new Blake3Hasher({ key: KEY }).update(input).digest({ length }))).toBe(c.keyed_hash);
    });

    it(`derive_key, ${c.input_len} bytes`, () => {
      expect(hex(blake3DeriveKey(CONTEXT, input, length))).toBe(c.derive_key);
      expect(hex(blake3DeriveKey(CONTEXT, input))).toBe(c.derive_key.slice(0, 64));
      expect(hex(blake3DeriveKey(Buffer.from(CONTEXT), input))).toBe(c.derive_key.slice(0, 64));
      expect(hex(new Blake3Hasher({ context: CONTEXT }).update(input).digest({ length }))).toBe(c.derive_key);
    });

    it(`XOF seek reads a suffix, ${c.input_len} bytes`, () => {
      for (const seek of [1, 31, 32, 63, 64, 65, 100, length - 1, length]) {
        expect(hex(blake3(input, { length: length - seek, seek }))).toBe(c.hash.slice(2 * seek));
        expect(hex(blake3(input, { key: KEY, length: length - seek, seek }))).toBe(c.keyed_hash.slice(2 * seek));
        expect(hex(new Blake3Hasher({ context: CONTEXT }).update(input).digest({ length: length - seek, seek }))).toBe(c.derive_key.slice(2 * seek));
      }
    });
  }

  it('unaligned and odd-typed views of the vector inputs hash the same', () => {
    for (const c of vectors.cases) {
      const input = vectorInput(c.input_len);
      for (const offset of [1, 2, 3, 5]) expect(hex(blake3(placeAt(input, offset)))).toBe(c.hash.slice(0, 64));
      const view = placeAt(input, 4);
      expect(hex(blake3(new DataView(view.buffer, view.byteOffset, view.byteLength)))).toBe(c.hash.slice(0, 64));
      if (c.input_len % 2 === 0) {
        expect(hex(blake3(new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2)))).toBe(c.hash.slice(0, 64));
      }
    }
  });
});

describe('public API', () => {
  it('hashes strings as UTF-8', () => {
    const text = 'héllo, wörld ✓ 🚀';
    expect(hex(blake3(text))).toBe(hex(blake3(Buffer.from(text, 'utf8'))));
    expect(hex(blake3(text, { length: 100 }))).toBe(hex(blake3(new TextEncoder().encode(text), { length: 100 })));
    expect(hex(blake3(''))).toBe(vectors.cases[0].hash.slice(0, 64));
  });

  it('writes into a caller buffer: exact size returned as is, larger one as its prefix', () => {
    const input = vectorInput(1025);
    const expected = vectors.cases.find((c) => c.input_len === 1025)!.hash;
    const out = new Uint8Array(32);
    expect(blake3(input, { out })).toBe(out);
    expect(hex(out)).toBe(expected.slice(0, 64));
    const big = Buffer.alloc(100, 0xaa);
    const result = blake3(input, { out: big, length: 40, seek: 8 });
    expect(result.buffer).toBe(big.buffer);
    expect(hex(result)).toBe(expected.slice(16, 96));
    expect(big[40]).toBe(0xaa);
    expect(hex(blake3(input, { out: new Uint8Array(131) }))).toBe(expected);
    expect(blake3(input, { length: 0 })).toHaveLength(0);
  });

  it('digest does not end the hasher; reset forgets input but keeps the key', () => {
    const input = vectorInput(5000);
    const hasher = new Blake3Hasher({ key: KEY });
    hasher.update(input.subarray(0, 1000));
    expect(hex(hasher.digest())).toBe(hex(blake3(input.subarray(0, 1000), { key: KEY })));
    blake3(vectorInput(3000)); // one-shot calls in between must not disturb the hasher
    blake3Many(input, [0, 2000, 5000]);
    hasher.update(input.subarray(1000));
    expect(hex(hasher.digest())).toBe(hex(blake3(input, { key: KEY })));
    expect(hex(hasher.digest())).toBe(hex(blake3(input, { key: KEY })));
    hasher.reset().update(input.subarray(0, 1));
    expect(hex(hasher.digest({ length: 131 }))).toBe(vectors.cases.find((c) => c.input_len === 1)!.keyed_hash);
  });

  it('incremental hashing with random split points equals one-shot hashing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 6000 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom<'hash' | 'keyed' | 'derive'>('hash', 'keyed', 'derive'),
        fc.integer({ min: 0, max: 7 }),
        (data, cuts, mode, offset) => {
          const input = placeAt(data, offset);
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          const options = mode === 'keyed' ? { key: KEY } : mode === 'derive' ? { context: CONTEXT } : {};
          const hasher = new Blake3Hasher(options);
          let from = 0;
          for (const p of [...points, input.length]) {
            hasher.update(input.subarray(from, p));
            from = p;
          }
          const expected = mode === 'keyed' ? blake3(data, { key: KEY, length: 80 }) : mode === 'derive' ? blake3DeriveKey(CONTEXT, data, 80) : blake3(data, { length: 80 });
          expect(hex(hasher.digest({ length: 80 }))).toBe(hex(expected));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('blake3Many equals hashing each slice on its own (with and without lengths)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (data, pairs, offset, asArray) => {
        const input = placeAt(data, offset);
        // Separate slices: any start, any length that fits.
        const starts = pairs.map(([a]) => a % (input.length + 1));
        const lengths = pairs.map(([, b], i) => b % (input.length - starts[i] + 1));
        const many = asArray ? blake3Many(input, starts, lengths) : blake3Many(input, Uint32Array.from(starts), Uint32Array.from(lengths));
        expect(many).toHaveLength(32 * pairs.length);
        starts.forEach((s, i) => expect(hex(many.subarray(32 * i, 32 * i + 32))).toBe(hex(blake3(input.subarray(s, s + lengths[i])))));
        // Contiguous slices: sorted boundaries.
        const bounds = [...starts].sort((a, b) => a - b);
        const contiguous = blake3Many(input, asArray ? bounds : Uint32Array.from(bounds));
        expect(contiguous).toHaveLength(32 * Math.max(0, bounds.length - 1));
        for (let i = 0; i + 1 < bounds.length; i++) {
          expect(hex(contiguous.subarray(32 * i, 32 * i + 32))).toBe(hex(blake3(input.subarray(bounds[i], bounds[i + 1]))));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('blake3Many writes into a caller buffer and accepts strings', () => {
    const out = Buffer.alloc(70, 0xee);
    const result = blake3Many('abcdef', [0, 3, 6], null, out);
    expect(result).toHaveLength(64);
    expect(result.buffer).toBe(out.buffer);
    expect(hex(result)).toBe(hex(blake3('abc')) + hex(blake3('def')));
    expect(out[64]).toBe(0xee);
    expect(blake3Many('abc', [], null)).toHaveLength(0);
    expect(blake3Many('abc', [2])).toHaveLength(0);
    expect(blake3Many('abc', [], [])).toHaveLength(0);
  });
});

describe('bad arguments throw coded errors', () => {
  const notBytes: unknown[] = [undefined, null, 42, {}, [1, 2], new ArrayBuffer(4), true, Symbol('x')];

  it('data must be a string or ArrayBufferView', () => {
    for (const value of notBytes) {
      expectCode(() => blake3(value as string), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => new Blake3Hasher().update(value as string), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => blake3Many(value as string, [0]), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => blake3DeriveKey(CONTEXT, value as string), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => blake3DeriveKey(value as string, 'material'), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('key must be 32 bytes', () => {
    for (const size of [0, 16, 31, 33, 64]) {
      expectCode(() => blake3('x', { key: new Uint8Array(size) }), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => new Blake3Hasher({ key: new Uint8Array(size) }), RangeError, 'ERR_OUT_OF_RANGE');
    }
    for (const key of ['whats the Elvish word for friend', 42, null, {}, new ArrayBuffer(32)]) {
      expectCode(() => blake3('x', { key: key as Uint8Array }), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    // Any ArrayBufferView of 32 bytes is a key.
    expect(hex(blake3('x', { key: new Uint32Array(KEY.buffer.slice(KEY.byteOffset, KEY.byteOffset + 32)) }))).toBe(hex(blake3('x', { key: KEY })));
    expectCode(() => new Blake3Hasher({ key: KEY, context: CONTEXT }), TypeError, 'ERR_INVALID_ARG_VALUE');
  });

  it('length and seek must be non-negative safe integers', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      expectCode(() => blake3('x', { length: bad }), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => blake3('x', { seek: bad }), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => new Blake3Hasher().digest({ length: bad }), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => blake3DeriveKey(CONTEXT, 'x', bad), RangeError, 'ERR_OUT_OF_RANGE');
    }
    expectCode(() => blake3('x', { length: 2 ** 40 }), RangeError, 'ERR_OUT_OF_RANGE'); // more than a Buffer can hold
    expectCode(() => blake3('x', { length: '32' as unknown as number }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3('x', { seek: 2 ** 53 - 10, length: 32 }), RangeError, 'ERR_OUT_OF_RANGE');
    // A far seek is fine: output block counters above 2^32 are exact.
    expect(blake3('x', { seek: 2 ** 45 + 3, length: 8 })).toHaveLength(8);
  });

  it('out must be a Uint8Array big enough; options must be an object', () => {
    expectCode(() => blake3('x', { out: new Uint16Array(16) as unknown as Uint8Array }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3('x', { out: new Uint8Array(8), length: 9 }), RangeError, 'ERR_OUT_OF_RANGE');
    // without a length, an out shorter than the 32-byte hash is refused (it returned a short hash)
    for (const n of [0, 1, 16, 31]) {
      const out = new Uint8Array(n).fill(0xaa);
      expectCode(() => blake3('x', { out }), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => blake3('x', { out, key: new Uint8Array(32) }), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => new Blake3Hasher().update('x').digest({ out }), RangeError, 'ERR_OUT_OF_RANGE');
      expect(out.every((b) => b === 0xaa)).toBe(true); // nothing written
    }
    expect(blake3('x', { out: new Uint8Array(16), length: 16 })).toEqual(blake3('x').subarray(0, 16)); // asked for: fine
    expectCode(() => blake3Many('abcd', [0, 2, 4], null, new Uint8Array(63)), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many('abcd', [0, 2, 4], null, [] as unknown as Uint8Array), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3('x', 5 as unknown as object), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3('x', null as unknown as object), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => new Blake3Hasher().digest('32' as unknown as object), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('slices must lie inside data and be Uint32Array or number arrays', () => {
    const data = new Uint8Array(10);
    expectCode(() => blake3Many(data, [0, 11]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [5, 4]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [0, 5], [5, 6]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [11], [0]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, Uint32Array.of(0xffffffff), Uint32Array.of(0xffffffff)), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [0, 1], [1]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [-1, 2]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [0.5, 2]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, [2 ** 32]), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => blake3Many(data, ['0', 2] as unknown as number[]), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3Many(data, Int32Array.of(0, 2) as unknown as Uint32Array), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3Many(data, [0, 2], 'ab' as unknown as number[]), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => blake3Many(data, 3 as unknown as number[]), TypeError, 'ERR_INVALID_ARG_TYPE');
    // After all that, the module still works.
    expect(hex(blake3Many(data, [0, 10]))).toBe(hex(blake3(data)));
  });
});

describe('pure-TS fallback against an independent implementation (hash-wasm)', () => {
  it('hash and keyed hash of random inputs at random alignments, XOF lengths', async () => {
    const plain = await createBLAKE3(8 * 97);
    const keyed = await createBLAKE3(8 * 97, KEY);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 9000 }), fc.integer({ min: 0, max: 7 }), async (data, offset) => {
        const input = placeAt(data, offset);
        const out = new Uint8Array(97);
        fallbackBinding.blake3(input, null, 0, out, 0);
        plain.init();
        plain.update(data);
        expect(hex(out)).toBe(hex(plain.digest('binary')));
        fallbackBinding.blake3(input, KEY, BLAKE3_KEYED_HASH, out, 0);
        keyed.init();
        keyed.update(data);
        expect(hex(out)).toBe(hex(keyed.digest('binary')));
      }),
      { numRuns: 150 },
    );
  });
});

// ---- native addon == pure-TS fallback, byte for byte ----

/** The native binding when the addon is there; a load failure is kept and reported, not hidden. */
function tryNative(): { native: HashBinding | null; error: unknown } {
  try {
    const loaded = loadBinding({ native: true });
    return { native: loaded.info.backend === 'native' ? loaded.binding : null, error: null };
  } catch (error) {
    return { native: null, error };
  }
}
const { native, error: nativeError } = tryNative();
const noNative = native === null;
const skipReason = nativeError ? 'the native addon failed to load' : 'no native addon built (npm run build:native)';

describe(`native == fallback${noNative ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('the native addon, when present, loads', () => {
    expect(nativeError).toBeNull();
  });

  const modes = [
    { flags: 0, keyed: false },
    { flags: BLAKE3_KEYED_HASH, keyed: true },
    { flags: BLAKE3_DERIVE_KEY_CONTEXT, keyed: false },
    { flags: BLAKE3_DERIVE_KEY_MATERIAL, keyed: true },
  ];
  const arbMode = fc.constantFrom(...modes);
  const arbKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const arbSeek = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 2 ** 40 }));

  /** Compares one-shot outputs of both bindings for `input`. */
  function compareOneShot(input: Uint8Array, mode: (typeof modes)[number], key: Uint8Array, outLen: number, seek: number): void {
    const k = mode.keyed ? key : null;
    const a = new Uint8Array(outLen);
    const b = new Uint8Array(outLen);
    native!.blake3(input, k, mode.flags, a, seek);
    fallbackBinding.blake3(input, k, mode.flags, b, seek);
    expect(hex(a)).toBe(hex(b));
  }

  it.skipIf(noNative)('one-shot: random data 0..10000 bytes, unaligned, all modes, XOF lengths and seeks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10000 }), fc.integer({ min: 0, max: 15 }), arbMode, arbKey, fc.integer({ min: 0, max: 300 }), arbSeek, (data, offset, mode, key, outLen, seek) =>
        compareOneShot(placeAt(data, offset), mode, key, outLen, seek),
      ),
      { numRuns: 1000 },
    );
  });

  it.skipIf(noNative)('one-shot: 1 MiB inputs', () => {
    const sizes = [1 << 20, (1 << 20) + 1, (1 << 20) - 1, 1000 * 1024 + 17];
    sizes.forEach((size, i) => {
      const input = placeAt(pseudoRandom(size, i + 1), i);
      for (const mode of modes) compareOneShot(input, mode, KEY, 65, i * 1000);
    });
  });

  it.skipIf(noNative)('incremental: random split points, all modes, digests along the way', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 10000 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 0, max: 7 }),
        arbMode,
        arbKey,
        fc.integer({ min: 0, max: 150 }),
        arbSeek,
        (data, cuts, offset, mode, key, outLen, seek) => {
          const input = placeAt(data, offset);
          const k = mode.keyed ? key : null;
          const a = native!.blake3Hasher(k, mode.flags);
          const b = fallbackBinding.blake3Hasher(k, mode.flags);
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
          let from = 0;
          for (const p of [...points, input.length]) {
            a.update(input.subarray(from, p));
            b.update(input.subarray(from, p));
            from = p;
            const outA = new Uint8Array(outLen);
            const outB = new Uint8Array(outLen);
            a.finalize(outA, seek);
            b.finalize(outB, seek);
            expect(hex(outA)).toBe(hex(outB));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it.skipIf(noNative)('blake3Many: random slices with and without lengths, unaligned data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10000 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3000 })), { maxLength: 40 }), fc.integer({ min: 0, max: 7 }), (data, pairs, offset) => {
        const input = placeAt(data, offset);
        const starts = Uint32Array.from(pairs, ([a]) => a % (input.length + 1));
        const lengths = Uint32Array.from(pairs, ([, b], i) => b % (input.length - starts[i] + 1));
        const a = new Uint8Array(32 * pairs.length);
        const b = new Uint8Array(32 * pairs.length);
        native!.blake3Many(input, starts, lengths, a);
        fallbackBinding.blake3Many(input, starts, lengths, b);
        expect(hex(a)).toBe(hex(b));
        const bounds = Uint32Array.from(starts).sort();
        const n = Math.max(0, bounds.length - 1);
        const c = new Uint8Array(32 * n);
        const d = new Uint8Array(32 * n);
        native!.blake3Many(input, bounds, null, c);
        fallbackBinding.blake3Many(input, bounds, null, d);
        expect(hex(c)).toBe(hex(d));
      }),
      { numRuns: 200 },
    );
  });
});

describe('every native CPU tier == fallback', () => {
  const tiers = ['portable', 'sse4.2', 'avx2', 'avx512', 'auto'];
  const sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 3073, 4096, 8191, 16 * 1024 + 1, 65536, (1 << 20) + 3];

  it.skipIf(noNative)('one-shot at chunk and SIMD-width boundaries, and many leaves of mixed sizes', () => {
    const binding = loadBinding({ native: true }).binding;
    const leafSizes = [0, 1, 31, 64, 64, 64, 65, 100, 1024, 1025, 2049, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 7];
    const leafData = pseudoRandom(leafSizes.reduce((a, b) => a + b, 0) + 3, 99).subarray(3);
    const bounds = Uint32Array.from([0, ...leafSizes.map((_, i) => leafSizes.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    const wantLeaves = new Uint8Array(32 * leafSizes.length);
    fallbackBinding.blake3Many(leafData, bounds, null, wantLeaves);
    try {
      for (const tier of tiers) {
        binding.setCpuTier(tier);
        sizes.forEach((size, i) => {
          const input = placeAt(pseudoRandom(size, i + 7), i % 8);
          const want = new Uint8Array(40);
          const got = new Uint8Array(40);
          fallbackBinding.blake3(input, null, 0, want, 0);
          binding.blake3(input, null, 0, got, 0);
          expect(`${tier} ${size} ${hex(got)}`).toBe(`${tier} ${size} ${hex(want)}`);
        });
        const gotLeaves = new Uint8Array(32 * leafSizes.length);
        binding.blake3Many(leafData, bounds, null, gotLeaves);
        expect(`${tier} ${hex(gotLeaves)}`).toBe(`${tier} ${hex(wantLeaves)}`);
      }
    } finally {
      binding.setCpuTier('auto');
    }
  });
});
