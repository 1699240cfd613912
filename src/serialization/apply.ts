/**
 * Applying a frame to a kernel runtime. The frame is validated and decoded first, then a plan
 * is made without touching the runtime (every anchor located, every name parsed, every
 * mutation checked against locks and immutability, every link target found); only then are
 * the changes replayed, event by event in beat order (creations, payload versions, deletions),
 * with `rt.beat` set to each event's beat, so the kernel stamps and history come out as in the
 * runtime that wrote the frames. A frame that fails changes nothing: planning refuses what it
 * can see, and a replay that the kernel stops part-way is undone exactly (undo.ts).
 */
import { frameError, invalidArgType } from '../errors.js';
import type { Cell } from '../kernel/cell/cell.js';
import { DOM_CEP, NAME_PEEK, domainId, nm, parseName } from '../kernel/naming/name.js';
import { HALF, HI_PAYLOAD_MASK, NAMING_REFERENCE, REFERENCE_HI, decodeAcronym, decodeWord, namingOf, numericText } from '../kernel/naming/id.js';
import { referenceTextProblem } from '../kernel/namepool.js';
import { VALUE_INLINE_DEFAULT } from '../kernel/cell/flags.js';
import type { Tree } from '../kernel/tree.js';
import { setBeat } from '../kernel/tree.js';
import { createStore } from '../kernel/store/index.js';
import { CellRequests, FrameTree, markAncestors } from './frame-tree.js';
import { ReplayUndo } from './undo.js';
import { readFrame, type Frame, type FrameCell, type FrameName, type FramePayload, type ReadOptions } from './reader.js';

export type ApplyOptions = ReadOptions;

export interface ApplyResult {
  beat: number;
  root: Uint8Array;
  /** Cells created by the frame. */
  created: number;
  /** Existing cells the frame changed (payload or deletion). */
  changed: number;
  /** The frame's apply mode and history windows (trailer): what past a snapshot brought along. */
  mode: 'delta' | 'snapshot';
  history: { payload: number; manifest: number };
}

interface Plan {
  /** The runtime cell of each frame cell (undefined: to be created). */
  cell: (Cell | undefined)[];
  /** Text form of each frame cell's name (ordinal 0: the last path segment). */
  text: string[];
}

const CEP_ID = domainId(DOM_CEP);

/** Roots of the frames each runtime has applied (a frame applies once). */
const appliedRoots = new WeakMap<Tree, Set<string>>();

function malformed(reason: string): never {
  throw frameError('ERR_FRAME_MALFORMED', reason);
}

function applyError(reason: string): never {
  throw frameError('ERR_FRAME_APPLY', reason);
}

/** Text of one id: word, acronym, number, or a reference the frame's namepool records teach. */
function idText(frame: Frame, hi: number, lo: number): string {
  switch (namingOf(hi)) {
    case 0:
      return decodeWord(hi, lo);
    case 1:
      return decodeAcronym(hi, lo);
    case 3:
      return numericText(hi, lo);
    default: {
      const entry = frame.names.get((hi & HI_PAYLOAD_MASK) * HALF + lo);
      if (entry === undefined || entry.glob) return malformed(`reference #${(hi & HI_PAYLOAD_MASK) * HALF + lo} is used but not taught`);
      return entry.text;
    }
  }
}

/** The text of a frame name as `add` takes it (`tag`, or `DOMAIN~tag` outside the CEP domain); unchecked. */
export function frameNameText(frame: Frame, n: FrameName): string {
  const tag = idText(frame, n.hi, n.lo);
  return n.domHi === CEP_ID.hi && n.domLo === CEP_ID.lo ? tag : `${idText(frame, n.domHi, n.domLo)}~${tag}`;
}

/** The canonical text of a frame name (`tag` or `DOMAIN~tag`), checked to parse back to the same ids. */
function nameText(frame: Frame, rt: Tree, n: FrameName): string {
  const tag = idText(frame, n.hi, n.lo);
  const cep = n.domHi === CEP_ID.hi && n.domLo === CEP_ID.lo;
  const text = cep ? tag : `${idText(frame, n.domHi, n.domLo)}~${tag}`;
  for (const [hi, lo, t] of [
    [n.hi, n.lo, tag],
    [n.domHi, n.domLo, cep ? 'CEP' : idText(frame, n.domHi, n.domLo)],
  ] as const) {
    if (namingOf(hi) === NAMING_REFERENCE && referenceTextProblem(t) !== null) malformed(`a reference name ${JSON.stringify(t.slice(0, 32))} is not valid`);
    void lo;
  }
  let known: boolean;
  try {
    known = parseName(text, rt.namepool, NAME_PEEK);
  } catch {
    return malformed(`the name ${JSON.stringify(text.slice(0, 64))} does not parse`);
  }
  // compact ids must round-trip exactly; references are matched by text
  if (known && namingOf(n.hi) !== NAMING_REFERENCE && (nm.hi !== n.hi || nm.lo !== n.lo)) malformed(`the name ${JSON.stringify(text)} is not canonical`);
  if (namingOf(n.hi) === NAMING_REFERENCE && known && namingOf(nm.hi) !== NAMING_REFERENCE) malformed(`reference text ${JSON.stringify(text)} encodes compactly`);
  return text;
}

