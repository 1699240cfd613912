/**
 * cell_desc writer for the cells nearly every large frame is made of: cells whose payload,
 * when the frame carries it, is an inline VALUE or 'none' (or a link cell whose payload the
 * frame does not carry). It writes the bytes writeFrame's general path writes for such a cell
 * (docs/FORMAT.md §4.1), noting the reference names it uses in the frame's NameRefs, and
 * answers false, before writing anything, for any other cell.
 */
import type { Cell } from '../kernel/cell/cell.js';
import { COLD_PAYLOAD, IMMUTABLE, LEN_MASK, LEN_SHIFT, PK_MASK, PK_SHIFT, TYPE_LINK, TYPE_MASK } from '../kernel/cell/flags.js';
import { CHUNK_SIZE as ARENA_CHUNK } from '../kernel/arena.js';
import { DOM_CEP, domainId } from '../kernel/naming/name.js';
import { NAMING_REFERENCE, NAMING_SHIFT, namingOf } from '../kernel/naming/id.js';
import type { Tree } from '../kernel/tree.js';
import { CELL_LINK, CELL_NORMAL, DESC_ANCHOR, DESC_IMMUTABLE, DESC_PAYLOAD, KIND_NONE, KIND_VALUE, MODE_SNAPSHOT, NAME_BYTES, PLACE_INLINE, idLow, varintSize, writeVarint } from './format.js';
import { M_ANCHOR, M_NEW, noteRef, sameNameIndex, versionAt, type NameRefs, type Staging, type Version } from './writer.js';
import { internalError } from '../errors.js';

/*
 * The hot path's constants as literals: the compiler folds a literal into the code, while every
 * use of an imported binding is a load and a check (a measurable share of a large frame's
 * time). Each is checked against its source when the first writer is made (not at load: this
 * module and writer.ts import each other).
 */
const H_TYPE_MASK = 3;
const H_TYPE_LINK = 1;
const H_IMMUTABLE = 1 << 6;
const H_COLD_PAYLOAD = 1 << 12;
const H_PK_MASK = 7 << 2;
const H_PK_SHIFT = 2;
const H_LEN_MASK = 0xfff << 16;
const H_LEN_SHIFT = 16;
const H_NAMING_SHIFT = 27;
const H_NAMING_REFERENCE = 2;
const H_M_NEW = 4;
const H_MODE_SNAPSHOT = 1;
const H_KIND_NONE = 0;
const H_KIND_VALUE = 1;
const H_DESC_IMMUTABLE = 4;
const H_DESC_PAYLOAD = 8;
const H_NAME_BYTES = 16;
const H_CELL_NORMAL = 0;
const H_CELL_LINK = 1;
const H_PLACE_INLINE = 0;
const H_ARENA_SHIFT = 20;
const H_ARENA_CHUNK = 1 << 20;
/** Throws when a hot path's literal differs from the constant it stands for ([literal, source, name] triples). */
export function checkLiterals(module: string, list: readonly (readonly [number, number, string])[]): void {
  for (const [literal, source, name] of list) {
    if (literal !== source) throw internalError(`${module}: the literal for ${name} is ${literal}, the source says ${source}`);
  }
}

let literalsChecked = false;
const literals = (): [number, number, string][] => [
  [H_TYPE_MASK, TYPE_MASK, 'TYPE_MASK'],
  [H_TYPE_LINK, TYPE_LINK, 'TYPE_LINK'],
  [H_IMMUTABLE, IMMUTABLE, 'IMMUTABLE'],
  [H_COLD_PAYLOAD, COLD_PAYLOAD, 'COLD_PAYLOAD'],
  [H_PK_MASK, PK_MASK, 'PK_MASK'],
  [H_PK_SHIFT, PK_SHIFT, 'PK_SHIFT'],
  [H_LEN_MASK, LEN_MASK, 'LEN_MASK'],
  [H_LEN_SHIFT, LEN_SHIFT, 'LEN_SHIFT'],
  [H_NAMING_SHIFT, NAMING_SHIFT, 'NAMING_SHIFT'],
  [H_NAMING_REFERENCE, NAMING_REFERENCE, 'NAMING_REFERENCE'],
  [H_M_NEW, M_NEW, 'M_NEW'],
  [H_MODE_SNAPSHOT, MODE_SNAPSHOT, 'MODE_SNAPSHOT'],
  [H_KIND_NONE, KIND_NONE, 'KIND_NONE'],
  [H_KIND_VALUE, KIND_VALUE, 'KIND_VALUE'],
  [H_DESC_IMMUTABLE, DESC_IMMUTABLE, 'DESC_IMMUTABLE'],
  [H_DESC_PAYLOAD, DESC_PAYLOAD, 'DESC_PAYLOAD'],
  [H_NAME_BYTES, NAME_BYTES, 'NAME_BYTES'],
  [H_CELL_NORMAL, CELL_NORMAL, 'CELL_NORMAL'],
  [H_CELL_LINK, CELL_LINK, 'CELL_LINK'],
  [H_PLACE_INLINE, PLACE_INLINE, 'PLACE_INLINE'],
  [H_ARENA_CHUNK, ARENA_CHUNK, 'the arena chunk size'],
  [1 << H_ARENA_SHIFT, ARENA_CHUNK, 'the arena chunk shift'],
];

