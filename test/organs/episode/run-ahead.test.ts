import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../../src/index.js';
import { dump, runtime, SLICES, slices } from './helpers.js';

/** Yielding module slices on `executor`: spin episodes of 1 to 4 slices, and watchers of /data/flag. */
async function world(executor: 'stub' | 'threaded'): Promise<{ rt: Runtime; spins: number[]; watchers: number[] }> {
  const rt = runtime({ executor, threads: 2 });
  rt.find('/data')!.add('flag', { value: 'go' });
  rt.find('/data')!.add('nums').add('n1', { value: '1' });
  await rt.episodes.load(SLICES);
  const spins: number[] = [];
  const watchers: number[] = [];
  for (let k = 0; k < 40; k++) {
    spins.push(
      rt.episodes.start({
        signal: 'app/spin',
        target: '/data/nums',
        profile: 'ro',
        state: { h: k, iters: 2000 + k, left: 1 + (k % 4) },
        slice: { module: SLICES, name: 'spin' },
        reads: ['/data/nums'],
      }).eid,
    );
  }
  for (let k = 0; k < 4; k++) watchers.push(rt.episodes.start({ signal: 'app/watch', target: '/data/flag', profile: 'ro', slice: { module: SLICES, name: 'watch' }, reads: ['/data/flag'] }).eid);
  return { rt, spins, watchers };
}

describe('run-ahead (threaded backend)', () => {
  it('a yielding slice’s next slice runs ahead on the workers and is adopted; dossiers equal the stub’s', async () => {
    const run = async (executor: 'stub' | 'threaded') => {
      const { rt, spins } = await world(executor);
      try {
        rt.find('/data/flag')!.set('stop'); // the watchers close at their first slice
        await rt.episodes.run();
        expect(rt.episodes.active).toBe(0);
        return { dossiers: spins.map((e) => dump(rt, e)), offloaded: rt.episodes.offloaded, ranAhead: rt.episodes.ranAhead };
      } finally {
        await rt.episodes.close();
      }
    };
    const stub = await run('stub');
    const threaded = await run('threaded');
    expect(threaded.dossiers).toEqual(stub.dossiers);
    // 40 spin episodes of 1..4 slices (100 slices) and 4 watchers of one: all on the workers;
    // every slice after an episode's first ran as an adopted guess (its input was known once the previous one was back)
    expect(threaded.offloaded).toBe(104);
    expect(threaded.ranAhead).toBe(60);
    expect(stub.ranAhead).toBe(0);
  });

  it('a guess whose reads changed before its Commit is dropped: the slice runs on the new snapshot, as on the stub', async () => {
    const run = async (executor: 'stub' | 'threaded') => {
      const { rt, watchers } = await world(executor);
      try {
        for (let b = 1; b <= 12; b++) {
          if (b === 6) rt.find('/data/flag')!.set('stop'); // between beats: the guesses made at beat 5 read 'go'
          await rt.episodes.step();
        }
        expect(rt.episodes.active).toBe(0);
        return { dossiers: watchers.map((e) => dump(rt, e)), slices: watchers.map((e) => slices(rt, e)), ranAhead: rt.episodes.ranAhead };
      } finally {
        await rt.episodes.close();
      }
    };
    const stub = await run('stub');
    const threaded = await run('threaded');
    expect(threaded.dossiers).toEqual(stub.dossiers);
    // slices at beats 1..5 read 'go'; the one submitted at beat 6 read 'stop' and closed (a guess adopted there would have read 'go' and gone on)
    expect(threaded.slices).toEqual([6, 6, 6, 6]);
    expect(threaded.ranAhead).toBeGreaterThan(0); // the unchanged beats ran ahead
  });
});