/**
 * Order the creations of one beat (events[from, to), already in frame order) so that parents
 * come before children and link targets before their links (the `extraEdges`), while the appended children of
 * an insertion-ordered store keep their order and its prepended ones theirs (prepends and
 * appends commute; sorted stores place children by key whatever the order).
 * Kahn's algorithm, taking the earliest ready event in frame order each time. A cycle (only a
 * hostile frame makes one) is ERR_FRAME_APPLY, found before anything changes.
 */
function orderCreations(events: { i: number }[], from: number, to: number, cells: FrameCell[], front: Set<number>, insertion: Uint8Array, extraEdges: [number, number][]): void {
  const m = to - from;
  if (m < 2) return;
  const { succ, indeg } = creationGraph(events, from, m, cells, front, insertion, extraEdges);
  const heap: number[] = []; // ready run indexes, smallest first
  for (let k = 0; k < m; k++) if (indeg[k] === 0) heapPush(heap, k);
  const run = events.slice(from, to);
  let out = from;
  while (heap.length > 0) {
    const k = heapPop(heap);
    events[out++] = run[k];
    for (const x of succ[k]) if (--indeg[x] === 0) heapPush(heap, x);
  }
  if (out !== to) applyError('the frame orders its cells in a cycle (links, parents and store order disagree)');
}

/** The edges between the `m` creations of one run (events[from, from + m)), by run index: successors and in-degrees. */
function creationGraph(
  events: { i: number }[],
  from: number,
  m: number,
  cells: FrameCell[],
  front: Set<number>,
  insertion: Uint8Array,
  extraEdges: [number, number][],
): { succ: number[][]; indeg: Int32Array } {
  const pos = new Map<number, number>(); // frame ordinal -> index in the run
  for (let k = 0; k < m; k++) pos.set(events[from + k].i, k);
  const succ: number[][] = Array.from({ length: m }, () => []);
  const indeg = new Int32Array(m);
  const lastFront = new Map<number, number>();
  const lastAppend = new Map<number, number>();
  for (let k = 0; k < m; k++) {
    const i = events[from + k].i;
    const parent = cells[i].parent;
    addEdge(succ, indeg, pos.get(parent), k);
    if (parent >= 0 && insertion[parent] === 1) {
      const chain = front.has(i) ? lastFront : lastAppend;
      addEdge(succ, indeg, chain.get(parent), k);
      chain.set(parent, k);
    }
  }
  for (const [a, b] of extraEdges) {
    const to = pos.get(b);
    if (to !== undefined) addEdge(succ, indeg, pos.get(a), to);
  }
  return { succ, indeg };
}

function addEdge(succ: number[][], indeg: Int32Array, a: number | undefined, b: number): void {
  if (a === undefined || a === b) return;
  succ[a].push(b);
  indeg[b]++;
}

/** Push onto a binary min-heap. */
function heapPush(heap: number[], x: number): void {
  heap.push(x);
  for (let c = heap.length - 1; c > 0; ) {
    const p = (c - 1) >> 1;
    if (heap[p] <= heap[c]) break;
    [heap[p], heap[c]] = [heap[c], heap[p]];
    c = p;
  }
}

/** Pop the smallest of a non-empty binary min-heap. */
function heapPop(heap: number[]): number {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    for (let c = 0; ; ) {
      const l = 2 * c + 1;
      const r = l + 1;
      let s = c;
      if (l < heap.length && heap[l] < heap[s]) s = l;
      if (r < heap.length && heap[r] < heap[s]) s = r;
      if (s === c) break;
      [heap[s], heap[c]] = [heap[c], heap[s]];
      c = s;
    }
  }
  return top;
}

const ONLY: FramePayload[] = [];
/** A cell's payload versions, oldest first: its history, then the described one (no copy when there is no history). */
function versionsOf(f: FrameCell): FramePayload[] {
  if (f.payload === undefined) return f.history;
  if (f.history.length === 0) {
    ONLY[0] = f.payload;
    return ONLY;
  }
  return [...f.history, f.payload];
}

/** Whether a store (or the one the runtime would create) keeps live names unique. */
function uniqueStore(store: Cell['store'], rt: Tree): boolean {
  return store !== null ? store.unique : rt.defaultStore === 'hash' || rt.defaultIndexing === 'name';
}

/** The `dup`-th live child named `text` in store order. */
function childAt(parent: Cell, text: string, dup: number): Cell | undefined {
  if (dup === 0) return parent.child(text);
  let k = 0;
  for (const c of parent.children()) if (c.name === text && k++ === dup) return c;
  return undefined;
}

function findPath(frame: Frame, rt: Tree, path: FrameName[]): Cell | undefined {
  let c: Cell | undefined = rt.root;
  for (const seg of path) {
    c = c.child(nameText(frame, rt, seg));
    if (c === undefined) return undefined;
  }
  return c;
}

