/** The trailing writer's group commit, on a real flatfile store in every I/O mode. */
import { afterEach, describe, expect, it } from 'vitest';
import { BeatWriter, GROUP_MAX_BEATS, type QueuedBeat } from '../../src/persistence/service/writer.js';
import { readFrame } from '../../src/index.js';
import { ioModes, open, Source, tempDirs, view } from './helpers.js';

const { fresh, clean } = tempDirs();
afterEach(clean);

/** A writer on a fresh store, recording its events. */
function setup(options: object) {
  const dir = fresh();
  const store = open(dir, options);
  const durable: number[] = [];
  const failures: Array<{ failed: number; dropped: number[]; code: string }> = [];
  const refused: Array<[number, string, string]> = [];
  const writer = new BeatWriter(
    store,
    {
      durable: (b: QueuedBeat) => {
        durable.push(b.beat);
        for (const [branch, e] of b.refused ?? []) refused.push([b.beat, branch, (e as { code: string }).code]);
      },
      failed: (b, dropped, e) => failures.push({ failed: b.beat, dropped: dropped.map((d) => d.beat), code: (e as { code: string }).code }),
    },
    -1,
  );
  return { dir, store, writer, durable, failures, refused, src: new Source(['a', 'b']) };
}

/** Frames the current beat of `src` for `touch` as a writer would get them. */
function frames(src: Source, touch: string[]) {
  return touch.map((b) => {
    const bytes = src.frame(b);
    return { branch: b, bytes, root: readFrame(bytes).root, cause: 'durable' };
  });
}

for (const mode of ioModes()) {
  describe(`trailing writer group commit (${mode.name})`, () => {
    it('puts the beats waiting behind a commit into one transaction, at most GROUP_MAX_BEATS each; every beat is durable in order', async () => {
      const { dir, store, writer, durable, failures, src } = setup(mode.options);
      const n = 2 * GROUP_MAX_BEATS + 40;
      const beats: number[] = [];
      for (let i = 0; i < n; i++) {
        const touch = i === 0 ? ['a', 'b'] : [[], ['a'], ['a', 'b']][i % 3]; // some beats without frames
        if (i > 0) src.advance(touch);
        writer.push(src.beat, frames(src, touch));
        beats.push(src.beat);
      }
      // pushed in one turn: the drain finds them all waiting
      await writer.settle();
      expect(failures).toEqual([]);
      expect(writer.commits).toBe(Math.ceil(n / GROUP_MAX_BEATS));
      expect(writer.durableBeat).toBe(beats[n - 1]);
      expect(writer.backlog).toBe(0);
      expect(durable).toEqual(beats);
      const before = view(store);
      expect(before.a).toHaveLength(n - Math.floor((n - 1) / 3));
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.cut).toEqual([]);
      expect(view(again)).toEqual(before);
      await again.close();
    });

    it('beats queued while a commit is in flight share the next one', async () => {
      const { store, writer, durable, src } = setup(mode.options);
      writer.push(src.beat, frames(src, ['a']));
      await null; // the drain starts: beat 0 alone is in flight
      for (let i = 0; i < 10; i++) {
        src.advance(['a']);
        writer.push(src.beat, frames(src, ['a']));
      }
      await writer.settle();
      expect(writer.commits).toBe(2);
      expect(durable).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(store.head('a')!.beat).toBe(10);
      await store.close();
    });

    it('a frame the engine refuses stays out with its branch; the other branches of its beats commit, and the beats report it', async () => {
      const { dir, store, writer, durable, failures, refused, src } = setup(mode.options);
      writer.push(src.beat, frames(src, ['a', 'b']));
      await writer.settle();
      const stranger = new Source(['a']); // its first frame starts a new chain: it does not continue beat 2
      for (let i = 1; i <= 4; i++) {
        src.advance(['a', 'b']);
        stranger.advance(['a']);
        const fs = frames(src, ['a', 'b']);
        if (i === 3) fs[0] = frames(stranger, ['a'])[0];
        writer.push(src.beat, fs);
      }
      const ran = writer.run(async () => 'after');
      await writer.settle();
      expect(await ran).toBe('after');
      expect(failures).toEqual([]);
      expect(durable).toEqual([0, 1, 2, 3, 4]);
      expect(writer.durableBeat).toBe(4);
      // what the writer told: beat 3's frame of a was refused, and beat 4's (chained to it) stayed out with it
      expect(refused).toEqual([
        [3, 'a', 'ERR_STORE_FRAME'],
        [4, 'a', 'ERR_STORE_FRAME'],
      ]);
      expect(store.lastBeat).toBe(4);
      expect([...store.frames('a')].map((f) => f.beat)).toEqual([0, 1, 2]);
      expect([...store.frames('b')].map((f) => f.beat)).toEqual([0, 1, 2, 3, 4]);
      await store.close();
      const again = open(dir, mode.options);
      expect(again.recovery.cut).toEqual([]);
      expect([...again.frames('b')].map((f) => f.beat)).toEqual([0, 1, 2, 3, 4]);
      await again.close();
    });
  });
}
