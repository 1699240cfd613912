/**
 * The frame writer: walks a branch, writes every record into one staging buffer (CRCs left as
 * placeholders), then one binding call (native or fallback) adds the header, the CRC32Cs, the
 * leaf hashes, the Merkle root and the trailer. Record layouts: docs/FORMAT.md.
 *
 * A delta frame holds what changed in one beat below the branch root (cells created, deleted,
 * or whose payload changed, found through the kernel's beat stamps and history), plus anchor
 * records for their unchanged ancestors; a snapshot holds the branch as of the beat.
 */
import { frameError, invalidArgType, invalidArgValue, invalidState, outOfRange } from '../errors.js';
import type { Cell } from '../kernel/cell/cell.js';
import { COLD_PAYLOAD, COLD_STORE, DETACHED, IMMUTABLE, LEN_MASK, LEN_SHIFT, PK_MASK, PK_SHIFT, TYPE_LINK, TYPE_MASK, VEILED } from '../kernel/cell/flags.js';
import { CHUNK_SIZE as ARENA_CHUNK } from '../kernel/arena.js';
import { DOM_CEP, domainId } from '../kernel/naming/name.js';
import { NAMING_REFERENCE, HALF, HI_PAYLOAD_MASK, namingOf } from '../kernel/naming/id.js';
import type { Tree } from '../kernel/tree.js';
import type { ChildStore } from '../kernel/store/types.js';
import { warm } from '../kernel/cold.js';
import { FLAT_RUN_MAX, FINISH_AEAD, FINISH_BEAT, FINISH_CAPS, FINISH_COMPRESSION, FINISH_MHIST, FINISH_MODE, FINISH_PARAMS, FINISH_PHIST } from '../native/binding.js';
import { trailerBound } from '../native/fallback/flat.js';
import { binding } from '../native/index.js';
import { AEAD_TAG_BYTES, ChunkCipher, type AeadOptions } from './aead.js';
import { deflateFrame } from './container.js';
import { encodeFused } from './branch-writer.js';
import { DescWriter } from './desc-writer.js';
import {
  CELL_LINK,
  CELL_NORMAL,
  CHUNK_SIZE_DEFAULT,
  CHUNK_SIZE_MAX,
  COMPRESSION_DEFLATE,
  DESC_ANCHOR,
  DESC_IMMUTABLE,
  DESC_PAYLOAD,
  FLAT_CAP_AEAD,
  FLAT_CAP_CHUNKS,
  FLAT_CAP_DEFLATE,
  FLAT_CAP_MANIFEST,
  FLAT_CAP_MANIFEST_HISTORY,
  FLAT_CAP_NAMEPOOL,
  FLAT_CAP_ORDER,
  FLAT_CAP_PAYLOAD_HISTORY,
  FLAT_CAP_TOC,
  FLAT_HEADER_SIZE,
  FLAT_T_CELL,
  FLAT_T_CHUNK,
  FLAT_T_HISTORY,
  FLAT_T_MANIFEST,
  FLAT_T_MANIFEST_HISTORY,
  FLAT_T_NAMEPOOL,
  FLAT_T_ORDER,
  INDEXING_CODES,
  KIND_DATA,
  KIND_LINK,
  KIND_NONE,
  KIND_VALUE,
  MODE_DELTA,
  MODE_SNAPSHOT,
  NAME_BYTES,
  NAMEPOOL_ORDINAL,
  PLACE_CHUNKS,
  PLACE_INLINE,
  RECORD_SEALED,
  STORE_CODES,
  TARGET_ORDINAL,
  TARGET_PATH,
  varintSize,
  writeId,
  writeU32BE,
  writeVarint,
} from './format.js';

export interface EncodeOptions {
  /** The beat the frame describes (default: the runtime's current beat). */
  beat?: number;
  /** 'delta': what changed in `beat`; 'snapshot': the branch as of `beat`. */
  mode: 'delta' | 'snapshot';
  /** Wrap the frame in the deflate container. */
  deflate?: boolean;
  /** Seal payload chunks (VALUE payloads then travel in chunks too). */
  aead?: AeadOptions;
  /** Payloads larger than this are split into several chunks (default 64 KiB, at most 1 MiB). */
  chunkSize?: number;
  /** History windows in beats: past payload versions / deleted cells newer than `beat - window`. */
  history?: { payload?: number; manifest?: number };
  /** Root of the previous frame of this branch (32 bytes; default zeros: the chain's start). */
  prevRoot?: Uint8Array;
}

const ZERO_ROOT = new Uint8Array(32);
const TEXT = new TextEncoder();

// walk marks
export const M_DESC = 1; // described (changed, or part of a snapshot)
export const M_ANCHOR = 2; // identity only
const M_PAST = 3; // deleted within the manifest history window (snapshot)
export const M_NEW = 4; // delta: created in this beat (or below a created cell)

/** One payload version: its beat, kind/length bits (cell flag layout) and value slot. */
export interface Version {
  beat: number;
  meta: number;
  pv: unknown;
}

/** Bytes reserved for a run's body length before its size is known (runs stay below 2 MiB). */
const RUN_LEN_SLOT = 3;
/** A run is closed once its descriptions pass this many bytes (it stays one BLAKE3 leaf of up to ~64 KiB). */
const RUN_BYTES = 64 * 1024;

export class Staging {
  buf: Uint8Array;
  /** A DataView of `buf` (word stores in the fast description writer). */
  view: DataView;
  p = FLAT_HEADER_SIZE;
  count = 0;
  /** The open cell_desc run: where its record starts (-1: none), and how many descriptions it holds. */
  private runAt = -1;
  private runCells = 0;

  /** `cells`: how many descriptions will be written (sizes the buffer once, about 40 B each). */
  constructor(cells: number) {
    this.buf = new Uint8Array(Math.max(1 << 12, cells * 48 + 4096));
    this.view = new DataView(this.buf.buffer);
  }