function resolvePath(frame: Frame, rt: Tree, path: { name: FrameName; dup: number }[]): Cell | undefined {
  let c: Cell | undefined = rt.root;
  for (const seg of path) {
    c = childAt(c, nameText(frame, rt, seg.name), seg.dup);
    if (c === undefined) return undefined;
  }
  return c;
}

function payloadBytes(p: FramePayload, where: string): Uint8Array | undefined {
  if (p.kind !== 'value' && p.kind !== 'data') return undefined;
  if (p.bytes === undefined) throw frameError('ERR_FRAME_AEAD', `the payload of ${where} is sealed: pass the key (options.aead)`);
  return p.bytes;
}

/** Write one payload version on an existing cell in the current beat (kind kept exactly). */
function writeVersion(c: Cell, p: FramePayload, bytes: Uint8Array | undefined): void {
  if (p.kind === 'none') c.clearValue();
  else if (p.kind === 'value') {
    if (bytes!.length <= VALUE_INLINE_DEFAULT) c.set(bytes!);
    else c.setValue(bytes!);
  } else if (p.kind === 'data') c.setData(bytes!.slice(), { take: true });
}

/**
 * Apply a frame to `rt`: the frame is validated and decoded (`readFrame`), checked against
 * the runtime, then replayed atomically. Delta frames must come in beat order (a frame older
 * than `rt.beat` is refused); a delta whose cells already exist (applied twice) is refused.
 */
export function applyFrame(rt: Tree, bytes: Uint8Array, options?: ApplyOptions): ApplyResult {
  if (rt === null || typeof rt !== 'object' || !('root' in rt) || !('namepool' in rt)) throw invalidArgType('rt', 'a kernel Tree', rt);
  const frame = readFrame(bytes, options);
  const rootHex = Buffer.from(frame.root).toString('hex');
  let applied = appliedRoots.get(rt);
  if (applied === undefined) appliedRoots.set(rt, (applied = new Set()));
  if (applied.has(rootHex)) applyError('this frame was applied to this runtime before');
  if (frame.cells.length === 0) malformed('a frame without its branch root');
  if (frame.mode === 'delta' && frame.beat < rt.beat) applyError(`the frame is for beat ${frame.beat}, the runtime is at beat ${rt.beat}`);
  const a = new FrameApply(rt, frame);
  // plan: nothing changes until every check has passed
  a.planCells();
  a.checkNames();
  a.resolveOutsideLinks();
  // then the events, in beat order, and their replay
  a.schedule();
  a.replayAtomically();
  if (frame.beat > rt.beat) setBeat(rt, frame.beat);
  applied.add(rootHex);
  return { beat: frame.beat, root: frame.root, created: a.toCreate.length, changed: a.changed, mode: frame.mode, history: frame.history };
}

type LinkTarget = NonNullable<FramePayload['target']>;

/** One replay event: a creation, a payload version, a relink or a deletion of frame cell `i`. */
type Event = { beat: number; phase: number; i: number; v?: FramePayload };

// Phases within one beat: a cell's last payload before its deletion, deletions of older cells
// (so a name can be reused), creations, other payload versions, deletions of cells created in
// the same beat.
const P_SET_DYING = 0;
const P_DELETE_OLD = 1;
const P_CREATE = 2;
const P_RELINK = 2.5; // a new link whose target is created in the frame: point it there
const P_SET = 3;
const P_DELETE_NEW = 4;

function setPhase(f: FrameCell, beat: number): number {
  return f.deleted === beat && f.type !== 'link' ? P_SET_DYING : P_SET;
}

/** The beats a frame cell lives: [created, deleted). */
function lifetime(f: FrameCell): [number, number] {
  return [f.created, f.deleted < 0 ? Infinity : f.deleted];
}

/**
 * One applyFrame call: the plan (the runtime cell and name text of each frame cell, what is
 * to be created), the events it makes, and their replay.
 */
class FrameApply {
  readonly plan: Plan = { cell: [], text: [] };
  /** Frame ordinals of the cells to create, in frame order. */
  readonly toCreate: number[] = [];
  /** Existing cells the frame changes (payload or deletion). */
  changed = 0;
  private readonly cells: FrameCell[];
  private readonly n: number;
  private readonly delta: boolean;
  private readonly rootPath: FrameName[];
  /** 1 for the cells to create. */
  private readonly isNew: Uint8Array;
  /** The targets of the link payloads the frame carries, by frame ordinal. */
  private readonly linkTargets = new Map<number, LinkTarget>();
  /** Link targets outside the frame, resolved while planning. */
  private readonly outside = new Map<number, Cell>();
  /** New cells whose name must be free in an existing parent of unique names: [parent, text]. */
  private readonly freshChecks: [Cell, string][] = [];
  /** parent/name of new cells in unique stores -> first ordinal. */
  private readonly firstHolder = new Map<string, number>();
  /** Names held more than once: [created, deleted) each. */
  private readonly intervals = new Map<string, [number, number][]>();
  /** Children to create first (order_delta). */
  private readonly front = new Set<number>();
  /** The event beat of each creation (-1: none). */
  private readonly createdAt: Float64Array;
  /** The frame's tree (made once the stamps are checked). */
  private tree!: FrameTree;
  /** Cells whose deletion goes late in its beat (after creations below it or links into it). */
  private lateDelete: Uint8Array = new Uint8Array(0);
  /** Cells a creation replaces: siblings of the same name deleted in its beat, removed just before it. */
  private readonly replaces = new Map<number, number[]>();
  /** Extra creation order: [a, b] creates a before b. */
  private readonly extraEdges: [number, number][] = [];
  private readonly events: Event[] = [];
  /** Created cells whose parent existed before the frame (what a rollback removes). */
  private readonly made: Cell[] = [];

