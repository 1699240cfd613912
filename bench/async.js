// Async I/O benchmark: the reactor on every backend this machine runs, the native executor,
// the JS worker pool, and their peers (fs.writeSync + fdatasyncSync, Node net, piscina), in
// one run. Prints tables with ratios and writes bench/results/async.json.
//
//   node bench/async.js [--quick] [--only=files|nop|echo|jobs|codecs]
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, openSync, writeSync, writevSync, fdatasyncSync, closeSync } from 'node:fs';
import * as net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Piscina } from 'piscina';
import { machine } from './machine.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
// --only=files|nop|echo|jobs|codecs runs one section (its results go to async-<section>.json).
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const run = (section) => only === undefined || only === section;
const cep = await import('../dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'cep-bench-async-'));
const backends = cep.availableBackends();
const rows = [];
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadStart = load();

function record(group, impl, fields, peer = false) {
  rows.push({ group, impl, peer, ...fields });
  process.stderr.write('.');
}

function quantiles(us) {
  const s = [...us].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)], p99: s[Math.floor(s.length * 0.99)] };
}

async function take(r, n) {
  const out = [];
  while (out.length < n) {
    await r.whenReady();
    out.push(...r.drain());
  }
  return out;
}

// ---- 4 KiB append + fdatasync latency, and batched appends (one sync per batch) ------------
const SYNCS = quick ? 200 : 2000;
const block = new Uint8Array(4096).fill(0x61);
for (const backend of run('files') ? backends : []) {
  const r = cep.createReactor({ backend });
  const [o] = await take(r, (r.open(join(dir, `sync-${backend}`), 'a'), 1));
  const fd = o.result;
  const lat = [];
  for (let i = 0; i < SYNCS; i++) {
    const t = now();
    r.writeSync(fd, block);
    const [c] = await take(r, 1);
    if (!c.ok) throw new Error(c.errno);
    lat.push(now() - t);
  }
  record('append 4 KiB + fdatasync latency', backend, quantiles(lat));
  const BATCHES = quick ? 10 : 40;
  const batch = Array.from({ length: 256 }, () => block);
  const t0 = now();
  for (let i = 0; i < BATCHES; i++) {
    r.writeSync(fd, batch);
    const [c] = await take(r, 1);
    if (!c.ok) throw new Error(c.errno);
  }
  const s = (now() - t0) / 1e6;
  record('batched appends (256 × 4 KiB, one fdatasync)', backend, { mbps: (BATCHES * 256 * 4096) / s / 1e6 });
  r.closeHandle(fd);
  await take(r, 1);
  await r.close();
}
if (run('files')) {
  const fd = openSync(join(dir, 'sync-node'), 'a');
  const lat = [];
  for (let i = 0; i < SYNCS; i++) {
    const t = now();
    writeSync(fd, block);
    fdatasyncSync(fd);
    lat.push(now() - t);
  }
  record('append 4 KiB + fdatasync latency', 'fs.writeSync + fdatasyncSync', quantiles(lat), true);
  const BATCHES = quick ? 10 : 40;
  const batch = Array.from({ length: 256 }, () => block);
  const t0 = now();
  for (let i = 0; i < BATCHES; i++) {
    writevSync(fd, batch);
    fdatasyncSync(fd);
  }
  record('batched appends (256 × 4 KiB, one fdatasync)', 'fs.writevSync + fdatasyncSync', { mbps: (BATCHES * 256 * 4096) / ((now() - t0) / 1e6) / 1e6 }, true);
  closeSync(fd);
}

// ---- no-op completions delivered to JS --------------------------------------------------
const NOPS = quick ? 200_000 : 2_000_000;
for (const backend of run('nop') ? backends : []) {
  const r = cep.createReactor({ backend, depth: 65536 });
  const t0 = now();
  let done = 0;
  while (done < NOPS) {
    for (let i = 0; i < 16384; i++) r.nop();
    done += (await take(r, 16384)).length;
  }
  record('no-op completions to JS (batches of 16384)', backend, { opsPerSec: done / ((now() - t0) / 1e6) });
  await r.close();
}

