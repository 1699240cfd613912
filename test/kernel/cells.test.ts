import { describe, expect, it } from 'vitest';
import { createRuntime, ROOT_LAYOUT, type Cell, type ProxyAdapter, type Runtime } from '../../src/internal.js';

const te = new TextEncoder();
const bytes = (s: string) => te.encode(s);
const code = (c: string) => expect.objectContaining({ code: c });

/** A deterministic snapshot of the whole tree (raw: deleted and veiled included). */
function snapshot(rt: Runtime): string {
  const lines: string[] = [];
  rt.root.traverse(
    (c, d) => {
      lines.push(`${d}:${c.name}:${c.type}:${c.created}:${c.deleted}:${c.modified}:${c.flags}:${c.value ? Array.from(c.value).join(',') : '-'}:${c.payloadBeats().join(',')}`);
    },
    { raw: true },
  );
  return `${lines.join('\n')}\n#${rt.namepool.size}`;
}

/** Run `fn`, expect the coded error, and the tree unchanged. */
function refuses(rt: Runtime, errCode: string, fn: () => unknown): void {
  const before = snapshot(rt);
  expect(fn).toThrow(code(errCode));
  expect(snapshot(rt).replace(/#\d+$/, '')).toBe(before.replace(/#\d+$/, ''));
}

describe('runtime and root layout', () => {
  it('boots with the fixed root layout at beat 0', () => {
    const rt = createRuntime();
    expect(rt.beat).toBe(0);
    expect(rt.root.children().map((c) => c.name)).toEqual([...ROOT_LAYOUT].sort());
    for (const n of ROOT_LAYOUT) expect(rt.find(`/${n}`)?.path).toBe(`/${n}`);
    expect(rt.advance()).toBe(1);
    expect(rt.beat).toBe(1);
  });

  it('is deterministic: same operations, same tree', () => {
    const build = () => {
      const rt = createRuntime();
      const d = rt.find('/data')!;
      for (let i = 0; i < 50; i++) {
        d.add(`user-${i % 7}x${i}`, { value: `v${i}` });
        if (i % 5 === 0) rt.advance();
      }
      return snapshot(rt);
    };
    expect(build()).toBe(build());
  });
});

describe('cells: add, set, value, valueAt, children, remove', () => {
  it('stamps created/modified/deleted beats and reads any past state', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const x = d.add('x', { value: 'one' }); // beat 0
    rt.advance();
    expect(x.set('two')).toBe(true); // beat 1
    expect(x.set('two')).toBe(false); // no-op: no history
    rt.advance();
    rt.advance();
    x.set('three'); // beat 3
    x.set('four'); // same beat: replaces
    expect(x.payloadBeats()).toEqual([3, 1, 0]);
    expect(new TextDecoder().decode(x.valueAt(0))).toBe('one');
    expect(new TextDecoder().decode(x.valueAt(1))).toBe('two');
    expect(new TextDecoder().decode(x.valueAt(2))).toBe('two');
    expect(new TextDecoder().decode(x.valueAt(3))).toBe('four');
    expect(x.text).toBe('four');
    rt.advance();
    expect(x.remove()).toBe(true); // beat 4
    expect(x.value).toBeUndefined();
    expect(x.valueAt(4)).toBeUndefined();
    expect(new TextDecoder().decode(x.valueAt(3))).toBe('four');
    expect(d.child('x')).toBeUndefined();
    expect(d.child('x', 3)).toBe(x);
    expect(rt.find('/data/x', 2)).toBe(x);
    expect(rt.find('/data/x')).toBeUndefined();
    // re-adding the name is a new cell; the old one stays in the past
    const x2 = d.add('x', { value: 'new' });
    expect(d.child('x')).toBe(x2);
    expect(d.child('x', 3)).toBe(x);
    expect(() => x.set('nope')).toThrow(code('ERR_DELETED'));
  });

  it('stores small payloads as VALUE and large ones as DATA; take adopts the buffer', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const small = d.add('small', { value: new Uint8Array(8).fill(7) });
    expect(small.payloadKind).toBe('value');
    const big = d.add('big', { value: new Uint8Array(1000).fill(9) });
    expect(big.payloadKind).toBe('data');
    const buf = new Uint8Array([1, 2, 3]);
    const taken = d.add('taken', { data: buf, take: true });
    expect(taken.payloadKind).toBe('data');
    expect(taken.peek()).toBe(buf); // zero-copy
    const copied = d.add('copied', { data: buf });
    expect(copied.peek()).not.toBe(buf);
    // value returns copies: writing to them does not change the cell
    const v = small.value!;
    v[0] = 0;
    expect(small.value![0]).toBe(7);
    small.setValue(new Uint8Array(100).fill(1));
    expect(small.payloadKind).toBe('value');
    expect(small.value!.length).toBe(100);
    expect(() => small.setValue(new Uint8Array(5000))).toThrow(code('ERR_OUT_OF_RANGE'));
  });

  it('hands out monotonic auto ids; explicit numeric names move the cursor', () => {
    const rt = createRuntime();
    const q = rt.find('/data')!.add('q', { store: 'array', indexing: 'insertion' });
    expect(q.add(null).name).toBe('1');
    expect(q.add(null).name).toBe('2');
    expect(q.add(10).name).toBe('10');
    expect(q.add(null).name).toBe('11');
    expect(q.add(5).name).toBe('5');
    expect(q.add(undefined).name).toBe('12');
    q.child(12)!.remove();
    expect(q.add(null).name).toBe('13'); // never reused
  });

  it('hard variants collapse history', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const x = d.add('x', { value: 'a' });
    rt.advance();
    x.set('b');
    rt.advance();
    x.set('c');
    const live = rt.history.live;
    expect(live).toBe(2);
    x.setHard('d');
    expect(rt.history.live).toBe(0);
    expect(x.valueAt(0)).toBeUndefined();
    expect(x.text).toBe('d');
    const y = d.add('y', { value: 'a' });
    rt.advance();
    y.set('b');
    y.removeHard();
    expect(y.isFinalized).toBe(true);
    expect(d.childrenRaw()).not.toContain(y);
    expect(d.child('y', 0)).toBeUndefined();
    expect(() => y.set('z')).toThrow(code('ERR_DELETED'));
  });

  it('reads whole traversals as of a beat', () => {
    const rt = createRuntime();
    const d = rt.find('/tmp')!; // /data holds the boot mailbox
    const a = d.add('a');
    a.add('b', { value: '1' });
    rt.advance();
    a.add('c', { value: '2' });
    a.child('b')!.set('3');
    rt.advance();
    a.child('b')!.remove();
    const at = (beat?: number) => {
      const out: string[] = [];
      d.traverse((c) => void out.push(`${c.path}=${c.valueAt(beat ?? rt.beat) ? new TextDecoder().decode(c.valueAt(beat ?? rt.beat)) : ''}`), { atBeat: beat });
      return out;
    };
    expect(at(0)).toEqual(['/tmp=', '/tmp/a=', '/tmp/a/b=1']);
    expect(at(1)).toEqual(['/tmp=', '/tmp/a=', '/tmp/a/b=3', '/tmp/a/c=2']);
    expect(at()).toEqual(['/tmp=', '/tmp/a=', '/tmp/a/c=2']);
    const raw: string[] = [];
    d.traverse((c) => void raw.push(c.name), { raw: true });
    expect(raw).toEqual(['tmp', 'a', 'b', 'c']);
  });
});