  constructor(
    private readonly rt: Tree,
    private readonly frame: Frame,
  ) {
    this.cells = frame.cells;
    this.n = this.cells.length;
    this.delta = frame.mode === 'delta';
    this.rootPath = this.cells[0].path!;
    this.isNew = new Uint8Array(this.n);
    this.createdAt = new Float64Array(this.n).fill(-1);
  }

  /** The runtime parent of the branch root (checked to exist while planning). */
  private rootParent(): Cell {
    return findPath(this.frame, this.rt, this.rootPath.slice(0, -1))!;
  }

  // ---- plan ----

  /** Locate every frame cell in the runtime and check what the frame does to it. */
  planCells(): void {
    const { cells, plan } = this;
    this.planRoot();
    for (let i = 0; i < this.n; i++) {
      const f = cells[i];
      if (i > 0) this.locate(i, f);
      const c = plan.cell[i];
      if (f.anchor) {
        if (c === undefined) applyError(`an anchor (${plan.text[i]}) is not in the runtime`);
        continue;
      }
      if (f.payload?.kind === 'link') this.linkTargets.set(i, f.payload.target!);
      if (c === undefined) this.checkNew(i, f);
      else this.checkExisting(i, f, c);
    }
  }

  /** The branch root: the runtime root, or found by its path (or to be created below an existing parent). */
  private planRoot(): void {
    const { frame, rt, plan, rootPath } = this;
    if (rootPath.length === 0) {
      plan.cell[0] = rt.root;
      plan.text[0] = '/';
      return;
    }
    plan.text[0] = nameText(frame, rt, rootPath[rootPath.length - 1]);
    plan.cell[0] = findPath(frame, rt, rootPath);
    if (plan.cell[0] === undefined) {
      if (this.cells[0].anchor) applyError('the branch root is not in the runtime');
      if (findPath(frame, rt, rootPath.slice(0, -1)) === undefined) applyError("the branch root's parent is not in the runtime");
    }
  }

  /** Name cell `i` and find it below its parent, unless it is fresh (its parent is new, or a delta creates it). */
  private locate(i: number, f: FrameCell): void {
    const plan = this.plan;
    plan.text[i] = nameText(this.frame, this.rt, f.name!);
    const parent = plan.cell[f.parent];
    const fresh = parent === undefined || (this.delta && f.created === this.frame.beat);
    plan.cell[i] = fresh ? undefined : childAt(parent, plan.text[i], f.dup ?? 0);
    if (fresh && parent !== undefined && !f.anchor) this.freshChecks.push([parent, plan.text[i]]);
  }

  /** A cell to create: its stamps fit the runtime, its payloads are open, its parent takes children. */
  private checkNew(i: number, f: FrameCell): void {
    const { frame, rt, plan, cells, delta } = this;
    const text = plan.text[i];
    if (delta && f.created !== frame.beat && f.parent >= 0 && plan.cell[f.parent] !== undefined) applyError(`${text} (created at beat ${f.created}) is missing from the runtime`);
    if (!delta && f.created < rt.beat) applyError(`${text} was created at beat ${f.created}, before the runtime's beat ${rt.beat}`);
    if (f.deleted >= 0 && f.deleted < f.created) malformed(`${text} is deleted before it is created`);
    if ((f.type === 'link') !== (f.payload?.kind === 'link')) malformed(`${text} is a link without a target, or a target without a link`);
    if (f.payload !== undefined) payloadBytes(f.payload, text);
    for (const h of f.history) payloadBytes(h, text);
    const parent = f.parent < 0 ? undefined : plan.cell[f.parent];
    if (parent !== undefined) parent.assertStructureMutable();
    const parentStore = f.parent < 0 ? undefined : cells[f.parent].store;
    if (parent !== undefined ? uniqueStore(parent.store, rt) : parentStore === undefined || parentStore.kind === 'hash' || parentStore.indexing === 'name') {
      this.noteUniqueName(i, f);
    }
    this.isNew[i] = 1;
    this.toCreate.push(i);
  }

