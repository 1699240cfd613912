/**
 * Store and data locks. Locking a cell's store forbids structural changes (add, remove,
 * unveil) in that cell and every descendant; locking its data forbids payload changes there.
 * The check propagates up the ancestors: a mutation is refused when the cell or any ancestor
 * holds the lock. A cell cannot be locked while it or an ancestor already holds the same lock.
 * Only the token returned by the lock call unlocks it.
 */
import { locked } from '../errors.js';
import type { Cell } from './cell/cell.js';
import { DATA_LOCK, STORE_LOCK } from './cell/flags.js';

export type LockKind = 'store' | 'data';

export class LockToken {
  released = false;
  constructor(
    readonly cell: Cell,
    readonly kind: LockKind,
  ) {}
}

/** The nearest cell (self or ancestor) holding `bit`, or null. */
export function lockHolder(cell: Cell, bit: number): Cell | null {
  for (let c: Cell | null = cell; c !== null; c = c.up === null ? null : c.up.owner) if ((c.flags & bit) !== 0) return c;
  return null;
}

export function acquire(cell: Cell, kind: LockKind): LockToken {
  const bit = kind === 'store' ? STORE_LOCK : DATA_LOCK;
  const holder = lockHolder(cell, bit);
  if (holder !== null) throw locked(cell.path, kind, holder === cell ? 'already locked' : `ancestor ${holder.path} holds the lock`);
  cell.flags |= bit;
  const rt = cell.runtime;
  if (kind === 'store') rt.storeLocks++;
  else rt.dataLocks++;
  return new LockToken(cell, kind);
}

export function release(cell: Cell, kind: LockKind, token: unknown): void {
  const bit = kind === 'store' ? STORE_LOCK : DATA_LOCK;
  if (!(token instanceof LockToken) || token.cell !== cell || token.kind !== kind || token.released || (cell.flags & bit) === 0) {
    throw locked(cell.path, kind, 'not unlocked: the token does not hold this lock');
  }
  token.released = true;
  cell.flags &= ~bit;
  const rt = cell.runtime;
  if (kind === 'store') rt.storeLocks--;
  else rt.dataLocks--;
}
