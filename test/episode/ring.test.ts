import { afterEach, describe, expect, it } from 'vitest';
import { SliceRing, type RingResult } from '../../src/kernel/episode/ring.js';

// A slice module for the ring itself: the outcome is the input reversed, after `input[0]` × 0.1 ms
// of busy work (slices of uneven length finish out of publication order).
const MODULE = `data:text/javascript,${encodeURIComponent(`
export function runSlice(input) {
  const until = performance.now() + input[0] / 10;
  while (performance.now() < until);
  return input.slice().reverse();
}`)}`;

const rings: SliceRing[] = [];
afterEach(async () => {
  for (const r of rings.splice(0)) await r.close();
});

/**
 * A ring that never wakes up on its own (`sleepMs` of a day): a wake-up the workers fail to
 * send hangs the test instead of being covered by the safety-net timeout.
 */
function ring(threads: number, slots: number, onResults: (r: RingResult[]) => void): SliceRing {
  const r = new SliceRing({ module: MODULE, threads, slots, bytes: 64, onResults, sleepMs: 86_400_000 });
  rings.push(r);
  return r;
}

const input = (k: number): Uint8Array => Uint8Array.of(k % 7, k & 0xff, k >> 8, 42);

describe('slice ring', () => {
  for (const [threads, slots, n] of [[1, 4, 1], [2, 32, 3], [2, 8, 9], [3, 12, 40], [2, 32, 100]] as const) {
    it(`gives back every outcome once, in publication order (${threads} threads, ${slots} slots, ${n} slices)`, async () => {
      const got: Uint8Array[] = [];
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      let sent = 0;
      const r = ring(threads, slots, (results) => {
        for (const x of results) {
          expect(x.ok).toBe(true);
          if (x.ok) got.push(x.value);
        }
        fill();
        if (got.length === n) done();
      });
      // publish while slots are free, the rest as outcomes come back (as the slice pools do)
      const fill = (): void => {
        while (sent < n && r.room) r.publish(input(sent++));
        r.wake();
      };
      await r.started();
      fill();
      await all;
      expect(got.map((b) => [...b])).toEqual(Array.from({ length: n }, (_, k) => [...input(k)].reverse()));
      expect(r.outstanding).toBe(0);
    });
  }

  it('a chain of slices, each published when the one before is back, never waits for a batch', async () => {
    // one slice out at a time: less than any batch, so every outcome must wake the runtime thread
    let left = 30;
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const r = ring(2, 32, (results) => {
      expect(results.length).toBe(1);
      if (--left === 0) return done();
      r.publish(input(left));
      r.wake();
    });
    await r.started();
    r.publish(input(left));
    r.wake();
    await all;
  });
});