  /** Names are nearly always unique: keep the first holder, make a list of lifetimes only on a repeat. */
  private noteUniqueName(i: number, f: FrameCell): void {
    const key = `${f.parent}/${this.plan.text[i]}`;
    const first = this.firstHolder.get(key);
    if (first === undefined) this.firstHolder.set(key, i);
    else {
      let list = this.intervals.get(key);
      if (list === undefined) this.intervals.set(key, (list = [lifetime(this.cells[first])]));
      list.push(lifetime(f));
    }
  }

  /** An existing cell: a new payload needs it open and mutable, a deletion its parent's structure mutable. */
  private checkExisting(i: number, f: FrameCell, c: Cell): void {
    if (f.payload !== undefined) {
      payloadBytes(f.payload, this.plan.text[i]);
      c.assertDataMutable();
    }
    if (f.deleted >= 0 && c.deleted < 0 && c.up !== null) c.up.owner.assertStructureMutable();
  }

  /** New names are free (unless the frame deletes their holder), and no two live cells share a unique name. */
  checkNames(): void {
    const { plan, cells, rt } = this;
    const dying = new Set<Cell>();
    for (let i = 0; i < this.n; i++) if (plan.cell[i] !== undefined && cells[i].deleted >= 0) dying.add(plan.cell[i]!);
    for (const [parent, text] of this.freshChecks) {
      const live = parent.child(text);
      if (live !== undefined && !dying.has(live) && uniqueStore(parent.store, rt)) applyError(`${text} already exists: was the frame applied before?`);
    }
    for (const [key, list] of this.intervals) {
      list.sort((a, b) => a[0] - b[0]);
      for (let k = 1; k < list.length; k++) if (list[k][0] < list[k - 1][1]) malformed(`two live cells named ${key.slice(key.indexOf('/') + 1)} under one parent`);
    }
  }

  /** Link targets outside the frame: a path the runtime resolves now (later creations must not shift same-name indexes). */
  resolveOutsideLinks(): void {
    for (const [i, target] of this.linkTargets) {
      if ('path' in target) {
        const t = resolvePath(this.frame, this.rt, target.path);
        if (t === undefined) applyError(`the link ${this.plan.text[i]} points at a cell that is not in the runtime`);
        this.outside.set(i, t);
      }
    }
  }

  // ---- schedule: events in beat order ----

  /** Check the stamps, then make every event and put them in replay order. */
  schedule(): void {
    this.collectFront();
    for (const i of this.toCreate) this.createdAt[i] = this.delta ? this.frame.beat : this.cells[i].created;
    this.checkStamps();
    // ancestors are found through the frame's tree, never by a walk up per cell (any depth stays linear)
    this.tree = new FrameTree(Int32Array.from(this.cells, (f) => f.parent));
    this.markLateDeletions();
    const goneBy = this.findReplacements();
    if (goneBy.size > 0) this.replacementEdges(goneBy);
    this.creationEvents();
    this.changeEvents();
    this.sortEvents();
    this.orderCreationRuns();
  }

  /** The children order_delta puts first; a delta lists only cells it creates. */
  private collectFront(): void {
    for (const f of this.cells) for (const j of f.front ?? []) this.front.add(j);
    if (this.delta) for (const j of this.front) if (this.plan.cell[j] !== undefined) malformed('order_delta lists a cell that is not created by the frame');
  }

  /**
   * Stamps must describe a possible history: a child after its parent, before its parent goes,
   * payload versions while the cell lives, nothing after the frame's beat.
   */
  private checkStamps(): void {
    const { cells, createdAt, isNew, frame, plan } = this;
    for (const i of this.toCreate) {
      const f = cells[i];
      const p = f.parent;
      if (createdAt[i] > frame.beat || f.deleted > frame.beat) malformed(`${plan.text[i]} is stamped after the frame's beat`);
      if (p >= 0 && isNew[p] === 1 && (createdAt[i] < createdAt[p] || (cells[p].deleted >= 0 && createdAt[i] > cells[p].deleted))) {
        malformed(`${plan.text[i]} is created outside its parent's lifetime`);
      }
      for (const v of versionsOf(f)) {
        if (v.beat > frame.beat || (f.deleted >= 0 && v.beat > f.deleted)) malformed(`${plan.text[i]} has a payload version outside its lifetime`);
      }
    }
  }

  /**
   * A deletion that goes late: marked on the cells that are (or are above) a cell asked about,
   * deleted in the beat asked about (deletions only: keys of live cells are never asked).
   */
  private markLateDeletions(): void {
    const { cells, createdAt } = this;
    const late = new CellRequests(this.n);
    for (const i of this.toCreate) {
      // a cell deleted in a beat where a descendant is created goes after that creation
      if (cells[i].parent >= 0) late.add(cells[i].parent, createdAt[i]);
      const t = this.linkTargets.get(i);
      // a link made in the beat its target (or an ancestor of it) goes
      if (t !== undefined && 'ordinal' in t) late.add(t.ordinal, createdAt[i]);
    }
    // a link retargeted in the beat its target (or the link itself) goes: retarget first
    for (const [i, t] of this.linkTargets) {
      const beats = [this.frame.beat, cells[i].payload!.beat, createdAt[i]];
      if ('ordinal' in t) beats.push(Math.max(createdAt[i], createdAt[t.ordinal]));
      for (const b of beats) {
        late.add(i, b);
        if ('ordinal' in t) late.add(t.ordinal, b);
      }
    }
    this.lateDelete = markAncestors(this.tree, (a) => cells[a].deleted, late);
  }

