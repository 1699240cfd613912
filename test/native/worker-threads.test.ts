import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { loadBinding } from '../../src/native/index.js';

const root = new URL('../..', import.meta.url).pathname;
const hasNative = loadBinding({ native: true }).info.backend === 'native';

// The addon must be safe to load in several worker threads at once (context-aware, no shared
// JS state) and give the same bytes there.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(require.resolve('node-gyp-build', { paths: [workerData.root] }))(workerData.root);
const data = Buffer.alloc(100000, workerData.fill);
const out = new Uint8Array(32);
binding.blake3(data, null, 0, out, 0);
const h = binding.blake3Hasher(null, 0);
h.update(data.subarray(0, 5000));
h.update(data.subarray(5000));
const inc = new Uint8Array(32);
h.finalize(inc, 0);
parentPort.postMessage({ crc: binding.crc32c(data, 0), hash: Buffer.from(out).toString('hex'), inc: Buffer.from(inc).toString('hex') });
`;

describe('native addon in worker threads', () => {
  it.skipIf(!hasNative)('loads in four workers at once and matches the fallback', async () => {
    const runs = [1, 2, 3, 4].map(
      (fill) =>
        new Promise<{ fill: number; crc: number; hash: string; inc: string }>((resolve, reject) => {
          const worker = new Worker(workerSource, { eval: true, workerData: { root, fill } });
          worker.once('message', (m) => resolve({ fill, ...m }));
          worker.once('error', reject);
        }),
    );
    for (const r of await Promise.all(runs)) {
      const data = new Uint8Array(100000).fill(r.fill);
      const want = new Uint8Array(32);
      fallbackBinding.blake3(data, null, 0, want, 0);
      expect(r.crc).toBe(fallbackBinding.crc32c(data, 0));
      expect(r.hash).toBe(Buffer.from(want).toString('hex'));
      expect(r.inc).toBe(r.hash);
    }
  });
});
