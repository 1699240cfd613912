/**
 * Links across branches at recovery: a branch rebuilt before the branch its links point into,
 * and a link into a lazy branch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/runtime.js';
import { COLD_STORE } from '../../src/kernel/cell/flags.js';
import { contents, open, put, removeTempDirs, tempDir, topics } from './cps-helpers.js';

afterEach(removeTempDirs);

/** `app/link` with `{ branch, key, to }` makes `/data/<branch>/<key>` a link to the cell at path `to`. */
function installLinker(rt: Runtime): void {
  rt.registerEnzyme({
    name: 'app_link',
    signal: 'app/link',
    run(ctx) {
      const { branch, key, to } = ctx.payload as { branch: string; key: string; to: string };
      const data = ctx.rt.find('/data')!;
      const b = data.child(branch) ?? data.add(branch);
      b.add(key, { link: ctx.rt.find(to)! });
    },
  });
  rt.bind('/data', 'app_link', { propagate: true });
}

function link(rt: Runtime, branch: string, key: string, to: string): number {
  rt.enqueue('app/link', '/data', { branch, key, to });
  return rt.step();
}

describe('cross-branch links at recovery', () => {
  it('a branch rebuilt before the branch its link points into', async () => {
    const dir = tempDir();
    const rt = open(dir);
    installLinker(rt);
    put(rt, 'zeta', 'target', 'hello'); // 'alpha' is rebuilt before 'zeta'
    link(rt, 'alpha', 'ref', '/data/zeta/target');
    expect(rt.find('/data/alpha/ref')!.target!.path).toBe('/data/zeta/target');
    await rt.close();
    const again = open(dir);
    expect(again.find('/data/alpha/ref')!.target).toBe(again.find('/data/zeta/target'));
    expect(contents(again, 'zeta')).toEqual({ target: 'hello' });
    await again.close();
  });

  it('a link into a lazy branch: the lazy branch comes along at open, or with the hydrated branch that links into it', async () => {
    const dir = tempDir();
    const rt = open(dir);
    installLinker(rt);
    put(rt, 'zeta', 'target', 'hello');
    put(rt, 'omega', 'other', 'x');
    link(rt, 'alpha', 'ref', '/data/zeta/target');
    await rt.close();

    // alpha is loaded at open and links into lazy zeta: zeta is loaded too (and says so); omega
    // stays cold (a stub of its root, cells loaded on first access)
    const a = open(dir, { branches: { zeta: { lazy: true }, omega: { lazy: true } } });
    expect(a.find('/data/alpha/ref')!.target).toBe(a.find('/data/zeta/target'));
    expect(a.persist.controller('zeta').cold).toBe(false);
    expect(a.find('/data/zeta')!.flags & COLD_STORE).toBe(0);
    expect(a.find('/data/omega')!.flags & COLD_STORE).toBe(COLD_STORE); // looking it up loads nothing below it
    expect(topics(a)).toContain('persist.recover');
    await a.close();

    // both lazy: hydrating alpha brings zeta
    const b = open(dir, { branches: { alpha: { lazy: true }, zeta: { lazy: true } } });
    expect(b.find('/data/alpha')).toBeUndefined(); // a branch holding links loads whole, on hydrate
    b.verbs.hydrate('alpha');
    expect(b.find('/data/alpha/ref')!.target).toBe(b.find('/data/zeta/target'));
    expect(b.persist.controller('zeta').cold).toBe(false);
    // and both are written again like any durable branch
    put(b, 'zeta', 'more', 'y');
    await b.close();
    const c = open(dir);
    expect(contents(c, 'zeta')).toEqual({ more: 'y', target: 'hello' });
    await c.close();
  });

  it('links into each other across branches (a cycle): rebuilt together, frames in beat order', async () => {
    const dir = tempDir();
    const rt = open(dir);
    installLinker(rt);
    put(rt, 'zeta', 'target', 'z');
    put(rt, 'alpha', 'x', 'a');
    link(rt, 'alpha', 'ref', '/data/zeta/target');
    link(rt, 'zeta', 'back', '/data/alpha/x');
    put(rt, 'alpha', 'x', 'a2');
    await rt.close();
    const again = open(dir);
    expect(again.find('/data/alpha/ref')!.target).toBe(again.find('/data/zeta/target'));
    expect(again.find('/data/zeta/back')!.target).toBe(again.find('/data/alpha/x'));
    expect(again.find('/data/zeta/back')!.target!.text).toBe('a2');
    // it goes on from there: the next beats write and reopen as usual
    put(again, 'alpha', 'y', 'b');
    await again.close();
    const third = open(dir);
    expect(contents(third, 'alpha')).toMatchObject({ x: 'a2', y: 'b' });
    expect(third.find('/data/zeta/back')!.target).toBe(third.find('/data/alpha/x'));
    await third.close();
  });

  it('a link into a branch the store does not hold (volatile): ERR_PERSIST_LINK at open', async () => {
    const dir = tempDir();
    const rt = open(dir, { branches: { gone: 'volatile' } });
    installLinker(rt);
    put(rt, 'gone', 'target', 'never written');
    link(rt, 'alpha', 'ref', '/data/gone/target');
    await rt.close();
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_PERSIST_LINK', message: expect.stringContaining('alpha -> gone') }));
  });
});
