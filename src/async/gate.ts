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
  // sorted mode: arrival order (mostly already in sequence order: sorted only when not)
  #seqs: number[] = [];
  #items: T[] = [];
  // prefix mode
  #ready = new Map<number, T>();
  #next = 1; // the oldest sequence not yet released
  #skipped = new Set<number>(); // sequences that will never arrive
  readonly order: GateOrder;

  constructor(order: GateOrder) {
    this.order = order;
  }

  get size(): number {
    return this.order === 'sorted' ? this.#seqs.length : this.#ready.size;
  }

  put(seq: number, item: T): void {
    if (this.order === 'sorted') {
      this.#seqs.push(seq);
      this.#items.push(item);
    } else {
      this.#ready.set(seq, item);
    }
  }

  /** Prefix mode: a sequence that will produce nothing here (handled elsewhere). */
  skip(seq: number): void {
    this.#skipped.add(seq);
    this.#passSkipped();
  }

  // Moves the oldest outstanding sequence past skipped ones at once, so the skipped set holds
  // only those behind an unfinished one (a caller awaiting task after task keeps it empty,
  // rather than leaving every releasable check to walk all the skips since the last drain).
  #passSkipped(): void {
    while (this.#skipped.delete(this.#next)) this.#next++;
  }

  /** Whether `drain()` would release something now. */
  get releasable(): boolean {
    if (this.order === 'sorted') return this.#seqs.length > 0;
    return this.#ready.has(this.#next);
  }

  drain(limit = Infinity): T[] {
    return this.order === 'sorted' ? this.#drainSorted(limit) : this.#drainPrefix(limit);
  }

  #drainSorted(limit: number): T[] {
    const seqs = this.#seqs;
    let inOrder = true;
    for (let i = 1; i < seqs.length && inOrder; i++) inOrder = seqs[i - 1] < seqs[i];
    let items = this.#items;
    if (!inOrder) {
      const idx = seqs.map((_, i) => i).sort((a, b) => seqs[a] - seqs[b]);
      items = idx.map((i) => this.#items[i]);
      const sorted = idx.map((i) => seqs[i]);
      this.#seqs = sorted;
      this.#items = items;
    }
    if (limit >= items.length) {
      this.#seqs = [];
      this.#items = [];
      return items;
    }
    const out = items.slice(0, limit);
    this.#seqs = this.#seqs.slice(limit);
    this.#items = items.slice(limit);
    return out;
  }

  #drainPrefix(limit: number): T[] {
    const out: T[] = [];
    for (;;) {
      this.#passSkipped();
      const item = this.#ready.get(this.#next);
      if (item === undefined || out.length >= limit) break;
      this.#ready.delete(this.#next++);
      out.push(item);
    }
    return out;
  }
}
