// Heartbeat benchmark: empty beats per second, and impulses per second end to end (enqueue +
// capture + dispatch + commit: digest and journal) with 10k impulses per beat, for one enzyme
// and for 100 enzymes with 1k bindings. Each case runs in its own fresh process: our native
// path, our TS fallback (CEP_NATIVE=0; only the beat digest's BLAKE3 differs), both with the
// default recording on, our native path with `record: false` (a server that never replays),
// and an EventEmitter making the same calls (one emit per impulse to the same handlers).
//
// Also the beat digest alone on dossier beats: the work of bench/episodes.js's CPU case (64
// episodes x 4 slices a round, cheap slices on the stub executor) with each beat's digest
// timed in a commit hook, in touched cells digested per second; `walk` frames the same beats
// with encodeBranch over the whole runtime (what the digest would cost if it walked the tree).
//
//   node bench/heartbeat.js [--quick] [--json]
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machine } from './machine.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const self = fileURLToPath(import.meta.url);
const PER_BEAT = 10_000;
const TARGETS = 1000;
const TARGET_RATE = { empty: 100_000, one: 3_000_000, many: undefined, digest: undefined };
const SLICES = new URL('./fixtures/episode-slices.mjs', import.meta.url);

// ---- one case, in a child process -----------------------------------------------------------

let sink = 0;

/**
 * Runs `beat()` for about `ms` after a warm-up; returns beats per second: the best of seven
 * rounds (on a shared machine the fastest round is the one least disturbed by other work).
 */
function measure(beat, ms) {
  for (let t = performance.now(); performance.now() - t < Math.max(150, ms / 3); ) beat(); // warm-up (JIT)
  const rates = [];
  for (let r = 0; r < 7; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms / 7) beat(), n++;
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return Math.max(...rates);
}

async function cepCase(kind, record) {
  const { createRuntime } = await import('../dist/index.js');
  const rt = createRuntime({ record });
  const targets = Array.from({ length: TARGETS }, (_, i) => (kind === 'many' ? `/data/t/${i + 1}` : `/data/q/${i + 1}`));
  let signals;
  if (kind === 'one') {
    rt.registerEnzyme({ name: 'e', signal: 'sig/x', run: (ctx) => void (sink += ctx.target.length) });
    rt.bind('/data/q', 'e', { propagate: true });
    signals = Array.from({ length: TARGETS }, () => 'sig/x');
  } else if (kind === 'many') {
    for (let k = 0; k < 100; k++) rt.registerEnzyme({ name: `e${k}`, signal: `sig/${k}`, run: (ctx) => void (sink += ctx.target.length) });
    for (let i = 0; i < TARGETS; i++) rt.bind(targets[i], `e${i % 100}`); // 1k bindings
    signals = Array.from({ length: TARGETS }, (_, i) => `sig/${i % 100}`);
  }
  if (kind === 'empty') return { rate: measure(() => rt.step(), quick ? 300 : 1500), unit: 'beats/s' };
  const beat = () => {
    for (let i = 0; i < PER_BEAT; i++) rt.enqueue(signals[i % TARGETS], targets[i % TARGETS]);
    rt.step();
  };
  return { rate: measure(beat, quick ? 400 : 2000) * PER_BEAT, unit: 'impulses/s' };
}

/**
 * Digest of dossier beats: rounds of 64 episodes x 4 cheap slices; each beat's digest (or, for
 * `walk`, its frame from a walk of the whole runtime) timed in the commit hook, `reps` times.
 * Returns touched cells per second, the best of seven rounds after three warm-up rounds.
 */
async function digestCase(impl) {
  const { createRuntime, beatDigest, beatLink, encodeBranch } = await import('../dist/index.js');
  const rt = createRuntime({ executor: 'stub', record: false });
  rt.find('/data').add('in', { value: 'x' });
  await rt.episodes.load(SLICES.href);
  const reps = 5;
  const prev = new Uint8Array(32);
  let on = false;
  let cells = 0;
  let ms = 0;
  let beats = 0;
  rt.onCommit((beat, changes) => {
    if (!on) return;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) {
      if (impl === 'walk') sink += encodeBranch(rt.root, { mode: 'delta', beat, prevRoot: beatLink(changes, prev) }).length;
      else sink += beatDigest(rt, changes, prev)[0];
    }
    ms += performance.now() - t0;
    cells += changes.cells.length * reps;
    beats += reps;
  });
  const round = async () => {
    for (let i = 0; i < 64; i++)
      rt.episodes.start({ signal: 'bench/cpu', target: '/data/in', profile: 'ro', state: { h: i, iters: 10, left: 4 }, slice: { module: SLICES.href, name: 'spin' }, reads: ['/data/in'] });
    await rt.episodes.run();
  };
  for (let r = 0; r < 3; r++) await round();
  let best = { rate: 0 };
  for (let r = 0; r < (quick ? 3 : 7); r++) {
    cells = ms = beats = 0;
    on = true;
    await round();
    on = false;
    const rate = cells / (ms / 1000);
    if (rate > best.rate) best = { rate, usPerBeat: (ms * 1000) / beats, cellsPerBeat: (cells / beats) | 0 };
  }
  await rt.episodes.close();
  return { ...best, unit: 'touched cells/s' };
}

