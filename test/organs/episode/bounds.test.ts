import { describe, expect, it } from 'vitest';
import { SNAPSHOT_MAX_CELLS } from '../../../src/internal.js';
import { runtime, SLICES, topics } from './helpers.js';

describe('bad slices and hostile input fail their episode, never the beat', () => {
  it('a snapshot over its bound, an uncloneable state, a bad await: ist:fail with a fact', async () => {
    const rt = runtime();
    const big = rt.find('/data')!.add('big', { store: 'list', indexing: 'insertion' });
    for (let i = 0; i <= SNAPSHOT_MAX_CELLS; i++) big.add(null);
    rt.find('/data')!.add('nums').add('a', { value: '1' });
    await rt.episodes.load(SLICES);
    const a = rt.episodes.start({ signal: 'app/a', target: '/data', profile: 'ro', slice: { module: SLICES, name: 'sum' }, reads: ['/data/big'] });
    const b = rt.episodes.start({ signal: 'app/b', target: '/data', profile: 'ro', slice: { module: SLICES, name: 'badState' }, reads: ['/data/nums'] });
    const c = rt.episodes.start({ signal: 'app/c', target: '/data', profile: 'ro', slice: { module: SLICES, name: 'badAwait' }, reads: ['/data/nums'] });
    const d = rt.episodes.start({ signal: 'app/d', target: '/data', profile: 'ro', slice: { module: SLICES, name: 'broken' }, reads: ['/data/nums'] });
    expect(() => rt.run({ beats: 4 })).not.toThrow();
    for (const e of [a, b, c, d]) expect(rt.ops.info(e.eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' });
    // the bad await throws in the slice (ERR_INVALID_ARG_TYPE for options.want), as in a function slice
    expect(topics(rt).filter((t) => t === 'ep:fail')).toHaveLength(4);
    expect(rt.episodes.active).toBe(0);
  });

  it('a thousand episodes cancelled by ticket leave nothing behind in the engine', () => {
    const rt = runtime();
    const tickets = Array.from({ length: 1000 }, (_, i) => rt.episodes.start({ signal: 'app/x', target: '/data', profile: i % 2 ? 'ro' : 'hybrid', slice: (ctx) => ctx.yield() }).ticket);
    rt.step();
    for (const t of tickets) expect(rt.episodes.cancelTicket(t)).toBe(true);
    rt.run({ beats: 3 });
    expect(rt.episodes.active).toBe(0);
    expect(rt.episodes.busy()).toBe(false);
    expect(tickets.every((t) => !rt.episodes.cancelTicket(t))).toBe(true);
    expect(rt.ops.watching).toBe(0);
  });
});
