/**
 * A decoded frame's cells as a tree, for the applier's questions about ancestors ("is a cell
 * below this one", "which ancestors are deleted in the beat this cell is made") answered in
 * O(cells) whatever the depth: no recursion and no walk up per cell. The reader guarantees that
 * ordinal 0 is the root and that every other cell's parent ordinal is below its own.
 */
export class FrameTree {
  /** Ordinals in pre-order (siblings in ordinal order). */
  readonly order: Int32Array;
  /** Where each ordinal stands in `order`. */
  readonly pos: Int32Array;
  /** Where each ordinal's subtree ends in `order` (exclusive). */
  readonly end: Int32Array;

  constructor(readonly parent: ArrayLike<number>) {
    const n = parent.length;
    const first = new Int32Array(n).fill(-1);
    const next = new Int32Array(n).fill(-1);
    const size = new Int32Array(n).fill(1);
    for (let i = n - 1; i > 0; i--) {
      const p = parent[i];
      next[i] = first[p];
      first[p] = i;
      size[p] += size[i];
    }
    this.order = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.end = new Int32Array(n);
    // each cell's children take the slots after it, in order (the root is at slot 0): no stack
    for (let k = 0; k < n; k++) {
      const v = this.order[k];
      this.end[v] = this.pos[v] + size[v];
      let at = this.pos[v] + 1;
      for (let c = first[v]; c >= 0; c = next[c]) {
        this.pos[c] = at;
        this.order[at] = c;
        at += size[c];
      }
    }
  }

  /** Whether `x` is `a` or below it. */
  within(x: number, a: number): boolean {
    return this.pos[a] <= this.pos[x] && this.pos[x] < this.end[a];
  }

  /**
   * Visit every cell in pre-order with, for each key, the cells on its path from the root
   * (itself included) whose `keyOf` is that key, nearest last. Keys below 0 are not kept.
   */
  walkKeyed(keyOf: (a: number) => number, visit: (i: number, onPath: ReadonlyMap<number, number[]>) => void): void {
    const { order, end, pos } = this;
    const onPath = new Map<number, number[]>();
    const path: number[] = []; // cells of the path that hold a key
    for (let k = 0; k < order.length; k++) {
      const v = order[k];
      while (path.length > 0 && end[path[path.length - 1]] <= pos[v]) onPath.get(keyOf(path.pop()!))!.pop();
      const key = keyOf(v);
      if (key >= 0) {
        let list = onPath.get(key);
        if (list === undefined) onPath.set(key, (list = []));
        list.push(v);
        path.push(v);
      }
      visit(v, onPath);
    }
  }
}

/** Questions asked at cells of a frame tree: (cell, key, who), listed per cell. */
export class CellRequests {
  readonly head: Int32Array;
  readonly next: number[] = [];
  readonly key: number[] = [];
  readonly who: number[] = [];

  constructor(n: number) {
    this.head = new Int32Array(n).fill(-1);
  }

  add(cell: number, key: number, who = -1): void {
    if (key < 0) return; // no cell holds a negative key
    this.next.push(this.head[cell]);
    this.key.push(key);
    this.who.push(who);
    this.head[cell] = this.next.length - 1;
  }
}

/**
 * For each request (x, key): mark every cell that is `x` or an ancestor of it and whose `keyOf`
 * is `key`. Marked cells stay at the bottom of each key's path list (a mark marks everything
 * below it too), so a mark stops at the first marked cell: each cell is marked once, O(cells +
 * requests).
 */
export function markAncestors(tree: FrameTree, keyOf: (a: number) => number, requests: CellRequests): Uint8Array {
  const marked = new Uint8Array(tree.order.length);
  tree.walkKeyed(keyOf, (i, onPath) => {
    for (let r = requests.head[i]; r >= 0; r = requests.next[r]) {
      const list = onPath.get(requests.key[r]);
      if (list === undefined) continue;
      for (let k = list.length - 1; k >= 0 && marked[list[k]] === 0; k--) marked[list[k]] = 1;
    }
  });
  return marked;
}
