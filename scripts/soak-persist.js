// The long crash soak beside test/persistence/cps-crash.test.ts: the same kill-and-recover rounds,
// many more of them, on stores that keep growing (checkpoints every 64 frames by default).
//
//   node scripts/soak-persist.js [--rounds N] [--stores N] [--seed N] [--keep]
//
// Each store runs its rounds in sequence (stores in parallel): a child runs durable beats and
// reports what it saw durable, SIGKILL lands at a random moment, the store is reopened and must
// hold every reported beat, accept no corrupt frame, and equal the model. Needs `npm install`
// (the addon build) and esbuild (a devDependency).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const rounds = opt('rounds', 1000);
const stores = opt('stores', 2);
const seed = opt('seed', Date.now() & 0xffffffff);
const root = fileURLToPath(new URL('..', import.meta.url));
process.env.CEP_REPO_ROOT = root;
const work = mkdtempSync(join(tmpdir(), 'cep-soak-'));
// the bundled driver lives inside the package so that its `esbuild` import resolves
const driver = join(root, 'node_modules', '.cache', 'cep-soak', 'driver.mjs');
buildSync({ entryPoints: [join(root, 'test', 'persistence', 'cps-crash-driver.ts')], bundle: true, platform: 'node', format: 'esm', outfile: driver, logLevel: 'silent', external: ['esbuild'] });
// the bundle finds the addon by path (as the test children do), unless CEP_NATIVE=0
const addon = join(root, 'build', 'Release', 'cep.node');
if (process.env.CEP_NATIVE !== '0' && existsSync(addon)) process.env.CEP_NATIVE_PATH ??= addon;
const { bundleChild, crashRounds } = await import(pathToFileURL(driver).href);
const child = bundleChild(work);
console.log(`soak: ${stores} store(s) x ${rounds} rounds, seed ${seed}, in ${work}`);
const t0 = Date.now();
const per = await Promise.all(
  Array.from({ length: stores }, async (_, i) => {
    const dir = join(work, `store-${i}`);
    const results = [];
    for (let done = 0; done < rounds; done += 50) {
      const batch = await crashRounds(child, dir, Math.min(50, rounds - done), seed + i * 7919 + done);
      results.push(...batch);
      const last = batch[batch.length - 1];
      console.log(`store ${i}: ${done + batch.length}/${rounds} kills, recovered beat ${last.recovered}`);
    }
    return results;
  }),
);
const all = per.flat();
const early = all.filter((r) => r.reported < 0).length;
console.log(`ok: ${all.length} SIGKILLs in ${((Date.now() - t0) / 1000).toFixed(0)} s (${early} before any durable report); every reported beat recovered, every state equal to the model`);
if (!args.includes('--keep')) rmSync(work, { recursive: true, force: true });
