/**
 * The frame reader: one binding call validates a whole frame (CRCs, key order, trailer and
 * table of contents, chunk trackers, Merkle root) and returns an index of record offsets;
 * this module then decodes the record bodies into plain objects (cells with their payloads,
 * stores, order, names, history). Bodies are decoded defensively as well: a frame can be
 * intact (its CRCs and root match) and still come from a hostile writer.
 */
import { frameError, invalidArgType, outOfRange, type FrameErrorCode } from '../errors.js';
import {
  FLAT_STATUS_CAPACITY,
  FLAT_STATUS_CAPS,
  FLAT_STATUS_CHUNK,
  FLAT_STATUS_CRC,
  FLAT_STATUS_FORMAT,
  FLAT_STATUS_MALFORMED,
  FLAT_STATUS_MERKLE,
  FLAT_STATUS_TRUNCATED,
  FLAT_STATUS_UNSUPPORTED,
} from '../native/binding.js';
import { binding } from '../native/index.js';
import { AEAD_TAG_BYTES, ChunkCipher, type AeadOptions } from './aead.js';
import { isContainer, inflateFrame } from './container.js';
import {
  AEAD_NONE,
  CELL_LINK,
  DESC_ANCHOR,
  DESC_IMMUTABLE,
  DESC_PAYLOAD,
  FLAT_CAP_DEFLATE,
  FLAT_HEADER_SIZE,
  FLAT_INDEX_STRIDE,
  FLAT_T_CELL,
  FLAT_T_CHUNK,
  FLAT_T_HISTORY,
  FLAT_T_MANIFEST,
  FLAT_T_MANIFEST_HISTORY,
  FLAT_T_NAMEPOOL,
  FLAT_T_ORDER,
  FLAT_T_TRAILER,
  INDEXING_CODES,
  KIND_DATA,
  KIND_LINK,
  KIND_NONE,
  KIND_VALUE,
  MAX_FRAME_BYTES_DEFAULT,
  MODE_DELTA,
  NAME_BYTES,
  PLACE_CHUNKS,
  PLACE_INLINE,
  RECORD_SEALED,
  STORE_CODES,
  TARGET_ORDINAL,
  TARGET_PATH,
  readU32BE,
} from './format.js';
import type { Indexing, StoreKind } from '../kernel/store/index.js';
import { CELL_ANCHOR, CELL_IMMUTABLE, CELL_LINK_TYPE, CellTable, PAY_ABSENT, PAY_HELD, PAY_NONE, nameAt } from './cells.js';
import { readLeaf, readerPaths } from './leaf-reader.js';

export interface ReadOptions {
  /** Key (and cipher) to open sealed payload chunks; without it their bytes stay undefined. */
  aead?: AeadOptions;
  /** Largest frame accepted, in bytes, after inflating (default 256 MiB). */
  maxFrameBytes?: number;
}

/** A name as it travels: domain and tag ids, each as two 29-bit halves. */
export interface FrameName {
  domHi: number;
  domLo: number;
  hi: number;
  lo: number;
}

export interface FramePayload {
  kind: 'none' | 'value' | 'data' | 'link';
  /** Beat of this payload version. */
  beat: number;
  /** VALUE/DATA bytes (inline values are views into the frame bytes; undefined while sealed and no key was given). */
  bytes?: Uint8Array;
  /** A link's target: a cell of this frame (ordinal), or an absolute path (each segment with its same-name index). */
  target?: { ordinal: number } | { path: { name: FrameName; dup: number }[] };
}

export interface FrameCell {
  ordinal: number;
  /** Ordinal of the parent record (-1 for the branch root). */
  parent: number;
  /** The branch root's absolute path (ordinal 0 only). */
  path?: FrameName[];
  /** The cell's name (all but ordinal 0, whose name ends `path`). */
  name?: FrameName;
  /** Which same-named sibling (stores without unique names), counting those present before the frame. */
  dup?: number;
  /** Identity only: the cell locates changed descendants. */
  anchor: boolean;
  type: 'normal' | 'link';
  immutable: boolean;
  created: number;
  /** Beat of the soft delete, or -1. */
  deleted: number;
  /** Present when the frame carries the payload. */
  payload?: FramePayload;
  /** The child store, when described (manifest_delta). */
  store?: { kind: StoreKind; indexing: Indexing; autoNext: number };
  /** Children to place first (order_delta), as ordinals. */
  front?: number[];
  /** Children deleted inside the manifest history window (manifest_history), as ordinals. */
  past?: number[];
  /** Past payload versions inside the payload history window, oldest first. */
  history: FramePayload[];
}

