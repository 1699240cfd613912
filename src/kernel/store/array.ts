/** Array store: contiguous; sorted indexings binary-search the insertion point. */
import type { Cell } from '../cell/cell.js';
import { SEE_NOW, seen } from '../cell/flags.js';
import { compareNameParts } from '../naming/name.js';
import { ChildStore, type Key } from './types.js';

export class ArrayStore extends ChildStore {
  readonly kind = 'array' as const;
  private cells: Cell[] = [];
  private keys: Key[] | null = null;

  get total(): number {
    return this.cells.length;
  }

  insert(cell: Cell, key: Key, prepend: boolean, pos = -1): void {
    const order = this.order;
    const cells = this.cells;
    if (this.keys === null && key !== undefined) this.keys = new Array<Key>(cells.length).fill(undefined);
    let at: number;
    if (order === null) at = pos >= 0 ? this.rawIndex(pos) : prepend ? 0 : cells.length;
    else {
      // upper bound: first entry strictly after the new one
      let lo = 0;
      let hi = cells.length;
      const keys = this.keys;
      if (hi > 0 && order(cells[hi - 1], keys === null ? undefined : keys[hi - 1], cell, key) <= 0) lo = hi;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (order(cells[mid], keys === null ? undefined : keys[mid], cell, key) <= 0) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
    }
    if (at === cells.length) {
      cells.push(cell);
      if (this.keys !== null) this.keys.push(key);
    } else {
      cells.splice(at, 0, cell);
      if (this.keys !== null) this.keys.splice(at, 0, key);
    }
  }

  /** Raw index of the `visible`-th entry seen now (the end when there are fewer). */
  private rawIndex(visible: number): number {
    const cells = this.cells;
    for (let i = 0, k = 0; i < cells.length; i++) {
      if (!seen(cells[i], SEE_NOW)) continue;
      if (k++ === visible) return i;
    }
    return cells.length;
  }

  override findName(dom: number, hi: number, lo: number, mode: number): Cell | undefined {
    if (this.indexing !== 'name') return super.findName(dom, hi, lo, mode);
    const cells = this.cells;
    let a = 0;
    let b = cells.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const c = cells[mid];
      if (compareNameParts(c.dom, c.hi, c.lo, dom, hi, lo) < 0) a = mid + 1;
      else b = mid;
    }
    for (; a < cells.length; a++) {
      const c = cells[a];
      if (c.lo !== lo || c.hi !== hi || c.dom !== dom) return undefined;
      if (seen(c, mode)) return c;
    }
    return undefined;
  }

  remove(cell: Cell): boolean {
    const i = this.cells.indexOf(cell);
    if (i < 0) return false;
    this.cells.splice(i, 1);
    if (this.keys !== null) this.keys.splice(i, 1);
    return true;
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    const cells = this.cells;
    for (let i = 0; i < cells.length; i++) if (fn(cells[i]) === true) return;
  }
}
