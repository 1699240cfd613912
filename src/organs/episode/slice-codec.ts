/**
 * The slice codec and runner: one module for the runtime thread (slice-runner.ts) and the worker
 * threads (slice-entry.ts), so both give the same outcome bytes for the same input. Binary
 * layouts, little-endian, strings as u32 length + UTF-8:
 *
 *   head     f64 eid, f64 ticket, str name, str signal, str target
 *   input    u32 head length, head, f64 beat, f64 ioLeft (-1: unlimited), u8 cancelled,
 *            u32 snapshot length, snapshot, then the state (v8.serialize) to the end
 *   snapshot u32 roots, then per root: str path, node
 *   node     u8 flags (1: a value, 2: children), [u32 length, value bytes], [u32 count, (str name, node)...]
 *   outcome  u8 action, u8 flags (1: over budget, 2: cancel asked), f64 oid, f64 ttl (NaN: not a
 *            number), f64 io, f64 ms, u32 guard, u8 want is text, str want, str error, then the
 *            state (v8.serialize) to the end
 *
 * Only the state goes through v8's serializer, and only on the thread that runs the slice: the
 * runtime thread writes a slice's input from the episode's cached head, its snapshot bytes and
 * the state bytes the previous slice returned, and reads an outcome's fixed fields.
 *
 * Workers load this module on their own: it imports nothing of the project but the error factories.
 */
import * as v8 from 'node:v8';
import { invalidArgType, notFound, outOfRange } from '../../errors.js';

const te = new TextEncoder();
const td = new TextDecoder();
const ACTIONS = ['none', 'yield', 'await', 'close', 'cancel', 'fail'] as const;

export type SliceAction = (typeof ACTIONS)[number];

/** The fields of a module slice's input that stay the same for all its slices (encoded once per episode). */
export interface SliceHead {
  name: string;
  eid: number;
  ticket: number;
  signal: string;
  target: string;
}

/** What a slice decided, as recorded after it returned. */
export interface SliceOutcome {
  /** `none` when the slice chose nothing (it is then closed with `sts:ok`). */
  action: SliceAction;
  /** `await`: the operation, the state or status wanted, beats to wait. */
  oid: number;
  want: string;
  ttl: number;
  /** The episode's state after the slice (structured-clone-safe). */
  state: unknown;
  /** Bytes accounted with `accountIO` (and staged writes). */
  io: number;
  /** The I/O budget was overrun during the slice. */
  over: boolean;
  /** Mutations refused by the RO guard. */
  guard: number;
  /** `requestCancel()` was called. */
  cancel: boolean;
  /** `fail`: what was thrown. */
  error: string;
  /** CPU milliseconds the slice ran on its thread (wall milliseconds with the fallback); used only against a CPU budget, through a recorded decision. */
  ms: number;
}

/** An outcome as read back: the state stays in its serialized bytes; `want` is null when the slice's was not text. */
export type RawOutcome = Omit<SliceOutcome, 'state' | 'want'> & { state: Uint8Array; want: string | null };

/** A decoded snapshot node: `v` the value bytes, `k` the children by name. */
export interface SnapNode {
  v?: Uint8Array;
  k?: Record<string, SnapNode>;
}

/** A growable byte writer; snapshots are written straight from the cells with one. */
export class Writer {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let m = this.buf.length * 2;
    while (m < this.at + n) m *= 2;
    const b = new Uint8Array(m);
    b.set(this.buf.subarray(0, this.at));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u8(x: number): void {
    this.room(1);
    this.buf[this.at++] = x;
  }
  u32(x: number): void {
    this.room(4);
    this.dv.setUint32(this.at, x, true);
    this.at += 4;
  }
  f64(x: number): void {
    this.room(8);
    this.dv.setFloat64(this.at, x, true);
    this.at += 8;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }
  str(s: string): void {
    const n = s.length;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return this.bytes(te.encode(s));
    this.u32(n);
    this.room(n);
    const b = this.buf;
    const at = this.at;
    for (let i = 0; i < n; i++) b[at + i] = s.charCodeAt(i);
    this.at += n;
  }
  /** The bytes written (a copy), and the writer emptied for reuse (its buffer shrunk after a big one). */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.at);
    this.clear();
    return out;
  }
  clear(): void {
    this.at = 0;
    if (this.buf.length > 1 << 20) {
      this.buf = new Uint8Array(1024);
      this.dv = new DataView(this.buf.buffer);
    }
  }
}

