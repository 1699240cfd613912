/**
 * Exact undo of a frame replay that failed part-way (applyFrame is atomic). Before the replay
 * the applier saves every existing cell the replay can change (its fields, VALUE bytes, store
 * counters) and the shadow (backlink) lists it can change; on failure the cells the replay
 * made are unmade (`Cell.unmake`: gone with their history, bytes and name references), the
 * saved cells get their fields back, the history entries pushed onto them are freed, and the
 * runtime's beat and touched list are reset.
 */
import type { Cell } from '../kernel/cell/cell.js';
import { PK_VALUE, SHADOWED, TYPE_LINK, TYPE_MASK } from '../kernel/cell/flags.js';
import { dropHistory, kindOf, lenOf } from '../kernel/cell/payload.js';
import type { ChildStore } from '../kernel/store/index.js';
import type { Tree } from '../kernel/tree.js';
import { setBeat } from '../kernel/tree.js';

interface SavedCell {
  flags: number;
  pv: unknown;
  /** A copy of the VALUE bytes (arena offsets may move: compaction, same-beat overwrites). */
  bytes: Uint8Array | undefined;
  mod: number;
  hist: number;
  deleted: number;
  store: ChildStore | null;
  storeModified: number;
  autoNext: number;
}

const isValue = (flags: number): boolean => kindOf(flags) === PK_VALUE;

export class ReplayUndo {
  private readonly cells = new Map<Cell, SavedCell>();
  private readonly shadows = new Map<Cell, Cell[] | undefined>();
  private readonly beat: number;
  private readonly touched: number;

  constructor(private readonly rt: Tree) {
    this.beat = rt.beat;
    this.touched = rt.touched === null ? 0 : rt.touched.length;
  }

  /** Save a cell the replay may change (once; later calls keep the first state). */
  cell(c: Cell): void {
    if (this.cells.has(c)) return;
    const rt = this.rt;
    this.cells.set(c, {
      flags: c.flags,
      pv: c.pv,
      bytes: isValue(c.flags) ? rt.arena.view(c.pv as number, lenOf(c.flags)).slice() : undefined,
      mod: c.mod,
      hist: c.hist,
      deleted: c.deleted,
      store: c.store,
      storeModified: c.store === null ? 0 : c.store.modified,
      autoNext: c.store === null ? 0 : c.store.autoNext,
    });
    if ((c.flags & TYPE_MASK) === TYPE_LINK) this.shadowsOf(c.pv as Cell);
  }

  /** Save a link target's shadow list (and the target itself). */
  shadowsOf(target: Cell): void {
    if (!this.shadows.has(target)) this.shadows.set(target, this.rt.shadows.get(target)?.slice());
    this.cell(target);
  }

  /** Cells whose whole subtree is saved (a chain whose every cell dies is walked once). */
  private readonly subtrees = new Set<Cell>();

  /** Save a cell about to be soft-deleted: its whole stored subtree, the links inside and the links to it. */
  dying(c: Cell): void {
    c.traverse(
      (x) => {
        if (this.subtrees.has(x)) return false;
        this.subtrees.add(x);
        this.cell(x);
        if ((x.flags & SHADOWED) !== 0) {
          this.shadowsOf(x);
          for (const l of this.rt.shadows.get(x) ?? []) this.cell(l);
        }
      },
      { raw: true },
    );
  }

  /** Undo: unmake `made` (the top-most cells the replay created), then restore every saved cell. */
  rollback(made: Cell[]): void {
    const rt = this.rt;
    for (let k = made.length - 1; k >= 0; k--) made[k].unmake();
    const h = rt.history;
    for (const [c, s] of this.cells) {
      // history entries pushed during the replay sit in front of the saved head
      for (let e = c.hist; e >= 0 && e !== s.hist; ) {
        const next = h.prev[e];
        h.prev[e] = -1;
        dropHistory(rt, e);
        e = next;
      }
      const sameValue = isValue(s.flags) && c.flags === s.flags && c.pv === s.pv && rt.arena.equals(c.pv as number, s.bytes!.length, s.bytes!);
      if (!sameValue) {
        if (isValue(c.flags)) rt.arena.free(lenOf(c.flags));
        c.pv = isValue(s.flags) ? rt.arena.write(s.bytes!) : s.pv;
      }
      c.flags = s.flags;
      c.mod = s.mod;
      c.hist = s.hist;
      c.deleted = s.deleted;
      c.store = s.store;
      if (s.store !== null) {
        s.store.modified = s.storeModified;
        s.store.autoNext = s.autoNext;
      }
    }
    for (const [t, list] of this.shadows) {
      if (list === undefined) rt.shadows.delete(t);
      else rt.shadows.set(t, list);
    }
    setBeat(rt, this.beat);
    if (rt.touched !== null) rt.touched.length = this.touched;
    if (rt.arena.needsCompaction) rt.compact();
  }
}
