/**
 * Commit journal compaction: checkpoints, compactions and a size bound empty journal.log once
 * every branch its records bind is sealed past them; recovery stays exact after a crash at
 * every step of it, with a torn temporary meta, and with the journal cut at every byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBranch } from '../../src/persistence/flatfile/load.js';
import { journalCompactionSteps, type JournalBound } from '../../src/persistence/flatfile/journal-compact.js';
import type { FlatfileEngine } from '../../src/persistence/flatfile/index.js';
import { commitBeat, open, restoreFiles, saveFiles, Source, tempDirs, view } from './helpers.js';

// in RAM: these tests reopen damaged stores by the thousand, and each cut is synced (see tempDirs)
const { fresh, clean } = tempDirs(undefined, { ram: true });
afterAll(clean);

const NOPRE = { preallocate: false } as const;
const journalSize = (dir: string): number => fs.statSync(path.join(dir, 'journal.log')).size;
const sealedBeat = (dir: string, branch: string): number => JSON.parse(fs.readFileSync(path.join(dir, 'branches', branch, 'branch.meta'), 'utf8')).sealedBeat;

/** Beats 0..5 over branches a, b, c: even beats span a and b, odd ones are a alone; c is solo at beat 5. */
const written = (beat: number): string[] => (beat === 5 ? ['c'] : beat % 2 === 0 ? ['a', 'b'] : ['a']);

async function filled(dir: string): Promise<{ store: FlatfileEngine; src: Source }> {
  const store = open(dir, NOPRE);
  const src = new Source(['a', 'b', 'c']);
  for (let beat = 0; beat < 6; beat++) {
    if (beat > 0) src.advance();
    await commitBeat(store, src, written(beat));
  }
  return { store, src };
}

/** A source in the state `filled` leaves it (its chains at beat 5), without a store. */
function sourceAfterFill(): Source {
  const src = new Source(['a', 'b', 'c']);
  for (let beat = 0; beat < 6; beat++) {
    if (beat > 0) src.advance();
    for (const b of written(beat)) src.frame(b);
  }
  return src;
}

/** Commits one more beat spanning a and b, then checks that a reopened store holds it. */
async function goesOn(dir: string, src: Source): Promise<void> {
  const s = open(dir, NOPRE);
  const beat = s.lastBeat + 1;
  while (src.beat < beat) src.advance();
  await commitBeat(s, src, ['a', 'b']);
  const after = view(s);
  await s.close();
  const r = open(dir, NOPRE);
  expect(r.recovery.cut).toEqual([]);
  expect(view(r)).toEqual(after);
  expect(r.head('a')!.beat).toBe(beat);
  await r.close();
}

