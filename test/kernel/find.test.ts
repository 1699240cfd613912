/**
 * `rt.find(path)` walks the path in place (no split, no segment objects); `rt.find(path, beat)`
 * still parses it whole first (`parsePath`). On a tree whose changes are all in earlier beats
 * both must answer alike for any text: the same cell, or the same coded error and message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';

const outcome = (fn: () => unknown): unknown => {
  try {
    const c = fn() as { path?: string } | undefined;
    return { cell: c === undefined ? undefined : c.path };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { code: err.code, message: err.message };
  }
};

describe('find(path) walking in place', () => {
  const rt = createRuntime();
  const data = rt.find('/data')!;
  const app = data.add('app');
  for (const n of ['user-42', 'order:1234', '3f2b8c1e-7d4a-4c2e-9b1a-0e5f6a7b8c9d', 'kabc', 7, 123456789]) app.add(n).add('leaf', { value: 'x' });
  data.add('to-app', { link: app });
  rt.advance();
  const beat = rt.beat;

  const segment = fc.oneof(
    fc.constantFrom('data', 'app', 'user-42', 'order:1234', '3f2b8c1e-7d4a-4c2e-9b1a-0e5f6a7b8c9d', 'kabc', '7', '123456789', 'leaf', 'to-app', 'rt', 'sys'),
    fc.constantFrom('nope-1', 'unknown:ref', 'zzz', '99', 'ABC', 'CEP~data', 'x~y', '~', 'a~', 'a*b', '*', '**', ' ', 'a b', '', 'é', '\u0000'),
    fc.string({ maxLength: 6 }),
  );
  const path = fc.oneof(
    fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
    fc.array(segment, { maxLength: 4 }).map((s) => s.join('/')),
    fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}/`),
  );

  it('answers as the whole-path parse does: same cell, or same code and message', () => {
    fc.assert(
      fc.property(path, (p) => {
        expect(outcome(() => rt.find(p))).toEqual(outcome(() => rt.find(p, beat)));
      }),
      { numRuns: 3000 },
    );
  });

  it('finds string-keyed cells, follows links on the way, and refuses bad text with ERR_INVALID_PATH', () => {
    expect(rt.find('/data/app/user-42/leaf')!.text).toBe('x');
    expect(rt.find('/data/to-app/3f2b8c1e-7d4a-4c2e-9b1a-0e5f6a7b8c9d/leaf')!.text).toBe('x');
    expect(rt.find('/data/app/123456789')).toBe(app.child(123456789));
    expect(rt.find('/')).toBe(rt.root);
    expect(rt.find('/data/app/nope-1')).toBeUndefined();
    for (const bad of ['', 'data', '/data//app', '/data/', '/data/~', '/data/x~', 7 as unknown as string]) expect(outcome(() => rt.find(bad))).toMatchObject({ code: 'ERR_INVALID_PATH' });
    // a bad segment after a miss is still an error, as a whole-path parse makes it
    expect(outcome(() => rt.find('/data/missing/~'))).toMatchObject({ code: 'ERR_INVALID_PATH' });
  });
});
