import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime, nativeInfo, type Recording } from '../../../src/index.js';
import { binding } from '../../../src/native/index.js';
import { code, facts, onGo, runtime, SLICES, topics } from './helpers.js';

const GATE = new URL('./fixtures/gate.mjs', import.meta.url);

describe('budgets and staging', () => {
  it('an I/O overrun emits ep:bud/io, flips checkCancel and ends sts:cxl', () => {
    const rt = runtime();
    let after: boolean | undefined;
    const accepted: boolean[] = [];
    const { eid } = rt.episodes.start({
      signal: 'app/io',
      target: '/data',
      profile: 'ro',
      budget: { sliceIoBytes: 1000, ioBytes: 2500 },
      slice: (ctx) => {
        accepted.push(ctx.accountIO(900));
        after = ctx.checkCancel();
        ctx.yield();
      },
    });
    rt.run({ beats: 2 });
    expect(after).toBe(false);
    expect(rt.ops.isOpen(eid)).toBe(true);
    rt.run({ beats: 2 }); // 2,700 bytes in all
    expect(after).toBe(true);
    expect(accepted).toEqual([true, true, false]);
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(topics(rt)).toContain('ep:bud/io');
  });

  it('read budgets count only what is accounted', async () => {
    for (const account of [false, true]) {
      const rt = runtime();
      rt.find('/data')!.add('blob', { value: new Uint8Array(500) });
      await rt.episodes.load(SLICES);
      const { eid } = rt.episodes.start({
        signal: 'app/r',
        target: '/data',
        profile: 'ro',
        budget: { ioBytes: 1200 },
        state: { account, slices: 0 },
        slice: { module: SLICES, name: 'reader' },
        reads: ['/data/blob'],
      });
      rt.run({ beats: 12 });
      expect(rt.ops.info(eid).status).toBe(account ? 'sts:cxl' : 'sts:ok');
      expect(topics(rt).includes('ep:bud/io')).toBe(account);
    }
  });

  it('a CPU overrun emits ep:bud/cpu and ends sts:cxl; the measured time is a recorded decision', () => {
    const make = (replay?: ReturnType<ReturnType<typeof createRuntime>['recording']>) => {
      let t = 1n;
      const rt = createRuntime({ clock: () => (t += 1000n), replay });
      onGo(
        rt,
        (ctx) =>
          void ctx.rt.episodes.start({
            signal: 'app/cpu',
            target: '/data',
            profile: 'ro',
            budget: { sliceCpuMs: 2 },
            slice: (c) => {
              // burn 5 ms of this thread's CPU time, the clock the budget reads (wall time may
              // pass with little CPU on a loaded machine)
              const until = binding.threadCpuMs() + 5;
              while (binding.threadCpuMs() < until);
              c.yield();
            },
          }),
      );
      return rt;
    };
    const rt = make();
    rt.enqueue('app/go', '/data');
    rt.run({ beats: 3 });
    const eid = Number(rt.find('/rt/ops')!.children().at(-1)!.name);
    expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
    expect(topics(rt)).toContain('ep:bud/cpu');
    const rec = rt.recording();
    expect(rec.decisions.some((d) => d.kind === 'ep:cpu')).toBe(true);
    const again = make(rec);
    again.run({ beats: 3 });
    for (let b = 1; b <= 3; b++) expect(Buffer.from(again.digest(b)!).toString('hex')).toBe(Buffer.from(rt.digest(b)!).toString('hex'));
  });

  it('stream staging: writes are accounted, invisible until the commit edge, dropped on cancel', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: 'hello' });
    let seen = '';
    const a = rt.episodes.start({
      signal: 'app/s',
      target: '/data/x',
      profile: 'rw',
      budget: { ioBytes: 100 },
      slice: (ctx) => {
        expect(ctx.streamWrite('/data/x', 5, new TextEncoder().encode(' world'))).toBe(true);
        seen = ctx.text('/data/x')!;
        ctx.close();
      },
    });
    rt.step();
    expect(seen).toBe('hello');
    expect(x.text).toBe('hello world');
    expect(rt.ops.info(a.eid).status).toBe('sts:ok');
    const b = rt.episodes.start({
      signal: 'app/s',
      target: '/data/x',
      profile: 'rw',
      budget: { ioBytes: 4 },
      slice: (ctx) => {
        expect(ctx.streamWrite('/data/x', 0, new Uint8Array([65, 65]))).toBe(true);
        expect(ctx.streamWrite('/data/x', 0, new Uint8Array([66, 66, 66]))).toBe(false); // over budget
        expect(ctx.checkCancel()).toBe(true);
      },
    });
    rt.step();
    expect(x.text).toBe('hello world');
    expect(rt.ops.info(b.eid).status).toBe('sts:cxl');
    expect(() => rt.episodes.start({ signal: 'app/s', target: '/data/x', profile: 'rw', slice: (ctx) => void ctx.streamWrite('/data/x', -1, new Uint8Array(1)) })).not.toThrow();
    rt.step();
    expect(topics(rt)).toContain('ep:fail'); // the bad offset threw inside the slice
  });

  it('CPU budgets charge a slice for its own thread’s CPU time (native), not for time it waits', () => {
    const rt = runtime();
    const { eid } = rt.episodes.start({
      signal: 'app/io',
      target: '/data',
      profile: 'ro',
      budget: { sliceCpuMs: 20 },
      slice: () => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60), // waits 60 ms, runs almost nothing
    });
    rt.step();
    // the fallback has no per-thread CPU clock: it charges the wall time, and the 60 ms wait overruns
    const native = nativeInfo().backend === 'native';
    expect(rt.ops.info(eid).status).toBe(native ? 'sts:ok' : 'sts:cxl');
    expect(topics(rt).includes('ep:bud/cpu')).toBe(!native);
  });

  it('staged writes to a STREAM cell go through its adapter at the commit edge', () => {
    const rt = runtime();
    let state = new Uint8Array(4);
    const s = rt.find('/data')!.add('s', {
      stream: {
        read: (_c, off, len) => state.slice(off, off + len),
        write: (_c, off, bytes) => {
          if (off + bytes.length > state.length) {
            const g = new Uint8Array(off + bytes.length);
            g.set(state);
            state = g;
          }
          state.set(bytes, off);
          return bytes.length;
        },
        snapshot: () => state.slice(),
        restore: (_c, b) => void (state = b.slice()),
      },
    });
    let seen: number[] = [];
    const { eid } = rt.episodes.start({
      signal: 'app/s',
      target: '/data/s',
      profile: 'rw',
      slice: (ctx) => {
        expect(ctx.streamWrite('/data/s', 2, new Uint8Array([7, 8, 9]))).toBe(true);
        seen = [...s.read(0, 5)]; // staged: not written yet
        ctx.close();
      },
    });
    rt.step();
    expect(seen).toEqual([0, 0, 0, 0]);
    expect([...s.read(0, 5)]).toEqual([0, 0, 7, 8, 9]);
    expect(rt.ops.info(eid).status).toBe('sts:ok');
  });

  it('a staged write the kernel refuses is dropped with ep:stage and fails its episode; the beat goes on', () => {
    const rt = runtime();
    const x = rt.find('/data')!.add('x', { value: 'x' });
    rt.find('/data')!.add('y', { value: 'y' });
    // a handle without a write hook refuses writes through its adapter
    rt.find('/data')!.add('h', { handle: { snapshot: () => new Uint8Array([1]) } });
    // an RW episode that keeps /data/x leased while the others stage writes to it
    let holds = true;
    rt.episodes.start({ signal: 'app/hold', target: '/data/x', profile: 'rw', slice: (ctx) => (holds ? ctx.yield() : ctx.close()) });
    rt.step();
    const locked = rt.episodes.start({ signal: 'app/w', target: '/data/y', profile: 'rw', slice: (ctx) => void ctx.streamWrite('/data/x', 0, new Uint8Array([65])) });
    const proxy = rt.episodes.start({ signal: 'app/w', target: '/data/y', profile: 'hybrid', slice: (ctx) => void (ctx.promote(), ctx.streamWrite('/data/h', 0, new Uint8Array([66])), ctx.yield()) });
    let beat = -1;
    expect(() => (beat = rt.step())).not.toThrow();
    expect(rt.digest(beat)).toHaveLength(32); // the beat committed
    expect(x.text).toBe('x');
    expect(rt.ops.info(locked.eid).status).toBe('sts:ok'); // closed in its slice: the fact tells what was lost
    expect(rt.ops.info(proxy.eid)).toMatchObject({ state: 'ist:fail', status: 'sts:fail' }); // still running: it fails
    const stage = facts(rt).filter((f) => f.startsWith('ep:stage|'));
    expect(stage).toHaveLength(2);
    expect(stage[0]).toContain('/data/x');
    expect(stage[1]).toContain('/data/h');
    holds = false;
    rt.run({ beats: 2 });
    expect(rt.episodes.active).toBe(0);
  });

  it('the threaded backend needs settled results before a beat', async () => {
    // the slice blocks on its worker until the test lets it go, so the beat is asked for while
    // its result is certainly out (asking can take in a result that arrived meanwhile)
    const dir = mkdtempSync(join(tmpdir(), 'cep-gate-'));
    const fifo = join(dir, 'gate');
    execFileSync('mkfifo', [fifo]);
    const gate = openSync(fifo, 'r+'); // a writing end that never blocks; closing it releases the slice too
    const rt = runtime({ executor: 'threaded', threads: 1 });
    try {
      rt.find('/data')!.add('nums');
      await rt.episodes.load(GATE);
      const { eid } = rt.episodes.start({ signal: 'app/gate', target: '/data/nums', profile: 'ro', state: { fifo }, slice: { module: GATE, name: 'gate' }, reads: ['/data/nums'] });
      rt.step(); // submits the slice to a worker
      expect(rt.episodes.settled).toBe(false);
      expect(() => rt.step()).toThrow(code('ERR_BEAT_NOT_READY'));
      expect(rt.episodes.settled).toBe(false);
      writeSync(gate, Buffer.from([1]));
      await rt.episodes.settle();
      expect(rt.episodes.settled).toBe(true);
      await rt.episodes.run();
      expect(rt.episodes.active).toBe(0);
      expect(rt.ops.info(eid).status).toBe('sts:ok');
      expect(rt.episodes.offloaded).toBe(1);
    } finally {
      closeSync(gate);
      await rt.episodes.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const NAP = new URL('./fixtures/nap.mjs', import.meta.url);

describe('CPU budgets of module slices', () => {
  it.each(['stub', 'threaded'] as const)('%s: a module slice is charged its own thread’s CPU time, not the time it waits', async (executor) => {
    const rt = runtime({ executor, threads: 1 });
    try {
      rt.find('/data')!.add('nums').add('a', { value: '1' });
      await rt.episodes.load(NAP);
      const { eid } = rt.episodes.start({
        signal: 'app/nap',
        target: '/data/nums',
        profile: 'ro',
        budget: { sliceCpuMs: 20 },
        state: { ms: 60 },
        slice: { module: NAP, name: 'nap' },
        reads: ['/data/nums'],
      });
      await rt.episodes.run();
      const native = nativeInfo().backend === 'native';
      expect(rt.ops.info(eid).status).toBe(native ? 'sts:ok' : 'sts:cxl'); // the fallback charges wall time
      if (executor === 'threaded') expect(rt.episodes.offloaded).toBe(1);
    } finally {
      await rt.episodes.close();
    }
  });

  it.each(['stub', 'threaded'] as const)('%s: the slice’s own timer trips ep:bud/cpu; a replay reaches the same verdict', async (executor) => {
    const make = async (replay?: Recording) => {
      const rt = runtime({ executor, threads: 1, replay });
      rt.find('/data')!.add('nums').add('a', { value: '1' });
      await rt.episodes.load(SLICES);
      onGo(
        rt,
        (ctx) =>
          void ctx.rt.episodes.start({
            signal: 'app/spin',
            target: '/data/nums',
            profile: 'ro',
            budget: { sliceCpuMs: 0.01 },
            state: { h: 1, iters: 3_000_000, left: 5 },
            slice: { module: SLICES, name: 'spin' },
            reads: ['/data/nums'],
          }),
      );
      return rt;
    };
    const rt = await make();
    try {
      rt.enqueue('app/go', '/data');
      await rt.episodes.run({ beats: 4 });
      const eid = Number(rt.find('/rt/ops')!.children().at(-1)!.name);
      expect(rt.ops.info(eid)).toMatchObject({ state: 'ist:cxl', status: 'sts:cxl' });
      expect(topics(rt)).toContain('ep:bud/cpu');
      const again = await make(rt.recording());
      try {
        await again.episodes.run({ beats: 4 });
        for (let b = 1; b <= 4; b++) expect(Buffer.from(again.digest(b)!).toString('hex')).toBe(Buffer.from(rt.digest(b)!).toString('hex'));
      } finally {
        await again.episodes.close();
      }
    } finally {
      await rt.episodes.close();
    }
  });
});