function emitterCase(kind) {
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  const targets = Array.from({ length: TARGETS }, (_, i) => `/data/t/${i + 1}`);
  const handler = (target) => void (sink += target.length);
  let names;
  if (kind === 'one') {
    ee.on('sig/x', handler);
    names = Array.from({ length: TARGETS }, () => 'sig/x');
  } else {
    // one event per (signal, bound target): what 100 enzymes bound at 1k paths dispatch to
    names = targets.map((t, i) => `sig/${i % 100} ${t}`);
    for (const n of names) ee.on(n, handler);
  }
  const beat = () => {
    for (let i = 0; i < PER_BEAT; i++) ee.emit(names[i % TARGETS], targets[i % TARGETS], undefined);
  };
  return { rate: measure(beat, quick ? 400 : 2000) * PER_BEAT, unit: 'impulses/s' };
}

const caseArg = args.find((a) => a.startsWith('--case='));
if (caseArg) {
  const [kind, impl] = caseArg.slice(7).split(':');
  const r = impl === 'eventemitter' ? emitterCase(kind) : kind === 'digest' ? await digestCase(impl) : await cepCase(kind, impl !== 'native-norecord');
  console.log(JSON.stringify({ ok: true, ...r, sink: sink & 1 }));
  process.exit(0);
}

// ---- the parent: every case in a fresh process, one table per group ------------------------

const GROUPS = [
  ['empty', 'empty beats', ['native', 'fallback', 'native-norecord']],
  ['one', `impulses end to end, ${PER_BEAT / 1000}k per beat, one enzyme`, ['native', 'fallback', 'native-norecord', 'eventemitter']],
  ['many', `impulses end to end, ${PER_BEAT / 1000}k per beat, 100 enzymes, 1k bindings`, ['native', 'fallback', 'native-norecord', 'eventemitter']],
  ['digest', 'beat digest of dossier beats (64 episodes x 4 slices a round, about 420 touched cells a beat)', ['native', 'fallback', 'walk']],
];
/** The digest group: rate, time per beat, and each row against the native digest. */
function digestTable(rows) {
  const native = rows.find((r) => r.impl === 'native' && r.ok);
  console.log('| implementation | touched cells/s | µs per beat | native digest vs this |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) {
    if (!r.ok) {
      console.log(`| ${r.impl} | unavailable: ${r.error} | — | — |`);
      continue;
    }
    r.nativeVs = native === undefined ? undefined : native.rate / r.rate;
    console.log(`| ${r.impl} | ${Math.round(r.rate).toLocaleString('en-US')} | ${r.usPerBeat.toFixed(0)} | ${r.nativeVs === undefined ? '—' : `${r.nativeVs.toFixed(2)}×`} |`);
  }
}

const info = machine();
const results = [];
/** `--only=<group>`: run one group (development). */
const onlyGroup = args.find((a) => a.startsWith('--only='))?.slice(7);
console.log(`# heartbeat — ${info.cpu}, ${info.cores} cores, Node ${info.node}${quick ? ' (quick)' : ''}`);
for (const [kind, title, impls] of GROUPS) {
  if (onlyGroup !== undefined && onlyGroup !== kind) continue;
  // every case twice, in forward then reverse order, keeping each one's best: the order of
  // cases must not decide who meets the load spikes of a shared machine
  const best = new Map();
  for (const impl of [...impls, ...[...impls].reverse()]) {
    const env = { ...process.env, CEP_NATIVE: impl === 'fallback' ? '0' : '1' };
    const child = spawnSync(process.execPath, [self, `--case=${kind}:${impl}`, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
    let r;
    try {
      r = JSON.parse(child.stdout.trim().split('\n').pop());
    } catch {
      r = { ok: false, error: (child.stderr || child.stdout).trim().split('\n').pop() };
    }
    const old = best.get(impl);
    if (old === undefined || (r.ok && (!old.ok || r.rate > old.rate))) best.set(impl, { group: kind, impl, ...r });
  }
  const rows = impls.map((impl) => best.get(impl));
  const ee = rows.find((r) => r.impl === 'eventemitter' && r.ok);
  console.log(`\n## ${title}\n`);
  if (kind === 'digest') {
    digestTable(rows);
    results.push(...rows);
    continue;
  }
  console.log(`| implementation | rate | vs EventEmitter | target | met |`);
  console.log('| --- | ---: | ---: | ---: | :---: |');
  for (const r of rows) {
    if (!r.ok) {
      console.log(`| ${r.impl} | unavailable: ${r.error} | — | — | — |`);
      continue;
    }
    const target = r.impl === 'eventemitter' ? undefined : TARGET_RATE[kind];
    r.vsEventEmitter = ee && r !== ee ? r.rate / ee.rate : undefined;
    r.target = target;
    r.met = target === undefined ? undefined : r.rate >= target;
    const rate = r.rate >= 1e6 ? `${(r.rate / 1e6).toFixed(2)} M ${r.unit}` : `${Math.round(r.rate).toLocaleString('en-US')} ${r.unit}`;
    const vs = r.vsEventEmitter === undefined ? '—' : `${r.vsEventEmitter.toFixed(2)}×`;
    const tg = target === undefined ? '—' : target >= 1e6 ? `≥ ${target / 1e6} M` : `≥ ${target.toLocaleString('en-US')}`;
    console.log(`| ${r.impl} | ${rate} | ${vs} | ${tg} | ${r.met === undefined ? '—' : r.met ? 'yes' : `no (${((r.rate / target) * 100).toFixed(0)} %)`} |`);
  }
  results.push(...rows);
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
if ((!quick || args.includes('--json')) && onlyGroup === undefined)
  writeFileSync(new URL('./results/heartbeat.json', import.meta.url), `${JSON.stringify({ machine: info, quick, perBeat: PER_BEAT, results }, null, 2)}\n`);
