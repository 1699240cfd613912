/**
 * The reactor: async file and socket I/O off the JS thread, on io_uring, epoll or Node's own
 * fs/net. Submitting returns a sequence number at once; the work is batched to the backend at
 * the end of the current JS turn; finished work is collected natively, handed to JS in
 * batches (waking the event loop through a thread-safe function), and waits in a gate until
 * `drain()` releases it in submission order. Nothing here reads a clock.
 */
import { constants as fsc } from 'node:fs';
import { invalidArgType, invalidArgValue, outOfRange, queueFull, reactorClosed } from '../errors.js';
import { binding } from '../native/index.js';
import type { CoreBatch, ReactorCore } from '../native/core.js';
import { Gated } from './gated.js';
import {
  COMPLETION_EOF,
  DESC_WIDTH,
  FAMILY_TCP,
  FAMILY_UNIX,
  OP_ACCEPT,
  OP_CLOSE,
  OP_CONNECT,
  OP_FSYNC,
  OP_LISTEN,
  OP_NAMES,
  OP_NOP,
  OP_OPEN,
  OP_READ,
  OP_RECV_FRAME,
  OP_SEND_FRAME,
  OP_WRITE,
  OP_WRITE_SYNC,
  STEPS,
  errnoName,
  errnoNumber,
  type FaultStep,
  type OpName,
} from '../native/ops.js';
import { PortableReactor } from './portable.js';
import { selectBackend, type ReactorBackend, type ReactorChoice } from './select.js';

export interface ReactorOptions {
  /** Backend (default: CEP_IO_REACTOR_BACKEND, else 'auto'). */
  backend?: ReactorChoice;
  /** Most requests outstanding (submitted, not yet drained) before submits are refused. Default 4096. */
  depth?: number;
  /**
   * Native backends: frame sends and receives that need no wait run at once on the JS thread
   * (nonblocking syscalls, as libuv writes to an idle socket) instead of crossing to the
   * reactor thread. Default true; false sends every op to the reactor thread.
   */
  inline?: boolean;
}

/** Wake counters since the reactor started (`stats()`). */
export interface ReactorStats {
  /** Hand-offs to the reactor thread (eventfd writes; file workers' reports included). 0 on portable. */
  handoffs: number;
  /** Wakes of the event loop by the reactor thread (thread-safe function calls). 0 on portable. */
  wakes: number;
  /** Ops finished on the JS thread as they were submitted. */
  inline: number;
  /** Batches of completions taken into the gate (inline ones included). */
  deliveries: number;
}

/** One finished request, as `drain()` releases it. */
export interface IoCompletion {
  seq: number;
  op: OpName;
  /** No error. */
  ok: boolean;
  /** bytes moved, the new handle (open, listen, accept, connect), or -errno. */
  result: number;
  /** 'ENOENT', 'ECANCELED', ... when the request failed. */
  errno?: string;
  /** recvFrame: the received frame body. */
  data?: Uint8Array;
  /** recvFrame: the peer closed cleanly at a frame boundary (no frame). */
  eof?: boolean;
  /** What the submitter attached. */
  tag?: unknown;
}

export type SocketAddress = { host: string; port: number } | { path: string };

export interface SubmitOptions {
  /** Anything to find again on the completion. */
  tag?: unknown;
}

interface Pending {
  code: number;
  obj: unknown;
  tag: unknown;
}

const OPEN_FLAGS: Record<string, number> = {
  r: fsc.O_RDONLY,
  'r+': fsc.O_RDWR,
  w: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC,
  wx: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_EXCL,
  'w+': fsc.O_RDWR | fsc.O_CREAT | fsc.O_TRUNC,
  a: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND,
  ax: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND | fsc.O_EXCL,
  'a+': fsc.O_RDWR | fsc.O_CREAT | fsc.O_APPEND,
};
const MAX_FRAME_DEFAULT = 16 * 1024 * 1024;
const BATCH = 256;

function checkHandle(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31) throw invalidArgType(name, 'a handle (an integer >= 0)', v);
  return v;
}

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalidArgType(name, 'a Uint8Array', v);
  return v;
}

