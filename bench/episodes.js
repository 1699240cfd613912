// Episode (E3) benchmark.
//
//  1. Scheduling overhead: 10k live episodes each yielding every beat; µs per slice for the whole
//     beat (the FIFO queue, the slice context, the RO guard, the yield cycle's continuation, the
//     heartbeat and its digest), with an empty slice body. Also the dossier's growth: payload
//     history entries and dossier cells added per slice in the steady state (bounded: 0).
//     Native, fallback, native without recording, and a bare generator loop (10k generators
//     stepped once per beat: no dossiers, no replay) for scale.
//  2. CPU-bound read-only module slices (about 1 ms each): wall time to finish 64 episodes of 4
//     slices on the stub backend (runtime thread) and on the threaded backend (2 worker
//     threads; a yielding slice's next slice runs ahead of its beat as a guess, adopted when its
//     input proves the same); speed-up of threaded over stub, with piscina (2 threads) running
//     the same 256 tasks as the npm peer and the machine's ceiling.
//
//   node bench/episodes.js [--quick]
//   node --expose-gc bench/episodes.js --case=cpu:threaded:<iters> --rounds=10   (one case, for A/B runs)
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine } from './machine.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
// measured rounds per process (A/B runs of one case: `--case=cpu:threaded:<iters> --rounds=10`)
const roundsArg = args.find((a) => a.startsWith('--rounds='));
const ROUNDS = roundsArg !== undefined ? Number(roundsArg.slice(9)) : quick ? 2 : 6;
/**
 * Unmeasured rounds first, in every process and for every implementation: V8's optimizing
 * compiler keeps working through the first rounds of a fresh process (26, 16, 18, 11, 12
 * functions compiled in rounds 1-5 of the threaded case, 2-3 a round after round 15), on
 * helper threads that take CPU from the workers on two cores, while the stub gets them for
 * free on its idle second core. A server runs warm; so does the measure.
 */
const warmArg = args.find((a) => a.startsWith('--warm='));
const WARM = warmArg !== undefined ? Number(warmArg.slice(7)) : quick ? 1 : 8;
const self = fileURLToPath(import.meta.url);
const SLICES = new URL('./fixtures/episode-slices.mjs', import.meta.url);
const LIVE = 10_000;
const CPU_EPISODES = 64;
const CPU_SLICES = 4;
const TARGET_US = 2;
const TARGET_SPEEDUP = 1.8;

// ---- cases (each in a fresh process) -----------------------------------------------------------

async function yieldCase(record) {
  const { createRuntime } = await import('../dist/index.js');
  const rt = createRuntime({ record });
  let calls = 0;
  const body = (ctx) => {
    calls++;
    ctx.yield();
  };
  for (let i = 0; i < LIVE; i++) rt.episodes.start({ signal: 'bench/tick', target: '/data', profile: 'ro', slice: body });
  const warm = quick ? 2 : 3;
  const beats = quick ? 3 : 5;
  for (let b = 0; b < warm; b++) rt.step();
  const ops = rt.find('/rt/ops');
  const dossierCells = () => {
    let n = 0;
    ops.traverse(() => void n++);
    return n;
  };
  const hist0 = rt.history.live;
  const cells0 = dossierCells();
  // best of three rounds: on a shared machine the fastest is the least disturbed
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let b = 0; b < beats; b++) rt.step();
    best = Math.min(best, ((performance.now() - t0) * 1000) / (beats * LIVE));
  }
  const slices = 3 * beats * LIVE;
  // every live episode ran one slice in every beat (nothing skipped, nothing ran twice)
  if (calls !== (warm + 3 * beats) * LIVE || rt.episodes.active !== LIVE) throw new Error(`expected ${(warm + 3 * beats) * LIVE} slices, ran ${calls}`);
  return { usPerSlice: best, historyPerSlice: (rt.history.live - hist0) / slices, cellsPerSlice: (dossierCells() - cells0) / slices };
}

function generatorCase() {
  function* ep() {
    for (;;) yield;
  }
  const gens = Array.from({ length: LIVE }, () => ep());
  const beats = quick ? 5 : 20;
  let best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    for (let b = 0; b < beats; b++) for (const g of gens) g.next();
    best = Math.min(best, ((performance.now() - t0) * 1000) / (beats * LIVE));
  }
  return { usPerSlice: best };
}

/**
 * CPU time of the runtime (main) thread alone, in ms: the kernel's per-thread run time
 * (`/proc/<pid>/task/<pid>/schedstat`, nanoseconds), since Node 20 has no
 * `process.threadCpuUsage` and `process.cpuUsage` sums the workers in. Undefined off Linux.
 */
