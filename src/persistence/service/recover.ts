/**
 * Rebuilding branches from a store: for each branch, its newest snapshot (a checkpoint, or a
 * snapshot frame in the log) and the delta frames after it, applied with `applyFrame`. The
 * engine verified every frame it hands out; `applyFrame` reads each again and refuses what does
 * not fit, leaving the runtime as it was.
 */
import { persistError } from '../../errors.js';
import type { Runtime } from '../../kernel/runtime.js';
import { applyFrame } from '../../serialization/apply.js';
import { readFrame } from '../../serialization/reader.js';
import type { AeadOptions } from '../../serialization/aead.js';
import type { StorageEngine, StoredFrame } from '../engine.js';

export interface LoadBudget {
  /** Most frame bytes to load (default: no limit). */
  maxBytes?: number;
  /** Deepest cell below the branch root to accept (default: no limit). */
  maxDepth?: number;
}

/** The frames that rebuild `branch` as of its head: the newest snapshot and the deltas after it. */
export function framesToLoad(engine: StorageEngine, branch: string): StoredFrame[] {
  const frames = [...engine.frames(branch, { fromCheckpoint: true })];
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
 * Apply `branch`'s frames to `rt`, checking the budget first (nothing is applied when it is
 * exceeded). Frames carry their own beats, so `rt.beat` is lowered to the branch's first beat
 * while they apply and restored afterwards. Returns the bytes applied.
 */
export function loadBranch(rt: Runtime, engine: StorageEngine, branch: string, budget: LoadBudget = {}, aead?: AeadOptions): { frames: number; bytes: number } {
  const frames = framesToLoad(engine, branch);
  let bytes = 0;
  for (const f of frames) bytes += f.bytes.length;
  if (budget.maxBytes !== undefined && bytes > budget.maxBytes) throw persistError('ERR_PERSIST_BUDGET', `branch ${branch} needs ${bytes} bytes of frames, over the budget of ${budget.maxBytes}`);
  if (budget.maxDepth !== undefined) {
    const depth = maxDepth(frames, aead);
    if (depth > budget.maxDepth) throw persistError('ERR_PERSIST_BUDGET', `branch ${branch} is ${depth} cells deep, over the budget of ${budget.maxDepth}`);
  }
  const saved = rt.beat;
  const applied: number[] = [];
  try {
    for (const f of frames) {
      // applyFrame refuses frames older than rt.beat: let this branch's frames replay its own beats
      if (applied.length === 0) rt.beat = 0;
      applyFrame(rt, f.bytes, { aead });
      applied.push(f.beat);
    }
  } catch (e) {
    // a branch that failed part-way is removed again: nothing partial stays visible
    if (applied.length > 0) rt.find(`/data/${branch}`)?.removeHard();
    throw e;
  } finally {
    rt.beat = Math.max(saved, rt.beat);
  }
  return { frames: frames.length, bytes };
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
