import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beatFrame, beatLink, type BeatChanges, type Cell, type Runtime } from '../../src/internal.js';
import { encodeBranch } from '../../src/index.js';
import { storeOrder } from '../../src/serialization/touched.js';
import { SLICES } from '../organs/episode/helpers.js';
import { hex, runtime } from './helpers.js';

/**
 * The beat frame is built from what the beat touched, without walking the tree; docs/heartbeat.md
 * says it is the `encodeBranch(rt.root, { mode: 'delta' })` frame restricted to what the beat
 * touched. When the beat touches only cells whose stamps say so (no hard deletes), the two are
 * the same frame, byte for byte: the oracle for sibling order (sorted and insertion-ordered
 * stores, prepends, same-named siblings), anchors, new subtrees and payloads.
 */

/** Containers under /data, one per store kind x indexing the digest orders differently. */
const STORES = [
  { store: 'list', indexing: 'insertion' },
  { store: 'array', indexing: 'insertion' },
  { store: 'queue', indexing: 'insertion' },
  { store: 'hash', indexing: 'insertion' },
  { store: 'hash', indexing: 'name' },
  { store: 'rbtree', indexing: 'name' },
  { store: 'array', indexing: 'name' },
  { store: 'list', indexing: 'name' },
  { store: 'array', indexing: 'hash' },
] as const;
const NAMES = ['a', 'b', 'c', 'zz', 'k1', null, null] as const;

type Op =
  | { op: 'add'; box: number; name: number; value: string; prepend: boolean; nested: boolean; veiled: boolean }
  | { op: 'set'; box: number; pick: number; value: string }
  | { op: 'remove'; box: number; pick: number }
  | { op: 'unveil'; box: number; pick: number }
  | { op: 'deep'; box: number; pick: number; value: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('add' as const),
    box: fc.nat(STORES.length - 1),
    name: fc.nat(NAMES.length - 1),
    value: fc.string({ maxLength: 80 }),
    prepend: fc.boolean(),
    nested: fc.boolean(),
    veiled: fc.boolean(),
  }),
  fc.record({ op: fc.constant('set' as const), box: fc.nat(STORES.length - 1), pick: fc.nat(40), value: fc.string({ maxLength: 80 }) }),
  fc.record({ op: fc.constant('remove' as const), box: fc.nat(STORES.length - 1), pick: fc.nat(40) }),
  fc.record({ op: fc.constant('unveil' as const), box: fc.nat(STORES.length - 1), pick: fc.nat(40) }),
  fc.record({ op: fc.constant('deep' as const), box: fc.nat(STORES.length - 1), pick: fc.nat(40), value: fc.string({ maxLength: 20 }) }),
);

function apply(rt: Runtime, op: Op): void {
  const box = rt.find(`/data/s${op.box}`)!;
  const kids = box.childrenRaw();
  const insertion = STORES[op.box].indexing === 'insertion';
  if (op.op === 'add') {
    if (box.store!.unique && NAMES[op.name] !== null && box.child(NAMES[op.name]!) !== undefined) return;
    const c = box.add(NAMES[op.name], { value: op.value, prepend: insertion && op.prepend, veiled: op.veiled, store: op.nested ? 'list' : undefined });
    if (op.nested) c.add(null, { value: `${op.value}/kid` }).add('leaf', { value: 'x' });
    return;
  }
  if (kids.length === 0) return;
  const c = kids[op.pick % kids.length];
  if (c.deleted >= 0) return;
  if (op.op === 'set') {
    if (!c.veiled) c.set(op.value);
  } else if (op.op === 'remove') {
    // (a removed subtree's cells are stamped deleted but not touched: the beat frame describes its top only)
    if (!c.veiled && c.childrenRaw().length === 0) c.remove();
  } else if (op.op === 'unveil') {
    if (c.veiled) c.unveil();
  } else if (!c.veiled) {
    // a change two levels down: its parent and grandparent travel as anchors
    const inner = c.childrenRaw().find((k) => k.deleted < 0 && !k.veiled) ?? c.add('inner');
    inner.add(null, { value: op.value });
  }
}

/** Runs the beats; returns, per beat, the beat frame and the encodeBranch frame of the same beat. */
function run(beats: Op[][]): { beat: number; touched: string; branch: string }[] {
  const rt = runtime({ record: false });
  const data = rt.find('/data')!;
  STORES.forEach((s, i) => data.add(`s${i}`, { store: s.store, indexing: s.indexing }));
  let pending: Op[] = [];
  rt.registerEnzyme({ name: 'ops', signal: 'app/ops', run: (ctx) => pending.forEach((op) => apply(ctx.rt, op)) });
  rt.bind('/data', 'ops');
  const out: { beat: number; touched: string; branch: string }[] = [];
  let prev: Uint8Array = new Uint8Array(32);
  rt.onCommit((beat: number, changes: BeatChanges) => {
    const link = beatLink(changes, prev);
    const { frame, root } = beatFrame(rt, changes, prev);
    expect(hex(root)).toBe(hex(rt.digest(beat)));
    out.push({ beat, touched: hex(frame), branch: hex(encodeBranch(rt.root as Cell, { mode: 'delta', beat, prevRoot: link })) });
    prev = rt.digest(beat)!;
  });
  for (const ops of beats) {
    pending = ops;
    rt.enqueue('app/ops', '/data');
    rt.step();
  }
  return out;
}