/** One record of a frame: where it is; its key (hex) is computed when asked for. */
export class FrameRecordInfo {
  constructor(
    private readonly frame: Uint8Array,
    /** Record type name (cell_desc, payload_chunk, ..., trailer). */
    readonly type: string,
    /** Offset of the record in the (inflated) frame. */
    readonly offset: number,
    /** Record length including its CRC. */
    readonly length: number,
    private readonly keyOffset: number,
    private readonly keyLength: number,
    /** Whether its payload bytes are sealed (AEAD). */
    readonly sealed: boolean,
  ) {}

  /** The record key, hex. */
  get key(): string {
    return hex(this.frame.subarray(this.keyOffset, this.keyOffset + this.keyLength));
  }

  toJSON(): { type: string; offset: number; length: number; key: string; sealed: boolean } {
    return { type: this.type, offset: this.offset, length: this.length, key: this.key, sealed: this.sealed };
  }
}

export interface Frame {
  beat: number;
  mode: 'delta' | 'snapshot';
  /** The frame root (32 bytes). */
  root: Uint8Array;
  /** The previous frame's root for this branch (32 bytes; zeros at the chain's start). */
  prevRoot: Uint8Array;
  caps: number;
  compression: 'none' | 'deflate';
  aead: 'none' | 'chacha20-poly1305' | 'xchacha20-poly1305';
  history: { payload: number; manifest: number };
  /** Every record (the trailer last) in frame order. */
  records: FrameRecordInfo[];
  /** Cells in frame (pre-)order. */
  cells: FrameCell[];
  /** Reference names the frame teaches: id (payload number) -> text. */
  names: Map<number, { text: string; glob: boolean }>;
  /** Bytes of the raw (inflated) frame. */
  size: number;
}

const TYPE_NAMES: Record<number, string> = {
  [FLAT_T_CELL]: 'cell_desc',
  [FLAT_T_CHUNK]: 'payload_chunk',
  [FLAT_T_MANIFEST]: 'manifest_delta',
  [FLAT_T_ORDER]: 'order_delta',
  [FLAT_T_NAMEPOOL]: 'namepool_delta',
  [FLAT_T_HISTORY]: 'payload_history',
  [FLAT_T_MANIFEST_HISTORY]: 'manifest_history',
  [FLAT_T_TRAILER]: 'trailer',
};

const STATUS_CODES: Record<number, [FrameErrorCode, string]> = {
  [FLAT_STATUS_TRUNCATED]: ['ERR_FRAME_TRUNCATED', 'the frame ends before its trailer is complete'],
  [FLAT_STATUS_CRC]: ['ERR_FRAME_CRC', 'a CRC32C does not match'],
  [FLAT_STATUS_MERKLE]: ['ERR_FRAME_MERKLE', 'the Merkle root does not match the records'],
  [FLAT_STATUS_FORMAT]: ['ERR_FRAME_FORMAT', 'not a CEP frame (bad magic)'],
  [FLAT_STATUS_UNSUPPORTED]: ['ERR_FRAME_UNSUPPORTED', 'a version, selector, record type or capability this reader does not support'],
  [FLAT_STATUS_MALFORMED]: ['ERR_FRAME_MALFORMED', 'a record or the trailer is malformed'],
  [FLAT_STATUS_CHUNK]: ['ERR_FRAME_CHUNK', 'payload chunks are missing, duplicated, out of order, or do not add up'],
  [FLAT_STATUS_CAPACITY]: ['ERR_FRAME_TOO_LARGE', 'the frame is too large'],
  [FLAT_STATUS_CAPS]: ['ERR_FRAME_CAPS', 'a record needs a capability the frame does not announce'],
};

const KIND_NAMES: Record<number, FramePayload['kind']> = { [KIND_NONE]: 'none', [KIND_VALUE]: 'value', [KIND_DATA]: 'data', [KIND_LINK]: 'link' };

