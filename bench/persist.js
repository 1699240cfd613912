// Persistence benchmark: durable beats per second through the whole runtime, one small dirty
// cell per beat (an enzyme sets /data/bench/x; the beat is framed, validated, written and synced
// by the flatfile engine), against better-sqlite3 (WAL, synchronous=FULL) committing one row per
// transaction. Each case runs in its own fresh process on a fresh store in the OS temp folder:
// our native path, our TS fallback (CEP_NATIVE=0), each with the engine's synchronous writes and
// with its reactor (the fsync runs off the JS thread while the next beats compute), and the peer.
// The disk is shared and its sync latency swings by 10x within minutes here, so the cases run in
// interleaved rounds (round r runs every case once, each in a fresh process) and the table
// reports each case's median round, and ratios of medians.
//
//   node bench/persist.js [--quick] [--json]
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './machine.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const self = fileURLToPath(import.meta.url);
const SECONDS = 1; // per round
const ROUNDS = quick ? 2 : 7;
const TARGET = 1.0; // ratio to better-sqlite3
/** Beats with frames that may wait for the writer before the loop waits (the writer's group bound). */
const MAX_BACKLOG = 256;

// ---- one case, in a child process -----------------------------------------------------------

/** Durable beats per second: beats run and made durable in about `SECONDS`, on a fresh store. */
async function cepCase(io) {
  const { createRuntime } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'cep-bench-persist-'));
  const rt = createRuntime({ store: { dir, io }, record: false, journalBeats: 0 });
  let n = 0;
  rt.registerEnzyme({ name: 'w', signal: 'b/w', run: (ctx) => void ctx.rt.find('/data/bench/x').set(String(++n)) });
  rt.bind('/data', 'w', { propagate: true });
  rt.find('/data').add('bench').add('x', { value: '0' });
  const beat = () => {
    rt.enqueue('b/w', '/data/bench/x');
    rt.step();
  };
  for (let i = 0; i < 200; i++) beat(), await null; // warm-up
  await rt.flush();
  const from = rt.durableBeat;
  const t0 = performance.now();
  const commits0 = rt.persist.writer.commits;
  while (performance.now() - t0 < SECONDS * 1000) {
    beat();
    // let the writer run: the next beats compute while a sync is in flight, and the beats that
    // queued meanwhile share the next sync round (group commit; at most MAX_BACKLOG wait)
    if (rt.persist.writer.backlog >= MAX_BACKLOG) await rt.persist.writer.nextDurable();
    else await null;
  }
  await rt.flush();
  const rate = (rt.durableBeat - from) / ((performance.now() - t0) / 1000);
  const perRound = (rt.durableBeat - from) / (rt.persist.writer.commits - commits0);
  const io2 = rt.persist.engine.io;
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
  return { opsPerSec: rate, io: io2, beatsPerRound: perRound };
}

/** Rows committed per second, one row per transaction, on a fresh database. */
async function sqliteCase() {
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'cep-bench-sqlite-'));
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)');
  const put = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (1, ?)');
  for (let i = 0; i < 200; i++) put.run(String(i)); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) put.run(String(++n));
  const rate = n / ((performance.now() - t0) / 1000);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { opsPerSec: rate };
}

const CASES = {
  'cep native (reactor, default)': { env: {}, run: () => cepCase('reactor') },
  'cep native (sync writes)': { env: {}, run: () => cepCase('sync') },
  'cep fallback (reactor, default)': { env: { CEP_NATIVE: '0' }, run: () => cepCase('reactor') },
  'cep fallback (sync writes)': { env: { CEP_NATIVE: '0' }, run: () => cepCase('sync') },
  'better-sqlite3 (WAL, synchronous=FULL)': { env: {}, peer: true, run: sqliteCase },
};

if (process.env.CEP_BENCH_CASE) {
  const c = CASES[process.env.CEP_BENCH_CASE];
  try {
    process.stdout.write(`${JSON.stringify({ ok: true, ...(await c.run()) })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(e?.message ?? e).split('\n')[0] })}\n`);
  }
  process.exit(0);
}

// ---- the parent: every case in a fresh process, one table ------------------------------------

const info = { ...machine(), load: loadavg().map((x) => Number(x.toFixed(2))) };
const rounds = Object.fromEntries(Object.keys(CASES).map((name) => [name, []]));
const errors = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, c] of Object.entries(CASES)) {
    const r = spawnSync(process.execPath, [self, ...args], { env: { ...process.env, ...c.env, CEP_BENCH_CASE: name }, encoding: 'utf8' });
    let out;
    try {
      out = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      out = { ok: false, error: (r.stderr || r.stdout).trim().split('\n').pop() };
    }
    if (out.ok) rounds[name].push(out);
    else errors[name] = out.error;
    process.stderr.write('.');
  }
}
process.stderr.write('\n');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = Object.entries(CASES).map(([name, c]) => {
  const rs = rounds[name];
  if (rs.length === 0) return { impl: name, peer: Boolean(c.peer), ok: false, error: errors[name] };
  const rates = rs.map((r) => r.opsPerSec);
  const perRound = rs[0].beatsPerRound === undefined ? undefined : median(rs.map((r) => r.beatsPerRound));
  return {
    impl: name,
    peer: Boolean(c.peer),
    ok: true,
    opsPerSec: median(rates),
    best: Math.max(...rates),
    worst: Math.min(...rates),
    rounds: rates.map(Math.round),
    io: rs[0].io,
    beatsPerRound: perRound,
  };
});
const peer = results.find((r) => r.peer && r.ok);
for (const r of results) if (r.ok && peer) r.ratio = r.opsPerSec / peer.opsPerSec;
if (args.includes('--json')) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`\n## persist: durable beats/s, one small dirty cell per beat (${info.cpu}, load ${info.load.join(' ')}; median of ${ROUNDS} interleaved 1 s rounds)\n`);
  console.log(`| implementation | durable beats/s (median) | rounds min–max | beats per sync round | vs better-sqlite3 | target ≥ ${TARGET.toFixed(1)}× |`);
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    if (!r.ok) {
      console.log(`| ${r.impl} | — | — | — | unavailable: ${r.error} | — |`);
      continue;
    }
    const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`;
    const met = r.peer || r.ratio === undefined ? '' : r.ratio >= TARGET ? 'met' : `short by ${((TARGET - r.ratio) * 100).toFixed(0)}%`;
    console.log(
      `| ${r.impl}${r.io ? ` [${r.io}]` : ''} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${Math.round(r.worst).toLocaleString('en-US')}–${Math.round(r.best).toLocaleString('en-US')} | ${r.beatsPerRound === undefined ? '1 (one row per transaction)' : r.beatsPerRound.toFixed(1)} | ${ratio} | ${met} |`,
    );
  }
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/persist.json', import.meta.url), `${JSON.stringify({ machine: info, quick, target: TARGET, results }, null, 2)}\n`);
