/**
 * OPS dossiers: one per operation under `/rt/ops/<oid>` (oid: a counter, deterministic).
 *
 *   envelope/{verb, target, mode, opened_bt}   what the operation is
 *   state, status, closed_bt                   where it stands (status once closed)
 *   history/<n>/{beat, kind, value}            append-only: every state and the close
 *   watchers/<n>/{want, deadline_bt, target}   open watchers
 *
 * Watchers (`await`) wait for a state or status for a number of beats. At each commit a
 * watcher whose dossier reached what it wants enqueues `op/cont`, one whose deadline passed
 * enqueues `op/tmo` (target: the watcher's target, payload: the oid), both for the next beat.
 * A standing watcher (`standing`, `deadline_bt` 0: no deadline) is only evidence: its owner
 * fires it in-process and removes it. A dossier with a history window (`window`) keeps its
 * newest entries only and no payload history on its `state` cell, so its memory stays bounded.
 */
import { invalidArgType, invalidArgValue, invalidState, notFound, outOfRange } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import { u64leOf } from '../heartbeat/encode.js';

export interface OpStart {
  /** Path the operation works on (default `/`). */
  target?: string;
  /** `opm:states` (default) or any mode text. */
  mode?: string;
}

export interface OpAwait {
  /** The state (`ist:*`) or status (`sts:*`) to wait for. */
  want: string;
  /** Beats to wait before `op/tmo` (>= 1). */
  ttl: number;
  /** Target of the `op/cont` / `op/tmo` impulse (default: the dossier's path). */
  target?: string;
}

interface Watcher {
  oid: number;
  id: number;
  want: string;
  deadline: number;
  target: string;
  cell: Cell;
}

/** Enqueues an internal impulse for the next beat. */
export type Emit = (signal: string, target: string, payload: string) => void;

const VERB = /^op\/[a-z0-9_:.-]{1,32}$/;

function text(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw invalidArgType(name, 'a non-empty string (at most 256 characters)', v);
  return v;
}

export class Ops {
  private dir: Cell | undefined;
  private watchers: Watcher[] = [];
  /** History windows by oid (open dossiers only). */
  private readonly windows = new Map<number, number>();

  constructor(
    private readonly rt: Tree,
    private readonly emit: Emit,
  ) {}

  private root(): Cell {
    if (this.dir === undefined) {
      const rt = this.rt.find('/rt')!;
      this.dir = rt.child('ops') ?? rt.add('ops');
    }
    return this.dir;
  }

  /** The dossier cell of `oid`. */
  dossier(oid: number): Cell {
    const c = Number.isSafeInteger(oid) && oid > 0 ? this.root().child(oid) : undefined;
    if (c === undefined) throw notFound(`OPS dossier ${String(oid)}`);
    return c;
  }

  /**
   * Open a dossier for `verb` (`op/...`); returns its oid. `fill` adds the owner's own blocks
   * while the dossier is built (between `envelope` and `history`: a name-indexed store filled in
   * name order needs no re-sort); if it throws, no dossier is left.
   */
  start(verb: string, options: OpStart = {}, fill?: (dossier: Cell) => void): number {
    if (typeof verb !== 'string' || !VERB.test(verb)) throw invalidArgValue('verb', `${JSON.stringify(verb)} is not an op/* verb`);
    const target = options.target ?? '/';
    if (typeof target !== 'string' || !target.startsWith('/')) throw invalidArgType('options.target', 'an absolute path', target);
    const mode = text(options.mode ?? 'opm:states', 'options.mode');
    const rt = this.rt;
    const d = rt.build(this.root(), null, undefined, (c) => {
      // children in name order (see `fill`)
      const env = c.add('envelope');
      env.add('mode', { value: mode });
      env.add('opened_bt', { value: u64leOf(rt.beat) });
      env.add('target', { value: target });
      env.add('verb', { value: verb });
      fill?.(c);
      c.add('history', { store: 'list', indexing: 'insertion' });
    });
    return Number(d.name);
  }

  private append(d: Cell, kind: 'state' | 'close', value: string, beat: number, window: number | undefined): void {
    const h = d.child('history')!;
    const e = h.add(null);
    e.add('beat', { value: u64leOf(beat) });
    e.add('kind', { value: kind });
    e.add('value', { value });
    if (window !== undefined) for (let n = h.childCount() - window; n > 0; n--) h.children()[0].removeHard();
  }

  /**
   * Give `oid`'s dossier a history window: from now on `history/` keeps the newest `entries`
   * entries (older ones are removed hard) and its `state` cell keeps no payload history
   * (`history/` is the record of its states). Ends when the dossier closes.
   */
  window(oid: number, entries: number): void {
    if (!Number.isSafeInteger(entries) || entries < 1) throw outOfRange('entries', 'an integer >= 1', entries);
    this.open(oid);
    this.windows.set(oid, entries);
  }

  private open(oid: number): Cell {
    const d = this.dossier(oid);
    if (d.child('status') !== undefined) throw invalidState(d.path, 'the operation is closed');
    return d;
  }