  /** Start a new frame in the same buffer (grown to the size the constructor would give; never shrunk). */
  reset(cells: number): this {
    const size = Math.max(1 << 12, cells * 48 + 4096);
    if (this.buf.length < size) {
      this.buf = new Uint8Array(size);
      this.view = new DataView(this.buf.buffer);
    }
    this.p = FLAT_HEADER_SIZE;
    this.count = 0;
    this.runAt = -1;
    this.runCells = 0;
    return this;
  }

  ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.p + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.p));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /**
   * Room for the description (`len` bytes) of cell `ord` in the open cell_desc run, opening a
   * new run when none is open or the open one is full; returns where the description goes.
   */
  cell(ord: number, len: number): number {
    if (this.runAt >= 0 && (this.runCells === FLAT_RUN_MAX || this.p - this.runAt >= RUN_BYTES)) this.closeRun();
    if (this.runAt < 0) {
      this.ensure(5 + RUN_LEN_SLOT + 5 + 2);
      const b = this.buf;
      const p = this.p;
      b[p] = FLAT_T_CELL;
      b[p + 1] = 1;
      b[p + 2] = 0;
      b[p + 3] = 0;
      b[p + 4] = 5; // key length
      writeU32BE(b, p + 5 + RUN_LEN_SLOT, ord);
      b[p + 9 + RUN_LEN_SLOT] = FLAT_T_CELL;
      this.runAt = p;
      this.runCells = 0;
      this.p = p + 5 + RUN_LEN_SLOT + 5 + 2; // the u16 count is written at close
      this.count++;
    }
    this.ensure(len + 4);
    const at = this.p;
    this.p += len;
    this.runCells++;
    return at;
  }

  /** Close the open run: its count, its body length (moving the body when the slot was too wide or narrow), CRC room. */
  closeRun(): void {
    const at = this.runAt;
    if (at < 0) return;
    this.runAt = -1;
    const bodyAt = at + 5 + RUN_LEN_SLOT + 5;
    const bodyLen = this.p - bodyAt;
    this.buf[bodyAt] = this.runCells & 0xff;
    this.buf[bodyAt + 1] = this.runCells >>> 8;
    const shift = varintSize(bodyLen) - RUN_LEN_SLOT;
    if (shift !== 0) {
      this.ensure(shift + 4);
      this.buf.copyWithin(at + 5 + RUN_LEN_SLOT + shift, at + 5 + RUN_LEN_SLOT, this.p);
      this.p += shift;
    }
    writeVarint(this.buf, at + 5, bodyLen);
    this.p += 4; // CRC, written by the finisher
  }

  /** Record header and key `ord | type | suffix`; returns the body position. Room for body + CRC is reserved. Closes the open run. */
  open(type: number, flags: number, ord: number, suffixA: number, suffixB: number, suffixWords: number, bodyLen: number): number {
    this.closeRun();
    const klen = 5 + suffixWords * 4;
    this.ensure(6 + varintSize(bodyLen) + klen + bodyLen + 4);
    const b = this.buf;
    let p = this.p;
    b[p] = type;
    b[p + 1] = 1;
    b[p + 2] = flags & 0xff;
    b[p + 3] = flags >>> 8;
    b[p + 4] = klen;
    p = writeVarint(b, p + 5, bodyLen);
    writeU32BE(b, p, ord);
    b[p + 4] = type;
    if (suffixWords > 0) writeU32BE(b, p + 5, suffixA);
    if (suffixWords > 1) writeU32BE(b, p + 9, suffixB);
    this.p = p + klen + bodyLen + 4;
    this.count++;
    return p + klen;
  }

  /** A record whose body is a count and that many varint ordinals (order_delta, manifest_history). */
  ordinalList(type: number, ord: number, list: number[]): void {
    let len = varintSize(list.length);
    for (const x of list) len += varintSize(x);
    let q = this.open(type, 0, ord, 0, 0, 0, len);
    q = writeVarint(this.buf, q, list.length);
    for (const x of list) q = writeVarint(this.buf, q, x);
  }

  /** Key bytes of the record whose body starts at `bodyAt` (for AEAD associated data). */
  keyBefore(bodyAt: number, klen: number): Uint8Array {
    return this.buf.slice(bodyAt - klen, bodyAt);
  }
}

function checkOptions(cell: unknown, options: unknown): EncodeOptions {
  if (cell === null || typeof cell !== 'object' || !('flags' in cell) || !('up' in cell)) throw invalidArgType('cell', 'a kernel Cell', cell);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', "an object { mode: 'delta' | 'snapshot', ... }", options);
  const o = options as EncodeOptions;
  if (o.mode !== 'delta' && o.mode !== 'snapshot') throw invalidArgValue('options.mode', "it must be 'delta' or 'snapshot'");
  if (o.beat !== undefined && (typeof o.beat !== 'number' || !Number.isInteger(o.beat) || o.beat < 0 || o.beat > 0x7fffffff)) {
    throw outOfRange('options.beat', 'an integer from 0 to 2^31-1', o.beat);
  }
  if (o.chunkSize !== undefined && (typeof o.chunkSize !== 'number' || !Number.isInteger(o.chunkSize) || o.chunkSize < 1 || o.chunkSize > CHUNK_SIZE_MAX)) {
    throw outOfRange('options.chunkSize', `an integer from 1 to ${CHUNK_SIZE_MAX}`, o.chunkSize);
  }
  if (o.prevRoot !== undefined && (!(o.prevRoot instanceof Uint8Array) || o.prevRoot.length !== 32)) throw invalidArgValue('options.prevRoot', 'it must be a 32-byte Uint8Array');
  if (o.history !== undefined && (o.history === null || typeof o.history !== 'object')) throw invalidArgType('options.history', 'an object { payload?, manifest? }', o.history);
  for (const w of ['payload', 'manifest'] as const) {
    const v = o.history?.[w];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff)) throw outOfRange(`options.history.${w}`, 'an integer >= 0 (beats)', v);
  }
  return o;
}

