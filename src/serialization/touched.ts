/**
 * The delta frame of a whole runtime for one beat, built from the cells the beat touched (the
 * beat digest, docs/heartbeat.md): its cost follows the beat's changes, never the size of the
 * tree or of the stores the changes sit in. Records: docs/FORMAT.md, written by `writeFrame`.
 *
 * It runs once per beat on the runtime thread, so the maps, columns and staging buffer of one
 * frame are kept for the next (cleared after each frame, so no cell is held past its beat).
 */
import type { Cell } from '../kernel/cell/cell.js';
import { DETACHED, VEILED } from '../kernel/cell/flags.js';
import type { Tree } from '../kernel/tree.js';
import { compareCellNames, type ChildStore } from '../kernel/store/types.js';
import { BLAKE3_KEYED_HASH, FLAT_ROOT_KEY } from '../native/binding.js';
import { binding } from '../native/index.js';
import { FLAT_CAP_TOC, FLAT_HEADER_SIZE, MODE_DELTA } from './format.js';
import { deltaMark, M_ANCHOR, M_DESC, M_NEW, Staging, writeFrame, type Version } from './writer.js';

const OPTIONS_DELTA = { mode: 'delta' as const, prevRoot: undefined as Uint8Array | undefined };

/** A cell of the frame: its walk mark and its children in the frame (in the order they were met). */
interface Node {
  mark: number;
  kids: Cell[] | null;
}

/** What is kept between frames at most: nodes and lists (a beat of up to this many cells), staging bytes. */
const KEEP_NODES = 1 << 16;
const KEEP_STAGING = 4 << 20;

/** What one frame's walk needs, kept between frames. */
class Scratch {
  /** Every cell of the frame (the root's anchor included). */
  readonly nodes = new Map<Cell, Node>();
  /** Nodes and children arrays, reused. */
  private readonly nodePool: Node[] = [];
  private nodesUsed = 0;
  private readonly listPool: Cell[][] = [];
  private listsUsed = 0;
  /** A cell and its ancestors not yet in the frame, deepest first. */
  readonly chain: Cell[] = [];
  /**
   * Cells met by a long walk up that put nothing in the frame (below a cell created in the beat,
   * or below an invisible one): the next walk stops at them, so building a chain N deep costs
   * O(N), not O(N²). Short walks (the common case: a dossier's leaves) leave nothing here.
   */
  readonly covered = new Set<Cell>();
  readonly cur: Version = { beat: -1, meta: 0, pv: 0 };
  // the walk, in pre-order
  readonly cells: Cell[] = [];
  parents = new Int32Array(256);
  marks = new Uint8Array(256);
  // the walk's stack
  readonly stack: Cell[] = [];
  readonly stackParent: number[] = [];
  readonly stackNew: number[] = [];
  /** Children of a cell created in the beat (the store's visible entries). */
  readonly fresh: Cell[] = [];
  /** The staging buffer of frames whose bytes are not handed out (`touchedRoot`). */
  staging = new Staging(0);
  busy = false;

  /** Put `c` in the frame with mark `mark`. */
  add(c: Cell, mark: number): Node {
    let node: Node;
    if (this.nodesUsed < this.nodePool.length) {
      node = this.nodePool[this.nodesUsed++];
      node.mark = mark;
    } else {
      node = { mark, kids: null };
      this.nodePool.push(node);
      this.nodesUsed++;
    }
    this.nodes.set(c, node);
    return node;
  }

  /** Note `child` (already in the frame) under its parent's node. */
  under(parent: Node, child: Cell): void {
    let kids = parent.kids;
    if (kids === null) {
      if (this.listsUsed < this.listPool.length) kids = this.listPool[this.listsUsed++];
      else {
        kids = [];
        this.listPool.push(kids);
        this.listsUsed++;
      }
      parent.kids = kids;
    }
    kids.push(child);
  }

  /** Room for `n` cells in the walk's columns. */
  reserve(n: number): void {
    if (n <= this.parents.length) return;
    let size = this.parents.length * 2;
    while (size < n) size *= 2;
    const parents = new Int32Array(size);
    parents.set(this.parents);
    this.parents = parents;
    const marks = new Uint8Array(size);
    marks.set(this.marks);
    this.marks = marks;
  }

  /** Drop every reference to this frame's cells; after an exceptionally large beat, what it grew too. */
  clear(): void {
    this.nodes.clear();
    for (let k = 0; k < this.nodesUsed; k++) this.nodePool[k].kids = null;
    this.nodesUsed = 0;
    for (let k = 0; k < this.listsUsed; k++) this.listPool[k].length = 0;
    this.listsUsed = 0;
    if (this.nodePool.length > KEEP_NODES) this.nodePool.length = KEEP_NODES;
    if (this.listPool.length > KEEP_NODES) this.listPool.length = KEEP_NODES;
    if (this.parents.length > KEEP_NODES) {
      this.parents = new Int32Array(256);
      this.marks = new Uint8Array(256);
    }
    if (this.staging.buf.length > KEEP_STAGING) this.staging = new Staging(0);
    this.chain.length = 0;
    this.covered.clear();
    this.cells.length = 0;
    this.fresh.length = 0;
    this.busy = false;
  }
}

