/**
 * The cell: a named node with an optional payload and an optional child store. A cell object
 * has eleven small fields (one V8 shape for every cell); the payload's history lives in the
 * runtime's history log and VALUE bytes in its byte arena, so the hot path allocates only the
 * cell itself.
 */
import { cellDeleted, immutable, invalidArgType, invalidName, invalidState, invalidStore, locked, nameExists, outOfRange, proxyFailed, shadowed } from '../../errors.js';
import { enc, encodeNumber, HALF, NUMERIC_NAME_MAX } from '../naming/id.js';
import { DOM_CEP, Name, NAME_INTERN, NAME_PEEK, domainId, nameText, nm, parseName, releaseName, retainName } from '../naming/name.js';
import { acquire, lockBlocker, release, type LockToken } from '../lock.js';
import { addShadow, checkCycle, dropShadow, resolveLive, resolveNow, shadowsOf, tombstone } from '../link.js';
import { cloneCell } from './clone.js';
import { warm } from '../cold.js';
import { proxyCall, proxyChange, proxySnapshotAt } from './proxy.js';
import type { Tree } from '../tree.js';
import { checkStore, createStore, NO_STORE_OPTIONS, type ChildStore, type Indexing, type Key, type Point, type StoreKind, type StoreOptions } from '../store/index.js';
import { OctreeStore } from '../store/octree.js';
import {
  COLD,
  COLD_PAYLOAD,
  COLD_STORE,
  DATA_LOCK,
  DETACHED,
  IMMUTABLE,
  LEN_SHIFT,
  PAYLOAD_BITS,
  PK_DATA,
  PK_HANDLE,
  PK_LINK,
  PK_NONE,
  PK_SHIFT,
  PK_STREAM,
  PK_VALUE,
  SEE_ALIVE,
  SEE_NOW,
  SEE_RAW,
  SHADOWED,
  STORE_LOCK,
  TARGET_DEAD,
  TYPE_LINK,
  TYPE_MASK,
  TYPE_NORMAL,
  TYPE_PROXY,
  VALUE_INLINE_DEFAULT,
  VALUE_MAX,
  VEILED,
  checkBeat,
  seen,
} from './flags.js';
import { bytesEqual, bytesOf, dropHistory, kindOf, lenOf, payloadHash, toBytes, type ProxyAdapter } from './payload.js';

/** A cell name argument: text, a positive integer (numeric name), a parsed Name, or null for an auto id. */
export type NameInput = string | number | Name | null | undefined;

/** What `add` may give the new child. */
export interface CellInit extends StoreOptions {
  /** Payload bytes (strings are UTF-8): VALUE up to 64 bytes, DATA above. */
  value?: Uint8Array | string;
  /** DATA payload (a heap buffer), copied unless `take` is true. */
  data?: Uint8Array;
  /** Adopt the `data` buffer without copying (the caller must not touch it afterwards). */
  take?: boolean;
  /** Make the child a HANDLE proxy over this adapter. */
  handle?: ProxyAdapter;
  /** Make the child a STREAM proxy over this adapter. */
  stream?: ProxyAdapter;
  /** Make the child a link to this cell. */
  link?: Cell;
  /** Store kind for the child's own children (default: the runtime's default, a hash table). */
  store?: StoreKind;
  /** Indexing of the child's own children (default: the store kind's first). */
  indexing?: Indexing;
  /** Insert first instead of last (insertion-ordered stores only). */
  prepend?: boolean;
  /** Insert at this index among the visible children (array stores with insertion indexing; past the end appends). */
  position?: number;
  /** Add the child veiled: invisible to lookups and listings until `unveil()`. */
  veiled?: boolean;
  /** Make the child immutable once created. */
  immutable?: boolean;
}

export interface TraverseOptions {
  /** Read the tree as of this beat (default: now). */
  atBeat?: number;
  /** Include deleted and veiled children (history and veil ignored). */
  raw?: boolean;
  /** Load cold cells on the way (default true); false visits cold stubs without their children (kernel/cold.ts). */
  warm?: boolean;
}

/** writePayload modes. */
const W_TAKE = 1;
const W_HARD = 2;

/** A valid `init.position` for `store`, or an error. */
function checkPosition(pos: unknown, store: ChildStore): number {
  if (typeof pos !== 'number' || !Number.isSafeInteger(pos) || pos < 0) throw outOfRange('init.position', 'an integer >= 0', pos);
  if (store.kind !== 'array' || store.indexing !== 'insertion') throw invalidStore(`init.position needs an array store with insertion indexing (this one is ${store.kind} by ${store.indexing})`);
  return pos;
}

/** The runtime a cell belongs to. */
function rtOf(c: Cell): Tree {
  return c.up !== null ? c.up.rt : c.store!.rt;
}

/** A checked as-of beat for reads through `c`: not older than its runtime's history floor (ERR_HISTORY_PRUNED). */
function asOf(c: Cell, beat: unknown): number {
  return rtOf(c).asOf(beat);
}

