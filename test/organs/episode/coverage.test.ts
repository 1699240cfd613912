// Episode (E3) behaviour the other episode tests leave out: the episode-wide CPU budget, per-slice
// I/O overruns, the exported guard helpers on a worker thread, the subject and origin of the
// engine's CEI facts, promotion against another holder's lease, intents queued by read-only
// slices, and stub/threaded/replay agreement on a mix with awaits, budgets and cancels.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountIO, checkCancel, requireRW, type Recording, type Runtime } from '../../../src/index.js';
import { binding } from '../../../src/native/index.js';
import { dump, onGo, runtime, SLICES, slices, states, topics } from './helpers.js';

const GUARDS = new URL('./fixtures/guards.mjs', import.meta.url);

/** Burn `ms` milliseconds of real CPU on this thread. */
/** Busy work until this thread's CPU clock (the one slices are charged by) advanced `ms`. */
function burn(ms: number): void {
  const until = binding.threadCpuMs() + ms;
  while (binding.threadCpuMs() < until);
}

/** The diagnostics facts with a topic, as tooling reads them: subject (resolved), origin signal and target. */
function factsOf(rt: Runtime, topic: string): Array<{ subject: string | undefined; signal: string | undefined; target: string | undefined }> {
  return rt.mailboxes
    .messages('/data/mailbox/diag')
    .filter((m) => m.child('topic')!.text === topic)
    .map((m) => ({ subject: m.child('subject')?.resolve()?.path, signal: m.child('origin')?.child('signal')?.text, target: m.child('origin')?.child('target')?.text }));
}

const hexDigests = (rt: Runtime, beats: number) => Array.from({ length: beats }, (_, i) => Buffer.from(rt.digest(i + 1)!).toString('hex'));

