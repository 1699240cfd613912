/**
 * The tree: the root cell and its boot layout, the beat counter, the namepool, the byte arena
 * and history log shared by every cell, lock counters, the link shadow registry, and the hooks
 * the layers above set on it (cold loading, write limits, change tracking). The kernel's whole
 * state; the heartbeat, the organs and persistence attach to a tree, and the runtime
 * (src/runtime/) is a tree with them attached. Nothing here reads a clock or randomness;
 * iteration order is store order.
 */
import { historyPruned, invalidArgType, outOfRange } from '../errors.js';
import { ByteArena } from './arena.js';
import { Cell, type CellInit, type NameInput } from './cell/cell.js';
import { checkBeat, COLD_STORE, LEN_MASK, LEN_SHIFT, PK_MASK, PK_SHIFT, PK_VALUE, SEE_NOW, seen, TYPE_LINK, TYPE_MASK } from './cell/flags.js';
import { HistoryLog } from './history.js';
import { resolveNow } from './link.js';
import type { LockTable } from './lock.js';
import { Namepool } from './namepool.js';
import { GLOB_MULTI_HI, GLOB_MULTI_LO, GLOB_STAR_HI, GLOB_STAR_LO, encodeWord, enc } from './naming/id.js';
import { DOM_CEP, Name, nameText, nm } from './naming/name.js';
import { checkPathSegments, globMatch, parsePath, parsePattern, peekSegment, segmentEnd, splitPath, type PathSegment } from './path.js';
import { checkStore, createStore, type Indexing, type StoreKind } from './store/index.js';
import { warm, type ColdLoader } from './cold.js';

/**
 * Limits an outside party (the persistence service) puts on writes: checked by the cell API
 * before anything changes, so a refused write leaves the tree as it was. Kept off the hot path:
 * only payloads above `payloadBytes` and children of `parent` reach the checks.
 */
export interface WriteGuard {
  /** Payload writes of more bytes than this are passed to `payload` (Infinity: none). */
  readonly payloadBytes: number;
  /** Throws to refuse a payload of `bytes` bytes on `cell` (a cell being added included). */
  payload(cell: Cell, bytes: number): void;
  /** New children of this cell are passed to `child` (null: none). */
  readonly parent: Cell | null;
  /** Throws to refuse a child named `name` (its printed text) under `parent`. */
  child(name: string): void;
}

/** Top-level cells created at boot, in this order. */
export const ROOT_LAYOUT = ['sys', 'rt', 'journal', 'env', 'cas', 'lib', 'data', 'tmp', 'enzymes'] as const;

export interface TreeOptions {
  /** Store kind for children stores created implicitly by `add` (default 'hash'). */
  defaultStore?: StoreKind;
  /** Indexing for those stores (default: the store kind's first in STORE_MATRIX; 'name' for 'hash'). */
  defaultIndexing?: Indexing;
  /** Create the root layout (default true). */
  layout?: boolean;
  /**
   * Beats of payload history kept for as-of reads (default 65,536; 0: all, forever). Older
   * versions are dropped every `historyBeats / 4` beats; reads before `historyFloor` throw
   * ERR_HISTORY_PRUNED.
   */
  historyBeats?: number;
}

/** Default payload history retention (beats): the same window as `digestBeats`. */
export const HISTORY_BEATS = 65_536;

let writeBeat: (tree: Tree, beat: number) => void;

/**
 * Move a tree's beat: for the layers that rebuild or resume a tree (frames applied, a store
 * recovered, an undo). Not public: `rt.beat` is read-only to users.
 */
export function setBeat(tree: Tree, beat: number): void {
  writeBeat(tree, beat);
}

let writeFloor: (tree: Tree, beat: number) => void;

/**
 * Raise a tree's history floor to `beat` (never lowers it): for a store that loaded snapshots
 * whose history windows begin there. Not public: `historyFloor` is read-only to users.
 */
export function raiseHistoryFloor(tree: Tree, beat: number): void {
  writeFloor(tree, beat);
}

