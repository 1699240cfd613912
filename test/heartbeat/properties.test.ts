import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BeatCodec } from '../../src/kernel/heartbeat/codec.js';
import { decodeAgenda, decodeImpulses, signalMatches, type MatchKind } from '../../src/kernel/index.js';
import { runtime } from './helpers.js';

const seg = fc.constantFrom('a', 'b', 'c', 'op_x');
const path = fc.array(seg, { minLength: 0, maxLength: 3 }).map((s) => '/' + s.join('/'));
const signal = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

describe('journal codec', () => {
  it('decodes what it encodes', () => {
    const impulse = fc.record({
      signal,
      target: fc.option(path, { nil: null }),
      payload: fc.oneof(fc.constant(undefined), fc.string(), fc.uint8Array({ maxLength: 40 })),
      qos: fc.integer({ min: 0, max: 7 }),
    });
    fc.assert(
      fc.property(fc.array(impulse, { maxLength: 30 }), fc.array(fc.tuple(fc.nat(29), fc.constantFrom('e1', 'e2', ''), fc.integer({ min: 0, max: 4 })), { maxLength: 30 }), (imps, runs) => {
        const c = new BeatCodec();
        c.begin(imps.length);
        for (const i of imps) c.impulse(i.signal, i.target, i.payload, i.qos);
        for (const [i, e, r] of runs) c.ran(i, e, r);
        expect(decodeImpulses(c.impulses.take())).toEqual(imps);
        expect(decodeAgenda(c.agenda.take()).map((a) => [a.impulse, a.enzyme, ['ok', 'retry', 'fatal', 'parked', 'dropped'].indexOf(a.result)])).toEqual(runs);
      }),
    );
  });
});

/** The agenda rule, written plainly: the model the registry's resolver must agree with. */
function modelAgenda(
  enzymes: Array<{ name: string; signal: string; match: MatchKind }>,
  bindings: Array<{ path: string; name: string; propagate: boolean; tomb: boolean }>,
  sig: string,
  target: string,
): string[] {
  const chain: string[] = [];
  for (let p = target; ; ) {
    chain.push(p);
    if (p === '/') break;
    const i = p.lastIndexOf('/');
    p = i === 0 ? '/' : p.slice(0, i);
  }
  const latest = new Map<string, { propagate: boolean; tomb: boolean }>();
  for (const b of bindings) latest.set(`${b.path}\u0000${b.name}`, b); // later calls replace earlier ones
  const found: Array<{ name: string; depth: number; rank: number; len: number; idx: number }> = [];
  for (const [idx, e] of enzymes.entries()) {
    let hit: number | undefined;
    for (let level = 0; level < chain.length && hit === undefined; level++) {
      const b = latest.get(`${chain[level]}\u0000${e.name}`);
      if (b === undefined) continue;
      if (b.tomb) break;
      if (level === 0 || b.propagate) hit = level;
    }
    if (hit !== undefined && signalMatches(e.match, e.signal, sig)) found.push({ name: e.name, depth: chain.length - 1 - hit, rank: { exact: 2, glob: 1, prefix: 0 }[e.match], len: e.signal.length, idx });
  }
  found.sort((a, b) => b.depth - a.depth || b.rank - a.rank || b.len - a.len || a.idx - b.idx);
  return found.map((f) => f.name);
}

describe('agenda resolution', () => {
  it('agrees with the plain model for random enzymes, bindings and tombstones', () => {
    const enzyme = fc.record({ signal, match: fc.constantFrom<MatchKind>('exact', 'prefix', 'glob') });
    const binding = fc.record({ path, e: fc.nat(5), propagate: fc.boolean(), tomb: fc.boolean() });
    fc.assert(
      fc.property(fc.array(enzyme, { minLength: 1, maxLength: 6 }), fc.array(binding, { maxLength: 12 }), signal, path, (es, bs, sig, target) => {
        const rt = runtime();
        const ran: string[] = [];
        const enzymes = es.map((e, i) => ({ ...e, signal: e.match === 'glob' ? e.signal.replace(/^[a-z]+/, '*') : e.signal, name: `e${i}` }));
        for (const e of enzymes) rt.registerEnzyme({ ...e, run: () => void ran.push(e.name) });
        const bindings = bs.filter((b) => b.e < enzymes.length).map((b) => ({ path: b.path, name: `e${b.e}`, propagate: b.propagate, tomb: b.tomb }));
        for (const b of bindings) {
          if (b.tomb) rt.unbind(b.path, b.name);
          else rt.bind(b.path, b.name, { propagate: b.propagate });
        }
        rt.enqueue(sig, target);
        rt.step();
        expect(ran).toEqual(modelAgenda(enzymes, bindings.map((b) => (b.tomb ? { ...b, propagate: true } : b)), sig, target));
      }),
      { numRuns: 300 },
    );
  });
});
