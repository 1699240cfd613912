/**
 * The fused single pass of encodeBranch: walks the branch in pre-order and writes each cell's
 * description straight into the staging buffer, with no intermediate cells/parents/marks
 * columns and no per-cell allocation. A delta holds back unchanged ancestors (anchors) on a
 * stack until a described descendant appears; they get their frame ordinals when flushed,
 * exactly as the general path's pruning numbers them.
 *
 * It covers what can be written in walk order (descriptions, manifest_delta, namepool_delta).
 * Whatever needs a frame ordinal not known yet or chunk records makes it give up (return null)
 * so encodeBranch runs the general path (walkBranch + writeFrame), which writes the very same
 * bytes: AEAD, payload or manifest history windows, order_delta records, link payloads, DATA
 * payloads; and so do what the general path refuses (proxies, function-ordered stores, a root
 * that is not there), so that it throws its own error.
 */
import type { Cell } from '../kernel/cell/cell.js';
import { COLD_STORE, TYPE_LINK, TYPE_MASK, VEILED } from '../kernel/cell/flags.js';
import type { Tree } from '../kernel/tree.js';
import { warm } from '../kernel/cold.js';
import { DescWriter, checkLiterals } from './desc-writer.js';
import { FLAT_CAP_MANIFEST, FLAT_CAP_TOC, FLAT_T_MANIFEST, INDEXING_CODES, MODE_DELTA, MODE_SNAPSHOT, STORE_CODES, varintSize, writeVarint } from './format.js';
import { M_ANCHOR, M_DESC, M_NEW, Staging, deltaMark, finishFrame, pathOf, writeNamepool, type EncodeOptions, type NameRefs, type Version } from './writer.js';

/**
 * The frame of `cell` written in one pass, or null when the branch needs the general path
 * (nothing observable has happened then). Options are already checked by encodeBranch.
 */
export function encodeFused(rt: Tree, cell: Cell, beat: number, mode: number, o: EncodeOptions): Uint8Array | null {
  if (o.aead !== undefined || (o.history?.payload ?? 0) > 0 || (mode === MODE_SNAPSHOT && (o.history?.manifest ?? 0) > 0)) return null;
  const w = new BranchWriter(rt, beat, mode);
  const st = w.walk(cell);
  if (st === null) return null;
  const caps = w.caps | writeNamepool(st, rt, w.refs, cell);
  return finishFrame(st, cell, beat, mode, caps, o, 0, 0, 0).frame;
}

/* The walk's per-cell constants as literals (desc-writer.ts says why), checked when the first writer is made. */
const H_VEILED = 1 << 5;
const H_COLD_STORE = 1 << 13;
const H_TYPE_MASK = 3;
const H_TYPE_LINK = 1;
const H_MODE_DELTA = 0;
const H_M_DESC = 1;
const H_M_ANCHOR = 2;
const H_M_NEW = 4;
let literalsChecked = false;

/**
 * One pass over a branch. The walk keeps a stack of levels, one per store being walked: its
 * child list, where the walk is in it, its owner and the owner's frame ordinal (-1 while the
 * owner is an anchor held back).
 */
class BranchWriter {
  caps = FLAT_CAP_TOC;
  /** The reference names the frame uses (its namepool). */
  readonly refs: NameRefs = new Map();
  /** The next frame ordinal. */
  private n = 0;
  private readonly cur: Version = { beat: -1, meta: 0, pv: 0 };
  private readonly lists: Cell[][] = [];
  private readonly at: number[] = [];
  private readonly owners: Cell[] = [];
  private readonly ords: number[] = [];
  private readonly marks: number[] = [];
  private depth = 0;
  /** Levels below this depth have their owner written; the held-back anchors own the ones above. */
  private flushed = 0;

  constructor(
    private readonly rt: Tree,
    private readonly beat: number,
    private readonly mode: number,
  ) {
    if (!literalsChecked) {
      checkLiterals('branch-writer', [
        [H_VEILED, VEILED, 'VEILED'],
        [H_COLD_STORE, COLD_STORE, 'COLD_STORE'],
        [H_TYPE_MASK, TYPE_MASK, 'TYPE_MASK'],
        [H_TYPE_LINK, TYPE_LINK, 'TYPE_LINK'],
        [H_MODE_DELTA, MODE_DELTA, 'MODE_DELTA'],
        [H_M_DESC, M_DESC, 'M_DESC'],
        [H_M_ANCHOR, M_ANCHOR, 'M_ANCHOR'],
        [H_M_NEW, M_NEW, 'M_NEW'],
      ]);
      literalsChecked = true;
    }
  }

  /** Where `c` stands in the frame below a parent marked `pm` (walkBranch's marks); 0: not in it. */
  private markOf(c: Cell, pm: number): number {
    const beat = this.beat;
    if ((c.flags & H_VEILED) !== 0 || c.created > beat) return 0;
    const deleted = c.deleted;
    if (this.mode !== H_MODE_DELTA) return deleted < 0 || deleted > beat ? H_M_DESC : 0;
    // below a cell created in the beat every visible cell is new (deltaMark's first cases)
    if (pm === H_M_NEW && (deleted < 0 || deleted >= beat)) return H_M_NEW;
    return deltaMark(this.rt, c, beat, pm, this.cur);
  }

