/**
 * The op/io fabric: the runtime's record of async I/O. A dossier at `/rt/async` (verb
 * `op/io`, mode `opm:states`) holds channels (`io_chan/<ch>`) and requests (`io_req/<seq>`);
 * metrics go to `/rt/analytics/async/reactor:io/`; failures and timeouts become CEI facts.
 *
 * Completions reach the runtime only through `capture(beat)` then `compute(beat)`: capture
 * takes the reactor's finished work in submission order as that beat's input, compute applies
 * it to the request cells, expires deadlines and tells watchers (`op/cont` / `op/tmo`). The
 * wall clock is never read here: wall-clock deadlines are checked against the time the caller
 * recorded for the beat.
 */
import { invalidArgType, invalidArgValue, notFound, outOfRange } from '../errors.js';
import type { Cell } from '../kernel/cell/cell.js';
import type { Runtime } from '../kernel/runtime.js';
import { emitCei, ensurePath } from './cei.js';
import type { IoCompletion, Reactor } from './reactor.js';

export interface ChannelOptions {
  /** What the channel reads or writes (a file path, a peer address). */
  target: string;
  /** Who provides it (default 'cep'). */
  provider?: string;
  /** Capability words, e.g. ['write', 'sync']. */
  caps?: string[];
}

export interface RequestOptions {
  /** Opcode text for the record (default: the reactor op's name). */
  opcode?: string;
  /** Beats the request may stay open after the beat it was submitted in. */
  beatBudget?: number;
  /** Absolute wall-clock deadline in ns, checked against the time given to `compute`. */
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
  watchers: Watcher[];
}

const METRICS = ['cq_depth', 'pend_bytes', 'comp_bt', 'timeouts', 'jobs_total'] as const;

function setNum(cell: Cell, name: string, v: number): void {
  const c = cell.child(name);
  if (c === undefined) cell.add(name, { value: String(v) });
  else c.set(String(v));
}

function setText(cell: Cell, name: string, v: string): void {
  const c = cell.child(name);
  if (c === undefined) cell.add(name, { value: v });
  else c.set(v);
}

export class AsyncFabric {
  readonly rt: Runtime;
  readonly reactor: Reactor;
  readonly dossier: Cell;
  readonly metrics: Cell;
  #channels: Cell;
  #requests: Cell;
  #reactorState: Cell;
  #open = new Map<number, OpenRequest>();
  #captured: IoCompletion[] = [];
  #capturedBeat = -1;
  #timeouts = 0;
  #jobs = 0;
  #late = 0;
  #quiesce: { kind: 'paused' | 'shutdn'; deadline: number } | undefined;

  constructor(rt: Runtime, reactor: Reactor) {
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
    setText(this.#reactorState, 'backend', reactor.backend);
    this.metrics = ensurePath(rt, '/rt/analytics/async/reactor:io');
    for (const m of METRICS) setNum(this.metrics, m, 0);
    // With a heartbeat (rt.onCapture), each beat's capture takes and applies the completions.
    const hb = rt as unknown as { onCapture?: (fn: (beat: number) => void) => void };
    if (typeof hb.onCapture === 'function') hb.onCapture((beat) => void this.compute(beat));
  }

  /** Registers a channel; on the portable backend (the blocking shim) it is flagged and reported. */
  channel(name: string, options: ChannelOptions): Cell {
    if (typeof name !== 'string' || name.length === 0) throw invalidArgType('name', 'a non-empty string', name);
    if (options === null || typeof options !== 'object' || typeof options.target !== 'string') throw invalidArgType('options.target', 'a string', options?.target);
    if (this.#channels.child(name) !== undefined) throw invalidArgValue('name', `channel ${name} already exists`);
    const shim = this.reactor.backend === 'portable';
    const cell = this.rt.build(this.#channels, name, undefined, (c) => {
      c.add('target_path', { value: options.target });
      c.add('provider', { value: options.provider ?? 'cep' });
      c.add('reactor', { value: this.reactor.backend });
      c.add('caps', { value: (options.caps ?? []).join(' ') });
      c.add('shim', { value: shim ? '1' : '0' });
      c.add('watchers');
    });
    if (shim) {
      emitCei(this.rt, { sev: 'sev:debug', topic: 'tp_async_unsp', note: `channel ${name} runs on the portable (blocking shim) backend`, origin: 'op/io', subject: cell });
    }
    return cell;
  }

  /**
   * Submits through the reactor and records the request: `submit` calls one reactor method
   * and returns its sequence number, which names the request.
   */
  request(channel: string, submit: (r: Reactor) => number, options: RequestOptions = {}): number {
    const chan = this.#channels.child(channel);
    if (chan === undefined) throw notFound(`channel ${channel}`);
    const budget = options.beatBudget ?? -1;
    if (budget !== -1 && (!Number.isInteger(budget) || budget < 0)) throw outOfRange('beatBudget', 'an integer >= 0', budget);
    const deadlineNs = options.deadlineNs ?? -1;
    if (typeof deadlineNs !== 'number' || Number.isNaN(deadlineNs)) throw invalidArgType('deadlineNs', 'a number', deadlineNs);
    const seq = submit(this.reactor);
    const deadlineBeat = budget === -1 ? -1 : this.rt.beat + budget;
    const expect = options.expectBytes ?? 0;
    const cell = this.rt.build(this.#requests, seq, undefined, (c) => {
      c.add('state', { value: 'ist:run' });
      c.add('channel', { value: channel });
      c.add('opcode', { value: options.opcode ?? 'io' });
      c.add('beat_budget', { value: String(budget) });
      c.add('deadline_bt', { value: String(deadlineBeat) });
      c.add('deadline_ns', { value: String(deadlineNs) });
      c.add('expect_bytes', { value: String(expect) });
      c.add('progress', { value: '0' });
      c.add('errno', { value: '' });
      c.add('submit_bt', { value: String(this.rt.beat) });
    });
    this.#open.set(seq, { seq, channel, cell, deadlineBeat, deadlineNs, expectBytes: expect, watchers: [] });
    this.#jobs++;
    return seq;
  }