function checkPosition(v: unknown): number {
  if (v === undefined || v === -1) return -1;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw outOfRange('position', 'an integer >= 0 or -1', v);
  return v;
}

export class Reactor extends Gated<IoCompletion> {
  readonly backend: ReactorBackend;
  /** Why this backend runs. */
  readonly reason: string;
  readonly depth: number;
  readonly #core: ReactorCore;
  #desc = new Float64Array(DESC_WIDTH * BATCH);
  #objs: unknown[] = [];
  #count = 0;
  #flushQueued = false;
  #seq = 0;
  /** Unfinished requests: the opcode alone when there is nothing to keep (no buffer, no tag). */
  #pending = new Map<number, Pending | number>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #deliveries = 0;
  #signalQueued = false;
  /** Running totals (op/io metrics read these). */
  readonly totals = { submitted: 0, completed: 0, failed: 0, bytes: 0 };

  constructor(options: ReactorOptions = {}) {
    super('sorted');
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const depth = options.depth ?? 4096;
    if (!Number.isInteger(depth) || depth < 1 || depth > 1 << 20) throw outOfRange('depth', 'an integer in 1 .. 2^20', depth);
    if (options.inline !== undefined && typeof options.inline !== 'boolean') throw invalidArgType('options.inline', 'a boolean', options.inline);
    const sel = selectBackend(options.backend);
    this.backend = sel.backend;
    this.reason = sel.reason;
    this.depth = depth;
    const wake = () => this.#pull();
    this.#core = sel.backend === 'portable' ? new PortableReactor(wake) : new binding.NativeReactor(sel.backend, Math.min(depth, 4096), wake, options.inline ?? true);
  }

  /** Submitted and not yet drained. */
  get pending(): number {
    return this.outstanding;
  }
  /** Finished, waiting for `drain()`. */
  get ready(): number {
    return this.gate.size;
  }
  /** Submitted and not finished yet. */
  get inFlight(): number {
    return this.#pending.size;
  }
  /** Whether request `seq` was submitted and has not finished yet. */
  pendingSeq(seq: number): boolean {
    return this.#pending.has(seq);
  }
  get closed(): boolean {
    return this.#closed || this.#closing !== undefined;
  }

  // ---- files -----------------------------------------------------------------------------

