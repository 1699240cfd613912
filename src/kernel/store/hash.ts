/**
 * Hash table store: open addressing (linear probing) on the child's name, so lookups by name
 * are O(1) whatever the indexing. Live names are unique, but a name may also have deleted (or
 * veiled) older entries kept for history: the table holds one slot per name pointing at the
 * newest entry, and same-name entries chain through `next`, so every lookup, past or present,
 * and every hard removal costs O(copies of that name), never a scan of the store.
 *
 * Layout: `slot` / `codes` (Int32Array) hold entry index + 1 (0 = empty) and the name's hash;
 * `entries` holds the cells in store order (insertion order, or name order for 'name'
 * indexing, kept sorted lazily: ascending appends keep it sorted for free, otherwise it is
 * sorted once before the next ordered walk), `next[k]` = index + 1 of the next older entry
 * with the same name. Removed entries leave a null hole, compacted once holes reach half.
 *
 * Small stores (most cells with children have a handful) keep no table at all: up to
 * `SMALL_ENTRIES` entries, lookups scan `entries` from the newest, which visits same-named
 * entries in the order the chains do. The table is built when the store outgrows that, so a
 * dossier's dozen small stores cost no typed arrays (fewer objects for the GC to copy).
 */
import type { Cell } from '../cell/cell.js';
import { seen } from '../cell/flags.js';
import { hashName } from '../naming/id.js';
import { ChildStore, compareCellNames, type Key } from './types.js';

/** Entries a store holds before it builds its hash table (lookups scan them until then). */
const SMALL_ENTRIES = 8;
/** The table of a small store: none (`slot.length === 0`). */
const NO_TABLE = new Int32Array(0);

export class HashStore extends ChildStore {
  readonly kind = 'hash' as const;
  private slot = NO_TABLE;
  private codes = NO_TABLE;
  private mask = 0;
  private used = 0;
  private entries: (Cell | null)[] = [];
  private next = NO_TABLE;
  private holes = 0;
  private sorted = true;
  private tailCell: Cell | null = null;
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

  /** Rebuild table and chains from the entries (after a sort, compaction or prepend); none for a small store. */
  private rebuild(): void {
    const e = this.entries;
    this.pSlot = -1;
    if (e.length <= SMALL_ENTRIES) {
      this.slot = this.codes = this.next = NO_TABLE;
      this.mask = 0;
      this.used = 0;
      return;
    }
    let cap = 8;
    while (cap * 3 < e.length * 4 + 4) cap *= 2;
    this.slot = new Int32Array(cap);
    this.codes = new Int32Array(cap);
    this.mask = cap - 1;
    this.used = 0;
    this.next = new Int32Array(Math.max(8, e.length));
    this.pSlot = -1;
    for (let k = 0; k < e.length; k++) {
      const c = e[k];
      if (c === null) continue;
      const i = this.probe(c.dom, c.hi, c.lo);
      if (this.slot[i] === 0) {
        this.codes[i] = this.pCode;
        this.used++;
      }
      this.next[k] = this.slot[i];
      this.slot[i] = k + 1;
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
    if (this.slot.length === 0) return this.insertSmall(cell);
    const i = this.pSlot >= 0 && this.pLo === lo && this.pHi === hi && this.pDom === dom ? this.pSlot : this.probe(dom, hi, lo);
    this.pSlot = -1;
    const tail = this.tailCell;
    if (this.sorted && tail !== null && this.indexing === 'name' && (tail.dom !== dom || tail.hi > hi || (tail.hi === hi && tail.lo > lo))) {
      if (compareCellNames(tail, cell) > 0) this.sorted = false;
    }
    const entries = this.entries;
    const k = entries.length;
    entries.push(cell);
    this.tailCell = cell;
    if (k === this.next.length) {
      const n = new Int32Array(k * 2);
      n.set(this.next);
      this.next = n;
    }
    const slot = this.slot;
    const head = slot[i];
    this.next[k] = head;
    slot[i] = k + 1;
    if (head === 0) {
      this.codes[i] = this.pCode;
      if (++this.used * 4 > slot.length * 3) this.grow(slot.length * 2);
    }
  }

  /** Append to a store without a table; past `SMALL_ENTRIES` (holes dropped first), build it. */
  private insertSmall(cell: Cell): void {
    const tail = this.tailCell;
    if (this.sorted && tail !== null && this.indexing === 'name' && compareCellNames(tail, cell) > 0) this.sorted = false;
    let entries = this.entries;
    if (entries.length === SMALL_ENTRIES && this.holes > 0) {
      this.compact();
      entries = this.entries;
    }
    entries.push(cell);
    this.tailCell = cell;
    if (entries.length > SMALL_ENTRIES) this.rebuild();
  }

  override findName(dom: number, hi: number, lo: number, mode: number): Cell | undefined {
    const entries = this.entries;
    if (this.slot.length === 0) {
      // newest first, as the chains run
      for (let k = entries.length - 1; k >= 0; k--) {
        const c = entries[k];
        if (c !== null && c.lo === lo && c.hi === hi && c.dom === dom && seen(c, mode)) return c;
      }
      return undefined;
    }
    const next = this.next;
    for (let e = this.slot[this.probe(dom, hi, lo)]; e !== 0; e = next[e - 1]) {
      const c = entries[e - 1]!;
      if (seen(c, mode)) return c;
    }
    return undefined;
  }

  remove(cell: Cell): boolean {
    const e = this.entries;
    if (this.slot.length === 0) {
      const k = e.lastIndexOf(cell);
      if (k < 0) return false;
      e[k] = null;
      this.holes++;
      return true;
    }
    const next = this.next;
    const i = this.probe(cell.dom, cell.hi, cell.lo);
    this.pSlot = -1;
    let before = 0;
    let at = this.slot[i];
    while (at !== 0 && e[at - 1] !== cell) {
      before = at;
      at = next[at - 1];
    }
    if (at === 0) return false;
    const older = next[at - 1];
    if (before !== 0) next[before - 1] = older;
    else if (older !== 0) this.slot[i] = older;
    else {
      this.deleteSlot(i);
      this.used--;
    }
    e[at - 1] = null;
    next[at - 1] = 0;
    this.holes++;
    if (this.holes > 32 && this.holes * 2 > e.length) {
      this.compact();
      this.rebuild();
    }
    return true;
  }

  /** Backward-shift deletion keeps probe runs unbroken (no tombstones). */
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
    const n = this.entries.length;
    this.tailCell = n > 0 ? this.entries[n - 1] : null;
  }

  /** Sort the entries into name order when appends left them unsorted (before an ordered walk). */
  private ensureSorted(): void {
    if (this.sorted) return;
    this.compact();
    (this.entries as Cell[]).sort(compareCellNames); // stable: same names keep insertion order
    this.sorted = true;
    const n = this.entries.length;
    this.tailCell = n > 0 ? this.entries[n - 1] : null;
    this.rebuild();
  }

  /** Entries in store order: one array copy when there are no holes (large stores: frame writers). */
  override toArray(): Cell[] {
    this.ensureSorted();
    return this.holes === 0 ? (this.entries.slice() as Cell[]) : (this.entries.filter((c) => c !== null) as Cell[]);
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    this.ensureSorted();
    const e = this.entries;
    for (let k = 0; k < e.length; k++) {
      const c = e[k];
      if (c !== null && fn(c) === true) return;
    }
  }
}
