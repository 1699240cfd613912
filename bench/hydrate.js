// Lazy hydration benchmark (docs/persistence.md, "Lazy branches"). Every case runs in its own
// fresh process (`--expose-gc`, so heap figures are after a full collection).
//
//   open    opening a store whose branch /data/big holds 100k cells (100 groups × 1,000 leaves,
//           8-byte values, a checkpoint and later deltas): the whole load (frames applied) vs
//           the lazy one (an index of the branch and one cold stub); time to a usable runtime
//           and heap held by the runtime afterwards. lmdb opening a 100k-key database for context.
//   access  first access of one leaf of the lazy branch (`rt.find(path).value`: the path's
//           child lists and the leaf's payload load, a positioned read of one record checked
//           against its CRC32C), p50 / p99 over many samples, each on a branch evicted back to
//           one cold stub (`rt.evict`); native and fallback; lmdb `get` of one key of a
//           100k-key database for context (page cache warm in every case).
//
//   node bench/hydrate.js [--quick] [--json]
//   node bench/hydrate.js <case> <impl> <store dir> <lmdb dir>     (one case, prints one JSON line)
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`. Temp stores go to
// HYDRATE_BENCH_DIR (default: the OS temp folder) and are removed afterwards.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './machine.js';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const json = args.includes('--json');
const positional = args.filter((a) => !a.startsWith('--'));
const GROUPS = 100;
const LEAVES = 1000;
const CELLS = GROUPS * LEAVES;
const SAMPLES = quick ? 50 : 400;
const BASE = process.env.HYDRATE_BENCH_DIR ?? os.tmpdir();

const CASES = {
  open: ['cep whole load (native)', 'cep lazy (native)', 'cep lazy (fallback TS)', 'lmdb open (100k keys)'],
  access: ['cep lazy (native)', 'cep lazy (fallback TS)', 'lmdb get (100k keys)'],
};
const isPeer = (impl) => impl.startsWith('lmdb');
const cep = () => import('../dist/index.js');
const key = (g, l) => `${g}/${l}`;

/** Writes the 100k-cell store (one beat building it, a checkpoint, then a few delta beats) and the lmdb peer. */
async function build(dir, lmdbDir) {
  const m = await cep();
  const rt = m.createRuntime({ store: { dir, checkpointEvery: 0 }, record: false });
  rt.registerEnzyme({
    name: 'fill',
    signal: 'b/fill',
    run(ctx) {
      const data = ctx.rt.find('/data');
      const step = ctx.payload.step;
      if (step === 0) {
        const big = data.add('big');
        for (let g = 1; g <= GROUPS; g++) {
          const grp = big.add(g);
          for (let l = 1; l <= LEAVES; l++) grp.add(l, { value: `v${String(g * LEAVES + l).padStart(7, '0')}` });
        }
      } else
        data
          .child('big')
          .child(step)
          .child(1)
          .set(`u${String(step).padStart(7, '0')}`);
    },
  });
  rt.bind('/data', 'fill');
  rt.enqueue('b/fill', '/data', { step: 0 });
  rt.step();
  await rt.verbs.checkpoint('big');
  for (let step = 1; step <= 8; step++) {
    rt.enqueue('b/fill', '/data', { step });
    rt.step();
  }
  await rt.close();
  const { open } = await import('lmdb');
  const db = open({ path: lmdbDir, compression: false });
  await db.transaction(() => {
    for (let g = 1; g <= GROUPS; g++) for (let l = 1; l <= LEAVES; l++) db.put(key(g, l), `v${String(g * LEAVES + l).padStart(7, '0')}`);
  });
  await db.close();
}

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Deterministic sample positions (a linear congruential walk over the leaves). */
function positions(n) {
  const out = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push([1 + (x % GROUPS), 1 + (Math.floor(x / GROUPS) % LEAVES)]);
  }
  return out;
}

async function openCase(impl, dir, lmdbDir) {
  // modules load first: the heap figure is what opening adds
  const { open } = await import('lmdb');
  const m = await cep();
  const before = heap();
  if (impl.startsWith('lmdb')) {
    const t0 = process.hrtime.bigint();
    const db = open({ path: lmdbDir, compression: false });
    db.get(key(1, 1));
    const ns = Number(process.hrtime.bigint() - t0);
    const bytes = heap() - before;
    await db.close();
    return { ms: ns / 1e6, heapBytes: bytes };
  }
  const lazy = impl.includes('lazy');
  const t0 = process.hrtime.bigint();
  const rt = m.createRuntime({ store: { dir, branches: lazy ? { big: { lazy: true } } : {} }, record: false });
  const ns = Number(process.hrtime.bigint() - t0);
  const bytes = heap() - before;
  let cells = 0;
  rt.find('/data')
    .childrenRaw()
    .find((c) => c.name === 'big')
    .traverse(() => void cells++, { raw: true, warm: false });
  await rt.close();
  return { ms: ns / 1e6, heapBytes: bytes, kernelCells: cells };
}

async function accessCase(impl, dir, lmdbDir) {
  const at = positions(SAMPLES);
  const times = [];
  if (impl.startsWith('lmdb')) {
    const { open } = await import('lmdb');
    const db = open({ path: lmdbDir, compression: false });
    for (const [g, l] of at) {
      const t0 = process.hrtime.bigint();
      const v = db.get(key(g, l));
      times.push(Number(process.hrtime.bigint() - t0));
      if (typeof v !== 'string') throw new Error('lmdb lost a key');
    }
    await db.close();
  } else {
    const m = await cep();
    const rt = m.createRuntime({ store: { dir, branches: { big: { lazy: true } } }, record: false });
    for (const [g, l] of at) {
      rt.evict('/data/big');
      const t0 = process.hrtime.bigint();
      const v = rt.find(`/data/big/${g}/${l}`).value;
      times.push(Number(process.hrtime.bigint() - t0));
      if (v === undefined || v.length !== 8) throw new Error('a leaf came back wrong');
    }
    await rt.close();
  }
  return { p50Us: percentile(times, 50) / 1e3, p99Us: percentile(times, 99) / 1e3, samples: times.length };
}

if (positional.length === 4) {
  const [group, impl, dir, lmdbDir] = positional;
  try {
    const out = group === 'open' ? await openCase(impl, dir, lmdbDir) : await accessCase(impl, dir, lmdbDir);
    console.log(JSON.stringify({ ok: true, ...out }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e).split('\n')[0] }));
  }
  process.exit(0);
}

const dir = fs.mkdtempSync(path.join(BASE, 'cep-bench-hydrate-'));
const lmdbDir = fs.mkdtempSync(path.join(BASE, 'cep-bench-hydrate-lmdb-'));
const results = [];
try {
  await build(dir, lmdbDir);
  for (const [group, impls] of Object.entries(CASES)) {
    for (const impl of impls) {
      const env = { ...process.env, CEP_NATIVE: impl.includes('fallback') ? '0' : '1' };
      const child = spawnSync(process.execPath, ['--expose-gc', self, group, impl, dir, lmdbDir], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      let r;
      try {
        r = JSON.parse(line);
      } catch {
        r = { ok: false, error: `exit ${child.status}: ${child.stderr.trim().split('\n').pop()}` };
      }
      results.push({ group, impl, peer: isPeer(impl), ...r });
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(lmdbDir, { recursive: true, force: true });
}

const info = machine();
const load = os.loadavg()[0].toFixed(2);
const find = (group, impl) => results.find((r) => r.group === group && r.impl === impl);
const whole = find('open', 'cep whole load (native)');
const lmdbGet = find('access', 'lmdb get (100k keys)');
if (json) console.log(JSON.stringify({ machine: info, quick, load, results }));
else {
  console.log(`# lazy hydration — ${info.cpu}, ${info.cores} cores, Node ${info.node}, load ${load}${quick ? ' (quick)' : ''}`);
  console.log(`\n## open: a store with a ${CELLS.toLocaleString('en-US')}-cell branch\n`);
  console.log('| implementation | open time | heap after open | kernel cells of the branch | vs whole load (time, heap) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of results.filter((x) => x.group === 'open')) {
    if (!r.ok) {
      console.log(`| ${r.impl} | — | unavailable: ${r.error} | | |`);
      continue;
    }
    const vs = whole?.ok && r !== whole && !r.peer ? `${(whole.ms / r.ms).toFixed(1)}× faster, ${(whole.heapBytes / Math.max(1, r.heapBytes)).toFixed(1)}× less` : '';
    console.log(`| ${r.impl} | ${r.ms.toFixed(1)} ms | ${(r.heapBytes / 2 ** 20).toFixed(1)} MiB | ${r.kernelCells ?? '—'} | ${vs} |`);
  }
  console.log(`\n## access: first access of one leaf, cold (p50 / p99 over ${SAMPLES} samples)\n`);
  console.log('| implementation | p50 | p99 | vs lmdb get (p50) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of results.filter((x) => x.group === 'access')) {
    if (!r.ok) {
      console.log(`| ${r.impl} | — | unavailable: ${r.error} | |`);
      continue;
    }
    const vs = lmdbGet?.ok && !r.peer ? `${(r.p50Us / lmdbGet.p50Us).toFixed(0)}× slower` : '';
    console.log(`| ${r.impl} | ${r.p50Us.toFixed(1)} µs | ${r.p99Us.toFixed(1)} µs | ${vs} |`);
  }
  fs.mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  fs.writeFileSync(new URL('./results/hydrate.json', import.meta.url), `${JSON.stringify({ machine: info, quick, load, results }, null, 2)}\n`);
}