export class Cell {
  /** Parent store (null for the root). */
  declare up: ChildStore | null;
  /** Domain index (naming/name.ts). */
  declare dom: number;
  /** Tag id, high 29 bits (naming bits included). */
  declare hi: number;
  /** Tag id, low 29 bits. */
  declare lo: number;
  /** Type, payload kind, VALUE length and state bits (cell/flags.ts). */
  declare flags: number;
  /** Beat the cell became visible. */
  declare created: number;
  /** Beat it was (soft) deleted, or -1. */
  declare deleted: number;
  /** Beat of the current payload (or link target), or -1 when it never had one. */
  declare mod: number;
  /** Payload: VALUE arena offset | DATA Uint8Array | proxy adapter | link target. */
  declare pv: unknown;
  /** Newest past payload entry in the runtime history log, or -1. */
  declare hist: number;
  /** Child store, created on the first add. */
  declare store: ChildStore | null;

  constructor(up: ChildStore | null, dom: number, hi: number, lo: number, beat: number) {
    this.up = up;
    this.dom = dom;
    this.hi = hi;
    this.lo = lo;
    this.flags = 0;
    this.created = beat;
    this.deleted = -1;
    this.mod = -1;
    this.pv = 0;
    this.hist = -1;
    this.store = null;
  }

  // ---- identity ---------------------------------------------------------------------------

  get runtime(): Tree {
    return rtOf(this);
  }

  /** Parent cell (null for the root). */
  get parent(): Cell | null {
    return this.up === null ? null : this.up.owner;
  }

  /** The name as text. */
  get name(): string {
    if (this.up === null) return '/';
    return nameText(this.dom, this.hi, this.lo, rtOf(this).namepool);
  }

  /** The name as ids. */
  get id(): Name {
    return new Name(domainId(this.dom), { hi: this.hi, lo: this.lo });
  }

  get path(): string {
    const parts: string[] = [];
    const pool = rtOf(this).namepool;
    for (let c: Cell = this; c.up !== null; c = c.up.owner) parts.push(nameText(c.dom, c.hi, c.lo, pool));
    return `/${parts.reverse().join('/')}`;
  }

  get type(): 'normal' | 'link' | 'proxy' {
    const t = this.flags & TYPE_MASK;
    return t === TYPE_LINK ? 'link' : t === TYPE_PROXY ? 'proxy' : 'normal';
  }

  get payloadKind(): 'none' | 'value' | 'data' | 'handle' | 'stream' | 'link' {
    if ((this.flags & COLD_PAYLOAD) !== 0) warm(this, 'payload');
    return (['none', 'value', 'data', 'handle', 'stream', 'link'] as const)[kindOf(this.flags)];
  }

  get isDeleted(): boolean {
    return this.deleted >= 0;
  }

  /** Finalized by a hard delete. */
  get isFinalized(): boolean {
    return (this.flags & DETACHED) !== 0;
  }

  get veiled(): boolean {
    return (this.flags & VEILED) !== 0;
  }

  get immutable(): boolean {
    return (this.flags & IMMUTABLE) !== 0;
  }

  /** Beat of the current payload, or -1. */
  get modified(): number {
    if ((this.flags & COLD_PAYLOAD) !== 0) warm(this, 'payload');
    return this.mod;
  }

  /** Whether the cell existed (created, not yet deleted, not veiled) at `beat`. */
  existsAt(beat: number): boolean {
    return seen(this, asOf(this, beat)) && (this.flags & DETACHED) === 0;
  }

  // ---- checks -----------------------------------------------------------------------------

  private failStructure(rt: Tree): never | void {
    if (rt.writesRefused !== null) throw rt.writesRefused();
    if ((this.flags & DETACHED) !== 0) throw cellDeleted(this.path, true);
    if (this.deleted >= 0) throw cellDeleted(this.path, false);
    if ((this.flags & IMMUTABLE) !== 0) throw immutable(this.path);
    if (rt.storeLocks.size !== 0) {
      const h = lockBlocker(this, 'store');
      if (h !== null) throw locked(this.path, 'store', h === this ? 'locked here' : `ancestor ${h.path} holds the lock`);
    }
  }

  private failData(rt: Tree): never | void {
    if (rt.writesRefused !== null) throw rt.writesRefused();
    if ((this.flags & DETACHED) !== 0) throw cellDeleted(this.path, true);
    if (this.deleted >= 0) throw cellDeleted(this.path, false);
    if ((this.flags & IMMUTABLE) !== 0) throw immutable(this.path);
    if (rt.dataLocks.size !== 0) {
      const h = lockBlocker(this, 'data');
      if (h !== null) throw locked(this.path, 'data', h === this ? 'locked here' : `ancestor ${h.path} holds the lock`);
    }
  }

  /** Throw unless children may be added or removed here. */
  assertStructureMutable(): void {
    const rt = rtOf(this);
    if ((this.flags & (DETACHED | IMMUTABLE)) !== 0 || this.deleted >= 0 || rt.storeLocks.size !== 0 || rt.writesRefused !== null) this.failStructure(rt);
  }

  /** Throw unless the payload may change. */
  assertDataMutable(): void {
    const rt = rtOf(this);
    if ((this.flags & (DETACHED | IMMUTABLE)) !== 0 || this.deleted >= 0 || rt.dataLocks.size !== 0 || rt.writesRefused !== null) this.failData(rt);
  }

  // ---- children ---------------------------------------------------------------------------