  private deletePhase(i: number, beat: number): number {
    return this.lateDelete[i] === 1 || this.createdAt[i] === beat ? P_DELETE_NEW : P_DELETE_OLD;
  }

  /** Whether the children of frame cell `p` (the runtime root's, for -1) keep live names unique. */
  private uniqueParent(p: number): boolean {
    if (p < 0) return true;
    const existing = this.plan.cell[p];
    if (existing !== undefined && existing.store !== null) return existing.store.unique;
    const desc = this.cells[p].store;
    return desc !== undefined ? desc.kind === 'hash' || desc.indexing === 'name' : uniqueStore(null, this.rt);
  }

  /**
   * In a store of unique names, a cell created in a beat may take the name of a sibling the
   * frame deletes in that same beat (created then, or earlier). The sibling goes just before
   * its namesake is made, after whatever the frame creates below it in that beat. Fills
   * `replaces`; returns each replaced cell's namesake.
   */
  private findReplacements(): Map<number, number> {
    const { cells, plan, createdAt, isNew } = this;
    const dyingByName = new Map<string, number[]>(); // parent/beat/name -> cells deleted then
    for (let j = 1; j < this.n; j++) {
      const f = cells[j];
      if (f.anchor || f.deleted < 0 || !this.uniqueParent(f.parent)) continue;
      const key = `${f.parent}/${f.deleted}/${plan.text[j]}`;
      let list = dyingByName.get(key);
      if (list === undefined) dyingByName.set(key, (list = []));
      list.push(j);
    }
    const goneBy = new Map<number, number>(); // a replaced cell -> the namesake replacing it
    for (const i of this.toCreate) {
      // namesakes that came before it: older cells, or ones the frame made earlier in this beat
      if (dyingByName.size === 0) break;
      const gone = dyingByName.get(`${cells[i].parent}/${createdAt[i]}/${plan.text[i]}`)?.filter((j) => j !== i && (isNew[j] === 0 || createdAt[j] < createdAt[i] || j < i));
      if (gone === undefined || gone.length === 0) continue;
      this.replaces.set(i, gone);
      for (const j of gone) goneBy.set(j, i);
    }
    return goneBy;
  }

  /**
   * What is made below a replaced cell (or itself), or links to it (or below it), comes before
   * its namesake made in the same beat. Only the nearest such replaced cell gives an edge: that
   * namesake lies below the next one up, so its own edge orders the rest (same closure).
   */
  private replacementEdges(goneBy: Map<number, number>): void {
    const { createdAt, extraEdges } = this;
    const before = new CellRequests(this.n);
    for (const j of this.toCreate) {
      before.add(j, createdAt[j], j);
      const t = this.linkTargets.get(j);
      if (t !== undefined && 'ordinal' in t) before.add(t.ordinal, createdAt[j], j);
    }
    const keyOf = (a: number): number => {
      const k = goneBy.get(a);
      return k === undefined ? -1 : createdAt[k];
    };
    this.tree.walkKeyed(keyOf, (x, onPath) => {
      for (let r = before.head[x]; r >= 0; r = before.next[r]) {
        const list = onPath.get(before.key[r]);
        if (list === undefined) continue;
        const j = before.who[r];
        for (let k = list.length - 1; k >= 0 && k >= list.length - 2; k--) {
          const namesake = goneBy.get(list[k])!;
          if (namesake === j) continue; // (a namesake replaces siblings only, so it is on a path once: one skip at most)
          extraEdges.push([j, namesake]);
          break;
        }
      }
    });
  }

  /** The events of each new cell: its creation, a relink to a target made by the frame, later payload versions, its deletion. */
  private creationEvents(): void {
    const { cells, createdAt, events } = this;
    for (const i of this.toCreate) {
      const f = cells[i];
      const t = createdAt[i];
      events.push({ beat: t, phase: P_CREATE, i });
      const target = this.linkTargets.get(i);
      if (target !== undefined && 'ordinal' in target && this.isNew[target.ordinal] === 1) {
        events.push({ beat: Math.max(t, createdAt[target.ordinal]), phase: P_RELINK, i, v: f.payload });
      }
      if (!this.delta || f.history.length > 0) {
        for (const v of versionsOf(f)) if (v.beat > t) events.push({ beat: v.beat, phase: setPhase(f, v.beat), i, v });
      }
      if (f.deleted >= 0) events.push({ beat: Math.max(f.deleted, t), phase: this.deletePhase(i, Math.max(f.deleted, t)), i });
    }
  }