/** The payload version current at the end of `beat` (beat -1: none). */
export function versionAt(rt: Tree, c: Cell, beat: number, out: Version): void {
  if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
  if (c.mod >= 0 && c.mod <= beat) {
    out.beat = c.mod;
    out.meta = c.flags;
    out.pv = c.pv;
    return;
  }
  const h = rt.history;
  for (let e = c.hist; e >= 0; e = h.prev[e]) {
    if (h.beat[e] <= beat) {
      out.beat = h.beat[e];
      out.meta = h.meta[e];
      out.pv = h.pv[e];
      return;
    }
  }
  out.beat = -1;
  out.meta = 0;
  out.pv = 0;
}

/**
 * Past versions (older than `current`) that were current at some beat above `floor`, oldest
 * first: those stamped above `floor`, and the one that was current at `floor + 1` (stamped at or
 * before `floor`), so as-of reads anywhere in the window are exact after a load.
 */
function pastVersions(rt: Tree, c: Cell, beat: number, floor: number): Version[] {
  if ((c.flags & COLD_PAYLOAD) !== 0) warm(c, 'payload');
  const all: Version[] = [];
  if (c.mod >= 0 && c.mod <= beat) all.push({ beat: c.mod, meta: c.flags, pv: c.pv });
  const h = rt.history;
  for (let e = c.hist; e >= 0; e = h.prev[e]) if (h.beat[e] <= beat) all.push({ beat: h.beat[e], meta: h.meta[e], pv: h.pv[e] });
  const out: Version[] = [];
  for (let i = all.length - 1; i >= 1; i--) if (all[i].beat > floor || all[i - 1].beat > floor) out.push(all[i]);
  return out;
}

export function kindOfMeta(meta: number): number {
  return (meta & PK_MASK) >>> PK_SHIFT;
}

/** Names of a cell's absolute path, root first (the root itself has none). */
export function pathOf(c: Cell): Cell[] {
  const out: Cell[] = [];
  for (let x: Cell = c; x.up !== null; x = x.up.owner) out.push(x);
  return out.reverse();
}

function versionBytes(rt: Tree, v: Version): Uint8Array {
  const kind = kindOfMeta(v.meta);
  if (kind === KIND_VALUE) return rt.arena.view(v.pv as number, (v.meta & LEN_MASK) >>> LEN_SHIFT);
  if (kind === KIND_DATA) return v.pv as Uint8Array;
  return new Uint8Array(0);
}

/**
 * Encode a branch as one frame. `cell` is the branch root (a kernel cell); see EncodeOptions.
 * Returns the frame bytes (a deflate container when `deflate`).
 */
export function encodeBranch(cell: Cell, options: EncodeOptions): Uint8Array {
  const o = checkOptions(cell, options);
  const rt = cell.runtime;
  if ((cell.flags & DETACHED) !== 0) throw invalidState(cell.path, 'a finalized cell cannot be framed');
  const beat = o.beat === undefined ? rt.beat : rt.asOf(o.beat); // a past beat whose history was dropped cannot be framed
  const mode = o.mode === 'delta' ? MODE_DELTA : MODE_SNAPSHOT;
  const mWindow = mode === MODE_SNAPSHOT ? (o.history?.manifest ?? 0) : 0;
  // the fused single pass covers most branches; it gives up (null) on what needs the general path
  const fused = writerPaths.fused ? encodeFused(rt, cell, beat, mode, o) : null;
  const frame = fused ?? writeFrame(rt, walkBranch(rt, cell, beat, mode, mWindow), beat, mode, o, false).frame;
  return o.deflate === true ? deflateFrame(frame) : frame;
}

/** The cells a frame holds, in pre-order: each one's parent (frame ordinal) and walk mark. */
export interface Walk {
  cells: Cell[];
  parents: ArrayLike<number>;
  marks: ArrayLike<number>;
}

/** Delta mark of a cell at `beat` (below a parent marked `parentMark`); 0: not in the frame. */
export function deltaMark(rt: Tree, c: Cell, beat: number, parentMark: number, cur: Version): number {
  if ((c.flags & VEILED) !== 0 || c.created > beat) return 0;
  if (c.deleted >= 0 && c.deleted < beat) return 0;
  if (parentMark === M_NEW || c.created === beat) return M_NEW;
  if (c.deleted === beat) return M_DESC;
  if (c.mod === beat) return M_DESC;
  if (c.mod > beat) {
    versionAt(rt, c, beat, cur);
    if (cur.beat === beat) return M_DESC;
  }
  return M_ANCHOR;
}

/** Snapshot mark of a cell at `beat` (below a parent marked `parentMark`); 0: not in the frame. */
function snapshotMark(c: Cell, beat: number, parentMark: number, mWindow: number): number {
  if ((c.flags & VEILED) !== 0 || c.created > beat) return 0;
  if (c.deleted < 0 || c.deleted > beat) return parentMark === M_PAST ? M_PAST : M_DESC;
  return c.deleted > beat - mWindow ? M_PAST : 0;
}

/** Walk a branch in pre-order and keep what the frame needs (changed cells and their ancestors, or everything). */
function walkBranch(rt: Tree, cell: Cell, beat: number, mode: number, mWindow: number): Walk {
  const rootThere = cell.up === null || ((cell.flags & VEILED) === 0 && cell.created <= beat && (cell.deleted < 0 || cell.deleted > beat || (mode === MODE_DELTA && cell.deleted === beat)));
  if (!rootThere) throw invalidState(cell.path, `the branch root is not there at beat ${beat}`);
  const w = new BranchWalk(rt, beat, mode, mWindow);
  w.collect(cell);
  return w.pruned();
}

