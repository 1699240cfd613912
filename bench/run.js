// `npm run bench [suite ...] [--quick]`: every case in its own fresh process, then one table
// per group with each figure's ratio to the best npm peer. Results also go to bench/results/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './machine.js';

const here = dirname(fileURLToPath(import.meta.url));
// The npm peers compared against are bench/package.json's own dependencies.
if (!existsSync(join(here, 'node_modules'))) {
  console.error('bench: the npm peers are not installed; run `npm run bench:setup` first');
  process.exit(1);
}
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
// Suites that are a script of their own (they print their tables and write bench/results/ themselves).
const standalone = {
  kernel: { file: 'kernel.js', node: ['--expose-gc'] },
  heartbeat: { file: 'heartbeat.js', node: [] },
  frames: { file: 'frames.js', node: [] },
  async: { file: 'async.js', node: [] },
  episodes: { file: 'episodes.js', node: [] },
  'persist-engine': { file: 'persist-engine.js', node: [] },
  persist: { file: 'persist.js', node: [] },
  hydrate: { file: 'hydrate.js', node: [] },
  deep: { file: 'deep.js', node: [] },
};

const suites = ['hash', ...Object.keys(standalone)].filter((s) => wanted.length === 0 || wanted.includes(s));

const info = machine();
console.log(`# CEP benchmarks — ${info.cpu}, ${info.cores} cores, ${info.arch} [${info.flags.join(' ')}], Node ${info.node}`);

function formatRate(bytesPerSec, opsPerSec) {
  if (bytesPerSec !== undefined) {
    return bytesPerSec >= 1e9 ? `${(bytesPerSec / 1e9).toFixed(2)} GB/s` : `${(bytesPerSec / 1e6).toFixed(0)} MB/s`;
  }
  return `${(opsPerSec / 1e6).toFixed(2)} M/s`;
}

function runCaseSuite(suite) {
  const suitePath = join(here, 'suites', `${suite}.js`);
  return import(pathToFileURL(suitePath).href).then(({ cases }) => {
    const results = cases.map((c, index) => {
      const child = spawnSync(process.execPath, [join(here, 'worker.js'), suitePath, String(index), quick ? 'quick' : 'full'], {
        env: { ...process.env, ...(c.env ?? {}) },
        encoding: 'utf8',
      });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      let result;
      try {
        result = JSON.parse(line);
      } catch {
        result = { ok: false, error: (child.stderr || line).trim().split('\n').pop() };
      }
      process.stderr.write('.');
      return { group: c.group, impl: c.impl, peer: Boolean(c.peer), bytes: c.bytes, ...result };
    });
    process.stderr.write('\n');
    return results;
  });
}

function printTables(results) {
  const groups = [...new Set(results.map((r) => r.group))];
  for (const group of groups) {
    const rows = results.filter((r) => r.group === group);
    const peers = rows.filter((r) => r.peer && r.ok);
    const best = peers.reduce((a, r) => (r.opsPerSec > (a?.opsPerSec ?? 0) ? r : a), undefined);
    console.log(`\n## ${group}\n`);
    console.log(`| implementation | ops/s | throughput | vs best peer${best ? ` (${best.impl})` : ''} |`);
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) {
      if (!r.ok) {
        console.log(`| ${r.impl} | — | unavailable: ${r.error} | — |`);
        continue;
      }
      r.ratio = best ? r.opsPerSec / best.opsPerSec : undefined;
      const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`;
      console.log(`| ${r.impl} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${formatRate(r.bytesPerSec, r.opsPerSec)} | ${ratio} |`);
    }
  }
}

mkdirSync(join(here, 'results'), { recursive: true });
for (const suite of suites) {
  const script = standalone[suite];
  if (script) {
    const child = spawnSync(process.execPath, [...script.node, join(here, script.file), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
    if (child.status !== 0) console.log(`${suite} benchmark failed (exit ${child.status})`);
    continue;
  }
  const results = await runCaseSuite(suite);
  printTables(results);
  writeFileSync(join(here, 'results', `${suite}.json`), `${JSON.stringify({ machine: info, quick, results }, null, 2)}\n`);
}
