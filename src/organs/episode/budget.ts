/**
 * Budgets (docs/episodes.md: Execution context and budgets): accounted I/O bytes and CPU
 * milliseconds, per slice and per episode. I/O is counted as the slice accounts it (the slice
 * is told what it may still account); CPU time is charged when the slice returns, through a
 * recorded decision, so a replay reaches the same verdict. An overrun records a fact and cancels
 * the episode (`sts:cxl`).
 */
import { outOfRange, invalidArgType } from '../../errors.js';
import type { Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import type { Dossiers } from './dossier.js';
import type { Episode, EpisodeBudget } from './episode.js';
import type { Leases } from './leases.js';
import type { SliceOutcome } from './slice-runner.js';

const CPU_DECISION = 'ep:cpu';

/** A `budget` start option, checked (`{}` when absent). */
export function checkBudget(b: unknown): EpisodeBudget {
  if (b === undefined) return {};
  if (b === null || typeof b !== 'object') throw invalidArgType('budget', 'an object', b);
  const out: EpisodeBudget = {};
  for (const k of ['cpuMs', 'sliceCpuMs', 'ioBytes', 'sliceIoBytes'] as const) {
    const v = (b as EpisodeBudget)[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw outOfRange(`budget.${k}`, 'a finite number >= 0', v);
    out[k] = v;
  }
  return out;
}

/** Whether slices are timed: only a CPU budget makes the engine measure (and record) anything. */
export function isTimed(b: EpisodeBudget): boolean {
  return b.cpuMs !== undefined || b.sliceCpuMs !== undefined;
}

/** Bytes this slice may still account (-1: unlimited), with `io` bytes accounted so far. */
export function ioLeft(ep: Episode, io = ep.io): number {
  const b = ep.budget;
  let left = -1;
  if (b.ioBytes !== undefined) left = Math.max(0, b.ioBytes - io);
  if (b.sliceIoBytes !== undefined) left = left < 0 ? b.sliceIoBytes : Math.min(left, b.sliceIoBytes);
  return left;
}

export class Budgets {
  constructor(
    private readonly hb: Heartbeat,
    private readonly dossiers: Dossiers,
    private readonly leases: Leases,
  ) {}

  /** Charge a slice's I/O and CPU time to its episode; an overrun records its fact and cancels the episode. */
  charge(ep: Episode, out: SliceOutcome): void {
    ep.io += out.io;
    if (out.over) {
      this.dossiers.fact(ep, 'warn', 'ep:bud/io', `episode ${ep.eid}: I/O budget overrun (${ep.io} bytes accounted)`);
      ep.cancel = true;
    }
    const b = ep.budget;
    if (!isTimed(b)) return;
    // measured time is a nondeterministic input: recorded (in the journal), and replayed
    this.leases.unguard();
    const ms = this.hb.decide(CPU_DECISION, () => out.ms);
    ep.cpu += ms;
    if ((b.sliceCpuMs !== undefined && ms > b.sliceCpuMs) || (b.cpuMs !== undefined && ep.cpu > b.cpuMs)) {
      this.dossiers.fact(ep, 'warn', 'ep:bud/cpu', `episode ${ep.eid}: CPU budget overrun (${ms.toFixed(3)} ms this slice, ${ep.cpu.toFixed(3)} ms in all)`);
      ep.cancel = true;
    }
  }
}
