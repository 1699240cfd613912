// The inline fast path of the native reactors: frame ops that need no wait finish on the JS
// thread as they are submitted (no hand-off to the reactor thread, no wake of the event loop);
// those that would block continue on the reactor thread, in order with what follows them.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createReactor, type IoCompletion, type Reactor } from '../../src/async/reactor.js';
import { availableBackends, type ReactorBackend } from '../../src/async/select.js';
import { ok, settle, takeN } from './helpers.js';

const native = availableBackends().filter((b) => b !== 'portable');
const reactors: Reactor[] = [];
afterEach(async () => {
  for (const r of reactors.splice(0)) await r.close();
});

function open(backend: ReactorBackend, inline = true): Reactor {
  const r = createReactor({ backend, inline, depth: 65536 });
  reactors.push(r);
  return r;
}

/** A connected pair of sockets, both ends on the reactor. */
async function pair(r: Reactor): Promise<{ server: number; client: number; listener: number }> {
  const listener = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
  const acc = r.accept(listener);
  const con = r.connect({ host: '127.0.0.1', port: r.port(listener) });
  const got = await settle(r, acc, con);
  return { server: got.get(acc)!.result, client: got.get(con)!.result, listener };
}

/** Waits for `n` completions. */
const take = (r: Reactor, n: number): Promise<IoCompletion[]> => takeN(r, n);

const body = (i: number, n: number): Uint8Array => new Uint8Array(n).map((_, k) => (i * 31 + k) & 255);

it('the portable reactor counts deliveries and nothing crosses threads', async () => {
  const r = open('portable');
  await ok(r, r.nop());
  expect(r.stats()).toMatchObject({ handoffs: 0, wakes: 0, inline: 0 });
  expect(r.stats().deliveries).toBeGreaterThan(0);
});

