import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReactor, type Reactor } from '../../src/async/reactor.js';
import { availableBackends, type ReactorBackend } from '../../src/async/select.js';
import { finished, ok, one, readyWhen, settle, tempDir } from './helpers.js';

const enc = new TextEncoder();
const backends = availableBackends();

it('lists the portable backend everywhere and the kernel ones with the addon', () => {
  expect(backends).toContain('portable');
  if (process.env.CEP_NATIVE === '0') expect(backends).toEqual(['portable']);
  else expect(backends).toContain('epoll');
});

// Native backends run the suite twice: frame ops inline on the JS thread when they need no
// wait (the default), and every op on the reactor thread.
type Mode = { backend: ReactorBackend; inline: boolean };
const modes = backends.flatMap((backend): Mode[] =>
  backend === 'portable'
    ? [{ backend, inline: true }]
    : [
        { backend, inline: true },
        { backend, inline: false },
      ],
);

describe.each(modes)('reactor on $backend (inline $inline)', ({ backend, inline }) => {
  let r: Reactor;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    r = createReactor({ backend, inline });
    tmp = tempDir();
  });
  afterEach(async () => {
    await r.close();
    tmp.cleanup();
  });

  it('names its backend', () => {
    expect(r.backend).toBe(backend);
    expect(r.reason).toMatch(/requested/);
  });

  it('opens, writes vectored, syncs, reads back at positions, closes', async () => {
    const path = join(tmp.dir, 'a.bin');
    const fd = (await ok(r, r.open(path, 'w+'))).result;
    const w = await ok(r, r.write(fd, [enc.encode('hello '), enc.encode('world'), new Uint8Array(0)]));
    expect(w.result).toBe(11);
    const ws = await ok(r, r.writeSync(fd, enc.encode('!!'), { position: 11 }));
    expect(ws.result).toBe(2);
    await ok(r, r.fsync(fd, { datasync: false }));
    const buf = new Uint8Array(5);
    const rd = await ok(r, r.read(fd, buf, 6));
    expect(rd.result).toBe(5);
    expect(Buffer.from(buf).toString()).toBe('world');
    await ok(r, r.closeHandle(fd));
    expect(readFileSync(path, 'utf8')).toBe('hello world!!');
  });

  it('appends with O_APPEND in submission order within one batch', async () => {
    const path = join(tmp.dir, 'log');
    const fd = (await ok(r, r.open(path, 'a'))).result;
    // One write at a time: the order of concurrent appends is the kernel's, not ours.
    for (let i = 0; i < 20; i++) await ok(r, r.writeSync(fd, enc.encode(`line ${i}\n`)));
    await ok(r, r.closeHandle(fd));
    expect(readFileSync(path, 'utf8')).toBe(Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''));
  });

  it('writes large vectored buffers completely (short writes continue)', async () => {
    const path = join(tmp.dir, 'big');
    const parts = Array.from({ length: 100 }, (_, i) => new Uint8Array(40_000).fill(i));
    const fd = (await ok(r, r.open(path, 'w'))).result;
    expect((await ok(r, r.writeSync(fd, parts))).result).toBe(4_000_000);
    await ok(r, r.closeHandle(fd));
    const back = readFileSync(path);
    expect(back.length).toBe(4_000_000);
    for (let i = 0; i < 100; i++) expect(back[i * 40_000 + 39_999]).toBe(i);
    // More pieces than one writev takes (IOV_MAX 1024): several steps, in order.
    const many = Array.from({ length: 2500 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8));
    const fd2 = (await ok(r, r.open(join(tmp.dir, 'many'), 'w'))).result;
    expect((await ok(r, r.write(fd2, many, 0))).result).toBe(5000);
    await ok(r, r.closeHandle(fd2));
    const m = readFileSync(join(tmp.dir, 'many'));
    for (let i = 0; i < 2500; i += 97) expect([m[2 * i], m[2 * i + 1]]).toEqual([i & 0xff, i >> 8]);
  });

  it('reports errors as failed completions with an errno', async () => {
    const c = await one(r, r.open(join(tmp.dir, 'missing', 'x'), 'r'));
    expect(c).toMatchObject({ ok: false, errno: 'ENOENT', op: 'open' });
    const bad = await one(r, r.read(987_654, new Uint8Array(4)));
    expect(bad).toMatchObject({ ok: false, errno: 'EBADF' });
  });

  it('a full device fails the write with ENOSPC and skips the linked sync', async () => {
    const fd = (await ok(r, r.open('/dev/full', 'w'))).result;
    const c = await one(r, r.writeSync(fd, new Uint8Array(4096)));
    expect(c).toMatchObject({ ok: false, errno: 'ENOSPC', op: 'writeSync' });
    await ok(r, r.closeHandle(fd));
  });

  it('injected faults fail exactly the next steps of their class', async () => {
    const path = join(tmp.dir, 'f');
    const fd = (await ok(r, r.open(path, 'w'))).result;
    r.injectFault('fsync', 'EIO', 1);
    const a = await one(r, r.writeSync(fd, enc.encode('abc')));
    expect(a).toMatchObject({ ok: false, errno: 'EIO' });
    expect((await ok(r, r.writeSync(fd, enc.encode('def')))).result).toBe(3);
    r.injectFault('write', 'ENOSPC', 2);
    expect((await one(r, r.write(fd, enc.encode('x')))).errno).toBe('ENOSPC');
    expect((await one(r, r.write(fd, enc.encode('y')))).errno).toBe('ENOSPC');
    expect((await ok(r, r.write(fd, enc.encode('z')))).result).toBe(1);
    r.injectFault('open', 'EMFILE', 5);
    r.injectFault('open', null);
    await ok(r, r.closeHandle(fd));
    expect(readFileSync(path, 'utf8')).toBe('abcdefz');
    expect(() => r.injectFault('nope' as 'open', 'EIO')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => r.injectFault('open', 'ENOTANERRNO')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('drains in submission order whatever order work finished in', async () => {
    const srv = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
    const port = r.port(srv);
    const acc = r.accept(srv);
    const nops = Array.from({ length: 50 }, () => r.nop());
    const con = r.connect({ host: '127.0.0.1', port });
    const all = await settle(r, acc, con, ...nops);
    expect(all.size).toBe(52);
    // Everything drained together comes out sorted by seq.
    const s1 = r.nop();
    const s2 = r.nop();
    await settle(r, s1, s2);
    const seqs = [r.nop(), r.nop(), r.nop()];
    await readyWhen(r, () => r.ready >= 3); // all three wait in the gate: one drain takes them
    expect(r.drain().map((c) => c.seq)).toEqual(seqs);
    await ok(r, r.closeHandle(all.get(acc)!.result));
    await ok(r, r.closeHandle(all.get(con)!.result));
    await ok(r, r.closeHandle(srv));
  });

  it('bounds the submission queue with a clear error and no partial state', async () => {
    const small = createReactor({ backend, depth: 4 });
    const seqs = [small.nop(), small.nop(), small.nop(), small.nop()];
    expect(() => small.nop()).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    expect(small.pending).toBe(4);
    await settle(small, ...seqs);
    expect(small.pending).toBe(0);
    await ok(small, small.nop());
    await small.close();
    expect(() => small.nop()).toThrow(expect.objectContaining({ code: 'ERR_REACTOR_CLOSED' }));
  });

  it('refuses bad arguments with coded errors', () => {
    expect(() => r.read(-1, new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => r.read(3, 'x' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => r.write(3, [])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => r.open('/tmp/x', 'q')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => r.read(3, new Uint8Array(1), -5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => r.connect({ host: '127.0.0.1', port: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => r.recvFrame(3, { maxBytes: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(r.pending).toBe(0);
  });

  for (const family of ['tcp', 'unix'] as const) {
    it(`exchanges length-prefixed frames over ${family}`, async () => {
      const addr = family === 'tcp' ? { host: '127.0.0.1', port: 0 } : { path: join(tmp.dir, 's.sock') };
      const srv = (await ok(r, r.listen(addr))).result;
      const target = family === 'tcp' ? { host: '127.0.0.1', port: r.port(srv) } : addr;
      if (family === 'tcp') expect(r.port(srv)).toBeGreaterThan(0);
      const acc = r.accept(srv);
      const con = r.connect(target);
      const both = await settle(r, acc, con);
      const a = both.get(acc)!.result;
      const b = both.get(con)!.result;
      const frames = [enc.encode('one'), new Uint8Array(0), new Uint8Array(1 << 20).fill(7), new Uint8Array(3 << 20).fill(9), enc.encode('last')];
      const sends = frames.map((f) => r.sendFrame(b, f));
      const recvs = frames.map(() => r.recvFrame(a));
      const got = await settle(r, ...sends, ...recvs);
      sends.forEach((s, i) => expect(got.get(s)).toMatchObject({ ok: true, result: frames[i].length }));
      recvs.forEach((s, i) => expect(Buffer.from(got.get(s)!.data!).equals(Buffer.from(frames[i]))).toBe(true));
      // Reply the other way, then a clean close reads as EOF.
      const reply = await settle(r, r.sendFrame(a, enc.encode('pong')), r.recvFrame(b));
      expect(Buffer.from([...reply.values()][1].data!).toString()).toBe('pong');
      await ok(r, r.closeHandle(b));
      const end = await one(r, r.recvFrame(a));
      expect(end).toMatchObject({ ok: true, eof: true, result: 0 });
      await ok(r, r.closeHandle(a));
      await ok(r, r.closeHandle(srv));
    });
  }

  /** A connection from a Node `net` peer to a reactor listener: the reactor's handle and the peer. */
  async function netPeer(): Promise<{ srv: number; a: number; peer: net.Socket }> {
    const srv = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
    const acc = r.accept(srv);
    const peer = net.connect({ host: '127.0.0.1', port: r.port(srv) });
    peer.on('error', () => {});
    await new Promise((res) => peer.once('connect', res));
    return { srv, a: (await ok(r, acc)).result, peer };
  }

  const framed = (body: Uint8Array): Buffer => Buffer.concat([Buffer.from([body.length >>> 24, (body.length >>> 16) & 255, (body.length >>> 8) & 255, body.length & 255]), body]);

  it('parses many frames from one read and frames split across reads, in order', async () => {
    const { srv, a, peer } = await netPeer();
    const bodies = Array.from({ length: 300 }, (_, i) => new Uint8Array(i % 7 === 0 ? 0 : (i * 37) % 500).fill(i & 255));
    bodies.push(new Uint8Array(200_000).fill(5)); // larger than one receive chunk
    const wire = Buffer.concat(bodies.map(framed));
    peer.write(wire.subarray(0, wire.length - 100_003)); // many frames at once, the last one cut
    const recvs = bodies.map(() => r.recvFrame(a));
    await finished(r, ...recvs.slice(0, -1)); // every whole frame of the first write is in; the last one waits for the rest
    peer.write(wire.subarray(wire.length - 100_003));
    const got = await settle(r, ...recvs);
    recvs.forEach((s, i) => {
      expect(got.get(s)).toMatchObject({ ok: true, result: bodies[i].length });
      if (bodies[i].length > 0) expect(Buffer.from(got.get(s)!.data!).equals(Buffer.from(bodies[i]))).toBe(true);
    });
    peer.destroy();
    await ok(r, r.closeHandle(a));
    await ok(r, r.closeHandle(srv));
  });

  it('frames queued together go out intact and in order (more than one sendmsg holds)', async () => {
    const { srv, a, peer } = await netPeer();
    const bodies = Array.from({ length: 600 }, (_, i) => new Uint8Array((i * 13) % 300).fill(i & 255));
    const want = Buffer.concat(bodies.map(framed));
    const chunks: Buffer[] = [];
    let have = 0;
    const all = new Promise<void>((res) =>
      peer.on('data', (d: Buffer) => {
        chunks.push(d);
        if ((have += d.length) >= want.length) res();
      }),
    );
    const sends = bodies.map((b) => r.sendFrame(a, b));
    const got = await settle(r, ...sends);
    sends.forEach((s, i) => expect(got.get(s)).toMatchObject({ ok: true, result: bodies[i].length }));
    await all;
    expect(Buffer.concat(chunks).equals(want)).toBe(true);
    peer.destroy();
    await ok(r, r.closeHandle(a));
    await ok(r, r.closeHandle(srv));
  });

  it('sends joined into one sendmsg to a peer that left: each ends, none hangs, the first failure stops the rest', async () => {
    const { srv, a, peer } = await netPeer();
    peer.destroy();
    // the peer's leaving has reached this socket: a receive on it ends
    const gone = await one(r, r.recvFrame(a));
    expect(gone.eof === true || !gone.ok).toBe(true);
    const sends = Array.from({ length: 300 }, () => r.sendFrame(a, new Uint8Array(16 * 1024).fill(1)));
    const got = await settle(r, ...sends);
    const oks = sends.map((s) => got.get(s)!.ok);
    const firstFail = oks.indexOf(false);
    expect(firstFail).toBeGreaterThanOrEqual(0); // 4.8 MB cannot all go to a closed peer
    expect(oks.slice(firstFail).every((ok) => !ok)).toBe(true);
    // EBADF: the portable backend's socket is already destroyed when the peer's reset lands.
    for (const s of sends.slice(firstFail)) expect(['EPIPE', 'ECONNRESET', 'ECANCELED', 'EBADF']).toContain(got.get(s)!.errno);
    await ok(r, r.closeHandle(a));
    await ok(r, r.closeHandle(srv));
  });

  it('a close racing a receive in flight ends it and leaves no bytes behind for the next socket', async () => {
    const first = await netPeer();
    first.peer.write(Buffer.from([0, 0, 0, 50, 1, 2, 3])); // half a frame sits in the buffer
    const recv = r.recvFrame(first.a);
    // The receive is in the kernel, waiting for more: nothing shows that, so give it a moment; on
    // a slow machine the close may come first, which still must end the receive the same way.
    await new Promise((res) => setTimeout(res, 20));
    const close = r.closeHandle(first.a);
    const ended = await settle(r, recv, close);
    expect(ended.get(recv)!.ok).toBe(false);
    expect(['ECANCELED', 'EBADF', 'ECONNRESET']).toContain(ended.get(recv)!.errno);
    expect(ended.get(close)!.ok).toBe(true);
    first.peer.end(Buffer.alloc(47, 9)); // the rest arrives for nobody
    // A new connection (often on the same descriptor number) starts with an empty buffer.
    const acc = r.accept(first.srv);
    const peer = net.connect({ host: '127.0.0.1', port: r.port(first.srv) });
    peer.on('error', () => {});
    const a = (await ok(r, acc)).result;
    peer.write(framed(enc.encode('fresh')));
    const c = await ok(r, r.recvFrame(a));
    expect(Buffer.from(c.data!).toString()).toBe('fresh');
    peer.destroy();
    await ok(r, r.closeHandle(a));
    await ok(r, r.closeHandle(first.srv));
  });

  it('a peer that disconnects mid-frame fails the receive with ECONNRESET', async () => {
    const srv = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
    const acc = r.accept(srv);
    const peer = net.connect({ host: '127.0.0.1', port: r.port(srv) });
    const connected = new Promise((res) => peer.once('connect', res));
    const a = (await ok(r, acc)).result;
    await connected;
    peer.end(Buffer.from([0, 0, 0, 10, 1, 2, 3])); // header says 10 bytes, 3 arrive
    const c = await one(r, r.recvFrame(a));
    expect(c).toMatchObject({ ok: false, errno: 'ECONNRESET' });
    await ok(r, r.closeHandle(a));
    await ok(r, r.closeHandle(srv));
  });

  it('parks several accepts on one listener and serves each connection', async () => {
    const srv = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
    const port = r.port(srv);
    const accepts = [r.accept(srv), r.accept(srv), r.accept(srv)];
    // All three parked before anyone connects: nothing shows an accept waiting in the kernel, so
    // give them a moment; on a slow machine some connect first, which they must serve all the same.
    await new Promise((res) => setTimeout(res, 10));
    const conns = accepts.map(() => r.connect({ host: '127.0.0.1', port }));
    const got = await settle(r, ...accepts, ...conns);
    const handles = [...got.values()].map((c) => c.result);
    expect([...got.values()].every((c) => c.ok)).toBe(true);
    expect(new Set(handles).size).toBe(6);
    for (const h of [...handles, srv]) await ok(r, r.closeHandle(h));
  });

  it('refuses frames above maxBytes with EMSGSIZE', async () => {
    const srv = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
    const acc = r.accept(srv);
    const con = r.connect({ host: '127.0.0.1', port: r.port(srv) });
    const both = await settle(r, acc, con);
    await ok(r, r.sendFrame(both.get(con)!.result, new Uint8Array(100)));
    expect(await one(r, r.recvFrame(both.get(acc)!.result, { maxBytes: 99 }))).toMatchObject({ ok: false, errno: 'EMSGSIZE' });
    for (const h of [both.get(acc)!.result, both.get(con)!.result, srv]) await ok(r, r.closeHandle(h));
  });

  it('connect to a closed port fails with ECONNREFUSED', async () => {
    const probe = net.createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((res) => probe.close(res));
    expect(await one(r, r.connect({ host: '127.0.0.1', port }))).toMatchObject({ ok: false, errno: 'ECONNREFUSED' });
  });

  it('close waits for work in flight and cancels peer waits', async () => {
    const srv = (await ok(r, r.listen({ host: '127.0.0.1', port: 0 }))).result;
    const acc = r.accept(srv);
    const path = join(tmp.dir, 'inflight');
    writeFileSync(path, '');
    const fd = (await ok(r, r.open(path, 'a'))).result;
    const writes = Array.from({ length: 32 }, (_, i) => r.writeSync(fd, new Uint8Array(8192).fill(i)));
    await r.close();
    expect(r.inFlight).toBe(0);
    const all = r.drain();
    const bySeq = new Map(all.map((c) => [c.seq, c]));
    expect(bySeq.get(acc)).toMatchObject({ ok: false, errno: 'ECANCELED' });
    for (const w of writes) expect(bySeq.get(w)).toMatchObject({ ok: true, result: 8192 });
    expect(readFileSync(path).length).toBe(32 * 8192);
    expect(() => r.nop()).toThrow(expect.objectContaining({ code: 'ERR_REACTOR_CLOSED' }));
  });
});
