/**
 * Deep clones: copy a cell as it is now (payload bytes, store kind and indexing, visible
 * children, all the way down) under another parent. No history is copied. HANDLE/STREAM cells
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

/** Copy `src` and its visible subtree under `parent`, in pre-order, with an explicit stack (any depth). */
export function cloneCell(src: Cell, parent: Cell, name?: NameInput): Cell {
  const top = cloneOne(src, parent, name === undefined ? src.id : name);
  const stack: Cell[] = [];
  const under: Cell[] = []; // the copy each stacked source goes under
  if (top.kids !== null) pushKids(stack, under, top.kids, top.copy);
  while (stack.length > 0) {
    const s = stack.pop()!;
    const { copy, kids } = cloneOne(s, under.pop()!, s.id);
    if (kids !== null) pushKids(stack, under, kids, copy);
  }
  return top.copy;
}

/** Copy one cell (not its children); `kids`: its children to copy next, listed before the copy is added (it may land inside this subtree). */
function cloneOne(src: Cell, parent: Cell, as: NameInput): { copy: Cell; kids: Cell[] | null } {
  const { init, bigValue } = cloneInit(src);
  if (init.link !== undefined) return { copy: parent.add(as, init), kids: null };
  const kids = src.children();
  const copy = parent.add(as, init);
  if (bigValue !== undefined) copy.setValue(bigValue); // a large VALUE stays VALUE (same beat: no history)
  return { copy, kids };
}

function pushKids(stack: Cell[], under: Cell[], kids: Cell[], copy: Cell): void {
  for (let k = kids.length - 1; k >= 0; k--) {
    stack.push(kids[k]);
    under.push(copy);
  }
}
