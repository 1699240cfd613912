import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cell } from '../../src/kernel/cell/cell.js';
import { COLD_PAYLOAD, COLD_STORE } from '../../src/kernel/cell/flags.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { PersistentRuntime, StoreOptions } from '../../src/runtime/persistent.js';
import { installApp, open, put, removeTempDirs, tempDir, topics } from './cps-helpers.js';
import { createRuntime } from '../../src/runtime/create.js';

afterEach(() => removeTempDirs());

const code = (c: string) => expect.objectContaining({ code: c });

/** Kernel cells under `cell` as they are in memory: cells (cold stubs included), loaded payloads, loaded child lists. */
function census(cell: Cell): { cells: number; payloads: number; stores: number } {
  let cells = 0;
  let payloads = 0;
  let stores = 0;
  cell.traverse(
    (c) => {
      cells++;
      if ((c.flags & COLD_PAYLOAD) === 0) payloads++;
      if ((c.flags & COLD_STORE) === 0) stores++;
    },
    { raw: true, warm: false },
  );
  return { cells, payloads, stores };
}

/** Everything observable about a subtree, past included: loads whatever is cold. */
function dump(rt: Runtime, path: string): string[] {
  const out: string[] = [];
  rt.find(path)!.traverse(
    (c) => {
      const beats = c.payloadBeats();
      const past = beats.map((b) => `${b}:${Buffer.from(c.valueAt(b) ?? new Uint8Array()).toString('hex')}`);
      c.childrenRaw(); // loads a cold child list: the store is read below
      const s = c.store;
      out.push([c.path, c.created, c.deleted, c.payloadKind, c.immutable, c.modified, past.join(','), s === null ? '-' : `${s.kind}/${s.indexing}/${s.autoNext}`].join(' '));
    },
    { raw: true },
  );
  return out;
}

/** A store runtime whose heartbeat reads a fixed clock. */
function withClock(_: typeof open, dir: string, store: Omit<StoreOptions, 'dir'>): PersistentRuntime {
  const rt = createRuntime({ store: { dir, ...store }, record: false, clock: () => 1_700_000_000_000_000_000n });
  installApp(rt);
  return rt;
}

/** Opens `dir` with `big` lazy. */
function lazy(dir: string, extra: Record<string, unknown> = {}): PersistentRuntime {
  return open(dir, { branches: { big: { lazy: true } }, ...extra });
}

async function makeStore(groups: number, leaves: number, refName = 'user1'): Promise<string> {
  const dir = tempDir('hydrate');
  const rt = open(dir, { checkpointEvery: 0 });
  rt.registerEnzyme({
    name: 'fill',
    signal: 't/fill',
    run(ctx) {
      const data = ctx.rt.find('/data')!;
      const p = ctx.payload as { step: number };
      if (p.step === 0) {
        const big = data.add('big', { value: 'root' });
        for (let g = 1; g <= groups; g++) {
          const grp = big.add(g, { value: `group ${g}` });
          for (let l = 1; l <= leaves; l++) grp.add(l, { value: `v${g}.${l}` });
        }
        big.add(refName, { value: 'a reference name' });
        big.add('list', { store: 'list', indexing: 'insertion' });
        return;
      }
      const big = data.child('big')!;
      const g = big.child(1 + (p.step % (groups - 1)))!; // the last group is removed at step 6
      g.child(1)!.set(`v-step-${p.step}`);
      g.child(2 + (p.step % 3))!.remove();
      big.child('list')!.add(null, { value: `item ${p.step}` });
      if (p.step === 3) big.add('blob', { data: new Uint8Array(5000).fill(7) });
      if (p.step === 5) big.child('blob')!.setData(new Uint8Array(6000).fill(9));
      if (p.step === 6) big.child(groups)!.remove();
    },
  });
  rt.bind('/data', 'fill');
  for (let step = 0; step < 8; step++) {
    rt.enqueue('t/fill', '/data', { step });
    rt.step();
    if (step === 4) await rt.verbs.checkpoint('big');
  }
  await rt.close();
  return dir;
}

