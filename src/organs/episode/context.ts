/**
 * What a slice sees. Function slices run on the runtime thread with live reads and real
 * mutation helpers (refused in read-only profiles); module slices get the same calls from the
 * slice runner (`slice-runner.ts`) against their read snapshot. A context records the slice's
 * choice (yield, await, close, cancel) and its accounting; the engine applies them once the
 * slice returns.
 */
import { invalidArgType, outOfRange } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import type { GuardContext } from './current.js';
import { type AwaitOptions, checkAwait } from './slice-codec.js';
import type { SliceOutcome } from './slice-runner.js';

export type { AwaitOptions } from './slice-codec.js';

export type EpisodeProfile = 'ro' | 'rw' | 'hybrid';

/** The calls a slice body makes (function and module slices alike). */
export interface SliceContext extends GuardContext {
  readonly eid: number;
  readonly ticket: number;
  readonly beat: number;
  readonly profile: EpisodeProfile;
  readonly signal: string;
  readonly target: string;
  /** Carried from slice to slice (structured-clone-safe for module slices). */
  state: unknown;
  read(path: string): Uint8Array | undefined;
  text(path: string): string | undefined;
  children(path: string): string[];
  /** Continue at the next beat (`ist:yield`). */
  yield(): void;
  /** Continue when operation `oid` reaches `want` (`ist:await`); `op/tmo` after `ttl` beats cancels. */
  await(oid: number, options?: AwaitOptions): void;
  /** Finish: `ist:ok`, `sts:ok`. */
  close(): void;
  /** Give up: `ist:cxl`, `sts:cnl`. */
  cancel(): void;
  /** Cooperative bail-out: `checkCancel()` turns true; the episode ends `sts:cxl`. */
  requestCancel(): void;
  /** Mutation helpers: false (and one `ep:pro/ro` fact) in a read-only slice. */
  set(path: string, value: Uint8Array | string): boolean;
  add(parent: string, name: string, value?: Uint8Array | string): boolean;
  remove(path: string): boolean;
  /** Stage bytes at `offset` of `path`'s payload, published at the commit edge (counts as I/O). */
  streamWrite(path: string, offset: number, bytes: Uint8Array): boolean;
  /** Hybrid: take the lease on the target (false when another holder has it). */
  promote(): boolean;
  /** Hybrid: give the lease back. */
  demote(): boolean;
}

/** A function slice: runs on the runtime thread. */
export type FunctionSlice<R extends Tree = Tree> = (ctx: SliceContext & { readonly rt: R }) => void;

/** A staged write, published at the commit edge. */
export interface StagedWrite {
  path: string;
  offset: number;
  bytes: Uint8Array;
}

/** What the engine lends a function-slice context. */
export interface ContextHost {
  readonly rt: Tree;
  /** Whether the episode holds its lease now. */
  leased(): boolean;
  /** Whether a supervisor cancelled the episode meanwhile. */
  cancelled(): boolean;
  promote(): boolean;
  demote(): boolean;
  /** Run a mutation under the lease (when held). */
  underLease<T>(fn: () => T): T;
  stage(w: StagedWrite): void;
}

export function newOutcome(state: unknown): SliceOutcome {
  return { action: 'none', oid: 0, want: '', ttl: 0, state, io: 0, over: false, guard: 0, cancel: false, error: '', ms: 0 };
}

/**
 * The context of a function slice (runtime thread, live reads). One per episode, reused by
 * each of its slices (`begin`): a slice allocates nothing. A context kept past its slice sees
 * its calls wiped by the next `begin`, as if made on a context thrown away.
 */
export class FunctionContext implements SliceContext {
  readonly out: SliceOutcome = newOutcome(undefined);
  beat = 0;
  state: unknown = undefined;
  private cancelled = false;
  /** I/O bytes this slice may still account (-1: unlimited). */
  private ioLeft = -1;

  constructor(
    private readonly host: ContextHost,
    readonly eid: number,
    readonly ticket: number,
    readonly profile: EpisodeProfile,
    readonly signal: string,
    readonly target: string,
  ) {}

  /** Start a slice: a blank outcome, the episode's state, cancel flag and I/O allowance. */
  begin(beat: number, state: unknown, cancelled: boolean, ioLeft: number): this {
    const o = this.out;
    o.action = 'none';
    o.oid = 0;
    o.want = '';
    o.ttl = 0;
    o.state = state;
    o.io = 0;
    o.over = false;
    o.guard = 0;
    o.cancel = false;
    o.error = '';
    o.ms = 0;
    this.beat = beat;
    this.state = state;
    this.cancelled = cancelled;
    this.ioLeft = ioLeft;
    return this;
  }

  get rt(): Tree {
    return this.host.rt;
  }

  private cell(path: string): Cell | undefined {
    if (typeof path !== 'string') throw invalidArgType('path', 'an absolute path', path);
    return this.host.rt.find(path);
  }

  read(path: string): Uint8Array | undefined {
    return this.cell(path)?.value;
  }

  text(path: string): string | undefined {
    return this.cell(path)?.text;
  }

  children(path: string): string[] {
    return (
      this.cell(path)
        ?.children()
        .map((c) => c.name) ?? []
    );
  }

  yield(): void {
    this.out.action = 'yield';
  }

  await(oid: number, options?: AwaitOptions): void {
    const { want, ttl } = checkAwait(oid, options);
    Object.assign(this.out, { action: 'await', oid, want, ttl });
  }

  close(): void {
    this.out.action = 'close';
  }

  cancel(): void {
    this.out.action = 'cancel';
  }

  requestCancel(): void {
    this.out.cancel = true;
    this.cancelled = true;
  }

  checkCancel(): boolean {
    return this.cancelled || this.host.cancelled();
  }

  accountIO(bytes: number): boolean {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw outOfRange('bytes', 'an integer >= 0', bytes);
    this.out.io += bytes;
    if (this.ioLeft >= 0 && this.out.io > this.ioLeft) {
      this.out.over = true;
      this.cancelled = true;
      return false;
    }
    return !this.out.over;
  }

  requireRW(): boolean {
    if (this.host.leased()) return true;
    this.out.guard++;
    return false;
  }

  set(path: string, value: Uint8Array | string): boolean {
    if (!this.requireRW()) return false;
    const c = this.cell(path);
    return c !== undefined && this.host.underLease(() => c.set(value));
  }

  add(parent: string, name: string, value?: Uint8Array | string): boolean {
    if (!this.requireRW()) return false;
    const p = this.cell(parent);
    if (p === undefined) return false;
    this.host.underLease(() => p.add(name, value === undefined ? undefined : { value }));
    return true;
  }

  remove(path: string): boolean {
    if (!this.requireRW()) return false;
    const c = this.cell(path);
    return c !== undefined && this.host.underLease(() => c.remove());
  }

  streamWrite(path: string, offset: number, bytes: Uint8Array): boolean {
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidArgType('path', 'an absolute path', path);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > 1 << 30) throw outOfRange('offset', 'an integer in 0 .. 2^30', offset);
    if (!(bytes instanceof Uint8Array)) throw invalidArgType('bytes', 'a Uint8Array', bytes);
    if (!this.requireRW() || !this.accountIO(bytes.length)) return false;
    this.host.stage({ path, offset, bytes: bytes.slice() });
    return true;
  }

  promote(): boolean {
    return this.host.promote();
  }

  demote(): boolean {
    return this.host.demote();
  }
}
