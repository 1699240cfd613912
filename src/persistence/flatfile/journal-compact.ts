/**
 * Compacting the commit journal. A journal record only matters while recovery must decide
 * whether its beat was committed. Once every beat up to `settled` is committed and durable,
 * the records up to it can go, provided recovery no longer asks for them: each branch a record
 * names gets `sealedBeat` >= `settled` in its branch.meta (journal records at or below it do
 * not bind the branch, docs/flatfile.md), and only then is journal.log truncated.
 *
 * Every step is atomic on its own (a branch.meta is written to a temporary file, synced and
 * renamed; the journal is cut with one ftruncate and synced), and the store is consistent
 * after any of them: a branch not yet sealed still finds its records; a sealed branch skips
 * them; a truncated journal held nothing any branch still needs.
 */
import fs from 'node:fs';
import type { BranchMeta } from './branch.js';
import { scanJournal } from './journal.js';

/** What compaction needs of a branch (BranchFiles). */
export interface JournalBound {
  readonly name: string;
  readonly meta: BranchMeta;
  readonly unboundTo: number;
  writeMeta(meta: BranchMeta): void;
}

/** The journal passes this size: a commit schedules its compaction (one branch.meta per branch it names, one truncation). */
export const JOURNAL_COMPACT_BYTES = 4 * 1024 * 1024;

/**
 * The steps that empty the journal in `journalFd` (every beat in it is committed, up to
 * `settled`): seal each branch some record still binds, then truncate. Run them in order.
 */
export function journalCompactionSteps(journalFd: number, branches: ReadonlyMap<string, JournalBound>, settled: number): Array<() => void> {
  const bound = new Set<string>();
  for (const r of scanJournal(journalFd).records) {
    for (const e of r.entries) {
      const b = branches.get(e.branch);
      if (b !== undefined && r.beat > b.unboundTo) bound.add(e.branch);
    }
  }
  const steps: Array<() => void> = [];
  for (const name of [...bound].sort()) {
    const b = branches.get(name)!;
    steps.push(() => b.writeMeta({ ...b.meta, sealedBeat: Math.max(b.meta.sealedBeat, settled) }));
  }
  steps.push(() => {
    fs.ftruncateSync(journalFd, 0);
    fs.fsyncSync(journalFd);
  });
  return steps;
}