/**
 * The longest description `write` makes apart from its path and value bytes: flags, parent
 * reference (5), name (16), dup (5), type, reserved, created (5), deleted (5), kind, payload
 * beat (5), value length (2: at most 4095), place.
 */
const DESC_MAX = 1 + 5 + NAME_BYTES + 5 + 2 + 5 + 5 + 1 + 5 + 2 + 1;

export class DescWriter {
  private readonly cur: Version = { beat: -1, meta: 0, pv: 0 };
  /** Name bytes 0-7 (the domain id as two u32 LE words) by kernel domain index, computed once. */
  private readonly domLow: number[] = [];
  private readonly domHigh: number[] = [];
  private readonly chunks: Uint8Array[];
  /** DataViews of the arena chunks, made on first use. */
  private readonly chunkViews: DataView[] = [];

  constructor(
    private readonly st: Staging,
    private readonly rt: Tree,
    private readonly beat: number,
    private readonly mode: number,
    private readonly refs: NameRefs,
  ) {
    this.chunks = rt.arena.chunks;
    if (!literalsChecked) {
      checkLiterals('desc-writer', literals());
      literalsChecked = true;
    }
  }

  /**
   * The description of `c` (frame ordinal `ord`, walk mark `m`, parent reference `parentRef`;
   * the branch root: `path`, its absolute path); false: leave it to the general path. The hot
   * path of a large frame: one straight function over locals (no per-cell object or field).
   */
  write(ord: number, c: Cell, parentRef: number, m: number, path: Cell[] | null = null): boolean {
    const cf = c.flags;
    if ((cf & H_TYPE_MASK) > H_TYPE_LINK) return false;
    if (c.hi >>> H_NAMING_SHIFT === H_NAMING_REFERENCE) noteRef(this.refs, c.hi, c.lo);
    const dom = c.dom;
    const dHigh = this.domHigh[dom] ?? this.domain(dom);
    // the payload as of the beat (the current one unless a later beat changed it)
    const beat = this.beat;
    let vBeat = c.mod;
    let meta = cf;
    let pv = c.pv;
    if ((cf & H_COLD_PAYLOAD) !== 0 || vBeat < 0 || vBeat > beat) {
      const cur = this.cur;
      versionAt(this.rt, c, beat, cur);
      vBeat = cur.beat;
      meta = cur.meta;
      pv = cur.pv;
    }
    // a delta carries it when it changed in the beat or the cell is new
    const withPayload = this.mode === H_MODE_SNAPSHOT || m === H_M_NEW || vBeat === beat;
    const kind = withPayload ? (meta & H_PK_MASK) >>> H_PK_SHIFT : H_KIND_NONE;
    if (kind !== H_KIND_NONE && kind !== H_KIND_VALUE) return false;
    const len = kind === H_KIND_VALUE ? (meta & H_LEN_MASK) >>> H_LEN_SHIFT : -1;
    const dup = m === H_M_NEW || path !== null ? 0 : sameNameIndex(c, beat, this.mode);
    const created = c.created;
    const deleted = c.deleted >= 0 && c.deleted <= beat ? c.deleted + 1 : 0;
    // room for the longest such description; the run then ends where this one does
    const st = this.st;
    const at = st.cell(ord, (path === null ? DESC_MAX : DESC_MAX + path.length * H_NAME_BYTES) + Math.max(len, 0));
    const b = st.buf;
    const v = st.view;
    b[at] = ((cf & H_IMMUTABLE) !== 0 ? H_DESC_IMMUTABLE : 0) | (withPayload ? H_DESC_PAYLOAD : 0);
    // (one-byte varints written inline: this function is too large for the compiler to inline a helper)
    let p = at + 1;
    if (parentRef < 128) b[p++] = parentRef;
    else p = writeVarint(b, p, parentRef);
    if (path === null) {
      v.setUint32(p, this.domLow[dom], true);
      v.setUint32(p + 4, dHigh, true);
      v.setUint32(p + 8, (c.lo | ((c.hi & 7) << 29)) >>> 0, true); // idLow
      v.setUint32(p + 12, c.hi >>> 3, true);
      p += H_NAME_BYTES;
      if (dup < 128) b[p++] = dup;
      else p = writeVarint(b, p, dup);
    } else p = this.path(p, path);
    b[p] = (cf & H_TYPE_MASK) === H_TYPE_LINK ? H_CELL_LINK : H_CELL_NORMAL;
    b[p + 1] = 0; // reserved
    p += 2;
    if (created < 128) b[p++] = created;
    else p = writeVarint(b, p, created);
    if (deleted < 128) b[p++] = deleted;
    else p = writeVarint(b, p, deleted);
    if (withPayload) {
      b[p++] = kind;
      if (vBeat < 127) b[p++] = vBeat + 1;
      else p = writeVarint(b, p, vBeat + 1);
      if (len >= 0) {
        if (len < 128) b[p++] = len;
        else p = writeVarint(b, p, len);
        b[p++] = H_PLACE_INLINE;
        this.copyValue(b, v, p, pv as number, len);
        p += len;
      }
    }
    st.p = p;
    return true;
  }