/** walkBranch's columns: the cells kept in pre-order, each one's parent (frame ordinal) and mark. */
class BranchWalk {
  readonly cells: Cell[] = [];
  private parents = new Int32Array(1024);
  private marks = new Uint8Array(1024);
  private n = 0;
  /** Anchors below the root: only anchors without a described descendant are dropped. */
  private anchors = 0;
  private readonly cur: Version = { beat: -1, meta: 0, pv: 0 };

  constructor(
    private readonly rt: Tree,
    private readonly beat: number,
    private readonly mode: number,
    private readonly mWindow: number,
  ) {}

  private markOf(c: Cell, parentMark: number): number {
    return this.mode === MODE_DELTA ? deltaMark(this.rt, c, this.beat, parentMark, this.cur) : snapshotMark(c, this.beat, parentMark, this.mWindow);
  }

  /** Room in the columns for `extra` more cells (once per child list, not per cell). */
  private reserve(extra: number): void {
    if (this.n + extra <= this.parents.length) return;
    let size = this.parents.length * 2;
    while (size < this.n + extra) size *= 2;
    const p2 = new Int32Array(size);
    p2.set(this.parents);
    this.parents = p2;
    const m2 = new Uint8Array(size);
    m2.set(this.marks);
    this.marks = m2;
  }

  private keepCell(c: Cell, parent: number, m: number): number {
    if ((c.flags & TYPE_MASK) > TYPE_LINK) throw frameError('ERR_FRAME_UNSUPPORTED', `${c.path} is a HANDLE/STREAM proxy; proxies cannot be framed`);
    this.cells.push(c);
    this.parents[this.n] = parent;
    this.marks[this.n] = m;
    if (m === M_ANCHOR && parent >= 0) this.anchors++;
    return this.n++;
  }

  /** Keep the cells of the branch below `root` (and itself) that the frame may hold, in pre-order: a stack of child lists (one array per store) and where each list is at. */
  collect(root: Cell): void {
    const lists: Cell[][] = [];
    const at: number[] = [];
    const owners: number[] = [];
    const rootMark = this.markOf(root, 0);
    const r = this.keepCell(root, -1, rootMark === 0 ? M_ANCHOR : rootMark);
    if ((root.flags & COLD_STORE) !== 0) warm(root, 'children');
    if (root.store !== null) {
      lists.push(root.store.toArray());
      at.push(0);
      owners.push(r);
    }
    while (lists.length > 0) {
      const top = lists.length - 1;
      const kids = lists[top];
      const owner = owners[top];
      const pm = this.marks[owner];
      let k = at[top];
      this.reserve(kids.length - k);
      for (; k < kids.length; k++) {
        const c = kids[k];
        const m = this.markOf(c, pm);
        if (m === 0) continue;
        this.keepCell(c, owner, m);
        if ((c.flags & COLD_STORE) !== 0) warm(c, 'children');
        if (c.store !== null) break; // descend: its children come next
      }
      if (k >= kids.length) {
        lists.pop();
        at.pop();
        owners.pop();
        continue;
      }
      at[top] = k + 1;
      lists.push(kids[k].store!.toArray());
      at.push(0);
      owners.push(this.n - 1);
    }
  }

  /** The walk without the anchors that lead to no described cell (the root stays), renumbered. */
  pruned(): Walk {
    const { cells, parents, marks, n: n0 } = this;
    if (this.anchors === 0) return { cells, parents, marks };
    const keep = new Uint8Array(n0);
    for (let i = n0 - 1; i >= 0; i--) {
      if (marks[i] !== M_ANCHOR || keep[i] === 1 || i === 0) keep[i] = 1;
      if (keep[i] === 1 && parents[i] >= 0) keep[parents[i]] = 1;
    }
    const ord = new Int32Array(n0).fill(-1);
    let n = 0;
    for (let i = 0; i < n0; i++) {
      if (keep[i] === 0) continue;
      cells[n] = cells[i];
      parents[n] = parents[i] < 0 ? -1 : ord[parents[i]];
      marks[n] = marks[i];
      ord[i] = n++;
    }
    cells.length = n;
    return { cells, parents: parents.subarray(0, n), marks: marks.subarray(0, n) };
  }
}

/** The finisher's parameters (filled for each frame: the call is synchronous). */
const FINISH = new Float64Array(FINISH_PARAMS);

/**
 * Write the records of a walked frame and finish it (one binding call). `lenient` (beat
 * digests): proxies are described without their resource and function-ordered stores by their
 * codes, instead of refusing the frame. Returns the raw frame and where its trailer starts.
 */
export function writeFrame(rt: Tree, walk: Walk, beat: number, mode: number, o: EncodeOptions, lenient: boolean, reuse: Staging | null = null): { frame: Uint8Array; trailerAt: number } {
  const cipher = o.aead === undefined ? null : new ChunkCipher(o.aead);
  const st = reuse === null ? new Staging(walk.cells.length) : reuse.reset(walk.cells.length);
  const w = new FrameWriter(rt, walk, beat, mode, o, lenient, st, cipher);
  w.writeRecords();
  const cell = walk.cells[0];
  const caps = w.caps | writeNamepool(st, rt, w.refs, cell);
  const aead = w.cipher !== null && (caps & FLAT_CAP_AEAD) !== 0 ? w.cipher.selector : 0;
  return finishFrame(st, cell, beat, mode, caps, o, aead, w.pWindow, w.mWindow);
}

const NO_PATH: Cell[] = [];

/**
 * writeFrame's general path: the records of every walked cell, in frame order. The fields
 * `d*` hold the description of the cell being written (planned by planPayload, sized by
 * descriptionSize, written by writeDescriptionBytes): one set per writer, none per cell.
 */
