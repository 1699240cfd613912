/**
 * The kernel runtime: the root cell and its boot layout, the beat counter, the namepool, the
 * byte arena and history log shared by every cell, lock counters and the link shadow registry.
 * Nothing here reads a clock or randomness; iteration order is store order.
 */
import { halted, historyPruned, invalidArgType, outOfRange } from '../errors.js';
import { ByteArena } from './arena.js';
import { Cell, type CellInit, type NameInput } from './cell/cell.js';
import { checkBeat, COLD_STORE, LEN_MASK, LEN_SHIFT, PK_MASK, PK_SHIFT, PK_VALUE, SEE_NOW, seen, TYPE_LINK, TYPE_MASK } from './cell/flags.js';
import { HistoryLog } from './history.js';
import type { CeiFact } from './cei/cei.js';
import type { EnzymeDescriptor } from './enzyme/registry.js';
import type { ImpulsePayload } from './heartbeat/context.js';
import { Heartbeat, type CaptureHook, type CommitHook, type EnqueueOptions, type ShutdownHook, type HeartbeatOptions } from './heartbeat/heartbeat.js';
import type { Recording } from './heartbeat/recording.js';
import { resolveNow } from './link.js';
import type { LockTable } from './lock.js';
import { Namepool } from './namepool.js';
import { GLOB_MULTI_HI, GLOB_MULTI_LO, GLOB_STAR_HI, GLOB_STAR_LO, encodeWord, enc } from './naming/id.js';
import { DOM_CEP, Name, nameText } from './naming/name.js';
import { globMatch, parsePath, parsePattern, splitPath, type PathSegment } from './path.js';
import { checkStore, createStore, type Indexing, type StoreKind } from './store/index.js';
import { warm, type ColdLoader } from './cold.js';
import { AsyncFabric } from '../async/fabric.js';
import { Episodes, type EpisodeOptions } from './episode/engine.js';
import { Reactor } from '../async/reactor.js';
import type { ReactorChoice } from '../async/select.js';

/**
 * Limits an outside party (the persistence service) puts on writes: checked by the cell API
 * before anything changes, so a refused write leaves the tree as it was. Kept off the hot path:
 * only payloads above `payloadBytes` and children of `parent` reach the checks.
 */
export interface WriteGuard {
  /** Payload writes of more bytes than this are passed to `payload` (Infinity: none). */
  readonly payloadBytes: number;
  /** Throws to refuse a payload of `bytes` bytes on `cell` (a cell being added included). */
  payload(cell: Cell, bytes: number): void;
  /** New children of this cell are passed to `child` (null: none). */
  readonly parent: Cell | null;
  /** Throws to refuse a child named `name` (its printed text) under `parent`. */
  child(name: string): void;
}

/** Top-level cells created at boot, in this order. */
export const ROOT_LAYOUT = ['sys', 'rt', 'journal', 'env', 'cas', 'lib', 'data', 'tmp', 'enzymes'] as const;

export interface RuntimeOptions extends HeartbeatOptions, EpisodeOptions {
  /** Store kind for children stores created implicitly by `add` (default 'hash'). */
  defaultStore?: StoreKind;
  /** Indexing for those stores (default: 'name'). */
  defaultIndexing?: Indexing;
  /** Create the root layout (default true). */
  layout?: boolean;
  /** Async I/O: a reactor backend to start ('uring' | 'epoll' | 'portable' | 'auto') or a reactor to use. */
  reactor?: ReactorChoice | Reactor;
  /**
   * Beats of payload history kept for as-of reads (default 65,536; 0: all, forever). Older
   * versions are dropped every `historyBeats / 4` beats; reads before `rt.historyFloor` throw
   * ERR_HISTORY_PRUNED.
   */
  historyBeats?: number;
}

/** Default payload history retention (beats): the same window as `digestBeats`. */
export const HISTORY_BEATS = 65_536;

let writeBeat: (rt: Runtime, beat: number) => void;

/**
 * Move a runtime's beat: for the layers that rebuild or resume a runtime (frames applied, a
 * store recovered, an undo). Not public: `rt.beat` is read-only to users.
 */
export function setBeat(rt: Runtime, beat: number): void {
  writeBeat(rt, beat);
}

