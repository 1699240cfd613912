import { describe, expect, it } from 'vitest';
import { registerCellOperations } from '../../src/beat/enzyme/cell-ops.js';
import type { Runtime } from '../../src/internal.js';
import { runtime } from './helpers.js';

function cells(rt: Runtime): number {
  let n = 0;
  rt.traverse(() => void n++, { raw: true });
  return n;
}

describe('a long-running runtime stays bounded', () => {
  it('journal, decisions, digests, mailboxes and facts are retained by window, not forever', () => {
    const rt = runtime({ journalBeats: 32, digestBeats: 64, mailboxTtl: { ttlBeats: 20 }, record: false });
    rt.mailboxes.open('/data/mailbox/diag', { ttlBeats: 50 });
    registerCellOperations(rt);
    rt.registerEnzyme({
      name: 'busy',
      signal: 'work',
      run(ctx) {
        ctx.decide('coin', () => ctx.beat % 3);
        ctx.rt.mailboxes.post('/data/inbox', {}, (m) => void m.add('n', { value: String(ctx.beat) }));
        const box = ctx.rt.find('/data/box') ?? ctx.rt.find('/data')!.add('box');
        box.add(null, { value: 'x' }).removeHard();
        // a malformed cell-operation request every beat: a CEI fact each time
        ctx.emit('sig_cell/op_del', '/data/nowhere');
      },
    });
    rt.bind('/data', 'busy');
    const sample = () => ({ cells: cells(rt), ...rt.stats() });
    let mid: ReturnType<typeof sample> | undefined;
    for (let b = 1; b <= 1200; b++) {
      rt.enqueue('work', '/data');
      rt.enqueue('work', '/data');
      rt.step();
      if (b === 600) mid = sample();
    }
    const end = sample();
    expect(end.cells).toBe(mid!.cells);
    expect(end.historyEntries).toBeLessThanOrEqual(mid!.historyEntries + 8);
    // live arena bytes stay flat; garbage is reclaimed by compaction (at most ~live + 1 MiB)
    const live = (x: typeof end) => x.arenaBytes - x.arenaGarbage;
    expect(live(end)).toBeLessThan(live(mid!) * 1.1 + 1024);
    expect(end.arenaGarbage).toBeLessThan(Math.max(live(end), 1 << 20) + 4096);
    expect(rt.find('/rt/beat')!.childCount()).toBe(32);
    expect(rt.find('/journal/decisions')!.childCount()).toBe(32);
    expect(rt.mailboxes.messages('/data/inbox').length).toBe(2 * 20);
    expect(rt.mailboxes.messages('/data/mailbox/diag').length).toBe(2 * 50);
    expect(rt.digest(1200 - 64)).toBeUndefined();
    expect(rt.digest(1200 - 63)).toBeDefined();
  });
});
