/**
 * The index of lazy branches: every cell of a branch as of its newest frame (names, stamps,
 * store, children in store order) and, per payload version, where its bytes lie on disk, built
 * at open from the newest snapshot (checkpoint or snapshot frame) and the deltas after it,
 * without applying them. Payload bytes stay on disk: a VALUE carried inline is found again by
 * a positioned read of the record holding it (checked against that record's CRC32C); others
 * (chunked, deflated or sealed frames) by reading their frame again. Columns are typed arrays,
 * so a cell costs a few dozen bytes here and no kernel object until it is hydrated.
 *
 * Node ids are the tokens cold kernel cells carry (kernel/cold.ts).
 */
import type { FrameLocator, StoredFrame } from '../../engine.js';
import type { Indexing, StoreKind } from '../../../kernel/store/index.js';
import type { AeadOptions } from '../../../serialization/aead.js';
import { frameNameText } from '../../../serialization/apply.js';
import { readFrame, type Frame, type FrameCell, type FramePayload } from '../../../serialization/reader.js';

/** The branch holds something a cold stub cannot stand for (links, payload-ordered stores): load it whole. */
export class ColdUnsupported extends Error {}

export const STORE_KINDS: readonly StoreKind[] = ['list', 'array', 'queue', 'rbtree', 'hash', 'octree'];
export const INDEXINGS: readonly Indexing[] = ['insertion', 'name', 'comparator', 'hash', 'function'];
const KINDS = ['none', 'value', 'data'] as const;

/** Where one stored frame lies (payload versions point here). */
export interface IndexedFrame {
  branch: string;
  beat: number;
  locator: FrameLocator | undefined;
  /** Frame bytes. */
  length: number;
}

/** Live children by name, per parent node: made for the parents a delta looks under. */
type LiveNames = Map<number, Map<string, number>>;

type Col = Int32Array | Float64Array | Uint8Array | Int8Array;
const NODE_COLUMNS = ['parent', 'first', 'last', 'next', 'created', 'deleted', 'immutable', 'vFirst', 'vLast', 'storeKind', 'storeIndexing', 'autoNext'] as const;
const VERSION_COLUMNS = ['vBeat', 'vKind', 'vLen', 'vFrame', 'vRecord', 'vRecordLen', 'vAt', 'vHistory', 'vNext'] as const;

export class ColdIndex {
  // ---- cells (nodes) ----
  count = 0;
  parent = new Int32Array(1024);
  first = new Int32Array(1024);
  last = new Int32Array(1024);
  next = new Int32Array(1024);
  created = new Float64Array(1024);
  deleted = new Float64Array(1024);
  immutable = new Uint8Array(1024);
  vFirst = new Int32Array(1024);
  vLast = new Int32Array(1024);
  storeKind = new Int8Array(1024);
  storeIndexing = new Int8Array(1024);
  autoNext = new Float64Array(1024);
  names: string[] = [];
  // ---- payload versions ----
  versions = 0;
  vBeat = new Float64Array(1024);
  vKind = new Uint8Array(1024);
  vLen = new Int32Array(1024);
  vFrame = new Int32Array(1024);
  /** Offset of the record holding an inline VALUE in its frame; -1: read the whole frame. */
  vRecord = new Float64Array(1024);
  vRecordLen = new Int32Array(1024);
  /** Offset of the bytes in that record; for whole-frame versions, the cell's ordinal in the frame. */
  vAt = new Int32Array(1024);
  /** Whole-frame versions: index in the cell's history, or -1 for its described payload. */
  vHistory = new Int32Array(1024);
  vNext = new Int32Array(1024);
  readonly frames: IndexedFrame[] = [];
  /** Branch root node by branch name. */
  readonly roots = new Map<string, number>();

  /** Reallocate `columns` to `n` entries, keeping what they hold. */
  private grow(columns: readonly string[], n: number): void {
    const cols = this as unknown as Record<string, Col>;
    for (const k of columns) {
      const b = new (cols[k].constructor as new (n: number) => Col)(n);
      b.set(cols[k]);
      cols[k] = b;
    }
  }

  private newNode(parent: number, name: string, f: FrameCell): number {
    if (this.count === this.parent.length) this.grow(NODE_COLUMNS, this.count * 2);
    const i = this.count++;
    this.parent[i] = parent;
    this.first[i] = this.last[i] = this.next[i] = -1;
    this.created[i] = f.created;
    this.deleted[i] = f.deleted;
    this.immutable[i] = f.immutable ? 1 : 0;
    this.vFirst[i] = this.vLast[i] = -1;
    this.storeKind[i] = -1;
    this.storeIndexing[i] = -1;
    this.autoNext[i] = 1;
    this.names[i] = name;
    return i;
  }

