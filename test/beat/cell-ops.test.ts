import { describe, expect, it } from 'vitest';
import { registerCellOperations } from '../../src/beat/enzyme/cell-ops.js';
import type { Cell, CellInit, Runtime, StoreKind } from '../../src/internal.js';
import { facts, runtime } from './helpers.js';

const STORES: Array<[StoreKind, CellInit]> = [
  ['list', { store: 'list', indexing: 'insertion' }],
  ['array', { store: 'array', indexing: 'insertion' }],
  ['queue', { store: 'queue', indexing: 'insertion' }],
  ['rbtree', { store: 'rbtree', indexing: 'name' }],
  ['hash', { store: 'hash', indexing: 'name' }],
  ['octree', { store: 'octree', indexing: 'function', key: (c: Cell) => [(c.name.length % 7) / 10, 0, 0] }],
];

const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};

/** A tree snapshot: every visible path with its payload and store kind. */
function snapshot(rt: Runtime, under = '/data/w'): string[] {
  const out: string[] = [];
  rt.find(under)!.traverse((c) => void out.push(`${c.path}=${c.text ?? ''}${c.store ? `[${c.store.kind}]` : ''}`));
  return out;
}

function setup(kind: [StoreKind, CellInit]) {
  const rt = runtime();
  registerCellOperations(rt);
  const w = rt.find('/data')!.add('w');
  const dst = w.add('dst', kind[1]);
  const src = w.add('src', { value: 'tmpl', store: 'list', indexing: 'insertion' });
  src.add('kid', { value: 'k' }).add('grandkid', { value: 'g' });
  const reqs = rt.find('/data')!.add('req');
  let n = 0;
  const request = (signal: string, roles: Record<string, Cell>, args: Record<string, Uint8Array> = {}) => {
    const r = reqs.add(`r${++n}`);
    for (const [k, v] of Object.entries(roles)) r.add(k, { link: v });
    for (const [k, v] of Object.entries(args)) r.add(k, { value: v });
    rt.enqueue(signal, r.path);
    rt.step();
    return r;
  };
  return { rt, w, dst, src, request };
}