describe('bad input: coded errors, tree unchanged', () => {
  it('invalid names', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    for (const bad of ['', 'a/b', 'x*', ' lead', '0', '007', 'x'.repeat(300), 'a~', '12~x']) refuses(rt, 'ERR_INVALID_NAME', () => d.add(bad));
    refuses(rt, 'ERR_INVALID_NAME', () => d.add(0));
    refuses(rt, 'ERR_INVALID_NAME', () => d.add(-3));
    refuses(rt, 'ERR_INVALID_NAME', () => d.add(2.5));
    refuses(rt, 'ERR_INVALID_ARG_TYPE', () => d.add({} as never));
    refuses(rt, 'ERR_INVALID_ARG_TYPE', () => d.add('ok', { value: 42 as never }));
  });

  it('invalid paths', () => {
    const rt = createRuntime();
    for (const bad of ['', 'data', '/data/', '//', '/a//b', '/x*'] as const) refuses(rt, 'ERR_INVALID_PATH', () => rt.find(bad));
  });

  it('duplicate names in dictionaries', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    d.add('x');
    refuses(rt, 'ERR_NAME_EXISTS', () => d.add('x', { value: 'again' }));
    const veiled = d.add('v', { veiled: true });
    refuses(rt, 'ERR_NAME_EXISTS', () => d.add('v'));
    expect(veiled.veiled).toBe(true);
  });

  it('invalid stores', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    refuses(rt, 'ERR_INVALID_STORE', () => d.add('a', { store: 'queue', indexing: 'name' }));
    refuses(rt, 'ERR_INVALID_STORE', () => d.add('a', { store: 'rbtree', indexing: 'insertion' }));
    refuses(rt, 'ERR_INVALID_STORE', () => d.add('a', { store: 'nope' as never }));
    refuses(rt, 'ERR_INVALID_STORE', () => d.add('a', { store: 'array', indexing: 'comparator' }));
    refuses(rt, 'ERR_INVALID_STORE', () => d.add('a', { store: 'octree', indexing: 'function' }));
    const o = d.add('o', { store: 'octree', indexing: 'function', key: (c: Cell) => [Number(c.name) / 100, 0, 0] });
    refuses(rt, 'ERR_OUT_OF_RANGE', () => o.add(500));
    o.add(50);
    expect(o.childrenInBox([0, -1, -1], [1, 1, 1]).map((c) => c.name)).toEqual(['50']);
  });

  it('bad beats', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    expect(() => d.valueAt(-1)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => d.children(1.5)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => rt.find('/data', -2)).toThrow(code('ERR_OUT_OF_RANGE'));
  });

  it('the root cannot be removed', () => {
    const rt = createRuntime();
    refuses(rt, 'ERR_INVALID_STATE', () => rt.root.remove());
  });
});