// ---- TCP echo of 64-byte frames over loopback -------------------------------------------
// Node's net and every backend run in turns, ROUNDS times, and each reports its median: on a
// shared machine a single run of each mostly measures whose turn met the busier moment.
const ECHOES = quick ? 20_000 : 100_000;
const ROUNDS = quick ? 1 : 3;
const WINDOW = 64;
const frame = new Uint8Array(64).fill(7);
const windowCounts = new Map(); // impl -> thread crossings per echo window, from reactor.stats()
const cpuPerEcho = new Map(); // impl -> CPU µs per echo, all threads (process.cpuUsage), each run
const cpuSince = (impl, c0) => {
  const c = process.cpuUsage(c0);
  cpuPerEcho.set(impl, [...(cpuPerEcho.get(impl) ?? []), (c.user + c.system) / ECHOES]);
};
async function echoReactor(impl) {
  const [backend, mode] = impl.split(' ');
  const r = cep.createReactor({ backend, depth: 65536, inline: mode !== '(inline' });
  const srv = (await take(r, (r.listen({ host: '127.0.0.1', port: 0 }), 1)))[0].result;
  const acc = r.accept(srv);
  r.connect({ host: '127.0.0.1', port: r.port(srv) });
  const both = await take(r, 2);
  const server = both.find((c) => c.seq === acc).result;
  const client = both.find((c) => c.seq !== acc).result;
  const s0 = r.stats();
  const c0 = process.cpuUsage();
  const t0 = now();
  for (let sent = 0; sent < ECHOES; sent += WINDOW) {
    for (let i = 0; i < WINDOW; i++) {
      r.sendFrame(client, frame);
      r.recvFrame(server);
    }
    const got = await take(r, WINDOW * 2);
    for (const c of got) if (c.op === 'recvFrame') r.sendFrame(server, c.data);
    for (let i = 0; i < WINDOW; i++) r.recvFrame(client);
    await take(r, WINDOW * 2);
  }
  const rate = ECHOES / ((now() - t0) / 1e6);
  cpuSince(impl, c0);
  const s1 = r.stats();
  const windows = ECHOES / WINDOW;
  const per = (k) => (s1[k] - s0[k]) / windows;
  windowCounts.set(impl, { handoffs: per('handoffs'), wakes: per('wakes'), deliveries: per('deliveries'), inline: per('inline') });
  await r.close();
  return rate;
}
async function echoNet() {
  // Node net with the same framing: length-prefixed 64-byte frames, parsed in JS.
  const parse = (onFrame) => {
    let buf = Buffer.alloc(0);
    return (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 4) {
        const n = buf.readUInt32BE(0);
        if (buf.length < 4 + n) break;
        onFrame(buf.subarray(4, 4 + n));
        buf = buf.subarray(4 + n);
      }
    };
  };
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => {}); // the client hangs up at the end
    s.on(
      'data',
      parse((f) => {
        const h = Buffer.allocUnsafe(4);
        h.writeUInt32BE(f.length);
        s.write(Buffer.concat([h, f]));
      }),
    );
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const sock = net.connect({ port: server.address().port, host: '127.0.0.1', noDelay: true });
  await new Promise((res) => sock.once('connect', res));
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 64]), Buffer.from(frame)]);
  const c0 = process.cpuUsage();
  const t0 = now();
  await new Promise((resolve) => {
    let got = 0;
    let sent = 0;
    const sendWindow = () => {
      for (let i = 0; i < WINDOW; i++) sock.write(framed);
      sent += WINDOW;
    };
    sock.on(
      'data',
      parse(() => {
        if (++got === ECHOES) resolve();
        else if (got === sent) sendWindow();
      }),
    );
    sendWindow();
  });
  const rate = ECHOES / ((now() - t0) / 1e6);
  cpuSince('node net', c0);
  sock.destroy();
  server.close();
  return rate;
}
if (run('echo')) {
  // Native backends also run with the inline path off (every op crosses to the reactor thread).
  const impls = backends.flatMap((b) => (b === 'portable' ? [b] : [b, `${b} (inline off)`]));
  const runs = new Map([['node net', []], ...impls.map((b) => [b, []])]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [impl, rates] of runs) rates.push(impl === 'node net' ? await echoNet() : await echoReactor(impl));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const group = `TCP echo, 64 B frames (window 64, median of ${ROUNDS} interleaved runs)`;
  for (const [impl, rates] of runs) {
    const cpuUs = median(cpuPerEcho.get(impl));
    record(group, impl, { opsPerSec: median(rates), runs: rates.map(Math.round), cpuUsPerEcho: cpuUs, perWindow: windowCounts.get(impl) }, impl === 'node net');
  }
}

