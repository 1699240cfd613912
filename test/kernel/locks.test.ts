import { describe, expect, it } from 'vitest';
import { createRuntime, LockToken, type Runtime } from '../../src/internal.js';

const code = (c: string) => expect.objectContaining({ code: c });

function setup(): { rt: Runtime; a: ReturnType<Runtime['find']> & object } {
  const rt = createRuntime();
  const a = rt.find('/data')!.add('a');
  a.add('b').add('leaf', { value: '1' });
  return { rt, a };
}

describe('lock tokens: the holder mutates under its own lock, everyone else gets ERR_LOCKED', () => {
  it('store lock: structure changes in the cell and its descendants', () => {
    const { rt, a } = setup();
    const b = a.child('b')!;
    const t = a.lockStore();
    expect(t).toBeInstanceOf(LockToken);
    expect(() => a.add('x')).toThrow(code('ERR_LOCKED'));
    expect(() => b.add('x')).toThrow(code('ERR_LOCKED')); // the check walks up to the ancestor holding it
    expect(() => b.child('leaf')!.remove()).toThrow(code('ERR_LOCKED'));
    expect(a.children().map((c) => c.name)).toEqual(['b']);
    // the holder goes through
    const x = t.run(() => a.add('x'));
    expect(a.child('x')).toBe(x);
    t.run(() => b.add('y'));
    expect(t.run(() => b.child('y')!.remove())).toBe(true);
    // the grant ends with run, also when fn throws
    expect(() =>
      t.run(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(() => a.add('z')).toThrow(code('ERR_LOCKED'));
    // data is not store-locked
    expect(b.child('leaf')!.set('2')).toBe(true);
    a.unlockStore(t);
    expect(() => t.run(() => a.add('z'))).toThrow(code('ERR_LOCKED')); // a released token grants nothing
    a.add('z');
    expect(rt.storeLocks.size).toBe(0);
  });

  it('data lock: payload changes, proxies included', () => {
    const { rt, a } = setup();
    const leaf = rt.find('/data/a/b/leaf')!;
    let state = new Uint8Array(4);
    const s = a.add('s', { stream: { write: (_c, off, bytes) => (state.set(bytes, off), bytes.length), snapshot: () => state.slice(), restore: (_c, b) => void (state = b.slice()) } });
    const t = a.lockData();
    expect(() => leaf.set('x')).toThrow(code('ERR_LOCKED'));
    expect(() => leaf.setHard('x')).toThrow(code('ERR_LOCKED'));
    expect(() => leaf.clearValue()).toThrow(code('ERR_LOCKED'));
    expect(() => s.write(0, Uint8Array.of(1))).toThrow(code('ERR_LOCKED'));
    expect(() => s.restore(Uint8Array.of(1))).toThrow(code('ERR_LOCKED'));
    expect(leaf.text).toBe('1');
    expect(Array.from(state)).toEqual([0, 0, 0, 0]);
    t.run(() => {
      leaf.set('2');
      s.write(0, Uint8Array.of(7));
    });
    expect(leaf.text).toBe('2');
    expect(state[0]).toBe(7);
    a.add('structure-is-free');
    a.unlockData(t);
    leaf.set('3');
  });

  it('nested locks need every holder on the way up', () => {
    const { rt, a } = setup();
    const b = a.child('b')!;
    const leaf = b.child('leaf')!;
    const tb = b.lockData(); // the lower lock first
    const ta = a.lockData(); // an ancestor may lock above it
    expect(() => b.lockData()).toThrow(code('ERR_LOCKED'));
    expect(() => tb.run(() => leaf.set('x'))).toThrow(code('ERR_LOCKED')); // a still blocks
    expect(() => ta.run(() => leaf.set('x'))).toThrow(code('ERR_LOCKED')); // b still blocks
    ta.run(() => tb.run(() => leaf.set('x')));
    expect(leaf.text).toBe('x');
    expect(() => a.child('b')!.child('leaf')!.lockData()).toThrow(code('ERR_LOCKED')); // ancestor holds it
    expect(() => b.unlockData(ta)).toThrow(code('ERR_LOCKED')); // wrong token
    expect(() => b.unlockData({} as LockToken)).toThrow(code('ERR_LOCKED'));
    b.unlockData(tb);
    expect(() => b.unlockData(tb)).toThrow(code('ERR_LOCKED')); // spent
    a.unlockData(ta);
    expect(rt.dataLocks.size).toBe(0);
  });

  it('locked cells and subtrees holding locks cannot be removed', () => {
    const { a } = setup();
    const b = a.child('b')!;
    const t = b.lockStore();
    expect(() => b.remove()).toThrow(code('ERR_LOCKED'));
    expect(() => a.remove()).toThrow(code('ERR_LOCKED')); // a descendant holds a lock
    expect(() => a.removeHard()).toThrow(code('ERR_LOCKED'));
    expect(a.isDeleted || b.isDeleted).toBe(false);
    b.unlockStore(t);
    expect(a.remove()).toBe(true);
  });
});
