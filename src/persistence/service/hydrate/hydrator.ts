/**
 * Per-cell hydration of lazy branches. At open a lazy branch gets an index (cold-index.ts)
 * and one cold stub, its root, under `/data`; the kernel calls this loader the first time a
 * cold cell's payload or children are needed (kernel/cold.ts). Every hydration is planned on
 * the index first (which cells, which parts, how deep, how many bytes), checked against its
 * budgets, read from disk (positioned reads, record CRCs checked), and only then published to
 * the kernel: an overrun or a read failure loads nothing. Hydration is not a change (nothing
 * journaled, stamped or framed). Clean subtrees can be evicted back into cold stubs.
 */
import { hydrateError, invalidArgType, invalidArgValue, notFound, outOfRange } from '../../../errors.js';
import type { Cell } from '../../../kernel/cell/cell.js';
import { addColdChild, coldToken, fillChildren, fillPayload, type ColdChild, type ColdPart, type ColdVersion } from '../../../kernel/cold.js';
import type { Tree } from '../../../kernel/tree.js';
import type { Heartbeat } from '../../../beat/heartbeat/heartbeat.js';
import { COLD_PAYLOAD, COLD_STORE } from '../../../kernel/cell/flags.js';
import { crc32c } from '../../../hash/crc32c.js';
import type { AeadOptions } from '../../../serialization/aead.js';
import { readFrame, type Frame } from '../../../serialization/reader.js';
import type { StorageEngine } from '../../engine.js';
import { framesToLoad } from '../recover.js';
import { ColdIndex, ColdUnsupported, INDEXINGS, STORE_KINDS } from './cold-index.js';

export interface HydrateBudget {
  /** Deepest level below the target that one hydration may load (default: no limit). */
  maxDepth?: number;
  /** Most payload bytes (every version) that one hydration may read (default: no limit). */
  maxBytes?: number;
}

export interface HydrateOptions extends HydrateBudget {
  /**
   * What to load besides the path to the target and the target itself (its payload and its
   * children as cold stubs): 'none' (default), 'payload' (also the children's payloads), or
   * 'children' (the whole subtree below the target).
   */
  prefetch?: 'none' | 'payload' | 'children';
}

export interface HydrateResult {
  /** Cell parts loaded (payloads and child lists). */
  parts: number;
  /** Payload bytes read. */
  bytes: number;
}

/** One step of a plan: load `part` of index node `node` (a kernel cell now, or a stub made earlier in the plan). */
interface Step {
  node: number;
  part: ColdPart;
  cell: Cell | undefined;
}

const PREFETCH = ['none', 'payload', 'children'];

export function checkBudget(b: HydrateBudget | undefined, where: string): Required<HydrateBudget> {
  const out = { maxDepth: Infinity, maxBytes: Infinity };
  if (b === undefined) return out;
  if (b === null || typeof b !== 'object') throw invalidArgType(where, 'an object { maxDepth?, maxBytes? }', b);
  for (const k of ['maxDepth', 'maxBytes'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0) || (!Number.isInteger(v) && v !== Infinity)) throw outOfRange(`${where}.${k}`, 'an integer >= 0', v);
    out[k] = v;
  }
  return out;
}

export class Hydrator {
  readonly index = new ColdIndex();
  /** Cells whose payload is loaded while their children are still cold: the token `pv` no longer holds. */
  private readonly storeTokens = new WeakMap<Cell, number>();
  /** Frame beat each indexed branch was indexed at (eviction needs nothing written since). */
  private readonly indexedAt = new Map<string, number>();
  /** Budget of loads made by plain access (a payload read, a child lookup). */
  private readonly accessBudget: Required<HydrateBudget>;
  /** One positioned read kept: cells of a run share a record. */
  private lastRecord: { frame: number; offset: number; bytes: Uint8Array } | undefined;
  private lastFrame: { frame: number; parsed: Frame } | undefined;

  /** The tree the branches are served into (the heartbeat's). */
  private readonly rt: Tree;

  constructor(
    private readonly hb: Heartbeat,
    private readonly engine: StorageEngine,
    private readonly aead: AeadOptions | undefined,
    budget?: HydrateBudget,
  ) {
    this.rt = hb.rt;
    this.accessBudget = checkBudget(budget, 'store.hydrate');
  }

  /** Whether `branch` is served cell by cell. */
  has(branch: string): boolean {
    return this.index.roots.has(branch);
  }

