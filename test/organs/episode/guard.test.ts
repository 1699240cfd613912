import { describe, expect, it } from 'vitest';
import { accountIO, checkCancel, requireRW } from '../../../src/index.js';
import { code, runtime, SLICES, states, topics } from './helpers.js';

describe('RO guard, leases, execution context', () => {
  it('an RO slice cannot mutate: false, one ep:pro/ro usage fact per call, nothing journaled', () => {
    const rt = runtime();
    const cell = rt.find('/data')!.add('x', { value: 'a' });
    rt.advance();
    const got: boolean[] = [];
    const { eid } = rt.episodes.start({
      signal: 'app/ro',
      target: '/data/x',
      profile: 'ro',
      slice: (ctx) => {
        got.push(ctx.set('/data/x', 'b'), ctx.add('/data', 'y', 'z'), ctx.remove('/data/x'), ctx.streamWrite('/data/x', 0, new Uint8Array([1])), ctx.requireRW(), requireRW());
        ctx.close();
      },
    });
    rt.step();
    expect(got).toEqual([false, false, false, false, false, false]);
    expect(topics(rt).filter((t) => t === 'ep:pro/ro')).toHaveLength(6);
    expect(rt.mailboxes.messages('/data/mailbox/diag').every((m) => m.child('sev')!.text === 'sev:usage')).toBe(true);
    expect(cell.text).toBe('a');
    expect(cell.payloadBeats()).toHaveLength(1); // no history entry
    expect(rt.find('/data/y')).toBeUndefined();
    expect(rt.ops.info(eid).status).toBe('sts:ok');
  });

  it('the cell API itself is locked during an RO slice (ERR_LOCKED ends the slice ist:fail)', () => {
    const rt = runtime();
    rt.find('/data')!.add('x', { value: 'a' });
    let err: unknown;
    const { eid } = rt.episodes.start({
      signal: 'app/ro',
      target: '/data/x',
      profile: 'ro',
      slice: (ctx) => {
        try {
          ctx.rt.find('/data/x')!.set('b');
        } catch (e) {
          err = e;
        }
        ctx.rt.find('/data')!.add('y');
      },
    });
    rt.step();
    expect(err).toEqual(code('ERR_LOCKED'));
    expect(rt.find('/data/x')!.text).toBe('a');
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' });
    rt.find('/data/x')!.set('c'); // the guard is gone after the slice
  });

  it('a module RO slice is refused the same way (facts when its outcome is applied)', async () => {
    const rt = runtime();
    rt.find('/data')!.add('nums').add('a', { value: '1' });
    await rt.episodes.load(SLICES);
    const { eid } = rt.episodes.start({ signal: 'app/w', target: '/data/nums', profile: 'ro', slice: { module: SLICES, name: 'writer' }, reads: ['/data/nums'] });
    rt.run({ beats: 2 });
    expect(topics(rt).filter((t) => t === 'ep:pro/ro')).toHaveLength(2);
    expect(rt.find('/data/nums/a')!.text).toBe('1');
    expect(rt.ops.info(eid).status).toBe('sts:ok');
  });

  it('RW holds a lease on its target: others are locked out until the episode ends', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: '0' });
    let n = 0;
    const { eid } = rt.episodes.start({
      signal: 'app/rw',
      target: '/data/x',
      profile: 'rw',
      slice: (ctx) => {
        ctx.rt.find('/data/x')!.set(String(++n)); // the cell API works under the lease
        if (n < 3) ctx.yield();
        else ctx.close();
      },
    });
    rt.step();
    expect(x.text).toBe('1');
    expect(() => x.set('intruder')).toThrow(code('ERR_LOCKED'));
    rt.run({ beats: 3 });
    expect(x.text).toBe('3');
    expect(rt.ops.info(eid).status).toBe('sts:ok');
    expect(x.set('free')).toBe(true);
  });

  it('two RW episodes on one target take turns: the second waits for the lease', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: '' });
    const mk = (tag: string) => {
      let k = 0;
      return (ctx: { set(p: string, v: string): boolean; yield(): void; close(): void; read(p: string): Uint8Array | undefined }) => {
        ctx.set('/data/x', Buffer.from(ctx.read('/data/x')!).toString() + tag);
        if (++k < 2) ctx.yield();
        else ctx.close();
      };
    };
    const a = rt.episodes.start({ signal: 'app/a', target: '/data/x', profile: 'rw', slice: mk('a') });
    const b = rt.episodes.start({ signal: 'app/b', target: '/data/x', profile: 'rw', slice: mk('b') });
    rt.run({ beats: 6 });
    expect(x.text).toBe('aabb');
    expect(rt.ops.info(a.eid).status).toBe('sts:ok');
    expect(rt.ops.info(b.eid).status).toBe('sts:ok');
    // FIFO: a's second slice ran first in beat 2, closed and released the lease; then b ran
    expect(states(rt, b.eid)[1]).toBe('2:ist:run');
  });

  it('an RW episode whose target does not exist fails with ep:lease instead of waiting forever', () => {
    const rt = runtime();
    const { eid } = rt.episodes.start({ signal: 'app/rw', target: '/data/missing', profile: 'rw', slice: (ctx) => ctx.close() });
    rt.step();
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' });
    expect(topics(rt)).toContain('ep:lease');
    expect(rt.episodes.busy()).toBe(false);
  });

  it('hybrid episodes promote (take the lease) and demote (give it back)', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: '0' });
    const log: boolean[] = [];
    const { eid } = rt.episodes.start({
      signal: 'app/h',
      target: '/data/x',
      profile: 'hybrid',
      state: 0,
      slice: (ctx) => {
        const step = ctx.state as number;
        ctx.state = step + 1;
        if (step === 0) {
          log.push(ctx.set('/data/x', 'ro'), ctx.promote(), ctx.set('/data/x', 'rw'), ctx.requireRW());
          return ctx.yield();
        }
        log.push(ctx.set('/data/x', 'still'), ctx.demote(), ctx.set('/data/x', 'no'));
        ctx.close();
      },
    });
    rt.step();
    expect(() => x.set('intruder')).toThrow(code('ERR_LOCKED')); // leased across beats
    rt.run({ beats: 2 });
    expect(log).toEqual([false, true, true, true, true, true, false]);
    expect(x.text).toBe('still');
    expect(topics(rt).filter((t) => t === 'ep:pro/ro')).toHaveLength(2);
    const lease = rt.ops
      .dossier(eid)
      .child('episode')!
      .child('lease')!
      .children()
      .map((c) => c.text);
    expect(lease).toEqual(['promote@1', 'demote@2']);
    expect(x.set('free')).toBe(true);
  });

  it('after demote() the rest of the slice is read-only again: the cell API is locked too', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: '0' });
    const y = rt.find('/data')!.add('y', { value: '0' });
    const errs: unknown[] = [];
    const { eid } = rt.episodes.start({
      signal: 'app/h',
      target: '/data/x',
      profile: 'hybrid',
      slice: (ctx) => {
        ctx.promote();
        ctx.rt.find('/data/y')!.set('rw'); // under the lease: not guarded
        ctx.demote();
        for (const c of [x, y]) {
          try {
            c.set('after');
          } catch (e) {
            errs.push((e as { code?: string }).code);
          }
        }
        ctx.close();
      },
    });
    rt.step();
    expect(errs).toEqual(['ERR_LOCKED', 'ERR_LOCKED']);
    expect([x.text, y.text]).toEqual(['0', 'rw']);
    expect(rt.ops.info(eid).status).toBe('sts:ok');
    expect(x.set('free')).toBe(true); // lease and guard are both gone after the slice
  });

  it('guard helpers need no call-site state: they read the running slice’s context', () => {
    expect([requireRW(), accountIO(10), checkCancel()]).toEqual([true, true, false]); // outside any slice
    const rt = runtime();
    let inside: boolean[] = [];
    rt.episodes.start({
      signal: 'app/g',
      target: '/data',
      profile: 'ro',
      budget: { ioBytes: 100 },
      slice: (ctx) => {
        inside = [requireRW(), accountIO(60), checkCancel(), accountIO(60), checkCancel()];
        ctx.close();
      },
    });
    rt.step();
    expect(inside).toEqual([false, true, false, false, true]);
  });
});
