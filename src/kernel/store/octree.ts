/**
 * Octree store: children placed in 3-D space by the 'function' indexing key (a point
 * [x, y, z] inside the store bounds). Store order is the canonical spatial order: octant by
 * octant (x low bit, then y, then z), recursively, ties in insertion order; subdividing a leaf
 * never changes that order, so past views read back the same order.
 */
import type { Cell } from '../cell/cell.js';
import { seen } from '../cell/flags.js';
import { outOfRange } from '../../errors.js';
import { ChildStore, type Key, type Point } from './types.js';

const LEAF_MAX = 8;
const MAX_DEPTH = 24;

class OctNode {
  kids: (OctNode | null)[] | null = null;
  cells: Cell[] = [];
  pts: Point[] = [];
  constructor(
    readonly cx: number,
    readonly cy: number,
    readonly cz: number,
    readonly h: number,
    readonly depth: number,
  ) {}
}

function octant(p: Point, cx: number, cy: number, cz: number): number {
  return (p[0] >= cx ? 1 : 0) | (p[1] >= cy ? 2 : 0) | (p[2] >= cz ? 4 : 0);
}

/** Canonical spatial order of two points inside a node's bounds. */
function comparePoints(p: Point, q: Point, cx: number, cy: number, cz: number, h: number): number {
  for (let d = 0; d < 64; d++) {
    if (p[0] === q[0] && p[1] === q[1] && p[2] === q[2]) return 0;
    const a = octant(p, cx, cy, cz);
    const b = octant(q, cx, cy, cz);
    if (a !== b) return a - b;
    h /= 2;
    cx += a & 1 ? h : -h;
    cy += a & 2 ? h : -h;
    cz += a & 4 ? h : -h;
  }
  return 0;
}

export class OctreeStore extends ChildStore {
  readonly kind = 'octree' as const;
  private root: OctNode;
  private n = 0;

  constructor(...args: ConstructorParameters<typeof ChildStore>) {
    super(...args);
    const b = this.options.bounds ?? { center: [0, 0, 0] as Point, half: 1 };
    this.root = new OctNode(b.center[0], b.center[1], b.center[2], b.half, 0);
  }

  get total(): number {
    return this.n;
  }

  override keyFor(cell: Cell): Key {
    const p = this.options.key!(cell) as Point;
    const r = this.root;
    if (!Array.isArray(p) || p.length !== 3 || !p.every((v) => Number.isFinite(v))) throw outOfRange('point', 'an array of three finite numbers', p);
    if (Math.abs(p[0] - r.cx) > r.h || Math.abs(p[1] - r.cy) > r.h || Math.abs(p[2] - r.cz) > r.h) {
      throw outOfRange('point', `inside the octree bounds (center ${r.cx},${r.cy},${r.cz}, half ${r.h})`, p.join(','));
    }
    return [p[0], p[1], p[2]] as Point;
  }

  insert(cell: Cell, key: Key, _prepend: boolean): void {
    const p = key as Point;
    let node = this.root;
    while (node.kids !== null) {
      const o = octant(p, node.cx, node.cy, node.cz);
      let kid = node.kids[o];
      if (kid === null) {
        const q = node.h / 2;
        kid = new OctNode(node.cx + (o & 1 ? q : -q), node.cy + (o & 2 ? q : -q), node.cz + (o & 4 ? q : -q), q, node.depth + 1);
        node.kids[o] = kid;
      }
      node = kid;
    }
    let at = node.pts.length;
    while (at > 0 && comparePoints(node.pts[at - 1], p, node.cx, node.cy, node.cz, node.h) > 0) at--;
    node.cells.splice(at, 0, cell);
    node.pts.splice(at, 0, p);
    this.n++;
    if (node.cells.length > LEAF_MAX && node.depth < MAX_DEPTH) this.split(node);
  }

  private split(node: OctNode): void {
    const kids: (OctNode | null)[] = [null, null, null, null, null, null, null, null];
    const q = node.h / 2;
    for (let i = 0; i < node.cells.length; i++) {
      const p = node.pts[i];
      const o = octant(p, node.cx, node.cy, node.cz);
      let kid = kids[o];
      if (kid === null) {
        kid = new OctNode(node.cx + (o & 1 ? q : -q), node.cy + (o & 2 ? q : -q), node.cz + (o & 4 ? q : -q), q, node.depth + 1);
        kids[o] = kid;
      }
      kid.cells.push(node.cells[i]);
      kid.pts.push(p);
    }
    node.kids = kids;
    node.cells = [];
    node.pts = [];
    for (const kid of kids) if (kid !== null && kid.cells.length > LEAF_MAX && kid.depth < MAX_DEPTH) this.split(kid);
  }

  private walk(node: OctNode, fn: (cell: Cell, p: Point, node: OctNode, i: number) => boolean | void): boolean {
    if (node.kids !== null) {
      for (const kid of node.kids) if (kid !== null && this.walk(kid, fn)) return true;
      return false;
    }
    for (let i = 0; i < node.cells.length; i++) if (fn(node.cells[i], node.pts[i], node, i) === true) return true;
    return false;
  }

  remove(cell: Cell): boolean {
    let done = false;
    this.walk(this.root, (c, _p, node, i) => {
      if (c !== cell) return false;
      node.cells.splice(i, 1);
      node.pts.splice(i, 1);
      done = true;
      return true;
    });
    if (done) this.n--;
    return done;
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    this.walk(this.root, (c) => fn(c));
  }

  /** Children whose points lie in the box [min, max] (inclusive), in store order. */
  queryBox(min: Point, max: Point, mode: number): Cell[] {
    const out: Cell[] = [];
    const visit = (node: OctNode): void => {
      const h = node.h;
      if (node.cx + h < min[0] || node.cx - h > max[0] || node.cy + h < min[1] || node.cy - h > max[1] || node.cz + h < min[2] || node.cz - h > max[2]) return;
      if (node.kids !== null) {
        for (const kid of node.kids) if (kid !== null) visit(kid);
        return;
      }
      for (let i = 0; i < node.cells.length; i++) {
        const p = node.pts[i];
        if (p[0] >= min[0] && p[0] <= max[0] && p[1] >= min[1] && p[1] <= max[1] && p[2] >= min[2] && p[2] <= max[2] && seen(node.cells[i], mode)) out.push(node.cells[i]);
      }
    };
    visit(this.root);
    return out;
  }
}
