// Deep trees benchmark: `step()` of a beat that builds N cells (8-byte values) as one chain N
// deep (/data/deep/n/n/...) against the same N cells flat (/data/flat/1 .. N), native and
// fallback (CEP_NATIVE=0), and the ratio deep / flat. The beat's cost (the adds, the beat digest
// over the touched cells, commit) must follow the number of cells, not their depth: walks over
// the tree are iterative and linear (docs/kernel.md, "Depth").
//
// Each case runs in its own fresh process: a warm-up beat of N/10 cells in a throwaway runtime,
// then ROUNDS beats of N cells, each in a fresh runtime; the best round is reported (on a shared
// machine the fastest round is the one least disturbed) with the median beside it.
//
//   node bench/deep.js [--quick] [--json] [--cells=N] [--dist=DIR]
//
// --quick: 20,000 cells and 3 rounds. --dist: another compiled output to measure (an older
// build, for a before / after). Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './machine.js';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const json = args.includes('--json');
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const CELLS = Number(option('cells') ?? (quick ? 20_000 : 100_000));
const ROUNDS = quick ? 3 : 5;
const DIST = path.resolve(option('dist') ?? fileURLToPath(new URL('../dist/', import.meta.url)));
const SHAPES = ['flat', 'deep'];
const IMPLS = ['native', 'fallback'];

/** One beat building `n` cells of `shape` in a fresh runtime; returns the step() time in ms. */
function beat(m, shape, n) {
  const rt = m.createRuntime({ record: false });
  const v = new Uint8Array(8);
  rt.registerEnzyme({
    name: 'build',
    signal: 'bench/build',
    run(ctx) {
      const data = ctx.rt.find('/data');
      let c = data.add(shape);
      for (let i = 1; i <= n; i++) {
        v[0] = i & 255;
        if (shape === 'deep') c = c.add('n', { value: v });
        else c.add(i, { value: v });
      }
    },
  });
  rt.bind('/data', 'build');
  rt.enqueue('bench/build', '/data');
  const t0 = process.hrtime.bigint();
  rt.step();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let cells = 0;
  rt.find(`/data/${shape}`).traverse(() => void cells++);
  if (cells !== n + 1) throw new Error('the beat did not build the tree');
  return ms;
}

if (option('case') !== undefined) {
  const shape = option('case');
  try {
    const m = await import(pathToFileURL(path.join(DIST, 'index.js')).href);
    beat(m, shape, Math.max(1, Math.floor(CELLS / 10))); // warm-up (JIT)
    const times = [];
    for (let r = 0; r < ROUNDS; r++) times.push(beat(m, shape, CELLS));
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ ok: true, backend: m.nativeInfo().backend, bestMs: times[0], medianMs: times[times.length >> 1], times }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e).split('\n')[0] }));
  }
  process.exit(0);
}

const results = [];
for (const impl of IMPLS) {
  for (const shape of SHAPES) {
    const env = { ...process.env, CEP_NATIVE: impl === 'fallback' ? '0' : '1' };
    const child = spawnSync(process.execPath, [self, `--case=${shape}`, `--cells=${CELLS}`, `--dist=${DIST}`, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      r = { ok: false, error: `exit ${child.status}: ${child.stderr.trim().split('\n').pop()}` };
    }
    results.push({ impl, shape, cells: CELLS, ...r });
    process.stderr.write('.');
  }
}
process.stderr.write('\n');

const info = machine();
const load = os.loadavg()[0].toFixed(2);
if (json) console.log(JSON.stringify({ machine: info, quick, load, cells: CELLS, results }));
else {
  console.log(`# deep trees — ${info.cpu}, ${info.cores} cores, Node ${info.node}, load ${load}${quick ? ' (quick)' : ''}`);
  console.log(`\n## step() of a beat building ${CELLS.toLocaleString('en-US')} cells: one chain that deep vs flat under one parent\n`);
  console.log('| implementation | flat (best / median) | deep (best / median) | deep / flat (best) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const impl of IMPLS) {
    const flat = results.find((r) => r.impl === impl && r.shape === 'flat');
    const deep = results.find((r) => r.impl === impl && r.shape === 'deep');
    const cell = (r) => (r.ok ? `${r.bestMs.toFixed(0)} / ${r.medianMs.toFixed(0)} ms` : `unavailable: ${r.error}`);
    const ratio = flat.ok && deep.ok ? `${(deep.bestMs / flat.bestMs).toFixed(2)}×` : '—';
    console.log(`| ${impl} | ${cell(flat)} | ${cell(deep)} | ${ratio} |`);
  }
  if (option('dist') !== undefined) process.exit(0); // another build's figures are not this tree's results
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/deep.json', import.meta.url), `${JSON.stringify({ machine: info, quick, load, cells: CELLS, results }, null, 2)}\n`);
}
