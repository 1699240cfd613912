import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BeatCodec } from '../../src/beat/heartbeat/codec.js';
import { decodeAgenda, decodeImpulses, signalMatches, type MatchKind } from '../../src/internal.js';
import { runtime } from './helpers.js';

const seg = fc.constantFrom('a', 'b', 'c', 'op_x');
const path = fc.array(seg, { minLength: 0, maxLength: 3 }).map((s) => `/${s.join('/')}`);
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
    if (hit !== undefined && signalMatches(e.match, e.signal, sig))
      found.push({ name: e.name, depth: chain.length - 1 - hit, rank: { exact: 2, glob: 1, prefix: 0 }[e.match], len: e.signal.length, idx });
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
        expect(ran).toEqual(
          modelAgenda(
            enzymes,
            bindings.map((b) => (b.tomb ? { ...b, propagate: true } : b)),
            sig,
            target,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('cell-operation requests', () => {
  it('any request either succeeds or fails with a fact and leaves the tree as it was', async () => {
    const { registerCellOperations } = await import('../../src/beat/enzyme/cell-ops.js');
    const cellsUnder = (rt: ReturnType<typeof runtime>) => {
      const out: string[] = [];
      rt.find('/data/w')!.traverse((c) => void out.push(`${c.path}=${c.text ?? ''}`), { raw: true });
      return out;
    };
    const role = fc.constantFrom('role_parent', 'role_subject', 'role_source', 'role_templ', 'junk');
    const where = fc.constantFrom('/data/w', '/data/w/a', '/data/w/a/k', '/data/w/b', '/data/w/arr', '/', '/data/w/p');
    const argName = fc.constantFrom('arg_deep', 'arg_prepend', 'arg_pos');
    fc.assert(
      fc.property(
        fc.constantFrom('op_add', 'op_upd', 'op_del', 'op_mov', 'op_cln'),
        fc.array(fc.tuple(role, where, fc.boolean()), { maxLength: 4 }),
        fc.array(fc.tuple(argName, fc.uint8Array({ maxLength: 9 }), fc.boolean()), { maxLength: 3 }),
        (op, roles, args) => {
          const rt = runtime();
          registerCellOperations(rt);
          const w = rt.find('/data')!.add('w');
          w.add('a', { value: 'A' }).add('k', { value: 'K' });
          w.add('b', { value: 'B', store: 'list', indexing: 'insertion' });
          w.add('arr', { store: 'array', indexing: 'insertion' }).add('x');
          w.add('p', { handle: { snapshot: () => new Uint8Array(0), restore: () => {} } });
          const req = rt.find('/tmp')!.add('req');
          const linked = new Set<string>();
          for (const [r, at, asLink] of roles) {
            if (linked.has(r)) continue;
            linked.add(r);
            if (asLink) req.add(r, { link: rt.find(at)! });
            else req.add(r, { value: at });
          }
          for (const [a, bytes, asLink] of args) {
            if (linked.has(a)) continue;
            linked.add(a);
            if (asLink) req.add(a, { link: w.add(`v${a}`, { value: bytes }) });
            else req.add(a, { value: bytes });
          }
          const before = cellsUnder(rt);
          const factsBefore = rt.mailboxes.messages('/data/mailbox/diag').length;
          rt.enqueue(`sig_cell/${op}`, '/tmp/req');
          expect(() => rt.step()).not.toThrow();
          const results = decodeAgenda(rt.find(`/rt/beat/1/agenda`)!.value!).map((x) => x.result);
          expect(results.length).toBe(1);
          if (results[0] === 'fatal') {
            expect(cellsUnder(rt)).toEqual(before);
            expect(rt.mailboxes.messages('/data/mailbox/diag').length).toBe(factsBefore + 1);
          } else {
            expect(results[0]).toBe('ok');
            expect(rt.mailboxes.messages('/data/mailbox/diag').length).toBe(factsBefore);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