/** Bounded body cursor: every read is checked, a short or bad body is ERR_FRAME_MALFORMED. */
class Body {
  p: number;
  end: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
    end: number,
  ) {
    this.p = start;
    this.end = end;
  }
  /** Point at another body of the same frame (one cursor serves every record). */
  reset(start: number, end: number): void {
    this.p = start;
    this.end = end;
  }
  bad(what: string): never {
    throw frameError('ERR_FRAME_MALFORMED', what, this.p);
  }
  u8(): number {
    if (this.p >= this.end) this.bad('a record body ends early');
    return this.b[this.p++];
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const x = this.u8();
      v += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) {
        if ((x === 0 && i > 0) || v >= 2 ** 53) this.bad('a varint is not minimal or too large');
        return v;
      }
      mul *= 128;
    }
    return this.bad('a varint is too long');
  }
  bytes(n: number): Uint8Array {
    if (n > this.end - this.p) this.bad('a record body ends early');
    const out = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
  /** Skip a name, checking both ids fit 58 bits (u64 LE below 2^58: the top byte below 4); returns where it starts. */
  nameSkip(): number {
    const p = this.p;
    if (NAME_BYTES > this.end - p) this.bad('a record body ends early');
    if (this.b[p + 7] >= 4 || this.b[p + 15] >= 4) this.bad('a name id is wider than 58 bits');
    this.p = p + NAME_BYTES;
    return p;
  }
  name(): FrameName {
    return nameAt(this.b, this.nameSkip());
  }
  names(): FrameName[] {
    const n = this.varint();
    if (n * NAME_BYTES > this.end - this.p) this.bad('a path is longer than its record');
    const out: FrameName[] = [];
    for (let i = 0; i < n; i++) out.push(this.name());
    return out;
  }
  done(): void {
    if (this.p !== this.end) this.bad('a record body has trailing bytes');
  }
}

function checkReadOptions(options: unknown): ReadOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object { aead?, maxFrameBytes? }', options);
  const o = options as ReadOptions;
  if (o.maxFrameBytes !== undefined && (typeof o.maxFrameBytes !== 'number' || !Number.isInteger(o.maxFrameBytes) || o.maxFrameBytes < FLAT_HEADER_SIZE || o.maxFrameBytes > 0xffffffff)) {
    throw outOfRange('options.maxFrameBytes', `an integer from ${FLAT_HEADER_SIZE} to 2^32-1`, o.maxFrameBytes);
  }
  return o;
}

/**
 * Validate a frame (raw, or in the deflate container) with one binding call and return its
 * raw bytes and record index; throws the coded error of the first problem.
 */