// ---- tiny jobs: native executor, JS worker pool, piscina ---------------------------------
const JOBS = quick ? 200_000 : 2_000_000;
for (const native of run('jobs') ? [true, false] : []) {
  const ex = cep.createExecutor({ native });
  if (ex.native !== native) continue;
  const t0 = now();
  let done = 0;
  while (done < JOBS) {
    for (let i = 0; i < 8192; i++) ex.submit('noop');
    done += (await take(ex, 8192)).length;
  }
  record('tiny jobs/s', native ? 'native executor' : 'executor (TS twin)', { opsPerSec: done / ((now() - t0) / 1e6) });
  await ex.close();
}
if (run('jobs')) {
  const pool = cep.createWorkerPool({ module: join(here, 'async-tasks.mjs'), functions: ['noop'], slots: 4096 });
  await pool.ready();
  const TASKS = quick ? 100_000 : 1_000_000;
  const t0 = now();
  let done = 0;
  const per = Math.min(4096 * pool.threads, 8192);
  while (done < TASKS) {
    for (let i = 0; i < per; i++) pool.submit('noop');
    done += (await take(pool, per)).length;
  }
  record('tiny jobs/s', 'JS worker pool (SAB + Atomics)', { opsPerSec: done / ((now() - t0) / 1e6) });
  const lat = [];
  for (let i = 0; i < (quick ? 2000 : 20000); i++) {
    const t = now();
    await pool.run('noop');
    lat.push(now() - t);
  }
  record('worker round trip', 'JS worker pool (SAB + Atomics)', quantiles(lat));
  await pool.close();
}
if (run('jobs')) {
  const piscina = new Piscina({ filename: join(here, 'async-tasks.mjs') });
  await Promise.all(Array.from({ length: 100 }, () => piscina.run(null)));
  const TASKS = quick ? 50_000 : 300_000;
  const t0 = now();
  for (let done = 0; done < TASKS; done += 4096) await Promise.all(Array.from({ length: 4096 }, () => piscina.run(null)));
  record('tiny jobs/s', 'piscina', { opsPerSec: TASKS / ((now() - t0) / 1e6) }, true);
  const lat = [];
  for (let i = 0; i < (quick ? 2000 : 20000); i++) {
    const t = now();
    await piscina.run(null);
    lat.push(now() - t);
  }
  record('worker round trip', 'piscina', quantiles(lat), true);
  await piscina.destroy();
}

// ---- codec jobs: deflate, inflate, AEAD seal of 64 KiB inputs ------------------------------
if (run('codecs')) {
  const sodium = createRequire(import.meta.url)('sodium-native');
  const CODEC_JOBS = quick ? 256 : 2048;
  const input = new Uint8Array(64 * 1024);
  for (let i = 0, x = 1; i < input.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    input[i] = x % 5 === 0 ? x >>> 24 : 97 + ((i >> 4) % 17); // text-like: packs about 3:1
  }
  const packed = zlib.deflateSync(input);
  const key = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(24).fill(2);
  const mbps = (t0) => (CODEC_JOBS * input.length) / ((now() - t0) / 1e6) / 1e6;
  const cases = [
    ['deflate (level 6), 64 KiB inputs', 'deflate', input, {}],
    ['inflate, 64 KiB outputs', 'inflate', packed, {}],
    ['AEAD seal (XChaCha20-Poly1305), 64 KiB inputs', 'aead-seal', input, { key, nonce }],
  ];
  for (const [group, kind, data, options] of cases) {
    for (const native of [true, false]) {
      const ex = cep.createExecutor({ native });
      if (ex.native !== native) continue;
      const t0 = now();
      for (let i = 0; i < CODEC_JOBS; i++) ex.submit(kind, data, options);
      const got = await take(ex, CODEC_JOBS);
      if (!got.every((r) => r.ok)) throw new Error(`${kind} job failed`);
      record(group, native ? `native executor (${ex.threads} threads)` : 'executor (TS twin, JS thread)', { mbps: mbps(t0) });
      await ex.close();
    }
  }
  // peers: node:zlib's async calls (libuv's pool, all in flight at once) and sodium-native on the JS thread
  for (const [group, fn, data] of [
    [cases[0][0], promisify(zlib.deflate), input],
    [cases[1][0], promisify(zlib.inflate), packed],
  ]) {
    const t0 = now();
    await Promise.all(Array.from({ length: CODEC_JOBS }, () => fn(data)));
    record(group, `node:zlib async (libuv pool)`, { mbps: mbps(t0) }, true);
  }
  const sealed = new Uint8Array(input.length + 16);
  const t0 = now();
  for (let i = 0; i < CODEC_JOBS; i++) sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, input, null, null, nonce, key);
  record(cases[2][0], 'sodium-native (JS thread)', { mbps: mbps(t0) }, true);
}
process.stderr.write('\n');
rmSync(dir, { recursive: true, force: true });

