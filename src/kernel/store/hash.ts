/**
 * Hash table store: open addressing (linear probing) on the child's name, so lookups by name
 * are O(1) whatever the indexing. Live names are unique. The table is two Int32Arrays: the
 * entry index (+1; 0 = empty) of the newest child per name, and that name's hash (so probing
 * and growing never touch cells that do not match). Entries are kept in one array in store
 * order: insertion order, or name order for 'name' indexing (kept sorted lazily: appends in
 * ascending name order keep it sorted for free; otherwise the entries are sorted once before
 * the next ordered walk and the table rebuilt).
 */
import type { Cell } from '../cell/cell.js';
import { seen } from '../cell/flags.js';
import { hashName } from '../naming/id.js';
import { ChildStore, compareCellNames, type Key } from './types.js';

export class HashStore extends ChildStore {
  readonly kind = 'hash' as const;
  private slot = new Int32Array(8);
  private codes = new Int32Array(8);
  private mask = 7;
  private used = 0;
  /** Every entry; null marks a removed one (compacted lazily). */
  private entries: (Cell | null)[] = [];
  private holes = 0;
  private sorted = true;
  private tailCell: Cell | null = null;
  /** Entries hidden behind a newer entry of the same name. */
  private dups = 0;
  /** Last probe (slot of the name, or the empty slot where it would go), reused by insert. */
  private pSlot = -1;
  private pCode = 0;
  private pDom = -1;
  private pHi = -1;
  private pLo = -1;

  get total(): number {
    return this.entries.length - this.holes;
  }

  private grow(capacity: number): void {
    const oldSlot = this.slot;
    const oldCodes = this.codes;
    const slot = new Int32Array(capacity);
    const codes = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < oldSlot.length; i++) {
      const e = oldSlot[i];
      if (e === 0) continue;
      const h = oldCodes[i];
      let j = h & mask;
      while (slot[j] !== 0) j = (j + 1) & mask;
      slot[j] = e;
      codes[j] = h;
    }
    this.slot = slot;
    this.codes = codes;
    this.mask = mask;
    this.pSlot = -1;
  }

  /** Rebuild the table from the entries (after a sort, compaction or prepend). */
  private rebuild(): void {
    let cap = 8;
    while (cap * 3 < this.entries.length * 4 + 4) cap *= 2;
    this.slot = new Int32Array(cap);
    this.codes = new Int32Array(cap);
    this.mask = cap - 1;
    this.used = 0;
    this.dups = 0;
    this.pSlot = -1;
    const e = this.entries;
    for (let k = 0; k < e.length; k++) {
      const c = e[k];
      if (c === null) continue;
      const i = this.probe(c.dom, c.hi, c.lo);
      const at = this.slot[i];
      if (at === 0) {
        this.slot[i] = k + 1;
        this.codes[i] = this.pCode;
        this.used++;
      } else {
        this.dups++;
        if (c.created >= e[at - 1]!.created) this.slot[i] = k + 1;
      }
    }
    this.pSlot = -1;
  }

  /** Slot holding the name, or the empty slot where it would go; cached for the next insert. */
  private probe(dom: number, hi: number, lo: number): number {
    const h = hashName(dom, hi, lo);
    const slot = this.slot;
    const codes = this.codes;
    const entries = this.entries;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const e = slot[i];
      if (e === 0) break;
      if (codes[i] === h) {
        const c = entries[e - 1]!;
        if (c.lo === lo && c.hi === hi && c.dom === dom) break;
      }
      i = (i + 1) & mask;
    }
    this.pSlot = i;
    this.pCode = h;
    this.pDom = dom;
    this.pHi = hi;
    this.pLo = lo;
    return i;
  }

  insert(cell: Cell, _key: Key, prepend: boolean): void {
    const dom = cell.dom;
    const hi = cell.hi;
    const lo = cell.lo;
    if (prepend && this.indexing === 'insertion') {
      this.entries.unshift(cell);
      this.rebuild();
      return;
    }
    const i = this.pSlot >= 0 && this.pLo === lo && this.pHi === hi && this.pDom === dom ? this.pSlot : this.probe(dom, hi, lo);
    this.pSlot = -1;
    const tail = this.tailCell;
    if (this.sorted && tail !== null && this.indexing === 'name' && (tail.dom !== dom || tail.hi > hi || (tail.hi === hi && tail.lo > lo))) {
      if (compareCellNames(tail, cell) > 0) this.sorted = false;
    }
    const entries = this.entries;
    entries.push(cell);
    this.tailCell = cell;
    const slot = this.slot;
    if (slot[i] === 0) {
      slot[i] = entries.length;
      this.codes[i] = this.pCode;
      if (++this.used * 4 > slot.length * 3) this.grow(slot.length * 2);
    } else {
      slot[i] = entries.length;
      this.dups++;
    }
  }

  override findName(dom: number, hi: number, lo: number, mode: number): Cell | undefined {
    const e = this.slot[this.probe(dom, hi, lo)];
    if (e === 0) return undefined;
    const c = this.entries[e - 1]!;
    if (seen(c, mode)) return c;
    return this.dups === 0 ? undefined : this.findOlder(c, mode);
  }

  private findOlder(newest: Cell, mode: number): Cell | undefined {
    const e = this.entries;
    for (let k = 0; k < e.length; k++) {
      const c = e[k];
      if (c !== null && c !== newest && c.lo === newest.lo && c.hi === newest.hi && c.dom === newest.dom && seen(c, mode)) return c;
    }
    return undefined;
  }

  remove(cell: Cell): boolean {
    const e = this.entries;
    const i = this.probe(cell.dom, cell.hi, cell.lo);
    this.pSlot = -1;
    const s = this.slot[i];
    const newest = s !== 0 && e[s - 1] === cell;
    const at = newest ? s - 1 : e.indexOf(cell);
    if (at < 0) return false;
    e[at] = null;
    this.holes++;
    if (newest) {
      let repl = -1;
      if (this.dups > 0) {
        for (let k = 0; k < e.length; k++) {
          const c = e[k];
          if (c !== null && c.lo === cell.lo && c.hi === cell.hi && c.dom === cell.dom && (repl < 0 || c.created >= e[repl]!.created)) repl = k;
        }
      }
      if (repl >= 0) {
        this.slot[i] = repl + 1;
        this.dups--;
      } else {
        this.deleteSlot(i);
        this.used--;
      }
    } else {
      this.dups--;
    }
    if (this.holes > 32 && this.holes * 2 > e.length) {
      this.compact();
      this.rebuild();
    }
    return true;
  }

  private deleteSlot(hole: number): void {
    const slot = this.slot;
    const codes = this.codes;
    const mask = this.mask;
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const e = slot[j];
      if (e === 0) break;
      const k = codes[j] & mask;
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        slot[i] = e;
        codes[i] = codes[j];
        i = j;
      }
    }
    slot[i] = 0;
  }

  private compact(): void {
    this.entries = this.entries.filter((c) => c !== null);
    this.holes = 0;
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    if (!this.sorted) {
      this.compact();
      (this.entries as Cell[]).sort(compareCellNames); // stable: same names keep insertion order
      this.sorted = true;
      this.tailCell = this.entries.length > 0 ? this.entries[this.entries.length - 1] : null;
      this.rebuild();
    }
    const e = this.entries;
    for (let k = 0; k < e.length; k++) {
      const c = e[k];
      if (c !== null && fn(c) === true) return;
    }
  }
}