export function validateFrame(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES_DEFAULT): { frame: Uint8Array; index: Uint32Array } {
  if (!(bytes instanceof Uint8Array)) throw invalidArgType('bytes', 'a Uint8Array', bytes);
  const contained = isContainer(bytes);
  if (!contained && bytes.length > maxFrameBytes) throw frameError('ERR_FRAME_TOO_LARGE', `the frame is ${bytes.length} bytes, more than the ${maxFrameBytes} allowed`);
  const frame = contained ? inflateFrame(bytes, maxFrameBytes) : bytes;
  const diag = new Float64Array(2);
  const index = binding.flatValidate(frame, diag);
  if (index === null) {
    const [code, reason] = STATUS_CODES[diag[0]] ?? ['ERR_FRAME_MALFORMED', 'invalid frame'];
    throw frameError(code, reason, diag[1]);
  }
  const deflated = (frame[8] & FLAT_CAP_DEFLATE) !== 0;
  if (deflated !== contained)
    throw frameError('ERR_FRAME_MALFORMED', deflated ? 'the frame says it is deflated but is not in a container' : 'a container holds a frame that does not announce deflate', 8);
  return { frame, index };
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/** The trailer's fields (docs/FORMAT.md): what the frame is, as the decoded Frame states it. */
interface Trailer {
  beat: number;
  mode: number;
  compression: number;
  aeadSel: number;
  caps: number;
  pWindow: number;
  mWindow: number;
  prevRoot: Uint8Array;
  root: Uint8Array;
}

/** Decode a validated frame's records (see readFrame). */
function decode(frame: Uint8Array, index: Uint32Array, cipher: ChunkCipher | null): Frame {
  const count = index.length / FLAT_INDEX_STRIDE - 1;
  const trailer = readTrailer(frame, index, count);
  if (cipher !== null && trailer.aeadSel !== AEAD_NONE && cipher.selector !== trailer.aeadSel) {
    throw frameError('ERR_FRAME_AEAD', 'the frame is sealed with a different cipher than the one given');
  }
  const d = new RecordDecoder(frame, cipher, trailer.aeadSel, new CellTable(frame, describedCells(frame, index, count)));
  d.records(index, count);
  d.finishChunks();
  checkReferences(d.cells);
  return frameOf(frame, index, trailer, d.cells, d.names);
}

/** The trailer record (the index's last entry; validated by the binding). */
function readTrailer(frame: Uint8Array, index: Uint32Array, count: number): Trailer {
  const t = count * FLAT_INDEX_STRIDE;
  const tb = new Body(frame, index[t + 3], index[t + 3] + index[t + 4]);
  const beat = tb.varint();
  tb.varint();
  const mode = tb.u8();
  tb.u8();
  tb.u8();
  const compression = tb.u8();
  const aeadSel = tb.u8();
  const caps = (tb.u8() | (tb.u8() << 8) | (tb.u8() << 16) | (tb.u8() << 24)) >>> 0;
  const pWindow = tb.varint();
  const mWindow = tb.varint();
  const prevRoot = tb.bytes(32).slice();
  const root = tb.bytes(32).slice();
  return { beat, mode, compression, aeadSel, caps, pWindow, mWindow, prevRoot, root };
}

/** How many cells the cell_desc runs describe (validated: each run holds 1 to 4096). */
function describedCells(frame: Uint8Array, index: Uint32Array, count: number): number {
  let described = 0;
  for (let r = 0; r < count * FLAT_INDEX_STRIDE; r += FLAT_INDEX_STRIDE) {
    if (frame[index[r]] === FLAT_T_CELL) described += frame[index[r + 3]] | (frame[index[r + 3] + 1] << 8);
  }
  return described;
}

/** Cross-record checks: link ordinals point at other cells, children lists at children of the listing cell. */
function checkReferences(cells: CellTable): void {
  for (const [o, p] of cells.held) {
    const t = p.target;
    if (t !== undefined && 'ordinal' in t && (t.ordinal >= cells.length || t.ordinal === o)) throw frameError('ERR_FRAME_MALFORMED', `link record ${o} targets a cell the frame does not hold`);
  }
  for (const lists of [cells.fronts, cells.pasts]) for (const [o, list] of lists) checkChildren(cells, o, list);
}

/** The decoded Frame: the trailer's fields, the cells (views built on first use) and names. */
function frameOf(frame: Uint8Array, index: Uint32Array, tr: Trailer, cells: CellTable, names: Map<number, { text: string; glob: boolean }>): Frame {
  let records: FrameRecordInfo[] | undefined;
  return {
    /** Built on first use: applying or materializing a frame never needs it. */
    get records(): FrameRecordInfo[] {
      records ??= recordList(frame, index);
      return records;
    },
    beat: tr.beat,
    mode: tr.mode === MODE_DELTA ? 'delta' : 'snapshot',
    root: tr.root,
    prevRoot: tr.prevRoot,
    caps: tr.caps,
    compression: tr.compression === 1 ? 'deflate' : 'none',
    aead: tr.aeadSel === 2 ? 'chacha20-poly1305' : tr.aeadSel === 3 ? 'xchacha20-poly1305' : 'none',
    history: { payload: tr.pWindow, manifest: tr.mWindow },
    /** Views over the decoded columns, built on first use. */
    get cells(): FrameCell[] {
      return cells.cells();
    },
    names,
    size: frame.length,
  };
}

/**
 * The record bodies of one frame, decoded in frame order into a CellTable and the namepool's
 * names. One body cursor serves every record; the `chunk*` fields hold the payload being
 * assembled from chunk records (a cell's payload, or a payload_history version).
 */
class RecordDecoder {
  readonly names = new Map<number, { text: string; glob: boolean }>();
  private readonly body: Body;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private chunkBuf: Uint8Array | null = null;
  private chunkFilled = 0;
  private chunkSealed = false;
  /** The payload's fingerprint (keyed when sealed), from its first chunk. */
  private chunkFp: Uint8Array | null = null;
  private chunkTarget: FramePayload | null = null;
  private chunkKind = 0;
  /** Whether its first chunk was read (a description announces the payload before its chunks). */
  private chunkSeen = false;

  constructor(
    private readonly frame: Uint8Array,
    private readonly cipher: ChunkCipher | null,
    private readonly aeadSel: number,
    readonly cells: CellTable,
  ) {
    this.body = new Body(frame, 0, 0);
  }

  /** Every record up to the trailer. */
  records(index: Uint32Array, count: number): void {
    const { frame, body, cells } = this;
    for (let i = 0; i <= count; i++) {
      const r = i * FLAT_INDEX_STRIDE;
      const start = index[r];
      const keyOff = index[r + 1];
      const klen = index[r + 2];
      const type = frame[start];
      if (type === FLAT_T_TRAILER) break;
      body.reset(index[r + 3], index[r + 3] + index[r + 4]);
      const ord = klen > 0 ? readU32BE(frame, keyOff) : 0;
      const last = cells.length - 1; // the cell the next records belong to (validated)
      if (type !== FLAT_T_CHUNK && type !== FLAT_T_HISTORY) this.finishChunks();
      switch (type) {
        case FLAT_T_CELL:
          this.cellRun();
          break;
        case FLAT_T_CHUNK:
        case FLAT_T_HISTORY:
          this.chunk(type, start, keyOff, klen, last);
          break;
        case FLAT_T_MANIFEST:
          this.manifest(last);
          break;
        case FLAT_T_ORDER:
        case FLAT_T_MANIFEST_HISTORY:
          this.childList(type, ord, last);
          break;
        case FLAT_T_NAMEPOOL:
          this.namepool(keyOff);
          break;
      }
    }
  }

  /** Close the payload being assembled: all its bytes there, a sealed one matching its keyed fingerprint. */
  finishChunks(): void {
    const target = this.chunkTarget;
    if (target === null) return;
    const buf = this.chunkBuf!;
    const cipher = this.cipher;
    if (!this.chunkSeen || this.chunkFilled !== buf.length) throw frameError('ERR_FRAME_MALFORMED', 'a payload announced in chunks is missing or incomplete');
    if (this.chunkSealed && cipher !== null) {
      const fp = new Uint8Array(32);
      cipher.fingerprint(buf, fp, 0);
      for (let i = 0; i < 32; i++) if (fp[i] !== this.chunkFp![i]) throw frameError('ERR_FRAME_AEAD', 'an opened payload does not match its keyed fingerprint');
    }
    if (!this.chunkSealed || cipher !== null) target.bytes = buf;
    this.chunkTarget = null;
    this.chunkBuf = null;
  }

  /** Start assembling `target` (`total` bytes of payload kind `kind`) from chunks. */
  private startPayload(target: FramePayload, total: number, kind: number, sealed: boolean, fp: Uint8Array | null, seen: boolean): void {
    this.chunkTarget = target;
    this.chunkBuf = new Uint8Array(total);
    this.chunkFilled = 0;
    this.chunkSealed = sealed;
    this.chunkFp = fp;
    this.chunkKind = kind;
    this.chunkSeen = seen;
  }

  /** A run of descriptions (docs/FORMAT.md §5.1): the next cells in frame order. */
  private cellRun(): void {
    const { body, cells } = this;
    const run = body.u8() | (body.u8() << 8);
    const fast = readerPaths.leafFastPath;
    for (let k = 0; k < run; k++) {
      if (k > 0) this.finishChunks(); // only a run's last cell may be followed by its chunks
      const ord = cells.length;
      if (fast && ord > 0) {
        const next = readLeaf(cells, this.frame, body.p, body.end, ord);
        if (next >= 0) {
          body.p = next;
          cells.length = ord + 1;
          continue;
        }
      }
      this.cellDesc(ord);
    }
    body.done();
  }

  /** One description in the general form (docs/FORMAT.md §4.1): flags, parent, name or root path, then the state. */
  private cellDesc(ord: number): void {
    const { body, cells } = this;
    const flags = body.u8();
    if ((flags & ~(DESC_ANCHOR | DESC_IMMUTABLE | DESC_PAYLOAD)) !== 0) body.bad('unknown cell_desc flags');
    const anchor = (flags & DESC_ANCHOR) !== 0;
    const parentRef = body.varint();
    let bits = (anchor ? CELL_ANCHOR : 0) | ((flags & DESC_IMMUTABLE) !== 0 ? CELL_IMMUTABLE : 0);
    if (ord === 0) {
      if (parentRef !== 0) body.bad('the branch root has no parent record');
      cells.rootPath = body.names();
      cells.parent[0] = -1;
      cells.nameAt[0] = -1;
    } else {
      if (parentRef < 1 || parentRef > ord) body.bad('a parent reference does not point at an earlier cell');
      cells.parent[ord] = parentRef - 1;
      cells.nameAt[ord] = body.nameSkip();
      cells.dup[ord] = body.varint();
    }
    cells.deleted[ord] = -1;
    cells.payAt[ord] = PAY_ABSENT;
    if (!anchor) bits |= this.cellState(ord, flags);
    else if ((flags & ~DESC_ANCHOR) !== 0) body.bad('an anchor carries no state');
    cells.flags[ord] = bits;
    cells.length = ord + 1;
  }

  /** A described cell's type, stamps and payload; returns its CELL_LINK_TYPE bit. */
  private cellState(ord: number, flags: number): number {
    const { body, cells } = this;
    const ct = body.u8();
    if (ct > CELL_LINK || body.u8() !== 0) body.bad('unknown cell type');
    cells.created[ord] = body.varint();
    cells.deleted[ord] = body.varint() - 1;
    if ((flags & DESC_PAYLOAD) !== 0) this.cellPayload(ord, ct);
    return ct === CELL_LINK ? CELL_LINK_TYPE : 0;
  }

  /** A description's payload: inline VALUE bytes (left in the frame), 'none', announced chunks, or a link target. */
  private cellPayload(ord: number, ct: number): void {
    const { body, cells } = this;
    const kind = body.u8();
    const pb = body.varint() - 1;
    const kindName = KIND_NAMES[kind] ?? body.bad('unknown payload kind');
    cells.payBeat[ord] = pb;
    const total = kind === KIND_VALUE || kind === KIND_DATA ? body.varint() : 0;
    const place = kind === KIND_VALUE || kind === KIND_DATA ? body.u8() : -1;
    if (place === PLACE_INLINE) {
      // the common small VALUE: its bytes stay in the frame until asked for
      if (kind !== KIND_VALUE) body.bad('only VALUE payloads travel inline');
      if (total > body.end - body.p) body.bad('a record body ends early');
      cells.payAt[ord] = body.p;
      cells.payLen[ord] = total;
      body.p += total;
      return;
    }
    if (kind === KIND_NONE) {
      cells.payAt[ord] = PAY_NONE;
      return;
    }
    const payload: FramePayload = { kind: kindName, beat: pb, bytes: undefined, target: undefined };
    if (place === PLACE_CHUNKS) {
      if (total > this.frame.length) body.bad('a payload larger than its frame');
      this.startPayload(payload, total, kind, false, null, false);
    } else if (place !== -1) body.bad('unknown payload placement');
    else payload.target = this.linkTarget(ct);
    cells.payAt[ord] = PAY_HELD;
    cells.held.set(ord, payload);
  }

  /** A link payload's target: a frame ordinal, or an absolute path with each segment's same-name index. */
  private linkTarget(ct: number): NonNullable<FramePayload['target']> {
    const body = this.body;
    if (ct !== CELL_LINK) body.bad('a link payload on a cell that is not a link');
    const form = body.u8();
    if (form === TARGET_ORDINAL) {
      const ordinal = body.varint();
      if (ordinal >= 0xffffffff) body.bad('a link target ordinal out of range');
      return { ordinal };
    }
    if (form !== TARGET_PATH) return body.bad('unknown link target form');
    const depth = body.varint();
    if (depth * (NAME_BYTES + 1) > body.end - body.p) body.bad('a path is longer than its record');
    const path: { name: FrameName; dup: number }[] = [];
    for (let k = 0; k < depth; k++) path.push({ name: body.name(), dup: body.varint() });
    return { path };
  }

  /** payload_chunk or payload_history: a chunk of the payload being assembled (a history version's first chunk starts it). */
  private chunk(type: number, start: number, keyOff: number, klen: number, last: number): void {
    const { body, frame } = this;
    const sealed = (frame[start + 2] & RECORD_SEALED) !== 0;
    const kind = body.u8();
    const total = body.varint();
    const off = body.varint();
    const fp = body.bytes(32);
    if (type === FLAT_T_HISTORY) {
      if (readU32BE(frame, keyOff + 9) === 0) this.startHistoryVersion(last, readU32BE(frame, keyOff + 5), kind, total, sealed, fp);
    } else if (readU32BE(frame, keyOff + 5) === 0) {
      if (this.chunkTarget === null || this.chunkTarget !== this.cells.held.get(last) || this.chunkBuf!.length !== total || this.chunkFilled !== 0)
        body.bad('a payload chunk does not belong to its cell description');
      this.chunkSealed = sealed;
      this.chunkFp = fp.slice();
      this.chunkSeen = true;
    }
    if (kind !== this.chunkKind) body.bad('a payload chunk of another kind than its payload');
    const buf = this.chunkBuf;
    if (this.chunkTarget === null || buf === null) return body.bad('a payload chunk without a payload to fill');
    if (sealed) this.openChunk(buf, off, fp, keyOff, klen, start);
    else {
      const data = body.bytes(body.end - body.p);
      buf.set(data, off);
      this.chunkFilled = off + data.length;
    }
  }

  /** The first chunk of a payload_history version (beat `hb`) of the last cell: the version, appended to its history. */
  private startHistoryVersion(last: number, hb: number, kind: number, total: number, sealed: boolean, fp: Uint8Array): void {
    const { body, cells } = this;
    this.finishChunks();
    if ((cells.flags[last] & CELL_ANCHOR) !== 0 || hb >= (cells.payAt[last] === PAY_ABSENT ? Infinity : cells.payBeat[last])) body.bad('a history version is not older than the current one');
    if (total > this.frame.length) body.bad('a payload larger than its frame');
    const versions = cells.histories.get(last);
    const prev = versions?.[versions.length - 1];
    if (prev !== undefined && prev.beat >= hb) body.bad('history versions out of order');
    const v: FramePayload = { kind: KIND_NAMES[kind] ?? body.bad('unknown history payload kind'), beat: hb, bytes: undefined, target: undefined };
    if (kind !== KIND_NONE && kind !== KIND_VALUE && kind !== KIND_DATA) body.bad('unknown history payload kind');
    if (versions === undefined) cells.histories.set(last, [v]);
    else versions.push(v);
    this.startPayload(v, total, kind, sealed, fp.slice(), true);
  }

  /**
   * A sealed chunk's bytes (nonce, ciphertext and tag): opened into `buf` at `off` when a key
   * was given, its nonce checked to be the one its record key and fingerprint give.
   */
  private openChunk(buf: Uint8Array, off: number, fp: Uint8Array, keyOff: number, klen: number, start: number): void {
    const { body, cipher } = this;
    const nonce = body.bytes(nonceBytesOf(this.aeadSel));
    const sealedBytes = body.bytes(body.end - body.p);
    const size = sealedBytes.length - AEAD_TAG_BYTES;
    if (cipher !== null) {
      const key = this.frame.subarray(keyOff, keyOff + klen);
      cipher.open(buf.subarray(off, off + size), sealedBytes, key, nonce, start);
      const want = new Uint8Array(24);
      cipher.nonce(key, fp, want, 0);
      for (let k = 0; k < nonce.length; k++) if (want[k] !== nonce[k]) throw frameError('ERR_FRAME_AEAD', 'a sealed chunk carries a nonce its key and fingerprint do not give', body.p);
    }
    this.chunkFilled = off + size;
  }

  /** manifest_delta: the last cell's child store. */
  private manifest(last: number): void {
    const { body, cells } = this;
    if ((cells.flags[last] & CELL_ANCHOR) !== 0) body.bad('an anchor has no store description');
    const kind = STORE_CODES[body.u8()] ?? body.bad('unknown store kind');
    const indexing = INDEXING_CODES[body.u8()] ?? body.bad('unknown indexing');
    cells.stores.set(last, { kind, indexing, autoNext: body.varint() });
    body.done();
  }

  /** order_delta or manifest_history: an ascending list of ordinals after the listing cell `ord`. */
  private childList(type: number, ord: number, last: number): void {
    const body = this.body;
    const n = body.varint();
    if (n > body.end - body.p) body.bad('a child list is longer than its record');
    const list: number[] = [];
    for (let k = 0; k < n; k++) {
      const j = body.varint();
      if (j <= ord || (list.length > 0 && j <= list[list.length - 1])) body.bad('a child list is not ascending after its parent');
      list.push(j);
    }
    body.done();
    (type === FLAT_T_ORDER ? this.cells.fronts : this.cells.pasts).set(last, list);
  }

  /** namepool_delta: the text of a reference name (or glob pattern) the frame uses. */
  private namepool(keyOff: number): void {
    const body = this.body;
    const flags = body.u8();
    if (flags > 1) body.bad('unknown namepool flags');
    const len = body.varint();
    let text: string;
    try {
      text = this.utf8.decode(body.bytes(len));
    } catch {
      return body.bad('a namepool text is not UTF-8');
    }
    body.done();
    const high = readU32BE(this.frame, keyOff + 5);
    const low = readU32BE(this.frame, keyOff + 9);
    if (high >>> 24 !== 2) body.bad('a namepool record for an id that is not a reference');
    this.names.set((high & 0xffffff) * 2 ** 32 + low, { text, glob: flags === 1 });
  }
}

/** A child list (order_delta, manifest_history) names children of its cell only. */
function checkChildren(cells: CellTable, o: number, list: number[]): void {
  for (const j of list) if (j >= cells.length || cells.parent[j] !== o) throw frameError('ERR_FRAME_MALFORMED', `cell record ${o} lists ${j}, which is not its child`);
}

/** Every record of a validated frame, the trailer last. */
function recordList(frame: Uint8Array, index: Uint32Array): FrameRecordInfo[] {
  const out: FrameRecordInfo[] = [];
  for (let r = 0; r < index.length; r += FLAT_INDEX_STRIDE) {
    const start = index[r];
    const end = index[r + 3] + index[r + 4] + 4;
    out.push(new FrameRecordInfo(frame, TYPE_NAMES[frame[start]], start, end - start, index[r + 1], index[r + 2], (frame[start + 2] & RECORD_SEALED) !== 0));
  }
  return out;
}

function nonceBytesOf(sel: number): number {
  return sel === 2 ? 12 : 24;
}

/**
 * Validate a frame (raw or deflated) and decode it. Sealed payloads are opened when
 * `options.aead` holds the key (a wrong key is ERR_FRAME_AEAD). Throws a coded error
 * (ERR_FRAME_*) on any problem.
 */
export function readFrame(bytes: Uint8Array, options?: ReadOptions): Frame {
  const o = checkReadOptions(options);
  const cipher = o.aead === undefined ? null : new ChunkCipher(o.aead);
  const { frame, index } = validateFrame(bytes, o.maxFrameBytes);
  return decode(frame, index, cipher);
}

/**
 * Streaming reader: `feed` arbitrary slices as they arrive, then `commit`. The header is
 * checked as soon as its bytes are in, so a frame this reader cannot read (bad magic, version,
 * or capabilities) is refused before any record arrives; the total is bounded by
 * `maxFrameBytes` as it grows.
 */
export class FrameReader {
  private parts: Uint8Array[] = [];
  private length = 0;
  private checked = false;
  private readonly options: ReadOptions;
  private readonly max: number;

  constructor(options?: ReadOptions) {
    this.options = checkReadOptions(options);
    this.max = this.options.maxFrameBytes ?? MAX_FRAME_BYTES_DEFAULT;
  }

  feed(slice: Uint8Array): this {
    if (!(slice instanceof Uint8Array)) throw invalidArgType('slice', 'a Uint8Array', slice);
    if (this.length + slice.length > this.max) throw frameError('ERR_FRAME_TOO_LARGE', `more than the ${this.max} bytes allowed`, this.max);
    this.parts.push(slice.slice());
    this.length += slice.length;
    if (!this.checked && this.length >= FLAT_HEADER_SIZE) {
      const head = this.bytes().subarray(0, FLAT_HEADER_SIZE);
      if (!isContainer(head)) {
        const diag = new Float64Array(2);
        binding.flatValidate(head, diag); // header checks come first; TRUNCATED means they passed
        if (diag[0] !== FLAT_STATUS_TRUNCATED) {
          const [code, reason] = STATUS_CODES[diag[0]] ?? ['ERR_FRAME_MALFORMED', 'invalid frame'];
          throw frameError(code, reason, diag[1]);
        }
      }
      this.checked = true;
    }
    return this;
  }

  private bytes(): Uint8Array {
    if (this.parts.length !== 1) {
      const all = new Uint8Array(this.length);
      let p = 0;
      for (const x of this.parts) {
        all.set(x, p);
        p += x.length;
      }
      this.parts = [all];
    }
    return this.parts[0] ?? new Uint8Array(0);
  }

  /** Validate and decode everything fed so far (see readFrame). */
  commit(): Frame {
    return readFrame(this.bytes(), this.options);
  }
}
