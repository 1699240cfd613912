/** What an enzyme's `run(ctx)` sees: the impulse, the beat, the runtime, decisions and emits. */
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import type { CeiFact } from '../cei/cei.js';

import { invalidArgType } from '../../errors.js';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An impulse payload: bytes, text, any other JSON value, or nothing. */
export type ImpulsePayload = Uint8Array | JsonValue | undefined;

/** A JSON payload other than text, held as its JSON text (each reader gets a fresh copy). */
export class JsonPayload {
  constructor(readonly json: string) {}

  value(): JsonValue {
    return JSON.parse(this.json) as JsonValue;
  }
}

/** The queued form of a payload. */
export type StoredPayload = Uint8Array | string | JsonPayload | undefined;

/** Check a caller's payload and turn it into its queued form. */
export function storePayload(p: unknown): StoredPayload {
  if (p === undefined || typeof p === 'string' || p instanceof Uint8Array) return p;
  let json: string | undefined;
  try {
    json = JSON.stringify(p);
  } catch {
    json = undefined;
  }
  if (json === undefined || typeof p === 'function' || typeof p === 'symbol') throw invalidArgType('payload', 'a Uint8Array, a string, another JSON value or undefined', p);
  return new JsonPayload(json);
}

/** What an enzyme sees of a queued payload. */
export function readPayload(p: StoredPayload): ImpulsePayload {
  return p instanceof JsonPayload ? p.value() : p;
}

/** The heartbeat services a context forwards to. */
export interface ContextHost {
  decide<T>(kind: string, fn: () => T): T;
  emit(signal: string, target: string | null, payload?: ImpulsePayload): void;
  report(fact: CeiFact): Cell;
}

/** One object per runtime, refilled before each enzyme call; valid only during that call. */
export class EnzymeContext<R extends Tree = Tree> {
  /** The impulse's signal path (`sig_cell/op_add`). */
  signal = '';
  /** The impulse's target path, or null for a signal-only impulse. */
  target: string | null = null;
  payload: ImpulsePayload = undefined;
  /** The beat running now. */
  beat = 0;
  /** Name of the running enzyme. */
  enzyme = '';

  constructor(
    /** The runtime the enzyme runs in (a runtime's enzymes see the whole runtime). */
    readonly rt: R,
    private readonly host: ContextHost,
  ) {}

  /**
   * A nondeterministic input (clock, randomness, an external answer): `fn()` now, recorded
   * under `/journal/decisions`; a replaying runtime returns the recorded value instead. The
   * value must be JSON-serializable.
   */
  decide<T>(kind: string, fn: () => T): T {
    return this.host.decide(kind, fn);
  }

  /** Queue an impulse for the next beat. */
  emit(signal: string, target: string | null, payload?: ImpulsePayload): void {
    this.host.emit(signal, target, payload);
  }

  /** Record a CEI fact (like `rt.cei`): default mailbox `/data/mailbox/diag`. */
  cei(fact: CeiFact): Cell {
    return this.host.report(fact);
  }

  /** The target cell now, or undefined. */
  cell(): Cell | undefined {
    return this.target === null ? undefined : this.rt.find(this.target);
  }
}
