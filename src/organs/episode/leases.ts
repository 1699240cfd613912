/**
 * Leases and the read-only guard (docs/episodes.md: Profiles and leases). A lease is the store
 * and data locks of an episode's target, held by RW episodes from their first slice to their end
 * and by promoted hybrid ones. The RO guard is the root's store and data locks, held while
 * read-only function slices run so the cell API refuses mutations: taken at the first such slice
 * of a Commit and kept across the next ones (a yield cycle writes nothing); every engine write,
 * lease and read-write slice drops it first (`unguard`).
 */
import type { Tree } from '../../kernel/tree.js';
import type { Episode, Locks } from './episode.js';

export class Leases {
  private roGuard: Locks | undefined;

  constructor(private readonly rt: Tree) {}

  /** Take the store and data locks of the target (the lease); false when it is missing or held. */
  acquire(ep: Episode): boolean {
    this.unguard();
    const c = this.rt.find(ep.target);
    if (c === undefined) return false;
    let store: Locks['store'] | undefined;
    try {
      store = c.lockStore();
      ep.lease = { store, data: c.lockData() };
      return true;
    } catch {
      if (store !== undefined) c.unlockStore(store);
      return false;
    }
  }

  /** Give the lease back (when held). */
  release(ep: Episode): void {
    const l = ep.lease;
    if (l === undefined) return;
    ep.lease = undefined;
    if (!l.data.released) l.data.cell.unlockData(l.data);
    if (!l.store.released) l.store.cell.unlockStore(l.store);
  }

  /**
   * A hybrid's promotion: the lease, taken with the RO guard dropped (no lease can be taken under
   * the root's locks), which is taken again when the lease is not to be had.
   */
  promote(ep: Episode): boolean {
    const guarded = this.dropGuard();
    if (this.acquire(ep)) return true;
    if (guarded) this.guard();
    return false;
  }

  /** Enter the RO guard (unless held): a read-only slice runs next. */
  guard(): void {
    this.roGuard ??= this.takeGuard();
  }

  /** Leave the RO guard before the engine writes, leases, or runs a slice that may mutate. */
  unguard(): void {
    if (this.roGuard !== undefined) this.dropGuard();
  }

  /** The root's store and data locks: while a read-only slice runs, the cell API refuses mutations. */
  private takeGuard(): Locks | undefined {
    const root = this.rt.root;
    let store: Locks['store'] | undefined;
    try {
      store = root.lockStore();
      return { store, data: root.lockData() };
    } catch {
      if (store !== undefined) root.unlockStore(store);
      return undefined; // the root is locked already: nothing can mutate anyway
    }
  }

  /** Leave the RO guard; whether it was held. */
  private dropGuard(): boolean {
    const g = this.roGuard;
    if (g === undefined) return false;
    this.roGuard = undefined;
    this.rt.root.unlockData(g.data);
    this.rt.root.unlockStore(g.store);
    return true;
  }
}
