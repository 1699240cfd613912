/**
 * Deep trees (docs/kernel.md, "Depth"): one chain `depth` cells deep through every walk over
 * the tree — queries, the beat digest and its replay, frames written, read and applied (delta,
 * snapshot, a removal's delta), clones, read snapshots of episodes, persistence and removal.
 * Shared by deep.test.ts (20,000 deep: past where recursion overflows the stack) and
 * deep.soak.test.ts (100,000 deep).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { applyFrame, blake3, createRuntime, encodeBranch, readFrame, type Cell, type Runtime } from '../../src/index.js';
import { SNAPSHOT_MAX_CELLS, snapshotReads, type SnapNode } from '../../src/organs/episode/snapshot.js';
import { removeTempDirs, tempDir } from '../persistence/cps-helpers.js';

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

/**
 * A runtime whose `deep/build` impulse builds /data/chain/n/n/... (`depth` cells below chain)
 * and `deep/drop` removes the chain below /data/chain (`hard`: for good).
 */
function app(depth: number, options: Record<string, unknown> = {}): Runtime {
  const rt = createRuntime(options as never) as Runtime;
  rt.registerEnzyme({
    name: 'build',
    signal: 'deep/build',
    run(ctx) {
      let c = ctx.rt.find('/data')!.add('chain');
      for (let i = 0; i < depth; i++) c = c.add('n', { value: `v${i % 1000}` });
    },
  });
  rt.registerEnzyme({
    name: 'drop',
    signal: 'deep/drop',
    run(ctx) {
      const top = ctx.rt.find('/data/chain')!.childrenRaw()[0];
      if (ctx.payload === 'hard') top.removeHard();
      else top.remove();
    },
  });
  rt.bind('/data', 'build');
  rt.bind('/data', 'drop');
  return rt;
}

/** (Assertions compare cells by identity: a failing `toBe` would print a chain too deep to format.) */
/** The deepest cell below `c` (following first children, now or as of `atBeat`), and how deep it is. */
function bottom(c: Cell, atBeat?: number): { cell: Cell; depth: number } {
  let depth = 0;
  for (let k = c.children(atBeat); k.length > 0; k = c.children(atBeat)) {
    c = k[0];
    depth++;
  }
  return { cell: c, depth };
}

/** The hash of the snapshot frame of /data/chain as of `beat`: equal bytes, equal trees (a hash: a failing comparison prints 64 characters, not a diff of two long frames). */
const snapshotOf = (rt: Runtime, beat: number): string => hex(blake3(encodeBranch(rt.find('/data/chain', beat)!, { mode: 'snapshot', beat })));