const shared = new Scratch();

/**
 * Put `list` (children of `store`'s owner that are in the frame: exactly the store's entries
 * in `nodes`) in store order. A name-ordered store is ordered by its names, so sorting the
 * few touched children costs O(k log k) whatever the store holds; same-named entries (a deleted
 * one and its successor) and the other orders fall back to one pass over the store.
 */
export function storeOrder(store: ChildStore, list: Cell[], nodes: ReadonlyMap<Cell, unknown>): void {
  if (store.indexing === 'name') {
    list.sort(compareCellNames);
    let tie = false;
    for (let k = 1; k < list.length && !tie; k++) tie = compareCellNames(list[k - 1], list[k]) === 0;
    if (!tie) return;
  }
  let j = 0;
  const n = list.length;
  store.forEach((k) => {
    if (nodes.has(k)) list[j++] = k;
    return j === n;
  });
  list.length = j;
}

/** Walks up shorter than this are not remembered in `covered` (they cost a constant each). */
const SHORT_WALK = 8;

/**
 * Put `c` (own mark `m`) and its ancestors not yet in the frame in it, each listed under its
 * parent; nothing when the chain is not visible at the beat, or when it hangs below a cell
 * created in the beat (the walk lists that cell's whole subtree from its store: a beat that
 * builds dossiers puts one node per dossier in the map, not one per cell).
 */
function include(rt: Tree, s: Scratch, c: Cell, m: number, beat: number): void {
  const { nodes, chain, covered } = s;
  let depth = 0;
  let x: Cell = c;
  let top: Node | undefined;
  for (; (top = nodes.get(x)) === undefined; x = x.up!.owner) {
    if (x.up === null || (x.flags & DETACHED) !== 0 || covered.has(x)) return coverChain(s, depth);
    if (x !== c && deltaMark(rt, x, beat, 0, s.cur) === 0) return coverChain(s, depth);
    chain[depth++] = x;
  }
  if (top.mark === M_NEW) return coverChain(s, depth); // the walk frames the whole subtree of a cell created in the beat
  let parent = top;
  for (let k = depth - 1; k >= 0; k--) {
    const y = chain[k];
    s.under(parent, y);
    parent = s.add(y, k === 0 ? m : deltaMark(rt, y, beat, 0, s.cur));
  }
}

/**
 * A walk up put nothing in the frame: every cell it met would put nothing in it either (nodes
 * are added only by walks that reach a visible anchor, never through these), so remember a
 * long walk's cells and stop the next walks there.
 */
function coverChain(s: Scratch, depth: number): void {
  if (depth < SHORT_WALK) return;
  for (let k = 0; k < depth; k++) s.covered.add(s.chain[k]);
}

/** The entries of `store` visible at the beat, in store order, into `out` (a helper, so the walk's loop captures nothing). */
function visibleChildren(store: ChildStore, beat: number, out: Cell[]): Cell[] {
  out.length = 0;
  store.forEach((k) => {
    if ((k.flags & VEILED) === 0 && k.created <= beat && (k.deleted < 0 || k.deleted >= beat)) out.push(k);
  });
  return out;
}

/**
 * Walk the frame in pre-order into `s.cells` / `s.parents` / `s.marks`: siblings in store order;
 * below a cell created in the beat, everything visible is new (an unveiled subtree was built
 * before the beat, untouched).
 */
function walk(s: Scratch, root: Cell, beat: number): number {
  const { cells, stack, stackParent, stackNew, nodes } = s;
  stack.push(root);
  stackParent.push(-1);
  stackNew.push(0);
  let n = 0;
  while (stack.length > 0) {
    const c = stack.pop()!;
    const parent = stackParent.pop()!;
    const underNew = stackNew.pop()! === 1;
    const node = underNew ? undefined : nodes.get(c)!;
    const m = node === undefined ? M_NEW : node.mark;
    s.reserve(n + 1);
    cells.push(c);
    s.parents[n] = parent;
    s.marks[n] = m;
    const me = n++;
    const store = c.store;
    let list = node === undefined ? null : node.kids;
    if (m === M_NEW && store !== null) list = visibleChildren(store, beat, s.fresh);
    else if (list !== null && list.length > 1 && store !== null) storeOrder(store, list, nodes);
    if (list === null) continue;
    const isNew = m === M_NEW ? 1 : 0;
    for (let k = list.length - 1; k >= 0; k--) {
      stack.push(list[k]);
      stackParent.push(me);
      stackNew.push(isNew);
    }
  }
  return n;
}

/**
 * Build the frame into `s` and write it. Each touched cell that is visible (neither finalized nor
 * veiled, nor below a veiled or earlier-deleted ancestor) is described, with its ancestors as
 * anchors and, below a cell created in the beat, its whole subtree. `staging`: a buffer to reuse
 * (the frame's bytes then live only until the next frame).
 */