  /**
   * Add a child and return it. `name`: text, a positive integer, a Name, or null for the next
   * auto id. In stores with unique names an existing live child of that name is an error
   * (ERR_NAME_EXISTS). On any error nothing changes.
   */
  add(name: NameInput, init?: CellInit): Cell {
    const p = (this.flags & TYPE_MASK) === TYPE_LINK ? resolveLive(this) : this;
    const rt = rtOf(p);
    if ((p.flags & (DETACHED | IMMUTABLE)) !== 0 || p.deleted >= 0 || rt.storeLocks.size !== 0 || rt.writesRefused !== null) p.failStructure(rt);
    if ((p.flags & COLD_STORE) !== 0) warm(p, 'children');
    let dom = DOM_CEP;
    let hi: number;
    let lo: number;
    let auto = false;
    if (typeof name === 'number') {
      if (!encodeNumber(name) || name > NUMERIC_NAME_MAX) throw invalidName(String(name), `numeric names are integers from 1 to ${NUMERIC_NAME_MAX}`);
      hi = enc.hi;
      lo = enc.lo;
    } else if (typeof name === 'string') {
      parseName(name, rt.namepool, NAME_INTERN); // takes the cell's namepool reference
      dom = nm.dom;
      hi = nm.hi;
      lo = nm.lo;
    } else if (name === null || name === undefined) {
      auto = true;
      hi = lo = 0;
    } else if (name instanceof Name) {
      if (name.glob) throw invalidName(name.toString(rt.namepool), 'glob names are only valid in patterns');
      dom = name.dom;
      hi = name.hi;
      lo = name.lo;
      if (!retainName(rt.namepool, dom, hi, lo)) throw invalidName(name.toString(), 'a reference this namepool does not hold');
    } else {
      throw invalidArgType('name', 'a string, a positive integer, a Name or null', name);
    }
    if (!auto && hi >>> 27 === 3 && (hi & 0x7ffffff) * HALF + lo > NUMERIC_NAME_MAX) {
      // frames could not carry the auto-id cursor past it (NUMERIC_NAME_MAX): refused before it exists
      const text = nameText(dom, hi, lo, rt.namepool);
      releaseName(rt.namepool, dom, hi, lo);
      throw invalidName(text, `numeric names are integers from 1 to ${NUMERIC_NAME_MAX}`);
    }
    const guard = rt.writeGuard;
    if (guard !== null && guard.parent === p && !auto) {
      try {
        guard.child(nameText(dom, hi, lo, rt.namepool));
      } catch (e) {
        releaseName(rt.namepool, dom, hi, lo);
        throw e;
      }
    }
    let store = p.store;
    if (store === null) store = p.store = createStore(rt.defaultStore, rt.defaultIndexing, NO_STORE_OPTIONS, p, rt);
    if (auto) {
      if (store.autoNext > NUMERIC_NAME_MAX || !encodeNumber(store.autoNext)) throw invalidName('auto', 'auto ids exhausted');
      hi = enc.hi;
      lo = enc.lo;
    }
    const c = new Cell(store, dom, hi, lo, rt.beat);
    let prepend = false;
    let at = -1;
    let key: Key;
    try {
      if (store.unique && store.findName(dom, hi, lo, SEE_ALIVE) !== undefined) {
        throw nameExists(nameText(dom, hi, lo, rt.namepool), p.path);
      }
      let hash = 0;
      if (init !== undefined) {
        hash = c.prepare(init, rt);
        prepend = init.prepend === true;
        if (init.position !== undefined) at = checkPosition(init.position, store);
      }
      key = store.indexing === 'insertion' || store.indexing === 'name' || store.indexing === 'comparator' ? undefined : store.keyFor(c, hash);
      if (init !== undefined) c.commit(init, rt);
    } catch (e) {
      c.discard(rt);
      throw e;
    }
    store.insert(c, key, prepend, at);
    store.modified = rt.beat;
    if (rt.touched !== null) rt.touched.push(c);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(c);
    if (hi >>> 27 === 3) {
      const n = (hi & 0x7ffffff) * HALF + lo;
      if (n >= store.autoNext) store.autoNext = n + 1;
    }
    return c;
  }

  /**
   * Validate an init and apply the parts without outside effects (payload bytes, own store,
   * flags) to a fresh, not yet inserted cell. Returns the payload hash for 'hash' indexing.
   */
  private prepare(init: CellInit, rt: Tree): number {
    let bytes: Uint8Array | undefined;
    if (init.value !== undefined) bytes = toBytes(init.value, 'init.value');
    else if (init.data !== undefined) {
      if (!(init.data instanceof Uint8Array)) throw invalidArgType('init.data', 'a Uint8Array', init.data);
      bytes = init.data;
    } else if (init.link !== undefined) {
      const t = init.link;
      if (!(t instanceof Cell) || rtOf(t) !== rt) throw invalidArgType('init.link', 'a cell of this runtime', t);
      if ((t.flags & DETACHED) !== 0 || t.deleted >= 0) throw cellDeleted(t.path, (t.flags & DETACHED) !== 0);
      checkCycle(this, t);
    } else if (init.handle !== undefined || init.stream !== undefined) {
      const a = init.handle ?? init.stream;
      if (a === null || typeof a !== 'object') throw invalidArgType(init.handle !== undefined ? 'init.handle' : 'init.stream', 'an adapter object', a);
    }
    let ix: Indexing | undefined;
    const kind = init.store ?? rt.defaultStore;
    if (init.store !== undefined || init.indexing !== undefined) ix = checkStore(kind, init.indexing ?? (init.store === undefined ? rt.defaultIndexing : undefined), init);
    // everything is valid: apply
    let hash = 0;
    if (bytes !== undefined) {
      if (this.up!.indexing === 'hash') hash = payloadHash(bytes);
      if (init.value !== undefined) this.writePayload(rt, bytes, PK_NONE, 0);
      else this.writePayload(rt, bytes, PK_DATA, init.take === true ? W_TAKE : 0);
    }
    if (ix !== undefined) this.store = createStore(kind, ix, { compare: init.compare, key: init.key, bounds: init.bounds }, this, rt);
    if (init.veiled === true) this.flags |= VEILED;
    if (init.immutable === true) this.flags |= IMMUTABLE;
    return hash;
  }

