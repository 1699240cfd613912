/**
 * Red-black tree store: sorted indexings only; O(log n) insert, name lookup and removal (for
 * orders other than by name, a cell -> node map finds the node to remove).
 */
import type { Cell } from '../cell/cell.js';
import { seen } from '../cell/flags.js';
import { compareNameParts } from '../naming/name.js';
import { ChildStore, type Key } from './types.js';

class RbNode {
  left: RbNode;
  right: RbNode;
  parent: RbNode;
  red = true;
  constructor(
    readonly cell: Cell,
    readonly key: Key,
    nil: RbNode | null,
  ) {
    this.left = this.right = this.parent = nil ?? this;
  }
}

export class RbTreeStore extends ChildStore {
  readonly kind = 'rbtree' as const;
  private readonly nil: RbNode = (() => {
    const n = new RbNode(undefined as unknown as Cell, undefined, null);
    n.red = false;
    return n;
  })();
  private root: RbNode = this.nil;
  private n = 0;
  /** Node of each cell, for orders a cell cannot be searched by (its key may have changed). */
  private readonly nodes: Map<Cell, RbNode> | null = this.indexing === 'name' ? null : new Map();

  get total(): number {
    return this.n;
  }

  private rotateLeft(x: RbNode): void {
    const y = x.right;
    x.right = y.left;
    if (y.left !== this.nil) y.left.parent = x;
    y.parent = x.parent;
    if (x.parent === this.nil) this.root = y;
    else if (x === x.parent.left) x.parent.left = y;
    else x.parent.right = y;
    y.left = x;
    x.parent = y;
  }

  private rotateRight(x: RbNode): void {
    const y = x.left;
    x.left = y.right;
    if (y.right !== this.nil) y.right.parent = x;
    y.parent = x.parent;
    if (x.parent === this.nil) this.root = y;
    else if (x === x.parent.right) x.parent.right = y;
    else x.parent.left = y;
    y.right = x;
    x.parent = y;
  }

  insert(cell: Cell, key: Key, _prepend: boolean): void {
    const order = this.order!;
    const nil = this.nil;
    const z = new RbNode(cell, key, nil);
    let y = nil;
    let x = this.root;
    let right = false;
    while (x !== nil) {
      y = x;
      right = order(x.cell, x.key, cell, key) <= 0; // equal keys go right: stable
      x = right ? x.right : x.left;
    }
    z.parent = y;
    this.nodes?.set(cell, z);
    if (y === nil) this.root = z;
    else if (right) y.right = z;
    else y.left = z;
    this.n++;
    this.insertFixup(z);
  }

  private insertFixup(z: RbNode): void {
    while (z.parent.red) {
      const p = z.parent;
      const g = p.parent;
      if (p === g.left) {
        const u = g.right;
        if (u.red) {
          p.red = false;
          u.red = false;
          g.red = true;
          z = g;
        } else {
          if (z === p.right) {
            z = p;
            this.rotateLeft(z);
          }
          z.parent.red = false;
          z.parent.parent.red = true;
          this.rotateRight(z.parent.parent);
        }
      } else {
        const u = g.left;
        if (u.red) {
          p.red = false;
          u.red = false;
          g.red = true;
          z = g;
        } else {
          if (z === p.left) {
            z = p;
            this.rotateRight(z);
          }
          z.parent.red = false;
          z.parent.parent.red = true;
          this.rotateLeft(z.parent.parent);
        }
      }
    }
    this.root.red = false;
  }

  private minimum(x: RbNode): RbNode {
    while (x.left !== this.nil) x = x.left;
    return x;
  }

  private successor(x: RbNode): RbNode {
    if (x.right !== this.nil) return this.minimum(x.right);
    let y = x.parent;
    while (y !== this.nil && x === y.right) {
      x = y;
      y = y.parent;
    }
    return y;
  }

  private transplant(u: RbNode, v: RbNode): void {
    if (u.parent === this.nil) this.root = v;
    else if (u === u.parent.left) u.parent.left = v;
    else u.parent.right = v;
    v.parent = u.parent;
  }

