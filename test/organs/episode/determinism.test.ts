import { describe, expect, it } from 'vitest';
import type { Recording, Runtime } from '../../../src/index.js';
import { dump, onGo, runtime, SLICES, topics } from './helpers.js';

const BEATS = 30;

/** A runtime whose enzyme starts a mix of module RO slices and function RW slices on app/go. */
async function world(executor: 'stub' | 'threaded', replay?: Recording): Promise<Runtime> {
  const rt = runtime({ executor, threads: 2, replay });
  const nums = rt.find('/data')!.add('nums');
  for (let i = 1; i <= 6; i++) nums.add(`n${i}`, { value: String(i * 7) });
  rt.find('/data')!.add('out', { value: '' });
  await rt.episodes.load(SLICES);
  onGo(rt, (ctx) => {
    const eps = ctx.rt.episodes;
    const k = Number(ctx.payload);
    eps.start({ signal: 'app/sum', target: '/data/nums', profile: 'ro', slice: { module: SLICES, name: 'sum' }, reads: ['/data/nums'] });
    eps.start({ signal: 'app/spin', target: '/data/nums', profile: 'ro', state: { h: k, iters: 20000 + k, left: 2 + (k % 4) }, slice: { module: SLICES, name: 'spin' }, reads: ['/data/nums'] });
    let n = 0;
    eps.start({
      signal: 'app/write',
      target: '/data/out',
      profile: 'rw',
      slice: (c) => {
        c.set('/data/out', `${c.text('/data/out')}${k}.${n}|`);
        if (++n < 3) c.yield();
        else c.close();
      },
    });
  });
  return rt;
}

function evidence(rt: Runtime): { dossiers: string[][]; out: string | undefined; digests: string[] } {
  const eids = rt
    .find('/rt/ops')!
    .children()
    .map((c) => Number(c.name))
    .filter((eid) => rt.ops.info(eid).verb === 'op/ep');
  const digests: string[] = [];
  for (let b = 1; b <= BEATS; b++) digests.push(Buffer.from(rt.digest(b)!).toString('hex'));
  return { dossiers: eids.map((e) => dump(rt, e)), out: rt.find('/data/out')!.text, digests };
}

async function drive(rt: Runtime, live: boolean): Promise<void> {
  for (let b = 1; b <= BEATS; b++) {
    if (live && (b === 1 || b === 4 || b === 9)) rt.enqueue('app/go', '/data', String(b));
    await rt.episodes.step();
  }
}

