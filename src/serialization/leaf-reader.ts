/**
 * The reader's fast path for the common cell description: a described normal cell (not the
 * branch root) whose payload is an inline VALUE, 'none', or not carried, with every varint at
 * most 4 bytes. It fills the cell's columns straight from the frame bytes without the checked
 * cursor (decodeFrame's loop is too large for the compiler to inline the cursor's reads). On
 * anything else, well-formed or not, it returns -1 and the general path reads the description
 * from its start, so errors and results stay those of the general path (docs/FORMAT.md §5.1).
 */
import { CELL_IMMUTABLE, PAY_ABSENT, PAY_NONE, type CellTable } from './cells.js';
import { CELL_NORMAL, DESC_IMMUTABLE, DESC_PAYLOAD, KIND_NONE, KIND_VALUE, NAME_BYTES, PLACE_INLINE } from './format.js';

/** Reader paths (tests turn the fast path off to compare it with the general path; not public API). */
export const readerPaths = { leafFastPath: true };

/** Where the last `shortVarint` ended. */
let after = 0;

/** A minimal varint of at most 4 bytes (below 2^28) at `p`, ending by `end`; -1 otherwise. */
function shortVarint(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  for (let i = 0; i < 4 && p < end; i++) {
    const x = b[p++];
    v |= (x & 0x7f) << (7 * i);
    if (x < 0x80) {
      if (x === 0 && i > 0) return -1; // not minimal
      after = p;
      return v;
    }
  }
  return -1;
}

/**
 * Read the description of cell `ord` (> 0) at `p` (its body ends at `end`) into `cells`;
 * returns where the next description starts, or -1 to leave it to the general path.
 */
export function readLeaf(cells: CellTable, b: Uint8Array, p: number, end: number, ord: number): number {
  if (p >= end) return -1;
  const flags = b[p];
  if ((flags & ~(DESC_IMMUTABLE | DESC_PAYLOAD)) !== 0) return -1; // anchors and unknown bits
  const parentRef = shortVarint(b, p + 1, end);
  if (parentRef < 1 || parentRef > ord) return -1;
  p = after;
  if (end - p < NAME_BYTES || b[p + 7] >= 4 || b[p + 15] >= 4) return -1;
  const nameAt = p;
  const dup = shortVarint(b, p + NAME_BYTES, end);
  if (dup < 0) return -1;
  p = after;
  if (end - p < 2 || b[p] !== CELL_NORMAL || b[p + 1] !== 0) return -1; // links, bad type or reserved byte
  const created = shortVarint(b, p + 2, end);
  if (created < 0) return -1;
  const deleted = shortVarint(b, after, end);
  if (deleted < 0) return -1;
  p = after;
  let payAt = PAY_ABSENT;
  if ((flags & DESC_PAYLOAD) !== 0) {
    if (p >= end) return -1;
    const kind = b[p];
    if (kind !== KIND_VALUE && kind !== KIND_NONE) return -1;
    const beat = shortVarint(b, p + 1, end);
    if (beat < 0) return -1;
    p = after;
    if (kind === KIND_NONE) payAt = PAY_NONE;
    else {
      const len = shortVarint(b, p, end);
      if (len < 0) return -1;
      p = after;
      if (p >= end || b[p] !== PLACE_INLINE || len > end - p - 1) return -1;
      payAt = p + 1;
      cells.payLen[ord] = len;
      p = payAt + len;
    }
    cells.payBeat[ord] = beat - 1;
  }
  cells.parent[ord] = parentRef - 1;
  cells.nameAt[ord] = nameAt;
  cells.dup[ord] = dup;
  cells.created[ord] = created;
  cells.deleted[ord] = deleted - 1;
  cells.payAt[ord] = payAt;
  cells.flags[ord] = (flags & DESC_IMMUTABLE) !== 0 ? CELL_IMMUTABLE : 0;
  return p;
}
