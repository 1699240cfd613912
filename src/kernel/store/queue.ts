/** Packed queue store: a growable ring buffer (insertion order only; O(1) at both ends). */
import type { Cell } from '../cell/cell.js';
import { ChildStore, type Key } from './types.js';

export class QueueStore extends ChildStore {
  readonly kind = 'queue' as const;
  private buf: (Cell | undefined)[] = new Array(8).fill(undefined);
  private head = 0;
  private n = 0;

  get total(): number {
    return this.n;
  }

  private grow(): void {
    const old = this.buf;
    const next: (Cell | undefined)[] = new Array(old.length * 2).fill(undefined);
    for (let i = 0; i < this.n; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.buf = next;
    this.head = 0;
  }

  insert(cell: Cell, _key: Key, prepend: boolean): void {
    if (this.n === this.buf.length) this.grow();
    const mask = this.buf.length - 1;
    if (prepend) {
      this.head = (this.head - 1) & mask;
      this.buf[this.head] = cell;
    } else {
      this.buf[(this.head + this.n) & mask] = cell;
    }
    this.n++;
  }

  remove(cell: Cell): boolean {
    const mask = this.buf.length - 1;
    for (let i = 0; i < this.n; i++) {
      if (this.buf[(this.head + i) & mask] !== cell) continue;
      for (let j = i; j < this.n - 1; j++) this.buf[(this.head + j) & mask] = this.buf[(this.head + j + 1) & mask];
      this.buf[(this.head + this.n - 1) & mask] = undefined;
      this.n--;
      return true;
    }
    return false;
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    const mask = this.buf.length - 1;
    for (let i = 0; i < this.n; i++) if (fn(this.buf[(this.head + i) & mask]!) === true) return;
  }
}
