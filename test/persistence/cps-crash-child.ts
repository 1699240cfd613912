/**
 * The crash test's child: opens (recovering) the store in CPS_DIR, then runs beats of the model
 * forever, four beats per flush, printing `start <beat>` once and `d <beat>` each time the durable
 * beat moves. The parent kills it with SIGKILL whenever it likes.
 */
import { createRuntime } from '../../src/runtime/create.js';
import { applyModel } from './cps-crash-model.js';

const rt = createRuntime({ store: { dir: process.env.CPS_DIR!, checkpointEvery: Number(process.env.CPS_CHECKPOINT ?? 64) }, record: false, journalBeats: 0 });
rt.registerEnzyme({ name: 'crash_w', signal: 'crash/w', run: (ctx) => applyModel(ctx.rt, ctx.beat) });
rt.bind('/data', 'crash_w', { propagate: true });
process.stdout.write(`start ${rt.beat}\n`);
let reported = rt.durableBeat;
for (;;) {
  for (let i = 0; i < 4; i++) {
    rt.enqueue('crash/w', '/data');
    rt.step();
  }
  await rt.flush();
  if (rt.durableBeat !== reported) {
    reported = rt.durableBeat;
    process.stdout.write(`d ${reported}\n`);
  }
}
