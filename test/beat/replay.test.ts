import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { registerCellOperations } from '../../src/beat/enzyme/cell-ops.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/internal.js';
import { code, hex } from './helpers.js';

/** A small seeded generator (mulberry32) for the test's own choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The application: enzymes that read nondeterministic inputs only through ctx.decide. */
function app(options: RuntimeOptions): Runtime {
  const rt = createRuntime(options); // recording is on by default
  registerCellOperations(rt);
  const unseeded = () => Math.random(); // nondeterministic on purpose: replay must not call it
  rt.registerEnzyme({
    name: 'account',
    signal: 'bank',
    match: 'prefix',
    run(ctx) {
      const acct = ctx.cell() ?? ctx.rt.find('/data/bank')!.add(ctx.target!.split('/').pop()!, { value: '0' });
      const bonus = ctx.decide('rand', () => Math.floor(unseeded() * 10));
      const now = ctx.decide('clock', () => Date.now());
      const amount = Number(ctx.payload ?? 0) + bonus;
      acct.set(String(Number(acct.text) + (ctx.signal === 'bank/debit' ? -amount : amount)));
      if (now % 7 === 0 || bonus === 9) ctx.emit('bank/audit', ctx.target!, String(now % 1000));
      if (bonus === 0) return 'retry';
      if (bonus === 1) ctx.rt.cei({ severity: 'warn', topic: 'bank/low', note: `bonus ${bonus}`, subject: acct });
      return 'ok';
    },
  });
  rt.registerEnzyme({
    name: 'audit',
    signal: 'bank/audit',
    after: ['account'],
    run(ctx) {
      const log = ctx.rt.find('/data/audit') ?? ctx.rt.find('/data')!.add('audit', { store: 'list', indexing: 'insertion' });
      log.add(null, { value: `${ctx.target}:${String(ctx.payload)}` });
      if (log.childCount() > 50) log.children()[0].removeHard();
    },
  });
  rt.registerEnzyme({
    name: 'mkreq',
    signal: 'app/mkreq',
    run(ctx) {
      // build a cell-operation request dictionary, then ask for the operation
      const who = ctx.rt.find(String(ctx.payload));
      if (who === undefined) return 'ok';
      const reqs = ctx.rt.find('/data/reqs') ?? ctx.rt.find('/data')!.add('reqs');
      const req = reqs.add(null);
      req.add('role_parent', { link: req.add('out') });
      req.add('role_source', { link: who });
      ctx.emit('sig_cell/op_cln', req.path);
    },
  });
  rt.bind('/data', 'mkreq');
  rt.find('/data')!.add('bank');
  rt.bind('/data/bank', 'account', { propagate: true });
  rt.bind('/data/bank', 'audit', { propagate: true });
  return rt;
}

/** Drive `beats` beats of seeded random outside input. */
function drive(rt: Runtime, seed: number, beats: number): void {
  const r = prng(seed);
  for (let b = 0; b < beats; b++) {
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      const who = `/data/bank/a${Math.floor(r() * 20) + 1}`;
      const x = r();
      if (x < 0.45) rt.enqueue('bank/credit', who, String(Math.floor(r() * 100)));
      else if (x < 0.8) rt.enqueue('bank/debit', who, new TextEncoder().encode(String(Math.floor(r() * 50))) as never);
      else if (x < 0.85) rt.enqueue('bank/audit', who, undefined, { qos: { discardOnRollback: r() < 0.5 } });
      else if (x < 0.9) rt.enqueue('app/mkreq', '/data', who);
      else if (x < 0.93) rt.pause();
      else if (x < 0.95) rt.rollback(Math.max(0, rt.beat - 3));
      else rt.resume();
    }
    rt.step();
  }
}