function frameOf(s: Scratch, rt: Tree, touched: readonly Cell[], beat: number, prevRoot: Uint8Array, staging: Staging | null): { frame: Uint8Array; trailerAt: number; cells: number } {
  s.busy = true;
  s.add(rt.root, M_ANCHOR);
  for (let t = 0; t < touched.length; t++) {
    const c = touched[t];
    if ((c.flags & DETACHED) !== 0) continue;
    const m = c === rt.root ? M_DESC : deltaMark(rt, c, beat, 0, s.cur);
    if (m === 0) continue;
    const own = m === M_ANCHOR ? M_DESC : m; // touched but stamped earlier (a hard delete below it): describe it
    const had = s.nodes.get(c);
    if (had === undefined) include(rt, s, c, own, beat);
    else if (had.mark === M_ANCHOR) had.mark = own;
  }
  const n = walk(s, rt.root, beat);
  OPTIONS_DELTA.prevRoot = prevRoot;
  const { frame, trailerAt } = writeFrame(rt, { cells: s.cells, parents: s.parents.subarray(0, n), marks: s.marks.subarray(0, n) }, beat, MODE_DELTA, OPTIONS_DELTA, true, staging);
  OPTIONS_DELTA.prevRoot = undefined;
  return { frame, trailerAt, cells: n };
}

/** Run `fn` on the shared scratch (a fresh one if a frame is already being built), then clear it. */
function withScratch<T>(fn: (s: Scratch) => T): T {
  const s = shared.busy ? new Scratch() : shared;
  try {
    return fn(s);
  } finally {
    s.clear();
  }
}

/**
 * The delta frame of a whole runtime (branch root `rt.root`) for one beat, built from the
 * cells the beat touched (`rt.touched`) instead of a walk of the tree. Lenient (`writeFrame`):
 * it never refuses a cell. Returns the raw frame and its root (beat digests, docs/heartbeat.md).
 */
export function encodeTouched(rt: Tree, touched: readonly Cell[], beat: number, prevRoot: Uint8Array): { frame: Uint8Array; root: Uint8Array } {
  return withScratch((s) => {
    const { frame, trailerAt, cells } = frameOf(s, rt, touched, beat, prevRoot, null);
    learnRootLeaf(frame, trailerAt, cells);
    return { frame, root: rootOf(frame, trailerAt) };
  });
}

/** The root of `encodeTouched`'s frame; a beat that touched nothing costs one keyed hash. */
export function touchedRoot(rt: Tree, touched: readonly Cell[], beat: number, prevRoot: Uint8Array): Uint8Array {
  if (touched.length === 0 && rootLeaf !== null) return anchorOnlyRoot(beat, prevRoot);
  return withScratch((s) => {
    const { frame, trailerAt, cells } = frameOf(s, rt, touched, beat, prevRoot, s.staging);
    learnRootLeaf(frame, trailerAt, cells);
    return rootOf(frame, trailerAt);
  });
}

/** Leaf of the root-anchor record: the whole tree of a frame that holds nothing else. */
let rootLeaf: Uint8Array | null = null;
const ROOT_BLOCK = new Uint8Array(81);
const ROOT_VIEW = new DataView(ROOT_BLOCK.buffer);
const ROOT_KEY = new TextEncoder().encode(FLAT_ROOT_KEY);

/** The frame of a beat that touched nothing is one fixed record (the root's anchor): keep its leaf. */
function learnRootLeaf(frame: Uint8Array, trailerAt: number, cells: number): void {
  if (cells !== 1 || rootLeaf !== null) return;
  const leaf = new Uint8Array(32);
  binding.blake3(frame.subarray(FLAT_HEADER_SIZE, trailerAt - 4), null, 0, leaf, 0);
  rootLeaf = leaf;
}

/** The root of the anchor-only frame (docs/FORMAT.md §6.1 with one leaf), without writing the frame. */
function anchorOnlyRoot(beat: number, prevRoot: Uint8Array): Uint8Array {
  const b = ROOT_BLOCK;
  b.set(rootLeaf!, 0);
  b.set(prevRoot.subarray(0, 32), 32);
  const view = ROOT_VIEW;
  view.setUint32(64, beat % 2 ** 32, true);
  view.setUint32(68, Math.floor(beat / 2 ** 32), true);
  view.setUint32(72, 1, true); // record count
  view.setUint32(76, FLAT_CAP_TOC, true);
  b[80] = MODE_DELTA;
  const out = new Uint8Array(32);
  binding.blake3(b, ROOT_KEY, BLAKE3_KEYED_HASH, out, 0);
  return out;
}

/** The root field of a finished frame's trailer (docs/FORMAT.md §6). */
function rootOf(frame: Uint8Array, trailerAt: number): Uint8Array {
  let p = trailerAt + 5;
  const skipVarint = (): void => {
    while ((frame[p++] & 0x80) !== 0);
  };
  skipVarint(); // body length
  skipVarint(); // beat
  skipVarint(); // record count
  p += 5 + 4; // selectors, caps
  skipVarint(); // payload history window
  skipVarint(); // manifest history window
  return frame.slice(p + 32, p + 64);
}