describe('the episode-wide CPU budget (cpuMs)', () => {
  it('slices each under the budget that together exceed it trip ep:bud/cpu after the slice that crosses it; a replay agrees', () => {
    const CPU_MS = 100;
    const SLICE_MS = 40; // a slice alone stays far under cpuMs (60 ms of margin); three always exceed it
    const make = (replay?: Recording) => {
      const rt = runtime({ replay });
      const seen: boolean[] = [];
      onGo(
        rt,
        (ctx) =>
          void ctx.rt.episodes.start({
            signal: 'app/cpu',
            target: '/data',
            profile: 'ro',
            budget: { cpuMs: CPU_MS },
            slice: (c) => {
              burn(SLICE_MS);
              seen.push(c.checkCancel());
              c.yield();
            },
          }),
      );
      return { rt, seen };
    };
    const { rt, seen } = make();
    rt.enqueue('app/go', '/data');
    rt.run({ beats: 8 });
    const eid = Number(rt.find('/rt/ops')!.children().at(-1)!.name);
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(factsOf(rt, 'ep:bud/cpu')).toEqual([{ subject: `/rt/ops/${eid}`, signal: 'app/cpu', target: '/data' }]);
    // every slice's running time went through a recorded decision; the verdict fell on the first
    // slice whose running total crossed cpuMs, and no slice ran after it
    const ms = rt
      .recording()
      .decisions.filter((d) => d.kind === 'ep:cpu')
      .map((d) => JSON.parse(d.value) as number);
    expect(ms.length).toBeGreaterThanOrEqual(2);
    expect(ms.length).toBeLessThanOrEqual(3);
    for (const m of ms) expect(m).toBeGreaterThanOrEqual(SLICE_MS);
    const total = ms.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(CPU_MS);
    expect(total - ms.at(-1)!).toBeLessThanOrEqual(CPU_MS);
    expect(slices(rt, eid)).toBe(ms.length);
    // the overrun is judged after the slice: checkCancel() stays false inside every slice that ran
    expect(seen).toEqual(Array(ms.length).fill(false));
    expect(rt.episodes.active).toBe(0);
    const again = make(rt.recording());
    again.rt.run({ beats: 8 });
    expect(again.rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(again.seen).toHaveLength(ms.length);
    expect(hexDigests(again.rt, 8)).toEqual(hexDigests(rt, 8));
  });
});

describe('per-slice I/O budget (sliceIoBytes)', () => {
  it('a slice that accounts past sliceIoBytes (under ioBytes) gets false, checkCancel() true, ep:bud/io, sts:cxl', () => {
    const rt = runtime();
    const got: Array<[boolean, boolean]> = [];
    let n = 0;
    const { eid } = rt.episodes.start({
      signal: 'app/sio',
      target: '/data',
      profile: 'ro',
      budget: { sliceIoBytes: 100, ioBytes: 10_000 },
      slice: (ctx) => {
        n++;
        got.push([ctx.accountIO(60), ctx.checkCancel()]); // 60 per slice: under the slice limit
        if (n === 3) got.push([ctx.accountIO(60), ctx.checkCancel()], [ctx.accountIO(0), ctx.checkCancel()]); // 120 in one slice
        ctx.yield();
      },
    });
    rt.run({ beats: 2 });
    expect(rt.ops.info(eid).state).toBe('ist:yield'); // 120 bytes over two slices: no overrun
    expect(topics(rt)).not.toContain('ep:bud/io');
    rt.run({ beats: 3 });
    expect(got).toEqual([
      [true, false],
      [true, false],
      [true, false],
      [false, true],
      [false, true],
    ]);
    expect(n).toBe(3); // nothing ran after the overrun
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(factsOf(rt, 'ep:bud/io')).toEqual([{ subject: `/rt/ops/${eid}`, signal: 'app/sio', target: '/data' }]);
  });

  it('reads count against sliceIoBytes only when accounted (function and module slices)', async () => {
    for (const account of [false, true]) {
      const rt = runtime();
      rt.find('/data')!.add('blob', { value: new Uint8Array(500) });
      let n = 0;
      const fn = rt.episodes.start({
        signal: 'app/fr',
        target: '/data',
        profile: 'ro',
        budget: { sliceIoBytes: 400, ioBytes: 1 << 20 },
        slice: (ctx) => {
          const bytes = ctx.read('/data/blob')!;
          if (account) ctx.accountIO(bytes.length);
          if (++n < 3) ctx.yield();
          else ctx.close();
        },
      });
      await rt.episodes.load(SLICES);
      const mod = rt.episodes.start({
        signal: 'app/mr',
        target: '/data',
        profile: 'ro',
        budget: { sliceIoBytes: 400, ioBytes: 1 << 20 },
        state: { account, slices: 0 },
        slice: { module: SLICES, name: 'reader' },
        reads: ['/data/blob'],
      });
      rt.run({ beats: 8 });
      expect(rt.ops.info(fn.eid).status).toBe(account ? 'sts:cxl' : 'sts:ok');
      expect(rt.ops.info(mod.eid).status).toBe(account ? 'sts:cxl' : 'sts:ok');
      expect(n).toBe(account ? 1 : 3);
      expect(slices(rt, mod.eid)).toBe(account ? 1 : 3);
      expect(topics(rt).filter((t) => t === 'ep:bud/io')).toHaveLength(account ? 2 : 0);
    }
  });
});

describe('guard helpers exported from cep in module slices', () => {
  it('outside a slice they return true, true, false', () => {
    expect([requireRW(), accountIO(1 << 30), checkCancel()]).toEqual([true, true, false]);
  });

  it.each(['stub', 'threaded'] as const)('%s: requireRW, accountIO and checkCancel read the context of the slice on the thread that runs it', async (executor) => {
    const dir = mkdtempSync(join(tmpdir(), 'cep-epcov-'));
    const log = join(dir, 'seen.jsonl');
    const rt = runtime({ executor, threads: 1 });
    try {
      await rt.episodes.load(GUARDS);
      const { eid } = rt.episodes.start({
        signal: 'app/guard',
        target: '/data',
        profile: 'ro',
        budget: { ioBytes: 100 },
        state: { log, chunk: 60 },
        slice: { module: GUARDS, name: 'guarded' },
        reads: ['/data'],
      });
      await rt.episodes.run();
      const seen = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, boolean>);
      expect(seen).toEqual([{ worker: executor === 'threaded', rw: false, io1: true, cancel1: false, io2: false, cancel2: true }]);
      expect(rt.episodes.offloaded).toBe(executor === 'threaded' ? 1 : 0);
      expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
      expect(factsOf(rt, 'ep:pro/ro')).toEqual([{ subject: `/rt/ops/${eid}`, signal: 'app/guard', target: '/data' }]); // the one requireRW()
      expect(factsOf(rt, 'ep:bud/io')).toHaveLength(1);
      expect([requireRW(), accountIO(1 << 30), checkCancel()]).toEqual([true, true, false]); // the slot is left empty again
    } finally {
      await rt.episodes.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CEI facts of the engine', () => {
  it('each kind carries the dossier as subject and the signal and target as origin', () => {
    const rt = runtime();
    rt.find('/data')!.add('x', { value: 'a' });
    const job = rt.ops.start('op/job', { target: '/data' });
    const eids = new Map<string, number>();
    const start = (topic: string, signal: string, target: string, profile: 'ro' | 'rw', slice: Parameters<typeof rt.episodes.start>[0]['slice'], budget?: { sliceCpuMs?: number; ioBytes?: number }) =>
      eids.set(topic, rt.episodes.start({ signal, target, profile, slice, budget }).eid);
    start('ep:pro/ro', 'app/ro', '/data/x', 'ro', (ctx) => void ctx.set('/data/x', 'b'));
    start('ep:bud/io', 'app/io', '/data', 'ro', (ctx) => void ctx.accountIO(11), { ioBytes: 10 });
    start('ep:bud/cpu', 'app/cpu', '/data', 'ro', () => burn(2), { sliceCpuMs: 0.001 });
    start('ep:fail', 'app/fail', '/data', 'ro', () => {
      throw new Error('boom');
    });
    start('ep:await', 'app/await', '/data', 'ro', (ctx) => ctx.await(job + 10_000));
    start('ep:tmo', 'app/tmo', '/data', 'ro', (ctx) => ctx.await(job, { ttl: 2 }));
    start('ep:stage', 'app/stage', '/data/x', 'rw', (ctx) => void ctx.streamWrite('/data/nowhere', 0, new Uint8Array([1])));
    start('ep:lease', 'app/lease', '/data/missing', 'rw', (ctx) => ctx.close());
    rt.run({ beats: 6 });
    const origin = {
      'ep:pro/ro': ['app/ro', '/data/x'],
      'ep:bud/io': ['app/io', '/data'],
      'ep:bud/cpu': ['app/cpu', '/data'],
      'ep:fail': ['app/fail', '/data'],
      'ep:await': ['app/await', '/data'],
      'ep:tmo': ['app/tmo', '/data'],
      'ep:stage': ['app/stage', '/data/x'],
      'ep:lease': ['app/lease', '/data/missing'],
    } as const;
    for (const [topic, [signal, target]] of Object.entries(origin)) {
      expect({ topic, facts: factsOf(rt, topic) }).toEqual({ topic, facts: [{ subject: `/rt/ops/${eids.get(topic)}`, signal, target }] });
    }
    expect(rt.ops.info(eids.get('ep:stage')!).status).toBe('sts:ok'); // the dropped staged write does not fail the episode
    expect(rt.find('/data/nowhere')).toBeUndefined();
  });
});

describe('promote() against another holder of the lease', () => {
  it('fails while an RW episode holds the target, succeeds in a later slice once it is released; episode/lease records it', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: '' });
    let k = 0;
    const rw = rt.episodes.start({
      signal: 'app/rw',
      target: '/data/x',
      profile: 'rw',
      slice: (ctx) => {
        ctx.set('/data/x', `${ctx.text('/data/x')}w`);
        if (++k < 3) ctx.yield();
        else ctx.close(); // beat 3: the lease goes back
      },
    });
    const log: string[] = [];
    const hy = rt.episodes.start({
      signal: 'app/hy',
      target: '/data/x',
      profile: 'hybrid',
      slice: (ctx) => {
        if (!ctx.promote()) {
          log.push(`${ctx.beat}:refused:${ctx.set('/data/x', 'h')}`);
          return ctx.yield();
        }
        log.push(`${ctx.beat}:promoted:${ctx.set('/data/x', `${ctx.text('/data/x')}h`)}:${ctx.demote()}`);
        ctx.close();
      },
    });
    rt.run({ beats: 4 });
    expect(log).toEqual(['1:refused:false', '2:refused:false', '3:promoted:true:true']);
    expect(x.text).toBe('wwwh');
    expect(topics(rt).filter((t) => t === 'ep:pro/ro')).toHaveLength(2);
    const lease = rt.ops
      .dossier(hy.eid)
      .child('episode')!
      .child('lease')!
      .children()
      .map((c) => c.text);
    expect(lease).toEqual(['promote@3', 'demote@3']);
    expect(rt.ops.dossier(rw.eid).child('episode')!.child('lease')).toBeUndefined(); // an RW lease is not a promotion
    // the slice that ends the yield cycle records ist:run, and the promotion records it again
    expect(states(rt, hy.eid)).toEqual(['0:ist:plan', '1:ist:run', '1:ist:yield', '3:ist:run', '3:ist:run', '3:ist:ok', '3:sts:ok']);
    expect(rt.ops.info(hy.eid).status).toBe('sts:ok');
    expect(x.set('free')).toBe(true); // both leases are gone
  });
});