  /**
   * Index a lazy branch and put its root under `/data` as a cold stub. Returns the stub, or
   * undefined when the branch holds what stubs cannot stand for (links, payload-ordered
   * stores) or the engine has no positioned reads: then it stays unloaded until
   * `rt.verbs.hydrate` loads it whole.
   */
  openBranch(branch: string): Cell | undefined {
    if (this.engine.readRange === undefined) return undefined;
    const frames = framesToLoad(this.engine, branch, this.aead);
    if (frames.length === 0) return undefined; // removed: nothing to stand for
    let root: number;
    try {
      root = this.index.addBranch(branch, frames, this.aead);
    } catch (e) {
      this.index.roots.delete(branch);
      if (e instanceof ColdUnsupported) return undefined;
      throw e;
    }
    this.indexedAt.set(branch, this.engine.head(branch)?.beat ?? -1);
    if (this.rt.coldLoader === null) this.rt.coldLoader = (cell, part) => this.load(cell, part);
    const ix = this.index;
    return addColdChild(this.rt.find('/data')!, { name: branch, created: ix.created[root], deleted: ix.deleted[root], immutable: ix.immutable[root] === 1, token: root });
  }

  /** Frames indexed for `branch`. */
  framesOf(branch: string): number {
    return this.index.frames.filter((f) => f.branch === branch).length;
  }

  /** Forget a branch (its files were replaced: import); its stubs must be gone already. */
  forget(branch: string): void {
    this.index.roots.delete(branch);
    this.indexedAt.delete(branch);
  }

  /** The kernel's loader: one part of one cell, within the access budget. */
  private load(cell: Cell, part: ColdPart): void {
    const node = this.tokenOf(cell);
    this.run([{ node, part, cell }], 0, this.accessBudget, cell.path);
  }

  private tokenOf(cell: Cell): number {
    const t = coldToken(cell) ?? this.storeTokens.get(cell);
    if (t === undefined) throw hydrateError('ERR_HYDRATE_FAIL', `${cell.path} is cold without a token of this store`);
    return t;
  }

  /**
   * Load the path to `path` and the target (with `prefetch`) within the budgets. Returns what
   * was loaded; over budget nothing is (ERR_HYDRATE_BUDGET).
   */
  hydrate(path: string, options: HydrateOptions = {}): HydrateResult {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object { maxDepth?, maxBytes?, prefetch? }', options);
    const budget = checkBudget(options, 'options');
    const prefetch = options.prefetch ?? 'none';
    if (!PREFETCH.includes(prefetch)) throw invalidArgValue('options.prefetch', `one of ${PREFETCH.join(', ')}`);
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidArgType('path', 'an absolute path', path);
    const segs = path === '/' ? [] : path.slice(1).split('/');
    const steps: Step[] = [];
    // walk loaded cells while their children are loaded, then index nodes
    const ix = this.index;
    let cell: Cell | undefined = this.rt.root;
    let node = -1;
    for (const seg of segs) {
      if (cell !== undefined) {
        if (!hasCold(cell, 'children')) {
          cell = cell.child(seg);
          if (cell === undefined) throw notFound(path);
          continue;
        }
        node = this.tokenOf(cell);
        steps.push({ node, part: 'children', cell });
        cell = undefined;
      } else steps.push({ node, part: 'children', cell: undefined });
      node = ix.childNamed(node, seg);
      if (node < 0) throw notFound(path);
    }
    if (cell?.isCold) node = this.tokenOf(cell);
    const depth = this.planTarget(cell, node, prefetch, steps);
    return this.run(steps, depth, budget, path);
  }

  /** Steps that load the target (payload and children) and what `prefetch` asks below it; returns the depth reached. */
  private planTarget(cell: Cell | undefined, node: number, prefetch: string, steps: Step[]): number {
    this.visit(cell, node, true, steps);
    if (prefetch === 'none') return 0;
    let deepest = 0;
    const stack: [Cell | undefined, number, number][] = [[cell, node, 0]];
    while (stack.length > 0) {
      const [c, n, d] = stack.pop()!;
      for (const [kc, kn] of this.kidsOf(c, n)) {
        deepest = Math.max(deepest, d + 1);
        this.visit(kc, kn, prefetch === 'children', steps);
        if (prefetch === 'children') stack.push([kc, kn, d + 1]);
      }
    }
    return deepest;
  }

