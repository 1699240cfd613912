/**
 * The op/io fabric: the runtime's record of async I/O. A dossier at `/rt/async` (verb
 * `op/io`, mode `opm:states`) holds channels (`io_chan/<ch>`) and requests (`io_req/<req>`);
 * metrics go to `/rt/analytics/async/reactor:io/`; failures and timeouts become CEI facts.
 *
 * Everything the fabric writes is written by its enzyme during a beat's Compute, from impulses
 * that enter the heartbeat as outside input (so the heartbeat records them and a replay
 * reproduces the same cells and digests without a reactor doing anything):
 *   op/io/chan     a channel registered          (queued by `channel()`)
 *   op/io/req      a request submitted           (queued by `request()`)
 *   op/io/cpl      the beat's completions         (queued at Capture, in submission order)
 *   op/io/quiesce  pause / shutdown / resume     (queued by `quiesce()` / `resume()`)
 *   op/io/job      a job given to an executor or worker pool (queued by `job()`)
 *   op/io/jobs     a source's finished jobs, in submission order (queued at Capture)
 * The wall clock is never read here: wall-clock deadlines are checked against the beat's
 * recorded time.
 */
import { invalidArgType, invalidArgValue, notFound, outOfRange } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { EnzymeContext } from '../../beat/heartbeat/context.js';
import type { Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import type { Tree } from '../../kernel/tree.js';
import { ensurePath } from './cei.js';
import type { OpName } from '../../native/ops.js';
import type { IoCompletion, Reactor } from '../../async/reactor.js';
import type { Executor, JobResult } from '../../async/executor.js';
import type { TaskResult, WorkerPool } from '../../async/worker-pool.js';

/** Origin of the fabric's CEI facts, and the name of its enzyme. */
const IO_ENZYME = 'op/io';
const IO_ORIGIN = { enzyme: IO_ENZYME };
export const SIG_IO_CHAN = 'op/io/chan';
export const SIG_IO_REQ = 'op/io/req';
export const SIG_IO_CPL = 'op/io/cpl';
export const SIG_IO_QUIESCE = 'op/io/quiesce';
export const SIG_IO_JOB = 'op/io/job';
export const SIG_IO_JOBS = 'op/io/jobs';

/** Where jobs run: the native executor (or its TS twin) or the JS worker pool. */
export type JobSource = Executor | WorkerPool;

/** A finished job as its `op/io/jobs` impulse carries it: [ticket, ok, status, value, bytes (base64)]. */
type JobRecord = [number, 0 | 1, string, number, string | null];

const b64 = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

export interface ChannelOptions {
  /** What the channel reads or writes (a file path, a peer address). */
  target: string;
  /** Who provides it (default 'cep'). */
  provider?: string;
  /** Capability words, e.g. ['write', 'sync']. */
  caps?: string[];
}

export interface RequestOptions {
  /** Opcode text for the record (default 'io'). */
  opcode?: string;
  /** Beats the request may stay open after the beat it was recorded in. */
  beatBudget?: number;
  /** Absolute wall-clock deadline in Unix ns, checked against each beat's recorded time. */
  deadlineNs?: number;
  /** Bytes the request should move. */
  expectBytes?: number;
}

export type Signal = 'op/cont' | 'op/tmo';
export type Watcher = (signal: Signal, completion: IoCompletion | undefined, req: number) => void;

interface OpenRequest {
  seq: number;
  channel: string;
  cell: Cell;
  deadlineBeat: number; // -1: none
  deadlineNs: number; // -1: none
  expectBytes: number;
}

/** A request as its `op/io/req` impulse carries it. */
interface RequestRecord {
  seq: number;
  channel: string;
  opcode: string;
  budget: number;
  deadlineNs: number;
  expect: number;
}

/** A completion as its `op/io/cpl` impulse carries it: [seq, op, ok, result, errno, eof, data (base64)]. */
type CompletionRecord = [number, string, 0 | 1, number, string | null, 0 | 1, string | null];

const METRICS = ['cq_depth', 'pend_bytes', 'comp_bt', 'timeouts', 'jobs_total'] as const;

function setNum(cell: Cell, name: string, v: number): void {
  setText(cell, name, String(v));
}

function setText(cell: Cell, name: string, v: string): void {
  const c = cell.child(name);
  if (c === undefined) cell.add(name, { value: v });
  else if (c.text !== v) c.set(v);
}

function jobRecord(r: JobResult | TaskResult): JobRecord {
  if ('kind' in r) {
    const bytes = r.digest ?? r.output;
    return [r.ticket, r.ok ? 1 : 0, r.status, r.value, bytes === undefined ? null : b64(bytes)];
  }
  return [r.ticket, r.ok ? 1 : 0, r.ok ? 'ok' : ((r.error as { code?: string } | undefined)?.code ?? 'failed'), r.value?.length ?? 0, r.value === undefined ? null : b64(r.value)];
}

function toRecord(c: IoCompletion): CompletionRecord {
  const data = c.data === undefined ? null : b64(c.data);
  return [c.seq, c.op, c.ok ? 1 : 0, c.result, c.errno ?? null, c.eof === true ? 1 : 0, data];
}

function fromRecord(r: CompletionRecord): IoCompletion {
  const c: IoCompletion = { seq: r[0], op: r[1] as OpName, ok: r[2] === 1, result: r[3] };
  if (r[4] !== null) c.errno = r[4];
  if (r[5] === 1) c.eof = true;
  if (r[6] !== null) c.data = new Uint8Array(Buffer.from(r[6], 'base64'));
  return c;
}

export class AsyncFabric {
  readonly rt: Tree;
  private readonly hb: Heartbeat;
  readonly reactor: Reactor;
  readonly dossier: Cell;
  readonly metrics: Cell;
  #channels: Cell;
  #requests: Cell;
  #reactorState: Cell;
  /** Channel names known to the API (registered, maybe not yet recorded). */
  #channelNames = new Set<string>();
  #open = new Map<number, OpenRequest>();
  /** Watchers by request, live only (a replay has none). */
  #watchers = new Map<number, Watcher[]>();
  /** Requests submitted through this fabric and not yet completed or expired (watchable). */
  #live = new Set<number>();
  #timeouts = 0;
  #jobs = 0;
  #late = 0;
  #quiesce: { kind: 'paused' | 'shutdn'; deadline: number } | undefined;
  /** Job sources by name (live), and the cells of their open jobs by name then ticket. */
  #sources = new Map<string, JobSource>();
  #jobCells = new Map<string, Map<number, Cell>>();
  #jobsRoot: Cell;

  constructor(hb: Heartbeat, reactor: Reactor) {
    const rt = hb.rt;
    this.hb = hb;
    this.rt = rt;
    this.reactor = reactor;
    const existing = rt.find('/rt/async');
    this.dossier = existing ?? ensurePath(rt, '/rt/async');
    if (existing === undefined) {
      this.dossier.add('verb', { value: 'op/io' });
      this.dossier.add('mode', { value: 'opm:states' });
    }
    this.#channels = this.dossier.child('io_chan') ?? this.dossier.add('io_chan');
    this.#requests = this.dossier.child('io_req') ?? this.dossier.add('io_req');
    this.#reactorState = this.dossier.child('io_reactor') ?? this.dossier.add('io_reactor');
    this.#jobsRoot = this.dossier.child('jobs') ?? this.dossier.add('jobs');
    setText(this.#reactorState, 'backend', reactor.backend);
    this.metrics = ensurePath(rt, '/rt/analytics/async/reactor:io');
    for (const m of METRICS) setNum(this.metrics, m, 0);
    hb.registerEnzyme({ name: IO_ENZYME, signal: 'op/io', match: 'prefix', run: (ctx) => this.#apply(ctx) });
    // Capture hands the beat what the reactor finished; a driven runtime beats when it arrives.
    this.#unhook.push(hb.onCapture(() => this.#capture()));
    this.#unhook.push(reactor.onReady(() => hb.wake()));
  }

  /** Listeners on the heartbeat, the reactor and the attached sources, undone by `close()`. */
  readonly #unhook: (() => void)[] = [];

  /**
   * Detaches from the heartbeat, the reactor and every attached source (`rt.close()` calls it
   * before it closes a reactor the runtime started). The reactor and the sources stay open: a
   * reactor given to `createRuntime` and the executors and pools given to `attach` are the
   * caller's to close. Closing twice is harmless.
   */
  close(): void {
    for (const undo of this.#unhook.splice(0)) undo();
  }

  /** Registers a channel (recorded at the next beat); on the portable backend (the blocking shim) it is flagged and reported. */
  channel(name: string, options: ChannelOptions): void {
    if (typeof name !== 'string' || name.length === 0) throw invalidArgType('name', 'a non-empty string', name);
    if (options === null || typeof options !== 'object' || typeof options.target !== 'string') throw invalidArgType('options.target', 'a string', options?.target);
    if (options.caps !== undefined && (!Array.isArray(options.caps) || options.caps.some((c) => typeof c !== 'string'))) throw invalidArgType('options.caps', 'an array of strings', options.caps);
    if (this.#channelNames.has(name)) throw invalidArgValue('name', `channel ${name} already exists`);
    this.#channelNames.add(name);
    this.hb.enqueue(SIG_IO_CHAN, null, { name, target: options.target, provider: options.provider ?? 'cep', caps: (options.caps ?? []).join(' '), reactor: this.reactor.backend });
  }

  /**
   * Submits through the reactor at once and records the request at the next beat: `submit`
   * calls one reactor method and returns its sequence number, which names the request.
   */
  request(channel: string, submit: (r: Reactor) => number, options: RequestOptions = {}): number {
    if (!this.#channelNames.has(channel)) throw notFound(`channel ${channel}`);
    const budget = options.beatBudget ?? -1;
    if (budget !== -1 && (!Number.isInteger(budget) || budget < 0)) throw outOfRange('beatBudget', 'an integer >= 0', budget);
    const deadlineNs = options.deadlineNs ?? -1;
    if (typeof deadlineNs !== 'number' || Number.isNaN(deadlineNs)) throw invalidArgType('deadlineNs', 'a number', deadlineNs);
    const expect = options.expectBytes ?? 0;
    if (!Number.isSafeInteger(expect) || expect < 0) throw outOfRange('expectBytes', 'an integer >= 0', expect);
    const seq = submit(this.reactor);
    this.#live.add(seq);
    const rec: RequestRecord = { seq, channel, opcode: options.opcode ?? 'io', budget, deadlineNs, expect };
    this.hb.enqueue(SIG_IO_REQ, null, rec as unknown as Record<string, number | string>);
    return seq;
  }

  /**
   * Lets `source` (an executor or a worker pool) run jobs for the runtime under `name`: its
   * results enter at Compute, in submission order, as `/rt/async/jobs/<name>/<ticket>`.
   * The fabric drains the source from now on (use `job()` to submit through it).
   */
  attach(name: string, source: JobSource): void {
    if (typeof name !== 'string' || name.length === 0) throw invalidArgType('name', 'a non-empty string', name);
    if (source === null || typeof source !== 'object' || typeof (source as { drain?: unknown }).drain !== 'function') throw invalidArgType('source', 'an Executor or a WorkerPool', source);
    if (this.#sources.has(name)) throw invalidArgValue('name', `job source ${name} already exists`);
    this.#sources.set(name, source);
    this.#unhook.push(source.onReady(() => this.hb.wake()));
  }

  /**
   * Submits a job through the source named `name` at once and records it at the next beat:
   * `submit` calls `source.submit(...)` and returns its ticket, which names the job.
   */
  job<S extends JobSource>(name: string, submit: (source: S) => number, options: { opcode?: string } = {}): number {
    const source = this.#sources.get(name);
    if (source === undefined) throw notFound(`job source ${name}`);
    const ticket = submit(source as S);
    this.hb.enqueue(SIG_IO_JOB, null, { source: name, ticket, opcode: options.opcode ?? 'job' });
    return ticket;
  }

  /** Calls `fn` once when the request completes (`op/cont`) or times out / is cancelled (`op/tmo`). */
  watch(req: number, fn: Watcher): void {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
    if (!this.#live.has(req)) throw notFound(`open request ${req}`);
    const list = this.#watchers.get(req);
    if (list === undefined) this.#watchers.set(req, [fn]);
    else list.push(fn);
  }

  /** Requests recorded and still open (not completed, expired or cancelled). */
  get open(): number {
    return this.#open.size;
  }

  /** Requests that completed after they had timed out or been cancelled. */
  get late(): number {
    return this.#late;
  }

  /**
   * Pause or shut down (recorded at the next beat): the state goes under `io_reactor/` and,
   * once a beat passes `deadlineBeat`, every request still open is cancelled in sequence order.
   */
  quiesce(kind: 'paused' | 'shutdn', deadlineBeat: number): void {
    if (kind !== 'paused' && kind !== 'shutdn') throw invalidArgValue('kind', "must be 'paused' or 'shutdn'");
    if (!Number.isInteger(deadlineBeat) || deadlineBeat < 0) throw outOfRange('deadlineBeat', 'an integer >= 0', deadlineBeat);
    this.hb.enqueue(SIG_IO_QUIESCE, null, { kind, deadline: deadlineBeat });
  }

  /** Leaves a pause (at the next beat). */
  resume(): void {
    this.hb.enqueue(SIG_IO_QUIESCE, null, { kind: 'resume', deadline: -1 });
  }

  /**
   * Capture (live beats only): the reactor's finished work, sorted by sequence, becomes one
   * `op/io/cpl` impulse of this beat; one is also queued while deadlines or a quiesce may fire.
   */
  #capture(): void {
    for (const [name, source] of this.#sources) {
      const done = source.drain() as (JobResult | TaskResult)[];
      if (done.length > 0) this.hb.enqueue(SIG_IO_JOBS, null, { source: name, r: done.map(jobRecord) });
    }
    const depth = this.reactor.ready;
    const done = this.reactor.drain();
    if (done.length === 0 && !this.#mayExpire()) return;
    this.hb.enqueue(SIG_IO_CPL, null, { depth, c: done.map(toRecord) });
  }

  #mayExpire(): boolean {
    if (this.#quiesce !== undefined) return this.#open.size > 0;
    for (const o of this.#open.values()) if (o.deadlineBeat >= 0 || o.deadlineNs >= 0) return true;
    return false;
  }

  /** The fabric's enzyme: every cell it keeps is written here, at Compute. */
  #apply(ctx: EnzymeContext): void {
    const p = ctx.payload as Record<string, unknown>;
    switch (ctx.signal) {
      case SIG_IO_CHAN:
        this.#recordChannel(p as { name: string; target: string; provider: string; caps: string; reactor: string });
        break;
      case SIG_IO_REQ:
        this.#recordRequest(p as unknown as RequestRecord, ctx.beat);
        break;
      case SIG_IO_CPL:
        this.#complete(ctx.beat, p as { depth: number; c: CompletionRecord[] });
        break;
      case SIG_IO_QUIESCE:
        this.#setQuiesce(p as { kind: 'paused' | 'shutdn' | 'resume'; deadline: number });
        break;
      case SIG_IO_JOB:
        this.#recordJob(p as { source: string; ticket: number; opcode: string }, ctx.beat);
        break;
      case SIG_IO_JOBS:
        this.#finishJobs(p as { source: string; r: JobRecord[] }, ctx.beat);
        break;
      default:
        break;
    }
  }

  #recordChannel(ch: { name: string; target: string; provider: string; caps: string; reactor: string }): void {
    if (this.#channels.child(ch.name) !== undefined) return;
    this.#channelNames.add(ch.name);
    const shim = ch.reactor === 'portable';
    const cell = this.rt.build(this.#channels, ch.name, undefined, (c) => {
      c.add('target_path', { value: ch.target });
      c.add('provider', { value: ch.provider });
      c.add('reactor', { value: ch.reactor });
      c.add('caps', { value: ch.caps });
      c.add('shim', { value: shim ? '1' : '0' });
      c.add('watchers');
    });
    if (shim) this.hb.report({ severity: 'debug', topic: 'tp_async_unsp', note: `channel ${ch.name} runs on the portable (blocking shim) backend`, origin: IO_ORIGIN, subject: cell });
  }

  #recordJob(j: { source: string; ticket: number; opcode: string }, beat: number): void {
    const parent = this.#jobsRoot.child(j.source) ?? this.#jobsRoot.add(j.source);
    const cell = this.rt.build(parent, j.ticket, undefined, (c) => {
      c.add('state', { value: 'ist:run' });
      c.add('opcode', { value: j.opcode });
      c.add('submit_bt', { value: String(beat) });
    });
    let open = this.#jobCells.get(j.source);
    if (open === undefined) this.#jobCells.set(j.source, (open = new Map()));
    open.set(j.ticket, cell);
    this.#jobs++;
    this.#metrics(0);
  }

  /** A source's finished jobs, in submission order: state, status, value, output bytes (hex: BLAKE3 digest, codec output, worker result). */
  #finishJobs(batch: { source: string; r: JobRecord[] }, beat: number): void {
    const open = this.#jobCells.get(batch.source);
    for (const [ticket, ok, status, value, bytes] of batch.r) {
      const cell = open?.get(ticket);
      if (cell === undefined) continue; // submitted to the source directly, not through job()
      open!.delete(ticket);
      setText(cell, 'state', ok === 1 ? 'ist:ok' : 'ist:fail');
      setText(cell, 'status', status);
      setNum(cell, 'value', value);
      if (bytes !== null) setText(cell, 'output', Buffer.from(bytes, 'base64').toString('hex'));
      setNum(cell, 'done_bt', beat);
      if (ok !== 1) this.hb.report({ severity: 'warn', topic: 'persist.async', note: `job ${ticket} on ${batch.source} failed: ${status}`, origin: IO_ORIGIN, subject: cell });
    }
  }

  #recordRequest(r: RequestRecord, beat: number): void {
    const deadlineBeat = r.budget === -1 ? -1 : beat + r.budget;
    const cell = this.rt.build(this.#requests, r.seq, undefined, (c) => {
      c.add('state', { value: 'ist:run' });
      c.add('channel', { value: r.channel });
      c.add('opcode', { value: r.opcode });
      c.add('beat_budget', { value: String(r.budget) });
      c.add('deadline_bt', { value: String(deadlineBeat) });
      c.add('deadline_ns', { value: String(r.deadlineNs) });
      c.add('expect_bytes', { value: String(r.expect) });
      c.add('progress', { value: '0' });
      c.add('errno', { value: '' });
      c.add('submit_bt', { value: String(beat) });
    });
    this.#open.set(r.seq, { seq: r.seq, channel: r.channel, cell, deadlineBeat, deadlineNs: r.deadlineNs, expectBytes: r.expect });
    this.#jobs++;
    this.#metrics(0);
  }

  /**
   * Applies a beat's completions to their requests in sequence order, then expires requests
   * past their beat deadline or past `deadlineNs` at the beat's recorded time and, when
   * quiescing past its deadline, cancels every open request; then updates the metrics.
   */
  #complete(beat: number, batch: { depth: number; c: CompletionRecord[] }): void {
    setNum(this.metrics, 'cq_depth', batch.depth);
    let applied = 0;
    for (const rec of batch.c) {
      const c = fromRecord(rec);
      const open = this.#open.get(c.seq);
      if (open === undefined) {
        this.#late++; // finished after it timed out or was cancelled: the record stands
        continue;
      }
      this.#open.delete(c.seq);
      setText(open.cell, 'state', c.ok ? 'ist:ok' : 'ist:fail');
      setNum(open.cell, 'progress', c.ok ? c.result : 0);
      setText(open.cell, 'errno', c.errno ?? '');
      setNum(open.cell, 'done_bt', beat);
      setText(open.cell, 'signal', 'op/cont');
      if (!c.ok) {
        this.hb.report({ severity: 'warn', topic: 'persist.async', note: `request ${c.seq} (${c.op}) on ${open.channel} failed: ${c.errno}`, origin: IO_ORIGIN, subject: open.cell });
      }
      this.#tell(c.seq, 'op/cont', c);
      applied++;
    }
    this.#expire(beat, this.hb.ts);
    this.#metrics(applied);
  }

  #metrics(applied: number): void {
    if (applied > 0) setNum(this.metrics, 'comp_bt', applied);
    setNum(this.metrics, 'timeouts', this.#timeouts);
    setNum(this.metrics, 'jobs_total', this.#jobs);
    let pend = 0;
    for (const o of this.#open.values()) pend += o.expectBytes;
    setNum(this.metrics, 'pend_bytes', pend);
  }

  #tell(seq: number, signal: Signal, c: IoCompletion | undefined): void {
    this.#live.delete(seq);
    const list = this.#watchers.get(seq);
    if (list === undefined) return;
    this.#watchers.delete(seq);
    for (const w of list) w(signal, c, seq);
  }

  #setQuiesce(q: { kind: 'paused' | 'shutdn' | 'resume'; deadline: number }): void {
    if (q.kind === 'resume') {
      this.#quiesce = undefined;
      setText(this.#reactorState, 'draining', '0');
      setText(this.#reactorState, 'paused', '0');
      return;
    }
    this.#quiesce = { kind: q.kind, deadline: q.deadline };
    setText(this.#reactorState, 'draining', '1');
    setText(this.#reactorState, q.kind, '1');
    setNum(this.#reactorState, 'deadline_bt', q.deadline);
  }

  #expire(beat: number, wallNs: bigint): void {
    const cancelAll = this.#quiesce !== undefined && beat > this.#quiesce.deadline;
    const seqs = [...this.#open.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const o = this.#open.get(seq)!;
      const beatOver = o.deadlineBeat >= 0 && beat > o.deadlineBeat;
      const wallOver = o.deadlineNs >= 0 && wallNs > BigInt(Math.floor(o.deadlineNs));
      if (!beatOver && !wallOver && !cancelAll) continue;
      this.#open.delete(seq);
      const why = cancelAll
        ? `${this.#quiesce!.kind === 'paused' ? 'pause' : 'shutdown'} deadline beat ${this.#quiesce!.deadline}`
        : beatOver
          ? `beat deadline ${o.deadlineBeat}`
          : `wall-clock deadline ${o.deadlineNs} ns`;
      setText(o.cell, 'state', 'sts:cnl');
      setText(o.cell, 'errno', cancelAll ? 'ECANCELED' : 'ETIMEDOUT');
      setNum(o.cell, 'done_bt', beat);
      setText(o.cell, 'signal', 'op/tmo');
      if (!cancelAll) this.#timeouts++;
      this.hb.report({
        severity: 'warn',
        topic: cancelAll ? 'persist.async' : 'persist.async.tmo',
        note: `request ${seq} on ${o.channel} ${cancelAll ? 'cancelled' : 'timed out'}: ${why}`,
        origin: IO_ORIGIN,
        subject: o.cell,
      });
      this.#tell(seq, 'op/tmo', undefined);
    }
  }
}