class FrameWriter {
  caps = FLAT_CAP_TOC;
  /** The reference names the frame uses (its namepool). */
  readonly refs: NameRefs = new Map();
  readonly pWindow: number;
  readonly mWindow: number;
  private readonly cells: Cell[];
  private readonly parents: ArrayLike<number>;
  private readonly marks: ArrayLike<number>;
  private readonly chunkSize: number;
  private readonly cur: Version = { beat: -1, meta: 0, pv: 0 };
  /** Domain ids by the kernel's domain index. */
  private readonly domains: { hi: number; lo: number }[] = [];
  private readonly fpScratch = new Uint8Array(32);
  private readonly nonceScratch = new Uint8Array(24);
  /** The branch root's absolute path. */
  private readonly rootPath: Cell[];
  /** Frame ordinal of each cell, built when the first link is described. */
  private ordOfCell: Map<Cell, number> | undefined = undefined;
  /** Children lists (frame ordinals), built on first need: only insertion-ordered stores and manifest history windows look at them. */
  private kidLists: number[][] | null = null;
  // the description being written
  private dFlags = 0;
  private dWithPayload = false;
  private dKind = KIND_NONE;
  /** A plain VALUE's length (copied straight from the arena), or -1. */
  private dInlineLen = -1;
  /** A payload that travels in chunks, or null. */
  private dPayload: Uint8Array | null = null;
  private dTarget: Cell | null = null;
  private dTargetOrd = -1;
  private dTargetPath: Cell[] = NO_PATH;
  private dDeleted = -1;
  private dDup = 0;
  private dParentRef = 0;

  constructor(
    private readonly rt: Tree,
    walk: Walk,
    private readonly beat: number,
    private readonly mode: number,
    o: EncodeOptions,
    private readonly lenient: boolean,
    private readonly st: Staging,
    readonly cipher: ChunkCipher | null,
  ) {
    this.cells = walk.cells;
    this.parents = walk.parents;
    this.marks = walk.marks;
    this.chunkSize = o.chunkSize ?? CHUNK_SIZE_DEFAULT;
    this.pWindow = o.history?.payload ?? 0;
    this.mWindow = mode === MODE_SNAPSHOT ? (o.history?.manifest ?? 0) : 0;
    this.rootPath = pathOf(this.cells[0]);
    for (const x of this.rootPath) this.noteCellName(x);
  }