  /** The events of existing cells (a new payload, a deletion); counts the cells changed. */
  private changeEvents(): void {
    const { cells, plan, events, frame } = this;
    for (let i = 0; i < this.n; i++) {
      const f = cells[i];
      const c = plan.cell[i];
      if (c === undefined || f.anchor) continue;
      let touched = false;
      if (f.payload !== undefined) {
        events.push({ beat: frame.beat, phase: setPhase(f, frame.beat), i, v: f.payload });
        touched = true;
      }
      if (f.deleted >= 0 && c.deleted < 0) {
        events.push({ beat: f.deleted, phase: this.deletePhase(i, f.deleted), i });
        touched = true;
      }
      if (touched) this.changed++;
    }
  }

  /**
   * Events by beat and phase; creations in frame (pre-)order, parents first; the children a
   * parent's order_delta puts first are created together, at the first one's place, in reverse
   * store order (each is prepended). Other events in frame order.
   */
  private sortEvents(): void {
    const { cells, createdAt, n } = this;
    const place = new Float64Array(n);
    const rank = new Int32Array(n);
    for (let i = 0; i < n; i++) place[i] = i;
    for (const f of cells) {
      const list = f.front ?? [];
      const firstAt = new Map<number, number>(); // creation beat -> first front ordinal
      list.forEach((j, k) => {
        if (!firstAt.has(createdAt[j])) firstAt.set(createdAt[j], j);
        place[j] = firstAt.get(createdAt[j])!;
        rank[j] = -(k + 1);
      });
    }
    this.events.sort((a, b) => a.beat - b.beat || a.phase - b.phase || (a.phase === P_CREATE ? place[a.i] - place[b.i] || rank[a.i] - rank[b.i] : 0) || a.i - b.i);
  }

  /** Each beat's creations ordered by parents, links and store order (orderCreations). */
  private orderCreationRuns(): void {
    const { cells, plan, events, n } = this;
    const insertion = new Uint8Array(n); // parents whose children keep insertion order
    for (let i = 0; i < n; i++) {
      const store = plan.cell[i]?.store ?? null;
      insertion[i] = (store !== null ? store.indexing : (cells[i].store?.indexing ?? this.rt.defaultIndexing)) === 'insertion' ? 1 : 0;
    }
    for (let k = 0; k < events.length; ) {
      let end = k;
      while (end < events.length && events[end].beat === events[k].beat && events[end].phase === events[k].phase) end++;
      if (events[k].phase === P_CREATE) orderCreations(events, k, end, cells, this.front, insertion, this.extraEdges);
      k = end;
    }
  }

  // ---- replay ----

  /**
   * Replay the events. Everything the replay can change is saved first: a frame crafted to
   * get past the planning checks still fails atomically (undo.ts), and hands out no ids.
   */
  replayAtomically(): void {
    const namesMark = this.rt.namepool.size + 1; // the first id this apply may hand out
    const held = this.internReferences();
    const undo = this.saveForUndo();
    try {
      this.replay();
    } catch (e) {
      undo.rollback(this.made);
      for (const [hi, lo] of held) this.rt.namepool.releaseId(hi, lo);
      this.rt.namepool.forgetRetiredFrom(namesMark);
      if ((e as { code?: string }).code?.startsWith('ERR_') === true) throw e;
      throw frameError('ERR_FRAME_APPLY', `the frame cannot be replayed: ${(e as Error).message}`);
    }
    for (const [hi, lo] of held) this.rt.namepool.releaseId(hi, lo);
  }

  /**
   * Stores indexed by name order references by namepool id (intern order): interning the
   * frame's references in its id order first reproduces that order in a fresh runtime.
   * Returns the ids held meanwhile.
   */
  private internReferences(): [number, number][] {
    const held: [number, number][] = [];
    const names = this.frame.names;
    for (const id of [...names.keys()].sort((a, b) => a - b)) {
      const entry = names.get(id)!;
      if (entry.glob || referenceTextProblem(entry.text) !== null) continue;
      const ref = this.rt.namepool.internReference(entry.text, false);
      held.push([REFERENCE_HI | Math.floor(ref / HALF), ref % HALF]);
    }
    return held;
  }

  private saveForUndo(): ReplayUndo {
    const { rt, plan, cells } = this;
    const undo = new ReplayUndo(rt);
    undo.shadowsOf(rt.root); // links made before their target point at the root meanwhile
    if (plan.cell[0] === undefined) undo.cell(this.rootParent());
    for (let i = 0; i < this.n; i++) {
      const c = plan.cell[i];
      if (c === undefined) continue;
      undo.shadowsOf(c);
      if (cells[i].deleted >= 0 && c.deleted < 0) undo.dying(c);
    }
    for (const t of this.outside.values()) undo.shadowsOf(t);
    return undo;
  }