class Reader {
  private readonly dv: DataView;
  private at = 0;
  constructor(private readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u8(): number {
    return this.b[this.at++]!;
  }
  u32(): number {
    const x = this.dv.getUint32(this.at, true);
    this.at += 4;
    return x;
  }
  f64(): number {
    const x = this.dv.getFloat64(this.at, true);
    this.at += 8;
    return x;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  str(): string {
    return td.decode(this.bytes());
  }
  rest(): Uint8Array {
    return this.b.subarray(this.at);
  }
}

// one writer per thread, reused: a slice's bytes are copied out of it once (take)
const w = new Writer();

export function encodeHead(h: SliceHead): Uint8Array {
  w.f64(h.eid);
  w.f64(h.ticket);
  w.str(h.name);
  w.str(h.signal);
  w.str(h.target);
  return w.take();
}

export function encodeInput(head: Uint8Array, beat: number, ioLeft: number, cancelled: boolean, snap: Uint8Array, state: Uint8Array): Uint8Array {
  w.bytes(head);
  w.f64(beat);
  w.f64(ioLeft);
  w.u8(cancelled ? 1 : 0);
  w.bytes(snap);
  w.raw(state);
  return w.take();
}

// a node: flags, payload, child count, then each child's name and node (pre-order); read with
// an explicit stack of the nodes whose children are still coming, so any depth reads
function decodeHead(r: Reader, stack: (SnapNode | number)[]): SnapNode {
  const flags = r.u8();
  const n: SnapNode = {};
  if (flags & 1) n.v = r.bytes();
  if (flags & 2) {
    n.k = {};
    stack.push(n, r.u32());
  }
  return n;
}

function decodeNode(r: Reader): SnapNode {
  const stack: (SnapNode | number)[] = [];
  const top = decodeHead(r, stack);
  while (stack.length > 0) {
    const left = stack[stack.length - 1] as number;
    if (left === 0) {
      stack.length -= 2;
      continue;
    }
    stack[stack.length - 1] = left - 1;
    const parent = stack[stack.length - 2] as SnapNode;
    const name = r.str();
    parent.k![name] = decodeHead(r, stack);
  }
  return top;
}

export function decodeSnapshot(bytes: Uint8Array): Record<string, SnapNode> {
  const r = new Reader(bytes);
  const out: Record<string, SnapNode> = {};
  for (let i = r.u32(); i > 0; i--) {
    const p = r.str();
    out[p] = decodeNode(r);
  }
  return out;
}

interface Input extends SliceHead {
  beat: number;
  ioLeft: number;
  cancelled: boolean;
  snap: Record<string, SnapNode>;
  state: unknown;
}

function decodeInput(bytes: Uint8Array): Input {
  const r = new Reader(bytes);
  const h = new Reader(r.bytes());
  const eid = h.f64();
  const ticket = h.f64();
  const name = h.str();
  const signal = h.str();
  const target = h.str();
  const beat = r.f64();
  const ioLeft = r.f64();
  const cancelled = r.u8() === 1;
  const snap = decodeSnapshot(r.bytes());
  return { eid, ticket, name, signal, target, beat, ioLeft, cancelled, snap, state: v8.deserialize(r.rest()) };
}

/** An outcome being written: its state is serialized separately. */
type Outcome = Omit<SliceOutcome, 'state'>;

function encodeOutcome(out: Outcome, state: Uint8Array): Uint8Array {
  w.u8(Math.max(0, ACTIONS.indexOf(out.action)));
  w.u8((out.over ? 1 : 0) | (out.cancel ? 2 : 0));
  w.f64(out.oid);
  w.f64(typeof out.ttl === 'number' ? out.ttl : NaN);
  w.f64(out.io);
  w.f64(out.ms);
  w.u32(out.guard);
  const text = typeof out.want === 'string';
  w.u8(text ? 1 : 0);
  w.str(text ? out.want : '');
  w.str(out.error);
  w.raw(state);
  return w.take();
}

export function decodeOutcome(bytes: Uint8Array): RawOutcome {
  const r = new Reader(bytes);
  const action = ACTIONS[r.u8()]!;
  const flags = r.u8();
  const oid = r.f64();
  const ttl = r.f64();
  const io = r.f64();
  const ms = r.f64();
  const guard = r.u32();
  const text = r.u8() === 1;
  const want = r.str();
  const error = r.str();
  return { action, oid, want: text ? want : null, ttl, state: r.rest(), io, over: (flags & 1) !== 0, guard, cancel: (flags & 2) !== 0, error, ms };
}

export interface AwaitOptions {
  /** The state or status to wait for (default `sts:ok`). */
  want?: string;
  /** Beats to wait before `op/tmo` cancels the episode (default 1,024). */
  ttl?: number;
}

/** The checked arguments of `ctx.await` (function and module slices alike). */
export function checkAwait(oid: unknown, options: AwaitOptions | undefined): { want: string; ttl: number } {
  if (!Number.isSafeInteger(oid) || (oid as number) < 1) throw outOfRange('oid', 'an operation id >= 1', oid);
  const want = options?.want ?? 'sts:ok';
  if (typeof want !== 'string' || want.length === 0 || want.length > 256) throw invalidArgType('options.want', 'a non-empty string', want);
  const ttl = options?.ttl ?? 1024;
  if (!Number.isSafeInteger(ttl) || ttl < 1) throw outOfRange('options.ttl', 'an integer >= 1', ttl);
  return { want, ttl };
}

const message = (e: unknown): string => String((e as Error | undefined)?.message || e);

/** A blank outcome: a slice that chose nothing, accounted nothing. */
const blankOutcome = (): Outcome => ({ action: 'none', oid: 0, want: '', ttl: 0, io: 0, over: false, guard: 0, cancel: false, error: '', ms: 0 });

/**
 * The node at `path` in the snapshot (undefined: not there); throws for a path that is not
 * absolute or not under a root the slice declared it reads.
 */
function snapshotLookup(snap: Record<string, SnapNode>): (path: unknown) => SnapNode | undefined {
  const roots = Object.keys(snap);
  return (path) => {
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidArgType('path', 'an absolute path', path);
    for (const r of roots) {
      if (path !== r && !path.startsWith(r === '/' ? '/' : `${r}/`)) continue;
      let n: SnapNode | undefined = snap[r];
      const rest = path
        .slice(r.length)
        .split('/')
        .filter((s) => s.length > 0);
      for (const s of rest) {
        n = n!.k === undefined ? undefined : n!.k[s];
        if (n === undefined) return undefined;
      }
      return n;
    }
    throw outOfRange('path', 'under the paths this slice declared it reads', path);
  };
}

/**
 * The context a module slice gets: reads from its snapshot, its choice and accounting written
 * to `out`; mutation helpers refuse (a module slice is read-only), counted in `out.guard`.
 */
function moduleContext(inp: Input, out: Outcome) {
  let cancelled = inp.cancelled;
  const node = snapshotLookup(inp.snap);
  const act = (a: SliceAction): void => {
    out.action = a;
  };
  const ctx = {
    eid: inp.eid,
    ticket: inp.ticket,
    beat: inp.beat,
    profile: 'ro',
    signal: inp.signal,
    target: inp.target,
    state: inp.state,
    read(path: string): Uint8Array | undefined {
      const n = node(path);
      return n === undefined || n.v === undefined ? undefined : n.v.slice();
    },
    text(path: string): string | undefined {
      const n = node(path);
      return n === undefined || n.v === undefined ? undefined : td.decode(n.v);
    },
    children(path: string): string[] {
      const n = node(path);
      return n === undefined || n.k === undefined ? [] : Object.keys(n.k);
    },
    yield(): void {
      act('yield');
    },
    await(oid: number, options?: AwaitOptions): void {
      const { want, ttl } = checkAwait(oid, options);
      act('await');
      out.oid = oid;
      out.want = want;
      out.ttl = ttl;
    },
    close(): void {
      act('close');
    },
    cancel(): void {
      act('cancel');
    },
    requestCancel(): void {
      out.cancel = true;
      cancelled = true;
    },
    checkCancel(): boolean {
      return cancelled;
    },
    accountIO(n: number): boolean {
      if (!Number.isSafeInteger(n) || n < 0) throw outOfRange('bytes', 'an integer >= 0', n);
      out.io += n;
      if (inp.ioLeft >= 0 && out.io > inp.ioLeft) {
        out.over = true;
        cancelled = true;
        return false;
      }
      return !out.over;
    },
    requireRW(): boolean {
      out.guard++;
      return false;
    },
    set(): boolean {
      return ctx.requireRW();
    },
    add(): boolean {
      return ctx.requireRW();
    },
    remove(): boolean {
      return ctx.requireRW();
    },
    streamWrite(): boolean {
      return ctx.requireRW();
    },
    promote(): boolean {
      return false;
    },
    demote(): boolean {
      return false;
    },
  };
  return ctx;
}

/**
 * Call slice function `name` of `mod` with `ctx` published in the execution context slot (so
 * the guard helpers find it), timed with `cpuMs`; a throw (or no such function) fails the slice.
 */
function callSlice(mod: Record<string, unknown>, name: string, ctx: object, out: Outcome, cpuMs: () => number): void {
  const fn = mod[name];
  const slot = Symbol.for('cep.episode.context');
  const global = globalThis as unknown as Record<symbol, unknown>;
  const prev = global[slot];
  global[slot] = ctx;
  const t0 = cpuMs();
  try {
    if (typeof fn !== 'function') throw notFound(`slice function ${name} in the module`);
    fn(ctx);
  } catch (e) {
    out.action = 'fail';
    out.error = message(e);
  } finally {
    global[slot] = prev;
  }
  out.ms = cpuMs() - t0;
}

/** The state the slice left, serialized; one that is not structured-clone-safe fails the slice (and is dropped). */
function serializeState(state: unknown, out: Outcome): Uint8Array {
  try {
    return v8.serialize(state);
  } catch (e) {
    out.action = 'fail';
    out.error = `the state is not structured-clone-safe: ${message(e)}`;
    return v8.serialize(undefined);
  }
}

/**
 * Run slice function `inp.name` of `mod` on an encoded input; `cpuMs` is the running thread's
 * CPU clock (milliseconds), read around the slice.
 */
export function runSlice(mod: Record<string, unknown>, input: Uint8Array, cpuMs: () => number): Uint8Array {
  const inp = decodeInput(input);
  const out = blankOutcome();
  const ctx = moduleContext(inp, out);
  callSlice(mod, inp.name, ctx, out, cpuMs);
  return encodeOutcome(out, serializeState(ctx.state, out));
}
