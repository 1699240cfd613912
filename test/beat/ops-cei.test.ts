import { describe, expect, it } from 'vitest';
import { blake3 } from '../../src/hash/blake3.js';
import { decodeAgenda, PARKED_MAILBOX } from '../../src/internal.js';
import { beatWhere, code, facts, runtime } from './helpers.js';

describe('OPS dossiers', () => {
  it('boot leaves op/boot with ist:kernel, ist:store, ist:packs, sts:ok', () => {
    const rt = runtime();
    const boot = rt.ops.info(1);
    expect(boot.verb).toBe('op/boot');
    expect(boot.status).toBe('sts:ok');
    expect(boot.history.map((h) => `${h.kind}:${h.value}@${h.beat}`)).toEqual(['state:ist:kernel@0', 'state:ist:store@0', 'state:ist:packs@0', 'close:sts:ok@0']);
    expect(rt.find('/rt/ops/1/envelope/target')!.text).toBe('/');
  });

  it('generic op/* dossiers keep an append-only history and refuse changes once closed', () => {
    const rt = runtime();
    const oid = rt.ops.start('op/import', { target: '/data/in', mode: 'opm:states' });
    rt.ops.state(oid, 'ist:read');
    rt.step();
    rt.ops.state(oid, 'ist:write');
    rt.ops.close(oid, 'sts:ok');
    expect(rt.ops.info(oid).history.map((h) => `${h.value}@${h.beat}`)).toEqual(['ist:read@0', 'ist:write@2', 'sts:ok@2']);
    expect(() => rt.ops.state(oid, 'ist:again')).toThrow(code('ERR_INVALID_STATE'));
    expect(() => rt.ops.close(oid, 'sts:fail')).toThrow(code('ERR_INVALID_STATE'));
    expect(() => rt.ops.start('import')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.ops.state(999, 'x')).toThrow(code('ERR_NOT_FOUND'));
    expect(rt.ops.info(oid).history.length).toBe(3);
  });

  it('watchers enqueue op/cont when the state is reached and op/tmo when their beats run out', () => {
    const rt = runtime();
    const got: string[] = [];
    rt.registerEnzyme({ name: 'cont', signal: 'op/cont', run: (ctx) => void got.push(`cont@${ctx.beat}:${ctx.target}:${String(ctx.payload)}`) });
    rt.registerEnzyme({ name: 'tmo', signal: 'op/tmo', run: (ctx) => void got.push(`tmo@${ctx.beat}:${ctx.target}:${String(ctx.payload)}`) });
    rt.bind('/', 'cont', { propagate: true });
    rt.bind('/', 'tmo', { propagate: true });
    const a = rt.ops.start('op/job');
    const b = rt.ops.start('op/job');
    rt.ops.await(a, { want: 'ist:done', ttl: 3, target: '/data/waiter' });
    rt.ops.await(b, { want: 'sts:ok', ttl: 2 });
    expect(rt.ops.watching).toBe(2);
    rt.step(); // beat 1: nothing yet
    rt.ops.state(a, 'ist:done'); // between beats 1 and 2
    rt.step(); // beat 2: its commit sees a done (op/cont) and b at its deadline, beat 0 + 2 (op/tmo)
    expect(got).toEqual([]);
    rt.step(); // beat 3: both run
    expect(got).toEqual([`cont@3:/data/waiter:${a}`, `tmo@3:/rt/ops/${b}:${b}`]);
    expect(rt.ops.watching).toBe(0);
    expect(rt.find(`/rt/ops/${a}/watchers`)!.children()).toEqual([]);
  });
});