  /** Run the events (creations, payload versions, deletions), then stores and immutability. */
  private replay(): void {
    const { events, plan, rt } = this;
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      if (e.beat > rt.beat) setBeat(rt, e.beat);
      if (e.phase === P_CREATE) this.create(e);
      else if (e.phase === P_RELINK && plan.cell[e.i]!.target === this.targetOf(e.i, e.v!.target!)) {
        // the link was created pointing there (its target existed then); the target may have
        // gone since, in the same beat, as it did in the source: nothing to do
      } else if (e.phase === P_SET || e.phase === P_SET_DYING || e.phase === P_RELINK) {
        if (e.v!.kind === 'link') plan.cell[e.i]!.relink(this.targetOf(e.i, e.v!.target!)!);
        else writeVersion(plan.cell[e.i]!, e.v!, e.v!.kind === 'value' || e.v!.kind === 'data' ? e.v!.bytes : undefined);
      } else {
        plan.cell[e.i]!.remove();
      }
    }
    this.finishStores();
  }

  private targetOf(i: number, t: LinkTarget): Cell | undefined {
    return 'ordinal' in t ? this.plan.cell[t.ordinal] : this.outside.get(i);
  }

  /** The payload version a cell is created with at beat `t` (a delta's: the newest). */
  private initial(f: FrameCell, t: number): FramePayload | undefined {
    let best: FramePayload | undefined;
    for (const v of versionsOf(f)) if (v.beat <= t || this.delta) best = v;
    return best;
  }

  /** Create frame cell `e.i`, after removing the siblings it replaces, with its store and first payload. */
  private create(e: Event): void {
    const { plan, cells } = this;
    const f = cells[e.i];
    for (const j of this.replaces.get(e.i) ?? []) {
      this.relinkInto(j); // links made to it in the source while it lived (the namesake takes its name now)
      plan.cell[j]?.remove();
    }
    const parent = e.i === 0 ? this.rootParent() : plan.cell[f.parent]!;
    const v = this.initial(f, e.beat);
    const init: Parameters<Cell['add']>[1] = { prepend: this.front.has(e.i) };
    if (f.store !== undefined) {
      init.store = f.store.kind;
      init.indexing = f.store.indexing;
    }
    let late: FramePayload | undefined;
    if (f.type === 'link') {
      // a target made later (in this beat or after) is reached by the relink event;
      // until then the link points at the runtime root
      init.link = this.targetOf(e.i, f.payload!.target!) ?? this.rt.root;
    } else if (v !== undefined && v.kind === 'value' && v.bytes!.length <= VALUE_INLINE_DEFAULT) init.value = v.bytes!;
    else if (v !== undefined && v.kind === 'data') {
      init.data = v.bytes!.slice();
      init.take = true;
    } else if (v !== undefined && v.kind === 'value') late = v;
    const c = parent.add(plan.text[e.i], init);
    if (late !== undefined) c.setValue(late.bytes!);
    if (f.store !== undefined && c.store !== null) c.store.autoNext = Math.max(c.store.autoNext, f.store.autoNext);
    plan.cell[e.i] = c;
    if (f.parent < 0 || this.isNew[f.parent] === 0) this.made.push(c);
  }

  /** Point links created by the frame at `j` (or below it) now, ahead of their relink events. */
  private relinkInto(j: number): void {
    for (const [i, t] of this.linkTargets) {
      if (!('ordinal' in t) || this.isNew[t.ordinal] !== 1) continue;
      const link = this.plan.cell[i];
      const target = this.plan.cell[t.ordinal];
      if (link === undefined || target === undefined || target.deleted >= 0 || link.target === target) continue;
      if (this.tree.within(t.ordinal, j)) link.relink(target);
    }
  }

  /** Stores described for existing cells, immutability last. */
  private finishStores(): void {
    const { cells, plan, rt } = this;
    for (let i = 0; i < this.n; i++) {
      const f = cells[i];
      const c = plan.cell[i]!;
      if (f.store !== undefined) {
        if (c.store === null) c.store = createStore(f.store.kind, f.store.indexing, {}, c, rt);
        c.store.autoNext = Math.max(c.store.autoNext, f.store.autoNext);
      }
      if (f.immutable && !f.anchor) c.setImmutable();
    }
  }
}

/**
 * The absolute paths (as name texts) that links in a frame point at outside the frame: what
 * must exist in the runtime before `applyFrame` accepts it (persistence orders branches by them).
 */
export function outsideLinkPaths(rt: Tree, bytes: Uint8Array, options?: ReadOptions): string[][] {
  const frame = readFrame(bytes, options);
  const out: string[][] = [];
  for (const c of frame.cells) {
    const t = c.payload?.kind === 'link' ? c.payload.target : undefined;
    if (t !== undefined && 'path' in t) out.push(t.path.map((seg) => nameText(frame, rt, seg.name)));
  }
  return out;
}

/**
 * Forget that the frame with `root` was applied to `rt`, after what it made was removed again
 * (a branch rebuilt part-way and taken out): the same frame may then be applied once more.
 */
export function forgetApplied(rt: Tree, root: Uint8Array): void {
  appliedRoots.get(rt)?.delete(Buffer.from(root).toString('hex'));
}