describe('immutable cells and sealed branches', () => {
  it('refuse every mutation with ERR_IMMUTABLE', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const i = d.add('i', { value: 'x', immutable: true });
    refuses(rt, 'ERR_IMMUTABLE', () => i.set('y'));
    refuses(rt, 'ERR_IMMUTABLE', () => i.add('child'));
    refuses(rt, 'ERR_IMMUTABLE', () => i.remove());
    refuses(rt, 'ERR_IMMUTABLE', () => i.clearValue());
    const b = d.add('branch');
    const leaf = b.add('sub').add('leaf', { value: '1' });
    b.seal();
    refuses(rt, 'ERR_IMMUTABLE', () => leaf.set('2'));
    refuses(rt, 'ERR_IMMUTABLE', () => leaf.remove());
    refuses(rt, 'ERR_IMMUTABLE', () => b.child('sub')!.add('more'));
    refuses(rt, 'ERR_IMMUTABLE', () => b.remove());
    expect(leaf.immutable).toBe(true);
  });
});

describe('locks', () => {
  it('store and data locks propagate to descendants and need their token', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const a = d.add('a');
    const leaf = a.add('b').add('leaf', { value: '1' });
    const t = a.lockStore();
    refuses(rt, 'ERR_LOCKED', () => a.add('x'));
    refuses(rt, 'ERR_LOCKED', () => a.child('b')!.add('x')); // descendant
    refuses(rt, 'ERR_LOCKED', () => leaf.remove());
    refuses(rt, 'ERR_LOCKED', () => a.child('b')!.lockStore()); // ancestor holds it
    refuses(rt, 'ERR_LOCKED', () => a.lockStore());
    refuses(rt, 'ERR_LOCKED', () => a.remove()); // a locked cell cannot be removed
    leaf.set('2'); // data is not store-locked
    refuses(rt, 'ERR_LOCKED', () => a.unlockStore({} as never));
    a.unlockStore(t);
    refuses(rt, 'ERR_LOCKED', () => a.unlockStore(t)); // token spent
    a.add('x');
    const dt = a.lockData();
    refuses(rt, 'ERR_LOCKED', () => leaf.set('3'));
    a.add('y'); // structure is not data-locked
    a.unlockData(dt);
    leaf.set('3');
    expect(rt.storeLocks.size + rt.dataLocks.size).toBe(0);
  });
});