  /** Steps for one cell: its payload, and its children when `children`; a cell that does not exist yet is made by its parent's step. */
  private visit(cell: Cell | undefined, node: number, children: boolean, steps: Step[]): void {
    if (children && (cell === undefined || hasCold(cell, 'children'))) steps.push({ node, part: 'children', cell });
    if (cell === undefined || hasCold(cell, 'payload')) steps.push({ node, part: 'payload', cell });
  }

  /** Children of a cell (loaded ones from the kernel, others from the index), each with its node (-1: fully loaded). */
  private kidsOf(cell: Cell | undefined, node: number): [Cell | undefined, number][] {
    if (cell !== undefined && !hasCold(cell, 'children')) return cell.childrenRaw().map((k) => [k, k.isCold ? this.tokenOf(k) : -1]);
    const ix = this.index;
    const out: [Cell | undefined, number][] = [];
    for (let k = ix.first[node]; k >= 0; k = ix.next[k]) out.push([undefined, k]);
    return out;
  }

  /**
   * Check the plan against the budget, read every payload it needs, then publish it in order
   * (a parent's children before anything below them). Nothing is published when a check or a
   * read fails.
   */
  private run(steps: Step[], depth: number, budget: Required<HydrateBudget>, where: string): HydrateResult {
    const ix = this.index;
    let bytes = 0;
    for (const s of steps) if (s.part === 'payload') bytes += ix.payloadBytes(s.node);
    if (depth > budget.maxDepth) throw hydrateError('ERR_HYDRATE_BUDGET', `hydrating ${where} reaches ${depth} level(s) down, over the budget of ${budget.maxDepth}`);
    if (bytes > budget.maxBytes) throw hydrateError('ERR_HYDRATE_BUDGET', `hydrating ${where} reads ${bytes} payload bytes, over the budget of ${budget.maxBytes}`);
    // read: every payload version, before anything is published
    const versions = new Map<number, ColdVersion[]>();
    try {
      for (const s of steps) if (s.part === 'payload') versions.set(s.node, this.readVersions(s.node));
    } catch (e) {
      this.fail(where, e);
    }
    // publish
    const made = new Map<number, Cell>();
    for (const s of steps) {
      const cell = s.cell ?? made.get(s.node);
      if (cell === undefined) throw hydrateError('ERR_HYDRATE_FAIL', `the plan for ${where} reached a cell before its parent`);
      if (s.part === 'payload') {
        if (!hasCold(cell, 'payload')) continue;
        const token = this.tokenOf(cell);
        fillPayload(cell, versions.get(s.node)!);
        if (hasCold(cell, 'children')) this.storeTokens.set(cell, token);
      } else {
        if (!hasCold(cell, 'children')) continue;
        const kids = fillChildren(cell, this.storeOf(s.node), this.childrenOf(s.node));
        this.storeTokens.delete(cell);
        let k = ix.first[s.node];
        for (const c of kids) {
          made.set(k, c);
          k = ix.next[k];
        }
      }
    }
    return { parts: steps.length, bytes };
  }

  /** Report a failed read as CEI (`coh.hydrate.fail`) and throw ERR_HYDRATE_FAIL. */
  private fail(where: string, e: unknown): never {
    const note = `hydrating ${where}: ${(e as Error)?.message ?? String(e)}`;
    try {
      this.hb.report({ severity: 'warn', topic: 'coh.hydrate.fail', note, subject: where.startsWith('/') ? where : undefined });
    } catch {
      // reporting must not hide the failure itself
    }
    throw hydrateError('ERR_HYDRATE_FAIL', note, e);
  }

  private storeOf(node: number): { kind: (typeof STORE_KINDS)[number]; indexing: (typeof INDEXINGS)[number]; autoNext: number } | undefined {
    const ix = this.index;
    const k = ix.storeKind[node];
    return k < 0 ? undefined : { kind: STORE_KINDS[k], indexing: INDEXINGS[ix.storeIndexing[node]], autoNext: ix.autoNext[node] };
  }

  private childrenOf(node: number): ColdChild[] {
    const ix = this.index;
    const out: ColdChild[] = [];
    for (let k = ix.first[node]; k >= 0; k = ix.next[k]) out.push({ name: ix.names[k], created: ix.created[k], deleted: ix.deleted[k], immutable: ix.immutable[k] === 1, token: k });
    return out;
  }

