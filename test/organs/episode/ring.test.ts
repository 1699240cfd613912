import { afterEach, describe, expect, it } from 'vitest';
import { SliceRing, type RingResult } from '../../../src/organs/episode/ring.js';

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
  for (const [threads, slots, n] of [
    [1, 4, 1],
    [2, 32, 3],
    [2, 8, 9],
    [3, 12, 40],
    [2, 32, 100],
  ] as const) {
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

describe('closing the ring', () => {
  // In a child process, so that running out of events shows as the exit code: Node ends a
  // process whose top-level await can no longer settle with 13.
  const script = (ringUrl: string): string => `
    import { SliceRing } from ${JSON.stringify(ringUrl)};
    const module = ${JSON.stringify(MODULE)};
    const r = new SliceRing({ module, threads: 2, slots: 8, bytes: 64, onResults() {} });
    await r.started();
    r.publish(Uint8Array.of(0, 1));   // a quick slice: the ring starts listening for it
    r.wake();
    // taken back here, as the engine does before a beat, once the worker finished it: this thread
    // spins (never yields), so the ring's own wait for the outcome is still pending
    while (r.outstanding > 0) r.collect();
    await r.close();
    console.log('closed', r.outstanding);`;

  it('keeps the process alive until the workers have stopped, also with a wait for outcomes still pending', async () => {
    const { execFile } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, resolve } = await import('node:path');
    const { pathToFileURL } = await import('node:url');
    const dir = mkdtempSync(join(tmpdir(), 'cep-ring-'));
    const file = join(dir, 'close.mjs'); // a file, not -e: eval workers take --input-type from the process
    writeFileSync(file, script(pathToFileURL(resolve('dist/organs/episode/ring.js')).href));
    for (let i = 0; i < 4; i++) {
      const r = await new Promise<{ code: number; out: string }>((done) =>
        execFile(process.execPath, [file], { timeout: 30_000 }, (e, out, err) => done({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: out + err })),
      );
      expect(r, r.out).toEqual({ code: 0, out: 'closed 0\n' });
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
