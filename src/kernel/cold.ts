/**
 * Cold cells: a cell whose name, type and stamps are in memory but whose payload (with its
 * history) and/or child store are not. Whoever keeps them elsewhere (the persistence service
 * for lazy branches) registers one loader on the runtime (`rt.coldLoader`); the first access
 * that needs the missing part calls it synchronously, and the loader hands the part back
 * through `fillPayload` / `fillChildren`. Filling is not a change: nothing is journaled,
 * touched or stamped, so the state reads exactly as if the cell had always been in memory.
 * The kernel knows nothing of stores on disk: a cold cell's `pv` holds an opaque token (a
 * number) that only the loader interprets.
 */
import { invalidState, nameExists } from '../errors.js';
import { Cell } from './cell/cell.js';
import { COLD_PAYLOAD, COLD_STORE, IMMUTABLE, LEN_SHIFT, PAYLOAD_BITS, PK_DATA, PK_NONE, PK_SHIFT, PK_VALUE, SEE_ALIVE, VALUE_MAX } from './cell/flags.js';
import { kindOf, lenOf } from './cell/payload.js';
import { HALF } from './naming/id.js';
import { NAME_INTERN, nm, parseName, releaseName } from './naming/name.js';
import type { Tree } from './tree.js';
import { createStore, NO_STORE_OPTIONS, type ChildStore, type Indexing, type StoreKind } from './store/index.js';

export type ColdPart = 'payload' | 'children';

/** Loads `part` of a cold cell, synchronously, through `fillPayload` / `fillChildren` (or throws). */
export type ColdLoader = (cell: Cell, part: ColdPart) => void;

/** One payload version of a cold cell (oldest first in `fillPayload`). */
export interface ColdVersion {
  beat: number;
  kind: 'none' | 'value' | 'data';
  /** VALUE / DATA bytes; DATA bytes are adopted (the caller hands over its copy). */
  bytes?: Uint8Array;
}

/** A child made as a cold stub by `fillChildren`. */
export interface ColdChild {
  /** Name text (as `add` takes it). */
  name: string;
  created: number;
  /** Beat of its soft delete, or -1. */
  deleted: number;
  immutable: boolean;
  /** The loader's token for this child (kept in its `pv` while its payload is cold). */
  token: number;
}

/** The child store of a cold cell (omitted: the runtime default, made when there are children). */
export interface ColdStore {
  kind: StoreKind;
  indexing: Indexing;
  autoNext: number;
}

/** Load a cold part of `c` through the runtime's loader (called by the cell API on first access). */
export function warm(c: Cell, part: ColdPart): void {
  const rt = c.runtime;
  const loader = rt.coldLoader;
  if (loader === null) throw invalidState(c.path, 'the cell is cold and no loader is registered (rt.coldLoader)');
  loader(c, part);
  if ((c.flags & (part === 'payload' ? COLD_PAYLOAD : COLD_STORE)) !== 0) throw invalidState(c.path, `the cold loader did not load the ${part}`);
}

/** The loader's token of a cell whose payload is cold (undefined otherwise). */
export function coldToken(c: Cell): number | undefined {
  return (c.flags & COLD_PAYLOAD) !== 0 ? (c.pv as number) : undefined;
}

/**
 * Give a cold cell its payload versions (oldest first), as the cell API would have recorded
 * them: each later version pushes the previous one onto the history log; a clear of an absent
 * payload records nothing. Checks everything first: a bad version changes nothing.
 */
export function fillPayload(c: Cell, versions: readonly ColdVersion[]): void {
  if ((c.flags & COLD_PAYLOAD) === 0) throw invalidState(c.path, 'the payload is not cold');
  for (const v of versions) {
    if (v.kind !== 'none' && !(v.bytes instanceof Uint8Array)) throw invalidState(c.path, `a ${v.kind} version without bytes`);
    if (v.kind === 'value' && v.bytes!.length > VALUE_MAX) throw invalidState(c.path, `a VALUE version of ${v.bytes!.length} bytes`);
  }
  const rt = c.runtime;
  let meta = 0;
  let pv: unknown = 0;
  let mod = -1;
  let hist = -1;
  for (const v of versions) {
    if (v.kind === 'none' && kindOf(meta) === PK_NONE) continue; // clearing nothing is a no-op
    if (mod >= 0 && mod !== v.beat) hist = rt.history.push(mod, meta, pv, hist);
    else if (mod === v.beat && kindOf(meta) === PK_VALUE) rt.arena.free(lenOf(meta)); // a same-beat replacement
    if (v.kind === 'value') {
      pv = rt.arena.write(v.bytes!);
      meta = (PK_VALUE << PK_SHIFT) | (v.bytes!.length << LEN_SHIFT);
    } else if (v.kind === 'data') {
      pv = v.bytes!;
      meta = PK_DATA << PK_SHIFT;
    } else {
      pv = 0;
      meta = 0;
    }
    mod = v.beat;
  }
  c.flags = (c.flags & ~(PAYLOAD_BITS | COLD_PAYLOAD)) | meta;
  c.pv = pv;
  c.mod = mod;
  c.hist = hist;
}