export class Runtime {
  #beat = 0;
  static {
    writeBeat = (rt, beat) => {
      rt.#beat = beat;
    };
  }
  /** The current beat: every change made now is stamped with it (read-only; beats move it). */
  get beat(): number {
    return this.#beat;
  }
  readonly namepool = new Namepool();
  /** VALUE bytes (replaced by `compact`). */
  arena = new ByteArena();
  readonly history = new HistoryLog();
  /** Beats of payload history kept (0: all). */
  readonly historyBeats: number;
  /**
   * The oldest beat as-of payload reads still answer exactly: versions before it were dropped
   * by retention (or never loaded from a store). Reads before it throw ERR_HISTORY_PRUNED.
   */
  historyFloor = 0;
  /** Beat of the last retention pass. */
  private prunedAt = 0;
  readonly root: Cell;
  readonly defaultStore: StoreKind;
  readonly defaultIndexing: Indexing;
  /** Store / data locks held, by cell (empty tables let mutations skip the ancestor walk). */
  readonly storeLocks: LockTable = new Map();
  readonly dataLocks: LockTable = new Map();
  /** Link shadows: target -> linkers. */
  readonly shadows = new Map<Cell, Cell[]>();
  /** Loads cold cells on first access (kernel/cold.ts); null: no cell is cold. */
  coldLoader: ColdLoader | null = null;
  /** While a beat runs: every cell a change touches, pushed by the cell API (heartbeat digests). */
  touched: Cell[] | null = null;
  /** Between beats (`touched` is null): called with each cell a change touches; null: nobody asks (persistence does). */
  changedBetweenBeats: ((cell: Cell) => void) | null = null;
  /** What a store below the runtime cannot keep, refused before anything changes (set by persistence); null: no limits. */
  writeGuard: WriteGuard | null = null;
  /** Set by `refuseWrites`: every later mutation throws what it makes (a closed store). */
  writesRefused: (() => Error) | null = null;
  /** Beats, enzymes, OPS, CEI, mailboxes, pause/rollback/resume (`src/kernel/heartbeat/`). */
  readonly heartbeat: Heartbeat;
  /** The async I/O reactor (`reactor.backend` names it), when `options.reactor` asked for one. */
  readonly reactor: Reactor | undefined;
  /** The op/io fabric over that reactor (`/rt/async`). */
  readonly io: AsyncFabric | undefined;

  constructor(options: RuntimeOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const hb = options.historyBeats ?? HISTORY_BEATS;
    if (!Number.isSafeInteger(hb) || hb < 0) throw outOfRange('historyBeats', 'an integer >= 0', hb);
    this.historyBeats = hb;
    const kind = options.defaultStore ?? 'hash';
    this.defaultIndexing = checkStore(kind, options.defaultIndexing, {});
    this.defaultStore = kind;
    encodeWord('root');
    const root = new Cell(null, DOM_CEP, enc.hi, enc.lo, 0);
    root.store = createStore('hash', 'name', {}, root, this);
    this.root = root;
    if (options.layout !== false) for (const name of ROOT_LAYOUT) root.add(name);
    this.heartbeat = new Heartbeat(this, options);
    if (options.layout !== false) this.heartbeat.boot();
    if (options.executor !== undefined || options.threads !== undefined || options.sliceBytes !== undefined) this.episodeEngine = new Episodes(this, options);
    if (options.reactor !== undefined) {
      this.ownsReactor = !(options.reactor instanceof Reactor);
      this.reactor = options.reactor instanceof Reactor ? options.reactor : new Reactor({ backend: options.reactor });
      this.io = new AsyncFabric(this, this.reactor);
    }
  }

  /** Whether `reactor` was started by this runtime (so `close()` closes it); a reactor given in is the caller's. */
  private readonly ownsReactor: boolean = false;
  private closing: Promise<void> | undefined;

  /**
   * The one lifecycle call: stop driven mode, shut down through `op/shdn`, stop the episodes'
   * worker threads, close the reactor this runtime started; nothing of it keeps the process
   * alive afterwards. The tree stays readable; writes, beats and impulses after it throw coded
   * errors (ERR_HALTED). Closing again returns the same promise.
   */
  close(): Promise<void> {
    return (this.closing ??= this.closeParts());
  }

