/**
 * Removing a branch root (`/data/<name>` itself) is durable: after `removeHard()` or `remove()`,
 * a flush, a close and a reopen, the branch stays gone (docs/persistence.md, "Removing a
 * branch"), and the name can be used again. Real stores in temp folders, both modes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistentRuntime, StoreOptions } from '../../src/runtime/persistent.js';
import { contents, open, put, removeTempDirs, tempDir } from './cps-helpers.js';

afterEach(() => removeTempDirs());

/** `app/drop` removes the branch root `/data/<branch>` inside a beat (`hard`: removeHard). */
function openWithDrop(dir: string, store: Omit<StoreOptions, 'dir'> = {}): PersistentRuntime {
  const rt = open(dir, store);
  rt.registerEnzyme({
    name: 'app_drop',
    signal: 'app/drop',
    run(ctx) {
      const { branch, hard, again } = ctx.payload as { branch: string; hard: boolean; again?: string };
      const data = ctx.rt.find('/data')!;
      const b = data.child(branch)!;
      if (hard) b.removeHard();
      else b.remove();
      if (again !== undefined) data.add(branch).add('k', { value: again }); // the name again, in the same beat
    },
  });
  rt.bind('/data', 'app_drop', { propagate: true });
  return rt;
}

function drop(rt: PersistentRuntime, branch: string, hard: boolean, again?: string): number {
  rt.enqueue('app/drop', '/data', again === undefined ? { branch, hard } : { branch, hard, again });
  return rt.step();
}

async function reopen(rt: PersistentRuntime, dir: string, store: Omit<StoreOptions, 'dir'> = {}): Promise<PersistentRuntime> {
  await rt.flush();
  await rt.close();
  return openWithDrop(dir, store);
}

describe('removing a branch root is durable', () => {
  for (const where of ['in a beat', 'between beats'] as const) {
    it(`removeHard ${where}: the branch stays gone after a reopen, its history too; the other branches stay`, async () => {
      const dir = tempDir('rmb');
      let rt = openWithDrop(dir);
      const first = put(rt, 'users', 'ada', 'a');
      put(rt, 'users', 'bob', 'b');
      put(rt, 'keep', 'x', '1');
      let removedAt: number;
      if (where === 'in a beat') removedAt = drop(rt, 'users', true);
      else {
        rt.find('/data/users')!.removeHard();
        removedAt = rt.step();
      }
      put(rt, 'keep', 'y', '2'); // a beat after the removal
      rt = await reopen(rt, dir);
      expect(rt.find('/data/users')?.path).toBeUndefined();
      expect(rt.find('/data')!.child('users', first)?.path).toBeUndefined(); // a hard delete took the history along
      expect(contents(rt, 'keep')).toEqual({ x: '1', y: '2' });
      expect(rt.persist.engine.head('users')!.beat).toBe(removedAt); // the removal's frame is on disk
      // and again: a reopen of the reopened store does not bring it back either
      put(rt, 'keep', 'z', '3');
      rt = await reopen(rt, dir);
      expect(rt.find('/data/users')?.path).toBeUndefined();
      expect(contents(rt, 'keep')).toEqual({ x: '1', y: '2', z: '3' });
      await rt.close();
    });
  }

  it('remove (soft): gone after a reopen, and as-of reads of the beats before still show it', async () => {
    const dir = tempDir('rmb');
    let rt = openWithDrop(dir);
    const first = put(rt, 'users', 'ada', 'a');
    const second = put(rt, 'users', 'ada', 'b');
    const removedAt = drop(rt, 'users', false);
    rt = await reopen(rt, dir);
    const data = rt.find('/data')!;
    expect(rt.find('/data/users')?.path).toBeUndefined();
    expect(data.child('users', removedAt)?.path).toBeUndefined();
    const then = data.child('users', second)!;
    expect(then).toBeDefined();
    expect(new TextDecoder().decode(then.child('ada', first)!.valueAt(first)!)).toBe('a');
    expect(new TextDecoder().decode(then.child('ada', second)!.valueAt(second)!)).toBe('b');
    await rt.close();
  });

  for (const hard of [true, false]) {
    const how = hard ? 'removeHard' : 'remove';
    it(`${how}, then the name added again (after a reopen, and without one): only the new branch comes back`, async () => {
      const dir = tempDir('rmb');
      let rt = openWithDrop(dir);
      put(rt, 'users', 'ada', 'a');
      put(rt, 'users', 'bob', 'b');
      drop(rt, 'users', hard);
      rt = await reopen(rt, dir);
      expect(rt.find('/data/users')?.path).toBeUndefined();
      put(rt, 'users', 'cy', 'c'); // the name again, after the reopen
      rt = await reopen(rt, dir);
      expect(contents(rt, 'users')).toEqual({ cy: 'c' });
      drop(rt, 'users', hard);
      put(rt, 'users', 'dan', 'd'); // the name again, in the same session
      put(rt, 'users', 'eve', 'e');
      rt = await reopen(rt, dir);
      expect(contents(rt, 'users')).toEqual({ dan: 'd', eve: 'e' });
      await rt.close();
    });

    it(`${how} and the name added again in the same beat: only the new branch comes back`, async () => {
      const dir = tempDir('rmb');
      let rt = openWithDrop(dir);
      put(rt, 'users', 'ada', 'a');
      drop(rt, 'users', hard, 'new');
      rt = await reopen(rt, dir);
      expect(contents(rt, 'users')).toEqual({ k: 'new' });
      await rt.close();
    });
  }

  it('removeHard with deflated, sealed frames: the removal is read back with the key at open', async () => {
    const dir = tempDir('rmb');
    const store = { deflate: true, aead: { key: new Uint8Array(32).fill(7) } };
    let rt = openWithDrop(dir, store);
    put(rt, 'users', 'ada', 'a');
    put(rt, 'keep', 'x', '1');
    drop(rt, 'users', true);
    rt = await reopen(rt, dir, store);
    expect(rt.find('/data/users')?.path).toBeUndefined();
    expect(contents(rt, 'keep')).toEqual({ x: '1' });
    put(rt, 'users', 'bob', 'b');
    rt = await reopen(rt, dir, store);
    expect(contents(rt, 'users')).toEqual({ bob: 'b' });
    await rt.close();
  });

  it('a lazy branch removed stays gone after a reopen, and its name can be used again', async () => {
    const dir = tempDir('rmb');
    const store = { branches: { users: { mode: 'durable' as const, lazy: true } } };
    let rt = openWithDrop(dir, store);
    put(rt, 'users', 'ada', 'a');
    rt = await reopen(rt, dir, store);
    rt.hydrate('/data/users', { prefetch: 'children' });
    drop(rt, 'users', true);
    rt = await reopen(rt, dir, store);
    expect(rt.find('/data/users')?.path).toBeUndefined();
    put(rt, 'users', 'bob', 'b');
    rt = await reopen(rt, dir, store);
    expect(contents(rt, 'users')).toEqual({ bob: 'b' });
    await rt.close();
  });

  it('a removal under an on_demand policy is written by the shutdown flush', async () => {
    const dir = tempDir('rmb');
    const store = { branches: { users: 'on_demand' as const } };
    let rt = openWithDrop(dir, store);
    put(rt, 'users', 'ada', 'a');
    const flushed = rt.verbs.flush('users');
    rt.step();
    await flushed;
    expect(rt.persist.engine.head('users')).toBeDefined();
    drop(rt, 'users', true);
    rt = await reopen(rt, dir, store);
    expect(rt.find('/data/users')?.path).toBeUndefined();
    await rt.close();
  });
});
