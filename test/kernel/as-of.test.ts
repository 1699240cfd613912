/**
 * As-of reads take a beat already reached: an integer from 0 to the runtime's current beat.
 * Beats not reached yet, above 2^53 - 1, negative or fractional are ERR_OUT_OF_RANGE (they
 * were read as "now").
 */
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/internal.js';

describe('as-of beats', () => {
  it('every as-of read refuses beats not reached yet, above 2^53-1, negative or not integers', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    const x = app.add('x', { value: 'zero' });
    const l = app.add('l', { link: x });
    const h = app.add('h', { handle: { snapshot: () => new Uint8Array([1]) } });
    rt.advance();
    x.set('one');
    app.add('y');
    const now = rt.beat;
    const reads: Array<[string, (b: number) => unknown]> = [
      ['valueAt', (b) => x.valueAt(b)],
      ['existsAt', (b) => x.existsAt(b)],
      ['children', (b) => app.children(b)],
      ['child', (b) => app.child('x', b)],
      ['childCount', (b) => app.childCount(b)],
      ['traverse', (b) => app.traverse(() => undefined, { atBeat: b })],
      ['targetAt', (b) => l.targetAt(b)],
      ['snapshotAt', (b) => h.snapshotAt(b)],
      ['find', (b) => rt.find('/data/app/x', b)],
      ['query', (b) => rt.query('/data/app/*', b)],
      ['rt.traverse', (b) => rt.traverse(() => undefined, { atBeat: b })],
    ];
    for (const [what, read] of reads) {
      for (const bad of [now + 1, 2 ** 53, 2 ** 60, Number.MAX_SAFE_INTEGER, -1, 0.5, Number.NaN, Infinity]) {
        expect(() => read(bad), `${what}(${bad})`).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      }
      expect(() => read(now), what).not.toThrow();
      expect(() => read(0), what).not.toThrow();
    }
    // the past and the present read as before
    expect(new TextDecoder().decode(x.valueAt(0))).toBe('zero');
    expect(new TextDecoder().decode(x.valueAt(now))).toBe('one');
    expect(
      app
        .children(0)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['h', 'l', 'x']);
    expect(
      app
        .children(now)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['h', 'l', 'x', 'y']);
    rt.advance(); // a beat reached later reads
    expect(app.child('y', now + 1)?.name).toBe('y');
  });
});
