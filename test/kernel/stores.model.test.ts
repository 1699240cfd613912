/**
 * Model-based property tests: every store kind x indexing against a plain reference model,
 * history included. Random operations over random beats; then every past state (children in
 * store order, payload at that beat, lookups by name) must equal the model's.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRuntime, payloadHash, STORE_MATRIX, type Cell, type Indexing, type StoreKind } from '../../src/internal.js';
import { RbTreeStore } from '../../src/kernel/store/rbtree.js';

type Op =
  | { t: 'add'; name: number | null; value: number[] | null; prepend: boolean }
  | { t: 'set'; pick: number; value: number[] }
  | { t: 'clear'; pick: number }
  | { t: 'remove'; pick: number }
  | { t: 'hard'; pick: number }
  | { t: 'advance' }
  | { t: 'compact' };

const bytesArb = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 65, maxLength: 80 }) }, // DATA
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant('add' as const), name: fc.option(fc.integer({ min: 1, max: 12 }), { freq: 4 }), value: fc.option(bytesArb, { freq: 5 }), prepend: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('set' as const), pick: fc.nat(), value: bytesArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clear' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('hard' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.constant({ t: 'advance' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'compact' as const }) }, // arena compaction must not change any state
);

interface MEntry {
  seq: number;
  name: number;
  created: number;
  deleted: number;
  /** payload versions, oldest first; bytes null = no payload */
  hist: { beat: number; bytes: number[] | null }[];
  key: number;
  cell: Cell;
}

function morton(n: number): number {
  const ix = n % 8;
  const iy = Math.floor(n / 8) % 8;
  const iz = Math.floor(n / 64) % 8;
  let code = 0;
  for (let b = 2; b >= 0; b--) code = code * 8 + (((ix >> b) & 1) | (((iy >> b) & 1) << 1) | (((iz >> b) & 1) << 2));
  return code;
}

function pointOf(n: number): [number, number, number] {
  const c = (i: number) => ((i + 0.5) / 8) * 2 - 1;
  return [c(n % 8), c(Math.floor(n / 8) % 8), c(Math.floor(n / 64) % 8)];
}

function fnv(bytes: number[] | null): number {
  return bytes === null ? 0 : payloadHash(Uint8Array.from(bytes));
}