describe('links', () => {
  it('resolve to non-link targets, read through, keep shadows, tombstone', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const target = d.add('target', { value: 'payload' });
    const l1 = d.add('l1', { link: target });
    const l2 = d.add('l2', { link: l1 });
    expect(l2.resolve()).toBe(target);
    expect(l2.text).toBe('payload');
    expect(target.shadows).toEqual([l1]);
    target.add('kid');
    expect(rt.find('/data/l2/kid')?.path).toBe('/data/target/kid');
    refuses(rt, 'ERR_SHADOWED', () => target.removeHard());
    rt.advance();
    target.remove();
    expect(l1.isDead).toBe(true);
    expect(l1.value).toBeUndefined();
    expect(new TextDecoder().decode(l2.valueAt(0))).toBe('payload'); // the past still resolves
  });

  it('refuse cycles with ERR_LINK_CYCLE', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const t = d.add('t');
    const a = d.add('a', { link: t });
    const b = d.add('b', { link: a });
    refuses(rt, 'ERR_LINK_CYCLE', () => a.relink(b));
    refuses(rt, 'ERR_LINK_CYCLE', () => a.relink(a));
    const u = d.add('u');
    rt.advance();
    a.relink(u);
    expect(b.resolve()).toBe(u);
    expect(b.targetAt(0)).toBe(t);
    expect(t.shadows).toEqual([]);
    expect(u.shadows).toEqual([a]);
  });

  it('hard-deleting a subtree whose links point inside is allowed; links from outside block it', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const s = d.add('s');
    const inner = s.add('inner');
    s.add('self', { link: inner });
    s.removeHard();
    expect(inner.isFinalized).toBe(true);
    const s2 = d.add('s2');
    const x = s2.add('x');
    const outside = d.add('out', { link: x });
    refuses(rt, 'ERR_SHADOWED', () => s2.removeHard());
    outside.remove();
    s2.removeHard();
  });
});

