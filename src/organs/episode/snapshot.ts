/**
 * The read snapshot of a module slice: the subtrees at the paths it declared it reads, written
 * at submission straight from the cells into the slice codec's snapshot bytes (`slice-runner.ts`
 * gives the layout). Equal bytes are equal reads, so run-ahead adoption compares snapshots as
 * bytes. Flat frames (issue 5) will replace this encoding; keep every caller on these functions.
 */
import { invalidArgValue, outOfRange } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import { CodecWriter, decodeSnapshot } from './slice-runner.js';

/** One snapshotted cell: its payload bytes and its children by name. */
export interface SnapNode {
  v?: Uint8Array;
  k?: Record<string, SnapNode>;
}

/** Snapshotted subtrees by absolute path (a missing cell is absent). */
export type Snapshot = Record<string, SnapNode>;

/** Cells one snapshot may hold (memory stays bounded). */
export const SNAPSHOT_MAX_CELLS = 65_536;

const writer = new CodecWriter();

/** The snapshot of `paths` as the bytes a slice input carries. */
export function encodeSnapshot(rt: Tree, paths: readonly string[]): Uint8Array {
  const w = writer;
  let cells = 0;
  const stack: Cell[] = [];
  /** One cell's record (flags, payload, child count); its children are stacked to follow it. */
  const head = (c: Cell): void => {
    if (++cells > SNAPSHOT_MAX_CELLS) throw outOfRange('reads', `subtrees of at most ${SNAPSHOT_MAX_CELLS} cells in all`, cells);
    const v = c.value;
    const kids = c.childCount() > 0 ? c.children() : undefined;
    w.u8((v !== undefined ? 1 : 0) | (kids !== undefined ? 2 : 0));
    if (v !== undefined) w.bytes(v);
    if (kids === undefined) return;
    w.u32(kids.length);
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
  };
  // pre-order with an explicit stack (any depth): each child's name, then its whole subtree
  const node = (root: Cell): void => {
    head(root);
    while (stack.length > 0) {
      const k = stack.pop()!;
      w.str(String(k.name));
      head(k);
    }
  };
  // by path, as an object's keys would be (a path read twice is one root)
  const roots = new Map<string, Cell>();
  for (const p of paths) {
    if (typeof p !== 'string' || !p.startsWith('/')) throw invalidArgValue('reads', `${JSON.stringify(p)} is not an absolute path`);
    const c = rt.find(p);
    if (c !== undefined) roots.set(p, c);
  }
  try {
    w.u32(roots.size);
    for (const [p, c] of roots) {
      w.str(p);
      node(c);
    }
    return w.take();
  } catch (e) {
    w.clear();
    stack.length = 0;
    throw e;
  }
}

/** The snapshot of `paths` as a tree (what a slice reads through its context). */
export function snapshotReads(rt: Tree, paths: readonly string[]): Snapshot {
  return decodeSnapshot(encodeSnapshot(rt, paths)) as Snapshot;
}
