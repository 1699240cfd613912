/**
 * Rebuilding branches from a store: for each branch, its newest snapshot (a checkpoint, or a
 * snapshot frame in the log) and the delta frames after it, applied with `applyFrame`. The
 * engine verified every frame it hands out; `applyFrame` reads each again and refuses what does
 * not fit, leaving the runtime as it was.
 */
import { persistError } from '../../errors.js';
import type { Tree } from '../../kernel/tree.js';
import { raiseHistoryFloor, setBeat } from '../../kernel/tree.js';
import { applyFrame, forgetApplied, outsideLinkPaths } from '../../serialization/apply.js';
import { readFrame } from '../../serialization/reader.js';
import type { AeadOptions } from '../../serialization/aead.js';
import type { StorageEngine, StoredFrame } from '../engine.js';

export interface LoadBudget {
  /** Most frame bytes to load (default: no limit). */
  maxBytes?: number;
  /** Deepest cell below the branch root to accept (default: no limit). */
  maxDepth?: number;
}

/**
 * The frames that rebuild `branch` as of its head: the newest snapshot and the deltas after it;
 * none when the newest frame records the branch's removal (`isRemoval`).
 */
export function framesToLoad(engine: StorageEngine, branch: string, aead: AeadOptions | undefined): StoredFrame[] {
  const frames = [...engine.frames(branch, { fromCheckpoint: true })];
  if (frames.length > 0 && isRemoval(frames[frames.length - 1], aead)) return [];
  let start = 0;
  for (let i = frames.length - 1; i >= 0; i--) {
    if (frames[i].mode === 'snapshot') {
      start = i;
      break;
    }
  }
  return start === 0 ? frames : frames.slice(start);
}

/**
 * Whether a stored frame records the removal of its branch (service.ts `removalFrame`): a delta
 * whose branch root was created and deleted at the frame's beat, so the branch is visible at no
 * beat and nothing before the frame is loaded. (A branch added and soft-deleted in one beat
 * frames the same way, and is visible at no beat either.)
 */
export function isRemoval(f: StoredFrame, aead: AeadOptions | undefined): boolean {
  if (f.mode !== 'delta') return false;
  const root = readFrame(f.bytes, { aead }).cells[0];
  return root.created === f.beat && root.deleted === f.beat;
}

/** Whether `branch`'s newest frame on disk records its removal (`isRemoval`). */
export function removedOnDisk(engine: StorageEngine, branch: string, aead: AeadOptions | undefined): boolean {
  const head = engine.head(branch);
  const f = head === undefined ? undefined : engine.frameAt(branch, head.beat);
  return f !== undefined && isRemoval(f, aead);
}

/**
 * Apply `branch`'s frames to `rt`, checking the budget first (nothing is applied when it is
 * exceeded). Frames carry their own beats, so `rt.beat` is lowered to the branch's first beat
 * while they apply and restored afterwards. Returns the bytes applied.
 */
export function loadBranch(rt: Tree, engine: StorageEngine, branch: string, budget: LoadBudget = {}, aead?: AeadOptions): { frames: number; bytes: number } {
  const frames = framesToLoad(engine, branch, aead);
  const bytes = checkBudget(branch, frames, budget, aead);
  applyFrames(rt, branch, frames, aead);
  return { frames: frames.length, bytes };
}

/** Checks `branch`'s frames against `budget` (ERR_PERSIST_BUDGET); returns their size. */
function checkBudget(branch: string, frames: StoredFrame[], budget: LoadBudget, aead: AeadOptions | undefined): number {
  let bytes = 0;
  for (const f of frames) bytes += f.bytes.length;
  if (budget.maxBytes !== undefined && bytes > budget.maxBytes) throw persistError('ERR_PERSIST_BUDGET', `branch ${branch} needs ${bytes} bytes of frames, over the budget of ${budget.maxBytes}`);
  if (budget.maxDepth !== undefined) {
    const depth = maxDepth(frames, aead);
    if (depth > budget.maxDepth) throw persistError('ERR_PERSIST_BUDGET', `branch ${branch} is ${depth} cells deep, over the budget of ${budget.maxDepth}`);
  }
  return bytes;
}

/** Branches (other than `branch`) whose cells the links in `branch`'s frames point at. */
export function linkedBranches(rt: Tree, engine: StorageEngine, branch: string, aead?: AeadOptions): Set<string> {
  const out = new Set<string>();
  for (const f of framesToLoad(engine, branch, aead)) {
    for (const p of outsideLinkPaths(rt, f.bytes, { aead })) if (p.length >= 2 && p[0] === 'data' && p[1] !== branch) out.add(p[1]);
  }
  return out;
}

export interface LinkOrderLoad {
  /** Every branch loaded, in the order it was rebuilt. */
  order: string[];
  /** Branches loaded because a branch in `names` links into them (lazy ones, for instance). */
  pulled: string[];
  frames: number;
  bytes: number;
}

/**
 * Rebuild `names` so that each branch is applied after the branches its links point into
 * (`applyFrame` needs a link's target in the runtime). A branch whose frames are refused is set
 * aside and tried again once the others are in. When none can go on, the links of those left
 * decide: branches they point into that are not being loaded and that `pull` allows (cold, lazy
 * ones) are loaded too; if there are none, branches that link into each other (a cycle) are
 * rebuilt together, all their frames in beat order; a link into a branch the store does not hold
 * (volatile, never written) is `ERR_PERSIST_LINK`; otherwise the frame's own refusal is thrown.
 * Each branch is checked against `budget`.
 */
