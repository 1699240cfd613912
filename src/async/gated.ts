/**
 * What the reactor and the executor share: finished work waits in a completion gate until
 * `drain()` releases it in submission order, with a signal when something can be released.
 */
import { CompletionGate, type GateOrder } from './gate.js';
import { ReadySignal } from './ready.js';

export abstract class Gated<T> {
  protected readonly gate: CompletionGate<T>;
  readonly #ready = new ReadySignal();
  /** Submitted and not yet drained. */
  protected outstanding = 0;

  constructor(order: GateOrder) {
    this.gate = new CompletionGate<T>(order);
  }

  /** Sends what was submitted in this JS turn to the backend now. */
  protected abstract flush(): void;

  /** Finished work in submission order; it leaves the queue. */
  drain(limit?: number): T[] {
    const out = this.gate.drain(limit);
    this.outstanding -= out.length;
    return out;
  }

  /** Calls `fn` on the JS thread whenever finished work can be drained (the heartbeat hooks in here). */
  onReady(fn: () => void): () => void {
    return this.#ready.on(fn);
  }

  /** Resolves once something can be drained. */
  whenReady(): Promise<void> {
    this.flush();
    if (this.gate.releasable) return Promise.resolve();
    return this.#ready.next();
  }

  /** After new results entered the gate. */
  protected signal(): void {
    if (this.gate.releasable) this.#ready.fire();
  }
}