  /**
   * Record a new state (`ist:*`). `at`: the beat the state began when it is recorded later
   * (default: this beat); the caller keeps history beats in order.
   */
  state(oid: number, state: string, at: number = this.rt.beat): void {
    text(state, 'state');
    if (!Number.isSafeInteger(at) || at < 0 || at > this.rt.beat) throw outOfRange('at', `a beat in 0 .. ${this.rt.beat}`, at);
    const d = this.open(oid);
    const window = this.windows.get(oid);
    const s = d.child('state');
    if (s === undefined) d.add('state', { value: state });
    else if (window !== undefined) s.setHard(state);
    else s.set(state);
    this.append(d, 'state', state, at, window);
  }

  /** Close with a status (`sts:ok`, `sts:fail`, `sts:cnl`, ...). */
  close(oid: number, status: string): void {
    text(status, 'status');
    const d = this.open(oid);
    d.add('status', { value: status });
    d.add('closed_bt', { value: u64leOf(this.rt.beat) });
    this.append(d, 'close', status, this.rt.beat, this.windows.get(oid));
    this.windows.delete(oid);
  }

  /** Whether the dossier is still open. */
  isOpen(oid: number): boolean {
    return this.dossier(oid).child('status') === undefined;
  }

  /** The dossier's current state and status. */
  info(oid: number): { verb: string; state: string | undefined; status: string | undefined; history: Array<{ beat: number; kind: string; value: string }> } {
    const d = this.dossier(oid);
    const rd = (c: Cell | undefined) => c?.text;
    const history = d
      .child('history')!
      .children()
      .map((e) => ({ beat: Number(new DataView(e.child('beat')!.value!.buffer).getBigUint64(0, true)), kind: e.child('kind')!.text!, value: e.child('value')!.text! }));
    return { verb: d.child('envelope')!.child('verb')!.text!, state: rd(d.child('state')), status: rd(d.child('status')), history };
  }

  /** Watch `oid` for a state or status; returns the watcher id. */
  await(oid: number, options: OpAwait): number {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const want = text(options.want, 'options.want');
    if (!Number.isSafeInteger(options.ttl) || options.ttl < 1) throw outOfRange('options.ttl', 'an integer >= 1', options.ttl);
    const d = this.dossier(oid);
    const target = options.target ?? d.path;
    if (typeof target !== 'string' || !target.startsWith('/')) throw invalidArgType('options.target', 'an absolute path', target);
    const deadline = this.rt.beat + options.ttl;
    const cell = this.watcherEntry(d, want, deadline, target);
    const id = Number(cell.name);
    this.watchers.push({ oid, id, want, deadline, target, cell });
    return id;
  }

  /**
   * Take back watcher `id` on `oid` before it fires (its target stopped waiting: an awaiting
   * episode cancelled, say): it leaves the watch list and the dossier. False when it is not
   * armed (it fired already, or never was).
   */
  unwatch(oid: number, id: number): boolean {
    const k = this.watchers.findIndex((w) => w.oid === oid && w.id === id);
    if (k < 0) return false;
    const [w] = this.watchers.splice(k, 1);
    if (!w.cell.isFinalized) w.cell.removeHard();
    return true;
  }

  /**
   * Write a standing watcher on `oid` (`deadline_bt` 0: no deadline) and return its cell. It is
   * evidence for tooling only: `commit` does not fire it; its owner acts on it in-process and
   * removes it (`removeHard`) when it stops waiting.
   */
  standing(oid: number, want: string, target: string): Cell {
    text(want, 'want');
    if (typeof target !== 'string' || !target.startsWith('/')) throw invalidArgType('target', 'an absolute path', target);
    return this.watcherEntry(this.dossier(oid), want, 0, target);
  }

  private watcherEntry(d: Cell, want: string, deadline: number, target: string): Cell {
    const ws = d.child('watchers') ?? d.add('watchers');
    const cell = ws.add(null);
    cell.add('deadline_bt', { value: u64leOf(deadline) }); // in name order: no re-sort
    cell.add('target', { value: target });
    cell.add('want', { value: want });
    return cell;
  }

  /** Open watchers. */
  get watching(): number {
    return this.watchers.length;
  }

  /** Commit of beat `n`: fire watchers that are satisfied (`op/cont`) or out of time (`op/tmo`). */
  commit(n: number): void {
    if (this.watchers.length === 0) return;
    const keep: Watcher[] = [];
    for (const w of this.watchers) {
      const d = this.root().child(w.oid);
      const now = d === undefined ? undefined : [d.child('state')?.text, d.child('status')?.text];
      let signal: string | undefined;
      if (now !== undefined && (now[0] === w.want || now[1] === w.want)) signal = 'op/cont';
      else if (n >= w.deadline || d === undefined) signal = 'op/tmo';
      if (signal === undefined) {
        keep.push(w);
        continue;
      }
      if (!w.cell.isFinalized) w.cell.removeHard();
      this.emit(signal, w.target, String(w.oid));
    }
    this.watchers = keep;
  }
}