  /** Payload versions of `node`, oldest first, read from disk. */
  private readVersions(node: number): ColdVersion[] {
    const ix = this.index;
    const out: ColdVersion[] = [];
    for (let v = ix.vFirst[node]; v >= 0; v = ix.vNext[v]) {
      const kind = (['none', 'value', 'data'] as const)[ix.vKind[v]];
      const beat = ix.vBeat[v];
      if (kind === 'none') {
        out.push({ beat, kind });
        continue;
      }
      let bytes: Uint8Array;
      if (ix.vRecord[v] >= 0) {
        const rec = this.record(ix.vFrame[v], ix.vRecord[v], ix.vRecordLen[v]);
        bytes = rec.slice(ix.vAt[v], ix.vAt[v] + ix.vLen[v]);
      } else {
        const f = this.frame(ix.vFrame[v]);
        const cellAt = f.cells[ix.vAt[v]];
        const p = ix.vHistory[v] < 0 ? cellAt?.payload : cellAt?.history[ix.vHistory[v]];
        if (p === undefined || p.bytes === undefined || p.beat !== beat)
          throw hydrateError('ERR_HYDRATE_FAIL', `the frame of beat ${ix.frames[ix.vFrame[v]].beat} no longer holds the version of beat ${beat}`);
        bytes = p.bytes.slice();
      }
      out.push({ beat, kind, bytes });
    }
    return out;
  }

  /** One record of a stored frame, read in place and checked against its CRC32C. */
  private record(frame: number, offset: number, length: number): Uint8Array {
    const last = this.lastRecord;
    if (last !== undefined && last.frame === frame && last.offset === offset) return last.bytes;
    const f = this.index.frames[frame];
    const bytes = this.engine.readRange!(f.branch, f.locator!, offset, length);
    if (length < 4 || crc32c(bytes.subarray(0, length - 4)) !== readU32LE(bytes, length - 4))
      throw hydrateError('ERR_HYDRATE_FAIL', `a record of the frame of beat ${f.beat} (offset ${offset}) fails its CRC32C`);
    this.lastRecord = { frame, offset, bytes };
    return bytes;
  }

  /** A whole stored frame, read again and validated (chunked, deflated or sealed payloads). */
  private frame(frame: number): Frame {
    if (this.lastFrame?.frame === frame) return this.lastFrame.parsed;
    const f = this.index.frames[frame];
    const parsed = readFrame(this.engine.readRange!(f.branch, f.locator!, 0, f.length), { aead: this.aead });
    this.lastFrame = { frame, parsed };
    return parsed;
  }

  /**
   * Turn the loaded subtree at `path` back into a cold stub. Only inside a branch served cell
   * by cell, with nothing written to that branch since it was indexed and nothing pending
   * (`clean`): what the index says is still what the store holds. Returns cells dropped.
   */
  evict(path: string, clean: (branch: string, indexedAt: number) => boolean): number {
    const segs = typeof path === 'string' && path.startsWith('/data/') ? path.slice(6).split('/') : [];
    const branch = segs[0];
    if (branch === undefined || !this.has(branch)) throw hydrateError('ERR_HYDRATE_EVICT', `${String(path)} is not inside a branch loaded cell by cell (a lazy branch)`);
    if (!clean(branch, this.indexedAt.get(branch)!)) throw hydrateError('ERR_HYDRATE_EVICT', `/data/${branch} changed since it was indexed, or is not durable yet`);
    const cell = this.rt.find(path);
    if (cell === undefined) throw hydrateError('ERR_HYDRATE_EVICT', `${path} does not exist`);
    let node = this.index.roots.get(branch)!;
    for (const seg of segs.slice(1)) {
      node = this.index.childNamed(node, seg);
      if (node < 0) throw hydrateError('ERR_HYDRATE_EVICT', `${path} is not in the index`);
    }
    let dropped = 0;
    cell.traverse(() => void dropped++, { raw: true, warm: false });
    cell.makeCold(node);
    this.storeTokens.delete(cell);
    return dropped - 1;
  }
}

function hasCold(c: Cell, part: ColdPart): boolean {
  return (c.flags & (part === 'payload' ? COLD_PAYLOAD : COLD_STORE)) !== 0;
}

/** A record's CRC32C trails it little-endian (docs/FORMAT.md). */
function readU32LE(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}