function run(kind: StoreKind, indexing: Indexing, ops: Op[]): void {
  const rt = createRuntime();
  const options =
    indexing === 'comparator'
      ? { compare: (a: Cell, b: Cell) => Number(b.name) - Number(a.name) }
      : indexing === 'function'
        ? kind === 'octree'
          ? { key: (c: Cell) => pointOf(Number(c.name)), bounds: { center: [0, 0, 0] as const, half: 1 } }
          : { key: (c: Cell) => Number(c.name) % 5 }
        : {};
  const parent = rt.find('/data')!.add('t', { store: kind, indexing, ...options });
  const unique = indexing === 'name' || kind === 'hash';
  const allowPrepend = indexing === 'insertion';
  const model: MEntry[] = []; // insertion-ordered list (prepend puts first) for insertion indexing
  let seq = 0;
  let autoNext = 1;

  const modelKey = (name: number, bytes: number[] | null): number => {
    if (indexing === 'hash') return fnv(bytes);
    if (indexing === 'function') return kind === 'octree' ? morton(name) : name % 5;
    return 0;
  };
  const ordered = (): MEntry[] => {
    if (indexing === 'insertion') return model;
    const cmp = (a: MEntry, b: MEntry): number => {
      switch (indexing) {
        case 'name':
          return a.name - b.name;
        case 'comparator':
          return b.name - a.name;
        case 'hash':
          return a.key - b.key || a.name - b.name;
        default:
          return a.key - b.key;
      }
    };
    return [...model].sort((a, b) => cmp(a, b) || a.seq - b.seq);
  };
  const alive = () => model.filter((e) => e.deleted < 0).sort((a, b) => a.seq - b.seq);
  const current = (e: MEntry) => e.hist[e.hist.length - 1]?.bytes ?? null;
  const record = (e: MEntry, beat: number, bytes: number[] | null) => {
    const last = e.hist[e.hist.length - 1];
    if (last && last.beat === beat) last.bytes = bytes;
    else e.hist.push({ beat, bytes });
  };
  const same = (a: number[] | null, b: number[] | null) => (a === null ? b === null : b !== null && a.length === b.length && a.every((x, i) => x === b[i]));

  for (const op of ops) {
    const beat = rt.beat;
    switch (op.t) {
      case 'advance':
        rt.advance();
        break;
      case 'compact':
        rt.compact();
        break;
      case 'add': {
        const name = op.name ?? autoNext;
        const prepend = allowPrepend && op.prepend;
        const init: Record<string, unknown> = { prepend };
        if (op.value !== null) init.value = Uint8Array.from(op.value);
        if (unique && model.some((e) => e.name === name && e.deleted < 0)) {
          const before = parent.children().length;
          expect(() => parent.add(op.name, init)).toThrow(expect.objectContaining({ code: 'ERR_NAME_EXISTS' }));
          expect(parent.children().length).toBe(before);
          break;
        }
        const cell = parent.add(op.name, init);
        expect(cell.name).toBe(String(name));
        if (name >= autoNext) autoNext = name + 1;
        const e: MEntry = { seq: seq++, name, created: beat, deleted: -1, hist: [], key: modelKey(name, op.value), cell };
        if (op.value !== null) e.hist.push({ beat, bytes: op.value });
        if (prepend) model.unshift(e);
        else model.push(e);
        break;
      }
      case 'set': {
        const live = alive();
        if (live.length === 0) break;
        const e = live[op.pick % live.length];
        const changed = e.cell.set(Uint8Array.from(op.value));
        expect(changed).toBe(!same(current(e), op.value));
        if (changed) record(e, beat, op.value);
        break;
      }
      case 'clear': {
        const live = alive();
        if (live.length === 0) break;
        const e = live[op.pick % live.length];
        const changed = e.cell.clearValue();
        expect(changed).toBe(current(e) !== null);
        if (changed) record(e, beat, null);
        break;
      }
      case 'remove': {
        const live = alive();
        if (live.length === 0) break;
        const e = live[op.pick % live.length];
        expect(e.cell.remove()).toBe(true);
        expect(e.cell.remove()).toBe(false); // structural no-op
        e.deleted = beat;
        break;
      }
      case 'hard': {
        if (model.length === 0) break;
        const e = model[op.pick % model.length];
        e.cell.removeHard();
        model.splice(model.indexOf(e), 1);
        expect(e.cell.isFinalized).toBe(true);
        break;
      }
    }
  }

  const view = (b: number | undefined) =>
    ordered()
      .filter((e) => (b === undefined ? e.deleted < 0 : e.created <= b && (e.deleted < 0 || e.deleted > b)))
      .map((e) => {
        let bytes: number[] | null = null;
        if (b === undefined) bytes = current(e);
        else for (const h of e.hist) if (h.beat <= b) bytes = h.bytes;
        return [String(e.name), bytes === null ? null : bytes] as const;
      });
  const actual = (b: number | undefined) =>
    parent.children(b).map((c) => {
      const v = b === undefined ? c.value : c.valueAt(b);
      return [c.name, v === undefined ? null : Array.from(v)] as const;
    });

  for (let b = 0; b <= rt.beat; b++) {
    expect(actual(b), `children at beat ${b}`).toEqual(view(b));
    for (let n = 1; n <= 13; n++) {
      const m = view(b).find(([name]) => name === String(n));
      const c = parent.child(n, b);
      expect(c === undefined ? undefined : c.name, `child ${n} at beat ${b}`).toBe(m?.[0]);
    }
  }
  expect(actual(undefined)).toEqual(view(undefined));
  for (let n = 1; n <= 13; n++) {
    const visible = view(undefined).filter(([name]) => name === String(n));
    expect(parent.child(n)?.name).toBe(visible[0]?.[0]);
  }
  // raw traversal sees every stored child (deleted included) in store order
  expect(parent.childrenRaw().map((c) => c.name)).toEqual(ordered().map((e) => String(e.name)));
  if (parent.store instanceof RbTreeStore) expect(parent.store.checkInvariants()).toBeGreaterThan(0);
}

describe('stores x indexing against a reference model (with history)', () => {
  for (const [kind, indexings] of Object.entries(STORE_MATRIX) as [StoreKind, readonly Indexing[]][]) {
    for (const indexing of indexings) {
      it(`${kind} / ${indexing}`, () => {
        fc.assert(
          fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => run(kind, indexing, ops)),
          { numRuns: 120 },
        );
      });
    }
  }
});
