/**
 * The runner of module slices: one piece of JavaScript source that runs a slice function
 * against a serialized input (snapshot, state, budget left, cancel flag) and returns its
 * serialized outcome. The same source runs in worker threads (the threaded backend) and on
 * the runtime thread (the stub backend, and oversized inputs), so both give the same outcome
 * for the same input. Kept as source text because a worker loads it without a build step.
 */
import * as v8 from 'node:v8';

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
  /** Milliseconds the slice ran (used only against a CPU budget, through a recorded decision). */
  ms: number;
}

/** The serialized input of a module slice. */
export interface SliceInput {
  name: string;
  eid: number;
  ticket: number;
  beat: number;
  signal: string;
  target: string;
  state: unknown;
  /** I/O bytes this slice may still account (-1: unlimited). */
  ioLeft: number;
  cancelled: boolean;
  snap: Record<string, unknown>;
}

export const SLICE_RUNNER_SOURCE = `(function runSlice(mod, input, v8) {
  const inp = v8.deserialize(input);
  const out = { action: 'none', oid: 0, want: '', ttl: 0, state: inp.state, io: 0, over: false, guard: 0, cancel: false, error: '', ms: 0 };
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
    text(path) { const n = node(path); return n === undefined || n.v === undefined ? undefined : new TextDecoder().decode(n.v); },
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
  const t0 = performance.now();
  try {
    if (typeof fn !== 'function') throw new TypeError('the module has no slice function ' + inp.name);
    fn(ctx);
  } catch (e) {
    out.action = 'fail';
    out.error = String((e && e.message) || e);
  } finally {
    globalThis[slot] = prev;
  }
  out.ms = performance.now() - t0;
  out.state = ctx.state;
  try { return v8.serialize(out); } catch (e) { out.state = undefined; out.action = 'fail'; out.error = 'the state is not structured-clone-safe: ' + String((e && e.message) || e); return v8.serialize(out); }
})`;

type Runner = (mod: Record<string, unknown>, input: Uint8Array, serializer: typeof v8) => Uint8Array;

// The runtime thread's copy of the runner: compiled once from the same source the workers load.
const runner = new Function(`return ${SLICE_RUNNER_SOURCE}`)() as Runner;

/** Run a module slice on this thread. */
export function runModuleSlice(mod: Record<string, unknown>, input: Uint8Array): Uint8Array {
  return runner(mod, input, v8);
}

export function encodeInput(input: SliceInput): Uint8Array {
  return v8.serialize(input);
}

export function decodeOutcome(bytes: Uint8Array): SliceOutcome {
  return v8.deserialize(bytes) as SliceOutcome;
}

/** The source of the worker module that runs slices of the module at `href`. */
export function workerModuleSource(href: string): string {
  return `import * as mod from ${JSON.stringify(href)};\nimport * as v8 from 'node:v8';\nconst run = ${SLICE_RUNNER_SOURCE};\nexport function runSlice(input) { return run(mod, input, v8); }\n`;
}