  /** Calls `fn` once when the request completes (`op/cont`) or times out / is cancelled (`op/tmo`). */
  watch(req: number, fn: Watcher): void {
    const open = this.#open.get(req);
    if (open === undefined) throw notFound(`open request ${req}`);
    open.watchers.push(fn);
  }

  /** Open requests (submitted, not yet completed or expired). */
  get open(): number {
    return this.#open.size;
  }

  /**
   * Capture phase: takes everything the reactor finished, in submission order, as this beat's
   * input. Call it from the heartbeat's capture hook (once per beat).
   */
  capture(beat: number): IoCompletion[] {
    this.#capturedBeat = beat;
    setNum(this.metrics, 'cq_depth', this.reactor.ready);
    this.#captured = this.reactor.drain();
    return this.#captured;
  }

  /**
   * Compute phase: applies the captured completions to their requests, then expires requests
   * past their beat deadline (or past `deadlineNs` at `wallNs`, the time recorded for this
   * beat) and, when quiescing past its deadline, cancels every open request. All in sequence
   * order. Returns the completions applied.
   */
  compute(beat: number, wallNs?: number): IoCompletion[] {
    if (beat !== this.#capturedBeat) this.capture(beat);
    const applied: IoCompletion[] = [];
    for (const c of this.#captured) {
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
      if (!c.ok) {
        emitCei(this.rt, { sev: 'sev:warn', topic: 'persist.async', note: `request ${c.seq} (${c.op}) on ${open.channel} failed: ${c.errno}`, origin: 'op/io', subject: open.cell });
      }
      for (const w of open.watchers) w('op/cont', c, c.seq);
      applied.push(c);
    }
    this.#captured = [];
    this.#expire(beat, wallNs);
    setNum(this.metrics, 'comp_bt', applied.length);
    setNum(this.metrics, 'timeouts', this.#timeouts);
    setNum(this.metrics, 'jobs_total', this.#jobs);
    let pend = 0;
    for (const o of this.#open.values()) pend += o.expectBytes;
    setNum(this.metrics, 'pend_bytes', pend);
    return applied;
  }

  /** Requests that completed after they had timed out or been cancelled. */
  get late(): number {
    return this.#late;
  }

  /**
   * Pause or shut down: records the state under `io_reactor/` and, once the beat passes
   * `deadlineBeat`, cancels every request still open (in sequence order).
   */
  quiesce(kind: 'paused' | 'shutdn', deadlineBeat: number): void {
    if (kind !== 'paused' && kind !== 'shutdn') throw invalidArgValue('kind', "must be 'paused' or 'shutdn'");
    if (!Number.isInteger(deadlineBeat) || deadlineBeat < 0) throw outOfRange('deadlineBeat', 'an integer >= 0', deadlineBeat);
    this.#quiesce = { kind, deadline: deadlineBeat };
    setText(this.#reactorState, 'draining', '1');
    setText(this.#reactorState, kind, '1');
    setNum(this.#reactorState, 'deadline_bt', deadlineBeat);
  }

  /** Leaves a pause. */
  resume(): void {
    this.#quiesce = undefined;
    setText(this.#reactorState, 'draining', '0');
    setText(this.#reactorState, 'paused', '0');
  }

  #expire(beat: number, wallNs: number | undefined): void {
    const cancelAll = this.#quiesce !== undefined && beat > this.#quiesce.deadline;
    const seqs = [...this.#open.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const o = this.#open.get(seq)!;
      const beatOver = o.deadlineBeat >= 0 && beat > o.deadlineBeat;
      const wallOver = o.deadlineNs >= 0 && wallNs !== undefined && wallNs > o.deadlineNs;
      if (!beatOver && !wallOver && !cancelAll) continue;
      this.#open.delete(seq);
      const why = cancelAll ? `${this.#quiesce!.kind === 'paused' ? 'pause' : 'shutdown'} deadline beat ${this.#quiesce!.deadline}` : beatOver ? `beat deadline ${o.deadlineBeat}` : `wall-clock deadline ${o.deadlineNs} ns`;
      setText(o.cell, 'state', 'sts:cnl');
      setText(o.cell, 'errno', cancelAll ? 'ECANCELED' : 'ETIMEDOUT');
      setNum(o.cell, 'done_bt', beat);
      setText(o.cell, 'signal', 'op/tmo');
      if (!cancelAll) this.#timeouts++;
      emitCei(this.rt, {
        sev: 'sev:warn',
        topic: cancelAll ? 'persist.async' : 'persist.async.tmo',
        note: `request ${seq} on ${o.channel} ${cancelAll ? 'cancelled' : 'timed out'}: ${why}`,
        origin: 'op/io',
        subject: o.cell,
      });
      for (const w of o.watchers) w('op/tmo', undefined, seq);
    }
  }
}
