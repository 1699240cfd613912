/**
 * The stock cell-operation enzymes (`sig_cell/op_add|op_upd|op_del|op_mov|op_cln`): tree edits
 * requested by an impulse whose target is a request dictionary.
 *
 * Request: links `role_parent`, `role_subject`, `role_source`, `role_templ` (or
 * `role_template`) name the working cells; optional switches `arg_deep`, `arg_prepend`
 * (1-byte VALUE, non-zero is true) and `arg_pos` (8-byte little-endian VALUE) may be values or
 * links to values. Every check runs before any change: a malformed request is a `sev:usage`
 * CEI fact (topic `cell/op_*`, subject: the request), the enzyme's result is `fatal` and the
 * tree is left as it was.
 */
import type { Cell } from '../../kernel/cell/cell.js';
import { cloneInit } from '../../kernel/cell/clone.js';
import type { Tree } from '../../kernel/tree.js';
import type { EnzymeContext } from '../heartbeat/context.js';
import type { HasHeartbeat } from '../heartbeat/heartbeat.js';
import type { EnzymeResult } from './registry.js';

export const CELL_OP_SIGNALS = ['sig_cell/op_add', 'sig_cell/op_upd', 'sig_cell/op_del', 'sig_cell/op_mov', 'sig_cell/op_cln'] as const;

class BadRequest extends Error {}

function fail(reason: string): never {
  throw new BadRequest(reason);
}

/** The request's role cell, resolved through its link (undefined when absent). */
function role(req: Cell, ...names: string[]): Cell | undefined {
  for (const n of names) {
    const c = req.child(n);
    if (c === undefined) continue;
    if (!c.isLink) fail(`${n} must be a link`);
    const t = c.resolve();
    if (t === undefined || c.isDead) fail(`${n} points at a deleted cell`);
    return t;
  }
  return undefined;
}

function need(req: Cell, ...names: string[]): Cell {
  return role(req, ...names) ?? fail(`${names[0]} is missing`);
}

/** An argument's bytes (a VALUE, directly or through a link), checked for width. */
function arg(req: Cell, name: string, width: number): Uint8Array | undefined {
  let c = req.child(name);
  if (c === undefined) return undefined;
  if (c.isLink) c = c.resolve() ?? fail(`${name} points at a deleted cell`);
  if (c.payloadKind !== 'value') fail(`${name} must be a VALUE`);
  const v = c.value!;
  if (v.length !== width) fail(`${name} must be ${width} byte${width === 1 ? '' : 's'} wide (got ${v.length})`);
  return v;
}

function flag(req: Cell, name: string): boolean | undefined {
  const v = arg(req, name, 1);
  return v === undefined ? undefined : v[0] !== 0;
}

function position(req: Cell): number | undefined {
  const v = arg(req, 'arg_pos', 8);
  if (v === undefined) return undefined;
  const n = new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n); // clamped to the end by the store
}

function isWithin(c: Cell, ancestor: Cell): boolean {
  for (let x: Cell | null = c; x !== null; x = x.parent) if (x === ancestor) return true;
  return false;
}

/** Copy `src` under `parent` (deep or not) with the request's placement; all or nothing. */
function place(rt: Tree, req: Cell, src: Cell, parent: Cell, deep: boolean): Cell {
  const prepend = flag(req, 'arg_prepend');
  const pos = position(req);
  const target = parent.isLink ? parent.resolve()! : parent;
  if (target.isCold) target.childrenRaw(); // a cold child list loads (kernel/cold.ts) before its store is read
  const st = target.store;
  if (pos !== undefined && st !== null && (st.kind !== 'array' || st.indexing !== 'insertion')) fail(`arg_pos needs an insertion-ordered array store (the parent's is ${st.kind} by ${st.indexing})`);
  if (prepend === true && st !== null && st.indexing !== 'insertion') fail(`arg_prepend needs an insertion-ordered store (the parent's is ordered by ${st.indexing})`);
  if (src === target || isWithin(target, src)) fail('the parent lies inside the cell being copied');
  const { init, bigValue } = cloneInit(src);
  if (prepend === true) init.prepend = true;
  if (pos !== undefined) init.position = pos;
  const kids = deep && init.link === undefined ? src.children() : [];
  return rt.build(target, src.id, init, (copy) => {
    if (bigValue !== undefined) copy.setValue(bigValue);
    for (const k of kids) k.cloneTo(copy);
  });
}

type Op = (rt: Tree, req: Cell) => void;

const opAdd: Op = (rt, req) => {
  const parent = need(req, 'role_parent');
  const blueprint = role(req, 'role_templ', 'role_template', 'role_source') ?? fail('role_templ or role_source is missing');
  place(rt, req, blueprint, parent, flag(req, 'arg_deep') === true);
};