describe.each(native)('inline frame ops on %s', (backend) => {
  it('an echo window on loopback finishes on the JS thread: no hand-off, no wake', async () => {
    const r = open(backend);
    const { server, client } = await pair(r);
    const before = r.stats();
    const WINDOW = 64;
    for (let w = 0; w < 3; w++) {
      for (let i = 0; i < WINDOW; i++) {
        r.sendFrame(client, body(w * WINDOW + i, 64));
        r.recvFrame(server);
      }
      const got = await take(r, WINDOW * 2);
      const frames = got.filter((c) => c.op === 'recvFrame');
      frames.forEach((c, i) => expect(Buffer.from(c.data!).equals(Buffer.from(body(w * WINDOW + i, 64)))).toBe(true));
      for (const c of frames) r.sendFrame(server, c.data!);
      for (let i = 0; i < WINDOW; i++) r.recvFrame(client);
      const back = (await take(r, WINDOW * 2)).filter((c) => c.op === 'recvFrame');
      back.forEach((c, i) => expect(Buffer.from(c.data!).equals(Buffer.from(body(w * WINDOW + i, 64)))).toBe(true));
    }
    const after = r.stats();
    expect(after.inline - before.inline).toBe(3 * WINDOW * 4);
    expect(after.handoffs - before.handoffs).toBe(0);
    expect(after.wakes - before.wakes).toBe(0);
    expect(after.deliveries - before.deliveries).toBe(3 * 2); // one batch per flush
  });

  it('with inline off every frame op crosses to the reactor thread', async () => {
    const r = open(backend, false);
    const { server, client } = await pair(r);
    const before = r.stats();
    r.sendFrame(client, body(1, 64));
    r.recvFrame(server);
    const c = (await take(r, 2)).find((x) => x.op === 'recvFrame')!;
    expect(Buffer.from(c.data!).equals(Buffer.from(body(1, 64)))).toBe(true);
    const after = r.stats();
    expect(after.inline).toBe(0);
    expect(after.handoffs - before.handoffs).toBeGreaterThan(0);
    expect(after.wakes - before.wakes).toBeGreaterThan(0);
  });

  it('a receive that must wait goes to the reactor thread; receives behind it follow it there, in order', async () => {
    const r = open(backend);
    const { server, client } = await pair(r);
    const recvs = [r.recvFrame(server), r.recvFrame(server), r.recvFrame(server)];
    await Promise.resolve(); // the batch leaves: nothing to read yet
    const handed = r.stats();
    expect(handed.inline).toBe(0);
    const sends = [0, 1, 2].map((i) => r.sendFrame(client, body(i, 100 + i)));
    const got = await settle(r, ...recvs, ...sends);
    recvs.forEach((s, i) => expect(Buffer.from(got.get(s)!.data!).equals(Buffer.from(body(i, 100 + i)))).toBe(true));
    sends.forEach((s, i) => expect(got.get(s)).toMatchObject({ ok: true, result: 100 + i }));
    expect(r.stats().inline - handed.inline).toBe(3); // the sends went inline, the receives waited
    // Once their completions were taken, the socket's receive side is the JS thread's again.
    const s2 = r.sendFrame(client, body(9, 9));
    const r2 = r.recvFrame(server);
    const more = await settle(r, s2, r2);
    expect(Buffer.from(more.get(r2)!.data!).equals(Buffer.from(body(9, 9)))).toBe(true);
    expect(r.stats().inline - handed.inline).toBe(5);
  });

  it('a send the peer cannot take at once continues on the reactor thread; later sends keep their order', async () => {
    const r = open(backend);
    const { server, client } = await pair(r);
    const bodies = Array.from({ length: 120 }, (_, i) => body(i, 64 * 1024 + i));
    const sends = bodies.slice(0, 60).map((b) => r.sendFrame(client, b)); // ~4 MB: more than the socket holds
    await Promise.resolve();
    expect(r.stats().handoffs).toBeGreaterThan(0);
    sends.push(...bodies.slice(60).map((b) => r.sendFrame(client, b))); // behind the parked send
    const recvs = bodies.map(() => r.recvFrame(server));
    const got = await settle(r, ...sends, ...recvs);
    sends.forEach((s, i) => expect(got.get(s)).toMatchObject({ ok: true, result: bodies[i].length }));
    recvs.forEach((s, i) => expect(Buffer.from(got.get(s)!.data!).equals(Buffer.from(bodies[i]))).toBe(true));
  });

  it('an armed fault sends the batch to the reactor thread, where it applies', async () => {
    const r = open(backend);
    const { server, client } = await pair(r);
    const before = r.stats().inline;
    r.injectFault('send', 'EPIPE', 1);
    const failed = await settle(r, r.sendFrame(client, body(1, 10)));
    expect([...failed.values()][0]).toMatchObject({ ok: false, errno: 'EPIPE' });
    expect(r.stats().inline).toBe(before);
    // The fault is spent: the path runs inline again.
    expect(await ok(r, r.sendFrame(client, body(2, 10)))).toMatchObject({ result: 10 });
    const c = await ok(r, r.recvFrame(server));
    expect(Buffer.from(c.data!).equals(Buffer.from(body(2, 10)))).toBe(true);
    expect(r.stats().inline).toBe(before + 2);
  });

  it('inline and reactor-thread runs give the same completions for any frames and batching', async () => {
    const frame = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }) });
    const plan = fc.array(fc.array(frame, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(plan, async (batches) => {
        const outcome = async (inline: boolean): Promise<string[]> => {
          const r = open(backend, inline);
          const { server, client, listener } = await pair(r);
          const seen: string[] = [];
          let n = 0;
          for (const sizes of batches) {
            const seqs: number[] = [];
            for (const size of sizes) seqs.push(r.sendFrame(client, body(n++, size)), r.recvFrame(server));
            const got = await settle(r, ...seqs);
            for (const s of seqs) {
              const c = got.get(s)!;
              seen.push(`${c.op} ${c.ok} ${c.result} ${c.data ? Buffer.from(c.data).toString('base64') : ''}`);
            }
          }
          for (const h of [client, server, listener]) await ok(r, r.closeHandle(h));
          return seen;
        };
        expect(await outcome(true)).toEqual(await outcome(false));
      }),
      { numRuns: 12 },
    );
  });
});
