/**
 * The portable reactor: the same ops and completion batches as the native reactors, on
 * Node's own fs (the libuv thread pool) and net. Files are real fds; sockets and servers get
 * handles from 2^30 up. Faults are injected per step class exactly as natively.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { CoreBatch, ReactorCore } from '../native/core.js';
import {
  COMPLETION_EOF,
  DESC_WIDTH,
  FAMILY_UNIX,
  OP_ACCEPT,
  OP_CLOSE,
  OP_CONNECT,
  OP_FSYNC,
  OP_LISTEN,
  OP_NOP,
  OP_OPEN,
  OP_READ,
  OP_RECV_FRAME,
  OP_SEND_FRAME,
  OP_WRITE,
  OP_WRITE_SYNC,
  STEPS,
  errnoNumber,
} from '../native/ops.js';

const SOCKET_BASE = 2 ** 30;
const ECANCELED = errnoNumber('ECANCELED')!;
const ECONNRESET = errnoNumber('ECONNRESET')!;
const EMSGSIZE = errnoNumber('EMSGSIZE')!;
const EBADF = errnoNumber('EBADF')!;
const EINVAL = errnoNumber('EINVAL')!;
const EIO = errnoNumber('EIO')!;
const READ_HIGH_WATER = 1 << 20;

interface Waiter {
  seq: number;
  done: (result: number, flags?: number, data?: Uint8Array) => void;
  max: number;
}

interface ServerEntry {
  kind: 'server';
  server: net.Server;
  backlog: net.Socket[];
  accepts: Waiter[];
}

interface SocketEntry {
  kind: 'socket';
  socket: net.Socket;
  chunks: Buffer[];
  buffered: number;
  ended: boolean;
  error: number;
  readers: Waiter[];
}

/** -errno from a Node error (libuv errnos are negative on Linux). */
function errnoOf(e: unknown): number {
  const n = (e as NodeJS.ErrnoException)?.errno;
  if (typeof n === 'number' && n !== 0) return -Math.abs(n);
  const code = (e as NodeJS.ErrnoException)?.code;
  const byName = code ? errnoNumber(code) : undefined;
  return byName ? -byName : -EIO;
}

export class PortableReactor implements ReactorCore {
  readonly #wake: () => void;
  #done: number[] = [];
  #frames: (Uint8Array | undefined)[] | undefined;
  #wakeQueued = false;
  #inFlight = 0;
  #closing = false;
  #idle: (() => void) | undefined;
  #nextHandle = SOCKET_BASE;
  #handles = new Map<number, ServerEntry | SocketEntry>();
  #faults = new Map<number, [number, number]>();

  constructor(wake: () => void) {
    this.#wake = wake;
  }

  name(): string {
    return 'portable';
  }

  submit(desc: Float64Array, count: number, objects: unknown[]): void {
    for (let i = 0; i < count; i++) {
      const d = i * DESC_WIDTH;
      this.#start(desc[d], desc[d + 1], desc[d + 2], desc[d + 3], desc[d + 4], desc[d + 5], objects[i]);
    }
  }

