/** Shared helpers of the frame tests: random beat histories and a full dump of a branch. */
import fc from 'fast-check';
import { createRuntime, readFrame, type Cell, type Runtime } from '../../src/index.js';
import { FINISH_PARAMS } from '../../src/native/binding.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';

const hex = (b: Uint8Array | undefined): string | null => (b === undefined ? null : Buffer.from(b).toString('hex'));

/**
 * Everything observable about a branch, raw (deleted children included): names, stamps,
 * payload kind and bytes, the payload as of every beat up to `lastBeat`, store kinds and the
 * child order.
 */
export function dumpBranch(c: Cell, lastBeat: number): unknown {
  const out: unknown[] = [];
  c.traverse(
    (x, depth) => {
      const entry: Record<string, unknown> = {
        depth,
        name: x.name,
        created: x.created,
        deleted: x.deleted,
        type: x.type,
        kind: x.payloadKind,
        immutable: x.immutable,
      };
      if (x.isLink) entry.target = x.target?.path;
      else {
        entry.value = hex(x.deleted < 0 ? x.value : undefined);
        const past: (string | null)[] = [];
        for (let b = Math.max(0, x.created); b <= lastBeat; b++) past.push(hex(x.valueAt(b)));
        entry.past = past;
      }
      if (x.store !== null) entry.store = `${x.store.kind}/${x.store.indexing}`;
      entry.children = x.childrenRaw().map((k) => k.name);
      out.push(entry);
    },
    { raw: true },
  );
  return out;
}

/** One random operation on the branch. */
export type Op =
  | { op: 'add'; parent: number; name: string; value?: number; size: number; store?: 'hash' | 'list' | 'array' | 'rbtree' | 'queue'; prepend: boolean }
  | { op: 'set'; cell: number; value: number; size: number }
  | { op: 'remove'; cell: number }
  | { op: 'clear'; cell: number }
  | { op: 'link'; parent: number; name: string; target: number }
  | { op: 'relink'; link: number; target: number };

const NAMES = ['a', 'b', 'item', 'ZED', '42', '7', 'x y z', 'with-digits9', 'a long reference name, really'];

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('add' as const),
    parent: fc.nat(),
    name: fc.constantFrom(...NAMES),
    value: fc.option(fc.nat(255), { nil: undefined }),
    size: fc.constantFrom(0, 1, 8, 64, 65, 300, 5000),
    store: fc.option(fc.constantFrom('hash' as const, 'list' as const, 'array' as const, 'rbtree' as const, 'queue' as const), { nil: undefined }),
    prepend: fc.boolean(),
  }),
  fc.record({ op: fc.constant('set' as const), cell: fc.nat(), value: fc.nat(255), size: fc.constantFrom(0, 3, 64, 65, 2000) }),
  fc.record({ op: fc.constant('remove' as const), cell: fc.nat() }),
  fc.record({ op: fc.constant('clear' as const), cell: fc.nat() }),
  fc.record({ op: fc.constant('link' as const), parent: fc.nat(), name: fc.constantFrom(...NAMES), target: fc.nat() }),
  fc.record({ op: fc.constant('relink' as const), link: fc.nat(), target: fc.nat() }),
);

/** Beats of operations (each inner array is one beat). */
export const historyArb = fc.array(fc.array(opArb, { maxLength: 8 }), { minLength: 1, maxLength: 6 });

function fill(value: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (value + i * 7) & 0xff;
  return b;
}

/** Apply one op to the live cells of the branch (kernel refusals are part of the game). */
export function runOp(branch: Cell, op: Op): void {
  const live: Cell[] = [];
  const links: Cell[] = [];
  branch.traverse((c) => {
    if (!c.isLink) live.push(c);
    else links.push(c);
  });
  const pick = (i: number) => live[i % live.length];
  try {
    switch (op.op) {
      case 'add': {
        const parent = pick(op.parent);
        const init: Parameters<Cell['add']>[1] = {};
        if (op.value !== undefined) init.value = fill(op.value, op.size);
        if (op.store !== undefined) {
          init.store = op.store;
          init.indexing = op.store === 'list' || op.store === 'queue' ? 'insertion' : 'name';
        }
        const insertion = parent.store !== null && parent.store.indexing === 'insertion';
        if (op.prepend && insertion) init.prepend = true;
        if (op.value !== undefined && op.size > 64 && op.size <= 4095 && op.value % 2 === 0) {
          const c = parent.add(op.name, { ...init, value: undefined });
          c.setValue(fill(op.value, op.size));
        } else parent.add(op.name, init);
        break;
      }
      case 'set': {
        const c = pick(op.cell);
        if (c !== branch) c.set(fill(op.value, op.size));
        break;
      }
      case 'remove': {
        const c = pick(op.cell);
        if (c !== branch) c.remove();
        break;
      }
      case 'clear': {
        const c = pick(op.cell);
        if (c !== branch) c.clearValue();
        break;
      }
      case 'relink': {
        if (links.length > 0) links[op.link % links.length].relink(pick(op.target));
        break;
      }
      case 'link': {
        const parent = pick(op.parent);
        parent.add(op.name, { link: pick(op.target) });
        break;
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === undefined || !code.startsWith('ERR_')) throw e;
  }
}

/** A runtime with /data/app built by `beats` of ops, one beat each (the branch is created at beat 0). */
export function buildHistory(beats: Op[][]): { rt: Runtime; branch: Cell } {
  const rt = createRuntime();
  const branch = rt.find('/data')!.add('app', { store: 'list', indexing: 'insertion' });
  for (let b = 0; b < beats.length; b++) {
    if (b > 0) rt.advance();
    for (const op of beats[b]) runOp(branch, op);
  }
  return { rt, branch };
}

export const KEY = new Uint8Array(32).map((_, i) => i * 3 + 1);

/** The error code `fn` throws (undefined when it does not throw; an uncoded error shows its stack). */
export const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${String((e as Error)?.stack ?? e)}`;
  }
};

/**
 * `frame` with bytes of its records (keys and bodies) changed at `edits` ([where, byte]), then
 * finished again, so CRCs and root are valid; undefined when an edit broke the framing itself.
 */
export function refinishMutated(frame: Uint8Array, edits: [number, number][]): Uint8Array | undefined {
  const read = readFrame(frame);
  const trailer = read.records[read.records.length - 1];
  const buf = new Uint8Array(frame.length + 4096);
  buf.set(frame.subarray(0, trailer.offset));
  for (const [at, v] of edits) {
    const r = read.records[at % (read.records.length - 1)];
    const p = r.offset + 6 + ((at >> 8) % Math.max(1, r.length - 10));
    if (p < r.offset + r.length - 4) buf[p] = v;
  }
  const params = new Float64Array(FINISH_PARAMS);
  params.set([read.beat, read.mode === 'delta' ? 0 : 1, read.caps, read.aead === 'none' ? 0 : 3, 0, read.history.payload, read.history.manifest]);
  const len = fallbackBinding.flatFinish(buf, trailer.offset, params, read.prevRoot);
  return len < 0 ? undefined : buf.subarray(0, len);
}
