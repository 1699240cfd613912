/**
 * Store and data locks. Locking a cell's store forbids structural changes (add, remove,
 * unveil) in that cell and every descendant; locking its data forbids payload changes there.
 * The check propagates up the ancestors: a mutation is refused (ERR_LOCKED) when the cell or
 * any ancestor holds the lock, unless the code doing it runs under that lock's token
 * (`token.run(fn)`): the holder mutates through its own lock, everyone else is locked out.
 * A cell cannot be locked while it or an ancestor already holds the same lock. Only the token
 * returned by the lock call unlocks it.
 */
import { locked } from '../errors.js';
import type { Cell } from './cell/cell.js';
import { DATA_LOCK, STORE_LOCK } from './cell/flags.js';

export type LockKind = 'store' | 'data';

export class LockToken {
  /** Set once unlocked: the token no longer grants anything. */
  released = false;
  /** Depth of `run` calls in progress (> 0: the holder is acting). */
  private active = 0;

  constructor(
    readonly cell: Cell,
    readonly kind: LockKind,
  ) {}

  /** Whether code is running under this token right now. */
  get holding(): boolean {
    return this.active > 0 && !this.released;
  }

  /**
   * Run `fn` as the holder of this lock: mutations that only this lock forbids go through.
   * Synchronous only; the grant ends when `fn` returns or throws.
   */
  run<T>(fn: () => T): T {
    if (this.released) throw locked(this.cell.path, this.kind, 'the token was released');
    this.active++;
    lockEpoch++;
    try {
      return fn();
    } finally {
      this.active--;
      lockEpoch++;
    }
  }
}

/**
 * Bumped by every lock, unlock and token run (start and end): what a check learned about the
 * locks holds until the next bump.
 */
let lockEpoch = 0;

/** Per lock table: the last cell a check found clear (no blocking lock on it or above) and when. */
interface ClearCell {
  cell: Cell | null;
  epoch: number;
}
const lastClear = new WeakMap<LockTable, ClearCell>();

/** Tokens of the locks currently held, by cell. */
export type LockTable = Map<Cell, LockToken>;

function bitOf(kind: LockKind): number {
  return kind === 'store' ? STORE_LOCK : DATA_LOCK;
}

function tableOf(cell: Cell, kind: LockKind): LockTable {
  const rt = cell.runtime;
  return kind === 'store' ? rt.storeLocks : rt.dataLocks;
}

/** The nearest cell (self or ancestor) holding `bit`, or null. */
export function lockHolder(cell: Cell, bit: number): Cell | null {
  for (let c: Cell | null = cell; c !== null; c = c.up === null ? null : c.up.owner) if ((c.flags & bit) !== 0) return c;
  return null;
}

/**
 * The nearest lock (self or ancestor) of `kind` whose token is not running, or null. The walk
 * up stops at the last cell found clear while the locks stay as they were, so mutations going
 * down a chain N deep while some lock is held cost O(N) in all, not O(N²).
 */
export function lockBlocker(cell: Cell, kind: LockKind): Cell | null {
  const bit = bitOf(kind);
  const table = tableOf(cell, kind);
  let clear = lastClear.get(table);
  if (clear === undefined) lastClear.set(table, (clear = { cell: null, epoch: -1 }));
  const stop = clear.epoch === lockEpoch ? clear.cell : null;
  for (let c: Cell | null = cell; c !== null && c !== stop; c = c.up === null ? null : c.up.owner) {
    if ((c.flags & bit) !== 0 && !table.get(c)!.holding) return c;
  }
  clear.cell = cell;
  clear.epoch = lockEpoch;
  return null;
}

export function acquire(cell: Cell, kind: LockKind): LockToken {
  const holder = lockHolder(cell, bitOf(kind));
  if (holder !== null) throw locked(cell.path, kind, holder === cell ? 'already locked' : `ancestor ${holder.path} holds the lock`);
  const token = new LockToken(cell, kind);
  lockEpoch++;
  cell.flags |= bitOf(kind);
  tableOf(cell, kind).set(cell, token);
  return token;
}

export function release(cell: Cell, kind: LockKind, token: unknown): void {
  const table = tableOf(cell, kind);
  if (!(token instanceof LockToken) || table.get(cell) !== token || token.released) {
    throw locked(cell.path, kind, 'not unlocked: the token does not hold this lock');
  }
  token.released = true;
  lockEpoch++;
  cell.flags &= ~bitOf(kind);
  table.delete(cell);
}
