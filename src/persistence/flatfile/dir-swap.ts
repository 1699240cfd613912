/**
 * Replacing a branch folder in one step (compaction, import): the new folder is built and
 * synced elsewhere, the old one renamed aside to `<name>.old`, the new one renamed into place,
 * then the old one removed. A crash between the two renames leaves `<name>.old` without
 * `<name>`; `settleSwaps` at open puts it back (the swap did not happen) or removes a
 * leftover `.old` (it did).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './files.js';

const OLD = '.old';

export function swapDir(staged: string, target: string): void {
  const parent = path.dirname(target);
  const old = target + OLD;
  const had = fs.existsSync(target);
  if (had) fs.renameSync(target, old);
  fs.renameSync(staged, target);
  fsyncDir(parent);
  if (path.dirname(staged) !== parent) fsyncDir(path.dirname(staged));
  if (had) fs.rmSync(old, { recursive: true, force: true });
}

/** Finishes or undoes swaps a crash interrupted, in `parent`; removes stale build folders (`suffixes`). */
export function settleSwaps(parent: string, suffixes: string[]): void {
  if (!fs.existsSync(parent)) return;
  let changed = false;
  for (const name of fs.readdirSync(parent)) {
    const full = path.join(parent, name);
    if (name.endsWith(OLD)) {
      const target = full.slice(0, -OLD.length);
      if (fs.existsSync(target)) fs.rmSync(full, { recursive: true, force: true });
      else fs.renameSync(full, target);
      changed = true;
    } else if (suffixes.some((s) => name.endsWith(s))) {
      fs.rmSync(full, { recursive: true, force: true });
      changed = true;
    }
  }
  if (changed) fsyncDir(parent);
}
