/**
 * Branch policies (docs/persistence.md): how and when a `/data/<branch>` controller asks for its
 * branch to be written. Pure: validation and the per-beat decision, no runtime or engine.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../../errors.js';

export type PolicyMode = 'durable' | 'scheduled' | 'on_demand' | 'volatile' | 'ro_snapshot';

export const POLICY_MODES: readonly PolicyMode[] = ['durable', 'scheduled', 'on_demand', 'volatile', 'ro_snapshot'];

export interface BranchPolicy {
  /** 'durable' (every dirty beat, default), 'scheduled', 'on_demand', 'volatile' (never written), 'ro_snapshot' (sealed, written once). */
  mode?: PolicyMode;
  /** Scheduled: flush when `beat - lastPersisted >= flushEveryBeats` (0 or 1: no recurrence). */
  flushEveryBeats?: number;
  /** Scheduled: flush at this beat (one shot; `op/br_sched` sets it). */
  flushScheduledBt?: number;
  /** Write the branch when shutdown reaches `ist:flush` (default true except volatile). */
  flushOnShutdown?: boolean;
  /** Durable / scheduled consumers may read this branch's volatile or dirty sources (recorded as decisions). */
  allowVolatileReads?: boolean;
  /** Not rebuilt at open: loaded on first `hydrate` (with depth / byte budgets). */
  lazy?: boolean;
}

/** A validated policy with every field filled in. */
export interface ResolvedPolicy {
  mode: PolicyMode;
  flushEveryBeats: number;
  flushScheduledBt: number;
  flushOnShutdown: boolean;
  allowVolatileReads: boolean;
  lazy: boolean;
}

function beatCount(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw outOfRange(name, 'an integer >= 0', v);
  return v;
}

function flag(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw invalidArgType(name, 'a boolean', v);
  return v;
}

/** Check a policy and fill in the defaults; refused input throws before anything changes. */
export function resolvePolicy(p: BranchPolicy | PolicyMode | undefined, name = 'policy'): ResolvedPolicy {
  if (typeof p === 'string') p = { mode: p };
  if (p === undefined) p = {};
  if (p === null || typeof p !== 'object') throw invalidArgType(name, 'a policy object or mode', p);
  const mode = p.mode ?? 'durable';
  if (!POLICY_MODES.includes(mode)) throw invalidArgValue(`${name}.mode`, `${JSON.stringify(mode)} is not one of ${POLICY_MODES.join(', ')}`);
  return {
    mode,
    flushEveryBeats: beatCount(p.flushEveryBeats, `${name}.flushEveryBeats`, 0),
    flushScheduledBt: beatCount(p.flushScheduledBt, `${name}.flushScheduledBt`, 0),
    flushOnShutdown: flag(p.flushOnShutdown, `${name}.flushOnShutdown`, mode !== 'volatile'),
    allowVolatileReads: flag(p.allowVolatileReads, `${name}.allowVolatileReads`, false),
    lazy: flag(p.lazy, `${name}.lazy`, false),
  };
}

/** Why a branch is written this beat (published as `branch_stat/last_cause`), or null: not now. */
export type FlushCause = 'durable' | 'schedule' | 'interval' | 'force' | 'shutdown' | 'snapshot';

/**
 * The per-beat decision. `pending`: the branch changed since it was last written; `force`: an
 * operator asked (`op/br_flush`); `lastPersisted`: beat of its last frame (-1: none).
 */
export function flushCause(p: ResolvedPolicy, beat: number, pending: boolean, force: boolean, lastPersisted: number): FlushCause | null {
  if (p.mode === 'volatile' || p.mode === 'ro_snapshot') return null;
  if (force) return pending || lastPersisted < 0 ? 'force' : null;
  if (!pending) return null;
  switch (p.mode) {
    case 'durable':
      return 'durable';
    case 'scheduled':
      // an explicit schedule comes first, then the recurring interval
      if (p.flushScheduledBt > 0 && beat >= p.flushScheduledBt) return 'schedule';
      if (p.flushEveryBeats > 1 && beat - Math.max(lastPersisted, 0) >= p.flushEveryBeats) return 'interval';
      return null;
    default:
      return null; // on_demand: only when forced
  }
}
