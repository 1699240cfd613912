/**
 * The runner of module slices: one piece of JavaScript source that runs a slice function
 * against a serialized input (snapshot, state, budget left, cancel flag) and returns its
 * serialized outcome. The same source runs in worker threads (the threaded backend) and on
 * the runtime thread (the stub backend, and oversized inputs), so both give the same outcome
 * for the same input. Kept as source text because a worker loads it without a build step.
 */
import * as v8 from 'node:v8';
import { binding, nativeInfo } from '../../native/index.js';

/** What a slice decided, as recorded after it returned. */
export interface SliceOutcome {
  /** `none` when the slice chose nothing (it is then closed with `sts:ok`). */
  action: 'none' | 'yield' | 'await' | 'close' | 'cancel' | 'fail';
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

/** The fields of a module slice's input that stay the same for all its slices (encoded once per episode). */
export interface SliceHead {
  name: string;
  eid: number;
  ticket: number;
  signal: string;
  target: string;
}

/**
 * A module episode's state between slices, as the runner encoded it (`v8.serialize`): the
 * runtime thread never decodes it, it only passes the bytes on to the next slice's input. The
 * object's identity stands for its bytes (run-ahead adoption compares states by identity).
 */
export class EncodedState {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * The slice codec and runner, as one piece of plain JavaScript (workers load it without a build
 * step; the runtime thread compiles the same text). Binary layouts, little-endian, strings as
 * u32 length + UTF-8:
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
 */
const SLICE_CODEC_SOURCE = `(function sliceCodec(v8, cpuMs) {
  const te = new TextEncoder();
  const td = new TextDecoder();
  const ACTIONS = ['none', 'yield', 'await', 'close', 'cancel', 'fail'];
  class Writer {
    constructor() { this.buf = new Uint8Array(1024); this.dv = new DataView(this.buf.buffer); this.at = 0; }
    room(n) {
      if (this.at + n <= this.buf.length) return;
      let m = this.buf.length * 2;
      while (m < this.at + n) m *= 2;
      const b = new Uint8Array(m);
      b.set(this.buf.subarray(0, this.at));
      this.buf = b;
      this.dv = new DataView(b.buffer);
    }
    u8(x) { this.room(1); this.buf[this.at++] = x; }
    u32(x) { this.room(4); this.dv.setUint32(this.at, x, true); this.at += 4; }
    f64(x) { this.room(8); this.dv.setFloat64(this.at, x, true); this.at += 8; }
    raw(b) { this.room(b.length); this.buf.set(b, this.at); this.at += b.length; }
    bytes(b) { this.u32(b.length); this.raw(b); }
    str(s) {
      const n = s.length;
      for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return this.bytes(te.encode(s));
      this.u32(n);
      this.room(n);
      const b = this.buf, at = this.at;
      for (let i = 0; i < n; i++) b[at + i] = s.charCodeAt(i);
      this.at += n;
    }
    /** The bytes written (a copy), and the writer emptied for reuse (its buffer shrunk after a big one). */
    take() {
      const out = this.buf.slice(0, this.at);
      this.clear();
      return out;
    }
    clear() {
      this.at = 0;
      if (this.buf.length > 1 << 20) { this.buf = new Uint8Array(1024); this.dv = new DataView(this.buf.buffer); }
    }
  }
  class Reader {
    constructor(b) { this.b = b; this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength); this.at = 0; }
    u8() { return this.b[this.at++]; }
    u32() { const x = this.dv.getUint32(this.at, true); this.at += 4; return x; }
    f64() { const x = this.dv.getFloat64(this.at, true); this.at += 8; return x; }
    bytes() { const n = this.u32(); const v = this.b.subarray(this.at, this.at + n); this.at += n; return v; }
    str() { return td.decode(this.bytes()); }
    rest() { return this.b.subarray(this.at); }
  }
  // one writer per thread, reused: a slice's bytes are copied out of it once (take)
  const w = new Writer();
  function encodeHead(h) {
    w.f64(h.eid); w.f64(h.ticket); w.str(h.name); w.str(h.signal); w.str(h.target);
    return w.take();
  }
  function encodeInput(head, beat, ioLeft, cancelled, snap, state) {
    w.bytes(head); w.f64(beat); w.f64(ioLeft); w.u8(cancelled ? 1 : 0); w.bytes(snap); w.raw(state);
    return w.take();
  }
  // a node: flags, payload, child count, then each child's name and node (pre-order); read
  // with an explicit stack of the nodes whose children are still coming, so any depth reads
  function decodeHead(r, stack) {
    const flags = r.u8();
    const n = {};
    if (flags & 1) n.v = r.bytes();
    if (flags & 2) { n.k = {}; stack.push(n, r.u32()); }
    return n;
  }
  function decodeNode(r) {
    const stack = [];
    const top = decodeHead(r, stack);
    while (stack.length > 0) {
      const left = stack[stack.length - 1];
      if (left === 0) { stack.length -= 2; continue; }
      stack[stack.length - 1] = left - 1;
      const parent = stack[stack.length - 2];
      const name = r.str();
      parent.k[name] = decodeHead(r, stack);
    }
    return top;
  }
  function decodeSnapshot(bytes) {
    const r = new Reader(bytes);
    const out = {};
    for (let i = r.u32(); i > 0; i--) { const p = r.str(); out[p] = decodeNode(r); }
    return out;
  }
  function decodeInput(bytes) {
    const r = new Reader(bytes);
    const h = new Reader(r.bytes());
    const inp = { eid: h.f64(), ticket: h.f64(), name: h.str(), signal: h.str(), target: h.str() };
    inp.beat = r.f64();
    inp.ioLeft = r.f64();
    inp.cancelled = r.u8() === 1;
    inp.snap = decodeSnapshot(r.bytes());
    inp.state = v8.deserialize(r.rest());
    return inp;
  }
  function encodeOutcome(out, state) {
    w.u8(Math.max(0, ACTIONS.indexOf(out.action))); w.u8((out.over ? 1 : 0) | (out.cancel ? 2 : 0));
    w.f64(out.oid); w.f64(typeof out.ttl === 'number' ? out.ttl : NaN); w.f64(out.io); w.f64(out.ms); w.u32(out.guard);
    const text = typeof out.want === 'string';
    w.u8(text ? 1 : 0); w.str(text ? out.want : ''); w.str(out.error); w.raw(state);
    return w.take();
  }
  function decodeOutcome(bytes) {
    const r = new Reader(bytes);
    const action = ACTIONS[r.u8()], flags = r.u8();
    const oid = r.f64(), ttl = r.f64(), io = r.f64(), ms = r.f64(), guard = r.u32();
    const text = r.u8() === 1, want = r.str(), error = r.str();
    return { action, oid, want: text ? want : null, ttl, state: r.rest(), io, over: (flags & 1) !== 0, guard, cancel: (flags & 2) !== 0, error, ms };
  }
  function runSlice(mod, input) {
    const inp = decodeInput(input);
    const out = { action: 'none', oid: 0, want: '', ttl: 0, io: 0, over: false, guard: 0, cancel: false, error: '', ms: 0 };
    let cancelled = inp.cancelled;
    const snap = inp.snap;
    const roots = Object.keys(snap);
    const node = (path) => {
      if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError('a path must be absolute: ' + String(path));
      for (const r of roots) {
        if (path !== r && !path.startsWith(r === '/' ? '/' : r + '/')) continue;
        let n = snap[r];
        const rest = path.slice(r.length).split('/').filter((s) => s.length > 0);
        for (const s of rest) { n = n.k === undefined ? undefined : n.k[s]; if (n === undefined) return undefined; }
        return n;
      }
      throw new RangeError(path + ' is not under the paths this slice declared it reads');
    };
    const act = (a) => { out.action = a; };
    const ctx = {
      eid: inp.eid, ticket: inp.ticket, beat: inp.beat, profile: 'ro', signal: inp.signal, target: inp.target, state: inp.state,
      read(path) { const n = node(path); return n === undefined || n.v === undefined ? undefined : n.v.slice(); },
      text(path) { const n = node(path); return n === undefined || n.v === undefined ? undefined : td.decode(n.v); },
      children(path) { const n = node(path); return n === undefined || n.k === undefined ? [] : Object.keys(n.k); },
      yield() { act('yield'); },
      await(oid, o) {
        if (!Number.isSafeInteger(oid) || oid < 1) throw new RangeError('await: an operation id >= 1');
        act('await'); out.oid = oid; out.want = (o && o.want) || 'sts:ok'; out.ttl = (o && o.ttl) || 1024;
      },
      close() { act('close'); },
      cancel() { act('cancel'); },
      requestCancel() { out.cancel = true; cancelled = true; },
      checkCancel() { return cancelled; },
      accountIO(n) {
        if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('accountIO: an integer >= 0');
        out.io += n;
        if (inp.ioLeft >= 0 && out.io > inp.ioLeft) { out.over = true; cancelled = true; return false; }
        return !out.over;
      },
      requireRW() { out.guard++; return false; },
      set() { return ctx.requireRW(); },
      add() { return ctx.requireRW(); },
      remove() { return ctx.requireRW(); },
      streamWrite() { return ctx.requireRW(); },
      promote() { return false; },
      demote() { return false; },
    };
    const fn = mod[inp.name];
    const slot = Symbol.for('cep.episode.context');
    const prev = globalThis[slot];
    globalThis[slot] = ctx;
    const t0 = cpuMs();
    try {
      if (typeof fn !== 'function') throw new TypeError('the module has no slice function ' + inp.name);
      fn(ctx);
    } catch (e) {
      out.action = 'fail';
      out.error = String((e && e.message) || e);
    } finally {
      globalThis[slot] = prev;
    }
    out.ms = cpuMs() - t0;
    let state;
    try { state = v8.serialize(ctx.state); } catch (e) { state = v8.serialize(undefined); out.action = 'fail'; out.error = 'the state is not structured-clone-safe: ' + String((e && e.message) || e); }
    return encodeOutcome(out, state);
  }
  return { Writer, encodeHead, encodeInput, decodeSnapshot, decodeOutcome, runSlice };
})`;

/** A byte writer of the codec (snapshots are written straight from the cells with one). */
export interface CodecWriter {
  u8(x: number): void;
  u32(x: number): void;
  bytes(b: Uint8Array): void;
  str(s: string): void;
  take(): Uint8Array;
  clear(): void;
}

interface Codec {
  Writer: new () => CodecWriter;
  encodeHead(h: SliceHead): Uint8Array;
  encodeInput(head: Uint8Array, beat: number, ioLeft: number, cancelled: boolean, snap: Uint8Array, state: Uint8Array): Uint8Array;
  decodeSnapshot(bytes: Uint8Array): Record<string, unknown>;
  decodeOutcome(bytes: Uint8Array): Omit<SliceOutcome, 'state'> & { state: Uint8Array };
  runSlice(mod: Record<string, unknown>, input: Uint8Array): Uint8Array;
}

// The runtime thread's copy of the codec: compiled once from the same source the workers load,
// timing slices with this thread's CPU clock.
const codec = (new Function(`return ${SLICE_CODEC_SOURCE}`)() as (serializer: typeof v8, cpuMs: () => number) => Codec)(v8, () => binding.threadCpuMs());

export const CodecWriter = codec.Writer;
export const decodeSnapshot = codec.decodeSnapshot;

/** Run a module slice on this thread. */
export function runModuleSlice(mod: Record<string, unknown>, input: Uint8Array): Uint8Array {
  return codec.runSlice(mod, input);
}

/** The fields of an episode's slice inputs that never change, encoded once. */
export function encodeHead(head: SliceHead): Uint8Array {
  return codec.encodeHead(head);
}

/** A state as slices receive it (throws when it is not structured-clone-safe). */
export function encodeState(state: unknown): EncodedState {
  return state instanceof EncodedState ? state : new EncodedState(v8.serialize(state));
}

/** A module slice's input: equal arguments give equal bytes (run-ahead adoption relies on it). */
export function encodeInput(head: Uint8Array, beat: number, ioLeft: number, cancelled: boolean, snap: Uint8Array, state: EncodedState): Uint8Array {
  return codec.encodeInput(head, beat, ioLeft, cancelled, snap, state.bytes);
}

/** What a slice decided; its state stays encoded (`EncodedState`), for the next slice's input. */
export function decodeOutcome(bytes: Uint8Array): SliceOutcome {
  const out = codec.decodeOutcome(bytes) as unknown as SliceOutcome;
  out.state = new EncodedState(out.state as Uint8Array);
  return out;
}

/**
 * The source of the worker module that runs slices of the module at `href`. It times slices
 * with the worker thread's own CPU clock: the addon this process loaded (safe in worker threads),
 * or the wall clock when the fallback is in use, as on the runtime thread.
 */
export function workerModuleSource(href: string): string {
  const addon = nativeInfo().path;
  const clock =
    addon === undefined
      ? `const cpuMs = () => performance.now();`
      : `import { createRequire } from 'node:module';\nconst addon = createRequire(${JSON.stringify(addon)})(${JSON.stringify(addon)});\nconst cpuMs = () => addon.threadCpuMs();`;
  // the input is copied out of the shared ring first: the slice may keep what it reads
  return `import * as mod from ${JSON.stringify(href)};\nimport * as v8 from 'node:v8';\n${clock}\nconst codec = (${SLICE_CODEC_SOURCE})(v8, cpuMs);\nexport function runSlice(input) { return codec.runSlice(mod, input.slice()); }\n`;
}
