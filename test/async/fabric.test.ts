import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ceiFacts } from '../../src/async/cei.js';
import type { AsyncFabric, Signal } from '../../src/async/fabric.js';
import { CompletionGate } from '../../src/async/gate.js';
import { availableBackends } from '../../src/async/select.js';
import { createRuntime, type Runtime } from '../../src/kernel/runtime.js';
import { settle, tempDir } from './helpers.js';

const enc = new TextEncoder();

function text(rt: Runtime, path: string): string | undefined {
  return rt.find(path)?.text;
}

/** Waits for `seqs` to finish without draining, then runs one beat (capture + compute). */
async function beatAfter(rt: Runtime, ...seqs: number[]): Promise<number[]> {
  const r = rt.reactor!;
  for (;;) {
    await r.whenReady();
    // Let straggling completions of the same batch arrive.
    await new Promise((res) => setImmediate(res));
    if (r.inFlight === 0 || seqs.every((s) => !r.pendingSeq(s))) break;
  }
  const beat = rt.advance();
  return rt.io!.compute(beat).map((c) => c.seq);
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
});

describe.each(availableBackends())('op/io fabric on %s', (backend) => {
  let rt: Runtime;
  let io: AsyncFabric;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    rt = createRuntime({ reactor: backend });
    io = rt.io!;
    tmp = tempDir();
  });
  afterEach(async () => {
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

  it('records channels, flags the portable shim with tp_async_unsp', () => {
    io.channel('log', { target: '/var/log/x', caps: ['write', 'sync'] });
    expect(text(rt, '/rt/async/io_chan/log/target_path')).toBe('/var/log/x');
    expect(text(rt, '/rt/async/io_chan/log/reactor')).toBe(backend);
    expect(text(rt, '/rt/async/io_chan/log/caps')).toBe('write sync');
    expect(text(rt, '/rt/async/io_chan/log/shim')).toBe(backend === 'portable' ? '1' : '0');
    const facts = ceiFacts(rt).filter((f) => f.topic === 'tp_async_unsp');
    expect(facts.length).toBe(backend === 'portable' ? 1 : 0);
    expect(() => io.channel('log', { target: 'y' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => io.request('nope', (r) => r.nop())).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
  });

  it('completions become visible only at compute, in submission order, with watchers told', async () => {
    io.channel('file', { target: join(tmp.dir, 'f') });
    const open = io.request('file', (r) => r.open(join(tmp.dir, 'f'), 'w'), { opcode: 'op:open' });
    await beatAfter(rt, open);
    expect(text(rt, `/rt/async/io_req/${open}/state`)).toBe('ist:ok');
    const fd = Number(text(rt, `/rt/async/io_req/${open}/progress`));
    const signals: [Signal, number][] = [];
    const seqs = [
      io.request('file', (r) => r.writeSync(fd, enc.encode('hello')), { expectBytes: 5, opcode: 'op:write' }),
      ...Array.from({ length: 10 }, () => io.request('file', (r) => r.nop())),
    ];
    for (const s of seqs) io.watch(s, (sig, c) => signals.push([sig, c!.seq]));
    expect(text(rt, `/rt/async/io_req/${seqs[0]}/state`)).toBe('ist:run');
    expect(text(rt, '/rt/analytics/async/reactor:io/jobs_total')).toBe('1'); // metrics move at compute
    await settle(rt.reactor!, ...[]); // nothing drained here
    const applied = await beatAfter(rt, ...seqs);
    expect(applied).toEqual([...applied].sort((a, b) => a - b));
    expect(applied).toEqual(seqs);
    expect(signals.map((s) => s[1])).toEqual(seqs);
    expect(signals.every((s) => s[0] === 'op/cont')).toBe(true);
    expect(text(rt, `/rt/async/io_req/${seqs[0]}/progress`)).toBe('5');
    expect(text(rt, `/rt/async/io_req/${seqs[0]}/expect_bytes`)).toBe('5');
    expect(text(rt, '/rt/analytics/async/reactor:io/comp_bt')).toBe('11');
    expect(text(rt, '/rt/analytics/async/reactor:io/jobs_total')).toBe('12');
    expect(io.open).toBe(0);
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
    expect(fact).toMatchObject({ sev: 'sev:warn', origin: 'op/io', subject: `/rt/async/io_req/${w}`, beat: rt.beat });
    expect(fact!.note).toContain('ENOSPC');
  });

  it('requests past their beat or wall-clock deadline time out into op/tmo', async () => {
    io.channel('net', { target: '127.0.0.1' });
    const l = io.request('net', (r) => r.listen({ host: '127.0.0.1', port: 0 }));
    await beatAfter(rt, l);
    const srv = Number(text(rt, `/rt/async/io_req/${l}/progress`));
    const a = io.request('net', (r) => r.accept(srv), { beatBudget: 2 });
    const b = io.request('net', (r) => r.accept(srv), { deadlineNs: 5_000 });
    const got: string[] = [];
    io.watch(a, (sig, _c, req) => got.push(`${sig}:${req}`));
    const start = rt.beat;
    rt.advance();
    io.compute(rt.beat, 4_000);
    expect(text(rt, `/rt/async/io_req/${b}/state`)).toBe('ist:run');
    io.compute(rt.advance(), 6_000);
    expect(text(rt, `/rt/async/io_req/${b}/state`)).toBe('sts:cnl');
    expect(text(rt, `/rt/async/io_req/${b}/errno`)).toBe('ETIMEDOUT');
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('ist:run');
    io.compute(rt.advance()); // start + 3 > deadline start + 2
    expect(rt.beat).toBe(start + 3);
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('sts:cnl');
    expect(text(rt, `/rt/async/io_req/${a}/signal`)).toBe('op/tmo');
    expect(got).toEqual([`op/tmo:${a}`]);
    expect(text(rt, '/rt/analytics/async/reactor:io/timeouts')).toBe('2');
    expect(ceiFacts(rt).filter((f) => f.topic === 'persist.async.tmo').map((f) => f.subject)).toEqual([`/rt/async/io_req/${b}`, `/rt/async/io_req/${a}`]);
    // The accepts are still parked in the reactor; their late cancellation is counted, not applied.
    await rt.reactor!.close();
    io.compute(rt.advance());
    expect(io.late).toBe(2);
    expect(text(rt, `/rt/async/io_req/${a}/state`)).toBe('sts:cnl');
  });

  it('shutdown quiesces with a beat deadline and cancels what is left in order', async () => {
    io.channel('net', { target: '127.0.0.1' });
    const l = io.request('net', (r) => r.listen({ host: '127.0.0.1', port: 0 }));
    await beatAfter(rt, l);
    const srv = Number(text(rt, `/rt/async/io_req/${l}/progress`));
    const waits = [io.request('net', (r) => r.accept(srv)), io.request('net', (r) => r.accept(srv))];
    io.quiesce('shutdn', rt.beat + 1);
    expect(text(rt, '/rt/async/io_reactor/shutdn')).toBe('1');
    expect(text(rt, '/rt/async/io_reactor/draining')).toBe('1');
    io.compute(rt.advance());
    expect(io.open).toBe(2);
    io.compute(rt.advance());
    expect(io.open).toBe(0);
    for (const w of waits) {
      expect(text(rt, `/rt/async/io_req/${w}/state`)).toBe('sts:cnl');
      expect(text(rt, `/rt/async/io_req/${w}/errno`)).toBe('ECANCELED');
    }
    const cancelled = ceiFacts(rt).filter((f) => f.topic === 'persist.async' && f.note.includes('cancelled'));
    expect(cancelled.map((f) => f.subject)).toEqual(waits.map((w) => `/rt/async/io_req/${w}`));
  });
});
