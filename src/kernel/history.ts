/**
 * The payload history log: one runtime-wide, columnar, append-only table of past payload
 * versions. A cell holds its current payload inline and, once it has been modified, the index
 * of its newest past entry (`hist`); entries chain backwards through `prev` (-1 ends). Each
 * entry costs 20 bytes (beat, meta, prev as int32 columns, one slot for the payload reference)
 * and no object. Entries freed by hard operations are recycled through a free list. An entry
 * records the version that was current from `beat` until the next one: VALUE (arena offset),
 * DATA (Uint8Array), none, a link's target cell, or a HANDLE/STREAM snapshot (or undefined).
 */
export class HistoryLog {
  beat: Int32Array;
  /** Payload bits of the version (kind and VALUE length, same layout as the cell flags). */
  meta: Int32Array;
  prev: Int32Array;
  /** VALUE: arena offset; DATA: Uint8Array; HANDLE/STREAM: adapter; link: target cell. */
  pv: unknown[];
  private top = 0;
  private free = -1;
  /** Entries in use. */
  live = 0;

  constructor(capacity = 1024) {
    this.beat = new Int32Array(capacity);
    this.meta = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.pv = new Array(capacity).fill(0);
  }

  private grow(): void {
    const n = this.beat.length * 2;
    const b = new Int32Array(n);
    b.set(this.beat);
    this.beat = b;
    const m = new Int32Array(n);
    m.set(this.meta);
    this.meta = m;
    const p = new Int32Array(n);
    p.set(this.prev);
    this.prev = p;
    for (let i = this.pv.length; i < n; i++) this.pv.push(0);
  }

  push(beat: number, meta: number, pv: unknown, prev: number): number {
    let i = this.free;
    if (i >= 0) this.free = this.prev[i];
    else {
      if (this.top === this.beat.length) this.grow();
      i = this.top++;
    }
    this.beat[i] = beat;
    this.meta[i] = meta;
    this.pv[i] = pv;
    this.prev[i] = prev;
    this.live++;
    return i;
  }

  /** Free a whole chain (from its head); the caller accounts for the arena bytes it held. */
  freeChain(head: number): void {
    let i = head;
    while (i >= 0) {
      const next = this.prev[i];
      this.beat[i] = -1; // free: `prune` skips it
      this.pv[i] = 0;
      this.prev[i] = this.free;
      this.free = i;
      this.live--;
      i = next;
    }
  }

  /**
   * Retention: drop the versions no read at `horizon` or later can reach. A version records what
   * was current from its beat until the next one, so in each chain the newest entry at or before
   * `horizon` still answers reads from `horizon` on and every older entry behind it goes.
   * `onFree(meta)` is called per freed entry (the runtime counts VALUE bytes as arena garbage).
   * Chains of links and proxies (kinds above DATA) are kept whole. One pass over the columns:
   * O(entries), run every few thousand beats by the runtime (`historyBeats`).
   */
  prune(horizon: number, kindOf: (meta: number) => number, onFree: (meta: number) => void): number {
    let freed = 0;
    const { beat, prev, meta } = this;
    for (let s = 0; s < this.top; s++) {
      const old = prev[s];
      if (old < 0 || beat[s] < 0 || beat[s] > horizon || kindOf(meta[s]) > 2) continue;
      for (let e = old; e >= 0; e = prev[e]) {
        onFree(meta[e]);
        freed++;
      }
      prev[s] = -1;
      this.freeChain(old);
    }
    return freed;
  }

  /** Entries allocated in the columns (in use or free). */
  get capacity(): number {
    return this.beat.length;
  }
}
