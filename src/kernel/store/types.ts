/**
 * The shared store interface. A store holds one cell's children in one data structure (the
 * store kind) ordered by one indexing. Stores keep every child ever added (deleted ones
 * included, so past states can be read) until a hard delete removes it; visibility is decided
 * per lookup by `seen()` (cell/flags.ts).
 */
import type { Cell } from '../cell/cell.js';
import type { Tree } from '../tree.js';
import { compareNameParts } from '../naming/name.js';
import { seen } from '../cell/flags.js';

export type StoreKind = 'list' | 'array' | 'queue' | 'rbtree' | 'hash' | 'octree';
export type Indexing = 'insertion' | 'name' | 'comparator' | 'hash' | 'function';

/** A point for octree stores. */
export type Point = readonly [number, number, number];
/** Sort key computed once at insertion (hash and function indexing; octree points). */
export type Key = number | string | Point | undefined;

export type OrderFn = (a: Cell, ka: Key, b: Cell, kb: Key) => number;

export interface StoreOptions {
  /** Comparator for 'comparator' indexing (ties keep insertion order). */
  compare?: (a: Cell, b: Cell) => number;
  /** Key function for 'function' indexing (number or string), or octree placement (a point). */
  key?: (cell: Cell) => number | string | Point;
  /** Octree bounds: center and half edge length (default center 0,0,0, half 1). */
  bounds?: { center: Point; half: number };
}

/** The options of a store created with none (shared: a cell's first child costs no options object). */
export const NO_STORE_OPTIONS: StoreOptions = Object.freeze({});

export function compareCellNames(a: Cell, b: Cell): number {
  return compareNameParts(a.dom, a.hi, a.lo, b.dom, b.hi, b.lo);
}

export function compareKeys(a: Key, b: Key): number {
  const ta = typeof a;
  const tb = typeof b;
  if (ta !== tb) return ta === 'number' ? -1 : tb === 'number' ? 1 : ta < tb ? -1 : 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

export abstract class ChildStore {
  abstract readonly kind: StoreKind;
  readonly indexing: Indexing;
  readonly owner: Cell;
  readonly rt: Tree;
  /** Position order; null for insertion order. */
  readonly order: OrderFn | null;
  readonly options: StoreOptions;
  /** Live names are unique (dictionaries and hash tables). */
  readonly unique: boolean;
  /** Next auto id (monotonic; explicit numeric names move it forward). */
  autoNext = 1;
  /** Beat of the last structural change. */
  modified: number;

  constructor(owner: Cell, rt: Tree, indexing: Indexing, order: OrderFn | null, options: StoreOptions, unique: boolean) {
    this.owner = owner;
    this.rt = rt;
    this.indexing = indexing;
    this.order = order;
    this.options = options;
    this.unique = unique;
    this.modified = rt.beat;
  }

  /** Entries stored (deleted and veiled included). */
  abstract get total(): number;
  /**
   * Insert at the position the indexing gives (after equal keys); `prepend` only for insertion
   * order; `at` >= 0: before the at-th visible entry (array stores by insertion only).
   */
  abstract insert(cell: Cell, key: Key, prepend: boolean, at?: number): void;
  /** Remove an entry for good (hard delete). */
  abstract remove(cell: Cell): boolean;
  /** Visit entries in store order; return true from `fn` to stop. */
  abstract forEach(fn: (cell: Cell) => boolean | void): void;

  /** First entry in store order with this name that is seen in `mode`. */
  findName(dom: number, hi: number, lo: number, mode: number): Cell | undefined {
    let found: Cell | undefined;
    this.forEach((c) => {
      if (c.lo === lo && c.hi === hi && c.dom === dom && seen(c, mode)) {
        found = c;
        return true;
      }
      return false;
    });
    return found;
  }

  /** The key a new entry sorts by (hash and function indexing, octree points). */
  keyFor(cell: Cell, payloadHash: number): Key {
    if (this.indexing === 'hash') return payloadHash;
    if (this.indexing === 'function') return this.options.key!(cell);
    return undefined;
  }

  toArray(): Cell[] {
    const out: Cell[] = [];
    this.forEach((c) => {
      out.push(c);
    });
    return out;
  }
}