describe('veiled building', () => {
  it('builds a subtree off to the side and reveals it at once', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    rt.advance();
    const v = d.add('v', { veiled: true });
    v.add('a', { value: '1' });
    v.add('b', { value: '2' });
    expect(d.child('v')).toBeUndefined();
    expect(rt.find('/data/v/a')).toBeUndefined();
    expect(d.children().map((c) => c.name)).not.toContain('v');
    expect(d.childrenRaw().map((c) => c.name)).toContain('v');
    rt.advance();
    expect(v.unveil()).toBe(true);
    expect(rt.find('/data/v/a')?.text).toBe('1');
    expect(rt.find('/data/v', 1)).toBeUndefined();
    expect(rt.find('/data/v', 2)).toBe(v);
    const built = rt.build(d, 'w', undefined, (c) => {
      c.add('z');
      expect(rt.find('/data/w')).toBeUndefined();
    });
    expect(rt.find('/data/w/z')).toBeDefined();
    expect(() =>
      rt.build(d, 'bad', undefined, (c) => {
        c.add('z');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(d.childrenRaw().map((c) => c.name)).not.toContain('bad');
    expect(built.veiled).toBe(false);
  });
});

describe('proxies (HANDLE / STREAM)', () => {
  it('go through the adapter; deep clones become links', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const log: string[] = [];
    let state = new Uint8Array([1, 2, 3, 4]);
    const adapter: ProxyAdapter = {
      retain: () => void log.push('retain'),
      release: () => void log.push('release'),
      snapshot: () => state.slice(),
      restore: (_c, b) => void (state = b.slice()),
      read: (_c, off, len) => state.slice(off, off + len),
      write: (_c, off, b) => {
        state.set(b, off);
        return b.length;
      },
    };
    const s = d.add('s', { stream: adapter });
    expect(s.type).toBe('proxy');
    expect(s.payloadKind).toBe('stream');
    expect(log).toEqual(['retain']);
    expect(Array.from(s.read(1, 2))).toEqual([2, 3]);
    expect(s.write(0, new Uint8Array([9]))).toBe(1);
    expect(Array.from(s.snapshot())).toEqual([9, 2, 3, 4]);
    s.restore(new Uint8Array([5, 5]));
    expect(Array.from(s.read(0, 2))).toEqual([5, 5]);
    expect(s.value).toBeUndefined();
    expect(() => s.set('x')).toThrow(code('ERR_INVALID_STATE'));
    const h = d.add('h', { handle: {} });
    expect(() => h.read(0, 1)).toThrow(code('ERR_PROXY'));
    const tree = d.add('tree');
    tree.add('leaf', { value: 'v' });
    tree.add('res', { link: s });
    const clone = tree.cloneTo(d, 'copy');
    expect(rt.find('/data/copy/leaf')?.text).toBe('v');
    const clonedS = s.cloneTo(d, 's2');
    expect(clonedS.isLink).toBe(true);
    expect(clonedS.resolve()).toBe(s);
    expect(clone.child('res')!.resolve()).toBe(s);
    clonedS.remove();
    clone.child('res')!.remove();
    tree.child('res')!.remove();
    s.removeHard();
    expect(log).toEqual(['retain', 'release']);
  });
});

describe('history details', () => {
  it('duplicate payloads and structural no-ops short-circuit and leave history unchanged', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const x = d.add('x', { value: 'same' });
    const big = d.add('big', { value: new Uint8Array(200).fill(3) });
    const wide = d.add('wide');
    wide.setValue(new Uint8Array(100).fill(1)); // a VALUE above the 64-byte default
    rt.advance();
    const before = { live: rt.history.live, arena: rt.stats().arenaBytes, beats: x.payloadBeats(), mod: x.modified, tree: snapshot(rt) };
    expect(x.set('same')).toBe(false);
    expect(x.set(bytes('same'))).toBe(false);
    expect(x.setValue('same')).toBe(false);
    expect(big.set(new Uint8Array(200).fill(3))).toBe(false);
    expect(big.setData(new Uint8Array(200).fill(3))).toBe(false);
    expect(wide.set(new Uint8Array(100).fill(1))).toBe(false); // equal bytes, whatever the representation
    expect(wide.payloadKind).toBe('value');
    const e = d.add('empty');
    expect(e.clearValue()).toBe(false);
    e.remove();
    expect(e.remove()).toBe(false);
    expect(d.add('v', { veiled: true }).unveil()).toBe(true);
    expect(d.child('v')!.unveil()).toBe(false);
    expect(rt.history.live).toBe(before.live);
    expect(rt.stats().arenaBytes).toBe(before.arena);
    expect(x.payloadBeats()).toEqual(before.beats);
    expect(x.modified).toBe(before.mod);
    expect(
      snapshot(rt)
        .split('\n')
        .filter((l) => !/:(empty|v):/.test(l)),
    ).toEqual(before.tree.split('\n'));
  });

  it('soft delete stamps the whole subtree: descendants refuse mutation and keep their past', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const a = d.add('a');
    const leaf = a.add('b').add('leaf', { value: '1' });
    const older = a.add('older');
    rt.advance();
    older.remove(); // beat 1
    rt.advance();
    expect(a.remove()).toBe(true); // beat 2
    expect(leaf.isDeleted).toBe(true);
    expect(leaf.deleted).toBe(2);
    expect(older.deleted).toBe(1); // an earlier delete keeps its own stamp
    expect(leaf.value).toBeUndefined();
    expect(new TextDecoder().decode(leaf.valueAt(1))).toBe('1');
    expect(leaf.valueAt(2)).toBeUndefined();
    expect(() => leaf.set('2')).toThrow(code('ERR_DELETED'));
    expect(() => leaf.parent!.add('x')).toThrow(code('ERR_DELETED'));
    expect(rt.find('/data/a/b/leaf', 1)).toBe(leaf);
    expect(rt.find('/data/a/b/leaf', 2)).toBeUndefined();
  });

  it('raw traversal includes deleted and veiled children, visible ones do not', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!.add('r');
    d.add('gone').add('under', { value: 'x' });
    d.add('hidden', { veiled: true }).add('inside');
    d.add('shown');
    d.child('gone')!.remove();
    const walk = (raw: boolean) => {
      const out: string[] = [];
      d.traverse((c) => void out.push(c.path), { raw });
      return out;
    };
    expect(walk(false)).toEqual(['/data/r', '/data/r/shown']);
    expect(walk(true)).toEqual(['/data/r', '/data/r/gone', '/data/r/gone/under', '/data/r/hidden', '/data/r/hidden/inside', '/data/r/shown']);
    expect(d.childrenRaw().map((c) => c.name)).toEqual(['gone', 'hidden', 'shown']);
    const all: string[] = [];
    rt.traverse((c) => void (c.path.startsWith('/data/r') && all.push(c.path)), { raw: true });
    expect(all).toEqual(walk(true));
  });

  it('a refused add leaves no shadow, no retained adapter and no payload behind', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    const target = d.add('target');
    const o = d.add('o', { store: 'octree', indexing: 'function', key: (c: Cell) => [Number(c.name), 0, 0] });
    const log: string[] = [];
    refuses(rt, 'ERR_OUT_OF_RANGE', () => o.add(7, { link: target }));
    refuses(rt, 'ERR_OUT_OF_RANGE', () => o.add(8, { handle: { retain: () => void log.push('retain') } }));
    expect(target.shadows).toEqual([]);
    expect(log).toEqual([]);
    refuses(rt, 'ERR_PROXY', () =>
      d.add('p', {
        handle: {
          retain: () => {
            throw new Error('no');
          },
        },
      }),
    );
    refuses(rt, 'ERR_INVALID_ARG_TYPE', () => d.add('p', { stream: 5 as never }));
    refuses(rt, 'ERR_DELETED', () => {
      const t = d.add('t2');
      t.removeHard();
      return d.add('l', { link: t });
    });
  });
});

