/**
 * The enzyme registry and bindings of one runtime, and agenda resolution: which enzymes run for
 * an impulse, in which order. Registrations and bindings made during a beat are pending and
 * activate when the next beat starts, so a beat's agendas never change under it.
 */
import { enzymeConflict, invalidArgType, invalidArgValue } from '../../errors.js';
import type { EnzymeContext } from '../heartbeat/context.js';
import type { Tree } from '../../kernel/tree.js';
import { checkSignal, checkTarget, signalMatches, type MatchKind } from './signal.js';

/** What an enzyme returns: `ok` (or nothing), `retry` (the impulse runs again next beat), `fatal`. */
export type EnzymeResult = 'ok' | 'retry' | 'fatal' | void | undefined;

export interface EnzymeDescriptor<R extends Tree = Tree> {
  /** Unique name (`enz_add`, `app:mailer`, ...). */
  name: string;
  /** Free text for people (`cell.add`). */
  label?: string;
  /** The signal pattern. */
  signal: string;
  /** How `signal` matches (default `exact`). */
  match?: MatchKind;
  /** Names of enzymes this one must run before / after (when both are on one agenda). */
  before?: readonly string[];
  after?: readonly string[];
  /** The enzyme may run twice on one impulse with no extra effect. */
  idempotent?: boolean;
  run(ctx: EnzymeContext<R>): EnzymeResult;
}

/** A registered enzyme (immutable once registered). */
export class Enzyme {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly label: string,
    readonly signal: string,
    readonly match: MatchKind,
    readonly before: readonly string[],
    readonly after: readonly string[],
    readonly idempotent: boolean,
    readonly run: (ctx: EnzymeContext) => EnzymeResult,
  ) {}
}

interface BindingEntry {
  name: string;
  propagate: boolean;
  /** A tombstone masks bindings of `name` inherited from ancestors (here and below). */
  tombstone: boolean;
}

/** One resolved agenda entry list for an impulse, and whether its dependencies had a cycle. */
export interface Agenda {
  enzymes: Enzyme[];
  cycle: string[] | null;
}

const MATCH_RANK: Record<MatchKind, number> = { exact: 2, glob: 1, prefix: 0 };
const EMPTY: Agenda = { enzymes: [], cycle: null };
const CACHE_MAX = 1 << 17;