describe('CEI', () => {
  it('records facts with severity, topic, note, origin (pipeline block) and subject link', () => {
    const rt = runtime();
    const subject = rt.find('/data')!.add('thing');
    const m = rt.cei({
      severity: 'warn',
      topic: 'app/odd',
      note: 'hmm',
      subject,
      origin: { enzyme: 'e', signal: 's', target: '/data/thing', pipeline: { pipelineId: 'p1', stageId: 's2', hopIndex: 3 } },
    });
    expect(m.path).toBe('/data/mailbox/diag/msgs/1');
    expect(m.child('sev')!.text).toBe('sev:warn');
    expect(m.child('subject')!.resolve()).toBe(subject);
    expect(m.child('origin')!.child('pipeline')!.child('pipeline_id')!.text).toBe('p1');
    expect(m.child('origin')!.child('pipeline')!.child('hop_index')!.text).toBe('3');
    rt.step(); // beat 1 at t0 + 1 ms
    const p = rt.find('/data')!.add('evidence', { value: 'bytes' });
    const f2 = rt.cei({ severity: 'debug', topic: 'app/with-payload', payload: p });
    expect(f2.child('payload')!.resolve()).toBe(p);
    expect(f2.child('beat')!.text).toBe('2');
    expect(new DataView(f2.child('unix_ts_ns')!.value!.buffer).getBigUint64(0, true)).toBe(1_001_000_000n);
    expect(() => rt.cei({ severity: 'debug', topic: 't', payload: 'x' as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    const before = rt.find('/data/mailbox/diag/msgs')!.childCount();
    expect(() => rt.cei({ severity: 'bad' as never, topic: 't' })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.cei({ severity: 'warn', topic: '' })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.cei({ severity: 'warn', topic: 't', origin: { pipeline: { hopIndex: -1 } } })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.cei({ severity: 'crit', topic: 't', dossier: 12345 })).toThrow(code('ERR_NOT_FOUND'));
    expect(rt.find('/data/mailbox/diag/msgs')!.childCount()).toBe(before);
  });

  for (const sev of ['debug', 'warn', 'usage', 'crit', 'fatal'] as const) {
    it(`sev:${sev}: signal, dossier and shutdown behaviour`, () => {
      const rt = runtime();
      const seen: string[] = [];
      rt.registerEnzyme({ name: 'listener', signal: 'sig_cei', match: 'prefix', run: (ctx) => void seen.push(`${ctx.signal}>${ctx.target}`) });
      rt.bind('/data/mailbox', 'listener', { propagate: true });
      const oid = rt.ops.start('op/work');
      rt.registerEnzyme({ name: 'reporter', signal: 'go', run: (ctx) => void ctx.rt.cei({ severity: sev, topic: 'test/sev', mailbox: '/data/mailbox/ops', signal: true, dossier: oid }) });
      rt.bind('/data', 'reporter');
      rt.enqueue('go', '/data');
      rt.step();
      expect(facts(rt, '/data/mailbox/ops')).toEqual([`test/sev|sev:${sev}|`]);
      const closed = sev === 'crit' || sev === 'fatal';
      expect(rt.ops.info(oid).status).toBe(closed ? 'sts:fail' : undefined);
      if (sev === 'fatal') {
        // shutdown at the end of the beat through op/shdn; the signal never runs
        expect(rt.halted).toBe(true);
        const shdn = rt
          .find('/rt/ops')!
          .children()
          .map((d) => rt.ops.info(Number(d.name)))
          .find((d) => d.verb === 'op/shdn')!;
        expect(shdn.history.map((h) => h.value)).toEqual(['ist:stop', 'ist:flush', 'ist:halt', 'sts:ok']);
        expect(() => rt.step()).toThrow(code('ERR_HALTED'));
        return;
      }
      expect(rt.halted).toBe(false);
      rt.step();
      expect(seen).toEqual([`sig_cei/${sev}>/data/mailbox/ops/msgs/1`]);
    });
  }
});

describe('mailboxes', () => {
  it('deterministic ids: the caller id, else a counter; duplicates are refused', () => {
    const rt = runtime();
    const box = '/data/inbox';
    rt.mailboxes.open(box);
    const a = rt.mailboxes.post(box, {}, (m) => void m.add('body', { value: 'a' }));
    const b = rt.mailboxes.post(box, { id: 'hello' }, (m) => void m.add('body', { value: 'b' }));
    const c = rt.mailboxes.post(box, {}, () => {});
    const e1 = rt.mailboxes.post(box, { envelope: 'from:ada subject:hi' }, () => {});
    const e2 = rt.mailboxes.post(box, { envelope: 'from:ada subject:hi' }, () => {}); // same digest: the counter
    expect([a.name, b.name, c.name]).toEqual(['1', 'hello', '2']);
    expect(e1.name).toMatch(/^env-[0-9a-f]{16}$/);
    expect(e1.name).toBe(`env-${Buffer.from(blake3('from:ada subject:hi', { length: 8 })).toString('hex')}`);
    expect(e2.name).toBe('3');
    expect(() => rt.mailboxes.post(box, { id: 'hello' }, () => {})).toThrow(code('ERR_NAME_EXISTS'));
    expect(() => rt.mailboxes.post(box, { ttlBeats: 0 }, () => {})).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(rt.mailboxes.messages(box).length).toBe(5);
  });

  it('TTL resolves message > mailbox > topology, in beats and wall-clock time; retention removes expired messages', () => {
    const rt = runtime({ mailboxTtl: { ttlBeats: 10 } }); // each beat is 1 ms apart (helpers clock)
    rt.mailboxes.open('/data/a', { ttlMs: 2.5 });
    rt.mailboxes.open('/data/b');
    rt.step(); // beat 1 at t0 + 1 ms
    const m1 = rt.mailboxes.post('/data/a', { ttlBeats: 1 }, () => {});
    const m2 = rt.mailboxes.post('/data/a', {}, () => {});
    const m3 = rt.mailboxes.post('/data/b', {}, () => {});
    const scope = (m: typeof m1) => `${m.child('meta')!.child('ttl_scope_bt')!.text}/${m.child('meta')!.child('ttl_scope_ns')!.text}`;
    expect([scope(m1), scope(m2), scope(m3)]).toEqual(['message/mailbox', 'topology/mailbox', 'topology/none']);
    const alive = () => [m1, m2, m3].map((m) => (m.isFinalized ? '-' : m.name));
    rt.step(); // beat 2 (t0 + 2 ms): m1 expires at beat 2+... posted at beat 2 (between beats) -> deadline 3
    expect(alive()).toEqual(['1', '2', '1']);
    rt.step(); // beat 3 (t0 + 3 ms): m1 (beat deadline 3) goes
    expect(alive()).toEqual(['-', '2', '1']);
    rt.step(); // beat 4 (t0 + 4 ms): m2's wall-clock deadline (t0 + 1 ms + 2.5 ms) passed
    expect(alive()).toEqual(['-', '-', '1']);
    rt.run({ beats: 7 }); // beat 11: m3's topology deadline 2 + 10 = 12 not yet
    expect(alive()).toEqual(['-', '-', '1']);
    rt.step();
    expect(alive()).toEqual(['-', '-', '-']);
    expect(rt.mailboxes.pendingExpiries).toBe(0);
  });
});

describe('pause / rollback / resume', () => {
  it('parks non-control impulses, rolls the view horizon back, resumes in id order', () => {
    const rt = runtime();
    const ran: string[] = [];
    rt.registerEnzyme({ name: 'work', signal: 'job', match: 'prefix', run: (ctx) => void ran.push(`${ctx.beat}:${String(ctx.payload)}`) });
    rt.registerEnzyme({ name: 'json', signal: 'job/j', run: (ctx) => void ran.push(`${ctx.beat}:${JSON.stringify(ctx.payload)}`) });
    rt.bind('/data', 'json');
    rt.registerEnzyme({ name: 'ctl', signal: 'ctl/ping', run: (ctx) => void ran.push(`${ctx.beat}:ctl`) });
    rt.bind('/data', 'work', { propagate: true });
    rt.bind('/data', 'ctl');
    rt.enqueue('job/a', '/data', 'before');
    rt.step(); // 1
    rt.pause();
    rt.enqueue('job/a', '/data', 'p1');
    rt.enqueue('job/b', '/data', 'p2', { qos: { discardOnRollback: true } });
    rt.enqueue('job/c', '/data', 'dropped', { qos: { retainOnPause: false } });
    rt.enqueue('ctl/ping', '/data', undefined, { qos: { control: true } });
    rt.step(); // 2: paused at capture; jobs parked (one dropped); the control impulse runs
    expect(rt.paused).toBe(true);
    expect(rt.find('/sys/state/paused')!.text).toBe('true');
    expect(ran).toEqual(['1:before', '2:ctl']);
    expect(rt.mailboxes.messages(PARKED_MAILBOX).map((m) => m.child('payload')!.text)).toEqual(['p1', 'p2']);
    expect(decodeAgenda(rt.find('/rt/beat/2/agenda')!.value!).map((a) => a.result)).toEqual(['parked', 'parked', 'dropped', 'ok']);
    // /data is locked while paused: nothing outside the heartbeat changes it; facts still flow
    expect(() => rt.find('/data')!.add('x')).toThrow(code('ERR_LOCKED'));
    expect(() => rt.find('/data/mailbox')!.add('x')).toThrow(code('ERR_LOCKED'));
    rt.cei({ severity: 'debug', topic: 'while/paused' });
    expect(facts(rt)).toEqual(['while/paused|sev:debug|']);
    rt.enqueue('job/d', '/data', 'p3');
    rt.enqueue('job/j', '/data', { json: [1, 2] }); // a JSON payload parks and comes back as one
    rt.rollback(1);
    rt.step(); // 3: rollback drops p2 and publishes view_hzn = 1; p3 parks
    expect(rt.viewHorizon).toBe(1);
    expect(new DataView(rt.find('/sys/state/view_hzn')!.value!.buffer).getBigUint64(0, true)).toBe(1n);
    expect(rt.mailboxes.messages(PARKED_MAILBOX).map((m) => (m.child('payload') ?? m.child('payload_json'))!.text)).toEqual(['p1', 'p3', '{"json":[1,2]}']);
    rt.enqueue('job/e', '/data', 'now');
    rt.resume();
    rt.step(); // 4: gating ends at capture: 'now' runs; the backlog is queued for beat 5 in id order
    expect(ran.slice(2)).toEqual(['4:now']);
    expect(rt.paused).toBe(false);
    expect(rt.viewHorizon).toBeUndefined();
    expect(rt.find('/sys/state/paused')).toBeUndefined();
    expect(rt.mailboxes.messages(PARKED_MAILBOX)).toEqual([]);
    rt.find('/data')!.add('x'); // unlocked
    rt.step();
    expect(ran.slice(3)).toEqual(['5:p1', '5:p3', '5:{"json":[1,2]}', '5:[object Object]']);
    const verbs = rt
      .find('/rt/ops')!
      .children()
      .map((d) => rt.ops.info(Number(d.name)))
      .filter((d) => d.verb !== 'op/boot');
    expect(verbs.map((d) => `${d.verb}:${d.status}:${d.history.map((h) => h.value).join(',')}`)).toEqual([
      'op/pause:sts:ok:ist:plan,ist:quiesce,ist:paused,sts:ok',
      'op/rollback:sts:ok:ist:plan,ist:cutover,ist:ok,sts:ok',
      'op/resume:sts:ok:ist:plan,ist:run,ist:ok,sts:ok',
    ]);
  });

  it('pause fails cleanly when /data is already locked', () => {
    const rt = runtime();
    const t = rt.find('/data')!.lockData();
    rt.pause();
    rt.step();
    expect(rt.paused).toBe(false);
    const d = rt
      .find('/rt/ops')!
      .children()
      .map((x) => rt.ops.info(Number(x.name)))
      .find((x) => x.verb === 'op/pause')!;
    expect(d.status).toBe('sts:fail');
    rt.find('/data')!.unlockData(t);
    expect(facts(rt)[0]).toMatch(/^control\/prr\|sev:usage\|pause: cannot lock \/data/);
    rt.find('/data')!.add('fine'); // no lock left behind
  });

  it('misuse closes the control dossier with sts:fail and records control/prr', () => {
    const rt = runtime();
    rt.resume(); // not paused
    rt.step();
    rt.pause();
    rt.rollback(0);
    rt.enqueue('op/rollback', '/sys/state', '999'); // a horizon in the future
    rt.step();
    const d = rt
      .find('/rt/ops')!
      .children()
      .map((x) => rt.ops.info(Number(x.name)))
      .filter((x) => x.verb !== 'op/boot');
    expect(d.map((x) => `${x.verb}:${x.status}`)).toEqual(['op/resume:sts:fail', 'op/pause:sts:ok', 'op/rollback:sts:ok', 'op/rollback:sts:fail']);
    expect(facts(rt).map((f) => f.split('|').slice(0, 2).join('|'))).toEqual(['control/prr|sev:usage', 'control/prr|sev:usage']);
    expect(() => rt.rollback(-1)).toThrow(code('ERR_OUT_OF_RANGE'));
  });
});

describe('driven mode', () => {
  it('beats follow queued work without blocking the event loop, and the interval timer', async () => {
    const rt = runtime();
    const ran: number[] = [];
    rt.registerEnzyme({ name: 'e', signal: 's', run: (ctx) => void ran.push(ctx.beat) });
    rt.bind('/data', 'e');
    rt.start();
    expect(rt.heartbeat.driven).toBe(true);
    rt.enqueue('s', '/data');
    rt.enqueue('s', '/data');
    expect(ran).toEqual([]); // not synchronous
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([1, 1]);
    const b = rt.beat;
    // A negative check: nothing marks "no beat is coming", so give driven mode a moment (a slow
    // machine can only make the check weaker, never fail it).
    await new Promise((r) => setTimeout(r, 20));
    expect(rt.beat).toBe(b); // no work, no interval: no beats
    rt.start({ intervalMs: 2 });
    // the interval timer beats with no work queued (waited for, not timed: a loaded machine is slow)
    await beatWhere(rt, () => rt.beat > b + 3);
    expect(rt.beat).toBeGreaterThan(b + 3);
    rt.stop();
    const stopped = rt.beat;
    rt.enqueue('s', '/data');
    await new Promise((r) => setTimeout(r, 10)); // negative check, as above: a stopped runtime takes no beat
    expect(rt.beat).toBe(stopped);
    expect(() => rt.start({ intervalMs: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
  });

  it('driven mode: a participant that takes its results in while being asked is ready, not lost', async () => {
    // like the episode engine, whose ready() takes in outcomes that arrived meanwhile: after each
    // commit the first ask finds a result out, the next one finds it in
    const rt = runtime();
    let work = 3;
    let out = false;
    rt.heartbeat.participate({
      compute: () => {},
      commit: () => {
        if (work > 0) work--, (out = true);
      },
      ready: () => !out || (out = false),
      whenReady: () => Promise.resolve(), // the result is in once ready() was asked: nothing to wait for
      busy: () => work > 0,
    });
    rt.start();
    rt.heartbeat.wake();
    await beatWhere(rt, () => work === 0);
    rt.stop();
    expect(work).toBe(0);
    expect(rt.heartbeat.lastError).toBeUndefined();
  });

  it('an error stops driven mode and reaches onError', async () => {
    const errors: unknown[] = [];
    let reported!: () => void;
    const failed = new Promise<void>((resolve) => (reported = resolve));
    const rt = runtime({
      onError: (e) => {
        errors.push(e);
        reported();
      },
    });
    rt.onCommit(() => {
      throw new Error('hook failed');
    });
    rt.start();
    rt.enqueue('s', '/data');
    await failed;
    expect(rt.heartbeat.driven).toBe(false);
    expect((errors[0] as Error).message).toBe('hook failed');
    expect(rt.heartbeat.lastError).toBe(errors[0]);
  });
});
