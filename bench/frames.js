// Flat frame benchmark: a branch of N small VALUE cells (8-byte payloads, one beat that created
// them all) framed, validated and read back, against msgpackr (with records) and v8.serialize
// encoding and decoding the same records under the same names. Each name shape (bench/names.js:
// integers, words, `user-<n>`, UUIDs) is its own table. Every case runs in its own fresh
// process; figures are cells/s (and bytes/s of frame) as the median of rounds.
//
//   node bench/frames.js [--quick] [--json] [--cells=N] [--names=int|word|user|uuid|all]
//   node bench/frames.js <group> <impl> [--names=...]   (one case, prints one JSON line)
//
// "cep native (general path)" turns the fused single pass off (walkBranch + writeFrame, the same
// bytes), to show what the pass gains in the same run.
//
// Needs the compiled output: `npx tsc -p tsconfig.build.json`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { machine } from './machine.js';
import { NAME_SHAPES, namesOf } from './names.js';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const json = args.includes('--json');
const cellsArg = args.find((a) => a.startsWith('--cells='));
const N = cellsArg ? Number(cellsArg.slice(8)) : 100_000;
const positional = args.filter((a) => !a.startsWith('--'));
const namesArg = args.find((a) => a.startsWith('--names='))?.slice(8) ?? 'all';
if (namesArg !== 'all' && !NAME_SHAPES.includes(namesArg)) {
  console.error(`unknown --names ${namesArg}: one of ${NAME_SHAPES.join(', ')}, all`);
  process.exit(2);
}
const shapes = namesArg === 'all' ? NAME_SHAPES : [namesArg];

const GROUPS = {
  encode: { title: 'encode (walk the branch, write, finish)', target: { native: 3e6, peerRatio: 5 } },
  decode: { title: "decode + materialize (validate, decode every record, read every cell's name and payload bytes)", target: { native: 2e6 } },
  validate: { title: 'validate only (CRCs, trailer, TOC, chunk trackers, Merkle root)', target: { nativeBytes: 2e9 } },
  apply: { title: 'apply to an empty runtime (validate, decode, rebuild the cells)', target: {} },
};
const IMPLS = {
  encode: ['cep native', 'cep native (general path)', 'cep fallback (TS)', 'msgpackr (records)', 'v8.serialize'],
  decode: ['cep native', 'cep fallback (TS)', 'msgpackr (records)', 'v8.deserialize'],
  validate: ['cep native', 'cep fallback (TS)'],
  apply: ['cep native', 'cep fallback (TS)'],
};
const isPeer = (impl) => !impl.startsWith('cep');

// biome-ignore lint/correctness/noUnusedVariables: written so the JIT cannot drop the work measured
let sink = 0;
const consume = (v) => {
  sink ^= typeof v === 'number' ? v : (v?.length ?? 1);
};

async function cep() {
  return import('../dist/index.js');
}

function buildBranch(m, names) {
  const rt = m.createRuntime();
  const branch = rt.find('/data').add('bench');
  const v = new Uint8Array(8);
  for (let i = 1; i <= N; i++) {
    v[0] = i & 255;
    v[1] = (i >> 8) & 255;
    branch.add(names[i], { value: v });
  }
  return { rt, branch };
}

/** The same records the frame carries, as plain objects under the same names, for the peers. */
function records(names) {
  const out = [];
  for (let i = 1; i <= N; i++) {
    const value = new Uint8Array(8);
    value[0] = i & 255;
    value[1] = (i >> 8) & 255;
    out.push({ parent: 0, name: names[i], created: 0, deleted: -1, mod: 0, kind: 1, value });
  }
  return out;
}

// "materialize" means every decoded cell is used: its name and its payload bytes are read, so
// a reader that builds them on demand pays for them here like a reader that builds them eagerly.
// A numeric name is its number; any other name is read as its text, as the peers hand it out.
function touchCells(frame, textOf, numeric) {
  let x = 0;
  for (const c of frame.cells) {
    if (c.name !== undefined) x += numeric ? c.name.lo : textOf(frame, c.name).length;
    x += c.payload?.bytes?.length ?? 0;
  }
  return x;
}

function touchRecords(recs) {
  let x = 0;
  for (const r of recs) x += (typeof r.name === 'number' ? r.name : r.name.length) + r.value.length;
  return x;
}

async function setup(group, impl, shape) {
  const names = namesOf(shape, N);
  if (impl.startsWith('cep')) {
    const m = await cep();
    if (impl.startsWith('cep native') && m.nativeInfo().backend !== 'native') throw new Error('native addon not loaded');
    if (impl === 'cep native (general path)') {
      // the fused single pass off: walkBranch + writeFrame, as before it (same bytes)
      const { writerPaths } = await import('../dist/serialization/writer.js');
      writerPaths.fused = false;
    }
    const { branch } = buildBranch(m, names);
    const frame = m.encodeBranch(branch, { mode: 'delta' });
    if (group === 'encode') return { bytes: frame.length, fn: () => consume(m.encodeBranch(branch, { mode: 'delta' })) };
    if (group === 'decode') {
      const { frameNameText } = await import('../dist/serialization/apply.js');
      return { bytes: frame.length, fn: () => consume(touchCells(m.readFrame(frame), frameNameText, shape === 'int')) };
    }
    if (group === 'validate') {
      const { binding } = await import('../dist/native/index.js');
      const diag = new Float64Array(2);
      return { bytes: frame.length, fn: () => consume(binding.flatValidate(frame, diag)) };
    }
    if (group === 'apply') return { bytes: frame.length, fn: () => consume(m.applyFrame(m.createRuntime(), frame).created) };
  }
  const recs = records(names);
  if (impl.startsWith('msgpackr')) {
    const { Packr } = require('msgpackr');
    const packr = new Packr({ useRecords: true });
    const packed = packr.pack(recs);
    if (group === 'encode') return { bytes: packed.length, fn: () => consume(packr.pack(recs)) };
    return { bytes: packed.length, fn: () => consume(touchRecords(packr.unpack(packed))) };
  }
  const ser = v8.serialize(recs);
  if (group === 'encode') return { bytes: ser.length, fn: () => consume(v8.serialize(recs)) };
  return { bytes: ser.length, fn: () => consume(touchRecords(v8.deserialize(ser))) };
}

