/**
 * Links and their shadows. A link cell holds its target (a cell, possibly another link);
 * `resolve` follows the chain to the first non-link. Each target keeps a backlink list
 * (its shadows) in the runtime so it cannot be finalized (hard-deleted) while live links point
 * at it. Soft-deleting a target tombstones its linkers (TARGET_DEAD). Linking that would close a
 * cycle through links is refused with ERR_LINK_CYCLE.
 */
import { cellDeleted, linkCycle } from '../errors.js';
import type { Cell } from './cell/cell.js';
import { SHADOWED, TARGET_DEAD, TYPE_LINK, TYPE_MASK, DETACHED } from './cell/flags.js';
import type { Tree } from './tree.js';

export function isLink(c: Cell): boolean {
  return (c.flags & TYPE_MASK) === TYPE_LINK;
}

/** Refuse `link -> target` when following target's link chain leads back to `link`. */
export function checkCycle(link: Cell, target: Cell): void {
  let seenCount = 0;
  for (let x: Cell = target; isLink(x); x = x.pv as Cell) {
    if (x === link || ++seenCount > 1_000_000) throw linkCycle(link.path);
  }
  if (target === link) throw linkCycle(link.path);
}

/** Current non-link target, or undefined when a link on the way is dead. */
export function resolveNow(c: Cell): Cell | undefined {
  while (isLink(c)) {
    if ((c.flags & TARGET_DEAD) !== 0) return undefined;
    c = c.pv as Cell;
    if (c.deleted >= 0 || (c.flags & DETACHED) !== 0) return undefined;
  }
  return c;
}

/** The live non-link cell `c` stands for (itself unless a link); ERR_DELETED through a dead link. */
export function resolveLive(c: Cell): Cell {
  if (!isLink(c)) return c;
  const t = resolveNow(c);
  if (t === undefined) throw cellDeleted(`${c.path} (link target)`, false);
  return t;
}

export function addShadow(rt: Tree, target: Cell, linker: Cell): void {
  let list = rt.shadows.get(target);
  if (list === undefined) {
    list = [];
    rt.shadows.set(target, list);
  }
  list.push(linker);
  target.flags |= SHADOWED;
}

export function dropShadow(rt: Tree, target: Cell, linker: Cell): void {
  const list = rt.shadows.get(target);
  if (list === undefined) return;
  const i = list.indexOf(linker);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) {
    rt.shadows.delete(target);
    target.flags &= ~SHADOWED;
  }
}

/** Linkers of a target (its shadows). */
export function shadowsOf(rt: Tree, target: Cell): readonly Cell[] {
  return rt.shadows.get(target) ?? [];
}

/** Mark every linker of `target` as pointing at a dead target (tombstone). */
export function tombstone(rt: Tree, target: Cell): void {
  const list = rt.shadows.get(target);
  if (list === undefined) return;
  for (const l of list) l.flags |= TARGET_DEAD;
}
