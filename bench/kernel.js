// Kernel data-model benchmark: VALUE cells under one name-indexed dictionary (hash store), named
// the ways servers name their state — integers, words, `user-<n>`, UUIDs — with 8-byte values,
// ~100-byte JSON documents or 4 KiB blobs. Phases: insert, `child(name)` lookup, `find(path)`
// lookup, update each once (next beat), read each at the previous beat; heap bytes per live cell.
// Beside it, in the same run, the peer a server would otherwise use: a `Map` of `{ value, beat }`
// objects under the same keys (insert and get).
//
//   node --expose-gc bench/kernel.js [all|<phase>] [--names=int|word|user|uuid|all] [--value=8|json|4k|all]
//                                    [--cells=N] [--quick] [--json]
//
// `all` (the default) runs every phase of every shape in its own fresh process. The names are
// made before the timing starts, the same array for cep and the Map. 4 KiB values use a tenth of
// the cells (memory). Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machine } from './machine.js';
import { NAME_SHAPES as NAMES, namesOf } from './names.js';

const PHASES = ['insert', 'lookup', 'find', 'update', 'readPrev', 'mapInsert', 'mapGet'];
const VALUES = ['8', 'json', '4k'];
const args = process.argv.slice(2);
const json = args.includes('--json');
const opt = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
// --quick (npm run bench -- --quick): a third of the cells
const N = Number(opt('cells', args.includes('--quick') ? 100_000 : 300_000));
const which = args.find((a) => !a.startsWith('--')) ?? 'all';
const namesArg = opt('names', 'all');
const valueArg = opt('value', 'all');
const self = fileURLToPath(import.meta.url);

const bad = (what, v, list) => {
  console.error(`unknown ${what} ${v}: one of ${list.join(', ')}, all`);
  process.exit(2);
};
if (!PHASES.includes(which) && which !== 'all') bad('case', which, PHASES);
if (!NAMES.includes(namesArg) && namesArg !== 'all') bad('--names', namesArg, NAMES);
if (!VALUES.includes(valueArg) && valueArg !== 'all') bad('--value', valueArg, VALUES);

