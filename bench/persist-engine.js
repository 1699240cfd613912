// Flatfile storage engine benchmark (docs/flatfile.md). Every case runs in its own fresh process.
//
//   bulk     a 100k-cell beat (a snapshot frame from encodeBranch, ~5 MB) persisted durably:
//            putFrame (full frame validation) + commitBeat (write + fdatasync), MB/s of frame;
//            vs lmdb writing the same bytes as 100k records in one synchronous transaction.
//   recover  opening a store whose frame log holds PERSIST_BENCH_LOG_MB (default 1024) MiB of
//            1 MB frames: every record's header and frame CRC32C and the hash chain checked,
//            the newest frame Merkle-validated ('tail'), or every frame ('full'); GB/s of log.
//            The page cache is warm (the log was just written; dropping caches needs root).
//            A plain chunked read of the same files is shown as the I/O ceiling.
//   commits  durable beats/s with one small frame (one changed cell) per beat, vs better-sqlite3
//            (WAL, synchronous=FULL) committing one row of the same bytes per transaction; ours
//            with one beat per engine transaction, and with 16 beats per transaction (group commit).
//
//   node bench/persist-engine.js [--quick] [--json] [--group=bulk|recover|commits]
//   node bench/persist-engine.js <group> <impl>          (one case, prints one JSON line)
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`. Temp stores go to
// PERSIST_BENCH_DIR (default: the OS temp folder) and are removed afterwards.
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
const only = args.find((a) => a.startsWith('--group='))?.slice(8);
const CELLS = 100_000;
const LOG_MB = Number(process.env.PERSIST_BENCH_LOG_MB ?? (quick ? 64 : 1024));
const BASE = process.env.PERSIST_BENCH_DIR ?? os.tmpdir();

const GROUPS = {
  bulk: { title: `a ${CELLS.toLocaleString('en-US')}-cell beat persisted durably (MB/s of frame, sync included)`, unit: 'bytes', target: 200e6 },
  recover: { title: `recovery scan of a ${LOG_MB} MiB frame log (GB/s of log, page cache warm)`, unit: 'bytes', target: 1e9 },
  commits: { title: 'durable beats/s, one small frame (one changed cell) per beat', unit: 'ops', target: 'peer' },
};
const IMPLS = {
  bulk: ['cep native (sync fs)', 'cep native (reactor uring)', 'cep native (reactor epoll)', 'cep fallback (TS, sync fs)', 'lmdb (100k records, one txn)', 'floor: fs.writeSync + fdatasync'],
  recover: ['cep native', "cep native (verify 'full')", 'cep fallback (TS)', 'floor: plain chunked read'],
  commits: [
    'cep native (sync fs)',
    'cep native (reactor uring)',
    'cep native (reactor epoll)',
    'cep fallback (TS, sync fs)',
    'cep native (sync fs, group of 16 beats)',
    'cep native (reactor uring, group of 16 beats)',
    'better-sqlite3 (WAL, synchronous=FULL)',
  ],
};
const isPeer = (impl) => !impl.startsWith('cep') && !impl.startsWith('floor');

const cep = () => import('../dist/index.js');

function tempStore(tag) {
  return fs.mkdtempSync(path.join(BASE, `cep-bench-${tag}-`));
}

/** Beats per engine transaction (group commit) an impl name asks for; 1 when it names none. */
function groupOf(impl) {
  const m = /group of (\d+) beats/.exec(impl);
  return m ? Number(m[1]) : 1;
}

function backendOf(impl) {
  const m = /reactor (\w+)/.exec(impl);
  return m ? m[1] : undefined;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** A runtime with /data/bench holding `n` VALUE cells (8-byte values). */
function benchBranch(m, n) {
  const rt = m.createRuntime();
  const branch = rt.find('/data').add('bench');
  const v = new Uint8Array(8);
  for (let i = 1; i <= n; i++) {
    v[0] = i & 255;
    v[1] = (i >> 8) & 255;
    branch.add(i, { value: v });
  }
  return { rt, branch };
}

/** Frames of successive beats of a `benchBranch`, one cell changed per beat, chained; `onFrame` gets each. */
async function eachFrame(n, k, mode, onFrame) {
  const m = await cep();
  const { rt, branch } = benchBranch(m, n);
  let prev = new Uint8Array(32);
  for (let b = 0; b < k; b++) {
    if (b > 0) {
      rt.advance();
      branch.child(1 + (b % n)).set(new Uint8Array([b & 255, (b >> 8) & 255, 1, 2, 3, 4, 5, 6]));
    }
    const f = m.encodeBranch(branch, { mode, beat: rt.beat, prevRoot: prev });
    prev = m.readFrame(f).root;
    await onFrame(rt.beat, f);
  }
}

/** `k` chained frames of successive beats, kept in memory. */
async function frameList(n, k, mode) {
  const out = [];
  await eachFrame(n, k, mode, (beat, frame) => out.push({ beat, frame }));
  return out;
}

// ---- bulk ------------------------------------------------------------------------------------

async function bulk(impl) {
  const rounds = quick ? 3 : 7;
  const frames = await frameList(CELLS, rounds + 1, 'snapshot');
  const bytes = frames[0].frame.length;
  const dir = tempStore('bulk');
  const times = [];
  try {
    if (impl.startsWith('cep')) {
      const m = await cep();
      if (impl.startsWith('cep native') && m.nativeInfo().backend !== 'native') throw new Error('native addon not loaded');
      const backend = backendOf(impl);
      const store = m.openFlatfileStore(dir, backend ? { backend } : {});
      if (backend && store.io !== `reactor:${backend}`) throw new Error(`reactor ${backend} unavailable (${store.io})`);
      for (const [i, { beat, frame }] of frames.entries()) {
        const t0 = process.hrtime.bigint();
        store.beginBeat(beat);
        store.putFrame('bench', frame);
        await store.commitBeat();
        if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9); // the first beat creates the branch: a warm-up
      }
      await store.close();
    } else if (impl.startsWith('lmdb')) {
      const { open } = await import('lmdb');
      const db = open({ path: dir, encoding: 'binary', keyEncoding: 'uint32', overlappingSync: false, compression: false });
      const slice = Math.ceil(bytes / CELLS);
      for (const [i, { frame }] of frames.entries()) {
        const t0 = process.hrtime.bigint();
        db.transactionSync(() => {
          for (let c = 0; c < CELLS; c++) db.putSync(i * CELLS + c, frame.subarray(c * slice, Math.min(bytes, (c + 1) * slice)));
        });
        if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      await db.close();
    } else {
      const fd = fs.openSync(path.join(dir, 'raw.log'), 'w');
      let pos = 0;
      for (const [i, { frame }] of frames.entries()) {
        const t0 = process.hrtime.bigint();
        fs.writeSync(fd, frame, 0, frame.length, pos);
        fs.fdatasyncSync(fd);
        pos += frame.length;
        if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const s = median(times);
  return { ok: true, bytesPerSec: bytes / s, bestBytesPerSec: bytes / Math.min(...times), bytes, seconds: s, rounds: times.length };
}

// ---- recover ---------------------------------------------------------------------------------

/** Builds (once) a store whose log holds LOG_MB MiB of ~1 MB snapshot frames; returns its folder. */
async function buildLog() {
  const dir = process.env.PERSIST_BENCH_LOG_DIR;
  const m = await cep();
  const perFrame = 20_000; // cells: ~1 MB frames
  const size = (await frameList(perFrame, 1, 'snapshot'))[0].frame.length;
  const count = Math.max(2, Math.ceil((LOG_MB * 1024 * 1024) / size));
  const store = m.openFlatfileStore(dir);
  await eachFrame(perFrame, count, 'snapshot', async (beat, frame) => {
    store.beginBeat(beat);
    store.putFrame('bench', frame);
    await store.commitBeat();
  });
  const bytes = store.stats('bench').bytes;
  await store.close();
  return { ok: true, frames: count, bytes };
}

async function recover(impl) {
  const dir = process.env.PERSIST_BENCH_LOG_DIR;
  const rounds = quick ? 3 : 5;
  const times = [];
  let bytes = 0;
  if (impl.startsWith('cep')) {
    const m = await cep();
    if (impl.startsWith('cep native') && m.nativeInfo().backend !== 'native') throw new Error('native addon not loaded');
    const verify = impl.includes("'full'") ? 'full' : 'tail';
    for (let r = 0; r < rounds + 1; r++) {
      const t0 = process.hrtime.bigint();
      const store = m.openFlatfileStore(dir, { verify });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      bytes = store.recovery.scannedBytes;
      if (store.recovery.cut.length > 0) throw new Error('the bench log was cut');
      await store.close();
      if (r > 0) times.push(s); // the first open pulls the files into the page cache
    }
  } else {
    const files = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith('.log')) files.push(path.join(d, e.name));
      }
    };
    walk(dir);
    const buf = new Uint8Array(16 * 1024 * 1024);
    for (let r = 0; r < rounds + 1; r++) {
      const t0 = process.hrtime.bigint();
      bytes = 0;
      for (const f of files) {
        const fd = fs.openSync(f, 'r');
        for (let n; (n = fs.readSync(fd, buf, 0, buf.length, bytes)) > 0; ) bytes += n;
        fs.closeSync(fd);
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r > 0) times.push(s);
    }
  }
  const s = median(times);
  return { ok: true, bytesPerSec: bytes / s, bestBytesPerSec: bytes / Math.min(...times), bytes, seconds: s, rounds: times.length };
}

// ---- commits ---------------------------------------------------------------------------------

async function commits(impl) {
  const n = quick ? 400 : 3000;
  const m = await cep();
  const frames = await frameList(64, n + 1, 'delta'); // one cell changed per beat
  const bytes = frames[1].frame.length;
  const dir = tempStore('commits');
  let s;
  try {
    if (impl.startsWith('cep')) {
      if (impl.startsWith('cep native') && m.nativeInfo().backend !== 'native') throw new Error('native addon not loaded');
      const backend = backendOf(impl);
      const store = m.openFlatfileStore(dir, backend ? { backend } : {});
      if (backend && store.io !== `reactor:${backend}`) throw new Error(`reactor ${backend} unavailable (${store.io})`);
      store.beginBeat(frames[0].beat);
      store.putFrame('bench', frames[0].frame);
      await store.commitBeat();
      const group = groupOf(impl);
      const t0 = process.hrtime.bigint();
      for (let i = 1; i <= n; i++) {
        store.beginBeat(frames[i].beat); // seals the beat before it into the same transaction
        store.putFrame('bench', frames[i].frame);
        if (i % group === 0 || i === n) await store.commitBeat();
      }
      s = Number(process.hrtime.bigint() - t0) / 1e9;
      await store.close();
    } else {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(path.join(dir, 'bench.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec('CREATE TABLE frames (beat INTEGER PRIMARY KEY, bytes BLOB NOT NULL)');
      const put = db.prepare('INSERT INTO frames (beat, bytes) VALUES (?, ?)');
      put.run(frames[0].beat, frames[0].frame);
      const t0 = process.hrtime.bigint();
      for (let i = 1; i <= n; i++) put.run(frames[i].beat, frames[i].frame); // autocommit: one transaction each
      s = Number(process.hrtime.bigint() - t0) / 1e9;
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { ok: true, opsPerSec: n / s, bytesPerSec: (n * bytes) / s, bytes, seconds: s, commits: n };
}

// ---- driver ----------------------------------------------------------------------------------

const CASES = { bulk, recover, commits };

if (positional.length === 2 || positional[0] === 'build-log') {
  try {
    const out = positional[0] === 'build-log' ? await buildLog() : await CASES[positional[0]](positional[1]);
    console.log(JSON.stringify(out));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e).split('\n')[0] }));
  }
  process.exit(0);
}

function runChild(argv, env) {
  const r = spawnSync(process.execPath, [self, ...argv, ...(quick ? ['--quick'] : [])], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 24 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return { ok: false, error: (r.stderr || r.stdout).trim().split('\n').pop() };
  }
}

const logDir = tempStore('recover');
const results = [];
let built;
try {
  for (const group of Object.keys(GROUPS).filter((g) => only === undefined || g === only)) {
    if (group === 'recover') {
      built = runChild(['build-log'], { PERSIST_BENCH_LOG_DIR: logDir });
      if (!built.ok) throw new Error(`building the recovery log failed: ${built.error}`);
    }
    for (const impl of IMPLS[group]) {
      const env = { CEP_NATIVE: impl.startsWith('cep fallback') ? '0' : '1', PERSIST_BENCH_LOG_DIR: logDir };
      results.push({ group, impl, peer: isPeer(impl), ...runChild([group, impl], env) });
      if (!json) process.stderr.write('.');
    }
  }
} finally {
  fs.rmSync(logDir, { recursive: true, force: true });
}
if (!json) process.stderr.write('\n');

const fmtBytes = (x) => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} GB/s` : `${(x / 1e6).toFixed(0)} MB/s`);
const ratio = (x) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
const info = machine();
const load = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');
if (json) console.log(JSON.stringify({ machine: info, quick, load, results }));
else {
  console.log(`# flatfile engine — ${info.cpu}, ${info.cores} cores, Node ${info.node}, load ${load}${quick ? ' (quick)' : ''}`);
  for (const [group, g] of Object.entries(GROUPS)) {
    const rows = results.filter((r) => r.group === group);
    if (rows.length === 0) continue;
    const metric = (r) => (g.unit === 'ops' ? r.opsPerSec : r.bytesPerSec);
    const best = rows.filter((r) => r.peer && r.ok).reduce((a, r) => (metric(r) > (a ? metric(a) : 0) ? r : a), undefined);
    const fallback = rows.find((r) => r.impl.startsWith('cep fallback') && r.ok);
    console.log(`\n## ${group}: ${g.title}\n`);
    console.log(
      `| implementation | ${g.unit === 'ops' ? 'beats/s' : 'throughput (median)'} | ${g.unit === 'ops' ? 'frame bytes/s' : 'fastest round'} | vs best peer${best ? ` (${best.impl})` : ''} | vs fallback | target |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: | --- |');
    for (const r of rows) {
      if (!r.ok) {
        console.log(`| ${r.impl} | — | unavailable: ${r.error} | | | |`);
        continue;
      }
      r.vsBestPeer = best && !r.peer ? metric(r) / metric(best) : undefined;
      r.vsFallback = fallback && r.impl.startsWith('cep native') ? metric(r) / metric(fallback) : undefined;
      let target = '';
      if (r.impl.startsWith('cep native')) {
        if (g.target === 'peer') target = best ? `>= 1.0× peer: ${r.vsBestPeer >= 1 ? 'met' : `${(r.vsBestPeer * 100).toFixed(0)} %`}` : '';
        else target = `>= ${fmtBytes(g.target)}: ${metric(r) >= g.target ? 'met' : `${((metric(r) / g.target) * 100).toFixed(0)} %`}`;
      }
      const main = g.unit === 'ops' ? Math.round(r.opsPerSec).toLocaleString('en-US') : fmtBytes(r.bytesPerSec);
      const second = g.unit === 'ops' ? fmtBytes(r.bytesPerSec) : fmtBytes(r.bestBytesPerSec);
      console.log(`| ${r.impl} | ${main} | ${second} | ${ratio(r.vsBestPeer)} | ${ratio(r.vsFallback)} | ${target} |`);
    }
  }
  if (built) console.log(`\nrecovery log: ${built.frames} frames, ${(built.bytes / 2 ** 20).toFixed(0)} MiB`);
  fs.mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  if (only === undefined) fs.writeFileSync(new URL('./results/persist-engine.json', import.meta.url), `${JSON.stringify({ machine: info, quick, load, logMiB: LOG_MB, results }, null, 2)}\n`);
}