function names(value: unknown, what: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidArgType(what, 'an array of enzyme names', value);
  return Object.freeze([...value].sort());
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class EnzymeRegistry {
  /** Active enzymes by name, and in registration order. */
  private readonly active = new Map<string, Enzyme>();
  private readonly order: Enzyme[] = [];
  private readonly pending: Enzyme[] = [];
  private readonly bindings = new Map<string, BindingEntry[]>();
  private readonly pendingBindings: Array<[string, BindingEntry]> = [];
  /** signal -> target -> agenda. Cleared whenever activation changes. */
  private cache = new Map<string, Map<string | null, Agenda>>();
  private cached = 0;
  /** Set by the heartbeat while a beat runs: changes go pending. */
  deferring = false;

  get size(): number {
    return this.active.size + this.pending.length;
  }

  get activeSize(): number {
    return this.active.size;
  }

  enzyme(name: string): Enzyme | undefined {
    return this.active.get(name) ?? this.pending.find((e) => e.name === name);
  }

  /** Register (idempotent: the same descriptor again returns the existing enzyme). */
  register(d: EnzymeDescriptor): Enzyme {
    if (d === null || typeof d !== 'object') throw invalidArgType('descriptor', 'an object', d);
    if (typeof d.name !== 'string' || d.name.length === 0) throw invalidArgType('descriptor.name', 'a non-empty string', d.name);
    checkSignal(d.signal, 'descriptor.signal');
    const match = d.match ?? 'exact';
    if (match !== 'exact' && match !== 'prefix' && match !== 'glob') throw invalidArgValue('descriptor.match', `must be exact, prefix or glob (got ${String(match)})`);
    if (typeof d.run !== 'function') throw invalidArgType('descriptor.run', 'a function', d.run);
    if (d.label !== undefined && typeof d.label !== 'string') throw invalidArgType('descriptor.label', 'a string', d.label);
    const before = names(d.before, 'descriptor.before');
    const after = names(d.after, 'descriptor.after');
    const label = d.label ?? d.name;
    const idem = d.idempotent === true;
    const old = this.enzyme(d.name);
    if (old !== undefined) {
      const diff =
        old.signal !== d.signal
          ? 'signal'
          : old.match !== match
            ? 'match'
            : old.run !== d.run
              ? 'run'
              : !sameList(old.before, before)
                ? 'before'
                : !sameList(old.after, after)
                  ? 'after'
                  : old.label !== label
                    ? 'label'
                    : old.idempotent !== idem
                      ? 'idempotent'
                      : '';
      if (diff !== '') throw enzymeConflict(d.name, `${diff} differs`);
      return old;
    }
    const e = new Enzyme(this.order.length + this.pending.length, d.name, label, d.signal, match, before, after, idem, d.run);
    if (this.deferring) this.pending.push(e);
    else this.activate(e);
    return e;
  }

  private activate(e: Enzyme): void {
    this.active.set(e.name, e);
    this.order.push(e);
    this.invalidate();
  }

  /** Bind `name` at `path` (`propagate`: descendants inherit it). Idempotent. */
  bind(path: string, name: string, propagate: boolean): void {
    checkTarget(path, 'path');
    // by name: the enzyme may be registered later (an unknown name matches nothing until then)
    if (typeof name !== 'string' || name.length === 0) throw invalidArgType('enzyme', 'an enzyme name', name);
    this.setBinding(path, { name, propagate, tombstone: false });
  }

  /** Remove `name`'s binding at `path` and mask what `path` would inherit (a tombstone). */
  unbind(path: string, name: string): void {
    checkTarget(path, 'path');
    if (typeof name !== 'string') throw invalidArgType('name', 'an enzyme name', name);
    this.setBinding(path, { name, propagate: true, tombstone: true });
  }

  private setBinding(path: string, entry: BindingEntry): void {
    if (this.deferring) this.pendingBindings.push([path, entry]);
    else this.applyBinding(path, entry);
  }

  private applyBinding(path: string, entry: BindingEntry): void {
    let list = this.bindings.get(path);
    if (list === undefined) this.bindings.set(path, (list = []));
    const i = list.findIndex((b) => b.name === entry.name);
    if (i >= 0) {
      const b = list[i];
      if (b.propagate === entry.propagate && b.tombstone === entry.tombstone) return;
      list[i] = entry;
    } else list.push(entry);
    this.invalidate();
  }

  /** Bindings at a path: [name, propagate, tombstone]. */
  bindingsAt(path: string): Array<{ name: string; propagate: boolean; tombstone: boolean }> {
    return (this.bindings.get(path) ?? []).map((b) => ({ ...b }));
  }

  /** Activate pending registrations and bindings (start of a beat). */
  activatePending(): void {
    if (this.pending.length > 0) {
      for (const e of this.pending.splice(0)) this.activate(e);
    }
    if (this.pendingBindings.length > 0) {
      for (const [p, b] of this.pendingBindings.splice(0)) this.applyBinding(p, b);
    }
  }

  /** Bumped whenever activation changes: agendas cached elsewhere are stale. */
  generation = 0;

  private invalidate(): void {
    this.generation++;
    if (this.cached > 0) {
      this.cache = new Map();
      this.cached = 0;
    }
    this.lastSignal = undefined;
    this.lastBySig = undefined;
  }

  /** The last signal's cache (impulses come in runs of one signal). */
  private lastSignal: string | undefined;
  private lastBySig: Map<string | null, Agenda> | undefined;

  /** The agenda for an impulse (cached until registrations or bindings change). */
  agenda(signal: string, target: string | null): Agenda {
    let bySig = signal === this.lastSignal ? this.lastBySig : this.cache.get(signal);
    if (bySig !== undefined) {
      const a = bySig.get(target);
      if (a !== undefined) return a;
    }
    if (this.cached >= CACHE_MAX) this.invalidate();
    if (bySig === undefined || this.cached === 0) {
      bySig = this.cache.get(signal);
      if (bySig === undefined) this.cache.set(signal, (bySig = new Map()));
    }
    this.lastSignal = signal;
    this.lastBySig = bySig;
    const a = this.resolve(signal, target);
    bySig.set(target, a);
    this.cached++;
    return a;
  }

  /**
   * Resolve: bindings along the target's ancestry (the nearest entry per enzyme name decides: a
   * tombstone masks, a binding applies at its own path or, with `propagate`, below it), signal
   * match, specificity order, then a topological sort on `before`/`after`.
   */
  private resolve(signal: string, target: string | null): Agenda {
    const found: Array<{ e: Enzyme; depth: number }> = [];
    if (target === null) {
      for (const e of this.order) if (signalMatches(e.match, e.signal, signal)) found.push({ e, depth: 0 });
    } else {
      if (this.bindings.size === 0) return EMPTY;
      const decided = new Set<string>();
      // walk the ancestry from the target itself up to `/` (level 0 = the target)
      let depth = 0;
      for (let p = target; ; depth++) {
        if (p === '/') break;
        const i = p.lastIndexOf('/');
        p = i === 0 ? '/' : p.slice(0, i);
      }
      let p = target;
      for (let level = 0; ; level++) {
        const list = this.bindings.get(p);
        if (list !== undefined) {
          for (const b of list) {
            if (decided.has(b.name)) continue;
            if (b.tombstone) {
              decided.add(b.name);
              continue;
            }
            if (level !== 0 && !b.propagate) continue;
            decided.add(b.name);
            const e = this.active.get(b.name);
            if (e !== undefined && signalMatches(e.match, e.signal, signal)) found.push({ e, depth: depth - level });
          }
        }
        if (p === '/') break;
        const i = p.lastIndexOf('/');
        p = i === 0 ? '/' : p.slice(0, i);
      }
    }
    if (found.length === 0) return EMPTY;
    // specificity: deeper binding, then exact > glob > prefix, then longer pattern, then registration
    found.sort((a, b) => b.depth - a.depth || MATCH_RANK[b.e.match] - MATCH_RANK[a.e.match] || b.e.signal.length - a.e.signal.length || a.e.index - b.e.index);
    const list = found.map((f) => f.e);
    return list.length === 1 ? { enzymes: list, cycle: null } : topoSort(list);
  }
}

/** Kahn's algorithm over `before`/`after` edges; ready nodes are taken in specificity order. */
function topoSort(list: Enzyme[]): Agenda {
  const n = list.length;
  const pos = new Map(list.map((e, i) => [e.name, i]));
  const succ: number[][] = list.map(() => []);
  const indeg = new Array<number>(n).fill(0);
  const edge = (from: number, to: number) => {
    if (from === to || succ[from].includes(to)) return;
    succ[from].push(to);
    indeg[to]++;
  };
  list.forEach((e, i) => {
    for (const b of e.before) {
      const j = pos.get(b);
      if (j !== undefined) edge(i, j);
    }
    for (const a of e.after) {
      const j = pos.get(a);
      if (j !== undefined) edge(j, i);
    }
  });
  const done = new Array<boolean>(n).fill(false);
  const out: Enzyme[] = [];
  for (;;) {
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if (!done[i] && indeg[i] === 0) {
        pick = i;
        break;
      }
    }
    if (pick < 0) break;
    done[pick] = true;
    out.push(list[pick]);
    for (const j of succ[pick]) indeg[j]--;
  }
  if (out.length === n) return { enzymes: out, cycle: null };
  // a cycle: the rest follows in specificity order (deterministic fallback)
  const rest = list.filter((_, i) => !done[i]);
  return { enzymes: out.concat(rest), cycle: rest.map((e) => e.name) };
}