if (typeof globalThis.gc !== 'function') {
  // heap figures need a forced GC: re-run under --expose-gc
  const r = spawnSync(process.execPath, ['--expose-gc', self, ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/** The value written for cell `i` (its first 8 bytes carry `i`, so reads can be checked). */
function valueMaker(kind) {
  if (kind === '8') return { size: 8, fill: () => new Uint8Array(8) };
  if (kind === '4k') return { size: 4096, fill: () => new Uint8Array(4096).map((_, k) => k & 255) };
  const doc = JSON.stringify({ id: 12345678, name: 'user-12345678', email: 'user-12345678@example.com', plan: 'pro', active: true, n: 1 });
  return { size: doc.length, fill: () => new TextEncoder().encode(doc) };
}

const cellsFor = (value) => (value === '4k' ? Math.max(1, Math.floor(N / 10)) : N);

function heap() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

async function runCase(target, shape, value) {
  const { createRuntime } = await import('../dist/index.js');
  const n = cellsFor(value);
  const names = namesOf(shape, n);
  const paths = target === 'find' ? names.map((x) => `/data/bench/${x}`) : undefined;
  if (paths !== undefined) for (let i = 1; i <= n; i++) paths[i].charCodeAt(0); // flattened like the names
  const { fill } = valueMaker(value);
  const v = fill();
  const dv = new DataView(v.buffer);
  const out = { cells: n, names: shape, value };
  const time = (name, fn) => {
    const t0 = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (name === target) out[name] = { cellsPerSec: Math.round(n / s), seconds: s };
  };

  if (target === 'mapInsert' || target === 'mapGet') {
    // the peer: what a server keeps without cep, one object per key holding its own copy
    for (let w = 0; w < 2; w++) {
      const warm = new Map();
      for (let i = 1; i <= Math.min(n, 100_000); i++) warm.set(names[i], { value: v.slice(), beat: 1 });
    }
    const base = heap();
    const map = new Map();
    time('mapInsert', () => {
      for (let i = 1; i <= n; i++) {
        dv.setFloat64(0, i);
        map.set(names[i], { value: v.slice(), beat: 1 });
      }
    });
    const h = heap();
    out.mapHeapBytesPerCell = (h.heapUsed - base.heapUsed + h.arrayBuffers - base.arrayBuffers) / n;
    let misses = 0;
    time('mapGet', () => {
      for (let i = 1; i <= n; i++) if (map.get(names[i]) === undefined) misses++;
    });
    if (misses !== 0) throw new Error(`Map get missed ${misses} keys`);
    return out;
  }

  // warm the JIT on a throwaway runtime, with the same name shape
  {
    const rt = createRuntime();
    const d = rt.find('/data').add('warm');
    const k = Math.min(n, 100_000);
    for (let i = 1; i <= k; i++) d.add(names[i], { value: v });
    rt.advance();
    for (let i = 1; i <= k; i++) d.child(names[i]).set(v);
    for (let i = 1; i <= k; i++) d.child(names[i]).valueAt(0);
    for (let i = 1; i <= Math.min(k, 20_000); i++) rt.find(`/data/warm/${names[i]}`);
  }

  const base = heap();
  const rt = createRuntime();
  const dict = rt.find('/data').add('bench', { store: 'hash', indexing: 'name' });
  time('insert', () => {
    for (let i = 1; i <= n; i++) {
      dv.setFloat64(0, i);
      dict.add(names[i], { value: v });
    }
  });
  {
    const h = heap();
    out.heapBytesPerCellInserted = (h.heapUsed - base.heapUsed) / n;
    out.offHeapBytesPerCellInserted = (h.arrayBuffers - base.arrayBuffers) / n;
  }
  if (target === 'insert') return out;

  let misses = 0;
  time('lookup', () => {
    for (let i = 1; i <= n; i++) if (dict.child(names[i]) === undefined) misses++;
  });
  if (target === 'lookup') return check(out, misses);
  if (target === 'find') {
    time('find', () => {
      for (let i = 1; i <= n; i++) if (rt.find(paths[i]) === undefined) misses++;
    });
    return check(out, misses);
  }

  const prev = rt.beat;
  rt.advance();
  time('update', () => {
    for (let i = 1; i <= n; i++) {
      dv.setFloat64(0, -i);
      dict.child(names[i]).set(v);
    }
  });
  {
    const h = heap();
    out.heapBytesPerCell = (h.heapUsed - base.heapUsed) / n;
    out.offHeapBytesPerCell = (h.arrayBuffers - base.arrayBuffers) / n;
  }
  if (target === 'update') return out;

  time('readPrev', () => {
    for (let i = 1; i <= n; i++) if (dict.child(names[i]).valueAt(prev)?.length !== v.length) misses++;
  });
  // spot-check the values read back
  for (const i of [1, 2, n >> 1, n]) {
    const b = dict.child(names[i]).valueAt(prev);
    if (new DataView(b.buffer, b.byteOffset).getFloat64(0) !== i) throw new Error(`wrong past value for ${names[i]}`);
    const c = dict.child(names[i]).value;
    if (new DataView(c.buffer, c.byteOffset).getFloat64(0) !== -i) throw new Error(`wrong value for ${names[i]}`);
  }
  return check(out, misses);
}

function check(out, misses) {
  if (misses !== 0) throw new Error(`${misses} cells not found or not read back`);
  return out;
}

const rate = (r) => (r === undefined ? '-' : `${(r.cellsPerSec / 1e6).toFixed(2)} M/s`);
const ratio = (a, b) => (a === undefined || b === undefined ? '-' : `${(a.cellsPerSec / b.cellsPerSec).toFixed(2)}×`);
const bytes = (x) => (x === undefined ? '-' : `${x.toFixed(0)}`);

function printTable(rows) {
  console.log(`\n## kernel: cells under one name-indexed dictionary (hash store), by name shape and value size; peer: a Map of { value, beat }`);
  console.log(
    '| names | value | cells | insert | Map insert | insert vs Map | child(name) | find(path) | find vs child | Map get | update | readPrev | heap B/cell (no history) | + off-heap | heap B/cell (1 history entry) | Map B/cell |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.names} | ${r.value === '8' ? '8 B' : r.value === 'json' ? '~100 B JSON' : '4 KiB'} | ${r.cells.toLocaleString('en-US')} | ${rate(r.insert)} | ${rate(r.mapInsert)} | ${ratio(r.insert, r.mapInsert)} | ${rate(r.lookup)} | ${rate(r.find)} | ${ratio(r.find, r.lookup)} | ${rate(r.mapGet)} | ${rate(r.update)} | ${rate(r.readPrev)} | ${bytes(r.heapBytesPerCellInserted)} | ${bytes(r.offHeapBytesPerCellInserted)} | ${bytes(r.heapBytesPerCell)} | ${bytes(r.mapHeapBytesPerCell)} |`,
    );
  }
}

function runChild(phase, shape, value) {
  const r = spawnSync(process.execPath, ['--expose-gc', self, phase, '--json', `--cells=${N}`, `--names=${shape}`, `--value=${value}`], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(r.status ?? 1);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

if (which === 'all') {
  const rows = [];
  for (const shape of namesArg === 'all' ? NAMES : [namesArg]) {
    for (const value of valueArg === 'all' ? VALUES : [valueArg]) {
      const merged = { names: shape, value, cells: cellsFor(value) };
      for (const p of PHASES) {
        const res = runChild(p, shape, value);
        for (const [k, x] of Object.entries(res)) merged[k] ??= x;
        if (p === 'mapInsert') merged.mapHeapBytesPerCell = res.mapHeapBytesPerCell;
        process.stderr.write('.');
      }
      rows.push(merged);
    }
  }
  process.stderr.write('\n');
  if (json) console.log(JSON.stringify(rows));
  else {
    printTable(rows);
    writeFileSync(new URL('./results/kernel.json', import.meta.url), `${JSON.stringify({ machine: machine(), results: rows }, null, 2)}\n`);
  }
} else {
  const shape = namesArg === 'all' ? 'int' : namesArg;
  const value = valueArg === 'all' ? '8' : valueArg;
  const r = await runCase(which, shape, value);
  if (json) console.log(JSON.stringify(r));
  else printTable([r]);
}