function mainThreadCpuMs() {
  try {
    return Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Iterations of the hash loop that take about 1 ms of CPU here. Measured in CPU time, not wall
 * time: on a loaded machine the wall clock also counts the time this process waits for a core,
 * which would shrink the slices (to 0.3-0.4 ms at a load average of 9) and turn the case into a
 * measure of per-slice overhead.
 */
async function calibrate() {
  const { burn } = await import(SLICES.href);
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let iters = 100_000;
  for (let round = 0; round < 5; round++) {
    const t0 = cpuMs();
    for (let k = 0; k < 20; k++) burn(k, iters);
    const ms = (cpuMs() - t0) / 20;
    iters = Math.max(1000, Math.round((iters * 1) / ms));
  }
  return iters;
}

async function cpuCase(executor, iters) {
  const { createRuntime } = await import('../dist/index.js');
  const rt = createRuntime({ executor, threads: 2, record: false });
  rt.find('/data').add('in', { value: 'x' });
  await rt.episodes.load(SLICES);
  const run = async () => {
    for (let i = 0; i < CPU_EPISODES; i++)
      rt.episodes.start({ signal: 'bench/cpu', target: '/data/in', profile: 'ro', state: { h: i, iters, left: CPU_SLICES }, slice: { module: SLICES, name: 'spin' }, reads: ['/data/in'] });
    const c0 = mainThreadCpuMs();
    const t0 = performance.now();
    await rt.episodes.run();
    const ms = performance.now() - t0;
    return { ms, cpuMs: c0 === undefined ? undefined : mainThreadCpuMs() - c0 };
  };
  for (let r = 0; r < WARM; r++) await run(); // warm-up (JIT, worker start)
  const o0 = rt.episodes.offloaded;
  const a0 = rt.episodes.ranAhead;
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await run());
  const offloaded = rt.episodes.offloaded - o0;
  const ranAhead = rt.episodes.ranAhead - a0;
  await rt.episodes.close();
  return { ...measured(rounds), offloaded, ranAhead };
}

/**
 * The fastest round (the least disturbed on a shared machine), the median round's wall time, and
 * the median round's runtime-thread CPU (steadier than the best round's for A/B runs).
 */
function measured(rounds) {
  const median = (xs) => (xs.length > 0 ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : undefined);
  const best = rounds.reduce((a, b) => (b.ms < a.ms ? b : a));
  const cpus = rounds.map((x) => x.cpuMs).filter((x) => x !== undefined);
  return { ...best, medianMs: median(rounds.map((x) => x.ms)), medianCpuMs: median(cpus), rounds: rounds.length };
}

async function piscinaCase(iters) {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({ filename: SLICES.href, minThreads: 2, maxThreads: 2 });
  const run = async () => {
    const c0 = mainThreadCpuMs();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CPU_EPISODES * CPU_SLICES }, (_, i) => pool.run({ h: i, iters })));
    const ms = performance.now() - t0;
    return { ms, cpuMs: c0 === undefined ? undefined : mainThreadCpuMs() - c0 };
  };
  for (let r = 0; r < WARM; r++) await run();
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await run());
  await pool.destroy();
  return measured(rounds);
}

const caseArg = args.find((a) => a.startsWith('--case='));
if (caseArg) {
  const [kind, impl, iters] = caseArg.slice(7).split(':');
  let r;
  if (kind === 'yield') r = impl === 'generators' ? generatorCase() : await yieldCase(impl !== 'native-norecord');
  else if (kind === 'calibrate') r = { iters: await calibrate() };
  else if (impl === 'piscina') r = await piscinaCase(Number(iters));
  else r = await cpuCase(impl, Number(iters));
  console.log(JSON.stringify({ ok: true, ...r }));
  process.exit(0);
}

// ---- the parent ------------------------------------------------------------------------------

function child(kase, native = true) {
  const env = { ...process.env, CEP_NATIVE: native ? '1' : '0' };
  const c = spawnSync(process.execPath, [self, `--case=${kase}`, ...args.filter((a) => a === '--quick' || a.startsWith('--rounds=') || a.startsWith('--warm='))], { env, encoding: 'utf8' });
  try {
    return JSON.parse(c.stdout.trim().split('\n').pop());
  } catch {
    return { ok: false, error: (c.stderr || c.stdout).trim().split('\n').pop() };
  }
}

const info = machine();
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`# episodes — ${info.cpu}, ${info.cores} cores, Node ${info.node}${quick ? ' (quick)' : ''}; load average at start ${load()}`);

/**
 * Every case twice, in forward then reverse order, keeping each one's lowest `key` (load
 * spikes on a shared machine must not pick the winner). Rows without a result carry the error.
 */
function lowestOf(impls, kase, key, native = () => true) {
  const rows = impls.map((impl) => ({ impl }));
  for (const impl of [...impls, ...[...impls].reverse()]) {
    const r = child(kase(impl), native(impl));
    const row = rows.find((x) => x.impl === impl);
    const medianMs = Math.min(row.medianMs ?? Infinity, r.medianMs ?? Infinity); // the lower process median, kept on its own
    if (r.ok && (row[key] === undefined || r[key] < row[key])) Object.assign(row, r);
    else if (!r.ok && row[key] === undefined) row.error = r.error;
    if (medianMs !== Infinity) row.medianMs = medianMs;
  }
  return rows;
}

