import { deflateSync } from 'node:zlib';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ceiFacts } from '../../../src/organs/io/cei.js';
import type { AsyncFabric, Signal } from '../../../src/organs/io/fabric.js';
import type { IoCompletion } from '../../../src/async/reactor.js';
import { decodeImpulses } from '../../../src/beat/heartbeat/codec.js';
import { CompletionGate } from '../../../src/async/gate.js';
import { availableBackends } from '../../../src/async/select.js';
import { createExecutor, type Executor } from '../../../src/async/executor.js';
import { createWorkerPool, type WorkerPool } from '../../../src/async/worker-pool.js';
import { blake3 } from '../../../src/hash/blake3.js';
import { crc32c } from '../../../src/hash/crc32c.js';
import { nativeInfo } from '../../../src/native/index.js';
import { createRuntime, type Runtime } from '../../../src/runtime/runtime.js';
import { finished, tempDir } from '../../async/helpers.js';

const enc = new TextEncoder();

function text(rt: Runtime, path: string): string | undefined {
  return rt.find(path)?.text;
}

describe('completion gate', () => {
  it('sorted mode releases everything finished, by sequence', () => {
    const g = new CompletionGate<string>('sorted');
    g.put(3, 'c');
    g.put(1, 'a');
    expect(g.releasable).toBe(true);
    expect(g.drain()).toEqual(['a', 'c']);
    expect(g.releasable).toBe(false);
    g.put(9, 'x');
    g.put(7, 'y');
    g.put(8, 'z');
    expect(g.drain(1)).toEqual(['y']);
    expect(g.size).toBe(2);
    expect(g.drain()).toEqual(['z', 'x']);
  });
  it('prefix mode releases only the unbroken run from the oldest, skipping refused ones', () => {
    const g = new CompletionGate<string>('prefix');
    g.put(2, 'b');
    g.put(3, 'c');
    expect(g.releasable).toBe(false);
    expect(g.drain()).toEqual([]);
    g.put(1, 'a');
    expect(g.drain(2)).toEqual(['a', 'b']);
    g.skip(4);
    g.put(5, 'e');
    expect(g.drain()).toEqual(['c', 'e']);
  });
  it('prefix mode passes skipped sequences at once, however many come between drains', () => {
    const g = new CompletionGate<string>('prefix');
    for (let seq = 1; seq <= 100_000; seq++) g.skip(seq); // results taken elsewhere (run())
    g.put(100_002, 'late');
    g.skip(100_003);
    expect(g.releasable).toBe(false); // 100_001 is still out
    g.put(100_001, 'next');
    expect(g.releasable).toBe(true);
    expect(g.drain()).toEqual(['next', 'late']);
    g.put(100_004, 'after');
    expect(g.drain()).toEqual(['after']);
  });
});

/** Runs one beat once `seqs` finished; returns the beat. */
async function beatAfter(rt: Runtime, ...seqs: number[]): Promise<number> {
  await finished(rt.reactor!, ...seqs);
  return rt.step();
}

/** A clock the test moves by hand (Unix ns). */
function manualClock(start = 1_000_000n): { now: bigint; clock: () => bigint } {
  const c = { now: start, clock: () => c.now };
  return c;
}