describe('beat frame from touched cells', () => {
  it('is the delta frame of the whole runtime for the beat, byte for byte (random beats over every store order)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 25 }), { minLength: 1, maxLength: 6 }), (beats) => {
        for (const r of run(beats)) expect(r.touched).toBe(r.branch);
      }),
      { numRuns: 60 },
    );
  });

  it('orders many touched siblings of a large store by the store, not by touch order', () => {
    const beats: Op[][] = [];
    for (let b = 0; b < 3; b++) {
      const ops: Op[] = [];
      for (let i = 0; i < 60; i++) ops.push({ op: 'add', box: i % STORES.length, name: (i * 7 + b) % NAMES.length, value: `v${b}.${i}`, prepend: i % 3 === 0, nested: i % 5 === 0, veiled: false });
      for (let i = 0; i < 40; i++) ops.push({ op: 'set', box: (i * 5) % STORES.length, pick: (i * 13) % 41, value: `w${b}.${i}` });
      beats.push(ops);
    }
    for (const r of run(beats)) expect(r.touched).toBe(r.branch);
  });

  it('known answer: the digests of dossier beats (episodes started, yielding, writing, cancelled, closed)', async () => {
    const rt = runtime({ executor: 'stub' });
    rt.find('/data')!.add('in', { value: 'x' });
    const started: number[] = [];
    for (let i = 0; i < 12; i++) {
      let n = 0;
      const { ticket } = rt.episodes.start({
        signal: 'app/w',
        target: '/data/in',
        profile: i % 3 === 0 ? 'rw' : 'ro',
        slice: (ctx) => {
          if (i % 3 === 0) ctx.set('/data/in', `w${i}.${n}`);
          if (++n < 2 + (i % 3)) ctx.yield();
          else if (i === 4) ctx.cancel();
          else ctx.close();
        },
      });
      started.push(ticket);
    }
    rt.episodes.cancelTicket(started[7]);
    for (let b = 0; b < 8; b++) await rt.episodes.step();
    const all = createHash('sha256');
    for (let b = 1; rt.digest(b) !== undefined; b++) all.update(rt.digest(b)!);
    const known = all.digest('hex');
    expect(known).toBe(KNOWN_EPISODES);
  });

  it('known answer: dossiers opened between beats (stamped with the coming beat, not touched by it) and filled in it', async () => {
    const rt = runtime({ executor: 'stub', record: false });
    rt.find('/data')!.add('in', { value: 'x' });
    // the dossiers name the slice module by its URL: a data: URL keeps the answer the same in every checkout
    const slices = `data:text/javascript,${encodeURIComponent(readFileSync(SLICES, 'utf8'))}`;
    await rt.episodes.load(slices);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 16; i++)
        rt.episodes.start({ signal: 'app/spin', target: '/data/in', profile: 'ro', state: { h: i, iters: 10, left: 1 + (i % 4) }, slice: { module: slices, name: 'spin' }, reads: ['/data/in'] });
      await rt.episodes.run();
    }
    const all = createHash('sha256');
    for (let b = 1; rt.digest(b) !== undefined; b++) all.update(rt.digest(b)!);
    expect(all.digest('hex')).toBe(KNOWN_BETWEEN);
  });

  it('frames a beat larger than the scratch it keeps (90k cells), and the beats after it, as encodeBranch does', () => {
    const rt = runtime({ record: false });
    const big = rt.find('/data')!.add('big', { store: 'list', indexing: 'insertion' });
    let n = 0;
    rt.registerEnzyme({ name: 'fill', signal: 'app/fill', run: () => void Array.from({ length: n }, (_, i) => big.add(null, { value: `v${i}` })) });
    rt.bind('/data', 'fill');
    const same: boolean[] = [];
    rt.onCommit((beat, changes) => {
      const { frame } = beatFrame(rt, changes, new Uint8Array(32));
      same.push(hex(frame) === hex(encodeBranch(rt.root, { mode: 'delta', beat, prevRoot: beatLink(changes, new Uint8Array(32)) })));
    });
    for (const count of [90_000, 3, 0, 5]) {
      n = count;
      rt.enqueue('app/fill', '/data');
      rt.step();
    }
    expect(same).toEqual([true, true, true, true]);
    expect(big.childCount()).toBe(90_008);
  });

  it('orders same-named siblings of a name-ordered store by the store (a deleted entry before its successor)', () => {
    const rt = runtime();
    const box = rt.find('/data')!.add('box', { store: 'rbtree', indexing: 'name' });
    const old = box.add('a', { value: '1' });
    box.add('b');
    old.remove();
    const again = box.add('a', { value: '2' });
    const c = box.add('c');
    const list = [c, again, old];
    storeOrder(box.store!, list, new Map([old, again, c].map((x) => [x, 0])));
    expect(list).toEqual([old, again, c]);
  });
});

// sha-256 over the chained digests of the 8 beats above (the bytes of issue 8's first digest writer)
const KNOWN_EPISODES = '67f00d358bbbc41639dc51050b352671ff1fb6adfa97c81cf683d9582dd8f04d';
// the same over the 15 beats of three rounds of 16 module-slice episodes started between beats
const KNOWN_BETWEEN = 'fc2be4074738867dcc889ea96fb0d958f3121e735a27adfcb29cd75644da3772';