  /** What `close()` does, in order; a persistent runtime closes its store before this runs. */
  protected async closeParts(): Promise<void> {
    this.stop();
    this.shutdown();
    await this.episodeEngine?.close();
    if (this.ownsReactor) await this.reactor!.close();
    this.writesRefused ??= () => halted('change the tree of a closed runtime');
  }

  // ---- heartbeat entry points (docs/heartbeat.md) -------------------------------------------

  /** Register an enzyme (idempotent; during a beat it activates at the next beat). */
  registerEnzyme(descriptor: EnzymeDescriptor): void {
    this.heartbeat.registerEnzyme(descriptor);
  }

  /** Bind an enzyme to the subtree at `path` (`propagate`: descendants inherit it). */
  bind(path: string, enzyme: string, options: { propagate?: boolean } = {}): void {
    this.heartbeat.registry.bind(path, enzyme, options?.propagate === true);
  }

  /** Remove a binding at `path` and mask the one `path` would inherit (a tombstone). */
  unbind(path: string, enzyme: string): void {
    this.heartbeat.registry.unbind(path, enzyme);
  }

  /** Queue an impulse for the next beat (recorded for replay). */
  enqueue(signal: string, target: string | null, payload?: ImpulsePayload, options?: EnqueueOptions): void {
    this.heartbeat.enqueue(signal, target, payload, options);
  }

  /** Run one beat (Capture, Compute, Commit); returns the beat it ran. */
  step(): number {
    return this.heartbeat.step();
  }

  /** Run `beats` beats, or until nothing is queued. */
  run(options?: { beats?: number }): number {
    return this.heartbeat.run(options);
  }

  /** Drive beats from the event loop: every `intervalMs` and whenever work is queued. */
  start(options?: { intervalMs?: number }): void {
    this.heartbeat.start(options);
  }

  stop(): void {
    this.heartbeat.stop();
  }

  /** The 32-byte digest of a beat that ran (undefined when unknown or no longer kept). */
  digest(beat: number): Uint8Array | undefined {
    return this.heartbeat.digest(beat);
  }

  /** What a replay needs: `createRuntime({ replay: rt.recording() })`. */
  recording(): Recording {
    return this.heartbeat.recording();
  }

  /** Replay a recording window from the next beat on (its first beat must be the next beat): docs/heartbeat.md. */
  replay(recording: Recording): void {
    this.heartbeat.replay(recording);
  }

  /** Run `fn(beat)` at the start of each beat's Capture; it may `enqueue` inputs for that beat. */
  onCapture(fn: CaptureHook): () => void {
    return this.heartbeat.onCapture(fn);
  }

  /** Run `fn(beat, changes)` at Commit, once the beat's changes are final. */
  onCommit(fn: CommitHook): () => void {
    return this.heartbeat.onCommit(fn);
  }

  /** Run `fn()` when shutdown reaches `ist:flush` (persistence flushes there). */
  onShutdown(fn: ShutdownHook): () => void {
    return this.heartbeat.onShutdown(fn);
  }

  /** OPS dossiers under `/rt/ops`. */
  get ops(): Heartbeat['ops'] {
    return this.heartbeat.ops;
  }

  /** Mailboxes (`open`, `post`, `messages`). */
  get mailboxes(): Heartbeat['mailboxes'] {
    return this.heartbeat.mailboxes;
  }

  /** Record a CEI fact (default mailbox `/data/mailbox/diag`). */
  cei(fact: CeiFact): Cell {
    return this.heartbeat.report(fact);
  }

  /** Pause / rollback / resume: control impulses applied at the next beat's Capture. */
  pause(): void {
    this.heartbeat.pause();
  }

  rollback(toBeat: number): void {
    this.heartbeat.rollback(toBeat);
  }

  resume(): void {
    this.heartbeat.resume();
  }

  get paused(): boolean {
    return this.heartbeat.prr.paused;
  }

  /** The published view horizon after a rollback (undefined when none). */
  get viewHorizon(): number | undefined {
    return this.heartbeat.prr.horizon;
  }

  private episodeEngine: Episodes | undefined;

  /** The episode engine (E3, docs/episodes.md): created on first use with the stub executor unless `createRuntime({ executor })` chose one. */
  get episodes(): Episodes {
    return (this.episodeEngine ??= new Episodes(this));
  }

