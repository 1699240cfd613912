import { describe, expect, it } from 'vitest';
import { blake3 } from '../../src/hash/blake3.js';
import { encodeBeat } from '../../src/kernel/index.js';
import { hex, runtime } from './helpers.js';

function scenario() {
  const rt = runtime();
  rt.registerEnzyme({
    name: 'w',
    signal: 'app/w',
    run(ctx) {
      const d = ctx.rt.find('/data')!;
      const n = ctx.decide('n', () => 7);
      (d.child('x') ?? d.add('x', { value: 'a' })).set(`v${n}:${String(ctx.payload)}`);
      d.add(null, { data: new Uint8Array(100).fill(ctx.beat) });
    },
  });
  rt.bind('/data', 'w');
  return rt;
}

describe('beat digest', () => {
  it('is BLAKE3 over the canonical encoding of the changes commit hooks see', () => {
    const rt = scenario();
    const encoded: string[] = [];
    rt.onCommit((_beat, changes) => void encoded.push(hex(blake3(encodeBeat(changes).view()))));
    rt.enqueue('app/w', '/data', 'p');
    rt.step();
    rt.step();
    expect(encoded).toEqual([hex(rt.digest(1)), hex(rt.digest(2))]);
    expect(rt.digest(3)).toBeUndefined();
  });

  it('known answer: the same bytes on the native and the fallback backend (both suites pin it)', () => {
    const rt = scenario();
    rt.enqueue('app/w', '/data', 'p');
    rt.enqueue('app/w', null, new Uint8Array([1, 2, 3]));
    rt.step();
    rt.step();
    expect(hex(rt.digest(1))).toBe(KNOWN_1);
    expect(hex(rt.digest(2))).toBe(KNOWN_2);
  });

  it('changes with what the beat did: payload bytes, time, decisions', () => {
    const a = scenario();
    const b = scenario();
    const c = runtime({ clock: () => 5n });
    a.enqueue('app/w', '/data', 'p');
    b.enqueue('app/w', '/data', 'q');
    a.step();
    b.step();
    c.step();
    expect(hex(a.digest(1))).not.toBe(hex(b.digest(1)));
    const d = runtime({ clock: () => 6n });
    d.step();
    expect(hex(c.digest(1))).not.toBe(hex(d.digest(1)));
  });

  it('keeps only digestBeats digests', () => {
    const rt = runtime({ digestBeats: 3, journalBeats: 0 });
    rt.run({ beats: 10 });
    expect([7, 8, 9, 10].map((b) => rt.digest(b) !== undefined)).toEqual([false, true, true, true]);
    expect(rt.find('/rt/beat')).toBeUndefined();
  });
});

const KNOWN_1 = '20b68053e8c5e8e97c6033f7a5c904438863b32931dac168c5aaf5c6e3184356';
const KNOWN_2 = '2bf2952eb7321b23a31195c50f67db68f327ad17dd624d2697bf1eccee9287bc';
