import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFrame, createRuntime, encodeBranch, readFrame, type Runtime } from '../../src/index.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { FINISH_PARAMS } from '../../src/native/binding.js';
import { buildHistory, dumpBranch, historyArb, refinishMutated } from './helpers.js';

/** Everything a failed apply must leave alone: a full snapshot frame of /data, a raw dump of the tree, counters. */
function state(rt: Runtime): unknown {
  const data = rt.find('/data')!;
  const frame = encodeBranch(data, { mode: 'snapshot', history: { payload: rt.beat + 1, manifest: rt.beat + 1 } });
  const { historyEntries, names } = rt.stats();
  return { frame: Buffer.from(frame).toString('hex'), tree: dumpBranch(rt.root, rt.beat), beat: rt.beat, historyEntries, names, shadows: rt.shadows.size };
}

describe('frames: applyFrame is atomic', () => {
  it('leaves the runtime exactly as it was when an intact but hostile delta fails, even part-way through its replay', () => {
    let failed = 0;
    fc.assert(
      fc.property(historyArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), (beats, edits) => {
        const { rt, branch } = buildHistory(beats);
        const last = rt.beat;
        const frames: Uint8Array[] = [];
        let prev: Uint8Array = new Uint8Array(32);
        for (let b = 0; b <= last; b++) {
          frames.push(encodeBranch(branch, { beat: b, mode: 'delta', prevRoot: prev }));
          prev = readFrame(frames[b]).root;
        }
        const rt2 = createRuntime();
        for (const f of frames.slice(0, -1)) applyFrame(rt2, f);
        const bad = refinishMutated(frames[last], edits);
        if (bad === undefined) return;
        const before = state(rt2);
        try {
          applyFrame(rt2, bad);
          return; // the edit still made a frame that fits: nothing to check
        } catch (e) {
          const code = (e as { code?: string }).code;
          expect(code).toMatch(/^ERR_/);
          failed++;
        }
        expect(state(rt2)).toEqual(before);
        // and the intact frame still applies afterwards, to the same tree as the source
        applyFrame(rt2, frames[last]);
        expect(dumpBranch(rt2.find('/data/app')!, last)).toEqual(dumpBranch(branch, last));
      }),
      {
        numRuns: 120,
        examples: [
          [
            [[]],
            [
              [1457968176, 1],
              [1236778251, 3],
            ],
          ],
        ],
      }, // the example: a failed apply once left an interned name behind
    );
    expect(failed).toBeGreaterThan(20);
  }, 60_000);

  it('undoes a replay the kernel stops part-way: deletions, tombstones, payload versions, links and creations', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app', { store: 'list', indexing: 'insertion' });
    const a = app.add('a', { value: 'one' });
    const b = app.add('b', { value: new Uint8Array(40).fill(1) });
    app.add('ln', { link: a });
    app.add('c', { link: b });
    const f0 = encodeBranch(app, { mode: 'delta' });
    rt.advance();
    b.set(new Uint8Array(40).fill(2)); // a payload version, then the cell goes in the same beat
    b.remove();
    a.remove(); // tombstones ln
    const d = app.add('d', { value: 'new' });
    d.add('e', { value: 'deep' });
    app.add('f', { link: d });
    app.add('z').add('inner'); // z is created last and has a store
    const f1 = encodeBranch(app, { mode: 'delta', prevRoot: readFrame(f0).root });
    // make z's store an rbtree with insertion indexing: only the kernel refuses it, when z is made
    const read = readFrame(f1);
    const z = read.cells.filter((c) => c.parent === 0 && c.store !== undefined).pop()!;
    const zKey = (z.ordinal * 256 + 3).toString(16).padStart(10, '0'); // ordinal u32 BE, type 0x03
    const manifest = read.records.find((r) => r.type === 'manifest_delta' && r.key === zKey)!;
    const bodyAt = manifest.offset + manifest.length - 4 - 3; // kind, indexing, varint cursor (< 128)
    const edited = new Uint8Array(f1.length + 4096);
    edited.set(f1);
    edited[bodyAt] = 3; // rbtree
    edited[bodyAt + 1] = 0; // insertion
    const trailer = read.records[read.records.length - 1];
    const params = new Float64Array(FINISH_PARAMS);
    params.set([read.beat, 0, read.caps, 0, 0, 0, 0]);
    const len = fallbackBinding.flatFinish(edited, trailer.offset, params, read.prevRoot);
    const hostile = edited.subarray(0, len);
    expect(readFrame(hostile).cells.length).toBe(read.cells.length);
    const rt2 = createRuntime();
    applyFrame(rt2, f0);
    const before = state(rt2);
    let code: string | undefined;
    try {
      applyFrame(rt2, hostile);
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    expect(code).toBe('ERR_INVALID_STORE'); // the kernel's refusal, raised mid-replay
    expect(state(rt2)).toEqual(before);
    expect(rt2.find('/data/app/ln')!.isDead).toBe(false);
    applyFrame(rt2, f1);
    expect(dumpBranch(rt2.find('/data/app')!, 1)).toEqual(dumpBranch(app, 1));
  });
});