export class Tree {
  #beat = 0;
  static {
    writeBeat = (tree, beat) => {
      tree.#beat = beat;
    };
    writeFloor = (tree, beat) => {
      if (beat > tree.#historyFloor) tree.#historyFloor = beat;
    };
  }
  /** The current beat: every change made now is stamped with it (read-only; beats move it). */
  get beat(): number {
    return this.#beat;
  }
  /** @internal Interned reference names. */
  readonly namepool = new Namepool();
  /** @internal VALUE bytes (replaced by `compact`). */
  arena = new ByteArena();
  /** @internal Payload versions of every cell. */
  readonly history = new HistoryLog();
  /** Beats of payload history kept (0: all). */
  readonly historyBeats: number;
  #historyFloor = 0;
  /**
   * The oldest beat as-of payload reads still answer exactly: versions before it were dropped
   * by retention (or never loaded from a store). Reads before it throw ERR_HISTORY_PRUNED.
   */
  get historyFloor(): number {
    return this.#historyFloor;
  }
  /** Beat of the last retention pass. */
  private prunedAt = 0;
  readonly root: Cell;
  readonly defaultStore: StoreKind;
  readonly defaultIndexing: Indexing;
  /** @internal Store / data locks held, by cell (empty tables let mutations skip the ancestor walk). */
  readonly storeLocks: LockTable = new Map();
  /** @internal */
  readonly dataLocks: LockTable = new Map();
  /** @internal Link shadows: target -> linkers. */
  readonly shadows = new Map<Cell, Cell[]>();
  /** @internal Loads cold cells on first access (kernel/cold.ts); null: no cell is cold. */
  coldLoader: ColdLoader | null = null;
  /** @internal While a beat runs: every cell a change touches, pushed by the cell API (heartbeat digests). */
  touched: Cell[] | null = null;
  /** @internal Between beats (`touched` is null): called with each cell a change touches; null: nobody asks (persistence does). */
  changedBetweenBeats: ((cell: Cell) => void) | null = null;
  /** @internal What a store below the tree cannot keep, refused before anything changes (set by persistence); null: no limits. */
  writeGuard: WriteGuard | null = null;
  /** @internal Set when the tree is closed: every later mutation throws what it makes. */
  writesRefused: (() => Error) | null = null;

  constructor(options: TreeOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const hb = options.historyBeats ?? HISTORY_BEATS;
    if (!Number.isSafeInteger(hb) || hb < 0) throw outOfRange('historyBeats', 'an integer >= 0', hb);
    this.historyBeats = hb;
    const kind = options.defaultStore ?? 'hash';
    this.defaultIndexing = checkStore(kind, options.defaultIndexing, {});
    this.defaultStore = kind;
    encodeWord('root');
    const root = new Cell(null, DOM_CEP, enc.hi, enc.lo, 0);
    root.store = createStore('hash', 'name', {}, root, this);
    this.root = root;
    if (options.layout !== false) for (const name of ROOT_LAYOUT) root.add(name);
  }

  /** Advance to the next beat without running one; returns it (low level: the heartbeat calls it each beat; kernel-only code and frame tooling use it). */
  advance(): number {
    const b = ++this.#beat;
    const keep = this.historyBeats;
    if (keep > 0 && b - this.prunedAt >= Math.max(1, keep >>> 2) && b > keep) this.pruneHistory(b - keep);
    return b;
  }

  /**
   * Drop payload versions no read at `horizon` or later needs, and raise `historyFloor` to it.
   * Runs by itself (`historyBeats`). (Loading a store raises `historyFloor` directly to where
   * the loaded snapshots' history windows begin.)
   */
  pruneHistory(horizon: number): void {
    this.prunedAt = this.beat;
    if (horizon <= this.historyFloor) return;
    const arena = this.arena;
    this.history.prune(
      horizon,
      (m) => (m & PK_MASK) >>> PK_SHIFT,
      (m) => {
        if ((m & PK_MASK) >>> PK_SHIFT === PK_VALUE) arena.free((m & LEN_MASK) >>> LEN_SHIFT);
      },
    );
    this.#historyFloor = horizon;
    if (arena.needsCompaction) this.compact();
  }

  /** A checked as-of beat: an integer from 0 to the current beat, not older than the history kept (ERR_HISTORY_PRUNED). */
  asOf(beat: unknown): number {
    const b = checkBeat(beat, this.beat, 'atBeat');
    if (b < this.historyFloor) throw historyPruned(b, this.historyFloor);
    return b;
  }

  /** Parse a name (interning references) for repeated use with `add`/`child`. */
  name(text: string): Name {
    return Name.parse(text, this.namepool);
  }

  /** The cell at `path` now (or as of `atBeat`), or undefined. Links on the way are followed. */
  find(path: string, atBeat?: number): Cell | undefined {
    if (atBeat === undefined) return this.findNow(path);
    const segs = parsePath(path, this.namepool);
    if (segs === undefined) return this.coldLoader === null ? undefined : this.findByText(path, atBeat);
    const mode = atBeat === undefined ? SEE_NOW : this.asOf(atBeat);
    let c: Cell | undefined = this.root;
    for (const s of segs) {
      if ((c.flags & TYPE_MASK) === TYPE_LINK) c = mode === SEE_NOW ? resolveNow(c) : c.targetAt(mode);
      if (c === undefined) return undefined;
      if ((c.flags & COLD_STORE) !== 0) warm(c, 'children');
      if (c.store === null) return undefined;
      c = c.store.findName(s.dom, s.hi, s.lo, mode);
      if (c === undefined) return undefined;
    }
    return c;
  }

  /**
   * `find` now, without splitting the path or allocating segments: each segment is parsed in
   * place and looked up at once. The same checks as `parsePath`, in the same order: the whole
   * text first, then every segment's name (a bad one after a miss still throws); the first
   * reference the namepool does not know ends it.
   */
  private findNow(path: string): Cell | undefined {
    checkPathSegments(path);
    const pool = this.namepool;
    let c: Cell | undefined = this.root;
    if (path.length === 1) return c;
    for (let start = 1; ; ) {
      const end = segmentEnd(path, start);
      if (!peekSegment(path, pool, start, end)) return this.coldLoader === null ? undefined : this.findByText(path);
      if (c !== undefined) {
        // copied first: warming a cold cell parses names too
        const dom = nm.dom;
        const hi = nm.hi;
        const lo = nm.lo;
        if ((c.flags & TYPE_MASK) === TYPE_LINK) c = resolveNow(c);
        if (c !== undefined && (c.flags & COLD_STORE) !== 0) warm(c, 'children');
        c = c === undefined || c.store === null ? undefined : c.store.findName(dom, hi, lo, SEE_NOW);
      }
      if (end === path.length) return c;
      start = end + 1;
    }
  }

  /** `find` segment by segment: a name that is not interned yet may be a cold cell's, interned as its parent loads. */
  private findByText(path: string, atBeat?: number): Cell | undefined {
    if (atBeat !== undefined) this.asOf(atBeat);
    let c: Cell | undefined = this.root;
    for (const text of splitPath(path)) {
      c = c.child(text, atBeat);
      if (c === undefined) return undefined;
    }
    return c;
  }

  /**
   * Cells matching a path pattern, in depth-first store order: a segment may hold `*` (zero or
   * more characters), be `*` (any name) or `**` (any run of segments, none included).
   */
  query(pattern: string, atBeat?: number): Cell[] {
    const segs = parsePattern(pattern, this.namepool);
    const mode = atBeat === undefined ? SEE_NOW : this.asOf(atBeat);
    const out: Cell[] = [];
    if (segs === undefined) return out;
    const found = new Set<Cell>();
    const kids = (c: Cell): Cell[] => {
      if ((c.flags & TYPE_MASK) === TYPE_LINK) {
        const t = mode === SEE_NOW ? resolveNow(c) : c.targetAt(mode);
        if (t === undefined) return [];
        c = t;
      }
      const list: Cell[] = [];
      if ((c.flags & COLD_STORE) !== 0) warm(c, 'children');
      if (c.store !== null) c.store.forEach((k) => void (seen(k, mode) && list.push(k)));
      return list;
    };
    const matches = (c: Cell, s: PathSegment): boolean => {
      if (s.hi === GLOB_STAR_HI && s.lo === GLOB_STAR_LO) return true;
      if (!s.glob) return c.dom === s.dom && c.hi === s.hi && c.lo === s.lo;
      return globMatch(s.text, nameText(c.dom, c.hi, c.lo, this.namepool));
    };
    // Depth-first with an explicit stack (any depth): a pair (cell, segment index) is expanded
    // once, so `**` patterns stay linear in the cells they reach and a link back up ends
    const stack: Cell[] = [this.root];
    const at: number[] = [0];
    const expanded: Set<Cell>[] = segs.map(() => new Set());
    while (stack.length > 0) {
      const c = stack.pop()!;
      const i = at.pop()!;
      if (i === segs.length) {
        if (!found.has(c)) {
          found.add(c);
          out.push(c);
        }
        continue;
      }
      if (expanded[i].has(c)) continue;
      expanded[i].add(c);
      const s = segs[i];
      const list = kids(c);
      if (s.hi === GLOB_MULTI_HI && s.lo === GLOB_MULTI_LO) {
        for (let k = list.length - 1; k >= 0; k--) {
          stack.push(list[k]);
          at.push(i);
        }
        stack.push(c); // `**` matching no segment comes first
        at.push(i + 1);
        continue;
      }
      for (let k = list.length - 1; k >= 0; k--) {
        if (!matches(list[k], s)) continue;
        stack.push(list[k]);
        at.push(i + 1);
      }
    }
    return out;
  }

  /** Visit every visible cell now (or as of `atBeat`; `raw` includes deleted and veiled ones). */
  traverse(fn: (cell: Cell, depth: number) => boolean | void, options: { atBeat?: number; raw?: boolean } = {}): void {
    this.root.traverse(fn, options);
  }

  /**
   * Veiled building: add `name` under `parent` veiled, let `build` fill it, then reveal it at
   * once. If `build` throws, the veiled subtree is discarded (hard; it stays veiled if a lock or
   * a link from outside pins it) and the error rethrown.
   */
  build(parent: Cell, name: NameInput, init: CellInit | undefined, build: (cell: Cell) => void): Cell {
    const cell = parent.add(name, { ...init, veiled: true });
    try {
      build(cell);
    } catch (e) {
      try {
        cell.removeHard();
      } catch {
        // a lock or an outside link left by `build` keeps the subtree: it stays veiled (invisible)
      }
      throw e;
    }
    cell.unveil();
    return cell;
  }

  /**
   * Copy every live VALUE payload (current and historical) into a fresh arena, dropping the
   * garbage left by hard updates, hard deletes and same-beat replacements. Runs by itself when
   * garbage outweighs live bytes; O(cells + history entries).
   */
  compact(): void {
    const from = this.arena;
    const to = new ByteArena();
    const h = this.history;
    const isValue = (meta: number) => (meta & PK_MASK) >>> PK_SHIFT === PK_VALUE;
    const move = (off: number, meta: number) => to.write(from.view(off, (meta & LEN_MASK) >>> LEN_SHIFT));
    this.root.traverse(
      (c) => {
        if (isValue(c.flags)) c.pv = move(c.pv as number, c.flags);
        for (let e = c.hist; e >= 0; e = h.prev[e]) if (isValue(h.meta[e])) h.pv[e] = move(h.pv[e] as number, h.meta[e]);
      },
      { raw: true, warm: false }, // cold cells hold no bytes here
    );
    this.arena = to;
  }

  /** Memory accounting of the shared structures. */
  stats(): { arenaBytes: number; arenaGarbage: number; arenaCapacity: number; historyEntries: number; historyCapacity: number; names: number } {
    return {
      arenaBytes: this.arena.used,
      arenaGarbage: this.arena.garbage,
      arenaCapacity: this.arena.capacity,
      historyEntries: this.history.live,
      historyCapacity: this.history.capacity,
      names: this.namepool.size,
    };
  }
}