describe('record and replay', () => {
  it('replays 1,200 beats of seeded random impulses and decisions with identical digests at every beat', () => {
    let t = 1_700_000_000_000_000_000n;
    const live = app({ clock: () => (t += 997_000n), journalBeats: 16 });
    drive(live, 42, 1200);
    const rec = live.recording();
    expect(rec.beats.length).toBe(1200);
    expect(rec.decisions.length).toBeGreaterThan(1000);
    // replay from a serialized copy, with another clock: timestamps come from the recording
    const again = app({ clock: () => 1n, replay: deserialize(serialize(rec)), journalBeats: 16 });
    let hooked = 0;
    again.onCapture(() => void hooked++); // capture hooks are not consulted for recorded beats
    for (let b = 1; b <= 1200; b++) {
      expect(again.step()).toBe(b);
      expect(hex(again.digest(b)), `beat ${b}`).toBe(hex(live.digest(b)));
    }
    expect(hooked).toBe(0);
    // the run exercised cell operations, pause/rollback/resume and retries
    const copies = again
      .find('/data/reqs')!
      .children()
      .filter((q) => q.child('out')!.childCount() === 1);
    expect(copies.length).toBeGreaterThan(10);
    const verbs = again
      .find('/rt/ops')!
      .children()
      .map((d) => again.ops.info(Number(d.name)).verb);
    for (const v of ['op/pause', 'op/rollback', 'op/resume']) expect(verbs).toContain(v);
    expect(new Set(Array.from({ length: 1200 }, (_, i) => hex(live.digest(i + 1)))).size).toBe(1200);
    // a replay of a tampered recording diverges at the tampered beat
    const bad = deserialize(serialize(rec)) as typeof rec;
    const k = bad.beats.findIndex((b) => b.beat > 600 && b.sig.includes('bank/credit'));
    bad.beats[k].pay[bad.beats[k].sig.indexOf('bank/credit')] = '99999';
    const tampered = app({ replay: bad, journalBeats: 16 });
    let first = -1;
    for (let b = 1; b <= bad.beats[k].beat && first < 0; b++) {
      tampered.step();
      if (hex(tampered.digest(b)) !== hex(live.digest(b))) first = b;
    }
    expect(first).toBe(bad.beats[k].beat);
    const state = (r: Runtime) =>
      r
        .find('/data/bank')!
        .children()
        .map((c) => `${c.name}=${c.text}`);
    expect(state(again)).toEqual(state(live));
    expect(again.paused).toBe(live.paused);
    // after the recording the replaying runtime runs live
    expect(again.heartbeat.pending).toBe(live.heartbeat.pending);
  }, 30_000); // 1,200 beats three times over: generous on a loaded machine

  it('fails loudly when the code asks for other decisions than the recording holds', () => {
    let t = 0n;
    const live = app({ clock: () => (t += 1000n) });
    live.enqueue('bank/credit', '/data/bank/a1', '5');
    live.step();
    const rec = live.recording();
    const other = createRuntime({ replay: rec });
    other.registerEnzyme({ name: 'account', signal: 'bank', match: 'prefix', run: (ctx) => void ctx.decide('dice', () => 4) });
    other.bind('/data/bank', 'account', { propagate: true });
    expect(() => other.step()).toThrow(code('ERR_REPLAY_MISMATCH'));
    // an enzyme that skips a recorded decision is caught at commit
    const lazy = createRuntime({ replay: rec });
    lazy.registerEnzyme({ name: 'account', signal: 'bank', match: 'prefix', run: () => {} });
    lazy.bind('/data/bank', 'account', { propagate: true });
    expect(() => lazy.step()).toThrow(code('ERR_REPLAY_MISMATCH'));
    // outside impulses while replaying are refused
    const busy = app({ replay: rec });
    expect(() => busy.enqueue('bank/credit', '/data/bank/a1')).toThrow(code('ERR_REPLAY_MISMATCH'));
    expect(() => createRuntime({ replay: { version: 2 } as never })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => createRuntime({ record: false }).recording()).toThrow(code('ERR_INVALID_ARG_VALUE'));
  });

  it('records decisions under /journal/decisions/<beat>/<i>', () => {
    const live = app({ clock: () => 7_000_000n });
    live.enqueue('bank/credit', '/data/bank/a1', '5');
    live.step();
    const d = live.find('/journal/decisions/1')!.children();
    expect(d.map((c) => c.child('kind')!.text)).toEqual(['rand', 'clock']);
    expect(Number(d[1].child('value')!.text)).toBeGreaterThan(1_600_000_000_000);
  });
});