const opCln: Op = (rt, req) => {
  const parent = need(req, 'role_parent');
  place(rt, req, need(req, 'role_source'), parent, flag(req, 'arg_deep') === true);
};

const opUpd: Op = (_rt, req) => {
  const subject = need(req, 'role_subject');
  const source = need(req, 'role_source');
  const k = source.payloadKind;
  if (k !== 'value' && k !== 'data') fail(`role_source holds ${k}: only VALUE and DATA payloads can be copied`);
  const sk = subject.payloadKind;
  if (sk === 'handle' || sk === 'stream') fail(`role_subject is a ${sk} proxy`);
  const bytes = source.value!;
  if (k === 'value') subject.setValue(bytes);
  else subject.setData(bytes, { take: true }); // `value` is already a fresh copy
};

/** Live links from outside `subject`'s subtree that point into it, except `allowed`. */
function outsideLinks(subject: Cell, allowed: readonly Cell[]): Cell[] {
  const out: Cell[] = [];
  let inside: Set<Cell> | undefined; // the subtree, listed once if a link points into it (no ancestor walk per link)
  subject.traverse((c) => {
    for (const l of c.shadows) {
      if (l.deleted >= 0 || allowed.includes(l)) continue;
      if (inside === undefined) {
        inside = new Set();
        subject.traverse((x) => void inside!.add(x), { raw: true, warm: false });
      }
      if (!inside.has(l)) out.push(l);
    }
  });
  return out;
}

const opDel: Op = (_rt, req) => {
  const subject = need(req, 'role_subject');
  if (subject.parent === null) fail('the root cannot be deleted');
  if (isWithin(req, subject)) fail('the request lies inside the subject');
  // the request's own links would pin the subject: they go first (soft, so the request keeps its history)
  const own = req.children().filter((c) => c.isLink && c.resolve() !== undefined && isWithin(c.resolve()!, subject));
  const pinned = outsideLinks(subject, own);
  if (pinned.length > 0) fail(`${pinned.length} link(s) from outside point into the subject (${pinned[0].path})`);
  subject.parent.assertStructureMutable();
  subject.assertStructureMutable();
  for (const l of own) l.remove();
  subject.removeHard();
};

const opMov: Op = (rt, req) => {
  const subject = need(req, 'role_subject');
  const parent = need(req, 'role_parent');
  if (subject.parent === null) fail('the root cannot be moved');
  if (isWithin(req, subject)) fail('the request lies inside the subject');
  subject.assertStructureMutable();
  const copy = place(rt, req, subject, parent, flag(req, 'arg_deep') !== false);
  try {
    subject.remove(); // soft: the original stays readable in the past (links to it become tombstones)
  } catch (e) {
    copy.removeHard(); // nothing moved
    throw e;
  }
};

function enzyme(op: Op, what: string): (ctx: EnzymeContext) => EnzymeResult {
  return (ctx) => {
    const req = ctx.cell();
    try {
      if (req === undefined) fail(`the request ${ctx.target ?? '(no target)'} does not exist`);
      op(ctx.rt, req);
      return 'ok';
    } catch (e) {
      const note = e instanceof BadRequest ? e.message : `${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}`;
      ctx.cei({ severity: 'usage', topic: `cell/${what}`, note, origin: { enzyme: ctx.enzyme, signal: ctx.signal, target: ctx.target ?? undefined }, subject: req });
      return 'fatal';
    }
  };
}

const DESCRIPTORS = [
  { name: 'enz_add', label: 'cell.add', signal: 'sig_cell/op_add', run: enzyme(opAdd, 'op_add') },
  { name: 'enz_upd', label: 'cell.update', signal: 'sig_cell/op_upd', run: enzyme(opUpd, 'op_upd') },
  { name: 'enz_del', label: 'cell.delete', signal: 'sig_cell/op_del', run: enzyme(opDel, 'op_del') },
  { name: 'enz_mov', label: 'cell.move', signal: 'sig_cell/op_mov', run: enzyme(opMov, 'op_mov') },
  { name: 'enz_cln', label: 'cell.clone', signal: 'sig_cell/op_cln', run: enzyme(opCln, 'op_cln') },
] as const;

/**
 * Register the five cell-operation enzymes (idempotent: calling again changes nothing) and bind
 * them at `bindAt` (default `/`) with propagation, so requests anywhere below reach them.
 */
export function registerCellOperations(rt: HasHeartbeat, options: { bindAt?: string } = {}): void {
  const at = options.bindAt ?? '/';
  for (const d of DESCRIPTORS) rt.heartbeat.registerEnzyme({ ...d, idempotent: false });
  for (const d of DESCRIPTORS) rt.heartbeat.registry.bind(at, d.name, true);
}