  private newVersion(node: number, p: FramePayload, frame: number, record: number, recordLen: number, at: number, history: number): void {
    if (this.versions === this.vBeat.length) this.grow(VERSION_COLUMNS, this.versions * 2);
    const v = this.versions++;
    this.vBeat[v] = p.beat;
    this.vKind[v] = KINDS.indexOf(p.kind as (typeof KINDS)[number]);
    this.vLen[v] = p.bytes?.length ?? 0;
    this.vFrame[v] = frame;
    this.vRecord[v] = record;
    this.vRecordLen[v] = recordLen;
    this.vAt[v] = at;
    this.vHistory[v] = history;
    this.vNext[v] = -1;
    const tail = this.vLast[node];
    // a version of the same beat replaces the newest one (a beat shows its final state)
    if (tail >= 0 && this.vBeat[tail] === p.beat) {
      this.copyVersion(v, tail);
      this.versions--;
      return;
    }
    if (tail < 0) this.vFirst[node] = v;
    else this.vNext[tail] = v;
    this.vLast[node] = v;
  }

  private copyVersion(from: number, to: number): void {
    this.vKind[to] = this.vKind[from];
    this.vLen[to] = this.vLen[from];
    this.vFrame[to] = this.vFrame[from];
    this.vRecord[to] = this.vRecord[from];
    this.vRecordLen[to] = this.vRecordLen[from];
    this.vAt[to] = this.vAt[from];
    this.vHistory[to] = this.vHistory[from];
  }

  /** Append (or, `front`, prepend) `kid` to `parent`'s children. */
  private link(parent: number, kid: number, front: boolean): void {
    if (this.first[parent] < 0) {
      this.first[parent] = this.last[parent] = kid;
    } else if (front) {
      this.next[kid] = this.first[parent];
      this.first[parent] = kid;
    } else {
      this.next[this.last[parent]] = kid;
      this.last[parent] = kid;
    }
  }

