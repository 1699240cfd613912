/** Impulses of one beat in columns (no object per impulse). */
import type { StoredPayload } from './context.js';
import type { TargetInfo } from './targets.js';

/** QoS bits of an impulse. */
export const QOS_RETAIN_ON_PAUSE = 1;
export const QOS_DISCARD_ON_ROLLBACK = 2;
/** Runs while the runtime is paused (PRR controls, OPS continuations, CEI). */
export const QOS_CONTROL = 4;
export const QOS_DEFAULT = QOS_RETAIN_ON_PAUSE;

/** QoS as callers spell it. */
export interface ImpulseQos {
  retainOnPause?: boolean;
  discardOnRollback?: boolean;
  control?: boolean;
}

export function qosBits(q: ImpulseQos): number {
  return (q.retainOnPause === false ? 0 : QOS_RETAIN_ON_PAUSE) | (q.discardOnRollback === true ? QOS_DISCARD_ON_ROLLBACK : 0) | (q.control === true ? QOS_CONTROL : 0);
}

export class ImpulseQueue {
  sig: string[] = [];
  tgt: Array<string | null> = [];
  pay: StoredPayload[] = [];
  qos: number[] = [];
  /** A retried impulse: enzymes not to run again (they finished, and are not idempotent). */
  skip: Array<ReadonlySet<string> | undefined> = [];
  /** The target's cache entry when the pusher had it (else looked up at dispatch). */
  info: Array<TargetInfo | undefined> = [];
  n = 0;

  push(s: string, t: string | null, p: StoredPayload, q: number, skip?: ReadonlySet<string>, info?: TargetInfo): void {
    const i = this.n++;
    this.sig[i] = s;
    this.tgt[i] = t;
    this.pay[i] = p;
    this.qos[i] = q;
    this.skip[i] = skip;
    this.info[i] = info;
  }

  /** Empty it, letting go of payloads (and of big columns, so one burst does not pin memory). */
  clear(): void {
    if (this.n > 65536) {
      this.sig = [];
      this.tgt = [];
      this.pay = [];
      this.qos = [];
      this.skip = [];
      this.info = [];
    } else {
      this.pay.fill(undefined, 0, this.n);
      this.skip.fill(undefined, 0, this.n);
      this.info.fill(undefined, 0, this.n);
    }
    this.n = 0;
  }
}