  /** The init parts with outside effects (adapter retain, link shadow), last before insertion. */
  private commit(init: CellInit, rt: Tree): void {
    if (init.value !== undefined || init.data !== undefined) return;
    if (init.link !== undefined) {
      this.flags = (this.flags & ~(TYPE_MASK | PAYLOAD_BITS)) | TYPE_LINK | (PK_LINK << PK_SHIFT);
      this.pv = init.link;
      this.mod = rt.beat;
      addShadow(rt, init.link, this);
    } else if (init.handle !== undefined || init.stream !== undefined) {
      const a = (init.handle ?? init.stream) as ProxyAdapter;
      try {
        a.retain?.(this);
      } catch (e) {
        throw proxyFailed(this.name, 'retain', e);
      }
      this.flags = (this.flags & ~(TYPE_MASK | PAYLOAD_BITS)) | TYPE_PROXY | ((init.handle !== undefined ? PK_HANDLE : PK_STREAM) << PK_SHIFT);
      this.pv = a;
      this.mod = rt.beat;
    }
  }

  /** Undo a failed add: give back arena bytes and the name's namepool reference. */
  private discard(rt: Tree): void {
    if (kindOf(this.flags) === PK_VALUE) rt.arena.free(lenOf(this.flags));
    this.flags = DETACHED;
    releaseName(rt.namepool, this.dom, this.hi, this.lo);
  }

  /** The child named `name` as of now (or as of `atBeat`), or undefined. */
  child(name: NameInput, atBeat?: number): Cell | undefined {
    const mode = atBeat === undefined ? SEE_NOW : asOf(this, atBeat);
    const p = (this.flags & TYPE_MASK) === TYPE_LINK ? (atBeat === undefined ? resolveNow(this) : this.targetAt(mode)) : this;
    if (p === undefined) return undefined;
    if ((p.flags & COLD_STORE) !== 0) warm(p, 'children');
    const store = p.store;
    if (store === null) return undefined;
    if (typeof name === 'number') {
      if (!encodeNumber(name)) throw invalidName(String(name), 'numeric names are integers from 1 to 2^53-1');
      return store.findName(DOM_CEP, enc.hi, enc.lo, mode);
    }
    if (typeof name === 'string') {
      if (!parseName(name, rtOf(p).namepool, NAME_PEEK)) return undefined;
      return store.findName(nm.dom, nm.hi, nm.lo, mode);
    }
    if (name instanceof Name) return store.findName(name.dom, name.hi, name.lo, mode);
    throw invalidArgType('name', 'a string, a positive integer or a Name', name);
  }

  /** Visible children in store order, now or as of `atBeat`. */
  children(atBeat?: number): Cell[] {
    const mode = atBeat === undefined ? SEE_NOW : asOf(this, atBeat);
    const p = (this.flags & TYPE_MASK) === TYPE_LINK ? (atBeat === undefined ? resolveNow(this) : this.targetAt(mode)) : this;
    const out: Cell[] = [];
    if (p !== undefined && (p.flags & COLD_STORE) !== 0) warm(p, 'children');
    if (p === undefined || p.store === null) return out;
    if (mode >= 0 && p.up !== null && !seen(p, mode)) return out;
    p.store.forEach((c) => {
      if (seen(c, mode)) out.push(c);
    });
    return out;
  }

  /** Every stored child (deleted and veiled included) in store order: for sealing and digests. */
  childrenRaw(): Cell[] {
    if ((this.flags & COLD_STORE) !== 0) warm(this, 'children');
    return this.store === null ? [] : this.store.toArray();
  }

  /** Number of visible children now (or at `atBeat`). */
  childCount(atBeat?: number): number {
    return this.children(atBeat).length;
  }

  /**
   * Depth-first, pre-order walk of this cell and its descendants in store order. `fn` returns
   * false to skip a cell's children. Links are not followed.
   */
  traverse(fn: (cell: Cell, depth: number) => boolean | void, options: TraverseOptions = {}): void {
    const mode = options.raw === true ? SEE_RAW : options.atBeat === undefined ? SEE_NOW : asOf(this, options.atBeat);
    if (mode >= 0 && this.up !== null && !seen(this, mode)) return; // not there at that beat
    const warmUp = options.warm !== false;
    const stack: Cell[] = [this];
    const depths: number[] = [0];
    while (stack.length > 0) {
      const c = stack.pop()!;
      const d = depths.pop()!;
      if (fn(c, d) === false) continue;
      if ((c.flags & COLD_STORE) !== 0 && warmUp) warm(c, 'children');
      if (c.store === null) continue;
      const kids: Cell[] = [];
      c.store.forEach((k) => {
        if (seen(k, mode)) kids.push(k);
      });
      for (let i = kids.length - 1; i >= 0; i--) {
        stack.push(kids[i]);
        depths.push(d + 1);
      }
    }
  }

