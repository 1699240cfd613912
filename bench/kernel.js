// Kernel data-model benchmark: 1M VALUE cells (8-byte payloads) under one name-indexed
// dictionary. Phases: insert, lookup by name, update each once (next beat), read each at the
// previous beat. Reports cells/s per phase and heap bytes per live cell (one history entry).
//
//   node --expose-gc bench/kernel.js [insert|lookup|update|readPrev|all] [--json] [--cells=N]
//
// `all` (the default) runs every case in its own fresh process. A single case runs the phases
// it depends on first, untimed. Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { machine } from './machine.js';
import { fileURLToPath } from 'node:url';

const PHASES = ['insert', 'lookup', 'update', 'readPrev'];
const args = process.argv.slice(2);
const json = args.includes('--json');
const cellsArg = args.find((a) => a.startsWith('--cells='));
const N = cellsArg ? Number(cellsArg.slice(8)) : 1_000_000;
const which = args.find((a) => !a.startsWith('--')) ?? 'all';
const self = fileURLToPath(import.meta.url);

if (!PHASES.includes(which) && which !== 'all') {
  console.error(`unknown case ${which}: one of ${PHASES.join(', ')}, all`);
  process.exit(2);
}

if (typeof globalThis.gc !== 'function') {
  // heap figures need a forced GC: re-run under --expose-gc
  const r = spawnSync(process.execPath, ['--expose-gc', self, ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

function loadKernel() {
  return import('../dist/index.js');
}

function heap() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

async function runCase(target) {
  const { createRuntime } = await loadKernel();

  // warm the JIT on a throwaway runtime
  {
    const rt = createRuntime();
    const d = rt.find('/data').add('warm');
    const v = new Uint8Array(8);
    for (let i = 1; i <= 200_000; i++) {
      v[0] = i & 255;
      d.add(i, { value: v });
    }
    rt.advance();
    for (let i = 1; i <= 200_000; i++) d.child(i).set(v);
    for (let i = 1; i <= 200_000; i++) d.child(i).valueAt(0);
  }

  const base = heap();
  const rt = createRuntime();
  const dict = rt.find('/data').add('bench', { store: 'hash', indexing: 'name' });
  const v = new Uint8Array(8);
  const dv = new DataView(v.buffer);
  const out = { cells: N };
  const time = (name, fn) => {
    const t0 = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (name === target || target === 'all') out[name] = { cellsPerSec: Math.round(N / s), seconds: s };
  };

  time('insert', () => {
    for (let i = 1; i <= N; i++) {
      dv.setFloat64(0, i);
      dict.add(i, { value: v });
    }
  });
  {
    const h = heap();
    out.heapBytesPerCellInserted = (h.heapUsed - base.heapUsed) / N;
    out.arrayBufferBytesPerCellInserted = (h.arrayBuffers - base.arrayBuffers) / N;
  }
  if (target === 'insert') return out;

  let misses = 0;
  time('lookup', () => {
    for (let i = 1; i <= N; i++) if (dict.child(i) === undefined) misses++;
  });
  if (misses !== 0) throw new Error(`lookup missed ${misses} cells`);
  if (target === 'lookup') return out;

  const prev = rt.beat;
  rt.advance();
  time('update', () => {
    for (let i = 1; i <= N; i++) {
      dv.setFloat64(0, -i);
      dict.child(i).set(v);
    }
  });
  {
    const h = heap();
    out.heapBytesPerCell = (h.heapUsed - base.heapUsed) / N;
    out.arrayBufferBytesPerCell = (h.arrayBuffers - base.arrayBuffers) / N;
    out.historyEntries = rt.stats().historyEntries;
  }
  if (target === 'update') return out;

  let bad = 0;
  time('readPrev', () => {
    for (let i = 1; i <= N; i++) {
      const b = dict.child(i).valueAt(prev);
      if (b === undefined || b.length !== 8) bad++;
    }
  });
  if (bad !== 0) throw new Error(`readPrev failed on ${bad} cells`);
  // spot-check the values read back
  for (const i of [1, 2, N >> 1, N]) {
    const b = dict.child(i).valueAt(prev);
    if (new DataView(b.buffer, b.byteOffset).getFloat64(0) !== i) throw new Error(`wrong past value for ${i}`);
    const c = dict.child(i).value;
    if (new DataView(c.buffer, c.byteOffset).getFloat64(0) !== -i) throw new Error(`wrong value for ${i}`);
  }
  return out;
}

const TARGETS = { insert: 2e6, lookup: 10e6, heapBytesPerCell: 200 };

function printTable(r) {
  const fmt = (x) => (x === undefined ? '-' : `${(x / 1e6).toFixed(2)} M cells/s`);
  console.log(`\n## kernel: ${r.cells.toLocaleString('en-US')} VALUE cells (8 B) under one name-indexed dictionary (hash store)`);
  console.log('| phase | rate | target |');
  console.log('| --- | --- | --- |');
  for (const p of PHASES) {
    const t = TARGETS[p] ? `>= ${(TARGETS[p] / 1e6).toFixed(0)} M/s` : '';
    console.log(`| ${p} | ${fmt(r[p]?.cellsPerSec)} | ${t} |`);
  }
  if (r.heapBytesPerCell !== undefined) {
    console.log(`| heap per live cell (1 history entry) | ${r.heapBytesPerCell.toFixed(1)} B | <= ${TARGETS.heapBytesPerCell} B |`);
    console.log(`| + off-heap (arena, history columns) | ${r.arrayBufferBytesPerCell.toFixed(1)} B | |`);
  }
  if (r.heapBytesPerCellInserted !== undefined) {
    console.log(`| heap per live cell (no history) | ${r.heapBytesPerCellInserted.toFixed(1)} B | |`);
  }
}

if (which === 'all') {
  const merged = { cells: N };
  for (const p of PHASES) {
    const r = spawnSync(process.execPath, ['--expose-gc', self, p, '--json', `--cells=${N}`], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exit(r.status ?? 1);
    }
    const res = JSON.parse(r.stdout.trim().split('\n').pop());
    merged[p] = res[p];
    for (const k of Object.keys(res)) if (k.startsWith('heap') || k.startsWith('arrayBuffer') || k === 'historyEntries') merged[k] ??= res[k];
    if (p === 'update') {
      merged.heapBytesPerCell = res.heapBytesPerCell;
      merged.arrayBufferBytesPerCell = res.arrayBufferBytesPerCell;
    }
  }
  if (json) {
    console.log(JSON.stringify(merged));
  } else {
    printTable(merged);
    const results = new URL('./results/kernel.json', import.meta.url);
    writeFileSync(results, `${JSON.stringify({ machine: machine(), results: merged }, null, 2)}\n`);
  }
} else {
  const r = await runCase(which);
  if (json) console.log(JSON.stringify(r));
  else printTable(r);
}
