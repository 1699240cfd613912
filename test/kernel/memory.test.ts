/** Memory stays bounded: arena compaction, namepool references, hash-store name chains. */
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/internal.js';
import { CHUNK_SIZE } from '../../src/kernel/arena.js';

const te = new TextEncoder();
const td = new TextDecoder();

describe('byte arena', () => {
  it('reclaims bytes dropped by setHard and same-beat replacements', () => {
    const rt = createRuntime();
    const x = rt.find('/data')!.add('x', { value: 'start' });
    const y = rt.find('/data')!.add('y', { value: 'other' });
    for (let i = 0; i < 300_000; i++) x.setHard(new Uint8Array(8 + (i % 3)).fill(i & 255)); // sizes change: no in-place overwrite
    for (let i = 0; i < 300_000; i++) y.set(new Uint8Array(8 + (i % 3)).fill(i & 255)); // same beat: replaced, not kept
    const s = rt.stats();
    expect(s.arenaCapacity).toBeLessThanOrEqual(3 * CHUNK_SIZE);
    expect(s.arenaBytes - s.arenaGarbage).toBeLessThan(4096);
    expect(Array.from(x.value!)).toEqual(Array.from(new Uint8Array(8 + (299_999 % 3)).fill(299_999 & 255)));
    expect(y.value!.length).toBe(8 + (299_999 % 3));
  });

  it('reclaims bytes of hard-deleted cells and keeps every live past value intact', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const keep = d.add('keep');
    for (let i = 1; i <= 100; i++) keep.add(i, { value: `k${i}@0` });
    rt.advance();
    for (let i = 1; i <= 100; i++) keep.child(i)!.set(`k${i}@1`);
    const tmp = d.add('tmp');
    for (let round = 0; round < 4; round++) {
      const batch = tmp.add(null);
      for (let i = 0; i < 40_000; i++) batch.add(null, { value: new Uint8Array(16).fill(i & 255) });
      rt.advance();
      batch.removeHard();
    }
    const s = rt.stats();
    expect(s.arenaCapacity).toBeLessThanOrEqual(2 * CHUNK_SIZE);
    expect(rt.history.live).toBe(100);
    for (let i = 1; i <= 100; i++) {
      const c = keep.child(i)!;
      expect(td.decode(c.valueAt(0))).toBe(`k${i}@0`);
      expect(td.decode(c.valueAt(1))).toBe(`k${i}@1`);
      expect(c.text).toBe(`k${i}@1`);
    }
    rt.compact(); // explicit compaction is safe at any time
    expect(td.decode(keep.child(50)!.valueAt(0))).toBe('k50@0');
    expect(rt.stats().arenaGarbage).toBe(0);
  });

  it('leaves no bytes behind for a refused add', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    d.add('x');
    const before = rt.stats();
    expect(() => d.add('x', { value: 'dup' })).toThrow(expect.objectContaining({ code: 'ERR_NAME_EXISTS' }));
    expect(() => d.add('y', { value: 'v', store: 'queue', indexing: 'name' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STORE' }));
    const after = rt.stats();
    expect(after.arenaBytes - after.arenaGarbage).toBe(before.arenaBytes - before.arenaGarbage);
  });
});

describe('namepool references held by cells', () => {
  it('a cell holds one reference on its name; hard delete gives it back', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const a = d.add('user-2024');
    const b = d.add('MyDom~item-7');
    expect(rt.namepool.entries().map(([, t]) => t)).toEqual(['user-2024', 'MyDom', 'item-7']);
    expect(() => d.add('user-2024')).toThrow(expect.objectContaining({ code: 'ERR_NAME_EXISTS' }));
    rt.advance();
    a.remove(); // soft: the name stays (history still shows the cell)
    expect(rt.namepool.entries().length).toBe(3);
    expect(d.child('user-2024', 0) === a).toBe(true);
    a.removeHard();
    b.removeHard();
    expect(rt.namepool.entries()).toEqual([]);
    // a Name parsed once holds its own reference; cells added with it take one each
    const n = rt.name('shared-name-1');
    const c1 = d.add(n);
    d.add('other').add(n);
    c1.removeHard();
    expect(rt.namepool.entries().map(([, t]) => t)).toEqual(['shared-name-1']);
    expect(rt.namepool.release(n.tag)).toBe(true);
    expect(rt.find('/data/other/shared-name-1')?.name).toBe('shared-name-1');
  });

  it('queries and lookups never intern', () => {
    const rt = createRuntime();
    rt.find('/data')!.add('item-1').add('leaf');
    const size = rt.namepool.size;
    for (let i = 0; i < 100; i++) {
      expect(rt.query(`/data/it*-${i}`)).toEqual(i === 1 ? [rt.find('/data/item-1')] : []);
      expect(rt.query(`/data/unknown-${i}/*`)).toEqual([]);
      expect(rt.find(`/data/unknown-${i}`)).toBeUndefined();
    }
    expect(rt.query('/data/item-1/*').map((c) => c.name)).toEqual(['leaf']);
    expect(rt.namepool.size).toBe(size);
  });
});

describe('hash store: same-name chains', () => {
  it('past lookups and hard deletes find the right copy among same-name chains', () => {
    const rt = createRuntime();
    const big = rt.find('/data')!.add('big');
    const N = 60_000;
    const old = [];
    for (let i = 1; i <= N; i++) big.add(i, { value: te.encode('a') });
    rt.advance();
    for (let i = 1; i <= N; i++) {
      const c = big.child(i)!;
      c.remove();
      old.push(c);
      big.add(i, { value: te.encode('b') }); // every name now has a deleted older copy
    }
    rt.advance();
    // With a scan per lookup this would be N * 2N steps; chains keep it to the copies of a name.
    let wrong = 0;
    for (let i = 1; i <= N; i++) if (big.child(i, 0) !== old[i - 1]) wrong++;
    for (const c of old) c.removeHard();
    for (let i = 1; i <= N; i++) if (big.child(i, 0) !== undefined) wrong++;
    expect(wrong).toBe(0);
    expect(big.children().length).toBe(N);
    expect(td.decode(big.child(N)!.value)).toBe('b');
  });
});