describe.each(availableBackends())('op/io fabric on %s', (backend) => {
  let rt: Runtime;
  let io: AsyncFabric;
  let tmp: ReturnType<typeof tempDir>;
  let time: ReturnType<typeof manualClock>;
  beforeEach(() => {
    time = manualClock();
    rt = createRuntime({ reactor: backend, clock: time.clock });
    io = rt.io!;
    tmp = tempDir();
  });
  afterEach(async () => {
    rt.stop();
    await rt.reactor!.close();
    tmp.cleanup();
  });

  it('wires the reactor into the runtime and lays out the dossier', () => {
    expect(rt.reactor!.backend).toBe(backend);
    expect(text(rt, '/rt/async/verb')).toBe('op/io');
    expect(text(rt, '/rt/async/mode')).toBe('opm:states');
    expect(text(rt, '/rt/async/io_reactor/backend')).toBe(backend);
    for (const m of ['cq_depth', 'pend_bytes', 'comp_bt', 'timeouts', 'jobs_total']) expect(text(rt, `/rt/analytics/async/reactor:io/${m}`)).toBe('0');
  });

  it('records channels at the next beat, flags the portable shim with tp_async_unsp', () => {
    io.channel('log', { target: '/var/log/x', caps: ['write', 'sync'] });
    expect(rt.find('/rt/async/io_chan/log')).toBeUndefined(); // recorded by a beat, not by the call
    rt.step();
    expect(text(rt, '/rt/async/io_chan/log/target_path')).toBe('/var/log/x');
    expect(text(rt, '/rt/async/io_chan/log/reactor')).toBe(backend);
    expect(text(rt, '/rt/async/io_chan/log/caps')).toBe('write sync');
    expect(text(rt, '/rt/async/io_chan/log/shim')).toBe(backend === 'portable' ? '1' : '0');
    const facts = ceiFacts(rt).filter((f) => f.topic === 'tp_async_unsp');
    expect(facts.length).toBe(backend === 'portable' ? 1 : 0);
    expect(() => io.channel('log', { target: 'y' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => io.request('nope', (r) => r.nop())).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
    expect(() => io.request('log', (r) => r.nop(), { beatBudget: -1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('completions become visible only at a beat, in submission order, whatever order they finished in', async () => {
    io.channel('net', { target: '127.0.0.1' });
    const l = io.request('net', (r) => r.listen({ host: '127.0.0.1', port: 0 }));
    await beatAfter(rt, l);
    const srv = Number(text(rt, `/rt/async/io_req/${l}/progress`));
    const signals: [Signal, number][] = [];
    // The accept is submitted first and finishes last (only once the connect arrives).
    const acc = io.request('net', (r) => r.accept(srv), { opcode: 'op:accept' });
    const nops = Array.from({ length: 8 }, () => io.request('net', (r) => r.nop()));
    await finished(rt.reactor!, ...nops);
    expect(rt.reactor!.pendingSeq(acc)).toBe(true);
    const port = rt.reactor!.port(srv);
    const conn = io.request('net', (r) => r.connect({ host: '127.0.0.1', port }));
    const seqs = [acc, ...nops, conn];
    for (const s of seqs) io.watch(s, (sig, c) => signals.push([sig, c!.seq]));
    await finished(rt.reactor!, ...seqs);
    // Everything finished, nothing is visible until a beat runs.
    for (const s of seqs) expect(rt.find(`/rt/async/io_req/${s}`)).toBeUndefined();
    expect(signals).toEqual([]);
    const beat = rt.step();
    expect(signals.map((s) => s[1])).toEqual(seqs);
    expect(signals.every((s) => s[0] === 'op/cont')).toBe(true);
    for (const s of seqs) {
      expect(text(rt, `/rt/async/io_req/${s}/state`)).toBe('ist:ok');
      expect(text(rt, `/rt/async/io_req/${s}/done_bt`)).toBe(String(beat));
      expect(text(rt, `/rt/async/io_req/${s}/submit_bt`)).toBe(String(beat));
    }
    expect(text(rt, `/rt/async/io_req/${acc}/opcode`)).toBe('op:accept');
    expect(text(rt, '/rt/analytics/async/reactor:io/comp_bt')).toBe(String(seqs.length));
    expect(text(rt, '/rt/analytics/async/reactor:io/jobs_total')).toBe(String(seqs.length + 1));
    expect(io.open).toBe(0);
    // The beat's journal holds the completions as one op/io/cpl impulse, by sequence.
    const cpl = decodeImpulses(rt.find(`/rt/beat/${beat}/impulses`)!.value!).find((i) => i.signal === 'op/io/cpl')!;
    expect((cpl.payload as { c: number[][] }).c.map((c) => c[0])).toEqual(seqs);
  });

  it('a driven runtime beats by itself when completions arrive (no polling)', async () => {
    io.channel('net', { target: '127.0.0.1' });
    rt.start({ intervalMs: 0 }); // beats only when work is queued or the reactor wakes it
    const recorded = (seq: number): Promise<void> =>
      new Promise((res) => {
        const off = rt.onCommit(() => {
          if (rt.find(`/rt/async/io_req/${seq}`) !== undefined) off(), res();
        });
      });
    const l = io.request('net', (r) => r.listen({ host: '127.0.0.1', port: 0 }));
    await new Promise<void>((res) => io.watch(l, () => res()));
    const srv = Number(text(rt, `/rt/async/io_req/${l}/progress`));
    let acc = -1;
    const accepted = new Promise<IoCompletion>((res) => {
      acc = io.request('net', (r) => r.accept(srv));
      io.watch(acc, (_s, c) => res(c!));
    });
    await recorded(acc);
    // The accept is recorded and parked; the runtime is idle until a peer arrives.
    const idle = rt.beat;
    // A negative check (no beat without a cause): nothing marks "no beat is coming", so give
    // driven mode a moment; a slow machine can only make the check weaker, never fail it.
    await new Promise((res) => setTimeout(res, 20));
    expect(rt.beat).toBe(idle);
    expect(text(rt, `/rt/async/io_req/${acc}/state`)).toBe('ist:run');
    const peer = connect(rt.reactor!.port(srv), '127.0.0.1'); // outside the runtime: only the reactor sees it
    const c = await accepted;
    peer.destroy();
    expect(c.ok).toBe(true);
    expect(rt.beat).toBeGreaterThan(idle);
    expect(text(rt, `/rt/async/io_req/${acc}/state`)).toBe('ist:ok');
    expect(Number(text(rt, `/rt/async/io_req/${acc}/done_bt`))).toBeGreaterThanOrEqual(idle);
  });

  it('a failing write is a failed request and a persist.async fact', async () => {
    io.channel('full', { target: '/dev/full' });
    const open = io.request('full', (r) => r.open('/dev/full', 'w'));
    await beatAfter(rt, open);
    const fd = Number(text(rt, `/rt/async/io_req/${open}/progress`));
    const w = io.request('full', (r) => r.writeSync(fd, new Uint8Array(4096)));
    await beatAfter(rt, w);
    expect(text(rt, `/rt/async/io_req/${w}/state`)).toBe('ist:fail');
    expect(text(rt, `/rt/async/io_req/${w}/errno`)).toBe('ENOSPC');
    const fact = ceiFacts(rt).find((f) => f.topic === 'persist.async');
    expect(fact).toMatchObject({ sev: 'sev:warn', origin: 'op/io', subject: `/rt/async/io_req/${w}`, beat: rt.beat - 1 });
    expect(fact!.note).toContain('ENOSPC');
  });

  it('requests past their beat or wall-clock deadline time out into op/tmo', async () => {
    io.channel('net', { target: '127.0.0.1' });
    const l = io.request('net', (r) => r.listen({ host: '127.0.0.1', port: 0 }));
    await beatAfter(rt, l);
    const srv = Number(text(rt, `/rt/async/io_req/${l}/progress`));
    const a = io.request('net', (r) => r.accept(srv), { beatBudget: 2 });
    const b = io.request('net', (r) => r.accept(srv), { deadlineNs: 5_000_000 });
    const got: string[] = [];
    io.watch(a, (sig, _c, req) => got.push(`${sig}:${req}`));
    time.now = 4_000_000n;
    const start = rt.step(); // both recorded at `start`
    expect(text(rt, `/rt/async/io_req/${b}/state`)).toBe('ist:run');
    time.now = 6_000_000n;
    rt.step();
    expect(text(rt, `/rt/async/io_req/${b}/state`)).toBe('sts:cnl');
    expect(text(rt, `/rt/async/io_req/${b}/errno`)).toBe('ETIMEDOUT');
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('ist:run');
    expect(rt.step()).toBe(start + 2);
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('ist:run');
    expect(rt.step()).toBe(start + 3); // past start + 2
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('sts:cnl');
    expect(text(rt, `/rt/async/io_req/${a}/signal`)).toBe('op/tmo');
    expect(got).toEqual([`op/tmo:${a}`]);
    expect(text(rt, '/rt/analytics/async/reactor:io/timeouts')).toBe('2');
    expect(
      ceiFacts(rt)
        .filter((f) => f.topic === 'persist.async.tmo')
        .map((f) => f.subject),
    ).toEqual([`/rt/async/io_req/${b}`, `/rt/async/io_req/${a}`]);
    // The accepts are still parked in the reactor; their late cancellation is counted, not applied.
    await rt.reactor!.close();
    rt.step();
    expect(io.late).toBe(2);
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('sts:cnl');
  });

  it('shutdown quiesces with a beat deadline and cancels what is left in order', async () => {
    io.channel('net', { target: '127.0.0.1' });
    const l = io.request('net', (r) => r.listen({ host: '127.0.0.1', port: 0 }));
    await beatAfter(rt, l);
    const srv = Number(text(rt, `/rt/async/io_req/${l}/progress`));
    const waits = [io.request('net', (r) => r.accept(srv)), io.request('net', (r) => r.accept(srv))];
    const deadline = rt.beat + 1;
    io.quiesce('shutdn', deadline);
    rt.step();
    expect(text(rt, '/rt/async/io_reactor/shutdn')).toBe('1');
    expect(text(rt, '/rt/async/io_reactor/draining')).toBe('1');
    expect(rt.step()).toBe(deadline);
    expect(io.open).toBe(2); // still inside the deadline
    rt.step();
    expect(io.open).toBe(0);
    for (const w of waits) {
      expect(text(rt, `/rt/async/io_req/${w}/state`)).toBe('sts:cnl');
      expect(text(rt, `/rt/async/io_req/${w}/errno`)).toBe('ECANCELED');
    }
    const cancelled = ceiFacts(rt).filter((f) => f.topic === 'persist.async' && f.note.includes('cancelled'));
    expect(cancelled.map((f) => f.subject)).toEqual(waits.map((w) => `/rt/async/io_req/${w}`));
  });

  it('a replay reproduces the io_req cells and beat digests without touching the disk', async () => {
    const path = join(tmp.dir, 'replayed');
    io.channel('file', { target: path, caps: ['write', 'sync', 'read'] });
    io.channel('full', { target: '/dev/full' });
    const open = io.request('file', (r) => r.open(path, 'w+'), { opcode: 'op:open' });
    const full = io.request('full', (r) => r.open('/dev/full', 'w'));
    await beatAfter(rt, open, full);
    const fd = Number(text(rt, `/rt/async/io_req/${open}/progress`));
    const fullFd = Number(text(rt, `/rt/async/io_req/${full}/progress`));
    const seqs = [
      io.request('file', (r) => r.writeSync(fd, [enc.encode('hello '), enc.encode('world')], { position: 0 }), { expectBytes: 11 }),
      io.request('full', (r) => r.writeSync(fullFd, new Uint8Array(4096))),
      io.request('file', (r) => r.nop(), { beatBudget: 0 }),
    ];
    time.now += 1_000n;
    await beatAfter(rt, ...seqs);
    const rd = io.request('file', (r) => r.read(fd, new Uint8Array(64), 0));
    time.now += 1_000n;
    await beatAfter(rt, rd);
    rt.step(); // an empty beat
    const last = rt.beat - 1;
    expect(text(rt, `/rt/async/io_req/${rd}/progress`)).toBe('11');
    const digests = Array.from({ length: last }, (_, i) => rt.digest(i + 1)!);
    const reqs = rt
      .find('/rt/async/io_req')!
      .children()
      .map((c) => c.name.toString());
    const snapshot = (r: Runtime): string[] =>
      reqs.flatMap((q) =>
        r
          .find(`/rt/async/io_req/${q}`)!
          .children()
          .map((c) => `${q}/${c.name.toString()}=${c.text}`),
      );
    const want = snapshot(rt);
    const recording = rt.recording();
    tmp.cleanup(); // the file is gone: a replay that touched the disk would fail
    const replay = createRuntime({ replay: recording, reactor: backend });
    try {
      for (let b = 1; b <= last; b++) {
        expect(replay.step()).toBe(b);
        expect(Buffer.from(replay.digest(b)!).toString('hex')).toBe(Buffer.from(digests[b - 1]).toString('hex'));
      }
      expect(snapshot(replay)).toEqual(want);
      expect(text(replay, '/rt/analytics/async/reactor:io/jobs_total')).toBe(text(rt, '/rt/analytics/async/reactor:io/jobs_total'));
      expect(ceiFacts(replay).map((f) => f.topic)).toEqual(ceiFacts(rt).map((f) => f.topic));
      expect(replay.reactor!.pending).toBe(0); // nothing was submitted
    } finally {
      await replay.reactor!.close();
    }
  });
});

describe.each(['native', 'ts'] as const)('executor and worker pool results in the fabric (%s executor)', (mode) => {
  it('records jobs at Compute in submission order, and a replay reproduces them', async () => {
    const time = manualClock();
    const rt = createRuntime({ reactor: 'portable', clock: time.clock });
    const exec = createExecutor({ threads: 2, native: mode === 'native' && nativeInfo().backend === 'native' });
    const pool = createWorkerPool({ module: new URL('../../async/fixtures/tasks.mjs', import.meta.url), functions: ['echo', 'sum'], threads: 1 });
    try {
      await pool.ready();
      rt.io!.attach('exec', exec);
      rt.io!.attach('js', pool);
      expect(() => rt.io!.attach('exec', exec)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => rt.io!.job('nope', () => 0)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
      // A large hash first, tiny jobs after it: the tiny ones finish first but enter after it.
      const big = new Uint8Array(4 << 20).fill(3);
      const inputs = [big, ...Array.from({ length: 20 }, (_, i) => new Uint8Array(i * 10).fill(i))];
      const tickets = inputs.map((b, i) => rt.io!.job<Executor>('exec', (e) => e.submit(i % 2 ? 'crc32c' : 'blake3', b), { opcode: 'hash' }));
      const packMe = enc.encode('deflate me, '.repeat(50));
      tickets.push(rt.io!.job<Executor>('exec', (e) => e.submit('deflate', packMe, { level: 9 }), { opcode: 'deflate' }));
      const echo = enc.encode('through a worker');
      const jsTicket = rt.io!.job<WorkerPool>('js', (p) => p.submit('echo', echo));
      const doneAll = new Promise<void>((res) => {
        const off = rt.onCommit(() => {
          const all = [...tickets.map((t) => `/rt/async/jobs/exec/${t}`), `/rt/async/jobs/js/${jsTicket}`];
          if (all.every((p) => text(rt, `${p}/state`) === 'ist:ok')) off(), res();
        });
      });
      rt.start({ intervalMs: 0 }); // driven: sources wake it as results arrive
      await doneAll;
      rt.stop();
      const doneBt = tickets.map((t) => Number(text(rt, `/rt/async/jobs/exec/${t}/done_bt`)));
      expect(doneBt).toEqual([...doneBt].sort((a, b) => a - b)); // never a later ticket before an earlier one
      expect(text(rt, `/rt/async/jobs/exec/${tickets[0]}/output`)).toBe(Buffer.from(blake3(big)).toString('hex'));
      expect(text(rt, `/rt/async/jobs/exec/${tickets[1]}/value`)).toBe(String(crc32c(inputs[1])));
      expect(text(rt, `/rt/async/jobs/exec/${tickets[0]}/opcode`)).toBe('hash');
      expect(text(rt, `/rt/async/jobs/exec/${tickets.at(-1)}/output`)).toBe(deflateSync(packMe, { level: 9 }).toString('hex'));
      expect(text(rt, `/rt/async/jobs/js/${jsTicket}/output`)).toBe(Buffer.from(echo).toString('hex'));
      expect(text(rt, '/rt/analytics/async/reactor:io/jobs_total')).toBe(String(tickets.length + 1));
      const last = rt.beat - 1;
      const replay = createRuntime({ replay: rt.recording(), reactor: 'portable' });
      try {
        for (let b = 1; b <= last; b++) {
          replay.step();
          expect(Buffer.from(replay.digest(b)!).toString('hex')).toBe(Buffer.from(rt.digest(b)!).toString('hex'));
        }
        expect(text(replay, `/rt/async/jobs/exec/${tickets[0]}/output`)).toBe(text(rt, `/rt/async/jobs/exec/${tickets[0]}/output`));
        expect(text(replay, `/rt/async/jobs/exec/${tickets.at(-1)}/output`)).toBe(text(rt, `/rt/async/jobs/exec/${tickets.at(-1)}/output`));
      } finally {
        await replay.reactor!.close();
      }
    } finally {
      rt.stop();
      await exec.close();
      await pool.close();
      await rt.reactor!.close();
    }
  }, 20_000);
});