export function loadInLinkOrder(rt: Tree, engine: StorageEngine, names: readonly string[], budget: LoadBudget, aead: AeadOptions | undefined, pull: (branch: string) => boolean): LinkOrderLoad {
  const out: LinkOrderLoad = { order: [], pulled: [], frames: 0, bytes: 0 };
  const done = new Set<string>();
  let waiting = [...names];
  while (waiting.length > 0) {
    const stuck: Array<{ name: string; error: unknown }> = [];
    for (const name of waiting) {
      try {
        const loaded = loadBranch(rt, engine, name, budget, aead);
        out.frames += loaded.frames;
        out.bytes += loaded.bytes;
        out.order.push(name);
        done.add(name);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_FRAME_APPLY') throw error;
        stuck.push({ name, error });
      }
    }
    if (stuck.length < waiting.length) {
      waiting = stuck.map((s) => s.name);
      continue;
    }
    const stuckNames = new Set(waiting);
    const more = new Set<string>();
    let cycle: string | undefined;
    let absent: string | undefined;
    for (const s of stuck) {
      for (const d of linkedBranches(rt, engine, s.name, aead)) {
        if (done.has(d)) continue;
        if (engine.head(d) === undefined) {
          if (rt.find(`/data/${d}`) === undefined) absent ??= `${s.name} -> ${d}`;
          continue;
        }
        if (stuckNames.has(d)) cycle ??= `${s.name} -> ${d}`;
        else if (pull(d)) more.add(d);
      }
    }
    if (more.size === 0) {
      if (absent !== undefined)
        throw persistError('ERR_PERSIST_LINK', `a branch links into a branch the store does not hold (${absent}: volatile, or never written): ${(stuck[0].error as Error).message}`);
      if (cycle === undefined) throw stuck[0].error;
      // links in a cycle across branches: rebuild those branches together, frames in beat order
      // (a link was made at a beat when its target existed, so that order always finds it)
      const together = [...stuckNames];
      const loaded = loadInBeatOrder(rt, engine, together, budget, aead, cycle);
      out.frames += loaded.frames;
      out.bytes += loaded.bytes;
      out.order.push(...together);
      break;
    }
    out.pulled.push(...more);
    waiting = [...more, ...waiting];
  }
  return out;
}

/**
 * Rebuild `names` together, every frame of theirs in beat order (branches linking into each
 * other). When that fails too, none of them stays and the error is `ERR_PERSIST_LINK`.
 */
function loadInBeatOrder(rt: Tree, engine: StorageEngine, names: string[], budget: LoadBudget, aead: AeadOptions | undefined, cycle: string): { frames: number; bytes: number } {
  const all: Array<StoredFrame & { branch: string }> = [];
  for (const name of names) {
    const frames = framesToLoad(engine, name, aead);
    checkBudget(name, frames, budget, aead);
    for (const f of frames) all.push({ ...f, branch: name });
  }
  all.sort((x, y) => x.beat - y.beat || (x.branch < y.branch ? -1 : x.branch > y.branch ? 1 : 0));
  try {
    applyFrames(rt, names, all, aead);
  } catch (e) {
    throw persistError('ERR_PERSIST_LINK', `branches ${names.join(', ')} link into each other (${cycle}) and cannot be rebuilt in beat order either: ${(e as Error).message}`);
  }
  let bytes = 0;
  for (const f of all) bytes += f.bytes.length;
  return { frames: all.length, bytes };
}

/**
 * Apply a branch's frames (oldest first) to `rt`. Frames carry their own beats, so `rt.beat` is
 * lowered while they apply and restored afterwards. A branch that fails part-way is removed again.
 */
export function applyFrames(rt: Tree, branches: string | readonly string[], frames: ReadonlyArray<{ bytes: Uint8Array }>, aead?: AeadOptions): void {
  const saved = rt.beat;
  const applied: Uint8Array[] = [];
  let floor = 0;
  try {
    for (const f of frames) {
      // applyFrame refuses frames older than rt.beat: let this branch's frames replay its own beats
      if (applied.length === 0) setBeat(rt, 0);
      const r = applyFrame(rt, f.bytes, { aead });
      applied.push(r.root);
      if (r.mode === 'snapshot') floor = historyFrom(r);
    }
    // the snapshot carried a bounded window of history: as-of reads before it are refused (ERR_HISTORY_PRUNED), never answered wrong
    raiseHistoryFloor(rt, floor);
  } catch (e) {
    // nothing partial stays visible, and the frames may be applied again later (link order)
    if (applied.length > 0) for (const b of typeof branches === 'string' ? [branches] : branches) rt.find(`/data/${b}`)?.removeHard();
    for (const root of applied) forgetApplied(rt, root);
    throw e;
  } finally {
    setBeat(rt, Math.max(saved, rt.beat));
  }
}

/**
 * The oldest beat a snapshot of `beat` answers as-of reads for exactly: its history windows reach
 * `beat - window` (the writer carries the version current there; docs/FORMAT.md §5.2).
 */
export function historyFrom(s: { beat: number; history: { payload: number; manifest: number } }): number {
  return Math.max(0, s.beat - Math.min(s.history.payload, s.history.manifest));
}

/** Deepest cell below the branch root in any of the frames (the frame's parent ordinals). */
function maxDepth(frames: StoredFrame[], aead: AeadOptions | undefined): number {
  let deepest = 0;
  for (const f of frames) {
    const cells = readFrame(f.bytes, { aead }).cells;
    const depth = new Int32Array(cells.length);
    for (let i = 1; i < cells.length; i++) {
      depth[i] = depth[cells[i].parent] + 1;
      if (depth[i] > deepest) deepest = depth[i];
    }
  }
  return deepest;
}