  drain(): CoreBatch | null {
    if (this.#done.length === 0) return null;
    const out: CoreBatch = [Float64Array.from(this.#done), this.#frames];
    this.#done = [];
    this.#frames = undefined;
    this.#wakeQueued = false;
    return out;
  }

  fault(step: number, errno: number, count: number): void {
    if (errno === 0 || count <= 0) this.#faults.delete(step);
    else this.#faults.set(step, [errno, count]);
  }

  /** The fault pending for this step class: -errno, or 0. */
  #faulted(step: number): number {
    const f = this.#faults.get(step);
    if (f === undefined) return 0;
    if (--f[1] <= 0) this.#faults.delete(step);
    return -f[0];
  }

  port(handle: number): number {
    const e = this.#handles.get(handle);
    if (e === undefined) return -EBADF;
    const addr = e.kind === 'server' ? e.server.address() : e.socket.address();
    return addr !== null && typeof addr === 'object' && typeof (addr as net.AddressInfo).port === 'number' ? (addr as net.AddressInfo).port : 0;
  }

  close(): Promise<void> {
    this.#closing = true;
    for (const e of this.#handles.values()) {
      const waiters = e.kind === 'server' ? e.accepts.splice(0) : e.readers.splice(0);
      for (const w of waiters) w.done(-ECANCELED);
    }
    for (const e of this.#handles.values()) {
      if (e.kind === 'server') e.server.close();
      else e.socket.destroy();
    }
    this.#handles.clear();
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }

  #complete(seq: number, result: number, flags = 0, data?: Uint8Array): void {
    this.#inFlight--;
    if (data !== undefined) {
      this.#frames ??= [];
      this.#frames[this.#done.length / 3] = data;
    }
    this.#done.push(seq, result, flags);
    if (!this.#wakeQueued) {
      this.#wakeQueued = true;
      queueMicrotask(this.#wake);
    }
    if (this.#inFlight === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }

  #start(code: number, seq: number, fd: number, offset: number, arg: number, arg2: number, obj: unknown): void {
    this.#inFlight++;
    const done = (result: number, flags = 0, data?: Uint8Array) => this.#complete(seq, result, flags, data);
    const position = offset < 0 ? null : offset;
    const fail = (step: number): boolean => {
      const f = this.#faulted(step);
      if (f !== 0) queueMicrotask(() => done(f));
      return f !== 0;
    };
    const byCallback = (err: NodeJS.ErrnoException | null, value?: number) => done(err ? errnoOf(err) : (value ?? 0));
    switch (code) {
      case OP_NOP:
        queueMicrotask(() => done(0));
        return;
      case OP_OPEN:
        if (!fail(STEPS.open)) fs.open(obj as string, arg, arg2, byCallback);
        return;
      case OP_READ:
        if (!fail(STEPS.read)) fs.read(fd, obj as Uint8Array, 0, (obj as Uint8Array).length, position, byCallback);
        return;
      case OP_WRITE:
      case OP_WRITE_SYNC: {
        const bufs = Array.isArray(obj) ? (obj as Uint8Array[]) : [obj as Uint8Array];
        this.#writeAll(fd, bufs, position, (res) => {
          if (res < 0 || code === OP_WRITE) return done(res);
          if (fail(STEPS.fsync)) return;
          const sync = arg & 1 ? fs.fdatasync : fs.fsync;
          sync(fd, (err) => done(err ? errnoOf(err) : res));
        });
        return;
      }
      case OP_FSYNC:
        if (!fail(STEPS.fsync)) (arg & 1 ? fs.fdatasync : fs.fsync)(fd, (err) => byCallback(err, 0));
        return;
      case OP_CLOSE:
        if (fail(STEPS.close)) return;
        if (fd >= SOCKET_BASE) return done(this.#closeHandle(fd));
        fs.close(fd, (err) => byCallback(err, 0));
        return;
      case OP_LISTEN:
        if (!fail(STEPS.listen)) this.#listen(obj as string, offset, arg, arg2, done);
        return;
      case OP_ACCEPT:
        if (!fail(STEPS.accept)) this.#accept(fd, seq, done);
        return;
      case OP_CONNECT:
        if (!fail(STEPS.connect)) this.#connect(obj as string, offset, arg2, done);
        return;
      case OP_SEND_FRAME:
        if (!fail(STEPS.send)) this.#send(fd, obj as Uint8Array, done);
        return;
      case OP_RECV_FRAME:
        if (!fail(STEPS.recv)) this.#recv(fd, seq, arg, done);
        return;
      default:
        queueMicrotask(() => done(-EINVAL));
    }
  }

  // Vectored write of every byte (short writes continue where they stopped).
  #writeAll(fd: number, bufs: Uint8Array[], position: number | null, cb: (res: number) => void): void {
    const total = bufs.reduce((n, b) => n + b.length, 0);
    let written = 0;
    const step = () => {
      if (written === total) return cb(total);
      const f = this.#faulted(STEPS.write);
      if (f !== 0) return cb(f);
      let skip = written;
      const rest: Uint8Array[] = [];
      for (const b of bufs) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(skip ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      fs.writev(fd, rest as NodeJS.ArrayBufferView[], position === null ? null : position + written, (err, n) => {
        if (err) return cb(errnoOf(err));
        if (n === 0) return cb(-EIO);
        written += n;
        step();
      });
    };
    step();
  }

  #closeHandle(handle: number): number {
    const e = this.#handles.get(handle);
    if (e === undefined) return -EBADF;
    this.#handles.delete(handle);
    if (e.kind === 'server') {
      for (const w of e.accepts.splice(0)) w.done(-ECANCELED);
      for (const s of e.backlog.splice(0)) s.destroy();
      e.server.close();
    } else {
      for (const w of e.readers.splice(0)) w.done(-ECANCELED);
      e.socket.destroy();
    }
    return 0;
  }

  #listen(where: string, port: number, backlog: number, family: number, done: Waiter['done']): void {
    const entry: ServerEntry = { kind: 'server', server: net.createServer({ noDelay: true }), backlog: [], accepts: [] };
    entry.server.on('connection', (s) => {
      const w = entry.accepts.shift();
      if (w) w.done(this.#adopt(s));
      else entry.backlog.push(s);
    });
    entry.server.once('error', (e) => done(errnoOf(e)));
    const opts = family === FAMILY_UNIX ? { path: where, backlog: backlog || 511 } : { host: where, port: Math.max(0, port), backlog: backlog || 511 };
    entry.server.listen(opts, () => {
      const h = this.#nextHandle++;
      this.#handles.set(h, entry);
      done(h);
    });
  }

  #accept(handle: number, seq: number, done: Waiter['done']): void {
    const e = this.#handles.get(handle);
    if (e === undefined || e.kind !== 'server') return queueMicrotask(() => done(-EBADF));
    if (this.#closing) return queueMicrotask(() => done(-ECANCELED));
    const s = e.backlog.shift();
    if (s) queueMicrotask(() => done(this.#adopt(s)));
    else e.accepts.push({ seq, done, max: 0 });
  }

  #connect(where: string, port: number, family: number, done: Waiter['done']): void {
    if (this.#closing) return queueMicrotask(() => done(-ECANCELED));
    const s = family === FAMILY_UNIX ? net.connect({ path: where }) : net.connect({ host: where, port, noDelay: true });
    const onError = (e: Error) => done(errnoOf(e));
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      done(this.#adopt(s));
    });
  }

  #adopt(socket: net.Socket): number {
    const entry: SocketEntry = { kind: 'socket', socket, chunks: [], buffered: 0, ended: false, error: 0, readers: [] };
    const h = this.#nextHandle++;
    this.#handles.set(h, entry);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      entry.chunks.push(chunk);
      entry.buffered += chunk.length;
      this.#serve(entry);
      if (entry.buffered > READ_HIGH_WATER && entry.readers.length === 0) socket.pause();
    });
    socket.on('end', () => {
      entry.ended = true;
      this.#serve(entry);
    });
    socket.on('error', (e) => {
      entry.error = errnoOf(e);
      this.#serve(entry);
    });
    socket.on('close', () => {
      entry.ended = true;
      this.#serve(entry);
    });
    return h;
  }

  #send(handle: number, body: Uint8Array, done: Waiter['done']): void {
    const e = this.#handles.get(handle);
    if (e === undefined || e.kind !== 'socket' || e.socket.destroyed) return queueMicrotask(() => done(-EBADF));
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(body.length, 0);
    e.socket.cork();
    e.socket.write(header);
    e.socket.write(body, (err) => done(err ? errnoOf(err) : body.length));
    e.socket.uncork();
  }

  #recv(handle: number, seq: number, max: number, done: Waiter['done']): void {
    const e = this.#handles.get(handle);
    if (e === undefined || e.kind !== 'socket') return queueMicrotask(() => done(-EBADF));
    if (this.#closing) return queueMicrotask(() => done(-ECANCELED));
    e.readers.push({ seq, done, max });
    queueMicrotask(() => this.#serve(e));
  }

  // Hands complete frames to waiting readers in order; EOF, resets and errors end them.
  #serve(e: SocketEntry): void {
    while (e.readers.length > 0) {
      const w = e.readers[0];
      if (e.buffered >= 4) {
        const head = this.#peek(e, 4);
        const len = head.readUInt32BE(0);
        if (len > w.max) {
          e.readers.shift();
          w.done(-EMSGSIZE);
          continue;
        }
        if (e.buffered >= 4 + len) {
          e.readers.shift();
          this.#take(e, 4);
          const body = this.#take(e, len);
          w.done(len, 0, len > 0 ? body : undefined);
          continue;
        }
      }
      if (e.error) {
        e.readers.shift();
        w.done(e.error);
        continue;
      }
      if (e.ended) {
        e.readers.shift();
        w.done(e.buffered === 0 ? 0 : -ECONNRESET, e.buffered === 0 ? COMPLETION_EOF : 0);
        continue;
      }
      break;
    }
    // Paused above the high-water mark, unless a reader waits for a frame larger than that
    // (bounded by its maxBytes).
    if (e.socket.isPaused() && (e.buffered <= READ_HIGH_WATER || e.readers.length > 0)) e.socket.resume();
  }

  #peek(e: SocketEntry, n: number): Buffer {
    if (e.chunks[0].length >= n) return e.chunks[0];
    e.chunks = [Buffer.concat(e.chunks)];
    return e.chunks[0];
  }

  #take(e: SocketEntry, n: number): Buffer {
    const head = this.#peek(e, n);
    const out = Buffer.from(head.subarray(0, n));
    if (head.length === n) e.chunks.shift();
    else e.chunks[0] = head.subarray(n);
    e.buffered -= n;
    return out;
  }
}