  private lowerBoundName(dom: number, hi: number, lo: number): RbNode {
    let x = this.root;
    let best = this.nil;
    while (x !== this.nil) {
      const c = x.cell;
      if (compareNameParts(c.dom, c.hi, c.lo, dom, hi, lo) >= 0) {
        best = x;
        x = x.left;
      } else x = x.right;
    }
    return best;
  }

  private nodeOf(cell: Cell): RbNode {
    const nil = this.nil;
    if (this.indexing === 'name') {
      for (let x = this.lowerBoundName(cell.dom, cell.hi, cell.lo); x !== nil; x = this.successor(x)) {
        if (x.cell === cell) return x;
        if (x.cell.lo !== cell.lo || x.cell.hi !== cell.hi || x.cell.dom !== cell.dom) break;
      }
      return nil;
    }
    return this.nodes!.get(cell) ?? nil;
  }

  override findName(dom: number, hi: number, lo: number, mode: number): Cell | undefined {
    if (this.indexing !== 'name') return super.findName(dom, hi, lo, mode);
    const nil = this.nil;
    for (let x = this.lowerBoundName(dom, hi, lo); x !== nil; x = this.successor(x)) {
      const c = x.cell;
      if (c.lo !== lo || c.hi !== hi || c.dom !== dom) return undefined;
      if (seen(c, mode)) return c;
    }
    return undefined;
  }

  remove(cell: Cell): boolean {
    const nil = this.nil;
    const z = this.nodeOf(cell);
    if (z === nil) return false;
    this.nodes?.delete(cell);
    let y = z;
    let yRed = y.red;
    let x: RbNode;
    if (z.left === nil) {
      x = z.right;
      this.transplant(z, z.right);
    } else if (z.right === nil) {
      x = z.left;
      this.transplant(z, z.left);
    } else {
      y = this.minimum(z.right);
      yRed = y.red;
      x = y.right;
      if (y.parent === z) x.parent = y;
      else {
        this.transplant(y, y.right);
        y.right = z.right;
        y.right.parent = y;
      }
      this.transplant(z, y);
      y.left = z.left;
      y.left.parent = y;
      y.red = z.red;
    }
    if (!yRed) this.deleteFixup(x);
    nil.parent = nil;
    this.n--;
    return true;
  }

  private deleteFixup(x: RbNode): void {
    while (x !== this.root && !x.red) {
      if (x === x.parent.left) {
        let w = x.parent.right;
        if (w.red) {
          w.red = false;
          x.parent.red = true;
          this.rotateLeft(x.parent);
          w = x.parent.right;
        }
        if (!w.left.red && !w.right.red) {
          w.red = true;
          x = x.parent;
        } else {
          if (!w.right.red) {
            w.left.red = false;
            w.red = true;
            this.rotateRight(w);
            w = x.parent.right;
          }
          w.red = x.parent.red;
          x.parent.red = false;
          w.right.red = false;
          this.rotateLeft(x.parent);
          x = this.root;
        }
      } else {
        let w = x.parent.left;
        if (w.red) {
          w.red = false;
          x.parent.red = true;
          this.rotateRight(x.parent);
          w = x.parent.left;
        }
        if (!w.right.red && !w.left.red) {
          w.red = true;
          x = x.parent;
        } else {
          if (!w.left.red) {
            w.right.red = false;
            w.red = true;
            this.rotateLeft(w);
            w = x.parent.left;
          }
          w.red = x.parent.red;
          x.parent.red = false;
          w.left.red = false;
          this.rotateRight(x.parent);
          x = this.root;
        }
      }
    }
    x.red = false;
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    const nil = this.nil;
    if (this.root === nil) return;
    for (let x = this.minimum(this.root); x !== nil; x = this.successor(x)) if (fn(x.cell) === true) return;
  }

  /** Black height if the red-black invariants hold, else -1 (tests). */
  checkInvariants(): number {
    const walk = (x: RbNode): number => {
      if (x === this.nil) return 1;
      if (x.red && (x.left.red || x.right.red)) return -1;
      if (x.left !== this.nil && x.left.parent !== x) return -1;
      if (x.right !== this.nil && x.right.parent !== x) return -1;
      const l = walk(x.left);
      const r = walk(x.right);
      if (l < 0 || r < 0 || l !== r) return -1;
      return l + (x.red ? 0 : 1);
    };
    if (this.root.red) return -1;
    return walk(this.root);
  }
}
