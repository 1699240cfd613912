/**
 * The read snapshot of a worker-thread slice: the subtrees at the paths it declared it reads,
 * copied at submission into a structured-clone-safe tree. Flat frames (issue 5) will replace
 * this encoding; keep every caller on `snapshotReads`.
 */
import { invalidArgValue, outOfRange } from '../../errors.js';
import type { Cell } from '../cell/cell.js';
import { bytesEqual } from '../cell/payload.js';
import type { Runtime } from '../runtime.js';

/** One snapshotted cell: its payload bytes and its children by name. */
export interface SnapNode {
  v?: Uint8Array;
  k?: Record<string, SnapNode>;
}

/** Snapshotted subtrees by absolute path (a missing cell is absent). */
export type Snapshot = Record<string, SnapNode>;

/** Cells one snapshot may hold (memory stays bounded). */
export const SNAPSHOT_MAX_CELLS = 65_536;

export function snapshotReads(rt: Runtime, paths: readonly string[]): Snapshot {
  const out: Snapshot = {};
  let cells = 0;
  const copy = (c: Cell): SnapNode => {
    if (++cells > SNAPSHOT_MAX_CELLS) throw outOfRange('reads', `subtrees of at most ${SNAPSHOT_MAX_CELLS} cells in all`, cells);
    const n: SnapNode = {};
    const v = c.value;
    if (v !== undefined) n.v = v;
    const kids = c.children();
    if (kids.length > 0) {
      n.k = {};
      for (const k of kids) n.k[String(k.name)] = copy(k);
    }
    return n;
  };
  for (const p of paths) {
    if (typeof p !== 'string' || !p.startsWith('/')) throw invalidArgValue('reads', `${JSON.stringify(p)} is not an absolute path`);
    const c = rt.find(p);
    if (c !== undefined) out[p] = copy(c);
  }
  return out;
}

/** Whether two snapshots encode alike: the same keys in the same order, the same payload bytes. */
export function snapshotsEqual(a: Snapshot, b: Snapshot): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !nodesEqual(a[ka[i]], b[kb[i]])) return false;
  return true;
}

function nodesEqual(x: SnapNode, y: SnapNode): boolean {
  if (x.v === undefined ? y.v !== undefined : y.v === undefined || !bytesEqual(x.v, y.v)) return false;
  return x.k === undefined ? y.k === undefined : y.k !== undefined && snapshotsEqual(x.k, y.k);
}
