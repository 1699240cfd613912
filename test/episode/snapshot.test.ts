import { describe, expect, it } from 'vitest';
import { encodeInput } from '../../src/kernel/episode/slice-runner.js';
import { snapshotReads, snapshotsEqual } from '../../src/kernel/episode/snapshot.js';
import { runtime } from './helpers.js';

/** A slice input around `snap`, the way guesses and submitted slices are encoded. */
const encoded = (snap: ReturnType<typeof snapshotReads>) =>
  Buffer.from(encodeInput({ name: 's', eid: 1, ticket: 1, beat: 1, signal: 'a/b', target: '/data', state: undefined, ioLeft: -1, cancelled: false, snap }));

describe('read snapshots compared without encoding (run-ahead adoption)', () => {
  it('equal exactly when their slice inputs encode to the same bytes', () => {
    const rt = runtime({});
    const d = rt.find('/data')!;
    d.add('a', { value: 'one' }).add('x', { value: 'deep' });
    d.add('b', { value: 'two' });
    const reads = ['/data/a', '/data/b', '/data/missing'];
    const before = snapshotReads(rt, reads);
    const same = snapshotReads(rt, reads);
    expect(snapshotsEqual(before, same)).toBe(true);
    expect(encoded(before).equals(encoded(same))).toBe(true);

    const changes: Array<() => void> = [
      () => rt.find('/data/a/x')!.set('DEEP'), // a value below a read path, same length
      () => rt.find('/data/a')!.add('y', { value: '' }), // a new child
      () => d.add('missing'), // a path that was absent now exists (no value)
      () => rt.find('/data/b')!.set('two!'), // a longer value
    ];
    let prev = before;
    for (const change of changes) {
      change();
      const next = snapshotReads(rt, reads);
      expect(snapshotsEqual(prev, next)).toBe(false);
      expect(encoded(prev).equals(encoded(next))).toBe(false);
      expect(snapshotsEqual(next, snapshotReads(rt, reads))).toBe(true);
      prev = next;
    }
  });

  it('key order counts: the same entries in another order encode differently', () => {
    const v = new Uint8Array([1]);
    const ab = { '/a': { v }, '/b': { v } };
    const ba = { '/b': { v }, '/a': { v } };
    expect(snapshotsEqual(ab, ba)).toBe(false);
    expect(encoded(ab).equals(encoded(ba))).toBe(false);
    expect(snapshotsEqual({ '/a': {} }, { '/a': { k: {} } })).toBe(false);
  });
});
