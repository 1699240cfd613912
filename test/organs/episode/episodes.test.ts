import { describe, expect, it } from 'vitest';
import { EPISODE_HISTORY_WINDOW } from '../../../src/organs/episode/engine.js';
import { code, onGo, runtime, slices, states, topics } from './helpers.js';

describe('episodes: dossiers and states', () => {
  it('start opens an op/ep dossier with the signal, target and pipeline snapshot, ist:plan', () => {
    const rt = runtime();
    const { eid, ticket } = rt.episodes.start({ signal: 'app/index', target: '/data', profile: 'ro', slice: (ctx) => ctx.close(), pipeline: { pipelineId: 'p1', hopIndex: 2 } });
    const d = rt.ops.dossier(eid);
    expect(d.path).toBe(`/rt/ops/${eid}`);
    expect(rt.ops.info(eid)).toMatchObject({ verb: 'op/ep', state: 'ist:plan', status: undefined });
    const m = d.child('episode')!;
    expect([m.child('signal')!.text, m.child('target')!.text, m.child('profile')!.text, m.child('ticket')!.text]).toEqual(['app/index', '/data', 'ep:pro/ro', String(ticket)]);
    expect([m.child('pipeline')!.child('pipeline_id')!.text, m.child('pipeline')!.child('hop_index')!.text]).toEqual(['p1', '2']);
    rt.step();
    expect(states(rt, eid)).toEqual(['0:ist:plan', '1:ist:run', '1:ist:ok', '1:sts:ok']);
    expect(rt.episodes.active).toBe(0);
  });

  it('cooperative yield: one slice per beat, FIFO, history append-only, the dossier outlives the slices', () => {
    const rt = runtime();
    const order: string[] = [];
    const mk = (tag: string, n: number) => (ctx: { yield(): void; close(): void; beat: number }) => {
      order.push(`${ctx.beat}${tag}`);
      if (--n > 0) ctx.yield();
      else ctx.close();
    };
    const a = rt.episodes.start({ signal: 'app/a', target: '/data', profile: 'ro', slice: mk('a', 3) });
    const b = rt.episodes.start({ signal: 'app/b', target: '/data', profile: 'ro', slice: mk('b', 2) });
    rt.run({ beats: 6 });
    expect(order).toEqual(['1a', '1b', '2a', '2b', '3a']);
    // the yield cycle records state changes only: the slice of beat 2 left the state ist:yield
    expect(states(rt, a.eid)).toEqual(['0:ist:plan', '1:ist:run', '1:ist:yield', '3:ist:run', '3:ist:ok', '3:sts:ok']);
    expect(states(rt, b.eid).slice(-2)).toEqual(['2:ist:ok', '2:sts:ok']);
    expect(slices(rt, a.eid)).toBe(3);
    expect(slices(rt, b.eid)).toBe(2);
    expect(rt.ops.isOpen(a.eid)).toBe(false);
    expect(rt.find(`/rt/ops/${a.eid}/watchers`)!.children()).toHaveLength(0); // the yield watcher went with the cycle
  });

  it('the yield cycle: the standing watcher is armed once, a steady yield writes no cell, episode/slices catches up at the next state', () => {
    const rt = runtime();
    const { eid } = rt.episodes.start({ signal: 'app/tick', target: '/data', profile: 'ro', state: 0, slice: (ctx) => ((ctx.state = (ctx.state as number) + 1) < 6 ? ctx.yield() : ctx.close()) });
    const changed: string[][] = [];
    rt.onCommit((_n, ch) => void changed.push(ch.cells.map((c) => c.path).filter((p) => p.startsWith(`/rt/ops/${eid}`))));
    rt.run({ beats: 3 });
    const ws = rt.find(`/rt/ops/${eid}/watchers`)!.children();
    expect(ws).toHaveLength(1);
    expect([ws[0].child('want')!.text, ws[0].child('target')!.text]).toEqual(['ist:yield', `/rt/ops/${eid}`]);
    expect(ws[0].child('deadline_bt')!.value).toEqual(new Uint8Array(8)); // standing: no deadline
    expect(rt.ops.info(eid).state).toBe('ist:yield');
    expect(changed[0].length).toBeGreaterThan(0); // beat 1: ist:run, ist:yield, the watcher
    expect(changed.slice(1)).toEqual([[], []]); // beats 2 and 3: slices ran, the dossier did not change
    expect(slices(rt, eid)).toBe(1);
    rt.run({ beats: 5 });
    expect(states(rt, eid)).toEqual(['0:ist:plan', '1:ist:run', '1:ist:yield', '6:ist:run', '6:ist:ok', '6:sts:ok']);
    expect(slices(rt, eid)).toBe(6);
    expect(rt.find(`/rt/ops/${eid}/watchers`)!.children()).toHaveLength(0);
  });

  it('the dossier history keeps a window of the newest entries; the state cell keeps no payload history', () => {
    const rt = runtime();
    const job = rt.ops.start('op/job', { target: '/data' });
    rt.registerEnzyme({ name: 'bump', signal: 'app/bump', run: (ctx) => void ctx.rt.ops.state(job, `ist:s${ctx.beat}`) });
    rt.bind('/data', 'bump');
    // an episode that awaits a new state of `job` at every slice: two history entries per slice
    const { eid } = rt.episodes.start({
      signal: 'app/w',
      target: '/data',
      profile: 'ro',
      state: 0,
      slice: (ctx) => ((ctx.state = (ctx.state as number) + 1) < 100 ? ctx.await(job, { want: `ist:s${ctx.beat + 1}`, ttl: 5 }) : ctx.close()),
    });
    for (let b = 0; b < 220; b++) {
      rt.enqueue('app/bump', '/data');
      rt.step();
    }
    expect(rt.ops.info(eid).status).toBe('sts:ok');
    const h = rt.ops.info(eid).history;
    expect(h).toHaveLength(EPISODE_HISTORY_WINDOW);
    expect(h.slice(-3).map((e) => e.value)).toEqual(['ist:run', 'ist:ok', 'sts:ok']);
    expect(h.every((e, i) => i === 0 || e.beat >= h[i - 1].beat)).toBe(true);
    expect(rt.find(`/rt/ops/${eid}/state`)!.payloadBeats()).toHaveLength(1); // the current version only
    expect(slices(rt, eid)).toBe(100);
    // an unwindowed dossier keeps everything
    expect(rt.ops.info(job).history.length).toBeGreaterThan(200);
  });

  it('await of another op: resumes when it reaches the wanted state', () => {
    const rt = runtime();
    const job = rt.ops.start('op/job', { target: '/data' });
    let resumed = -1;
    const { eid } = rt.episodes.start({
      signal: 'app/wait',
      target: '/data',
      profile: 'ro',
      state: 0,
      slice: (ctx) => {
        if (ctx.state === 0) {
          ctx.state = 1;
          ctx.await(job, { want: 'sts:ok', ttl: 50 });
        } else {
          resumed = ctx.beat;
          ctx.close();
        }
      },
    });
    rt.run({ beats: 3 });
    expect(rt.ops.info(eid).state).toBe('ist:await');
    rt.registerEnzyme({ name: 'finisher', signal: 'app/finish', run: (ctx) => void ctx.rt.ops.close(job, 'sts:ok') });
    rt.bind('/data', 'finisher');
    rt.enqueue('app/finish', '/data');
    const b = rt.step(); // closes the job; its watcher enqueues op/cont for the episode
    rt.step(); // ep/cont resumes it
    expect(resumed).toBe(b + 1);
    expect(states(rt, eid)).toEqual(['0:ist:plan', '1:ist:run', '1:ist:await', `${b + 1}:ist:run`, `${b + 1}:ist:ok`, `${b + 1}:sts:ok`]);
  });

  it('timeout cancel: op/tmo ends a waiting episode with ist:cxl, sts:cnl', () => {
    const rt = runtime();
    const job = rt.ops.start('op/job', { target: '/data' });
    const { eid } = rt.episodes.start({ signal: 'app/wait', target: '/data', profile: 'ro', slice: (ctx) => ctx.await(job, { ttl: 3 }) });
    rt.run({ beats: 6 });
    const info = rt.ops.info(eid);
    expect(info.state).toBe('ist:cxl');
    expect(info.status).toBe('sts:cnl');
    expect(topics(rt)).toContain('ep:tmo');
  });

  it('cancel by ticket from tooling: queued, waiting and running episodes end sts:cxl', () => {
    const rt = runtime();
    let sawCancel = false;
    const queued = rt.episodes.start({ signal: 'app/q', target: '/data', profile: 'ro', slice: (ctx) => ctx.close() });
    expect(rt.episodes.cancelTicket(queued.ticket)).toBe(true); // outside a beat: an ep/cancel impulse
    rt.step();
    expect(rt.ops.info(queued.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(states(rt, queued.eid)).not.toContain('1:ist:run'); // it never ran
    const job = rt.ops.start('op/job');
    const waiting = rt.episodes.start({ signal: 'app/w', target: '/data', profile: 'ro', slice: (ctx) => ctx.await(job) });
    rt.step();
    rt.episodes.cancelTicket(waiting.ticket);
    rt.step();
    expect(rt.ops.info(waiting.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    // running: a supervisor slice cancels another episode's ticket; a slice cancels itself
    let victimTicket = 0;
    const victim = rt.episodes.start({ signal: 'app/v', target: '/data', profile: 'ro', slice: (ctx) => ctx.yield() });
    victimTicket = victim.ticket;
    const self = rt.episodes.start({
      signal: 'app/s',
      target: '/data',
      profile: 'ro',
      slice: (ctx) => {
        ctx.rt.episodes.cancelTicket(victimTicket);
        ctx.rt.episodes.cancelTicket(ctx.ticket);
        sawCancel = ctx.checkCancel();
        ctx.yield();
      },
    });
    rt.run({ beats: 3 });
    expect(sawCancel).toBe(true);
    expect(rt.ops.info(self.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(rt.ops.info(victim.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(rt.episodes.cancelTicket(victim.ticket)).toBe(false); // finished
    // by operation id, as tooling holding the OID would
    const byOid = rt.episodes.start({ signal: 'app/o', target: '/data', profile: 'ro', slice: (ctx) => ctx.yield() });
    rt.step();
    expect(rt.episodes.cancel(byOid.eid)).toBe(true);
    rt.step();
    expect(rt.ops.info(byOid.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(rt.episodes.cancel(byOid.eid)).toBe(false);
  });

  it('requestCancel from inside and cancel() end differently: sts:cxl and sts:cnl', () => {
    const rt = runtime();
    let seen: boolean | undefined;
    const a = rt.episodes.start({
      signal: 'app/a',
      target: '/data',
      profile: 'ro',
      slice: (ctx) => {
        ctx.requestCancel();
        seen = ctx.checkCancel();
        ctx.yield();
      },
    });
    const b = rt.episodes.start({ signal: 'app/b', target: '/data', profile: 'ro', slice: (ctx) => ctx.cancel() });
    rt.step();
    expect(seen).toBe(true);
    expect(rt.ops.info(a.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(rt.ops.info(b.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cnl' });
  });

  it('a slice that throws ends ist:fail, sts:fail with an ep:fail fact; the beat goes on', () => {
    const rt = runtime();
    const { eid } = rt.episodes.start({
      signal: 'app/x',
      target: '/data',
      profile: 'ro',
      slice: () => {
        throw new Error('boom');
      },
    });
    rt.step();
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' });
    expect(topics(rt)).toContain('ep:fail');
  });

  it('stuck-episode diagnosis: history shows ist:await, the awaited dossier lists the watcher, facts explain', () => {
    const rt = runtime();
    const job = rt.ops.start('op/slow', { target: '/data' });
    const { eid } = rt.episodes.start({ signal: 'app/stuck', target: '/data', profile: 'ro', slice: (ctx) => ctx.await(job, { want: 'ist:done', ttl: 100 }) });
    rt.run({ beats: 5 });
    const h = rt.ops.info(eid).history;
    expect(h[h.length - 1].value).toBe('ist:await');
    const ws = rt.ops.dossier(job).child('watchers')!.children();
    expect(ws).toHaveLength(1);
    expect(ws[0].child('want')!.text).toBe('ist:done');
    expect(ws[0].child('target')!.text).toBe(`/rt/ops/${eid}`);
    expect(rt.find(`/rt/ops/${eid}/history`)!.children().length).toBe(3);
    // the diagnostics mailbox explains what went wrong for the others: a timed-out await, a refused mutation
    const late = rt.episodes.start({ signal: 'app/late', target: '/data', profile: 'ro', slice: (ctx) => ctx.await(job, { want: 'ist:done', ttl: 2 }) });
    const ro = rt.episodes.start({ signal: 'app/ro', target: '/data', profile: 'ro', slice: (ctx) => void ctx.set('/data', 'x') });
    rt.run({ beats: 6 });
    const diag = rt.mailboxes.messages('/data/mailbox/diag').map((m) => [m.child('topic')!.text, m.child('subject')!.resolve()?.path]);
    expect(diag).toContainEqual(['ep:tmo', `/rt/ops/${late.eid}`]);
    expect(diag).toContainEqual(['ep:pro/ro', `/rt/ops/${ro.eid}`]);
    expect(rt.ops.info(late.eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cnl' });
    expect(rt.ops.dossier(job).child('watchers')!.children()).toHaveLength(1); // the timed-out watcher is gone, the stuck one stays
  });

  it('cancelling a waiting episode takes its watcher back from the awaited dossier', () => {
    const rt = runtime();
    const job = rt.ops.start('op/slow', { target: '/data' });
    const { eid, ticket } = rt.episodes.start({ signal: 'app/w', target: '/data', profile: 'ro', slice: (ctx) => ctx.await(job, { want: 'ist:done', ttl: 100 }) });
    rt.run({ beats: 2 });
    const watching = rt.ops.watching;
    expect(rt.ops.dossier(job).child('watchers')!.children()).toHaveLength(1);
    expect(rt.episodes.cancelTicket(ticket)).toBe(true);
    rt.run({ beats: 2 });
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(rt.ops.dossier(job).child('watchers')!.children()).toHaveLength(0);
    expect(rt.ops.watching).toBe(watching - 1);
    rt.ops.state(job, 'ist:done'); // what it waited for arrives: nothing is woken
    rt.run({ beats: 3 });
    expect(rt.ops.info(eid).status).toBe('sts:cxl');
  });

  it('started from an enzyme: the first slice runs at that beat’s Commit', () => {
    const rt = runtime();
    let ran = 0;
    onGo(rt, (ctx) => void ctx.rt.episodes.start({ signal: 'app/go', target: '/data', profile: 'ro', slice: (c) => ((ran = c.beat), c.close()) }));
    rt.enqueue('app/go', '/data');
    const b = rt.step();
    expect(ran).toBe(b);
  });

  it('refuses bad input with a stable code and changes nothing', () => {
    const rt = runtime();
    const before = rt.find('/rt/ops')!.children().length;
    const ok = { signal: 'app/x', target: '/data', profile: 'ro' as const, slice: () => {} };
    expect(() => rt.episodes.start({ ...ok, profile: 'rx' as never })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.episodes.start({ ...ok, signal: '/bad' })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.episodes.start({ ...ok, target: 'rel' })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.episodes.start({ ...ok, slice: 42 as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.episodes.start({ ...ok, budget: { ioBytes: -1 } })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => rt.episodes.start({ ...ok, slice: { module: '/nowhere.mjs', name: 'x' } })).toThrow(code('ERR_INVALID_STATE'));
    expect(() => rt.episodes.start({ ...ok, profile: 'rw', slice: { module: '/nowhere.mjs', name: 'x' } })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.episodes.cancelTicket(0)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => runtime({ executor: 'gpu' as never })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(rt.find('/rt/ops')!.children().length).toBe(before);
    expect(rt.episodes.cancelTicket(999)).toBe(false);
  });

  it('an await on an operation that does not exist fails the episode with a fact', () => {
    const rt = runtime();
    const { eid } = rt.episodes.start({ signal: 'app/x', target: '/data', profile: 'ro', slice: (ctx) => ctx.await(9999) });
    rt.step();
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' });
    expect(topics(rt)).toContain('ep:await');
  });
});