  /** Walk the branch and write its records (all but the trailer); null: give up. */
  walk(root: Cell): Staging | null {
    const beat = this.beat;
    const rootThere = root.up === null || ((root.flags & VEILED) === 0 && root.created <= beat && (root.deleted < 0 || root.deleted > beat || (this.mode === MODE_DELTA && root.deleted === beat)));
    if (!rootThere) return null; // the general path says why
    const rm = this.markOf(root, 0);
    const rootMark = rm === 0 ? M_ANCHOR : rm;
    if ((root.flags & COLD_STORE) !== 0) warm(root, 'children');
    const kids = root.store === null ? null : root.store.toArray();
    const st = new Staging(kids === null ? 0 : kids.length);
    const desc = new DescWriter(st, this.rt, beat, this.mode, this.refs);
    if (!desc.root(root, rootMark, pathOf(root))) return null;
    this.n = 1;
    if (kids !== null && !this.enter(st, root, 0, rootMark, kids)) return null;
    return this.walkLevels(st, desc) ? st : null;
  }

  /** The pre-order walk below the root, in walkBranch's order. */
  private walkLevels(st: Staging, desc: DescWriter): boolean {
    while (this.depth > 0) {
      const top = this.depth - 1;
      const kids = this.lists[top];
      const pm = this.marks[top];
      let k = this.at[top];
      let next: Cell | null = null;
      let nextMark = 0;
      for (; k < kids.length; k++) {
        const c = kids[k];
        const m = this.markOf(c, pm);
        if (m === 0) continue;
        if ((c.flags & H_TYPE_MASK) > H_TYPE_LINK) return false; // a proxy: the general path refuses the frame
        if ((c.flags & H_COLD_STORE) !== 0) warm(c, 'children');
        if (m !== H_M_ANCHOR) {
          if (this.flushed < this.depth) this.flush(desc);
          if (!desc.write(this.n, c, this.ords[top] + 1, m)) return false;
          this.n++;
        }
        if (c.store !== null) {
          next = c;
          nextMark = m;
          break; // descend: its children come next
        }
        // (an anchor with no store below it has nothing to locate and never stays)
      }
      if (next === null) {
        this.depth--;
        if (this.flushed > this.depth) this.flushed = this.depth;
        continue;
      }
      this.at[top] = k + 1;
      if (!this.enter(st, next, nextMark === H_M_ANCHOR ? -1 : this.n - 1, nextMark, next.store!.toArray())) return false;
    }
    return true;
  }

  /**
   * Enter the store of a cell just handled: a described owner's manifest_delta first, then a
   * new level. Gives up where an order_delta record may be due (its children's ordinals are not
   * known yet) and on the stores the general path refuses.
   */
  private enter(st: Staging, owner: Cell, ord: number, mark: number, kids: Cell[]): boolean {
    const store = owner.store!;
    if (mark !== M_ANCHOR && (this.mode === MODE_SNAPSHOT || mark === M_NEW || store.modified === this.beat)) {
      if (store.indexing === 'comparator' || store.indexing === 'function') return false;
      const at = st.open(FLAT_T_MANIFEST, 0, ord, 0, 0, 0, 2 + varintSize(store.autoNext));
      st.buf[at] = STORE_CODES.indexOf(store.kind);
      st.buf[at + 1] = INDEXING_CODES.indexOf(store.indexing);
      writeVarint(st.buf, at + 2, store.autoNext);
      this.caps |= FLAT_CAP_MANIFEST;
    }
    if (store.indexing === 'insertion' && !createdInOrder(kids)) return false;
    const d = this.depth++;
    this.lists[d] = kids;
    this.at[d] = 0;
    this.owners[d] = owner;
    this.ords[d] = ord;
    this.marks[d] = mark;
    if (ord >= 0) this.flushed = this.depth;
    return true;
  }

  /** Write the held-back anchors that own the levels from `flushed` up, outermost first. */
  private flush(desc: DescWriter): void {
    for (let d = this.flushed; d < this.depth; d++) {
      const ord = this.n++;
      desc.anchor(ord, this.owners[d], this.ords[d - 1] + 1); // (the root's level is never held back: d >= 1)
      this.ords[d] = ord;
    }
    this.flushed = this.depth;
  }
}

/**
 * Whether a store's children were created in non-decreasing beats. writeFrame's
 * order_delta (frontChildren) lists a child only where a later child is older, so a store that
 * passes needs none, in either mode.
 */
function createdInOrder(kids: Cell[]): boolean {
  for (let k = 1; k < kids.length; k++) if (kids[k].created < kids[k - 1].created) return false;
  return true;
}