describe('lazy branches hydrate cell by cell', () => {
  it('opens a 50k-cell branch as one cold stub and loads only the path of one deep lookup', async () => {
    const dir = await makeStore(50, 1000);
    const rt = lazy(dir);
    const big = rt.find('/data')!.child('big')!;
    expect(census(big)).toEqual({ cells: 1, payloads: 0, stores: 0 });
    const leaf = rt.find('/data/big/17/423')!;
    expect(leaf.text).toBe('v17.423');
    // the path is loaded; its siblings are cold stubs; nothing else is in memory
    const after = census(big);
    expect(after.cells).toBe(1 + 50 + 3 + 1000); // root, its children (50 groups, user1, list, blob), group 17's leaves
    expect(after.payloads).toBe(1); // the leaf's
    expect(after.stores).toBe(2); // big's and group 17's children
    expect(big.isCold).toBe(true); // its payload is still on disk
    expect(big.text).toBe('root');
    expect(rt.find('/data/big/user1')!.text).toBe('a reference name');
    await rt.close();
  }, 60_000);

  it('reads payloads, children, counts and past states through cold cells exactly as a whole load does', async () => {
    const dir = await makeStore(6, 20);
    const copy = tempDir('hydrate');
    cpSync(dir, copy, { recursive: true });
    const whole = open(dir);
    const cold = lazy(copy);
    expect(Buffer.from(cold.find('/data/big/6', 3)!.valueAt(3)!).toString()).toBe('group 6'); // as of a beat before its deletion
    expect(cold.find('/data/big/6')).toBeUndefined();
    expect(cold.find('/data/big/4')!.childCount()).toBe(whole.find('/data/big/4')!.childCount());
    expect(
      cold
        .find('/data/big/list')!
        .children()
        .map((c) => c.text),
    ).toEqual(
      whole
        .find('/data/big/list')!
        .children()
        .map((c) => c.text),
    );
    expect(cold.find('/data/big/blob')!.valueAt(4)).toEqual(new Uint8Array(5000).fill(7)); // a chunked DATA version, from the checkpoint
    expect(cold.find('/data/big/blob')!.value).toEqual(new Uint8Array(6000).fill(9));
    expect(dump(cold, '/data/big')).toEqual(dump(whole, '/data/big'));
    await whole.close();
    await cold.close();
  });

  it('gives the same beat digests and frames as a whole load when beats write into cold cells', async () => {
    const dir = await makeStore(6, 20, 'user');
    const other = tempDir('hydrate');
    cpSync(dir, other, { recursive: true });
    // the wall clock is an input of the digest: both runtimes read the same one. Both open `big`
    // lazy (its config is in /data/persist, written in beat 1); one loads it all before beat 1.
    const whole = withClock(open, dir, { branches: { big: { lazy: true } } });
    whole.hydrate('/data/big', { maxDepth: 64, prefetch: 'children' });
    const cold = withClock(open, other, { branches: { big: { lazy: true } } });
    const beats: number[] = [];
    for (const rt of [whole, cold]) {
      beats.length = 0;
      beats.push(put(rt, 'big', '5', 'new group payload'));
      rt.enqueue('app/del', '/data', { branch: 'big', key: '3' });
      beats.push(rt.step());
      rt.registerEnzyme({ name: 'deep', signal: 't/deep', run: (ctx) => void ctx.rt.find('/data/big/4/7')!.set('deep write') });
      rt.bind('/data', 'deep');
      rt.enqueue('t/deep', '/data');
      beats.push(rt.step());
      await rt.flush();
    }
    for (const b of beats) expect(Buffer.from(cold.digest(b)!).toString('hex')).toBe(Buffer.from(whole.digest(b)!).toString('hex'));
    for (const b of beats) expect(Buffer.from(cold.persist.engine.frameAt('big', b)!.bytes)).toEqual(Buffer.from(whole.persist.engine.frameAt('big', b)!.bytes));
    expect(dump(cold, '/data/big')).toEqual(dump(whole, '/data/big'));
    await whole.close();
    await cold.close();
    // what the lazy runtime wrote reopens to the same state
    const again = open(other);
    const ref = open(dir);
    expect(dump(again, '/data/big')).toEqual(dump(ref, '/data/big'));
    await again.close();
    await ref.close();
  });

  it('rt.hydrate loads within depth and byte budgets; an overrun loads nothing', async () => {
    const dir = await makeStore(6, 20);
    const rt = lazy(dir);
    const big = rt.find('/data')!.child('big')!;
    const before = census(big);
    expect(() => rt.hydrate('/data/big', { prefetch: 'children', maxDepth: 1 })).toThrow(code('ERR_HYDRATE_BUDGET'));
    expect(() => rt.hydrate('/data/big', { prefetch: 'children', maxBytes: 100 })).toThrow(code('ERR_HYDRATE_BUDGET'));
    expect(() => rt.hydrate('/data/big/4', { prefetch: 'payload', maxDepth: 0 })).toThrow(code('ERR_HYDRATE_BUDGET'));
    expect(() => rt.hydrate('/data/big/4', { prefetch: 'sideways' as never })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => rt.hydrate('/data/big/4', { maxBytes: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => rt.hydrate('/data/big/999/1')).toThrow(code('ERR_NOT_FOUND'));
    expect(census(big)).toEqual(before);
    expect(big.isCold).toBe(true);
    const r = rt.hydrate('/data/big/4', { prefetch: 'payload', maxDepth: 1 });
    expect(r.bytes).toBeGreaterThan(0);
    const g4 = rt.find('/data/big/4')!;
    expect(g4.isCold).toBe(false);
    expect(g4.children().every((c) => (c.flags & COLD_PAYLOAD) === 0 && (c.flags & COLD_STORE) !== 0)).toBe(true); // leaves: payload loaded, children not
    const all = rt.hydrate('/data/big', { prefetch: 'children', maxDepth: 2 });
    expect(all.parts).toBeGreaterThan(0);
    expect(census(big)).toMatchObject({ payloads: census(big).cells, stores: census(big).cells });
    // the verb runs on the same code (frames counted from the index)
    expect(rt.verbs.hydrate('big').frames).toBeGreaterThan(0);
    await rt.close();
    // access loads obey the access budget
    const tight = lazy(dir, { hydrate: { maxBytes: 4000 } });
    expect(() => tight.find('/data/big/blob')!.value).toThrow(code('ERR_HYDRATE_BUDGET'));
    expect(tight.find('/data/big/blob')!.isCold).toBe(true);
    expect(tight.find('/data/big/list')!.children()).toHaveLength(7);
    await tight.close();
  });

  it('evicts clean subtrees back to cold stubs and hydrates them again identically', async () => {
    const dir = await makeStore(6, 20);
    const rt = lazy(dir);
    const first = dump(rt, '/data/big');
    const big = rt.find('/data/big')!;
    const loaded = census(big).cells;
    const namesBefore = rt.namepool.size;
    expect(rt.evict('/data/big/4')).toBeGreaterThan(0);
    expect(census(big).cells).toBe(loaded - 20); // group 4's leaves (a deleted one included) are gone
    expect(rt.find('/data/big/4')!.isCold).toBe(true);
    expect(rt.evict('/data/big')).toBeGreaterThan(0);
    expect(census(big)).toEqual({ cells: 1, payloads: 0, stores: 0 });
    expect(rt.namepool.size).toBeLessThanOrEqual(namesBefore);
    expect(dump(rt, '/data/big')).toEqual(first);
    expect(() => rt.evict('/data/other')).toThrow(code('ERR_HYDRATE_EVICT'));
    // after a write the index no longer says what the store holds: refused
    put(rt, 'big', 'fresh', 'x');
    await rt.flush();
    expect(() => rt.evict('/data/big/4')).toThrow(code('ERR_HYDRATE_EVICT'));
    await rt.close();
  });

  it('a record corrupted on disk after open fails the hydration with coh.hydrate.fail and loads nothing', async () => {
    const dir = await makeStore(3, 5);
    const rt = lazy(dir);
    // flip one byte of an inline value in the branch's files: the record CRC catches it on the positioned read
    const saved: [string, Buffer][] = [];
    for (const file of ['frames.log', 'checkpoints.log']) {
      const path = join(dir, 'branches', 'big', file);
      const bytes = readFileSync(path);
      saved.push([path, Buffer.from(bytes)]);
      for (let at = bytes.indexOf('v1.5'); at >= 0; at = bytes.indexOf('v1.5', at + 1)) bytes[at + 1] ^= 0xff;
      writeFileSync(path, bytes);
    }
    const leaf = rt.find('/data/big/1')!.child(5)!;
    expect(() => leaf.text).toThrow(code('ERR_HYDRATE_FAIL'));
    expect(leaf.isCold).toBe(true); // nothing was published
    expect(topics(rt)).toContain('coh.hydrate.fail');
    // the record is whole again: the same cell loads
    for (const [path, bytes] of saved) writeFileSync(path, bytes);
    expect(leaf.text).toBe('v1.5');
    await rt.close();
  });
});