// 1. scheduling overhead
const yieldRows = lowestOf(
  ['native', 'fallback', 'native-norecord', 'generators'],
  (impl) => `yield:${impl}`,
  'usPerSlice',
  (impl) => impl !== 'fallback',
);
console.log(`\n## ${LIVE / 1000}k live episodes, each yielding every beat: scheduling overhead per slice\n`);
console.log('| implementation | µs per slice | slices/s | dossier growth per slice (history entries, cells) | target | met |');
console.log('| --- | ---: | ---: | ---: | ---: | :---: |');
for (const r of yieldRows) {
  if (r.usPerSlice === undefined) {
    console.log(`| ${r.impl} | unavailable: ${r.error} | — | — | — | — |`);
    continue;
  }
  const peer = r.impl === 'generators';
  r.target = peer ? undefined : TARGET_US;
  r.met = peer ? undefined : r.usPerSlice <= TARGET_US;
  const growth = peer ? '—' : `${r.historyPerSlice}, ${r.cellsPerSlice}`;
  const met = r.met === undefined ? '—' : r.met ? `yes (${(TARGET_US / r.usPerSlice).toFixed(1)}× under)` : `no (${(r.usPerSlice / TARGET_US).toFixed(1)}× over)`;
  console.log(`| ${r.impl} | ${r.usPerSlice.toFixed(2)} | ${Math.round(1e6 / r.usPerSlice).toLocaleString('en-US')} | ${growth} | ${peer ? '—' : `≤ ${TARGET_US}`} | ${met} |`);
}

// 2. CPU-bound RO slices
const cal = child('calibrate:-');
const iters = cal.ok ? cal.iters : 300_000;
const loadBefore = load();
const cpuRows = lowestOf(['stub', 'threaded', 'piscina'], (impl) => `cpu:${impl}:${iters}`, 'ms');
const stub = cpuRows.find((r) => r.impl === 'stub');
console.log(`\n## CPU-bound RO slices: ${CPU_EPISODES} episodes × ${CPU_SLICES} slices of about 1 ms (${iters.toLocaleString('en-US')} hash rounds), 2 worker threads\n`);
console.log(`load average before ${loadBefore}, after ${load()}; ${WARM} unmeasured rounds, then ${ROUNDS} measured, in each of two processes per implementation\n`);
console.log('| implementation | wall ms (fastest round) | median round ms | runtime-thread CPU ms | speed-up over stub (fastest; medians) | target | met |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | :---: |');
const piscinaRow = cpuRows.find((r) => r.impl === 'piscina');
for (const r of cpuRows) {
  if (r.ms === undefined) {
    console.log(`| ${r.impl} | unavailable: ${r.error} | — | — | — | — | — |`);
    continue;
  }
  r.medianSpeedup = stub?.medianMs !== undefined && r.medianMs !== undefined ? stub.medianMs / r.medianMs : undefined;
  const cpu = r.cpuMs === undefined ? '—' : r.cpuMs.toFixed(1);
  r.speedup = stub?.ms !== undefined ? stub.ms / r.ms : undefined;
  const targeted = r.impl === 'threaded';
  r.target = targeted ? TARGET_SPEEDUP : undefined;
  r.met = targeted && r.speedup !== undefined ? r.speedup >= TARGET_SPEEDUP : undefined;
  const sp = r.speedup === undefined ? '—' : `${r.speedup.toFixed(2)}×${r.medianSpeedup === undefined ? '' : `; ${r.medianSpeedup.toFixed(2)}×`}`;
  if (targeted && piscinaRow?.ms !== undefined) r.ofPiscina = piscinaRow.ms / r.ms;
  const ceiling = r.ofPiscina === undefined ? '' : `; ${(r.ofPiscina * 100).toFixed(0)} % of piscina's speed`;
  console.log(
    `| ${r.impl}${r.offloaded !== undefined && r.impl === 'threaded' ? ` (${r.offloaded} slices on workers, ${r.ranAhead} of them run ahead)` : ''} | ${r.ms.toFixed(1)} | ${r.medianMs === undefined ? '—' : r.medianMs.toFixed(1)} | ${cpu} | ${sp} | ${targeted ? `≥ ${TARGET_SPEEDUP}×` : '—'} | ${r.met === undefined ? '—' : r.met ? `yes${ceiling}` : `no (${((r.speedup / TARGET_SPEEDUP) * 100).toFixed(0)} %${ceiling})`} |`,
  );
}

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
if (!quick || args.includes('--json'))
  writeFileSync(
    new URL('./results/episodes.json', import.meta.url),
    `${JSON.stringify({ machine: info, quick, load: loadavg(), iters, warmRounds: WARM, rounds: ROUNDS, yield: yieldRows, cpu: cpuRows }, null, 2)}\n`,
  );
