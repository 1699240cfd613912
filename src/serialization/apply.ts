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
  const pos = new Map<number, number>(); // frame ordinal -> index in the run
  for (let k = 0; k < m; k++) pos.set(events[from + k].i, k);
  const succ: number[][] = Array.from({ length: m }, () => []);
  const indeg = new Int32Array(m);
  const edge = (a: number | undefined, b: number): void => {
    if (a === undefined || a === b) return;
    succ[a].push(b);
    indeg[b]++;
  };
  const lastFront = new Map<number, number>();
  const lastAppend = new Map<number, number>();
  for (let k = 0; k < m; k++) {
    const i = events[from + k].i;
    const parent = cells[i].parent;
    edge(pos.get(parent), k);
    if (parent >= 0 && insertion[parent] === 1) {
      const chain = front.has(i) ? lastFront : lastAppend;
      edge(chain.get(parent), k);
      chain.set(parent, k);
    }
  }
  for (const [a, b] of extraEdges) {
    const to = pos.get(b);
    if (to !== undefined) edge(pos.get(a), to);
  }
  // a binary heap of ready run indexes (smallest first)
  const heap: number[] = [];
  const push = (x: number): void => {
    heap.push(x);
    for (let c = heap.length - 1; c > 0; ) {
      const p = (c - 1) >> 1;
      if (heap[p] <= heap[c]) break;
      [heap[p], heap[c]] = [heap[c], heap[p]];
      c = p;
    }
  };
  const pop = (): number => {
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
  };
  for (let k = 0; k < m; k++) if (indeg[k] === 0) push(k);
  const run = events.slice(from, to);
  let out = from;
  while (heap.length > 0) {
    const k = pop();
    events[out++] = run[k];
    for (const x of succ[k]) if (--indeg[x] === 0) push(x);
  }
  if (out !== to) applyError('the frame orders its cells in a cycle (links, parents and store order disagree)');
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
  const cells = frame.cells;
  if (cells.length === 0) malformed('a frame without its branch root');
  const delta = frame.mode === 'delta';
  if (delta && frame.beat < rt.beat) applyError(`the frame is for beat ${frame.beat}, the runtime is at beat ${rt.beat}`);

  // ---- plan: nothing changes until every check has passed ----
  const plan: Plan = { cell: [], text: [] };
  const n = cells.length;
  const toCreate: number[] = [];
  const linkTargets = new Map<number, NonNullable<FramePayload['target']>>();
  const root = cells[0];
  const rootPath = root.path!;
  if (rootPath.length === 0) {
    plan.cell[0] = rt.root;
    plan.text[0] = '/';
  } else {
    plan.text[0] = nameText(frame, rt, rootPath[rootPath.length - 1]);
    plan.cell[0] = findPath(frame, rt, rootPath);
    if (plan.cell[0] === undefined) {
      if (root.anchor) applyError('the branch root is not in the runtime');
      if (findPath(frame, rt, rootPath.slice(0, -1)) === undefined) applyError("the branch root's parent is not in the runtime");
    }
  }
  const isNew = new Uint8Array(n);
  const freshChecks: [Cell, string][] = [];
  const firstHolder = new Map<string, number>(); // parent/name of new cells in unique stores -> first ordinal
  const intervals = new Map<string, [number, number][]>(); // names held more than once: [created, deleted) each
  const lifetime = (f: FrameCell): [number, number] => [f.created, f.deleted < 0 ? Infinity : f.deleted];
  for (let i = 0; i < n; i++) {
    const f = cells[i];
    if (i > 0) {
      plan.text[i] = nameText(frame, rt, f.name!);
      const parent = plan.cell[f.parent];
      const fresh = parent === undefined || (delta && f.created === frame.beat);
      plan.cell[i] = fresh ? undefined : childAt(parent, plan.text[i], f.dup ?? 0);
      if (fresh && parent !== undefined && !f.anchor) freshChecks.push([parent, plan.text[i]]);
    }
    const c = plan.cell[i];
    if (f.anchor) {
      if (c === undefined) applyError(`an anchor (${plan.text[i]}) is not in the runtime`);
      continue;
    }
    if (f.payload?.kind === 'link') linkTargets.set(i, f.payload.target!);
    if (c === undefined) {
      if (delta && f.created !== frame.beat && f.parent >= 0 && plan.cell[f.parent] !== undefined) applyError(`${plan.text[i]} (created at beat ${f.created}) is missing from the runtime`);
      if (!delta && f.created < rt.beat) applyError(`${plan.text[i]} was created at beat ${f.created}, before the runtime's beat ${rt.beat}`);
      if (f.deleted >= 0 && f.deleted < f.created) malformed(`${plan.text[i]} is deleted before it is created`);
      if ((f.type === 'link') !== (f.payload?.kind === 'link')) malformed(`${plan.text[i]} is a link without a target, or a target without a link`);
      if (f.payload !== undefined) payloadBytes(f.payload, plan.text[i]);
      for (const h of f.history) payloadBytes(h, plan.text[i]);
      const parent = f.parent < 0 ? undefined : plan.cell[f.parent];
      if (parent !== undefined) parent.assertStructureMutable();
      const parentStore = f.parent < 0 ? undefined : cells[f.parent].store;
      if (parent !== undefined ? uniqueStore(parent.store, rt) : parentStore === undefined || parentStore.kind === 'hash' || parentStore.indexing === 'name') {
        // names are nearly always unique: keep the first holder, make a list only on a repeat
        const key = `${f.parent}/${plan.text[i]}`;
        const first = firstHolder.get(key);
        if (first === undefined) firstHolder.set(key, i);
        else {
          let list = intervals.get(key);
          if (list === undefined) intervals.set(key, (list = [lifetime(cells[first])]));
          list.push(lifetime(f));
        }
      }
      isNew[i] = 1;
      toCreate.push(i);
    } else {
      if (f.payload !== undefined) {
        payloadBytes(f.payload, plan.text[i]);
        c.assertDataMutable();
      }
      if (f.deleted >= 0 && c.deleted < 0 && c.up !== null) c.up.owner.assertStructureMutable();
    }
  }
  const dying = new Set<Cell>();
  for (let i = 0; i < n; i++) if (plan.cell[i] !== undefined && cells[i].deleted >= 0) dying.add(plan.cell[i]!);
  for (const [parent, text] of freshChecks) {
    const live = parent.child(text);
    if (live !== undefined && !dying.has(live) && uniqueStore(parent.store, rt)) applyError(`${text} already exists: was the frame applied before?`);
  }
  for (const [key, list] of intervals) {
    list.sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < list.length; k++) if (list[k][0] < list[k - 1][1]) malformed(`two live cells named ${key.slice(key.indexOf('/') + 1)} under one parent`);
  }
  // link targets: a cell of this frame, or a path the runtime resolves now
  const outside = new Map<number, Cell>();
  for (const [i, target] of linkTargets) {
    if ('path' in target) {
      const t = resolvePath(frame, rt, target.path);
      if (t === undefined) applyError(`the link ${plan.text[i]} points at a cell that is not in the runtime`);
      outside.set(i, t); // resolved now: later creations must not shift same-name indexes
    }
  }

  // ---- replay: events in beat order ----
  // phases within one beat: a cell's last payload before its deletion, deletions of older
  // cells (so a name can be reused), creations, other payload versions, deletions of cells
  // created in the same beat
  const P_SET_DYING = 0;
  const P_DELETE_OLD = 1;
  const P_CREATE = 2;
  const P_RELINK = 2.5; // a new link whose target is created in the frame: point it there
  const P_SET = 3;
  const P_DELETE_NEW = 4;
  type Event = { beat: number; phase: number; i: number; v?: FramePayload };
  const setPhase = (f: FrameCell, beat: number): number => (f.deleted === beat && f.type !== 'link' ? P_SET_DYING : P_SET);
  const events: Event[] = [];
  const front = new Set<number>();
  for (const f of cells) for (const j of f.front ?? []) front.add(j);
  if (delta) for (const j of front) if (plan.cell[j] !== undefined) malformed('order_delta lists a cell that is not created by the frame');
  const createdAt = new Float64Array(n).fill(-1); // event beat of each creation
  for (const i of toCreate) createdAt[i] = delta ? frame.beat : cells[i].created;
  // stamps must describe a possible history: a child after its parent, before its parent goes,
  // payload versions while the cell lives, nothing after the frame's beat
  for (const i of toCreate) {
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
  // ancestors are found through the frame's tree, never by a walk up per cell (any depth stays linear)
  const tree = new FrameTree(Int32Array.from(cells, (f) => f.parent));
  // a deletion that goes late: marked on the cells that are (or are above) a cell asked about,
  // deleted in the beat asked about (deletions only: keys of live cells are never asked)
  const late = new CellRequests(n);
  for (const i of toCreate) {
    // a cell deleted in a beat where a descendant is created goes after that creation
    if (cells[i].parent >= 0) late.add(cells[i].parent, createdAt[i]);
    const t = linkTargets.get(i);
    // a link made in the beat its target (or an ancestor of it) goes
    if (t !== undefined && 'ordinal' in t) late.add(t.ordinal, createdAt[i]);
  }
  // a link retargeted in the beat its target (or the link itself) goes: retarget first
  for (const [i, t] of linkTargets) {
    const beats = [frame.beat, cells[i].payload!.beat, createdAt[i]];
    if ('ordinal' in t) beats.push(Math.max(createdAt[i], createdAt[t.ordinal]));
    for (const b of beats) {
      late.add(i, b);
      if ('ordinal' in t) late.add(t.ordinal, b);
    }
  }
  const lateDelete = markAncestors(tree, (a) => cells[a].deleted, late);
  const deletePhase = (i: number, beat: number): number => (lateDelete[i] === 1 || createdAt[i] === beat ? P_DELETE_NEW : P_DELETE_OLD);
  // In a store of unique names, a cell created in a beat may take the name of a sibling the
  // frame deletes in that same beat (created then, or earlier). The sibling goes just before
  // its namesake is made, after whatever the frame creates below it in that beat.
  const uniqueParent = (p: number): boolean => {
    if (p < 0) return true;
    const existing = plan.cell[p];
    if (existing !== undefined && existing.store !== null) return existing.store.unique;
    const desc = cells[p].store;
    return desc !== undefined ? desc.kind === 'hash' || desc.indexing === 'name' : uniqueStore(null, rt);
  };
  const dyingByName = new Map<string, number[]>(); // parent/beat/name -> cells deleted then
  for (let j = 1; j < n; j++) {
    const f = cells[j];
    if (f.anchor || f.deleted < 0 || !uniqueParent(f.parent)) continue;
    const key = `${f.parent}/${f.deleted}/${plan.text[j]}`;
    let list = dyingByName.get(key);
    if (list === undefined) dyingByName.set(key, (list = []));
    list.push(j);
  }
  const replaces = new Map<number, number[]>();
  const goneBy = new Map<number, number>(); // a replaced cell -> the namesake replacing it
  for (const i of toCreate) {
    // namesakes that came before it: older cells, or ones the frame made earlier in this beat
    if (dyingByName.size === 0) break;
    const gone = dyingByName.get(`${cells[i].parent}/${createdAt[i]}/${plan.text[i]}`)?.filter((j) => j !== i && (isNew[j] === 0 || createdAt[j] < createdAt[i] || j < i));
    if (gone === undefined || gone.length === 0) continue;
    replaces.set(i, gone);
    for (const j of gone) goneBy.set(j, i);
  }
  const extraEdges: [number, number][] = [];
  if (goneBy.size > 0) {
    // What is made below a replaced cell (or itself), or links to it (or below it), comes before
    // its namesake made in the same beat. Only the nearest such replaced cell gives an edge: that
    // namesake lies below the next one up, so its own edge orders the rest (same closure).
    const before = new CellRequests(n);
    for (const j of toCreate) {
      before.add(j, createdAt[j], j);
      const t = linkTargets.get(j);
      if (t !== undefined && 'ordinal' in t) before.add(t.ordinal, createdAt[j], j);
    }
    const keyOf = (a: number): number => {
      const k = goneBy.get(a);
      return k === undefined ? -1 : createdAt[k];
    };
    tree.walkKeyed(keyOf, (x, onPath) => {
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
  for (const i of toCreate) {
    const f = cells[i];
    const t = createdAt[i];
    events.push({ beat: t, phase: P_CREATE, i });
    const target = linkTargets.get(i);
    if (target !== undefined && 'ordinal' in target && isNew[target.ordinal] === 1) {
      events.push({ beat: Math.max(t, createdAt[target.ordinal]), phase: P_RELINK, i, v: f.payload });
    }
    if (!delta || f.history.length > 0) {
      for (const v of versionsOf(f)) if (v.beat > t) events.push({ beat: v.beat, phase: setPhase(f, v.beat), i, v });
    }
    if (f.deleted >= 0) events.push({ beat: Math.max(f.deleted, t), phase: deletePhase(i, Math.max(f.deleted, t)), i });
  }
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const f = cells[i];
    const c = plan.cell[i];
    if (c === undefined || f.anchor) continue;
    let touched = false;
    if (f.payload !== undefined) {
      events.push({ beat: frame.beat, phase: setPhase(f, frame.beat), i, v: f.payload });
      touched = true;
    }
    if (f.deleted >= 0 && c.deleted < 0) {
      events.push({ beat: f.deleted, phase: deletePhase(i, f.deleted), i });
      touched = true;
    }
    if (touched) changed++;
  }
  // creations in frame (pre-)order, parents first; the children a parent's order_delta puts
  // first are created together, at the first one's place, in reverse store order (each is
  // prepended). Other events in frame order.
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
  events.sort((a, b) => a.beat - b.beat || a.phase - b.phase || (a.phase === P_CREATE ? place[a.i] - place[b.i] || rank[a.i] - rank[b.i] : 0) || a.i - b.i);
  const insertion = new Uint8Array(n); // parents whose children keep insertion order
  for (let i = 0; i < n; i++) {
    const store = plan.cell[i]?.store ?? null;
    insertion[i] = (store !== null ? store.indexing : (cells[i].store?.indexing ?? rt.defaultIndexing)) === 'insertion' ? 1 : 0;
  }
  for (let k = 0; k < events.length; ) {
    let end = k;
    while (end < events.length && events[end].beat === events[k].beat && events[end].phase === events[k].phase) end++;
    if (events[k].phase === P_CREATE) orderCreations(events, k, end, cells, front, insertion, extraEdges);
    k = end;
  }

  // stores indexed by name order references by namepool id (intern order): interning the
  // frame's references in its id order first reproduces that order in a fresh runtime
  const held: [number, number][] = [];
  const namesMark = rt.namepool.size + 1; // the first id this apply may hand out
  for (const id of [...frame.names.keys()].sort((a, b) => a - b)) {
    const entry = frame.names.get(id)!;
    if (entry.glob || referenceTextProblem(entry.text) !== null) continue;
    const ref = rt.namepool.internReference(entry.text, false);
    held.push([REFERENCE_HI | Math.floor(ref / HALF), ref % HALF]);
  }
  const targetOf = (i: number, t: NonNullable<FramePayload['target']>): Cell | undefined => ('ordinal' in t ? plan.cell[t.ordinal] : outside.get(i));
  const initial = (f: FrameCell, t: number): FramePayload | undefined => {
    let best: FramePayload | undefined;
    for (const v of versionsOf(f)) if (v.beat <= t || delta) best = v;
    return best;
  };
  // everything the replay can change is saved first: a frame crafted to get past the planning
  // checks still fails atomically (undo.ts)
  const undo = new ReplayUndo(rt);
  undo.shadowsOf(rt.root); // links made before their target point at the root meanwhile
  if (plan.cell[0] === undefined) undo.cell(findPath(frame, rt, rootPath.slice(0, -1))!);
  for (let i = 0; i < n; i++) {
    const c = plan.cell[i];
    if (c === undefined) continue;
    undo.shadowsOf(c);
    if (cells[i].deleted >= 0 && c.deleted < 0) undo.dying(c);
  }
  for (const t of outside.values()) undo.shadowsOf(t);
  const made: Cell[] = []; // created cells whose parent existed before the frame
  try {
    replay(events);
  } catch (e) {
    undo.rollback(made);
    for (const [hi, lo] of held) rt.namepool.releaseId(hi, lo);
    rt.namepool.forgetRetiredFrom(namesMark); // a failed apply hands out no ids
    if ((e as { code?: string }).code?.startsWith('ERR_') === true) throw e;
    throw frameError('ERR_FRAME_APPLY', `the frame cannot be replayed: ${(e as Error).message}`);
  }
  for (const [hi, lo] of held) rt.namepool.releaseId(hi, lo);
  if (frame.beat > rt.beat) setBeat(rt, frame.beat);
  applied.add(rootHex);
  return { beat: frame.beat, root: frame.root, created: toCreate.length, changed, mode: frame.mode, history: frame.history };

  /** Point links created by the frame at `j` (or below it) now, ahead of their relink events. */
  function relinkInto(j: number): void {
    for (const [i, t] of linkTargets) {
      if (!('ordinal' in t) || isNew[t.ordinal] !== 1) continue;
      const link = plan.cell[i];
      const target = plan.cell[t.ordinal];
      if (link === undefined || target === undefined || target.deleted >= 0 || link.target === target) continue;
      if (tree.within(t.ordinal, j)) link.relink(target);
    }
  }

  /** Run the events (creations, payload versions, deletions), then stores and immutability. */
  function replay(events: Event[]): void {
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      if (e.beat > rt.beat) setBeat(rt, e.beat);
      const f = cells[e.i];
      if (e.phase === P_CREATE) {
        for (const j of replaces.get(e.i) ?? []) {
          relinkInto(j); // links made to it in the source while it lived (the namesake takes its name now)
          plan.cell[j]?.remove();
        }
        const parent = e.i === 0 ? findPath(frame, rt, rootPath.slice(0, -1))! : plan.cell[f.parent]!;
        const v = initial(f, e.beat);
        const init: Parameters<Cell['add']>[1] = { prepend: front.has(e.i) };
        if (f.store !== undefined) {
          init.store = f.store.kind;
          init.indexing = f.store.indexing;
        }
        let late: FramePayload | undefined;
        if (f.type === 'link') {
          // a target made later (in this beat or after) is reached by the relink event below;
          // until then the link points at the runtime root
          init.link = targetOf(e.i, f.payload!.target!) ?? rt.root;
        } else if (v !== undefined && v.kind === 'value' && v.bytes!.length <= VALUE_INLINE_DEFAULT) init.value = v.bytes!;
        else if (v !== undefined && v.kind === 'data') {
          init.data = v.bytes!.slice();
          init.take = true;
        } else if (v !== undefined && v.kind === 'value') late = v;
        const c = parent.add(plan.text[e.i], init);
        if (late !== undefined) c.setValue(late.bytes!);
        if (f.store !== undefined && c.store !== null) c.store.autoNext = Math.max(c.store.autoNext, f.store.autoNext);
        plan.cell[e.i] = c;
        if (f.parent < 0 || isNew[f.parent] === 0) made.push(c);
      } else if (e.phase === P_RELINK && plan.cell[e.i]!.target === targetOf(e.i, e.v!.target!)) {
        // the link was created pointing there (its target existed then); the target may have
        // gone since, in the same beat, as it did in the source: nothing to do
      } else if (e.phase === P_SET || e.phase === P_SET_DYING || e.phase === P_RELINK) {
        if (e.v!.kind === 'link') plan.cell[e.i]!.relink(targetOf(e.i, e.v!.target!)!);
        else writeVersion(plan.cell[e.i]!, e.v!, e.v!.kind === 'value' || e.v!.kind === 'data' ? e.v!.bytes : undefined);
      } else {
        plan.cell[e.i]!.remove();
      }
    }
    // stores described for existing cells, immutability last
    for (let i = 0; i < n; i++) {
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