  /** Children of an octree store whose points lie inside the box (inclusive). */
  childrenInBox(min: Point, max: Point, atBeat?: number): Cell[] {
    if ((this.flags & COLD_STORE) !== 0) warm(this, 'children');
    if (!(this.store instanceof OctreeStore)) throw invalidState(this.path, 'not an octree store');
    return this.store.queryBox(min, max, atBeat === undefined ? SEE_NOW : asOf(this, atBeat));
  }

  // ---- payload ----------------------------------------------------------------------------

  /**
   * Store `bytes` as the payload; returns false for a no-op (equal bytes). `kind` PK_VALUE or
   * PK_DATA forces the representation (then only equal bytes of that kind are a no-op);
   * PK_NONE picks it by size (VALUE up to 64 bytes) and any equal bytes are a no-op. `mode`:
   * W_TAKE adopts the buffer (DATA), W_HARD drops the history.
   */
  private writePayload(rt: Tree, bytes: Uint8Array, kind: number, mode: number): boolean {
    const len = bytes.length;
    const f = this.flags;
    const cur = kindOf(f);
    if (cur === PK_VALUE ? kind !== PK_DATA && lenOf(f) === len && rt.arena.equals(this.pv as number, len, bytes) : cur === PK_DATA && kind !== PK_VALUE && bytesEqual(this.pv as Uint8Array, bytes)) {
      return false;
    }
    if (rt.writeGuard !== null && len > rt.writeGuard.payloadBytes) rt.writeGuard.payload(this, len);
    if (kind === PK_NONE) kind = len <= VALUE_INLINE_DEFAULT ? PK_VALUE : PK_DATA;
    const take = (mode & W_TAKE) !== 0;
    const hard = (mode & W_HARD) !== 0;
    const beat = rt.beat;
    if (rt.touched !== null) rt.touched.push(this);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(this);
    let freed = false;
    if (hard && this.hist >= 0) {
      dropHistory(rt, this.hist);
      this.hist = -1;
      freed = true;
    }
    if (!hard && this.mod >= 0 && this.mod !== beat) {
      this.hist = rt.history.push(this.mod, f & PAYLOAD_BITS, this.pv, this.hist);
    } else if (cur === PK_VALUE) {
      // the current version is replaced, not kept: same size -> overwrite, else its bytes are garbage
      const curLen = lenOf(f);
      if (kind === PK_VALUE && curLen === len) {
        rt.arena.overwrite(this.pv as number, bytes);
        this.mod = beat;
        if (freed && rt.arena.needsCompaction) rt.compact();
        return true;
      }
      rt.arena.free(curLen);
      freed = true;
    }
    if (kind === PK_VALUE) {
      this.pv = rt.arena.write(bytes);
      this.flags = (f & ~PAYLOAD_BITS) | (PK_VALUE << PK_SHIFT) | (len << LEN_SHIFT);
    } else {
      this.pv = take ? bytes : bytes.slice();
      this.flags = (f & ~PAYLOAD_BITS) | (PK_DATA << PK_SHIFT);
    }
    this.mod = beat;
    if (freed && rt.arena.needsCompaction) rt.compact();
    return true;
  }

  private payloadTarget(): Cell {
    const c = resolveLive(this);
    if ((c.flags & TYPE_MASK) === TYPE_PROXY) throw invalidState(c.path, 'a proxy payload changes through its adapter (write/restore)');
    if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
    return c;
  }

  /**
   * Set the payload (Uint8Array or UTF-8 string). Up to 64 bytes are stored as VALUE, larger as
   * DATA (copied). Returns false when the payload is already equal (no history entry).
   */
  set(value: Uint8Array | string): boolean {
    const c = (this.flags & TYPE_MASK) === TYPE_NORMAL ? this : this.payloadTarget();
    const rt = rtOf(c);
    if ((c.flags & (DETACHED | IMMUTABLE | COLD_PAYLOAD)) !== 0 || c.deleted >= 0 || rt.dataLocks.size !== 0 || rt.writesRefused !== null) {
      c.failData(rt);
      if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
    }
    const bytes = typeof value === 'string' || !(value instanceof Uint8Array) ? toBytes(value) : value;
    return c.writePayload(rt, bytes, PK_NONE, 0);
  }

  /** Set a DATA payload; with `take` the buffer is adopted without a copy. */
  setData(bytes: Uint8Array, options: { take?: boolean } = {}): boolean {
    const c = this.payloadTarget();
    c.assertDataMutable();
    if (!(bytes instanceof Uint8Array)) throw invalidArgType('bytes', 'a Uint8Array', bytes);
    return c.writePayload(rtOf(c), bytes, PK_DATA, options.take === true ? W_TAKE : 0);
  }

  /** Set a VALUE payload explicitly (up to 4095 bytes). */
  setValue(value: Uint8Array | string): boolean {
    const c = this.payloadTarget();
    c.assertDataMutable();
    const bytes = toBytes(value);
    if (bytes.length > VALUE_MAX) throw outOfRange('value.length', `at most ${VALUE_MAX} bytes for a VALUE payload`, bytes.length);
    return c.writePayload(rtOf(c), bytes, PK_VALUE, 0);
  }

