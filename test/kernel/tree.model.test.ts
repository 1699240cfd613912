/**
 * Model-based property test of a whole tree over beats: random adds (plain and veiled),
 * payload sets, soft deletes of subtrees, unveils and beat advances; then the whole traversal
 * as of every past beat (names, paths and payloads), the current one and the raw one
 * (deleted and veiled included) must equal a plain reference model's.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRuntime, type Cell } from '../../src/internal.js';

type Op = { t: 'add'; at: number; veiled: boolean; value: number | null } | { t: 'set'; at: number; value: number } | { t: 'remove'; at: number } | { t: 'unveil'; at: number } | { t: 'advance' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('add' as const), at: fc.nat(), veiled: fc.boolean(), value: fc.option(fc.nat(3), { freq: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('set' as const), at: fc.nat(), value: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remove' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('unveil' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.constant({ t: 'advance' as const }) },
);

interface Node {
  cell: Cell;
  parent: Node | null;
  kids: Node[];
  path: string;
  created: number;
  deleted: number;
  veiled: boolean;
  hist: { beat: number; value: number | null }[];
}

function run(ops: Op[]): void {
  const rt = createRuntime();
  const root: Node = { cell: rt.find('/data')!.add('t'), parent: null, kids: [], path: '/data/t', created: 0, deleted: -1, veiled: false, hist: [] };
  const all: Node[] = [root];
  const live = () => all.filter((n) => n.deleted < 0);
  const valueAt = (n: Node, b: number) => {
    let v: number | null = null;
    for (const h of n.hist) if (h.beat <= b) v = h.value;
    return v;
  };
  const record = (n: Node, beat: number, value: number | null) => {
    const last = n.hist[n.hist.length - 1];
    if (last && last.beat === beat) last.value = value;
    else n.hist.push({ beat, value });
  };

  for (const op of ops) {
    const beat = rt.beat;
    if (op.t === 'advance') {
      rt.advance();
      continue;
    }
    const pool = op.t === 'unveil' ? live().filter((n) => n.veiled) : op.t === 'remove' ? live().slice(1) : live();
    if (pool.length === 0) continue;
    const n = pool[op.at % pool.length];
    switch (op.t) {
      case 'add': {
        if (n.path.split('/').length > 6) break;
        const init = op.value === null ? { veiled: op.veiled } : { veiled: op.veiled, value: Uint8Array.of(op.value) };
        const cell = n.cell.add(null, init);
        const kid: Node = { cell, parent: n, kids: [], path: `${n.path}/${cell.name}`, created: beat, deleted: -1, veiled: op.veiled, hist: [] };
        if (op.value !== null) kid.hist.push({ beat, value: op.value });
        n.kids.push(kid);
        all.push(kid);
        break;
      }
      case 'set': {
        const changed = n.cell.set(Uint8Array.of(op.value));
        const cur = n.hist.length === 0 ? null : n.hist[n.hist.length - 1].value;
        expect(changed).toBe(cur !== op.value);
        if (changed) record(n, beat, op.value);
        break;
      }
      case 'remove': {
        expect(n.cell.remove()).toBe(true);
        const mark = (x: Node) => {
          if (x.deleted < 0) x.deleted = beat;
          x.kids.forEach(mark);
        };
        mark(n);
        break;
      }
      case 'unveil':
        expect(n.cell.unveil()).toBe(true);
        n.veiled = false;
        n.created = beat;
        break;
    }
  }

  const visible = (n: Node, b: number | undefined) => !n.veiled && (b === undefined ? n.deleted < 0 : n.created <= b && (n.deleted < 0 || n.deleted > b));
  const modelWalk = (b: number | undefined, raw: boolean): string[] => {
    const out: string[] = [];
    const walk = (n: Node) => {
      if (n !== root && !raw && !visible(n, b)) return;
      const v = raw ? null : b === undefined ? (n.deleted < 0 && n.hist.length ? n.hist[n.hist.length - 1].value : null) : valueAt(n, b);
      out.push(`${n.path}=${v ?? ''}`);
      n.kids.forEach(walk);
    };
    walk(root);
    return out;
  };
  const realWalk = (b: number | undefined, raw: boolean): string[] => {
    const out: string[] = [];
    root.cell.traverse(
      (c) => {
        const v = raw ? undefined : b === undefined ? c.value : c.valueAt(b);
        out.push(`${c.path}=${v === undefined ? '' : v[0]}`);
      },
      { atBeat: b, raw },
    );
    return out;
  };
  for (let b = 0; b <= rt.beat; b++) {
    expect(realWalk(b, false), `traversal at beat ${b}`).toEqual(modelWalk(b, false));
    for (const n of all.slice(1)) expect(rt.find(n.path, b) === n.cell, `find ${n.path} at ${b}`).toBe(visible(n, b) && modelWalk(b, false).some((l) => l.startsWith(`${n.path}=`)));
  }
  expect(realWalk(undefined, false)).toEqual(modelWalk(undefined, false));
  expect(realWalk(undefined, true)).toEqual(modelWalk(undefined, true));
}

describe('whole-tree history against a reference model', () => {
  it('traversal at every past beat, now, and raw', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 50 }), run), { numRuns: 150 });
  });
});
