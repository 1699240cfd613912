import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';
import { setBeat } from '../../src/kernel/tree.js';
import type { Cell } from '../../src/kernel/cell/cell.js';
import { COLD_STORE } from '../../src/kernel/cell/flags.js';
import { addColdChild, fillChildren, fillPayload, type ColdChild, type ColdVersion } from '../../src/kernel/cold.js';

const code = (c: string) => expect.objectContaining({ code: c });
const text = (s: string) => new TextEncoder().encode(s);

/** A loader over plain descriptions kept in memory: token -> { versions, children }. */
function describedLoader(rt: ReturnType<typeof createRuntime>, table: Map<number, { versions: ColdVersion[]; children: ColdChild[] }>): string[] {
  const calls: string[] = [];
  rt.coldLoader = (cell: Cell, part) => {
    calls.push(`${cell.path}:${part}`);
    const d = table.get(cell.pv as number)!;
    if (part === 'payload') fillPayload(cell, d.versions);
    else fillChildren(cell, undefined, d.children);
  };
  return calls;
}

describe('cold cells (kernel/cold.ts)', () => {
  it('load on first access, part by part, and read like cells that were always there', () => {
    const rt = createRuntime();
    const table = new Map<number, { versions: ColdVersion[]; children: ColdChild[] }>([
      [
        1,
        {
          versions: [
            { beat: 0, kind: 'value', bytes: text('a') },
            { beat: 2, kind: 'value', bytes: text('b') },
            { beat: 3, kind: 'none' },
          ],
          children: [
            { name: 'kid', created: 1, deleted: -1, immutable: false, token: 2 },
            { name: 'gone', created: 1, deleted: 2, immutable: false, token: 3 },
          ],
        },
      ],
      [2, { versions: [{ beat: 1, kind: 'data', bytes: new Uint8Array(100).fill(1) }], children: [] }],
      [3, { versions: [], children: [] }],
    ]);
    const calls = describedLoader(rt, table);
    setBeat(rt, 5);
    const stub = addColdChild(rt.find('/data')!, { name: 'cold', created: 0, deleted: -1, immutable: false, token: 1 });
    expect(stub.isCold).toBe(true);
    expect(calls).toEqual([]);
    expect(rt.find('/data/cold/kid')!.value).toEqual(new Uint8Array(100).fill(1));
    expect(calls).toEqual(['/data/cold:children', '/data/cold/kid:payload']);
    expect(stub.value).toBeUndefined(); // cleared at beat 3
    expect(stub.valueAt(2)).toEqual(text('b'));
    expect(stub.valueAt(1)).toEqual(text('a'));
    expect(stub.payloadBeats()).toEqual([3, 2, 0]);
    expect(rt.find('/data/cold/gone', 1)!.existsAt(1)).toBe(true);
    expect(rt.find('/data/cold/gone')).toBeUndefined();
    expect(rt.touched).toBeNull();
    // a write after loading is an ordinary change
    stub.set('c');
    expect(stub.valueAt(4)).toBeUndefined();
    expect(stub.text).toBe('c');
  });

  it('eviction gives the subtree back and it loads again identically; refusals change nothing', () => {
    const rt = createRuntime();
    const table = new Map<number, { versions: ColdVersion[]; children: ColdChild[] }>([
      [1, { versions: [{ beat: 0, kind: 'value', bytes: text('root') }], children: [{ name: 'x', created: 0, deleted: -1, immutable: false, token: 2 }] }],
      [2, { versions: [{ beat: 0, kind: 'value', bytes: text('x') }], children: [] }],
    ]);
    const calls = describedLoader(rt, table);
    const stub = addColdChild(rt.find('/data')!, { name: 'c', created: 0, deleted: -1, immutable: false, token: 1 });
    expect(rt.find('/data/c/x')!.text).toBe('x');
    const names = rt.namepool.size;
    stub.makeCold(1);
    expect(stub.isCold).toBe(true);
    expect(rt.find('/data/c/x')!.text).toBe('x');
    expect(rt.namepool.size).toBe(names);
    expect(calls).toHaveLength(4);
    expect(() => rt.root.makeCold(9)).toThrow(code('ERR_INVALID_STATE'));
    rt.find('/data')!.add('l', { link: rt.find('/data/c/x')! });
    expect(() => stub.makeCold(1)).toThrow(code('ERR_INVALID_STATE')); // x is a link target
    expect(stub.flags & COLD_STORE).toBe(0); // still loaded
    expect(rt.find('/data/l')!.resolve()!.text).toBe('x');
  });

  it('a cold cell without a loader, a failing loader, and fills of warm cells are refused', () => {
    const rt = createRuntime();
    const stub = addColdChild(rt.find('/data')!, { name: 'c', created: 0, deleted: -1, immutable: false, token: 1 });
    expect(() => stub.value).toThrow(code('ERR_INVALID_STATE'));
    rt.coldLoader = () => {
      throw Object.assign(new Error('store gone'), { code: 'ERR_HYDRATE_FAIL' });
    };
    expect(() => stub.children()).toThrow(code('ERR_HYDRATE_FAIL'));
    expect(stub.isCold).toBe(true);
    expect(() => addColdChild(rt.find('/data')!, { name: 'c', created: 0, deleted: -1, immutable: false, token: 2 })).toThrow(code('ERR_NAME_EXISTS'));
    expect(() => fillPayload(rt.find('/data')!, [])).toThrow(code('ERR_INVALID_STATE'));
    expect(() => fillPayload(stub, [{ beat: 0, kind: 'value', bytes: new Uint8Array(5000) }])).toThrow(code('ERR_INVALID_STATE'));
    expect(stub.isCold).toBe(true);
    // removing a cold subtree hard does not load it
    stub.removeHard();
    expect(rt.find('/data/c')).toBeUndefined();
  });
});
