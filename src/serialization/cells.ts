/**
 * The cells of a decoded frame, held column by column: typed arrays for what every cell has,
 * maps for what few cells carry (the root's path, stores, child lists, history, chunked and
 * link payloads). Reading a frame therefore allocates nothing per cell; `Frame.cells` builds
 * one small view per cell when first used, and a view builds a name or an inline payload
 * (a view of the frame bytes) only when asked for it.
 */
import type { FrameCell, FrameName, FramePayload } from './reader.js';

/** `flags` column bits. */
export const CELL_ANCHOR = 1;
export const CELL_IMMUTABLE = 2;
export const CELL_LINK_TYPE = 4;

/** `payAt` column: an inline VALUE's offset in the frame (>= 0), or one of these. */
export const PAY_ABSENT = -1; // the frame does not carry the payload
export const PAY_NONE = -2; // the payload is 'none'
export const PAY_HELD = -3; // built while reading (chunked, link): in `held`

/** Shared by every cell without past versions (no array per cell). */
const NO_HISTORY: FramePayload[] = Object.freeze([]) as unknown as FramePayload[];

/** A decoded name: one class, so every name shares one object shape. */
export class WireName implements FrameName {
  constructor(
    readonly domHi: number,
    readonly domLo: number,
    readonly hi: number,
    readonly lo: number,
  ) {}
}

/** The name at `p` (two u64 LE ids, docs/FORMAT.md §3), each already checked to be below 2^58. */
export function nameAt(b: Uint8Array, p: number): FrameName {
  const dLow = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  const dHigh = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
  const tLow = (b[p + 8] | (b[p + 9] << 8) | (b[p + 10] << 16) | (b[p + 11] << 24)) >>> 0;
  const tHigh = (b[p + 12] | (b[p + 13] << 8) | (b[p + 14] << 16) | (b[p + 15] << 24)) >>> 0;
  return new WireName((dLow >>> 29) | (dHigh << 3), dLow & 0x1fffffff, (tLow >>> 29) | (tHigh << 3), tLow & 0x1fffffff);
}

export class CellTable {
  /** Cells filled in so far (ordinals 0 .. length - 1). */
  length = 0;
  readonly parent: Int32Array;
  readonly flags: Uint8Array;
  readonly created: Float64Array;
  readonly deleted: Float64Array;
  readonly dup: Float64Array;
  /** Where each name starts in the frame (-1: the branch root, which has a path instead). */
  readonly nameAt: Int32Array;
  readonly payAt: Int32Array;
  readonly payLen: Int32Array;
  readonly payBeat: Float64Array;
  rootPath: FrameName[] = [];
  readonly held = new Map<number, FramePayload>();
  readonly stores = new Map<number, NonNullable<FrameCell['store']>>();
  readonly fronts = new Map<number, number[]>();
  readonly pasts = new Map<number, number[]>();
  readonly histories = new Map<number, FramePayload[]>();
  private views: FrameCell[] | undefined;

  /** `capacity`: how many cells the frame describes (the sum of its runs' counts). */
  constructor(
    readonly frame: Uint8Array,
    capacity: number,
  ) {
    this.parent = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.created = new Float64Array(capacity);
    this.deleted = new Float64Array(capacity);
    this.dup = new Float64Array(capacity);
    this.nameAt = new Int32Array(capacity);
    this.payAt = new Int32Array(capacity);
    this.payLen = new Int32Array(capacity);
    this.payBeat = new Float64Array(capacity);
  }

  /** The payload cell `o` carries, built now for an inline VALUE or a 'none'. */
  payload(o: number): FramePayload | undefined {
    const at = this.payAt[o];
    if (at >= 0) return { kind: 'value', beat: this.payBeat[o], bytes: this.frame.subarray(at, at + this.payLen[o]), target: undefined };
    if (at === PAY_NONE) return { kind: 'none', beat: this.payBeat[o], bytes: undefined, target: undefined };
    if (at === PAY_HELD) return this.held.get(o);
    return undefined;
  }

  history(o: number): FramePayload[] {
    return this.histories.get(o) ?? NO_HISTORY;
  }

  /** One view per cell, built on first use. */
  cells(): FrameCell[] {
    if (this.views === undefined) {
      const out = new Array<FrameCell>(this.length);
      for (let i = 0; i < this.length; i++) out[i] = new CellView(this, i);
      this.views = out;
    }
    return this.views;
  }
}

/** A FrameCell over the columns of its table. */
class CellView implements FrameCell {
  constructor(
    private readonly t: CellTable,
    readonly ordinal: number,
  ) {}

  get parent(): number {
    return this.t.parent[this.ordinal];
  }
  get path(): FrameName[] | undefined {
    return this.ordinal === 0 ? this.t.rootPath : undefined;
  }
  get name(): FrameName | undefined {
    const at = this.t.nameAt[this.ordinal];
    return at < 0 ? undefined : nameAt(this.t.frame, at);
  }
  get dup(): number | undefined {
    return this.ordinal === 0 ? undefined : this.t.dup[this.ordinal];
  }
  get anchor(): boolean {
    return (this.t.flags[this.ordinal] & CELL_ANCHOR) !== 0;
  }
  get type(): 'normal' | 'link' {
    return (this.t.flags[this.ordinal] & CELL_LINK_TYPE) !== 0 ? 'link' : 'normal';
  }
  get immutable(): boolean {
    return (this.t.flags[this.ordinal] & CELL_IMMUTABLE) !== 0;
  }
  get created(): number {
    return this.t.created[this.ordinal];
  }
  get deleted(): number {
    return this.t.deleted[this.ordinal];
  }
  get payload(): FramePayload | undefined {
    return this.t.payload(this.ordinal);
  }
  get store(): FrameCell['store'] {
    return this.t.stores.get(this.ordinal);
  }
  get front(): number[] | undefined {
    return this.t.fronts.get(this.ordinal);
  }
  get past(): number[] | undefined {
    return this.t.pasts.get(this.ordinal);
  }
  get history(): FramePayload[] {
    return this.t.history(this.ordinal);
  }

  /** The plain FrameCell shape (for JSON and logs: the frame bytes stay out). */
  toJSON(): FrameCell {
    const { ordinal, parent, path, name, dup, anchor, type, immutable, created, deleted, payload, store, front, past, history } = this;
    return { ordinal, parent, path, name, dup, anchor, type, immutable, created, deleted, payload, store, front, past, history };
  }
}