describe('proxies keep history', () => {
  it('write/restore record the state before the first change of a beat', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    let state = Uint8Array.of(1, 2, 3, 4);
    let fail = false;
    const adapter: ProxyAdapter = {
      snapshot: () => state.slice(),
      restore: (_c, b) => void (state = b.slice()),
      read: (_c, off, len) => state.slice(off, off + len),
      write: (_c, off, b) => {
        if (fail) throw new Error('device gone');
        state.set(b, off);
        return b.length;
      },
    };
    const h = d.add('h', { handle: adapter }); // beat 0
    rt.advance();
    h.write(0, Uint8Array.of(9)); // beat 1: records [1,2,3,4] at beat 0
    h.write(1, Uint8Array.of(8)); // same beat: no new entry
    rt.advance();
    fail = true;
    expect(() => h.write(0, Uint8Array.of(0))).toThrow(code('ERR_PROXY'));
    fail = false;
    expect(h.payloadBeats()).toEqual([1, 0]); // a failed write records nothing
    rt.advance();
    h.restore(Uint8Array.of(5, 5)); // beat 3
    expect(h.payloadBeats()).toEqual([3, 1, 0]);
    expect(Array.from(h.snapshotAt(0)!)).toEqual([1, 2, 3, 4]);
    expect(Array.from(h.snapshotAt(1)!)).toEqual([9, 8, 3, 4]);
    expect(Array.from(h.snapshotAt(2)!)).toEqual([9, 8, 3, 4]);
    expect(Array.from(h.snapshotAt(3)!)).toEqual([5, 5]);
    const l = d.add('l', { link: h });
    expect(Array.from(l.snapshotAt(3)!)).toEqual([5, 5]); // through a link
    expect(l.snapshotAt(1)).toBeUndefined(); // the link did not exist yet
    expect(() => d.snapshotAt(0)).toThrow(code('ERR_INVALID_STATE'));
    expect(h.valueAt(1)).toBeUndefined(); // no direct bytes: only VALUE/DATA expose buffers
  });

  it('deep clones of HANDLE and STREAM cells become links; the adapter is retained once', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    let retains = 0;
    let releases = 0;
    const adapter: ProxyAdapter = { retain: () => void retains++, release: () => void releases++, read: () => Uint8Array.of(42) };
    const res = d.add('res');
    res.add('h', { handle: adapter });
    res.add('s', { stream: adapter });
    res.add('plain', { value: 'p' });
    res.add('wide').setValue(new Uint8Array(100).fill(5));
    const copy = res.cloneTo(res, 'copy'); // into its own subtree: cloned as it was before the copy
    expect(copy.children().map((c) => [c.name, c.type])).toEqual([
      ['h', 'link'],
      ['plain', 'normal'],
      ['s', 'link'],
      ['wide', 'normal'],
    ]);
    expect(copy.child('wide')!.payloadKind).toBe('value');
    expect(Array.from(copy.child('wide')!.value!)).toEqual(Array(100).fill(5));
    expect(copy.child('wide')!.payloadBeats()).toEqual([0]);
    expect(copy.child('h')!.resolve()).toBe(res.child('h'));
    expect(Array.from(copy.child('s')!.read(0, 1))).toEqual([42]);
    expect(retains).toBe(2);
    expect(res.child('h')!.shadows).toEqual([copy.child('h')]);
    expect(() => res.child('h')!.removeHard()).toThrow(code('ERR_SHADOWED'));
    copy.removeHard();
    res.removeHard();
    expect(releases).toBe(2);
  });
});