  /** Replace the payload and drop its history (for caches and GC). */
  setHard(value: Uint8Array | string): boolean {
    const c = this.payloadTarget();
    c.assertDataMutable();
    const bytes = toBytes(value);
    return c.writePayload(rtOf(c), bytes, PK_NONE, W_HARD);
  }

  /** Remove the payload (kept in history). Returns false when there was none. */
  clearValue(): boolean {
    const c = this.payloadTarget();
    c.assertDataMutable();
    const rt = rtOf(c);
    const k = kindOf(c.flags);
    if (k === PK_NONE) return false;
    const replaced = c.mod === rt.beat;
    if (!replaced) c.hist = rt.history.push(c.mod, c.flags & PAYLOAD_BITS, c.pv, c.hist);
    else if (k === PK_VALUE) rt.arena.free(lenOf(c.flags));
    c.flags &= ~PAYLOAD_BITS;
    c.pv = 0;
    c.mod = rt.beat;
    if (rt.touched !== null) rt.touched.push(c);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(c);
    if (replaced && rt.arena.needsCompaction) rt.compact();
    return true;
  }

  /** The current payload bytes (a copy), or undefined (none, deleted, proxy, dead link). */
  get value(): Uint8Array | undefined {
    const c = (this.flags & TYPE_MASK) === TYPE_LINK ? resolveNow(this) : this;
    if (c === undefined || c.deleted >= 0 || (c.flags & DETACHED) !== 0) return undefined;
    if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
    return bytesOf(rtOf(c), c.flags, c.pv, true);
  }

  /** The current payload without copying. Do not write through it. */
  peek(): Uint8Array | undefined {
    const c = (this.flags & TYPE_MASK) === TYPE_LINK ? resolveNow(this) : this;
    if (c === undefined || c.deleted >= 0 || (c.flags & DETACHED) !== 0) return undefined;
    if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
    return bytesOf(rtOf(c), c.flags, c.pv, false);
  }

  /** The payload as UTF-8 text (or undefined). */
  get text(): string | undefined {
    const v = this.peek();
    return v === undefined ? undefined : new TextDecoder().decode(v);
  }

  /** The payload as it was at the end of `beat` (undefined where the cell or payload did not exist). */
  valueAt(beat: number): Uint8Array | undefined {
    asOf(this, beat);
    let c: Cell | undefined = this;
    if ((this.flags & TYPE_MASK) === TYPE_LINK) {
      if (!seen(this, beat) && this.up !== null) return undefined;
      c = this.targetAt(beat);
      if (c === undefined) return undefined;
    }
    if ((c.flags & DETACHED) !== 0) return undefined;
    if (c.up !== null && !(c.created <= beat && (c.deleted < 0 || c.deleted > beat))) return undefined;
    if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
    const rt = rtOf(c);
    if (c.mod >= 0 && c.mod <= beat) return bytesOf(rt, c.flags, c.pv, true);
    const h = rt.history;
    for (let e = c.hist; e >= 0; e = h.prev[e]) if (h.beat[e] <= beat) return bytesOf(rt, h.meta[e], h.pv[e], true);
    return undefined;
  }

  /** Beats at which the payload changed, newest first (history stamps). */
  payloadBeats(): number[] {
    if ((this.flags & COLD_PAYLOAD) !== 0) warm(this, 'payload');
    const out: number[] = [];
    if (this.mod >= 0) out.push(this.mod);
    const h = rtOf(this).history;
    for (let e = this.hist; e >= 0; e = h.prev[e]) out.push(h.beat[e]);
    return out;
  }

  // ---- structure --------------------------------------------------------------------------

  private assertRemovable(rt: Tree): void {
    if (this.up === null) throw invalidState('/', 'the root cannot be removed');
    if ((this.flags & DETACHED) !== 0) throw cellDeleted(this.path, true);
    const parent = this.up.owner;
    if ((parent.flags & (DETACHED | IMMUTABLE)) !== 0 || rt.storeLocks.size !== 0 || rt.writesRefused !== null) parent.failStructure(rt);
    if ((this.flags & IMMUTABLE) !== 0) throw immutable(this.path);
    if ((this.flags & (STORE_LOCK | DATA_LOCK)) !== 0) throw locked(this.path, (this.flags & STORE_LOCK) !== 0 ? 'store' : 'data', 'a locked cell cannot be removed');
  }

  /** This cell and every stored descendant; refuses (ERR_LOCKED) when a descendant holds a lock. */
  private subtreeForRemoval(loadCold = true): Cell[] {
    const all: Cell[] = [];
    this.traverse((c) => void all.push(c), { raw: true, warm: loadCold });
    for (let i = 1; i < all.length; i++) {
      const c = all[i];
      if ((c.flags & (STORE_LOCK | DATA_LOCK)) !== 0) throw locked(c.path, (c.flags & STORE_LOCK) !== 0 ? 'store' : 'data', 'a locked cell cannot be removed');
    }
    return all;
  }