  /** Shut down through `op/shdn`; afterwards no beats or impulses. */
  shutdown(): void {
    this.heartbeat.shutdown();
  }

  get halted(): boolean {
    return this.heartbeat.isHalted;
  }

  /** Advance to the next beat; returns it. (The heartbeat drives this later.) */
  advance(): number {
    const b = ++this.#beat;
    const keep = this.historyBeats;
    if (keep > 0 && b - this.prunedAt >= Math.max(1, keep >>> 2) && b > keep) this.pruneHistory(b - keep);
    return b;
  }

  /**
   * Drop payload versions no read at `horizon` or later needs, and raise `historyFloor` to it.
   * Runs by itself (`historyBeats`). (Loading a store raises `historyFloor` directly to where
   * the loaded snapshots' history windows begin.)
   */
  pruneHistory(horizon: number): void {
    this.prunedAt = this.beat;
    if (horizon <= this.historyFloor) return;
    const arena = this.arena;
    this.history.prune(horizon, (m) => (m & PK_MASK) >>> PK_SHIFT, (m) => {
      if ((m & PK_MASK) >>> PK_SHIFT === PK_VALUE) arena.free((m & LEN_MASK) >>> LEN_SHIFT);
    });
    this.historyFloor = horizon;
    if (arena.needsCompaction) this.compact();
  }

  /** A checked as-of beat: an integer from 0 to the current beat, not older than the history kept (ERR_HISTORY_PRUNED). */
  asOf(beat: unknown): number {
    const b = checkBeat(beat, this.beat, 'atBeat');
    if (b < this.historyFloor) throw historyPruned(b, this.historyFloor);
    return b;
  }

  /** Parse a name (interning references) for repeated use with `add`/`child`. */
  name(text: string): Name {
    return Name.parse(text, this.namepool);
  }

  /** The cell at `path` now (or as of `atBeat`), or undefined. Links on the way are followed. */
  find(path: string, atBeat?: number): Cell | undefined {
    const segs = parsePath(path, this.namepool);
    if (segs === undefined) return this.coldLoader === null ? undefined : this.findByText(path, atBeat);
    const mode = atBeat === undefined ? SEE_NOW : this.asOf(atBeat);
    let c: Cell | undefined = this.root;
    for (const s of segs) {
      if ((c.flags & TYPE_MASK) === TYPE_LINK) c = mode === SEE_NOW ? resolveNow(c) : c.targetAt(mode);
      if (c === undefined) return undefined;
      if ((c.flags & COLD_STORE) !== 0) warm(c, 'children');
      if (c.store === null) return undefined;
      c = c.store.findName(s.dom, s.hi, s.lo, mode);
      if (c === undefined) return undefined;
    }
    return c;
  }

  /** `find` segment by segment: a name that is not interned yet may be a cold cell's, interned as its parent loads. */
  private findByText(path: string, atBeat?: number): Cell | undefined {
    if (atBeat !== undefined) this.asOf(atBeat);
    let c: Cell | undefined = this.root;
    for (const text of splitPath(path)) {
      c = c.child(text, atBeat);
      if (c === undefined) return undefined;
    }
    return c;
  }