  /** Every record but the namepool's: per cell its description (and chunks), store, order, histories. */
  writeRecords(): void {
    const { cells, marks, parents } = this;
    const leaf = new DescWriter(this.st, this.rt, this.beat, this.mode, this.refs);
    const leavesFast = this.cipher === null && this.pWindow === 0 && writerPaths.leafFastPath;
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i];
      const m = marks[i];
      // the common case (a described leaf with an inline VALUE, 'none' or no payload) takes the fast path
      if (leavesFast && i > 0 && c.store === null && m !== M_ANCHOR && leaf.write(i, c, parents[i] + 1, m)) continue;
      this.writeDescription(i, c, m);
      this.writeManifest(i, c, m);
      this.writeOrder(i, c);
      if (m !== M_ANCHOR && this.pWindow > 0) this.writePayloadHistory(i, c);
      if (this.mWindow > 0) this.writeManifestHistory(i);
    }
  }

  /** cell_desc (docs/FORMAT.md §4.1) of cell `i`, then the chunks of a payload too large or sealed to travel inline. */
  private writeDescription(i: number, c: Cell, m: number): void {
    this.planPayload(c, m);
    this.dDeleted = c.deleted >= 0 && c.deleted <= this.beat ? c.deleted : -1; // as of the beat
    this.dDup = i === 0 || m === M_NEW ? 0 : sameNameIndex(c, this.beat, this.mode);
    this.dParentRef = i === 0 ? 0 : this.parents[i] + 1;
    const at = this.st.cell(i, this.descriptionSize(i, c));
    this.writeDescriptionBytes(at, i, c);
    if (this.dPayload !== null) this.writeChunks(FLAT_T_CHUNK, i, 0, this.dKind, this.dPayload);
  }

  /** The flags and what the description says of the payload as of the beat (a delta carries it only when it changed, or the cell is new). */
  private planPayload(c: Cell, m: number): void {
    const anchor = m === M_ANCHOR;
    const cur = this.cur;
    let flags = anchor ? DESC_ANCHOR : 0;
    if (!anchor && (c.flags & IMMUTABLE) !== 0) flags |= DESC_IMMUTABLE;
    versionAt(this.rt, c, this.beat, cur);
    const proxy = (c.flags & TYPE_MASK) > TYPE_LINK; // only in lenient frames
    const withPayload = !anchor && !proxy && (this.mode === MODE_SNAPSHOT || m === M_NEW || cur.beat === this.beat);
    if (withPayload) flags |= DESC_PAYLOAD;
    const kind = withPayload ? kindOfMeta(cur.meta) : KIND_NONE;
    this.dFlags = flags;
    this.dWithPayload = withPayload;
    this.dKind = kind;
    this.dInlineLen = -1;
    this.dPayload = null;
    this.dTarget = null;
    this.dTargetOrd = -1;
    this.dTargetPath = NO_PATH;
    if (withPayload && kind === KIND_VALUE && this.cipher === null) {
      this.dInlineLen = (cur.meta & LEN_MASK) >>> LEN_SHIFT;
    } else if (withPayload && (kind === KIND_VALUE || kind === KIND_DATA)) {
      this.dPayload = versionBytes(this.rt, cur);
    } else if (withPayload && kind === KIND_LINK) {
      this.planLinkTarget(cur.pv as Cell);
    }
  }

  /** A link's target: its frame ordinal, or (outside the frame) its absolute path, whose names the namepool must teach. */
  private planLinkTarget(target: Cell): void {
    this.dTarget = target;
    this.ordOfCell ??= new Map(this.cells.map((x, j) => [x, j]));
    this.dTargetOrd = this.ordOfCell.get(target) ?? -1;
    if (this.dTargetOrd < 0) {
      this.dTargetPath = pathOf(target);
      for (const x of this.dTargetPath) this.noteCellName(x);
    }
  }

  /** Bytes of the planned description (small values inline: the varint helpers cost a call each). */
  private descriptionSize(i: number, c: Cell): number {
    const parentRef = this.dParentRef;
    const dup = this.dDup;
    let size = 1 + (parentRef < 128 ? 1 : varintSize(parentRef));
    if (i === 0) size += varintSize(this.rootPath.length) + this.rootPath.length * NAME_BYTES;
    else size += NAME_BYTES + (dup < 128 ? 1 : varintSize(dup));
    if ((this.dFlags & DESC_ANCHOR) !== 0) return size;
    const deleted = this.dDeleted;
    size += 2 + (c.created < 128 ? 1 : varintSize(c.created)) + (deleted < 127 ? 1 : varintSize(deleted + 1));
    if (!this.dWithPayload) return size;
    const cur = this.cur;
    const inlineLen = this.dInlineLen;
    size += 1 + (cur.beat < 127 ? 1 : varintSize(cur.beat + 1));
    if (inlineLen >= 0) size += (inlineLen < 128 ? 1 : varintSize(inlineLen)) + 1 + inlineLen;
    else if (this.dPayload !== null) size += varintSize(this.dPayload.length) + 1;
    else if (this.dTarget !== null) {
      const path = this.dTargetPath;
      size += 1 + (this.dTargetOrd >= 0 ? varintSize(this.dTargetOrd) : varintSize(path.length) + path.length * NAME_BYTES);
      for (const x of path) size += varintSize(sameNameIndex(x, this.beat, this.mode));
    }
    return size;
  }

  /** The planned description at `at`: flags, parent, name (the root: its path) and same-name index, then the cell's state. */
  private writeDescriptionBytes(at: number, i: number, c: Cell): void {
    const b = this.st.buf;
    const parentRef = this.dParentRef;
    const dup = this.dDup;
    b[at] = this.dFlags;
    let p = at + 1;
    if (parentRef < 128) b[p++] = parentRef;
    else p = writeVarint(b, p, parentRef);
    if (i === 0) {
      p = writeVarint(b, p, this.rootPath.length);
      for (const x of this.rootPath) p = this.writeName(b, p, x);
    } else {
      this.noteCellName(c);
      p = this.writeName(b, p, c);
      if (dup < 128) b[p++] = dup;
      else p = writeVarint(b, p, dup);
    }
    if ((this.dFlags & DESC_ANCHOR) === 0) this.writeStateBytes(b, p, c);
  }

  /** A described cell's type, stamps and payload field. */
  private writeStateBytes(b: Uint8Array, p: number, c: Cell): void {
    const deleted = this.dDeleted;
    b[p++] = (c.flags & TYPE_MASK) === TYPE_LINK ? CELL_LINK : CELL_NORMAL; // a proxy (lenient frames only) travels as a normal cell
    b[p++] = 0; // reserved
    if (c.created < 128) b[p++] = c.created;
    else p = writeVarint(b, p, c.created);
    if (deleted < 127) b[p++] = deleted + 1;
    else p = writeVarint(b, p, deleted + 1);
    if (!this.dWithPayload) return;
    const cur = this.cur;
    const inlineLen = this.dInlineLen;
    b[p++] = this.dKind;
    if (cur.beat < 127) b[p++] = cur.beat + 1;
    else p = writeVarint(b, p, cur.beat + 1);
    if (inlineLen >= 0) {
      if (inlineLen < 128) b[p++] = inlineLen;
      else p = writeVarint(b, p, inlineLen);
      b[p++] = PLACE_INLINE;
      const off = cur.pv as number;
      const chunk = this.rt.arena.chunks[Math.floor(off / ARENA_CHUNK)];
      for (let k = 0, q = off % ARENA_CHUNK; k < inlineLen; k++) b[p + k] = chunk[q + k];
    } else if (this.dPayload !== null) {
      p = writeVarint(b, p, this.dPayload.length);
      b[p++] = PLACE_CHUNKS;
    } else if (this.dTarget !== null) {
      b[p++] = this.dTargetOrd >= 0 ? TARGET_ORDINAL : TARGET_PATH;
      if (this.dTargetOrd >= 0) p = writeVarint(b, p, this.dTargetOrd);
      else {
        p = writeVarint(b, p, this.dTargetPath.length);
        for (const x of this.dTargetPath) p = writeVarint(b, this.writeName(b, p, x), sameNameIndex(x, this.beat, this.mode));
      }
    }
  }

  /** manifest_delta: the child store, when it is new, changed in a delta's beat, or in a snapshot. */
  private writeManifest(i: number, c: Cell, m: number): void {
    const store = c.store;
    if (m === M_ANCHOR || store === null || !(this.mode === MODE_SNAPSHOT || m === M_NEW || store.modified === this.beat)) return;
    if (!this.lenient && (store.indexing === 'comparator' || store.indexing === 'function')) {
      throw frameError('ERR_FRAME_UNSUPPORTED', `${c.path} orders its children with a JavaScript function (${store.indexing}); such stores cannot be framed`);
    }
    const st = this.st;
    const mAt = st.open(FLAT_T_MANIFEST, 0, i, 0, 0, 0, 2 + varintSize(store.autoNext));
    st.buf[mAt] = STORE_CODES.indexOf(store.kind);
    st.buf[mAt + 1] = INDEXING_CODES.indexOf(store.indexing);
    writeVarint(st.buf, mAt + 2, store.autoNext);
    this.caps |= FLAT_CAP_MANIFEST;
  }

  /** order_delta: children placed before older siblings in an insertion-ordered store. */
  private writeOrder(i: number, c: Cell): void {
    const store = c.store;
    if (store === null || store.indexing !== 'insertion' || (this.mode === MODE_DELTA && !mayHaveFront(store, this.beat)) || this.kidsOf(i).length === 0) return;
    const front = frontChildren(this.cells, this.kidsOf(i), this.mode, this.beat, store.toArray());
    if (front.length > 0) {
      this.st.ordinalList(FLAT_T_ORDER, i, front);
      this.caps |= FLAT_CAP_ORDER;
    }
  }

  /** payload_history: past versions inside the window. */
  private writePayloadHistory(i: number, c: Cell): void {
    for (const v of pastVersions(this.rt, c, this.beat, this.beat - this.pWindow)) {
      const k = kindOfMeta(v.meta);
      if (k !== KIND_NONE && k !== KIND_VALUE && k !== KIND_DATA) continue; // link retargets are not framed
      this.writeChunks(FLAT_T_HISTORY, i, v.beat, k, versionBytes(this.rt, v));
    }
  }

  /** manifest_history: the children deleted inside the window (a snapshot's past child set). */
  private writeManifestHistory(i: number): void {
    const kids = this.kidsOf(i);
    if (kids.length === 0) return;
    const marks = this.marks;
    const past = kids.filter((j) => marks[j] === M_PAST);
    if (past.length > 0) {
      this.st.ordinalList(FLAT_T_MANIFEST_HISTORY, i, past);
      this.caps |= FLAT_CAP_MANIFEST_HISTORY;
    }
  }

  /** Chunk records (payload_chunk or payload_history) of one payload. */
  private writeChunks(type: number, o32: number, suffix: number, kind: number, bytes: Uint8Array): void {
    const { st, cipher, fpScratch } = this;
    const total = bytes.length;
    if (cipher !== null) cipher.fingerprint(bytes, fpScratch, 0);
    else binding.blake3(bytes, null, 0, fpScratch, 0);
    const words = type === FLAT_T_CHUNK ? 1 : 2;
    const flags = cipher !== null ? RECORD_SEALED : 0;
    let ordinal = 0;
    for (let off = 0; off < total || (total === 0 && ordinal === 0); ordinal++) {
      const size = Math.min(this.chunkSize, total - off);
      const head = 1 + varintSize(total) + varintSize(off) + 32;
      const bodyLen = head + (cipher !== null ? cipher.nonceBytes + size + AEAD_TAG_BYTES : size);
      const at = words === 1 ? st.open(type, flags, o32, ordinal, 0, 1, bodyLen) : st.open(type, flags, o32, suffix, ordinal, 2, bodyLen);
      const b = st.buf;
      b[at] = kind;
      let p = writeVarint(b, at + 1, total);
      p = writeVarint(b, p, off);
      b.set(fpScratch, p);
      p += 32;
      const plain = bytes.subarray(off, off + size);
      if (cipher !== null) this.sealChunk(cipher, at, words, p, size, plain);
      else b.set(plain, p);
      off += size;
    }
    this.caps |= type === FLAT_T_CHUNK ? FLAT_CAP_CHUNKS : FLAT_CAP_PAYLOAD_HISTORY;
    if (cipher !== null) this.caps |= FLAT_CAP_AEAD;
  }

  /** A sealed chunk's nonce (from its key and the payload's keyed fingerprint) and sealed bytes, at `p`. */
  private sealChunk(cipher: ChunkCipher, at: number, words: number, p: number, size: number, plain: Uint8Array): void {
    const b = this.st.buf;
    const nonce = this.nonceScratch;
    const key = this.st.keyBefore(at, 5 + words * 4);
    cipher.nonce(key, this.fpScratch, nonce, 0);
    b.set(nonce.subarray(0, cipher.nonceBytes), p);
    p += cipher.nonceBytes;
    cipher.seal(b.subarray(p, p + size + AEAD_TAG_BYTES), plain, key, nonce.subarray(0, cipher.nonceBytes));
  }

  /** Note a cell's name ids that are references (its tag, its domain outside CEP): the namepool must teach them. */
  private noteCellName(c: Cell): void {
    if (namingOf(c.hi) === NAMING_REFERENCE) noteRef(this.refs, c.hi, c.lo);
    if (c.dom !== DOM_CEP) {
      const d = this.domainOf(c.dom);
      noteRef(this.refs, d.hi, d.lo);
    }
  }

  private domainOf(dom: number): { hi: number; lo: number } {
    return (this.domains[dom] ??= domainId(dom));
  }

  /** A cell's name (domain id, tag id) at `p`; returns the position after it. */
  private writeName(b: Uint8Array, p: number, c: Cell): number {
    const d = this.domainOf(c.dom);
    writeId(b, p, d.hi, d.lo);
    writeId(b, p + 8, c.hi, c.lo);
    return p + NAME_BYTES;
  }

  /** Frame ordinals of the children of cell `i`. */
  private kidsOf(i: number): number[] {
    if (this.kidLists === null) {
      const lists: number[][] = [];
      for (let j = 1; j < this.cells.length; j++) (lists[this.parents[j]] ??= []).push(j);
      this.kidLists = lists;
    }
    return this.kidLists[i] ?? [];
  }
}

