import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeHead, encodeInput, encodeState } from '../../../src/organs/episode/slice-runner.js';
import { encodeSnapshot, snapshotReads } from '../../../src/organs/episode/snapshot.js';
import { runtime } from './helpers.js';

/** A slice input around `snap`, the way guesses and submitted slices are encoded. */
const head = encodeHead({ name: 's', eid: 1, ticket: 1, signal: 'a/b', target: '/data' });
const encoded = (snap: Uint8Array) => Buffer.from(encodeInput(head, 1, -1, false, snap, encodeState(undefined)));

describe('read snapshots compared as bytes (run-ahead adoption)', () => {
  it('equal bytes exactly when the subtrees read are equal', () => {
    const rt = runtime({});
    const d = rt.find('/data')!;
    d.add('a', { value: 'one' }).add('x', { value: 'deep' });
    d.add('b', { value: 'two' });
    const reads = ['/data/a', '/data/b', '/data/missing'];
    const before = encodeSnapshot(rt, reads);
    expect(Buffer.from(encodeSnapshot(rt, reads)).equals(before)).toBe(true);
    expect(encoded(before).equals(encoded(encodeSnapshot(rt, reads)))).toBe(true);

    const changes: Array<() => void> = [
      () => rt.find('/data/a/x')!.set('DEEP'), // a value below a read path, same length
      () => rt.find('/data/a')!.add('y', { value: '' }), // a new child
      () => d.add('missing'), // a path that was absent now exists (no value)
      () => rt.find('/data/b')!.set('two!'), // a longer value
    ];
    let prev = before;
    for (const change of changes) {
      change();
      const next = encodeSnapshot(rt, reads);
      expect(Buffer.from(next).equals(prev)).toBe(false);
      expect(encoded(prev).equals(encoded(next))).toBe(false);
      expect(Buffer.from(encodeSnapshot(rt, reads)).equals(next)).toBe(true);
      prev = next;
    }
  });

  it('decodes to the tree a slice reads: values, children by name, missing paths absent', () => {
    const rt = runtime({});
    const d = rt.find('/data')!;
    d.add('a', { value: 'one' }).add('é', { value: new Uint8Array([0, 255]) });
    d.add('b');
    const tree = snapshotReads(rt, ['/data/a', '/data/b', '/data/none', '/data/a']);
    expect(Object.keys(tree)).toEqual(['/data/a', '/data/b']);
    expect(Buffer.from(tree['/data/a'].v!).toString()).toBe('one');
    expect([...tree['/data/a'].k!.é.v!]).toEqual([0, 255]);
    expect(tree['/data/a'].k!.é.k).toBeUndefined();
    expect(tree['/data/b']).toEqual({});
    expect(decodeSnapshot(encodeSnapshot(rt, []))).toEqual({});
  });

  it('read order counts: the same roots in another order encode differently', () => {
    const rt = runtime({});
    const d = rt.find('/data')!;
    d.add('a', { value: 'v' });
    d.add('b', { value: 'v' });
    expect(Buffer.from(encodeSnapshot(rt, ['/data/a', '/data/b'])).equals(encodeSnapshot(rt, ['/data/b', '/data/a']))).toBe(false);
  });
});
