/**
 * The completion gate: finished work waits here, in whatever order it finished, until the
 * runtime drains it. `drain` releases in submission order (by sequence number), so what a
 * beat sees never depends on which thread finished first:
 *  - 'sorted': everything finished, sorted by sequence;
 *  - 'prefix': only the unbroken run of sequences from the oldest outstanding one (a result
 *    never enters before an earlier submission's).
 */
export type GateOrder = 'sorted' | 'prefix';

export class CompletionGate<T> {
  #ready = new Map<number, T>();
  #next = 1; // prefix mode: the oldest sequence not yet released
  #skipped = new Set<number>(); // prefix mode: sequences that will never arrive
  readonly order: GateOrder;

  constructor(order: GateOrder) {
    this.order = order;
  }

  get size(): number {
    return this.#ready.size;
  }

  put(seq: number, item: T): void {
    this.#ready.set(seq, item);
  }

  /** Prefix mode: a sequence that will produce nothing (refused at submission). */
  skip(seq: number): void {
    this.#skipped.add(seq);
  }

  /** Whether `drain()` would release something now. */
  get releasable(): boolean {
    if (this.order === 'sorted') return this.#ready.size > 0;
    let next = this.#next;
    while (this.#skipped.has(next)) next++;
    return this.#ready.has(next);
  }

  has(seq: number): boolean {
    return this.#ready.has(seq);
  }

  drain(limit = Infinity): T[] {
    const out: T[] = [];
    if (this.order === 'prefix') {
      for (;;) {
        if (this.#skipped.delete(this.#next)) {
          this.#next++;
          continue;
        }
        const item = this.#ready.get(this.#next);
        if (item === undefined || out.length >= limit) break;
        this.#ready.delete(this.#next++);
        out.push(item);
      }
      return out;
    }
    const seqs = [...this.#ready.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      if (out.length >= limit) break;
      out.push(this.#ready.get(seq)!);
      this.#ready.delete(seq);
    }
    return out;
  }
}