/** Reference names a frame uses: namepool key -> [hi, lo]. */
export type NameRefs = Map<number, [number, number]>;

/** Note a name's id when it is a reference (the frame's namepool must teach it). */
export function noteRef(refs: NameRefs, hi: number, lo: number): void {
  if (namingOf(hi) === NAMING_REFERENCE) refs.set((hi & HI_PAYLOAD_MASK) * HALF + lo, [hi, lo]);
}

/** namepool_delta records: every reference name the frame uses, by id. Returns the caps bit they need (0: none). */
export function writeNamepool(st: Staging, rt: Tree, refs: NameRefs, cell: Cell): number {
  const ids = [...refs.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const [hi, lo] = refs.get(id)!;
    const text = rt.namepool.text(hi, lo);
    if (text === undefined) throw invalidState(cell.path, `the namepool no longer holds reference #${id}`);
    const bytes = TEXT.encode(text);
    const low = (lo | ((hi & 7) << 29)) >>> 0;
    const at = st.open(FLAT_T_NAMEPOOL, 0, NAMEPOOL_ORDINAL, hi >>> 3, low, 2, 1 + varintSize(bytes.length) + bytes.length);
    st.buf[at] = rt.namepool.isPattern({ hi, lo }) ? 1 : 0;
    const p = writeVarint(st.buf, at + 1, bytes.length);
    st.buf.set(bytes, p);
  }
  return ids.length > 0 ? FLAT_CAP_NAMEPOOL : 0;
}