  /**
   * Soft delete: the cell and its live descendants are stamped deleted at this beat; they
   * disappear from now on and stay readable in the past. Links inside stop shadowing their
   * targets; links to cells inside are tombstoned. Returns false if already deleted.
   */
  remove(): boolean {
    const rt = rtOf(this);
    this.assertRemovable(rt);
    if (this.deleted >= 0) return false;
    const beat = rt.beat;
    for (const c of this.subtreeForRemoval()) {
      if (c.deleted >= 0) continue;
      c.deleted = beat;
      if ((c.flags & TYPE_MASK) === TYPE_LINK) dropShadow(rt, c.pv as Cell, c);
      if ((c.flags & SHADOWED) !== 0) tombstone(rt, c);
    }
    this.up!.modified = beat;
    if (rt.touched !== null) rt.touched.push(this);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(this);
    return true;
  }

  /**
   * Hard delete: remove the cell and its subtree from the store with their history (for GC).
   * Refused while live links from outside the subtree still point into it (ERR_SHADOWED).
   */
  removeHard(): void {
    const rt = rtOf(this);
    this.assertRemovable(rt);
    const all = this.subtreeForRemoval(false); // cold stubs hold no history, bytes, locks or links: they leave as they are
    let inside: Set<Cell> | undefined; // built only when some cell is linked to
    for (const c of all) {
      if ((c.flags & SHADOWED) === 0) continue;
      inside ??= new Set(all);
      const live = shadowsOf(rt, c).filter((l) => !inside!.has(l) && l.deleted < 0);
      if (live.length > 0) throw shadowed(c.path, live.length);
    }
    if (rt.touched !== null) rt.touched.push(this.up!.owner);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(this.up!.owner);
    for (const c of all) c.finalize(rt);
    this.up!.remove(this);
    this.up!.modified = rt.beat;
    if (rt.arena.needsCompaction) rt.compact();
  }

  /**
   * Take back this turn's add of this cell without a trace (an atomic applier undoing a failed
   * frame): the cell and its subtree leave the store with their history, bytes, shadows and
   * name references. No checks and no stamps; the caller restores what else it changed.
   */
  unmake(): void {
    const rt = rtOf(this);
    const all: Cell[] = [];
    this.traverse((c) => void all.push(c), { raw: true, warm: false });
    for (const c of all) c.finalize(rt);
    this.up!.remove(this);
  }

  /** Drop history, payload bytes, adapter, shadows and name references (hard delete). */
  private finalize(rt: Tree): void {
    if (this.hist >= 0) dropHistory(rt, this.hist);
    this.hist = -1;
    if ((this.flags & COLD_PAYLOAD) !== 0) this.pv = 0; // a cold stub: no payload to give back
    const t = this.flags & TYPE_MASK;
    if (kindOf(this.flags) === PK_VALUE) rt.arena.free(lenOf(this.flags));
    else if (t === TYPE_LINK) dropShadow(rt, this.pv as Cell, this);
    else if (t === TYPE_PROXY) {
      try {
        (this.pv as ProxyAdapter).release?.(this);
      } catch {
        // a failing release cannot stop finalization
      }
    }
    if ((this.flags & SHADOWED) !== 0) {
      tombstone(rt, this);
      rt.shadows.delete(this);
    }
    releaseName(rt.namepool, this.dom, this.hi, this.lo);
    this.flags = (this.flags & ~(SHADOWED | COLD)) | DETACHED;
    if (this.deleted < 0) this.deleted = rt.beat;
  }

  /**
   * Turn this cell back into a cold stub holding the loader's `token` (eviction: kernel/cold.ts):
   * its payload, history and whole subtree leave memory; the next access loads them again
   * through `rt.coldLoader`. Not a change (nothing journaled or stamped). Refused (nothing
   * changes) for the root, and when the cell or a descendant is a link, a proxy, a link target,
   * veiled or locked, since those do not come back from a loader.
   */
  makeCold(token: number): void {
    const rt = rtOf(this);
    if (this.up === null) throw invalidState('/', 'the root cannot be made cold');
    if ((this.flags & DETACHED) !== 0) throw cellDeleted(this.path, true);
    if (!Number.isSafeInteger(token)) throw invalidArgType('token', 'a safe integer', token);
    const all: Cell[] = [];
    this.traverse((c) => void all.push(c), { raw: true, warm: false });
    for (const c of all) {
      if ((c.flags & (TYPE_MASK | SHADOWED | VEILED | STORE_LOCK | DATA_LOCK)) !== 0) throw invalidState(c.path, 'a link, proxy, link target, veiled or locked cell cannot be made cold');
    }
    for (let i = 1; i < all.length; i++) all[i].finalize(rt);
    if (this.hist >= 0) dropHistory(rt, this.hist);
    if (kindOf(this.flags) === PK_VALUE) rt.arena.free(lenOf(this.flags));
    this.flags = (this.flags & ~PAYLOAD_BITS) | COLD;
    this.pv = token;
    this.hist = -1;
    this.mod = -1;
    this.store = null;
    if (rt.arena.needsCompaction) rt.compact();
  }

  /** Whether the payload or the children are not in memory (kernel/cold.ts). */
  get isCold(): boolean {
    return (this.flags & COLD) !== 0;
  }

  /** Reveal a veiled cell: it becomes visible at once, created at the current beat. */
  unveil(): boolean {
    if ((this.flags & VEILED) === 0) return false;
    const rt = rtOf(this);
    if ((this.flags & DETACHED) !== 0 || this.deleted >= 0) throw cellDeleted(this.path, (this.flags & DETACHED) !== 0);
    this.up!.owner.assertStructureMutable();
    this.flags &= ~VEILED;
    this.created = rt.beat;
    this.up!.modified = rt.beat;
    if (rt.touched !== null) rt.touched.push(this);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(this);
    return true;
  }