describe('read-only slices queue intents', () => {
  it('an impulse enqueued by an RO slice commits its mutation at the next beat; the slice’s own helpers refuse', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: 'a' });
    rt.registerEnzyme({ name: 'apply', signal: 'app/apply', run: (ctx) => void ctx.rt.find(ctx.target!)!.set(String(ctx.payload)) });
    rt.bind('/data/x', 'apply');
    const helpers: boolean[] = [];
    const { eid } = rt.episodes.start({
      signal: 'app/ro',
      target: '/data/x',
      profile: 'ro',
      slice: (ctx) => {
        helpers.push(ctx.set('/data/x', 'direct'), ctx.remove('/data/x'));
        ctx.rt.enqueue('app/apply', '/data/x', 'queued');
        ctx.close();
      },
    });
    const b1 = rt.step();
    expect(helpers).toEqual([false, false]);
    expect(topics(rt).filter((t) => t === 'ep:pro/ro')).toHaveLength(2);
    expect(x.text).toBe('a'); // nothing changed in the slice's beat
    expect(rt.ops.info(eid).status).toBe('sts:ok');
    const b2 = rt.step();
    expect(x.text).toBe('queued');
    expect(b2).toBe(b1 + 1);
    expect(x.payloadBeats()).toEqual([b2, 0]); // one change, committed at the next beat (newest first)
  });
});