  /** Soft delete as the kernel does it: the cell and its live descendants get the beat. */
  private markDeleted(node: number, beat: number, live: LiveNames): void {
    const stack = [node];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (this.deleted[n] >= 0) continue;
      this.deleted[n] = beat;
      const byName = live.get(this.parent[n]);
      if (byName?.get(this.names[n]) === n) byName.delete(this.names[n]);
      for (let k = this.first[n]; k >= 0; k = this.next[k]) stack.push(k);
    }
  }

  /** The `dup`-th child of `parent` named `name` that was live before beat `beat` (-1: none). */
  private liveChild(parent: number, name: string, dup: number, beat: number, live: LiveNames): number {
    if (dup === 0) {
      let byName = live.get(parent);
      if (byName === undefined) {
        // made on the first lookup under this parent: a delta touches few parents
        live.set(parent, (byName = new Map()));
        for (let c = this.first[parent]; c >= 0; c = this.next[c]) if (this.deleted[c] < 0 && !byName.has(this.names[c])) byName.set(this.names[c], c);
      }
      const hit = byName.get(name);
      if (hit !== undefined) return hit;
    }
    // not live now: deleted by this frame (its parent's deletion came first), or a same-name sibling
    let k = 0;
    for (let c = this.first[parent]; c >= 0; c = this.next[c]) if ((this.deleted[c] < 0 || this.deleted[c] >= beat) && this.names[c] === name && k++ === dup) return c;
    return -1;
  }

  /** Total payload bytes (every version) of `node`. */
  payloadBytes(node: number): number {
    let n = 0;
    for (let v = this.vFirst[node]; v >= 0; v = this.vNext[v]) n += this.vLen[v];
    return n;
  }

  /** The live or deleted child of `node` named `name` that a lookup now would find (-1: none). */
  childNamed(node: number, name: string): number {
    for (let c = this.first[node]; c >= 0; c = this.next[c]) if (this.deleted[c] < 0 && this.names[c] === name) return c;
    return -1;
  }

  /**
   * Index `branch` from `frames` (its newest snapshot, then the deltas after it, in beat order).
   * Throws ColdUnsupported when the branch holds what cold stubs cannot stand for, and the
   * reader's coded errors for a frame that does not read; the index keeps nothing of a branch
   * that failed (its nodes are left unreachable).
   */
  addBranch(branch: string, frames: Iterable<StoredFrame>, aead: AeadOptions | undefined): number {
    const live: LiveNames = new Map();
    let root = -1;
    for (const stored of frames) {
      const frame = readFrame(stored.bytes, { aead });
      const fi = this.frames.length;
      this.frames.push({ branch, beat: stored.beat, locator: stored.locator, length: stored.bytes.length });
      // inline VALUEs are views into the stored bytes unless the frame was inflated or sealed
      const inPlace = stored.locator !== undefined && frame.compression === 'none' && frame.aead === 'none';
      const delta = frame.mode === 'delta';
      const cells = frame.cells;
      const ord = new Int32Array(cells.length);
      const front = new Set<number>();
      for (const f of cells) if (f.front !== undefined) for (const x of f.front) front.add(x);
      for (let i = 0; i < cells.length; i++) {
        const f = cells[i];
        if (f.type === 'link') throw new ColdUnsupported(`${branch} holds links`);
        if (f.store !== undefined && f.store.indexing !== 'insertion' && f.store.indexing !== 'name') throw new ColdUnsupported(`${branch} holds a store ordered by ${f.store.indexing}`);
        if (i === 0) {
          const path = f.path!;
          if (path.length !== 2 || frameNameText(frame, path[0]) !== 'data' || frameNameText(frame, path[1]) !== branch)
            throw new ColdUnsupported(`a frame of ${branch} is not rooted at /data/${branch}`);
          if (root < 0) {
            if (f.anchor) throw new ColdUnsupported(`${branch} starts with a delta`);
            root = this.newNode(-1, branch, f);
            this.roots.set(branch, root);
            this.describe(root, f, frame, stored, fi, i, inPlace);
          } else if (!f.anchor) this.update(root, f, frame, stored, fi, i, inPlace, live);
          ord[0] = root;
          continue;
        }
        const parent = ord[f.parent];
        const name = frameNameText(frame, f.name!);
        const fresh = !delta || f.created === frame.beat;
        const existing = fresh && !f.anchor ? -1 : this.liveChild(parent, name, f.dup ?? 0, frame.beat, live);
        if (f.anchor) {
          if (existing < 0) throw new ColdUnsupported(`an anchor of ${branch} (${name}) is not in the index`);
          ord[i] = existing;
          continue;
        }
        if (existing >= 0) {
          this.update(existing, f, frame, stored, fi, i, inPlace, live);
          ord[i] = existing;
          continue;
        }
        const node = this.newNode(parent, name, f);
        this.link(parent, node, delta && front.has(i));
        const byName = live.get(parent);
        if (byName !== undefined && f.deleted < 0 && !byName.has(name)) byName.set(name, node);
        this.describe(node, f, frame, stored, fi, i, inPlace);
        ord[i] = node;
      }
    }
    if (root < 0) throw new ColdUnsupported(`${branch} has no frames`);
    return root;
  }

  /** Store and payload versions of a new node. */
  private describe(node: number, f: FrameCell, frame: Frame, stored: StoredFrame, fi: number, ordinal: number, inPlace: boolean): void {
    if (f.store !== undefined) this.setStore(node, f.store);
    f.history.forEach((p, h) => this.addVersion(node, p, frame, stored, fi, ordinal, h, inPlace));
    if (f.payload !== undefined) this.addVersion(node, f.payload, frame, stored, fi, ordinal, -1, inPlace);
  }

  /** A later frame's description of a known node: new payload versions, deletion, store, immutability. */
  private update(node: number, f: FrameCell, frame: Frame, stored: StoredFrame, fi: number, ordinal: number, inPlace: boolean, live: LiveNames): void {
    if (f.store !== undefined) this.setStore(node, f.store);
    const newest = this.vLast[node] < 0 ? -1 : this.vBeat[this.vLast[node]];
    f.history.forEach((p, h) => {
      if (p.beat >= newest) this.addVersion(node, p, frame, stored, fi, ordinal, h, inPlace);
    });
    if (f.payload !== undefined && f.payload.beat >= newest) this.addVersion(node, f.payload, frame, stored, fi, ordinal, -1, inPlace);
    if (f.immutable) this.immutable[node] = 1;
    if (f.deleted >= 0 && this.deleted[node] < 0) this.markDeleted(node, f.deleted, live);
  }

  private setStore(node: number, s: NonNullable<FrameCell['store']>): void {
    this.storeKind[node] = STORE_KINDS.indexOf(s.kind);
    this.storeIndexing[node] = INDEXINGS.indexOf(s.indexing);
    this.autoNext[node] = s.autoNext;
  }

  private addVersion(node: number, p: FramePayload, frame: Frame, stored: StoredFrame, fi: number, ordinal: number, history: number, inPlace: boolean): void {
    if (p.kind === 'link') throw new ColdUnsupported('links');
    const b = p.bytes;
    if (inPlace && b !== undefined && b.buffer === stored.bytes.buffer && p.kind === 'value') {
      const off = b.byteOffset - stored.bytes.byteOffset;
      const r = recordAt(frame, off);
      if (r !== undefined) {
        this.newVersion(node, p, fi, r.offset, r.length, off - r.offset, 0);
        return;
      }
    }
    this.newVersion(node, p, fi, -1, 0, ordinal, history);
  }
}

/** The record of `frame` holding byte `off` (binary search over record offsets). */
function recordAt(frame: Frame, off: number): { offset: number; length: number } | undefined {
  const recs = frame.records;
  let lo = 0;
  let hi = recs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = recs[mid];
    if (off < r.offset) hi = mid - 1;
    else if (off >= r.offset + r.length) lo = mid + 1;
    else return r;
  }
  return undefined;
}