  // ---- immutability and locks -------------------------------------------------------------

  /** Make this cell immutable (irreversible): its payload and child set can no longer change. */
  setImmutable(): void {
    if ((this.flags & DETACHED) !== 0) throw cellDeleted(this.path, true);
    this.flags |= IMMUTABLE;
  }

  /** Seal the branch: this cell and every stored descendant become immutable. */
  seal(): void {
    if ((this.flags & DETACHED) !== 0) throw cellDeleted(this.path, true);
    this.traverse(
      (c) => {
        c.flags |= IMMUTABLE;
      },
      { raw: true },
    );
  }

  lockStore(): LockToken {
    return acquire(this, 'store');
  }

  unlockStore(token: LockToken): void {
    release(this, 'store', token);
  }

  lockData(): LockToken {
    return acquire(this, 'data');
  }

  unlockData(token: LockToken): void {
    release(this, 'data', token);
  }

  // ---- links ------------------------------------------------------------------------------

  get isLink(): boolean {
    return (this.flags & TYPE_MASK) === TYPE_LINK;
  }

  /** A link whose target was deleted (tombstone). */
  get isDead(): boolean {
    return (this.flags & TARGET_DEAD) !== 0;
  }

  /** The direct target of a link (undefined for other cells). */
  get target(): Cell | undefined {
    return this.isLink ? (this.pv as Cell) : undefined;
  }

  /** Follow links to the first non-link cell (this cell if not a link); undefined through a dead link. */
  resolve(): Cell | undefined {
    return resolveNow(this);
  }

  /** The non-link cell this link reached at `beat`. */
  targetAt(beat: number): Cell | undefined {
    checkBeat(beat, rtOf(this).beat);
    let c: Cell = this;
    for (let guard = 0; (c.flags & TYPE_MASK) === TYPE_LINK && guard < 1_000_000; guard++) {
      let t: Cell | undefined;
      if (c.mod <= beat) t = c.pv as Cell;
      else {
        const h = rtOf(c).history;
        for (let e = c.hist; e >= 0; e = h.prev[e]) {
          if (h.beat[e] <= beat) {
            t = h.pv[e] as Cell;
            break;
          }
        }
      }
      if (t === undefined) return undefined;
      c = t;
    }
    return c;
  }

  /** Point this link at another cell (the previous target is kept in history). */
  relink(target: Cell): void {
    if (!this.isLink) throw invalidState(this.path, 'not a link');
    this.assertDataMutable();
    const rt = rtOf(this);
    if (!(target instanceof Cell) || rtOf(target) !== rt) throw invalidArgType('target', 'a cell of this runtime', target);
    if ((target.flags & DETACHED) !== 0 || target.deleted >= 0) throw cellDeleted(target.path, (target.flags & DETACHED) !== 0);
    checkCycle(this, target);
    const old = this.pv as Cell;
    if (old === target && (this.flags & TARGET_DEAD) === 0) return;
    if (this.mod !== rt.beat) this.hist = rt.history.push(this.mod, this.flags & PAYLOAD_BITS, old, this.hist);
    dropShadow(rt, old, this);
    this.pv = target;
    this.mod = rt.beat;
    this.flags &= ~TARGET_DEAD;
    addShadow(rt, target, this);
    if (rt.touched !== null) rt.touched.push(this);
    else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(this);
  }

  /** Links currently pointing at this cell. */
  get shadows(): readonly Cell[] {
    return shadowsOf(rtOf(this), this);
  }

  // ---- proxies (cell/proxy.ts) ------------------------------------------------------------

  /** Windowed read through the adapter. */
  read(offset: number, length: number): Uint8Array {
    return proxyCall(this, 'read', (a, c) => a.read!(c, offset, length));
  }

  /** Windowed write through the adapter; the first change in a beat is recorded (`snapshotAt`). */
  write(offset: number, bytes: Uint8Array): number {
    return proxyChange(this, 'write', (a, c) => a.write!(c, offset, bytes));
  }

  /** The resource's current state as bytes (adapter `snapshot`). */
  snapshot(): Uint8Array {
    return proxyCall(this, 'snapshot', (a, c) => a.snapshot!(c));
  }

  /** Bring the resource back to `bytes` (adapter `restore`); recorded like `write`. */
  restore(bytes: Uint8Array): void {
    proxyChange(this, 'restore', (a, c) => a.restore!(c, bytes));
  }

  /** The proxy's state (snapshot bytes) as of the end of `beat`. */
  snapshotAt(beat: number): Uint8Array | undefined {
    return proxySnapshotAt(this, beat);
  }

  // ---- cloning (cell/clone.ts) ------------------------------------------------------------

  /**
   * Deep-clone this cell (as it is now) under `parent`, by default with the same name. Payloads
   * are copied (no history), stores keep their kind and indexing; HANDLE/STREAM cells become
   * links to the original, links stay links to the same target.
   */
  cloneTo(parent: Cell, name?: NameInput): Cell {
    return cloneCell(this, parent, name);
  }

  toString(): string {
    return `Cell(${this.path})`;
  }
}

export { SEE_NOW, SEE_RAW };