/** `timeout`: per test, in ms (generous: a shared machine; the old quadratic walks took minutes at 100,000). */
export function deepTreeSuite(depth: number, timeout: number): void {
  describe(`a chain ${depth.toLocaleString('en-US')} deep`, { timeout }, () => {
    afterAll(removeTempDirs);

    it('queries, traverses and clones it without recursion', () => {
      const rt = createRuntime();
      let c = rt.find('/data')!.add('chain');
      for (let i = 0; i < depth; i++) c = c.add('n');
      const walked: Cell[] = [];
      rt.find('/data')!.traverse((x) => void walked.push(x));
      const all = rt.query('/data/**');
      expect(all.length).toBe(walked.length);
      expect(all.every((x, i) => x === walked[i])).toBe(true); // depth-first store order
      expect(rt.query('/data/chain/**/n').length).toBe(depth);
      expect(rt.query('/**/n/n').length).toBe(depth - 1);
      expect(rt.find(`/data/chain${'/n'.repeat(depth)}`) === c).toBe(true);
      const copy = rt.find('/data/chain')!.cloneTo(rt.find('/tmp')!);
      expect(bottom(copy).depth).toBe(depth);
      expect(rt.query('/tmp/chain/**').length).toBe(depth + 1);
      // a link back up ends the walk (each cell is expanded once per pattern segment)
      c.add('up', { link: rt.find('/data/chain')! });
      expect(rt.query('/data/chain/**/up').length).toBe(1);
      expect(rt.query('/data/**').length).toBe(walked.length + 1);
    });

    it('checks locks all the way up while building it under a held lock, and sees a lock taken later', () => {
      const rt = createRuntime();
      const elsewhere = rt.find('/tmp')!.lockStore(); // any held lock makes every mutation check its ancestors
      const top = rt.find('/data')!.add('chain');
      let c = top;
      for (let i = 0; i < depth; i++) c = c.add('n');
      const codeOf = (fn: () => unknown): string | undefined => {
        try {
          fn();
          return undefined;
        } catch (e) {
          return (e as { code?: string }).code;
        }
      };
      const t = top.lockStore(); // taken after the checks down the chain: the next one sees it
      expect(codeOf(() => c.add('x'))).toBe('ERR_LOCKED');
      expect(codeOf(() => t.run(() => c.add('x')))).toBeUndefined();
      expect(codeOf(() => c.add('y'))).toBe('ERR_LOCKED'); // the grant ended with the run
      top.unlockStore(t);
      expect(codeOf(() => c.add('y'))).toBeUndefined();
      rt.find('/tmp')!.unlockStore(elsewhere);
      expect(c.childCount()).toBe(2);
    });

    it('runs the beat that builds it (digest included) and replays it to the same digest', () => {
      const rt = app(depth);
      rt.enqueue('deep/build', '/data');
      const beat = rt.step();
      const digest = rt.digest(beat);
      expect(digest?.length).toBe(32);
      expect(bottom(rt.find('/data/chain')!).depth).toBe(depth);
      const again = app(depth, { replay: rt.recording() });
      expect(again.step()).toBe(beat);
      expect(hex(again.digest(beat))).toBe(hex(digest));
      expect(snapshotOf(again, beat)).toBe(snapshotOf(rt, beat));
    });

    it('frames it (delta and snapshot), reads the frames back and applies them into fresh runtimes', () => {
      const rt = app(depth);
      rt.enqueue('deep/build', '/data');
      const beat = rt.step();
      const chain = rt.find('/data/chain')!;
      const want = snapshotOf(rt, beat);
      const copies = (['delta', 'snapshot'] as const).map((mode) => {
        const frame = encodeBranch(chain, { mode, beat });
        const read = readFrame(frame);
        expect(read.cells.length).toBe(depth + 1);
        expect(read.cells[depth].parent).toBe(depth - 1);
        const fresh = createRuntime();
        applyFrame(fresh, frame);
        expect(snapshotOf(fresh, beat)).toBe(want);
        return fresh;
      });
      // the removal's delta (every cell below the branch root deleted) applied where the chain is
      const copy = copies[0];
      rt.enqueue('deep/drop', '/data');
      const gone = rt.step();
      const removal = encodeBranch(chain, { mode: 'delta', beat: gone });
      expect(readFrame(removal).cells.length).toBe(depth + 1);
      applyFrame(copy, removal);
      expect(copy.find('/data/chain/n') === undefined).toBe(true);
      expect(snapshotOf(copy, beat)).toBe(want); // still readable in the past
      expect(snapshotOf(copy, gone)).toBe(snapshotOf(rt, gone));
    });

    it('hands an episode a read snapshot of it (as deep as a snapshot may hold)', () => {
      const rt = createRuntime();
      const cells = Math.min(depth, SNAPSHOT_MAX_CELLS - 1);
      let c = rt.find('/data')!.add('chain');
      for (let i = 0; i < cells; i++) c = c.add('n', { value: 'x' });
      let node: SnapNode | undefined = snapshotReads(rt, ['/data/chain'])['/data/chain'];
      let seen = 0;
      while (node?.k?.n !== undefined) {
        node = node.k.n;
        seen++;
      }
      expect(seen).toBe(cells);
      expect(Buffer.from(node!.v!).toString()).toBe('x');
    });

    it('persists it, opens it again, and removes it (soft, then for good)', async () => {
      const dir = tempDir('deep');
      const close = (r: Runtime): Promise<void> => (r as unknown as { close(): Promise<void> }).close();
      const rt = app(depth, { store: { dir }, record: false });
      rt.enqueue('deep/build', '/data');
      const beat = rt.step();
      const want = snapshotOf(rt, beat);
      await close(rt);

      const back = app(depth, { store: { dir }, record: false });
      expect(snapshotOf(back, beat)).toBe(want);
      back.enqueue('deep/drop', '/data');
      const gone = back.step();
      expect(back.find('/data/chain/n') === undefined).toBe(true);
      await close(back);

      const last = app(depth, { store: { dir }, record: false });
      expect(last.find('/data/chain/n') === undefined).toBe(true);
      expect(snapshotOf(last, beat)).toBe(want); // the past is still there
      expect(bottom(last.find('/data/chain', gone - 1)!, gone - 1).depth).toBe(depth);
      last.enqueue('deep/drop', '/data', 'hard');
      last.step();
      expect(last.find('/data/chain')!.childrenRaw().length).toBe(0);
      await close(last);
    });
  });
}