describe('determinism', () => {
  it('stub, threaded and replay give identical dossiers, data and beat digests', async () => {
    const stub = await world('stub');
    await drive(stub, true);
    const a = evidence(stub);
    expect(a.dossiers).toHaveLength(9);
    expect(a.dossiers.every((d) => d.some((l) => l.startsWith('/status=') && l.endsWith(Buffer.from('sts:ok').toString('hex'))))).toBe(true);
    const threaded = await world('threaded');
    try {
      await drive(threaded, true);
      expect(evidence(threaded)).toEqual(a);
      expect(threaded.episodes.offloaded).toBeGreaterThan(20); // the module slices ran on worker threads
      expect(stub.episodes.offloaded).toBe(0);
    } finally {
      await threaded.episodes.close();
    }
    for (const ex of ['stub', 'threaded'] as const) {
      const replayed = await world(ex, stub.recording());
      try {
        await drive(replayed, false);
        expect(evidence(replayed)).toEqual(a);
      } finally {
        await replayed.episodes.close();
      }
    }
  });

  it('threaded: hundreds of fast module slices queue in the backlog, each worker is fed as it frees up, outcomes equal the stub', async () => {
    const run = async (executor: 'stub' | 'threaded') => {
      const rt = runtime({ executor, threads: 2 });
      const nums = rt.find('/data')!.add('nums');
      for (let i = 1; i <= 3; i++) nums.add(`n${i}`, { value: String(i) });
      await rt.episodes.load(SLICES);
      const eids: number[] = [];
      for (let k = 0; k < 300; k++) {
        const { eid } = rt.episodes.start({
          signal: 'app/spin',
          target: '/data/nums',
          profile: 'ro',
          state: { h: k, iters: 50 + k, left: 1 + (k % 3) },
          slice: { module: SLICES, name: 'spin' },
          reads: ['/data/nums'],
        });
        eids.push(eid);
      }
      try {
        await rt.episodes.run();
        expect(rt.episodes.active).toBe(0);
        return { dossiers: eids.map((e) => dump(rt, e)), offloaded: rt.episodes.offloaded };
      } finally {
        await rt.episodes.close();
      }
    };
    const stub = await run('stub');
    const threaded = await run('threaded');
    expect(threaded.dossiers).toEqual(stub.dossiers);
    expect(threaded.offloaded).toBe(600); // every slice went to a worker thread
    expect(stub.offloaded).toBe(0);
  });

  it('threaded: closing the workers fails the slices still waiting for one; the rest finish and later slices run on the runtime thread', async () => {
    const rt = runtime({ executor: 'threaded', threads: 2 });
    rt.find('/data')!.add('nums').add('n1', { value: '1' });
    await rt.episodes.load(SLICES);
    const eids: number[] = [];
    for (let k = 0; k < 100; k++)
      eids.push(
        rt.episodes.start({ signal: 'app/spin', target: '/data/nums', profile: 'ro', state: { h: k, iters: 200_000, left: 2 }, slice: { module: SLICES, name: 'spin' }, reads: ['/data/nums'] }).eid,
      );
    rt.step(); // 100 submitted: 32 published to the workers' ring (16 slots per thread), the rest in the backlog
    expect(rt.episodes.offloaded).toBe(100);
    await rt.episodes.close();
    await rt.episodes.run();
    const status = eids.map((e) => rt.ops.info(e).status);
    const failed = status.filter((s) => s === 'sts:fail').length;
    expect(failed).toBeGreaterThanOrEqual(50); // the backlog
    expect(status.filter((s) => s === 'sts:ok')).toHaveLength(100 - failed);
    expect(topics(rt).filter((t) => t === 'ep:fail')).toHaveLength(failed);
    expect(rt.episodes.offloaded).toBe(100); // the second slices of the others ran here
    expect(rt.episodes.active).toBe(0);
  });

  it('threaded: a worker thread that dies fails the slice it ran; it is replaced and every other slice still runs on the workers', async () => {
    const rt = runtime({ executor: 'threaded', threads: 2 });
    rt.find('/data')!.add('nums').add('n1', { value: '1' });
    await rt.episodes.load(SLICES);
    try {
      const dead = rt.episodes.start({ signal: 'app/die', target: '/data/nums', profile: 'ro', slice: { module: SLICES, name: 'die' }, reads: ['/data/nums'] });
      const rest = Array.from(
        { length: 6 },
        (_, k) =>
          rt.episodes.start({ signal: 'app/spin', target: '/data/nums', profile: 'ro', state: { h: k, iters: 1000, left: 3 }, slice: { module: SLICES, name: 'spin' }, reads: ['/data/nums'] }).eid,
      );
      await rt.episodes.run();
      expect(rt.ops.info(dead.eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' });
      expect(rest.map((e) => rt.ops.info(e).status)).toEqual(Array(6).fill('sts:ok'));
      expect(rt.episodes.offloaded).toBe(19); // every slice went to a worker, the ones after the death too
      const notes = rt.mailboxes.messages('/data/mailbox/diag').map((m) => m.child('note')?.text ?? '');
      expect(notes.some((n) => n.includes('died'))).toBe(true);
    } finally {
      await rt.episodes.close();
    }
  });

  it('threaded: a module the workers cannot load is refused by load(); its slices run on the runtime thread', async () => {
    const rt = runtime({ executor: 'threaded', threads: 2 });
    const mod = new URL('./fixtures/main-only.mjs', import.meta.url);
    await expect(rt.episodes.load(mod)).rejects.toThrow('the runtime thread only');
    const { eid } = rt.episodes.start({ signal: 'app/once', target: '/data', profile: 'ro', slice: { module: mod, name: 'once' }, reads: ['/data'] });
    await rt.episodes.run();
    expect(rt.ops.info(eid).status).toBe('sts:ok');
    expect(rt.episodes.offloaded).toBe(0);
    await rt.episodes.close();
  });
});