/**
 * Give a cold cell its child store with `children` as cold stubs (in store order). Only stores
 * that order children by insertion or by name take stubs (other indexings need the payload to
 * place a child). Names are interned first; a bad one changes nothing. Returns the stubs.
 */
export function fillChildren(c: Cell, store: ColdStore | undefined, children: readonly ColdChild[]): Cell[] {
  if ((c.flags & COLD_STORE) === 0) throw invalidState(c.path, 'the children are not cold');
  const rt: Tree = c.runtime;
  const kind = store?.kind ?? rt.defaultStore;
  const indexing = store?.indexing ?? rt.defaultIndexing;
  if (children.length > 0 && indexing !== 'insertion' && indexing !== 'name')
    throw invalidState(c.path, `cold children need a store ordered by insertion or name (this one is ${kind} by ${indexing})`);
  const n = children.length;
  const ids = new Int32Array(n * 3);
  let taken = 0;
  try {
    for (; taken < n; taken++) {
      parseName(children[taken].name, rt.namepool, NAME_INTERN);
      ids[taken * 3] = nm.dom;
      ids[taken * 3 + 1] = nm.hi;
      ids[taken * 3 + 2] = nm.lo;
    }
  } catch (e) {
    for (let i = 0; i < taken; i++) releaseName(rt.namepool, ids[i * 3], ids[i * 3 + 1], ids[i * 3 + 2]);
    throw e;
  }
  const out: Cell[] = [];
  if (n > 0 || store !== undefined) {
    const s = createStore(kind, indexing, NO_STORE_OPTIONS, c, rt);
    if (store !== undefined) s.autoNext = store.autoNext;
    let last = -1;
    for (let i = 0; i < n; i++) {
      const k = children[i];
      out.push(insertStub(s, k, ids[i * 3], ids[i * 3 + 1], ids[i * 3 + 2]));
      last = Math.max(last, k.created, k.deleted);
    }
    s.modified = last;
    c.store = s;
  }
  c.flags &= ~COLD_STORE;
  return out;
}

/** Make a cold stub in `store` (names already interned), bumping the auto id cursor as `add` does. */
function insertStub(s: ChildStore, k: ColdChild, dom: number, hi: number, lo: number): Cell {
  const cell = new Cell(s, dom, hi, lo, k.created);
  cell.deleted = k.deleted;
  cell.flags = COLD_PAYLOAD | COLD_STORE | (k.immutable ? IMMUTABLE : 0);
  cell.pv = k.token;
  s.insert(cell, undefined, false, -1);
  if (hi >>> 27 === 3) {
    const num = (hi & 0x7ffffff) * HALF + lo;
    if (num >= s.autoNext) s.autoNext = num + 1;
  }
  return cell;
}

/**
 * Put one cold stub under a loaded parent (a whole subtree kept elsewhere, e.g. a lazy
 * branch). Refused while a live child holds the name in a store with unique names. Not a
 * change: the store's stamps stay as they are.
 */
export function addColdChild(parent: Cell, child: ColdChild): Cell {
  if ((parent.flags & COLD_STORE) !== 0) warm(parent, 'children');
  const rt = parent.runtime;
  let s = parent.store;
  if (s === null) s = parent.store = createStore(rt.defaultStore, rt.defaultIndexing, NO_STORE_OPTIONS, parent, rt);
  if (s.indexing !== 'insertion' && s.indexing !== 'name') throw invalidState(parent.path, `cold children need a store ordered by insertion or name (this one is ${s.kind} by ${s.indexing})`);
  parseName(child.name, rt.namepool, NAME_INTERN);
  const { dom, hi, lo } = nm;
  if (s.unique && child.deleted < 0 && s.findName(dom, hi, lo, SEE_ALIVE) !== undefined) {
    releaseName(rt.namepool, dom, hi, lo);
    throw nameExists(child.name, parent.path);
  }
  return insertStub(s, child, dom, hi, lo);
}
