/**
 * The crash tests' child: opens the store in CRASH_DIR (reactor backend CRASH_BACKEND, or sync
 * fs when 'none'), resumes after the recovered beat and commits beats forever (the model in
 * crash-model.ts), printing `ok <beat>` once each commit resolved. The parent SIGKILLs it at
 * random moments. Reusable for soaks: `node <bundled child>` with those variables.
 */
import { createRuntime, encodeBranch, readFrame } from '../../src/index.js';
import { openFlatfileStore } from '../../src/persistence/flatfile/index.js';
import { branchesOf, valueAtBeat, CRASH_BRANCHES } from './crash-model.js';

const dir = process.env.CRASH_DIR!;
const backend = process.env.CRASH_BACKEND ?? 'none';
const store = openFlatfileStore(dir, backend === 'none' ? {} : { backend: backend as 'uring' });
process.stdout.write(`open ${store.recovery.beat}\n`);

const rt = createRuntime();
const data = rt.find('/data')!;
const start = store.lastBeat + 1;
while (rt.beat < start) rt.advance();
const cells = new Map(CRASH_BRANCHES.map((b) => [b, data.add(b, { store: 'list', indexing: 'insertion' })]));
const prev = new Map(CRASH_BRANCHES.map((b) => [b, store.head(b)?.root ?? new Uint8Array(32)]));

async function loop(): Promise<void> {
  for (let beat = start; ; beat++) {
    if (beat > start) rt.advance();
    store.beginBeat(beat);
    for (const b of branchesOf(beat)) {
      cells.get(b)!.add(`e${beat}`, { value: valueAtBeat(b, beat) });
      const f = encodeBranch(cells.get(b)!, { mode: 'delta', beat, prevRoot: prev.get(b)! });
      store.putFrame(b, f);
      prev.set(b, readFrame(f).root);
    }
    await store.commitBeat();
    process.stdout.write(`ok ${beat}\n`);
  }
}
loop().catch((e) => {
  process.stderr.write(`child failed: ${(e as Error).stack}\n`);
  process.exit(2);
});