// ---- report ------------------------------------------------------------------------------
const TARGETS = {
  'batched appends (256 × 4 KiB, one fdatasync)': 'target ≥ 500 MB/s',
  'no-op completions to JS (batches of 16384)': 'target ≥ 1 M/s',
  [`TCP echo, 64 B frames (window 64, median of ${ROUNDS} interleaved runs)`]: 'target ≥ 1.5× node net',
  'tiny jobs/s': 'native ≥ 10× piscina, JS pool ≥ 5× piscina',
  'deflate (level 6), 64 KiB inputs': 'native pool vs node:zlib async',
  'inflate, 64 KiB outputs': 'native pool vs node:zlib async',
  'AEAD seal (XChaCha20-Poly1305), 64 KiB inputs': 'native pool vs sodium-native',
  'worker round trip': 'target p50 ≤ 15 µs',
};
const info = machine();
console.log(`# CEP async benchmarks — ${info.cpu}, ${info.cores} cores, Node ${info.node}${quick ? ' (quick)' : ''}; load average at start ${loadStart}, at end ${load()}`);
for (const group of [...new Set(rows.map((r) => r.group))]) {
  const list = rows.filter((r) => r.group === group);
  const peer = list.find((r) => r.peer);
  console.log(`\n## ${group}${TARGETS[group] ? ` (${TARGETS[group]})` : ''}\n`);
  if (list[0].p50 !== undefined) {
    console.log('| implementation | p50 µs | p99 µs | p50 vs peer |\n| --- | ---: | ---: | ---: |');
    for (const r of list) console.log(`| ${r.impl} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${peer ? `${(peer.p50 / r.p50).toFixed(2)}×` : '—'} |`);
  } else {
    const key = list[0].mbps !== undefined ? 'mbps' : 'opsPerSec';
    console.log(`| implementation | ${key === 'mbps' ? 'MB/s' : 'ops/s'} | vs peer |\n| --- | ---: | ---: |`);
    for (const r of list) console.log(`| ${r.impl} | ${Math.round(r[key]).toLocaleString('en-US')} | ${peer ? `${(r[key] / peer[key]).toFixed(2)}×` : '—'} |`);
  }
  if (list.some((r) => r.cpuUsPerEcho !== undefined)) {
    console.log(`\nCPU per echo (all threads, median) and thread crossings per echo window (${WINDOW} sends + ${WINDOW} receives each way; last run):\n`);
    console.log('| implementation | CPU µs per echo | eventfd hand-offs | event-loop wakes | batches delivered | ops inline |\n| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of list) {
      const w = r.perWindow;
      const cells = w ? [w.handoffs.toFixed(2), w.wakes.toFixed(2), w.deliveries.toFixed(2), w.inline.toFixed(1)] : ['—', '—', '—', '—'];
      console.log(`| ${r.impl} | ${r.cpuUsPerEcho.toFixed(2)} | ${cells.join(' | ')} |`);
    }
  }
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', only ? `async-${only}.json` : 'async.json'),
  `${JSON.stringify({ machine: { ...info, load: { start: loadStart, end: load() } }, quick, results: rows }, null, 2)}\n`,
);
