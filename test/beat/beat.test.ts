import { describe, expect, it } from 'vitest';
import { decodeAgenda, decodeImpulses, type EnzymeContext } from '../../src/internal.js';
import { code, facts, hex, runtime } from './helpers.js';

describe('beats: Capture → Compute → Commit', () => {
  it('runs bound enzymes on enqueued impulses; what a beat does is visible at the next', () => {
    const rt = runtime();
    const seen: string[] = [];
    rt.registerEnzyme({
      name: 'counter',
      signal: 'app/inc',
      run(ctx) {
        seen.push(`${ctx.beat}:${ctx.signal}:${ctx.target}:${String(ctx.payload)}`);
        const c = ctx.rt.find(ctx.target!)!;
        c.set(String(Number(c.text ?? '0') + 1));
        if (Number(c.text) < 3) ctx.emit('app/inc', ctx.target!, 'again');
      },
    });
    const n = rt.find('/data')!.add('n', { value: '0' });
    rt.bind('/data/n', 'counter');
    rt.enqueue('app/inc', '/data/n', 'first');
    expect(rt.beat).toBe(0); // beat 0 is boot; the heartbeat starts at beat 1
    expect(rt.step()).toBe(1);
    expect(n.text).toBe('1');
    expect(rt.beat).toBe(2);
    expect(rt.run()).toBe(2);
    expect(seen).toEqual(['1:app/inc:/data/n:first', '2:app/inc:/data/n:again', '3:app/inc:/data/n:again']);
    expect(n.valueAt(2)).toEqual(new TextEncoder().encode('2'));
    expect(rt.run({ beats: 2 })).toBe(2);
    expect(rt.beat).toBe(6);
  });

  it('JSON payloads: each enzyme gets its own copy; the journal and a replay keep them', () => {
    const rt = runtime();
    const seen: unknown[] = [];
    rt.bind('/data', 'reader'); // bound before it is registered: binding is by name
    rt.registerEnzyme({ name: 'reader', signal: 'j', run: (ctx) => void seen.push(ctx.payload) });
    rt.registerEnzyme({
      name: 'mutator',
      signal: 'j',
      after: ['reader'],
      run(ctx) {
        if (typeof ctx.payload === 'object' && ctx.payload !== null) (ctx.payload as { n: number }).n = 99; // its own copy only
        seen.push(ctx.payload);
      },
    });
    rt.bind('/data', 'mutator');
    const order = { n: 1, items: ['a', 'b'], ok: true };
    rt.enqueue('j', '/data', order);
    order.n = 2; // the impulse holds what was queued
    rt.enqueue('j', '/data', 7);
    rt.enqueue('j', '/data', null);
    rt.step();
    expect(seen).toEqual([{ n: 1, items: ['a', 'b'], ok: true }, { n: 99, items: ['a', 'b'], ok: true }, 7, 7, null, null]);
    expect(decodeImpulses(rt.find('/rt/beat/1/impulses')!.value!).map((i) => i.payload)).toEqual([{ n: 1, items: ['a', 'b'], ok: true }, 7, null]);
    const again = runtime({ replay: JSON.parse(JSON.stringify(rt.recording())) });
    again.registerEnzyme({ name: 'reader', signal: 'j', run: () => {} });
    again.registerEnzyme({ name: 'mutator', signal: 'j', after: ['reader'], run: () => {} });
    again.bind('/data', 'reader');
    again.bind('/data', 'mutator');
    again.step();
    expect(hex(again.digest(1))).toBe(hex(rt.digest(1)));
  });

  it('journals each beat under /rt/beat/<n> with impulses, agenda, timestamp and digest', () => {
    const rt = runtime({ journalBeats: 3 });
    rt.registerEnzyme({ name: 'a', signal: 'x/y', run: () => 'ok' });
    rt.registerEnzyme({ name: 'b', signal: 'x', match: 'prefix', run: () => 'retry' });
    rt.bind('/data', 'a', { propagate: true });
    rt.bind('/data', 'b', { propagate: true });
    rt.enqueue('x/y', '/data/q', 'p');
    rt.enqueue('x/z', null, new Uint8Array([1, 2]));
    rt.step();
    const b0 = rt.find('/rt/beat/1')!;
    expect(b0.child('stage')!.text).toBe('commit');
    const ts = new DataView(b0.child('meta')!.child('unix_ts_ns')!.value!.buffer).getBigUint64(0, true);
    expect(ts).toBe(1_001_000_000n);
    expect(decodeImpulses(b0.child('impulses')!.value!)).toEqual([
      { signal: 'x/y', target: '/data/q', payload: 'p', qos: 1 },
      { signal: 'x/z', target: null, payload: new Uint8Array([1, 2]), qos: 1 },
    ]);
    // impulse 0: a (exact) before b (prefix); impulse 1 (signal-only): b matches by signal
    expect(decodeAgenda(b0.child('agenda')!.value!)).toEqual([
      { impulse: 0, enzyme: 'a', result: 'ok' },
      { impulse: 0, enzyme: 'b', result: 'retry' },
      { impulse: 1, enzyme: 'b', result: 'retry' },
    ]);
    expect(hex(b0.child('digest')!.value)).toBe(hex(rt.digest(1)));
    // retention: only the newest three beats stay
    rt.run({ beats: 5 });
    expect(
      rt
        .find('/rt/beat')!
        .children()
        .map((c) => c.name),
    ).toEqual(['4', '5', '6']);
    expect(rt.find('/rt/beat/1')).toBeUndefined();
    // retries re-run the impulse every beat
    expect(decodeImpulses(rt.find('/rt/beat/6/impulses')!.value!).map((i) => i.signal)).toEqual(['x/y', 'x/z']);
  });

  it('rejects bad input with stable codes and changes nothing', () => {
    const rt = runtime();
    expect(() => rt.enqueue('', '/data')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.enqueue('/abs', '/data')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.enqueue('a//b', '/data')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.enqueue(5 as never, '/data')).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.enqueue('a', 'data')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.enqueue('a'.repeat(1025), '/data')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.enqueue('a', `/${'x'.repeat(5000)}`)).toThrow(code('ERR_INVALID_ARG_VALUE'));
    rt.enqueue('b', '/data');
    expect(() => rt.enqueue('/data', 'b')).toThrow(code('ERR_INVALID_ARG_VALUE')); // validated texts are not mixed up
    rt.step();
    expect(() => rt.enqueue('a', '/data', 10n as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => rt.enqueue('a', '/data', cyclic as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.enqueue('a', '/data', (() => 1) as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.run({ beats: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => rt.registerEnzyme({ name: 'x', signal: 'a', run: 5 } as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.registerEnzyme({ name: 'x', signal: 'a', match: 'regex', run() {} } as never)).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.bind('/data', '')).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.bind('data', 'x')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(rt.heartbeat.pending).toBe(0);
    expect(rt.heartbeat.registry.size).toBe(0);
    const bad = runtime({ clock: (() => 5) as never });
    expect(() => bad.step()).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });

  it('refuses step() from inside a beat and decide() outside one', () => {
    const rt = runtime();
    let err: unknown;
    rt.registerEnzyme({
      name: 'nested',
      signal: 's',
      run(ctx) {
        try {
          ctx.rt.step();
        } catch (e) {
          err = e;
        }
      },
    });
    rt.enqueue('s', null);
    rt.step();
    expect(err).toEqual(code('ERR_BEAT_IN_PROGRESS'));
    expect(() => rt.heartbeat.decide('k', () => 1)).toThrow(code('ERR_INVALID_ARG_VALUE'));
  });

  it('an enzyme that throws is a fatal result: a crit CEI fact, the beat goes on', () => {
    const rt = runtime();
    const ran: string[] = [];
    rt.registerEnzyme({
      name: 'boom',
      signal: 's',
      run: () => {
        throw new Error('kaput');
      },
    });
    rt.registerEnzyme({ name: 'after', signal: 's', after: ['boom'], run: () => void ran.push('after') });
    rt.bind('/', 'boom', { propagate: true });
    rt.bind('/', 'after', { propagate: true });
    rt.enqueue('s', '/data');
    rt.step();
    expect(ran).toEqual(['after']);
    expect(facts(rt)).toEqual(['enzyme/fatal|sev:crit|kaput']);
    const fact = rt.mailboxes.messages('/data/mailbox/diag')[0];
    expect(fact.child('origin')!.child('enzyme')!.text).toBe('boom');
    expect(fact.child('subject')!.resolve()).toBe(rt.find('/data'));
    expect(rt.halted).toBe(false);
  });

  it('retry re-queues the impulse once; finished non-idempotent enzymes and fatal ones do not run again', () => {
    const rt = runtime();
    const log: string[] = [];
    let tries = 0;
    rt.registerEnzyme({ name: 'once', signal: 's', run: (ctx) => void log.push(`once@${ctx.beat}`) });
    rt.registerEnzyme({ name: 'again', signal: 's', idempotent: true, run: (ctx) => void log.push(`again@${ctx.beat}`) });
    rt.registerEnzyme({ name: 'flaky', signal: 's', run: (ctx) => (log.push(`flaky@${ctx.beat}`), ++tries < 3 ? 'retry' : 'ok') });
    rt.registerEnzyme({ name: 'flaky2', signal: 's', run: (ctx) => (log.push(`flaky2@${ctx.beat}`), tries < 2 ? 'retry' : 'ok') });
    rt.registerEnzyme({ name: 'broken', signal: 's', run: (ctx) => (log.push(`broken@${ctx.beat}`), 'fatal') });
    for (const n of ['once', 'again', 'flaky', 'flaky2', 'broken']) rt.bind('/data', n);
    rt.enqueue('s', '/data');
    expect(rt.run()).toBe(3);
    expect(log).toEqual(['once@1', 'again@1', 'flaky@1', 'flaky2@1', 'broken@1', 'again@2', 'flaky@2', 'flaky2@2', 'again@3', 'flaky@3']);
    expect(facts(rt)).toEqual(['enzyme/fatal|sev:crit|enzyme broken returned fatal']);
  });

  it('keeps several runtimes isolated in one process', () => {
    const a = runtime();
    const b = runtime();
    const log: string[] = [];
    a.registerEnzyme({ name: 'e', signal: 's', run: (ctx: EnzymeContext) => void log.push(`a${ctx.beat}`) });
    b.registerEnzyme({ name: 'e', signal: 's', run: (ctx: EnzymeContext) => void log.push(`b${ctx.beat}`) });
    a.enqueue('s', null);
    a.step();
    b.step();
    b.enqueue('s', null);
    b.step();
    expect(log).toEqual(['a1', 'b2']);
    expect(a.beat).toBe(2);
    expect(b.beat).toBe(3);
    expect(a.heartbeat.registry.size).toBe(1);
  });

  it('capture hooks deliver inputs for the same beat; commit hooks see the final changes', () => {
    const rt = runtime();
    const got: string[] = [];
    rt.registerEnzyme({ name: 'w', signal: 'io/done', run: (ctx) => void ctx.rt.find('/data')!.add(`r${ctx.beat}`, { value: String(ctx.payload) }) });
    rt.bind('/data', 'w');
    const off = rt.onCapture((beat) => {
      if (beat % 2 === 0) rt.enqueue('io/done', '/data', `completion-${beat}`);
    });
    rt.onCommit((beat, changes) => {
      got.push(`${beat}:${changes.cells.map((c) => c.path).join(',')}`);
      expect(changes.unixTsNs).toBe(1_000_000_000n + BigInt(beat) * 1_000_000n);
    });
    rt.run({ beats: 3 });
    off();
    rt.step(); // beat 4: the hook is gone
    expect(got).toEqual(['1:', '2:/data/r2', '3:', '4:']);
    expect(rt.find('/data/r2')!.text).toBe('completion-2');
    expect(decodeImpulses(rt.find('/rt/beat/2/impulses')!.value!)[0].payload).toBe('completion-2');
  });

  it('shutdown goes through op/shdn and halts', () => {
    const rt = runtime();
    rt.shutdown();
    const dossiers = rt
      .find('/rt/ops')!
      .children()
      .map((d) => rt.ops.info(Number(d.name)));
    expect(dossiers.map((d) => `${d.verb}:${d.status}:${d.history.map((h) => h.value).join(',')}`)).toEqual([
      'op/boot:sts:ok:ist:kernel,ist:store,ist:packs,sts:ok',
      'op/shdn:sts:ok:ist:stop,ist:flush,ist:halt,sts:ok',
    ]);
    expect(rt.halted).toBe(true);
    expect(() => rt.step()).toThrow(code('ERR_HALTED'));
    expect(() => rt.enqueue('s', null)).toThrow(code('ERR_HALTED'));
  });
});
