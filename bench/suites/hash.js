// CRC32C and BLAKE3: our native path, our TS fallback (CEP_NATIVE=0) and the npm peers, on
// the same inputs. Each entry is one case run in its own process by bench/run.js.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const SIZES = [
  ['64 B', 64],
  ['4 KiB', 4096],
  ['1 MiB', 1 << 20],
];
const LEAF = 64;
const LEAVES = 1024; // batched cases: 1024 slices of 64 B in one 64 KiB buffer

function input(size) {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
  return data;
}

async function cep() {
  return import('../../dist/index.js');
}

// Keeps results observable so no engine can drop the work.
let sink = 0;
export const consume = (v) => {
  sink ^= typeof v === 'number' ? v : v[0];
  return sink;
};

const crcPeers = {
  sse4_crc32: () => {
    const m = require('sse4_crc32');
    return (d) => m.calculate(d);
  },
  'fast-crc32c': () => {
    const m = require('fast-crc32c');
    return (d) => m.calculate(d);
  },
  '@node-rs/crc32': () => {
    const m = require('@node-rs/crc32');
    return (d) => m.crc32c(d);
  },
};

const blakePeers = {
  '@napi-rs/blake-hash': async () => {
    const m = require('@napi-rs/blake-hash');
    return (d) => m.blake3(d);
  },
  'blake3-wasm': async () => {
    const m = require('blake3-wasm');
    return (d) => m.hash(d);
  },
  'hash-wasm': async () => {
    const { createBLAKE3 } = await import('hash-wasm');
    const h = await createBLAKE3();
    return (d) => h.init().update(d).digest('binary');
  },
};

const ours = [
  ['cep native', {}],
  ['cep fallback (TS)', { CEP_NATIVE: '0' }],
];

function requireNative(m) {
  if (process.env.CEP_NATIVE !== '0' && m.nativeInfo().backend !== 'native') throw new Error('native addon not loaded');
}

export const cases = [];

for (const [label, size] of SIZES) {
  const group = `CRC32C ${label}`;
  for (const [impl, env] of ours) {
    cases.push({
      group,
      impl,
      env,
      bytes: size,
      setup: async () => {
        const m = await cep();
        requireNative(m);
        const d = input(size);
        return () => consume(m.crc32c(d));
      },
    });
  }
  for (const [impl, make] of Object.entries(crcPeers)) {
    cases.push({
      group,
      impl,
      peer: true,
      bytes: size,
      setup: async () => {
        const f = make();
        const d = input(size);
        return () => consume(f(d));
      },
    });
  }
}

{
  const group = `CRC32C batched ${LEAVES} × ${LEAF} B slices`;
  const offsets = Uint32Array.from({ length: LEAVES + 1 }, (_, i) => i * LEAF);
  for (const [impl, env] of ours) {
    cases.push({
      group,
      impl,
      env,
      bytes: LEAVES * LEAF,
      setup: async () => {
        const m = await cep();
        requireNative(m);
        const d = input(LEAVES * LEAF);
        const out = new Uint32Array(LEAVES);
        return () => consume(m.crc32cMany(d, offsets, null, { out }));
      },
    });
  }
  for (const [impl, make] of Object.entries(crcPeers)) {
    cases.push({
      group,
      impl: `${impl} (one call per slice)`,
      peer: true,
      bytes: LEAVES * LEAF,
      setup: async () => {
        const f = make();
        const d = input(LEAVES * LEAF);
        const slices = Array.from({ length: LEAVES }, (_, i) => d.subarray(i * LEAF, (i + 1) * LEAF));
        return () => {
          for (let i = 0; i < LEAVES; i++) consume(f(slices[i]));
        };
      },
    });
  }
}

for (const [label, size] of SIZES) {
  const group = `BLAKE3 ${label}`;
  for (const [impl, env] of ours) {
    cases.push({
      group,
      impl,
      env,
      bytes: size,
      setup: async () => {
        const m = await cep();
        requireNative(m);
        const d = input(size);
        const out = new Uint8Array(32);
        return () => consume(m.blake3(d, { out }));
      },
    });
  }
  for (const [impl, make] of Object.entries(blakePeers)) {
    cases.push({
      group,
      impl,
      peer: true,
      bytes: size,
      setup: async () => {
        const f = await make();
        const d = input(size);
        return () => consume(f(d));
      },
    });
  }
}

{
  const group = `BLAKE3 many ${LEAVES} × ${LEAF} B leaves`;
  const offsets = Uint32Array.from({ length: LEAVES + 1 }, (_, i) => i * LEAF);
  for (const [impl, env] of ours) {
    cases.push({
      group,
      impl,
      env,
      bytes: LEAVES * LEAF,
      setup: async () => {
        const m = await cep();
        requireNative(m);
        const d = input(LEAVES * LEAF);
        const out = new Uint8Array(LEAVES * 32);
        return () => consume(m.blake3Many(d, offsets, null, out));
      },
    });
  }
  for (const [impl, make] of Object.entries(blakePeers)) {
    cases.push({
      group,
      impl: `${impl} (one call per leaf)`,
      peer: true,
      bytes: LEAVES * LEAF,
      setup: async () => {
        const f = await make();
        const d = input(LEAVES * LEAF);
        const slices = Array.from({ length: LEAVES }, (_, i) => d.subarray(i * LEAF, (i + 1) * LEAF));
        return () => {
          for (let i = 0; i < LEAVES; i++) consume(f(slices[i]));
        };
      },
    });
  }
}