describe('cell-operation enzymes (sig_cell/op_*) on every store kind', () => {
  it('registration is idempotent', () => {
    const rt = runtime();
    registerCellOperations(rt);
    registerCellOperations(rt);
    expect(rt.heartbeat.registry.size).toBe(5);
    expect(rt.heartbeat.registry.bindingsAt('/').map((b) => b.name)).toEqual(['enz_add', 'enz_upd', 'enz_del', 'enz_mov', 'enz_cln']);
    expect(rt.heartbeat.registry.enzyme('enz_add')!.label).toBe('cell.add');
  });

  for (const kind of STORES) {
    describe(`parent store: ${kind[0]}`, () => {
      it('op_add copies a template (shallow, or deep with arg_deep); op_cln copies a source', () => {
        const { rt, dst, src, request } = setup(kind);
        request('sig_cell/op_add', { role_parent: dst, role_templ: src });
        const shallow = dst.child('src')!;
        expect(shallow.text).toBe('tmpl');
        expect(shallow.children()).toEqual([]);
        shallow.removeHard();
        request('sig_cell/op_add', { role_parent: dst, role_templ: src }, { arg_deep: new Uint8Array([1]) });
        expect(dst.child('src')!.child('kid')!.child('grandkid')!.text).toBe('g');
        expect(src.child('kid')).toBeDefined(); // the template is untouched
        dst.child('src')!.removeHard();
        request('sig_cell/op_cln', { role_parent: dst, role_source: src }, { arg_deep: new Uint8Array([1]) });
        expect(dst.child('src')!.child('kid')!.text).toBe('k');
        expect(dst.child('src')!.store!.kind).toBe('list');
        expect(facts(rt)).toEqual([]);
      });

      it('op_upd copies VALUE and DATA payloads into the subject', () => {
        const { rt, dst, w, request } = setup(kind);
        const subj = dst.add('s', { value: 'old' });
        const v = w.add('v', { value: 'new' });
        const big = new Uint8Array(300).map((_, i) => i & 0xff);
        const d = w.add('d', { data: big });
        request('sig_cell/op_upd', { role_subject: subj, role_source: v });
        expect(subj.text).toBe('new');
        expect(subj.payloadKind).toBe('value');
        request('sig_cell/op_upd', { role_subject: subj, role_source: d });
        expect(subj.value).toEqual(big);
        expect(subj.payloadKind).toBe('data');
        expect(subj.valueAt(0)).toEqual(new TextEncoder().encode('old'));
        expect(facts(rt)).toEqual([]);
      });

      it('op_del removes the subject for good; op_mov moves a subtree', () => {
        const { rt, dst, w, src, request } = setup(kind);
        const gone = dst.add('gone', { value: 'x' });
        request('sig_cell/op_del', { role_subject: gone });
        expect(dst.child('gone') === undefined).toBe(true);
        expect(gone.isFinalized).toBe(true);
        request('sig_cell/op_mov', { role_subject: src, role_parent: dst });
        expect(w.child('src') === undefined).toBe(true);
        expect(w.child('src', 0)).toBe(src); // the original stays readable in the past
        expect(dst.child('src')!.child('kid')!.child('grandkid')!.text).toBe('g');
        expect(facts(rt)).toEqual([]);
      });

      it('malformed requests fail fast with CEI and leave the tree untouched', () => {
        const { rt, dst, w, src, request } = setup(kind);
        const proxy = w.add('p', { handle: { snapshot: () => new Uint8Array(0), restore: () => {} } });
        const before = snapshot(rt);
        request('sig_cell/op_add', { role_parent: dst }); // no template
        request('sig_cell/op_add', { role_parent: dst, role_templ: src }, { arg_deep: new Uint8Array([1, 0]) }); // bad width
        request('sig_cell/op_upd', { role_subject: src, role_source: proxy }); // a proxy payload
        request('sig_cell/op_mov', { role_subject: w, role_parent: dst }); // into itself
        request('sig_cell/op_del', { role_subject: rt.root }); // the root
        request('sig_cell/op_cln', { role_parent: dst, role_source: src }, { arg_pos: new Uint8Array([1]) }); // arg_pos width
        expect(snapshot(rt)).toEqual(before);
        const got = facts(rt);
        expect(got.length).toBe(6);
        expect(got.every((f) => f.includes('|sev:usage|'))).toBe(true);
        expect(got.map((f) => f.split('|')[0])).toEqual(['cell/op_add', 'cell/op_add', 'cell/op_upd', 'cell/op_mov', 'cell/op_del', 'cell/op_cln']);
      });
    });
  }

  it('arg_pos places into an insertion-ordered array store (clamped to the end); arg_prepend puts first', () => {
    const { rt, dst, w, request } = setup(STORES[1]);
    for (const n of ['a', 'b', 'c']) dst.add(n);
    const x = w.add('x');
    const y = w.add('y');
    const z = w.add('z');
    request('sig_cell/op_cln', { role_parent: dst, role_source: x }, { arg_pos: u64(1) });
    request('sig_cell/op_cln', { role_parent: dst, role_source: y }, { arg_pos: u64(99) });
    request('sig_cell/op_cln', { role_parent: dst, role_source: z }, { arg_prepend: new Uint8Array([1]) });
    expect(dst.children().map((c) => c.name)).toEqual(['z', 'a', 'x', 'b', 'c', 'y']);
    // arg_pos on a store that is not an insertion-ordered array is refused
    const h = w.add('h');
    request('sig_cell/op_cln', { role_parent: h, role_source: x }, { arg_pos: u64(0) });
    expect(h.children()).toEqual([]);
    expect(facts(rt)[0]).toMatch(/position needs an array store with insertion indexing/);
  });

  it('a fatal result runs nothing more for that request, and the journal shows it', () => {
    const { rt, dst, request } = setup(STORES[0]);
    request('sig_cell/op_del', { role_parent: dst });
    const ag = rt.find(`/rt/beat/${rt.beat - 1}/agenda`)!.value!;
    expect(ag.at(-1)).toBe(2); // fatal
    expect(facts(rt)).toEqual(['cell/op_del|sev:usage|role_subject is missing']);
  });
});