describe('determinism of a mix with awaits, I/O budgets and cancels', () => {
  const BEATS = 24;

  /** A runtime whose `app/go` enzyme starts the mix; `long` collects the tickets of the episodes cancelled from outside. */
  async function world(executor: 'stub' | 'threaded', replay?: Recording): Promise<{ rt: Runtime; long: number[] }> {
    const rt = runtime({ executor, threads: 2, replay });
    const nums = rt.find('/data')!.add('nums');
    for (let i = 1; i <= 4; i++) nums.add(`n${i}`, { value: String(i * 3) });
    rt.find('/data')!.add('blob', { value: new Uint8Array(500) });
    rt.find('/data')!.add('flag', { value: 'go' });
    rt.find('/data')!.add('out', { value: '' });
    await rt.episodes.load(SLICES);
    const long: number[] = [];
    onGo(rt, (ctx) => {
      const eps = ctx.rt.episodes;
      const k = Number(ctx.payload);
      let w = 0;
      // an RW writer: three slices, then closes; the awaited operation
      const writer = eps.start({
        signal: 'app/write',
        target: '/data/out',
        profile: 'rw',
        slice: (c) => {
          c.set('/data/out', `${c.text('/data/out')}${k}.${w}|`);
          if (++w < 3) c.yield();
          else c.close();
        },
      });
      // awaits the writer, then closes
      eps.start({ signal: 'app/wait', target: '/data', profile: 'ro', state: 0, slice: (c) => (c.state === 0 ? ((c.state = 1), c.await(writer.eid, { ttl: 40 })) : c.close()) });
      // cancels itself at its second slice
      let q = 0;
      eps.start({ signal: 'app/quit', target: '/data', profile: 'ro', slice: (c) => (++q === 2 ? (c.requestCancel(), c.yield()) : c.yield()) });
      // module slices: one overruns its I/O budget, one reads without accounting, one spins, one runs until cancelled by ticket
      eps.start({
        signal: 'app/io',
        target: '/data/blob',
        profile: 'ro',
        budget: { ioBytes: 1200 },
        state: { account: true, slices: 0 },
        slice: { module: SLICES, name: 'reader' },
        reads: ['/data/blob'],
      });
      eps.start({
        signal: 'app/read',
        target: '/data/blob',
        profile: 'ro',
        budget: { sliceIoBytes: 100 },
        state: { account: false, slices: 0 },
        slice: { module: SLICES, name: 'reader' },
        reads: ['/data/blob'],
      });
      eps.start({ signal: 'app/spin', target: '/data/nums', profile: 'ro', state: { h: k, iters: 5000 + k, left: 2 + (k % 3) }, slice: { module: SLICES, name: 'spin' }, reads: ['/data/nums'] });
      long.push(eps.start({ signal: 'app/watch', target: '/data/flag', profile: 'ro', slice: { module: SLICES, name: 'watch' }, reads: ['/data/flag'] }).ticket);
    });
    return { rt, long };
  }

  function evidence(rt: Runtime): { dossiers: string[][]; out: string | undefined; digests: string[] } {
    const eids = rt
      .find('/rt/ops')!
      .children()
      .map((c) => Number(c.name))
      .filter((eid) => rt.ops.info(eid).verb === 'op/ep');
    return { dossiers: eids.map((e) => dump(rt, e)), out: rt.find('/data/out')!.text, digests: hexDigests(rt, BEATS) };
  }

  /** Live: two waves of the mix, each wave's watcher cancelled by ticket from outside a few beats later. */
  async function drive(w: { rt: Runtime; long: number[] }, live: boolean): Promise<void> {
    for (let b = 1; b <= BEATS; b++) {
      if (live && (b === 1 || b === 5)) w.rt.enqueue('app/go', '/data', String(b));
      if (live && b === 7) expect(w.rt.episodes.cancelTicket(w.long[0])).toBe(true);
      if (live && b === 12) expect(w.rt.episodes.cancelTicket(w.long[1])).toBe(true);
      await w.rt.episodes.step();
    }
  }

  it('stub, threaded and a replay of the recording give identical dossiers, data and beat digests', async () => {
    const stub = await world('stub');
    await drive(stub, true);
    const a = evidence(stub.rt);
    const rt = stub.rt;
    // the mix did what it is meant to: per wave, 7 episodes with these endings
    const ends = new Map<string, string[]>();
    for (const c of rt.find('/rt/ops')!.children()) {
      const eid = Number(c.name);
      if (rt.ops.info(eid).verb !== 'op/ep') continue;
      const signal = rt.find(`/rt/ops/${eid}/episode/signal`)!.text!;
      ends.set(signal, [...(ends.get(signal) ?? []), `${rt.ops.info(eid).state}/${rt.ops.info(eid).status}`]);
    }
    expect(Object.fromEntries(ends)).toEqual({
      'app/write': ['ist:ok/sts:ok', 'ist:ok/sts:ok'],
      'app/wait': ['ist:ok/sts:ok', 'ist:ok/sts:ok'],
      'app/quit': ['ist:cxl/sts:cxl', 'ist:cxl/sts:cxl'],
      'app/io': ['ist:cxl/sts:cxl', 'ist:cxl/sts:cxl'],
      'app/read': ['ist:ok/sts:ok', 'ist:ok/sts:ok'],
      'app/spin': ['ist:ok/sts:ok', 'ist:ok/sts:ok'],
      'app/watch': ['ist:cxl/sts:cxl', 'ist:cxl/sts:cxl'],
    });
    expect(a.dossiers.filter((d) => d.some((l) => l.endsWith(Buffer.from('ist:await').toString('hex'))))).toHaveLength(2); // the waits went through ist:await
    expect(topics(rt).filter((t) => t === 'ep:bud/io')).toHaveLength(2);
    expect(rt.episodes.active).toBe(0);
    expect(a.out).toBe('1.0|1.1|1.2|5.0|5.1|5.2|');
    const threaded = await world('threaded');
    try {
      await drive(threaded, true);
      expect(evidence(threaded.rt)).toEqual(a);
      expect(threaded.rt.episodes.offloaded).toBeGreaterThan(20); // the module slices ran on worker threads
    } finally {
      await threaded.rt.episodes.close();
    }
    for (const ex of ['stub', 'threaded'] as const) {
      const replayed = await world(ex, rt.recording());
      try {
        await drive(replayed, false);
        expect(evidence(replayed.rt)).toEqual(a);
      } finally {
        await replayed.rt.episodes.close();
      }
    }
  });
});
