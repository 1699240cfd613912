/**
 * Deep clones: copy a cell as it is now (payload bytes, store kind and indexing, visible
 * children, recursively) under another parent. No history is copied. HANDLE/STREAM cells
 * become links to the original (a resource is never duplicated); links stay links to the
 * same target.
 */
import { cellDeleted } from '../../errors.js';
import type { Cell, CellInit, NameInput } from './cell.js';
import { COLD_PAYLOAD, COLD_STORE, DETACHED, PK_DATA, PK_VALUE, TYPE_LINK, TYPE_MASK, TYPE_PROXY, VALUE_INLINE_DEFAULT } from './flags.js';
import { bytesOf, kindOf } from './payload.js';

/**
 * What `add` needs to copy `src` itself (payload, store kind and indexing; not its children).
 * `bigValue`: a VALUE above the inline size, to restore with `setValue` after the add.
 */
export function cloneInit(src: Cell): { init: CellInit; bigValue: Uint8Array | undefined } {
  if (src.deleted >= 0 || (src.flags & DETACHED) !== 0) throw cellDeleted(src.path, (src.flags & DETACHED) !== 0);
  if ((src.flags & COLD_STORE) !== 0) src.children(); // loads the child store
  if ((src.flags & COLD_PAYLOAD) !== 0) void src.payloadKind; // loads the payload
  const t = src.flags & TYPE_MASK;
  if (t === TYPE_PROXY) return { init: { link: src }, bigValue: undefined };
  if (t === TYPE_LINK) return { init: { link: src.pv as Cell }, bigValue: undefined };
  const init: CellInit = {};
  const k = kindOf(src.flags);
  const bytes = bytesOf(src.runtime, src.flags, src.pv, true);
  const bigValue = k === PK_VALUE && bytes!.length > VALUE_INLINE_DEFAULT;
  if (k === PK_DATA || bigValue) {
    init.data = bytes;
    init.take = true; // already a private copy
  } else if (k === PK_VALUE) init.value = bytes;
  const s = src.store;
  if (s !== null) {
    init.store = s.kind;
    init.indexing = s.indexing;
    init.compare = s.options.compare;
    init.key = s.options.key;
    init.bounds = s.options.bounds;
  }
  return { init, bigValue: bigValue ? bytes : undefined };
}

export function cloneCell(src: Cell, parent: Cell, name?: NameInput): Cell {
  const { init, bigValue } = cloneInit(src);
  const as: NameInput = name === undefined ? src.id : name;
  if (init.link !== undefined) return parent.add(as, init);
  const kids = src.children(); // before adding: the copy may land inside this subtree
  const copy = parent.add(as, init);
  if (bigValue !== undefined) copy.setValue(bigValue); // a large VALUE stays VALUE (same beat: no history)
  for (const ch of kids) cloneCell(ch, copy);
  return copy;
}