  /** An anchor's description (identity only). */
  anchor(ord: number, c: Cell, parentRef: number): void {
    this.noteName(c);
    const dup = sameNameIndex(c, this.beat, this.mode);
    const at = this.st.cell(ord, 1 + varintSize(parentRef) + NAME_BYTES + varintSize(dup));
    const b = this.st.buf;
    b[at] = DESC_ANCHOR;
    const p = writeVarint(b, at + 1, parentRef);
    this.name(p, c);
    writeVarint(b, p + NAME_BYTES, dup);
  }

  /** The branch root's description (ordinal 0, its absolute path `path` instead of a name); false: leave it to the general path. */
  root(c: Cell, m: number, path: Cell[]): boolean {
    if ((c.flags & TYPE_MASK) > TYPE_LINK) return false;
    for (const x of path) this.noteName(x);
    const pathBytes = varintSize(path.length) + path.length * NAME_BYTES;
    const st = this.st;
    if (m === M_ANCHOR) {
      const at = st.cell(0, 2 + pathBytes);
      st.buf[at] = DESC_ANCHOR;
      st.buf[at + 1] = 0; // parent reference: none
      this.path(at + 2, path);
      return true;
    }
    return this.write(0, c, 0, m, path);
  }

  /** A path's bytes (count, names); returns where they end. */
  private path(p: number, path: Cell[]): number {
    p = writeVarint(this.st.buf, p, path.length);
    for (const x of path) {
      this.name(p, x);
      p += NAME_BYTES;
    }
    return p;
  }

  /** The high domain word of kernel domain `dom`, its low word cached beside it; the first use notes a reference domain. */
  private domain(dom: number): number {
    const d = domainId(dom);
    if (dom !== DOM_CEP) noteRef(this.refs, d.hi, d.lo);
    this.domLow[dom] = idLow(d.hi, d.lo);
    return (this.domHigh[dom] = d.hi >>> 3);
  }

  /** Note the references the name of `c` uses (its tag, its domain). */
  private noteName(c: Cell): void {
    if (namingOf(c.hi) === NAMING_REFERENCE) noteRef(this.refs, c.hi, c.lo);
    if (this.domHigh[c.dom] === undefined) this.domain(c.dom);
  }

  /** Name bytes (domain id, tag id: u64 LE each) of a cell whose name was noted. */
  private name(p: number, c: Cell): void {
    const v = this.st.view;
    v.setUint32(p, this.domLow[c.dom], true);
    v.setUint32(p + 4, this.domHigh[c.dom], true);
    v.setUint32(p + 8, idLow(c.hi, c.lo), true);
    v.setUint32(p + 12, c.hi >>> 3, true);
  }

  /** Copy an inline VALUE of `len` bytes at arena offset `off` to `p`, four bytes a step. */
  private copyValue(b: Uint8Array, to: DataView, p: number, off: number, len: number): void {
    const ci = off < 0x80000000 ? off >> H_ARENA_SHIFT : Math.floor(off / H_ARENA_CHUNK);
    const q = off - ci * H_ARENA_CHUNK;
    const from = this.chunkViews[ci] ?? this.chunkView(ci);
    let k = 0;
    for (; k + 4 <= len; k += 4) to.setUint32(p + k, from.getUint32(q + k));
    for (; k < len; k++) b[p + k] = from.getUint8(q + k);
  }

  private chunkView(ci: number): DataView {
    const chunk = this.chunks[ci];
    return (this.chunkViews[ci] = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
}