  /** Opens `path` ('r', 'r+', 'w', 'wx', 'w+', 'a', 'ax', 'a+'); the completion's result is the fd. */
  open(path: string, flags = 'r', mode = 0o644, options?: SubmitOptions): number {
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) throw invalidArgType('path', 'a non-empty string without NUL', path);
    const f = OPEN_FLAGS[flags];
    if (f === undefined) throw invalidArgValue('flags', `must be one of ${Object.keys(OPEN_FLAGS).join(', ')}`);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw outOfRange('mode', 'an integer in 0 .. 0o7777', mode);
    return this.#submit(OP_OPEN, -1, -1, f, mode, path, options);
  }

  /** Reads up to `buffer.length` bytes at `position` (-1: the file position). */
  read(fd: number, buffer: Uint8Array, position = -1, options?: SubmitOptions): number {
    return this.#submit(OP_READ, checkHandle('fd', fd), checkPosition(position), 0, 0, checkBytes('buffer', buffer), options);
  }

  /** Writes every byte of `data` (one buffer or several, vectored) at `position` (-1: file position / append). */
  write(fd: number, data: Uint8Array | Uint8Array[], position = -1, options?: SubmitOptions): number {
    return this.#submit(OP_WRITE, checkHandle('fd', fd), checkPosition(position), 0, 0, this.#vector(data), options);
  }

  /** A linked write then sync: the sync runs only after the whole write succeeded. */
  writeSync(fd: number, data: Uint8Array | Uint8Array[], options: SubmitOptions & { position?: number; datasync?: boolean } = {}): number {
    return this.#submit(OP_WRITE_SYNC, checkHandle('fd', fd), checkPosition(options.position), options.datasync === false ? 0 : 1, 0, this.#vector(data), options);
  }

  /** fdatasync (default) or fsync. */
  fsync(fd: number, options: SubmitOptions & { datasync?: boolean } = {}): number {
    return this.#submit(OP_FSYNC, checkHandle('fd', fd), -1, options.datasync === false ? 0 : 1, 0, undefined, options);
  }

  /** Closes a file or socket handle (ops waiting on a socket end with ECANCELED). */
  closeHandle(fd: number, options?: SubmitOptions): number {
    return this.#submit(OP_CLOSE, checkHandle('fd', fd), -1, 0, 0, undefined, options);
  }

  /** Completes with no work: measures the completion path. */
  nop(options?: SubmitOptions): number {
    return this.#submit(OP_NOP, -1, -1, 0, 0, undefined, options);
  }

  // ---- sockets (TCP on numeric IPv4/IPv6 hosts, Unix domain paths) --------------------------

  /** Listens; the completion's result is the listening handle (see `port()`). */
  listen(address: SocketAddress, options: SubmitOptions & { backlog?: number } = {}): number {
    const [where, port, family] = this.#address(address);
    return this.#submit(OP_LISTEN, -1, port, options.backlog ?? 511, family, where, options);
  }

  /** Accepts one connection; the result is the connected handle. */
  accept(listener: number, options?: SubmitOptions): number {
    return this.#submit(OP_ACCEPT, checkHandle('listener', listener), -1, 0, 0, undefined, options);
  }

  connect(address: SocketAddress, options?: SubmitOptions): number {
    const [where, port, family] = this.#address(address);
    return this.#submit(OP_CONNECT, -1, port, 0, family, where, options);
  }

  /** Sends one length-prefixed frame (u32 big-endian length, then the body). */
  sendFrame(socket: number, body: Uint8Array, options?: SubmitOptions): number {
    checkBytes('body', body);
    if (body.length > 0xffffffff) throw outOfRange('body.length', '< 2^32', body.length);
    return this.#submit(OP_SEND_FRAME, checkHandle('socket', socket), -1, 0, 0, body, options);
  }

  /** Receives one frame (refused with EMSGSIZE above `maxBytes`); `eof` when the peer closed between frames. */
  recvFrame(socket: number, options: SubmitOptions & { maxBytes?: number } = {}): number {
    const max = options.maxBytes ?? MAX_FRAME_DEFAULT;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) throw outOfRange('maxBytes', 'an integer in 0 .. 2^31-1', max);
    return this.#submit(OP_RECV_FRAME, checkHandle('socket', socket), -1, max, 0, undefined, options);
  }

  /** The local port of a socket handle (0 for Unix sockets). */
  port(handle: number): number {
    return this.#core.port(checkHandle('handle', handle));
  }

  // ---- completions -----------------------------------------------------------------------

  /** Wake counters so far: what crossing threads cost (the bench divides them per echo window). */
  stats(): ReactorStats {
    const s = this.#core.stats?.() ?? { handoffs: 0, wakes: 0, inline: 0 };
    return { handoffs: s.handoffs, wakes: s.wakes, inline: s.inline, deliveries: this.#deliveries };
  }

  /** Test hook: the next `count` steps of a class fail with `errno` ('ENOSPC'...; null clears). */
  injectFault(step: FaultStep, errno: string | null, count = 1): void {
    const s = STEPS[step];
    if (s === undefined) throw invalidArgValue('step', `must be one of ${Object.keys(STEPS).join(', ')}`);
    const n = errno === null ? 0 : errnoNumber(errno);
    if (n === undefined) throw invalidArgValue('errno', `unknown errno name ${String(errno).slice(0, 16)}`);
    this.#core.fault(s, n, count);
  }

  /**
   * Stops taking work, waits for work in flight (ops waiting on a peer end with ECANCELED);
   * completions stay drainable.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.flush();
    this.#closing = Promise.resolve(this.#core.close()).then(() => {
      this.#closed = true;
      this.#pull();
    });
    return this.#closing;
  }

  // ---- internals -------------------------------------------------------------------------

  #vector(data: Uint8Array | Uint8Array[]): Uint8Array | Uint8Array[] {
    if (data instanceof Uint8Array) return data;
    if (!Array.isArray(data) || data.length === 0) throw invalidArgType('data', 'a Uint8Array or a non-empty array of them', data);
    for (const b of data) checkBytes('data[i]', b);
    return data;
  }

  #address(a: SocketAddress): [string, number, number] {
    if (a === null || typeof a !== 'object') throw invalidArgType('address', '{ host, port } or { path }', a);
    if ('path' in a) {
      if (typeof a.path !== 'string' || a.path.length === 0 || a.path.length > 107) throw invalidArgValue('address.path', 'must be a string of 1 .. 107 characters');
      return [a.path, -1, FAMILY_UNIX];
    }
    if (typeof a.host !== 'string' || a.host.length === 0) throw invalidArgType('address.host', 'a numeric IPv4/IPv6 address', a.host);
    if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw outOfRange('address.port', 'an integer in 0 .. 65535', a.port);
    return [a.host, a.port, FAMILY_TCP];
  }

  #submit(code: number, fd: number, offset: number, arg: number, arg2: number, obj: unknown, options?: SubmitOptions): number {
    if (this.closed) throw reactorClosed('reactor');
    if (this.outstanding >= this.depth) throw queueFull('reactor', this.depth);
    const seq = ++this.#seq;
    this.outstanding++;
    this.totals.submitted++;
    const tag = options?.tag;
    this.#pending.set(seq, obj === undefined && tag === undefined ? code : { code, obj, tag });
    const d = this.#count * DESC_WIDTH;
    this.#desc[d] = code;
    this.#desc[d + 1] = seq;
    this.#desc[d + 2] = fd;
    this.#desc[d + 3] = offset;
    this.#desc[d + 4] = arg;
    this.#desc[d + 5] = arg2;
    this.#objs.push(obj);
    if (++this.#count === BATCH) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return seq;
  }

  protected flush(): void {
    this.#flushQueued = false;
    if (this.#count === 0) return;
    const n = this.#count;
    const objs = this.#objs;
    this.#count = 0;
    this.#objs = [];
    const here = this.#core.submit(this.#desc, n, objs);
    if (here && this.#accept(here)) this.#signalSoon();
  }

  // Inline completions enter the gate at once (whenReady() sees them) but listeners hear of them
  // in a microtask: flush() may run inside a caller's submit.
  #signalSoon(): void {
    if (this.#signalQueued) return;
    this.#signalQueued = true;
    queueMicrotask(() => {
      this.#signalQueued = false;
      this.signal();
    });
  }

  // Moves a finished batch from the backend into the gate (JS thread, woken by the backend).
  #pull(): void {
    let got = false;
    for (let batch = this.#core.drain(); batch !== null; batch = this.#core.drain()) got = this.#accept(batch) || got;
    if (got) this.signal();
  }

  // Moves one batch into the gate; true when it held a request of ours.
  #accept(batch: CoreBatch): boolean {
    let got = false;
    this.#deliveries++;
    const [triples, frames] = batch;
    for (let i = 0; i < triples.length; i += 3) {
      const seq = triples[i];
      const result = triples[i + 1];
      const p = this.#pending.get(seq);
      if (p === undefined) continue;
      this.#pending.delete(seq);
      const code = typeof p === 'number' ? p : p.code;
      const c: IoCompletion = { seq, op: OP_NAMES[code], ok: result >= 0, result };
      if (result < 0) {
        c.errno = errnoName(result);
        this.totals.failed++;
      } else if (code === OP_READ || code === OP_WRITE || code === OP_WRITE_SYNC || code === OP_SEND_FRAME || code === OP_RECV_FRAME) {
        this.totals.bytes += result;
      }
      if (code === OP_RECV_FRAME && result >= 0) {
        if (triples[i + 2] & COMPLETION_EOF) c.eof = true;
        else c.data = frames?.[i / 3] ?? new Uint8Array(0);
      }
      if (typeof p !== 'number' && p.tag !== undefined) c.tag = p.tag;
      this.totals.completed++;
      this.gate.put(seq, c);
      got = true;
    }
    return got;
  }
}

/** A reactor on the chosen backend (default: CEP_IO_REACTOR_BACKEND, else 'auto'). */
export function createReactor(options?: ReactorOptions): Reactor {
  return new Reactor(options);
}
