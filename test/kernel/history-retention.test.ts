import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import { encodeBranch } from '../../src/serialization/writer.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** One cell set at every beat, one set once at beat 0; returns the value each beat ended with. */
function run(beats: number, historyBeats?: number) {
  const rt = createRuntime({ historyBeats, record: false });
  const data = rt.find('/data')!;
  const hot = data.add('hot', { value: '0' });
  const sparse = data.add('sparse', { value: 'early' });
  rt.advance();
  const model: string[] = ['0'];
  for (let b = 1; b <= beats; b++) {
    hot.set(`v${b}`);
    model[b] = `v${b}`;
    rt.advance();
  }
  return { rt, hot, sparse, model };
}

describe('kernel payload history retention (historyBeats)', () => {
  it('keeps a bounded window of versions: entries stay flat, reads inside the window are exact, older ones are refused', () => {
    const W = 256;
    const a = run(2000, W);
    const mid = a.rt.stats().historyEntries;
    // at most the window plus the beats between two retention passes (W / 4), plus one per chain
    expect(mid).toBeLessThanOrEqual(W + W / 4 + 4);
    for (let b = 2001; b <= 6000; b++) {
      a.hot.set(`v${b}`);
      a.model[b] = `v${b}`;
      if (b === 5990) a.sparse.set('late');
      a.rt.advance();
    }
    const end = a.rt.stats().historyEntries;
    expect(end).toBeLessThanOrEqual(W + W / 4 + 4);
    expect(a.rt.historyFloor).toBeGreaterThanOrEqual(6001 - W - W / 4);
    const floor = a.rt.historyFloor;
    for (let b = floor; b <= 6000; b++) expect(text(a.hot.valueAt(b))).toBe(a.model[b]);
    // the sparse cell's first version is older than the window and still current inside it
    expect(text(a.sparse.valueAt(floor))).toBe('early');
    expect(text(a.sparse.valueAt(5989))).toBe('early');
    expect(text(a.sparse.valueAt(5990))).toBe('late');
    for (const read of [() => a.hot.valueAt(floor - 1), () => a.rt.find('/data/hot', 0), () => a.rt.find('/data')!.children(1), () => a.rt.query('/data/*', floor - 1)]) {
      expect(read).toThrow(expect.objectContaining({ code: 'ERR_HISTORY_PRUNED' }));
    }
    expect(() => encodeBranch(a.rt.find('/data')!, { mode: 'snapshot', beat: floor - 1 })).toThrow(expect.objectContaining({ code: 'ERR_HISTORY_PRUNED' }));
    // the dropped VALUE bytes are garbage the arena gives back
    const s = a.rt.stats();
    expect(s.arenaBytes - s.arenaGarbage).toBeLessThan(64 * 1024);
  });

  it('0 keeps every version, and the default keeps 65,536 beats', () => {
    const all = run(3000, 0);
    expect(all.rt.stats().historyEntries).toBeGreaterThanOrEqual(3000);
    expect(all.rt.historyFloor).toBe(0);
    expect(text(all.hot.valueAt(1))).toBe('v1');
    const dflt = createRuntime();
    expect(dflt.historyBeats).toBe(65_536);
  });

  it('refuses a bad historyBeats', () => {
    for (const v of [-1, 1.5, '8', Number.NaN]) expect(() => createRuntime({ historyBeats: v as number })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});