  /**
   * Cells matching a path pattern, in depth-first store order: a segment may hold `*` (zero or
   * more characters), be `*` (any name) or `**` (any run of segments, none included).
   */
  query(pattern: string, atBeat?: number): Cell[] {
    const segs = parsePattern(pattern, this.namepool);
    const mode = atBeat === undefined ? SEE_NOW : this.asOf(atBeat);
    const out: Cell[] = [];
    if (segs === undefined) return out;
    const found = new Set<Cell>();
    const kids = (c: Cell): Cell[] => {
      if ((c.flags & TYPE_MASK) === TYPE_LINK) {
        const t = mode === SEE_NOW ? resolveNow(c) : c.targetAt(mode);
        if (t === undefined) return [];
        c = t;
      }
      const list: Cell[] = [];
      if ((c.flags & COLD_STORE) !== 0) warm(c, 'children');
      if (c.store !== null) c.store.forEach((k) => void (seen(k, mode) && list.push(k)));
      return list;
    };
    const matches = (c: Cell, s: PathSegment): boolean => {
      if (s.hi === GLOB_STAR_HI && s.lo === GLOB_STAR_LO) return true;
      if (!s.glob) return c.dom === s.dom && c.hi === s.hi && c.lo === s.lo;
      return globMatch(s.text, nameText(c.dom, c.hi, c.lo, this.namepool));
    };
    // Depth-first with an explicit stack (any depth): a pair (cell, segment index) is expanded
    // once, so `**` patterns stay linear in the cells they reach and a link back up ends
    const stack: Cell[] = [this.root];
    const at: number[] = [0];
    const expanded: Set<Cell>[] = segs.map(() => new Set());
    while (stack.length > 0) {
      const c = stack.pop()!;
      const i = at.pop()!;
      if (i === segs.length) {
        if (!found.has(c)) {
          found.add(c);
          out.push(c);
        }
        continue;
      }
      if (expanded[i].has(c)) continue;
      expanded[i].add(c);
      const s = segs[i];
      const list = kids(c);
      if (s.hi === GLOB_MULTI_HI && s.lo === GLOB_MULTI_LO) {
        for (let k = list.length - 1; k >= 0; k--) {
          stack.push(list[k]);
          at.push(i);
        }
        stack.push(c); // `**` matching no segment comes first
        at.push(i + 1);
        continue;
      }
      for (let k = list.length - 1; k >= 0; k--) {
        if (!matches(list[k], s)) continue;
        stack.push(list[k]);
        at.push(i + 1);
      }
    }
    return out;
  }

  /** Visit every visible cell now (or as of `atBeat`; `raw` includes deleted and veiled ones). */
  traverse(fn: (cell: Cell, depth: number) => boolean | void, options: { atBeat?: number; raw?: boolean } = {}): void {
    this.root.traverse(fn, options);
  }

  /**
   * Veiled building: add `name` under `parent` veiled, let `build` fill it, then reveal it at
   * once. If `build` throws, the veiled subtree is discarded (hard; it stays veiled if a lock or
   * a link from outside pins it) and the error rethrown.
   */
  build(parent: Cell, name: NameInput, init: CellInit | undefined, build: (cell: Cell) => void): Cell {
    const cell = parent.add(name, { ...init, veiled: true });
    try {
      build(cell);
    } catch (e) {
      try {
        cell.removeHard();
      } catch {
        // a lock or an outside link left by `build` keeps the subtree: it stays veiled (invisible)
      }
      throw e;
    }
    cell.unveil();
    return cell;
  }

  /**
   * Copy every live VALUE payload (current and historical) into a fresh arena, dropping the
   * garbage left by hard updates, hard deletes and same-beat replacements. Runs by itself when
   * garbage outweighs live bytes; O(cells + history entries).
   */
  compact(): void {
    const from = this.arena;
    const to = new ByteArena();
    const h = this.history;
    const isValue = (meta: number) => (meta & PK_MASK) >>> PK_SHIFT === PK_VALUE;
    const move = (off: number, meta: number) => to.write(from.view(off, (meta & LEN_MASK) >>> LEN_SHIFT));
    this.root.traverse(
      (c) => {
        if (isValue(c.flags)) c.pv = move(c.pv as number, c.flags);
        for (let e = c.hist; e >= 0; e = h.prev[e]) if (isValue(h.meta[e])) h.pv[e] = move(h.pv[e] as number, h.meta[e]);
      },
      { raw: true, warm: false }, // cold cells hold no bytes here
    );
    this.arena = to;
  }

  /** Memory accounting of the shared structures. */
  stats(): { arenaBytes: number; arenaGarbage: number; arenaCapacity: number; historyEntries: number; historyCapacity: number; names: number } {
    return {
      arenaBytes: this.arena.used,
      arenaGarbage: this.arena.garbage,
      arenaCapacity: this.arena.capacity,
      historyEntries: this.history.live,
      historyCapacity: this.history.capacity,
      names: this.namepool.size,
    };
  }
}

/** Create a runtime with the boot layout (`/sys`, `/rt`, `/journal`, `/env`, `/cas`, `/lib`, `/data`, `/tmp`, `/enzymes`). */
export function createRuntime(options?: RuntimeOptions): Runtime {
  return new Runtime(options);
}
