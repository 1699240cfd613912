/**
 * Per-target caches for the hot path: one map lookup per impulse finds the validated target,
 * its journal text id for this beat and its last agenda. Each is only a cache: the codec's
 * text table and the registry stay the truth, so a cleared table changes no output.
 */
import type { Agenda } from '../enzyme/registry.js';
import { checkTarget } from '../enzyme/signal.js';

export class TargetInfo {
  /** Codec epoch (beat) and text id of this target in the journal encoding. */
  epoch = -1;
  id = 0;
  /** The last agenda resolved for this target: its signal and the registry generation. */
  agSignal: string | undefined = undefined;
  agGen = -1;
  agenda: Agenda | undefined = undefined;
}

const MAX = 65536;

export class TargetTable {
  private map = new Map<string, TargetInfo>();

  /** The info of a target path, validating it on first sight (throws on a bad path). */
  get(target: string): TargetInfo {
    let t = this.map.get(target);
    if (t === undefined) {
      checkTarget(target);
      if (this.map.size >= MAX) this.map = new Map(); // bounded: infos still held by queues stay valid
      t = new TargetInfo();
      this.map.set(target, t);
    }
    return t;
  }
}
