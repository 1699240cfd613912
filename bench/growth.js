// Growth over long runs (issue 16, item 10): what a server that runs for months keeps.
//
//   store bytes after 100k and 300k beats of one small cell set per beat (default options: a
//   durable branch, automatic checkpoints, retention, recording on): should grow at most
//   linearly (<= 3.3x from 100k to 300k), here it is bounded;
//   RSS after 100k and 1M beats of the kernel alone with recording on (one small set and one
//   outside impulse per beat): should stay flat (within 15%) after warm-up. Sampled after a
//   full GC (the run forces one every 20k beats too, so V8's heap sizing is comparable).
//
//   node --expose-gc bench/growth.js [--store-beats 100000,300000] [--rss-beats 100000,1000000] [--json]
//
// Each case runs in its own child process. Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1].split(',').map(Number) : dflt;
};
const self = fileURLToPath(import.meta.url);

/** Bytes of every file under `dir` (preallocated room included: what the disk holds). */
function dirBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

/** The workload: each `g/w` impulse sets one small cell, /data/app/x. */
function oneSetPerBeat(rt) {
  let n = 0;
  rt.registerEnzyme({ name: 'w', signal: 'g/w', run: (ctx) => void ctx.rt.find('/data/app/x').set(String(++n)) });
  rt.bind('/data', 'w', { propagate: true });
  rt.find('/data').add('app').add('x', { value: '0' });
  return rt;
}

/** Store case: beats through a store-backed runtime, the store's size at each mark. */
async function storeCase(marks) {
  const { createRuntime } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'cep-growth-'));
  const rt = oneSetPerBeat(createRuntime({ store: { dir } }));
  const out = [];
  const t0 = performance.now();
  for (const mark of marks) {
    while (rt.beat <= mark) {
      rt.enqueue('g/w', '/data/app/x');
      rt.step();
      if (rt.persist.writer.backlog >= 256) await rt.persist.writer.nextDurable();
      else if ((rt.beat & 63) === 0) await null;
    }
    await rt.flush();
    await rt.persist.writer.settle(); // automatic checkpoints and compactions queued so far
    out.push({ beats: mark, bytes: dirBytes(dir), engineBytes: rt.persist.engine.stats().bytes, seconds: (performance.now() - t0) / 1000 });
  }
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Kernel case: beats with recording on, RSS (after a full GC) at each mark. */
async function rssCase(marks) {
  const { createRuntime } = await import('../dist/index.js');
  const rt = oneSetPerBeat(createRuntime());
  const out = [];
  const t0 = performance.now();
  for (const mark of marks) {
    while (rt.beat <= mark) {
      rt.enqueue('g/w', '/data/app/x');
      rt.step();
      // a full GC every 20k beats: V8 sizes its heap from how much survives, not from how long
      // it went without a major GC, so both marks compare what is retained
      if (rt.beat % 20_000 === 0) globalThis.gc?.();
    }
    globalThis.gc?.();
    const m = process.memoryUsage();
    out.push({
      beats: mark,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      historyEntries: rt.stats().historyEntries,
      recorded: rt.heartbeat.recorder.size.beats,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return out;
}

if (args[0] === '--child') {
  const [, kind, marks] = args;
  const res = await (kind === 'store' ? storeCase : rssCase)(marks.split(',').map(Number));
  process.stdout.write(JSON.stringify(res));
  process.exit(0);
}

function child(kind, marks) {
  const r = spawnSync(process.execPath, ['--expose-gc', self, '--child', kind, marks.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${kind} case failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const MB = (b) => `${(b / 1e6).toFixed(1)} MB`;
const store = child('store', opt('store-beats', [100_000, 300_000]));
const rss = child('rss', opt('rss-beats', [100_000, 1_000_000]));
if (args.includes('--json')) console.log(JSON.stringify({ store, rss }, null, 2));
else {
  for (const s of store) console.log(`store bytes after ${s.beats} beats: ${MB(s.bytes)} on disk (engine: ${MB(s.engineBytes)}; ${s.seconds.toFixed(0)} s)`);
  console.log(`  ratio ${store.at(-1).beats / store[0].beats}x beats: ${(store.at(-1).bytes / store[0].bytes).toFixed(2)}x bytes (target <= 3.3x)`);
  for (const s of rss)
    console.log(
      `RSS after ${s.beats} beats (recording on): ${MB(s.rss)} (heap ${MB(s.heapUsed)} of ${MB(s.heapTotal)}, external ${MB(s.external)}, history entries ${s.historyEntries}, recorded beats ${s.recorded}; ${s.seconds.toFixed(0)} s)`,
    );
  console.log(`  ratio: ${(rss.at(-1).rss / rss[0].rss).toFixed(3)}x (target within 15%)`);
}
