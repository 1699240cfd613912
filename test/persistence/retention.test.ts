import { afterAll, describe, expect, it } from 'vitest';
import { readFrame } from '../../src/serialization/reader.js';
import type { PersistentRuntime } from '../../src/runtime/persistent.js';
import { createRuntime } from '../../src/runtime/create.js';
import { installApp, open, put, removeTempDirs, tempDir } from './cps-helpers.js';

afterAll(removeTempDirs);

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/**
 * Run beats until `to`, one small set per beat, waiting for the store every 64 beats and at the
 * end: `flush()` resolves once every beat is durable and the automatic checkpoints (and their
 * compactions) queued behind them have run, as they run in the writer's sequence.
 */
async function until(rt: PersistentRuntime, to: number): Promise<void> {
  while (rt.beat <= to) {
    put(rt, 'app', 'x', `v${Math.max(rt.beat, 1)}`); // beat 0 is boot: the first put runs beat 1
    if (rt.beat % 64 === 0) await rt.flush();
  }
  await rt.flush();
}

/** The newest checkpoint frame of `branch`. */
function checkpointFrame(rt: PersistentRuntime, branch: string): Uint8Array {
  return [...rt.persist.engine.frames(branch, { fromCheckpoint: true })][0].bytes;
}

describe('store retention (retain.beats, compaction after automatic checkpoints)', () => {
  it('store bytes and checkpoint size stay bounded as beats go by; frames.log keeps only the frames after the newest checkpoint', async () => {
    const dir = tempDir('retain');
    const rt = open(dir, { checkpointEvery: 32, retain: { beats: 32 }, flatfile: { preallocate: false } });
    await until(rt, 320);
    const b1 = rt.persist.engine.stats().bytes;
    const c1 = checkpointFrame(rt, 'app').length;
    await until(rt, 960);
    const b3 = rt.persist.engine.stats().bytes;
    const c3 = checkpointFrame(rt, 'app').length;
    // 3x the beats: not 3x (linear) nor 9x (quadratic) the bytes
    expect(b3 / b1).toBeLessThan(1.5);
    expect(c3 / c1).toBeLessThan(1.2);
    const s = rt.persist.engine.stats('app');
    expect(s.checkpoints).toBe(1);
    expect(s.frames).toBeLessThanOrEqual(32);
    // the checkpoint carries the retained window of history, not everything back to beat 0
    const cp = readFrame(checkpointFrame(rt, 'app'));
    expect(cp.history.payload).toBe(32);
    const hist = cp.cells.find((c) => c.history.length > 0)!.history;
    expect(hist.length).toBeLessThanOrEqual(33);
    await rt.close();
  }, 20_000);

  it('after a restart as-of reads inside the retained window are exact, older ones are refused with ERR_HISTORY_PRUNED', async () => {
    const dir = tempDir('retain');
    const rt = open(dir, { checkpointEvery: 50, retain: { beats: 40 } });
    await until(rt, 400);
    const cpBeat = rt.persist.engine.head('app')!.checkpointBeat;
    const last = rt.beat - 1;
    await rt.close();
    const again = open(dir, { checkpointEvery: 50, retain: { beats: 40 } });
    expect(again.historyFloor).toBe(cpBeat - 40);
    const x = again.find('/data/app/x')!;
    expect(x.text).toBe(`v${last}`);
    // the first put (beat 1) created the branch, so beat b holds `v${b}`
    for (let b = again.historyFloor; b <= last; b++) expect(text(x.valueAt(b))).toBe(`v${b}`);
    expect(() => x.valueAt(again.historyFloor - 1)).toThrow(expect.objectContaining({ code: 'ERR_HISTORY_PRUNED' }));
    expect(() => again.find('/data/app/x', 1)).toThrow(expect.objectContaining({ code: 'ERR_HISTORY_PRUNED' }));
    await again.close();
  });

  it('a snapshot never claims history the kernel already dropped (historyBeats below retain.beats)', async () => {
    const dir = tempDir('retain');
    const store = { dir, checkpointEvery: 100, retain: { beats: 400 } };
    const rt = createRuntime({ store, historyBeats: 40, record: false });
    installApp(rt);
    await until(rt, 500);
    const cpBeat = rt.persist.engine.head('app')!.checkpointBeat;
    // the kernel keeps 40 beats (plus up to 10 between its retention passes): the window says so
    expect(readFrame(checkpointFrame(rt, 'app')).history.payload).toBeLessThanOrEqual(50);
    const last = rt.beat - 1;
    await rt.close();
    const again = open(dir, { checkpointEvery: 100, retain: { beats: 400 } });
    expect(again.historyFloor).toBeGreaterThan(cpBeat - 400);
    const x = again.find('/data/app/x')!;
    for (let b = again.historyFloor; b <= last; b++) expect(text(x.valueAt(b))).toBe(`v${b}`);
    expect(() => x.valueAt(again.historyFloor - 1)).toThrow(expect.objectContaining({ code: 'ERR_HISTORY_PRUNED' }));
    await again.close();
  });

  it('retain: { beats: 0, compact: false } keeps every frame and all history, as before', async () => {
    const dir = tempDir('retain');
    const rt = open(dir, { checkpointEvery: 50, retain: { beats: 0, compact: false } });
    await until(rt, 200);
    expect(rt.persist.engine.stats('app').checkpoints).toBe(4);
    expect(rt.persist.engine.frameAt('app', 1)).toBeDefined();
    await rt.close();
    const again = open(dir);
    expect(again.historyFloor).toBe(0);
    expect(text(again.find('/data/app/x')!.valueAt(1))).toBe('v1');
    await again.close();
  });

  it('refuses bad retain options and changes nothing', () => {
    for (const [retain, code] of [
      [{ beats: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ beats: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
      [{ compact: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
      ['all', 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      expect(() => open(tempDir('retain'), { retain: retain as never })).toThrow(expect.objectContaining({ code }));
    }
  });
});