async function runCase(group, impl, shape) {
  const { fn, bytes } = await setup(group, impl, shape);
  const rounds = quick ? 5 : 11;
  for (let i = 0; i < 3; i++) fn(); // warm up
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  const s = times[times.length >> 1];
  // the fastest round too: on a shared, loaded machine it shows what the code does undisturbed
  return { ok: true, cellsPerSec: N / s, bytesPerSec: bytes / s, bestCellsPerSec: N / times[0], bestBytesPerSec: bytes / times[0], bytes, seconds: s };
}

if (positional.length === 2) {
  const [group, impl] = positional;
  try {
    console.log(JSON.stringify(await runCase(group, impl, shapes[0])));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e).split('\n')[0] }));
  }
  process.exit(0);
}

const results = [];
for (const shape of shapes) {
  for (const group of Object.keys(GROUPS)) {
    for (const impl of IMPLS[group]) {
      const env = { ...process.env, CEP_NATIVE: impl === 'cep fallback (TS)' ? '0' : '1' };
      const r = spawnSync(process.execPath, [self, group, impl, `--cells=${N}`, `--names=${shape}`, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
      let res;
      try {
        res = JSON.parse(r.stdout.trim().split('\n').pop());
      } catch {
        res = { ok: false, error: (r.stderr || r.stdout).trim().split('\n').pop() };
      }
      results.push({ names: shape, group, impl, peer: isPeer(impl), ...res });
      if (!json) process.stderr.write('.');
    }
  }
}
if (!json) process.stderr.write('\n');

const fmtRate = (x) => `${(x / 1e6).toFixed(2)} M cells/s`;
const fmtBytes = (x) => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} GB/s` : `${(x / 1e6).toFixed(0)} MB/s`);
if (json) console.log(JSON.stringify({ machine: machine(), cells: N, results }));
else {
  const info = machine();
  console.log(`# flat frames — ${N.toLocaleString('en-US')} VALUE cells (8 B), one beat; ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
  for (const shape of shapes)
    for (const [group, g] of Object.entries(GROUPS)) {
      const rows = results.filter((r) => r.group === group && r.names === shape);
      const peers = rows.filter((r) => r.peer && r.ok);
      const best = peers.reduce((a, r) => (r.cellsPerSec > (a?.cellsPerSec ?? 0) ? r : a), undefined);
      const fallback = rows.find((r) => r.impl === 'cep fallback (TS)' && r.ok);
      console.log(`\n## ${group}, names ${shape === 'user' ? 'user-<n>' : shape === 'int' ? 'integers' : shape === 'word' ? 'words' : 'UUIDs'}: ${g.title}\n`);
      console.log(`| implementation | cells/s (median) | frame bytes/s | fastest round | size | vs best peer${best ? ` (${best.impl})` : ''} | vs fallback | target |`);
      console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
      for (const r of rows) {
        if (!r.ok) {
          console.log(`| ${r.impl} | — | unavailable: ${r.error} | | | | | |`);
          continue;
        }
        r.vsBestPeer = best ? r.cellsPerSec / best.cellsPerSec : undefined;
        r.vsFallback = fallback ? r.cellsPerSec / fallback.cellsPerSec : undefined;
        let target = '';
        if (r.impl === 'cep native' && g.target.native)
          target = `>= ${(g.target.native / 1e6).toFixed(0)} M/s: ${r.cellsPerSec >= g.target.native ? 'met' : `${((r.cellsPerSec / g.target.native) * 100).toFixed(0)} %`}`;
        if (r.impl === 'cep native' && g.target.peerRatio && r.vsBestPeer !== undefined)
          target += `; >= ${g.target.peerRatio}× best peer: ${r.vsBestPeer >= g.target.peerRatio ? 'met' : `${r.vsBestPeer.toFixed(2)}×`}`;
        if (r.impl === 'cep native' && g.target.nativeBytes)
          target = `>= ${fmtBytes(g.target.nativeBytes)}: ${r.bytesPerSec >= g.target.nativeBytes ? 'met' : `${((r.bytesPerSec / g.target.nativeBytes) * 100).toFixed(0)} %`}`;
        const ratio = (x) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
        console.log(
          `| ${r.impl} | ${fmtRate(r.cellsPerSec)} | ${fmtBytes(r.bytesPerSec)} | ${fmtRate(r.bestCellsPerSec)}, ${fmtBytes(r.bestBytesPerSec)} | ${(r.bytes / 1e6).toFixed(2)} MB | ${r.peer ? '—' : ratio(r.vsBestPeer)} | ${r.impl.startsWith('cep native') ? ratio(r.vsFallback) : '—'} | ${target} |`,
        );
      }
    }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/frames.json', import.meta.url), `${JSON.stringify({ machine: machine(), quick, cells: N, results }, null, 2)}\n`);
}
