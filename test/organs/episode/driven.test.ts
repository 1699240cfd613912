import { describe, expect, it } from 'vitest';
import { beatWhere, runtime, SLICES } from './helpers.js';

describe('driven mode', () => {
  it.each(['stub', 'threaded'] as const)('%s: rt.start() takes beats for queued slices, waits for worker results, runs episodes to the end', async (executor) => {
    const rt = runtime({ executor, threads: 2 });
    try {
      const nums = rt.find('/data')!.add('nums');
      for (let i = 1; i <= 4; i++) nums.add(`n${i}`, { value: String(i) });
      await rt.episodes.load(SLICES);
      const eids = [1, 2, 3].map(
        (k) =>
          rt.episodes.start({ signal: 'app/spin', target: '/data/nums', profile: 'ro', state: { h: k, iters: 50_000, left: 3 }, slice: { module: SLICES, name: 'spin' }, reads: ['/data/nums'] }).eid,
      );
      const sum = rt.episodes.start({ signal: 'app/sum', target: '/data/nums', profile: 'ro', slice: { module: SLICES, name: 'sum' }, reads: ['/data/nums'] }).eid;
      rt.start({ intervalMs: 0 });
      await beatWhere(rt, () => rt.episodes.active === 0);
      rt.stop();
      expect(rt.heartbeat.lastError).toBeUndefined();
      for (const eid of [...eids, sum]) expect(rt.ops.info(eid).status).toBe('sts:ok');
      expect(rt.episodes.offloaded > 0).toBe(executor === 'threaded');
    } finally {
      await rt.episodes.close();
    }
  });
});