/**
 * Close the records in `st` and finish the frame (one binding call: header, CRCs, leaf hashes,
 * Merkle root, trailer). Returns the raw frame and where its trailer starts.
 */
export function finishFrame(
  st: Staging,
  cell: Cell,
  beat: number,
  mode: number,
  caps: number,
  o: EncodeOptions,
  aead: number,
  pWindow: number,
  mWindow: number,
): { frame: Uint8Array; trailerAt: number } {
  st.closeRun();
  if (o.deflate === true) caps |= FLAT_CAP_DEFLATE;
  const end = st.p;
  st.ensure(trailerBound(st.count) + 16);
  const params = FINISH.fill(0);
  params[FINISH_BEAT] = beat;
  params[FINISH_MODE] = mode;
  params[FINISH_CAPS] = caps;
  params[FINISH_AEAD] = aead;
  params[FINISH_COMPRESSION] = o.deflate === true ? COMPRESSION_DEFLATE : 0;
  params[FINISH_PHIST] = pWindow;
  params[FINISH_MHIST] = mWindow;
  const len = binding.flatFinish(st.buf, end, params, o.prevRoot ?? ZERO_ROOT);
  if (len < 0) throw invalidState(cell.path, `the frame could not be finished (status ${-len})`);
  return { frame: st.buf.subarray(0, len), trailerAt: end };
}

/**
 * Writer paths (tests turn the leaf fast path or the fused single pass of branch-writer.ts off
 * to check they write the general path's bytes; not part of the public API).
 */
export const writerPaths = { leafFastPath: true, fused: true };

/**
 * Which of its same-named siblings a cell is, among those a reader will see before applying
 * the frame (stores without unique names may hold several; store order decides).
 */
export function sameNameIndex(c: Cell, beat: number, mode: number): number {
  const store = c.up;
  if (store === null || store.unique) return 0;
  let k = 0;
  let found = -1;
  store.forEach((s) => {
    if (s === c) {
      found = k;
      return true;
    }
    if (s.dom !== c.dom || s.hi !== c.hi || s.lo !== c.lo || (s.flags & VEILED) !== 0) return false;
    const present = mode === MODE_DELTA ? s.created < beat && (s.deleted < 0 || s.deleted >= beat) : s.created <= beat && (s.deleted < 0 || s.deleted > beat);
    if (present) k++;
    return false;
  });
  return Math.max(found, 0);
}

/**
 * Frame ordinals of the children (`kids`, frame ordinals) of one record that must be placed first when the store is
 * rebuilt: in an insertion-ordered store each child went in either first or last, so a child
 * that comes before every older sibling (and after none) was prepended. Delta: older = already
 * stored before the beat; snapshot: created in an earlier beat (among the framed children).
 */
function frontChildren(cells: Cell[], kids: number[], mode: number, beat: number, stored: Cell[]): number[] {
  if (kids.length === 0) return [];
  const ordOf = new Map<Cell, number>();
  for (const j of kids) ordOf.set(cells[j], j);
  const list = mode === MODE_DELTA ? stored : stored.filter((c) => ordOf.has(c));
  const out: number[] = [];
  if (mode === MODE_DELTA) {
    let olderBefore = false;
    let olderAfter = 0;
    for (const c of list) if (c.created < beat) olderAfter++;
    for (const c of list) {
      if (c.created < beat) {
        olderBefore = true;
        olderAfter--;
        continue;
      }
      const j = ordOf.get(c);
      if (j !== undefined && !olderBefore && olderAfter > 0) out.push(j);
    }
    return out;
  }
  // snapshot: prefix and suffix minima of the creation beats
  const m = list.length;
  const suffixMin = new Array<number>(m + 1).fill(Infinity);
  for (let k = m - 1; k >= 0; k--) suffixMin[k] = Math.min(suffixMin[k + 1], list[k].created);
  let prefixMin = Infinity;
  for (let k = 0; k < m; k++) {
    const c = list[k];
    if (prefixMin >= c.created && suffixMin[k + 1] < c.created) out.push(ordOf.get(c)!);
    prefixMin = Math.min(prefixMin, c.created);
  }
  return out;
}

/**
 * Delta: whether a child of `store` can have been placed before every older sibling in `beat`:
 * only when the store's first entry is new and some entry is older (a store whose first entry
 * was already there, or whose entries are all new, has no order_delta record).
 */
function mayHaveFront(store: ChildStore, beat: number): boolean {
  let first = true;
  let older = false;
  store.forEach((c) => {
    if (c.created < beat) {
      older = true;
      return true; // the first older entry decides: first in the store (none placed before it) or not
    }
    first = false;
    return false;
  });
  return older && !first;
}