describe('flatfile commit journal compaction', () => {
  it('a checkpoint empties the journal; recovery and multi-branch atomicity hold afterwards', async () => {
    const dir = fresh();
    const { store, src } = await filled(dir);
    expect(journalSize(dir)).toBeGreaterThan(0);
    await store.checkpoint('c', src.snapshot('c'));
    expect(journalSize(dir)).toBe(0);
    expect(sealedBeat(dir, 'a')).toBe(5);
    expect(sealedBeat(dir, 'b')).toBe(5);
    expect(sealedBeat(dir, 'c')).toBe(-1); // no record named it
    expect(await store.compactJournal()).toBe(0); // nothing left
    const before = view(store);
    await store.close();
    const again = open(dir, NOPRE);
    expect(again.recovery.cut).toEqual([]);
    expect(again.recovery.beat).toBe(5);
    expect(view(again)).toEqual(before);
    // a multi-branch beat after the compaction is atomic as before: lose b's frame, the beat goes
    src.advance();
    await commitBeat(again, src, ['a', 'b']);
    await again.close();
    const bLog = path.join(dir, 'branches/b/frames.log');
    fs.truncateSync(bLog, fs.statSync(bLog).size - 1);
    const cut = open(dir, NOPRE);
    expect(cut.recovery.beat).toBe(5);
    expect(view(cut)).toEqual(before);
    await cut.close();
    await goesOn(dir, sourceAfterFill()); // the source as of beat 5: the cut beat 6 is committed again
  });

  it('op/compact empties it too, and so does passing journalCompactBytes', async () => {
    const dir = fresh();
    const { store, src } = await filled(dir);
    src.advance();
    await commitBeat(store, src, ['a', 'b']);
    expect(journalSize(dir)).toBeGreaterThan(0);
    await store.compact('b');
    expect(journalSize(dir)).toBe(0);
    await store.close();
    await goesOn(dir, src);

    const small = fresh();
    const s = open(small, { ...NOPRE, journalCompactBytes: 200 });
    const src2 = new Source(['a', 'b']);
    let most = 0;
    for (let beat = 0; beat < 12; beat++) {
      if (beat > 0) src2.advance();
      await commitBeat(s, src2, ['a', 'b']);
      most = Math.max(most, journalSize(small));
    }
    expect(most).toBeLessThanOrEqual(200 + 120); // bounded: the compaction queued behind a commit runs before the next one
    const before = view(s);
    await s.close();
    const r = open(small, NOPRE);
    expect(r.recovery.cut).toEqual([]);
    expect(view(r)).toEqual(before);
    await r.close();
  });

  it('a crash after every step (and with a torn temporary meta) recovers every beat exactly', async () => {
    const dir = fresh();
    const { store } = await filled(dir);
    const before = view(store);
    await store.close();
    const saved = saveFiles(dir);
    const stepsOf = (d: string): { steps: Array<() => void>; done: () => void } => {
      const branches = new Map<string, JournalBound & { close(): void }>();
      for (const name of fs.readdirSync(path.join(d, 'branches'))) {
        const { b } = openBranch(path.join(d, 'branches', name));
        branches.set(b.name, b);
      }
      const fd = fs.openSync(path.join(d, 'journal.log'), 'r+');
      return {
        steps: journalCompactionSteps(fd, branches, 5),
        done: () => {
          for (const b of branches.values()) b.close();
          fs.closeSync(fd);
        },
      };
    };
    const total = stepsOf(dir);
    const count = total.steps.length;
    total.done();
    expect(count).toBe(3); // seal a, seal b, truncate
    for (let k = 0; k <= count; k++) {
      for (const torn of [false, true]) {
        restoreFiles(saved);
        for (const name of ['a', 'b']) fs.rmSync(path.join(dir, 'branches', name, 'branch.meta.tmp'), { force: true });
        const { steps, done } = stepsOf(dir);
        for (const step of steps.slice(0, k)) step();
        done();
        // a crash inside the next meta write leaves its temporary file half written
        if (torn && k < 2) fs.writeFileSync(path.join(dir, 'branches', ['a', 'b'][k], 'branch.meta.tmp'), '{"format":1,"bra');
        const s = open(dir, NOPRE);
        expect(s.recovery.cut, `after ${k} steps${torn ? ', torn' : ''}`).toEqual([]);
        expect(s.recovery.beat).toBe(5);
        expect(view(s)).toEqual(before);
        await s.close();
        if (!torn) await goesOn(dir, sourceAfterFill());
      }
    }
  }, 60_000);

  it('the journal cut at every byte once the branches are sealed (a torn truncation) loses nothing', async () => {
    const dir = fresh();
    const { store } = await filled(dir);
    const before = view(store);
    await store.close();
    const branches = new Map<string, JournalBound & { close(): void }>();
    for (const name of ['a', 'b', 'c']) branches.set(name, openBranch(path.join(dir, 'branches', name)).b);
    const fd = fs.openSync(path.join(dir, 'journal.log'), 'r+');
    const steps = journalCompactionSteps(fd, branches, 5);
    for (const step of steps.slice(0, -1)) step(); // every seal, not the truncation
    fs.closeSync(fd);
    for (const b of branches.values()) b.close();
    const saved = saveFiles(dir);
    const size = journalSize(dir);
    for (let cut = 0; cut <= size; cut++) {
      restoreFiles(saved);
      fs.truncateSync(path.join(dir, 'journal.log'), cut);
      const s = open(dir, NOPRE);
      expect(s.recovery.beat, `journal cut at ${cut}`).toBe(5);
      expect(view(s)).toEqual(before);
      expect(s.recovery.cut.filter((c) => c.branch !== '')).toEqual([]); // only the journal's torn tail, if any
      await s.close();
    }
  }, 120_000);
});
