/**
 * The flatfile engine (docs/flatfile.md): the embedded default `StorageEngine`. One folder per
 * store; per branch an append-only frame log, a beat index, checkpoints and metadata; a
 * store-wide commit journal for beats that span branches; content-addressed blobs. Opening
 * recovers the store (cuts torn or uncommitted tails); a beat's frames become durable together
 * in one sync round, through a reactor when one is given.
 */
import fs from 'node:fs';
import path from 'node:path';
import { invalidArgType, outOfRange, storeError } from '../../errors.js';
import { createReactor, type Reactor } from '../../async/reactor.js';
import type { ReactorChoice } from '../../async/select.js';
import { ENGINE_CAP, type BranchHead, type BundleManifest, type EngineStats, type FrameLocator, type RecoveryReport, type StorageEngine, type StoredFrame } from '../engine.js';
import { BranchFiles, META_FORMAT, branchDirName, branchNameProblem, checkBranchName, encodeMeta, type BranchMeta } from './branch.js';
import { exportBranch, importBranch } from './bundle.js';
import { JOURNAL_COMPACT_BYTES, journalCompactionSteps } from './journal-compact.js';
import { CasStore } from './cas.js';
import { ReactorCommitter, SyncCommitter, type Committer, type WriteOp } from './committer.js';
import { compactBranch } from './compact.js';
import { settleSwaps, swapDir } from './dir-swap.js';
import { ensureDir, fsyncDir, prepareStoreDir, truncateTo, writeFileAtomic } from './files.js';
import { frameInfo, frameTrailer, type FrameInfo } from './frame-info.js';
import { loadBranch } from './load.js';
import { acquireLock } from './lock.js';
import { recover, type Recovered } from './recover.js';
import {
  BRANCH_META,
  BRANCHES_DIR,
  CAS_DIR,
  IMPORTS_DIR,
  INDEX_ENTRY,
  JOURNAL_FILE,
  LOG_HEADER,
  LOG_SNAPSHOT,
  LOG_SOLO,
  PREALLOC_BYTES,
  LOCK_FILE,
  PREALLOC_LOW,
  PREALLOC_MAX_RECORD,
  STORE_FILE,
  STORE_FORMAT,
  STORE_VERSION,
  GAP_NONE,
  crc,
  encodeIndexEntry,
  gapOf,
  encodeJournalRecord,
  encodeLogHeader,
  sameRoot,
} from './layout.js';

export interface FlatfileOptions {
  /**
   * A reactor the engine writes through (group commit: every write and linked write+sync of a
   * beat submitted together). The engine drains it itself, so it must be dedicated to the
   * engine; the caller closes it after `close()`.
   */
  reactor?: Reactor;
  /** Or: the engine creates (and closes) its own reactor on this backend. Default: no reactor (synchronous fs). */
  backend?: ReactorChoice;
  /** Recovery: Merkle-validate the newest frame of each branch ('tail', default) or every frame ('full'). CRCs and hash chains are always checked. */
  verify?: 'tail' | 'full';
  /** Recovery read size in bytes (default 16 MiB). */
  scanChunk?: number;
  /**
   * Keep zeroed room ahead of the logs that take small records, written between beats, so
   * small commits overwrite allocated blocks (default true; docs/flatfile.md, "Commit").
   */
  preallocate?: boolean;
  /** Empty the commit journal once it passes this many bytes (default 4 MiB; checkpoints and compactions empty it too). */
  journalCompactBytes?: number;
  /**
   * Repair a damaged store instead of refusing it (ERR_STORE_CORRUPT): cut every branch back to
   * the beat before the first damage, moving every cut byte range into `<dir>/quarantine/<n>/`
   * first; `recovery` says what was cut and where the bytes went (docs/flatfile.md, "Recovery").
   */
  repair?: boolean;
}

/** One shared MiB of zeros for preallocation writes. */
const ZEROS = new Uint8Array(1 << 20);

const CAPS =
  ENGINE_CAP.BEAT_ATOMIC |
  ENGINE_CAP.PREFIX_SCAN |
  ENGINE_CAP.CRC32C |
  ENGINE_CAP.MERKLE |
  ENGINE_CAP.AEAD |
  ENGINE_CAP.DEFLATE |
  ENGINE_CAP.CAS_DEDUP |
  ENGINE_CAP.HISTORY_WINDOW |
  ENGINE_CAP.NAMEPOOL_MAP;

type State = 'idle' | 'open' | 'committing' | 'closed' | 'broken';

/** One beat of a transaction with its frames, by branch name. */
interface BeatFrames {
  beat: number;
  frames: Array<[string, Staged]>;
}

interface Staged {
  bytes: Uint8Array;
  info: FrameInfo;
  /** Fully validated already (else the commit validates it while its bytes are written). */
  validated: boolean;
}

function checkBeat(name: string, v: unknown): number {
  if (typeof v !== 'number') throw invalidArgType(name, 'a number', v);
  if (!Number.isSafeInteger(v) || v < 0) throw outOfRange(name, 'an integer >= 0 and < 2^53', v);
  return v;
}

/**
 * Checks the store in `dir` as an open would, changing nothing (`cep store verify`): the report
 * of what an open would cut, with `damage` listing what only a repair may cut. Takes the lock
 * while it reads; the store must exist.
 */
export function verifyFlatfileStore(dir: string, options: { verify?: 'tail' | 'full'; scanChunk?: number } = {}): RecoveryReport {
  if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) throw invalidArgType('dir', 'a non-empty path', dir);
  const root = path.resolve(dir);
  for (const f of [STORE_FILE, JOURNAL_FILE, BRANCHES_DIR]) if (!fs.existsSync(path.join(root, f))) throw storeError('ERR_STORE_CORRUPT', `${root} holds no ${f}: not a flatfile store`);
  const release = acquireLock(root);
  const undo: Array<() => void> = [release];
  try {
    checkStoreFile(root);
    const journalFd = fs.openSync(path.join(root, JOURNAL_FILE), 'r');
    undo.push(() => fs.closeSync(journalFd));
    const cas = new CasStore(path.join(root, CAS_DIR));
    undo.push(() => cas.close());
    const rec = recover(root, journalFd, cas, { verify: options.verify ?? 'tail', chunk: options.scanChunk, mode: 'check' });
    for (const b of rec.branches.values()) b.close();
    return rec.report;
  } finally {
    for (const u of undo.reverse()) u();
  }
}

/** Opens (creating when needed) and recovers the flatfile store in `dir`. */
export function openFlatfileStore(dir: string, options: FlatfileOptions = {}): FlatfileEngine {
  return FlatfileEngine.open(dir, options);
}

export class FlatfileEngine implements StorageEngine {
  readonly kind = 'flatfile';
  readonly caps = CAPS;
  readonly recovery: RecoveryReport;
  readonly dir: string;
  /** How commits reach the disk: 'sync' or 'reactor:<backend>'. */
  readonly io: string;

  #state: State = 'idle';
  #beat = -1; // the open (or committing) beat: the newest of the transaction
  /** The open transaction's beats, oldest first (earlier ones sealed, the last one open); each beat's frames by branch. */
  #txn: Array<{ beat: number; staged: Map<string, Staged> }> = [];
  #lastBeat: number;
  /** The newest beat that wrote frames: the next one's records count back to it (prevGap). */
  #lastWritten: number;
  #beats: number;
  readonly #branches: Map<string, BranchFiles>;
  readonly #journalFd: number;
  #journalEnd: number;
  #journalCap: number;
  readonly #preallocate: boolean;
  readonly #journalCompactBytes: number;
  readonly #committer: Committer;
  readonly #ownReactor: Reactor | undefined;
  readonly #cas: CasStore;
  readonly #release: () => void;
  #syncs = 0;
  #syncNs = 0;
  #serial: Promise<unknown> = Promise.resolve();
  #stage = 0;

  static open(dir: string, options: FlatfileOptions = {}): FlatfileEngine {
    if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) throw invalidArgType('dir', 'a non-empty path', dir);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const verify = options.verify ?? 'tail';
    if (options.repair !== undefined && typeof options.repair !== 'boolean') throw invalidArgType('options.repair', 'a boolean', options.repair);
    if (verify !== 'tail' && verify !== 'full') throw invalidArgType('options.verify', "'tail' or 'full'", verify);
    const journalCompactBytes = options.journalCompactBytes ?? JOURNAL_COMPACT_BYTES;
    if (!Number.isSafeInteger(journalCompactBytes) || journalCompactBytes < 0) throw outOfRange('options.journalCompactBytes', 'an integer >= 0', journalCompactBytes);
    const root = path.resolve(dir);
    prepareStoreDir(root);
    // A folder that never was a store is refused before the lock makes LOCK there (it stays).
    // Opens make LOCK before any other file and never remove it: when LOCK is missing after
    // the look, whatever the look found was not made by an open.
    if (isForeignFolder(root) && !fs.existsSync(path.join(root, LOCK_FILE))) throw notAStore(root);
    const release = acquireLock(root);
    const opened: Array<() => void> = [release];
    try {
      checkStoreFile(root);
      const branchesDir = path.join(root, BRANCHES_DIR);
      ensureDir(branchesDir);
      settleSwaps(branchesDir, ['.compact']);
      fs.rmSync(path.join(root, IMPORTS_DIR), { recursive: true, force: true });
      const journalFd = fs.openSync(path.join(root, JOURNAL_FILE), fs.constants.O_RDWR | fs.constants.O_CREAT);
      opened.push(() => fs.closeSync(journalFd));
      const cas = new CasStore(path.join(root, CAS_DIR));
      opened.push(() => cas.close());
      const rec = recover(root, journalFd, cas, { verify, chunk: options.scanChunk, mode: options.repair === true ? 'repair' : 'open' });
      for (const b of rec.branches.values()) opened.push(() => b.close());
      let reactor = options.reactor;
      let own: Reactor | undefined;
      if (reactor === undefined && options.backend !== undefined) reactor = own = createReactor({ backend: options.backend });
      const committer = reactor === undefined ? new SyncCommitter() : new ReactorCommitter(reactor);
      return new FlatfileEngine(root, rec, journalFd, cas, committer, own, release, options.preallocate !== false, journalCompactBytes);
    } catch (e) {
      for (const undo of opened.reverse()) undo();
      throw e;
    }
  }

  private constructor(
    dir: string,
    rec: Recovered,
    journalFd: number,
    cas: CasStore,
    committer: Committer,
    ownReactor: Reactor | undefined,
    release: () => void,
    preallocate: boolean,
    journalCompactBytes: number,
  ) {
    this.#preallocate = preallocate;
    this.#journalCompactBytes = journalCompactBytes;
    this.#journalCap = rec.journalCap;
    this.dir = dir;
    this.#branches = rec.branches;
    this.#journalFd = journalFd;
    this.#journalEnd = rec.journalEnd;
    this.recovery = rec.report;
    this.#lastBeat = rec.report.beat;
    this.#lastWritten = rec.lastWritten;
    this.#beats = rec.beats;
    this.#cas = cas;
    this.#committer = committer;
    this.io = committer.kind;
    this.#ownReactor = ownReactor;
    this.#release = release;
  }

  /** Newest beat committed (or recovered, or imported); -1 for an empty store. */
  get lastBeat(): number {
    return this.#lastBeat;
  }

  // ---- beat transactions -------------------------------------------------------------------

  /** Opens beat `beat`; while a beat is open, seals it into the same transaction (group commit). */
  beginBeat(beat: number): void {
    this.#usable();
    checkBeat('beat', beat);
    if (this.#state === 'committing') throw storeError('ERR_STORE_TXN', `beat ${this.#beat} is still committing`);
    if (beat <= this.#lastBeat) throw storeError('ERR_STORE_TXN', `beat ${beat} is not after the last committed beat ${this.#lastBeat}`);
    if (this.#state === 'open' && beat <= this.#beat) throw storeError('ERR_STORE_TXN', `beat ${beat} is not after the open beat ${this.#beat}`);
    if (this.#state !== 'open') this.#txn = [];
    this.#beat = beat;
    this.#txn.push({ beat, staged: new Map() });
    this.#state = 'open';
  }

  branchNameProblem(name: string): string | null {
    return branchNameProblem(name);
  }

  putFrame(branch: string, frame: Uint8Array): void {
    this.#usable();
    if (this.#state !== 'open') throw storeError('ERR_STORE_TXN', 'no beat is open (beginBeat first)');
    checkBranchName(branch);
    if (!(frame instanceof Uint8Array)) throw invalidArgType('frame', 'a Uint8Array', frame);
    const staged = this.#txn[this.#txn.length - 1].staged;
    if (staged.has(branch)) throw storeError('ERR_STORE_TXN', `beat ${this.#beat} already has a frame of branch "${branch}"`);
    // with a reactor the full validation overlaps the commit's I/O; without one it happens here
    const overlap = this.#committer instanceof ReactorCommitter;
    const info = overlap ? frameTrailer(frame) : frameInfo(frame);
    if (info.beat !== this.#beat) throw storeError('ERR_STORE_FRAME', `the frame is of beat ${info.beat}, the open beat is ${this.#beat}`);
    const earlier = this.#stagedBefore(branch);
    const prev = earlier?.info.root ?? this.#expectedPrevRoot(branch);
    if (prev !== null && !sameRoot(info.prevRoot, 0, prev)) throw storeError('ERR_STORE_FRAME', `the frame does not continue branch "${branch}": its previous root is not the branch head's root`);
    // recovery fully checks only a log's newest frame: only the newest frame of a branch may wait for the overlapped check
    if (earlier !== undefined && !earlier.validated) {
      frameInfo(earlier.bytes);
      earlier.validated = true;
    }
    staged.set(branch, { bytes: frame, info, validated: !overlap });
  }

  /** The newest frame of `branch` staged in an earlier beat of the open transaction. */
  #stagedBefore(branch: string): Staged | undefined {
    for (let i = this.#txn.length - 2; i >= 0; i--) {
      const s = this.#txn[i].staged.get(branch);
      if (s !== undefined) return s;
    }
    return undefined;
  }

  /** Drops the open transaction: every beat in it. */
  abortBeat(): void {
    this.#usable();
    if (this.#state !== 'open') throw storeError('ERR_STORE_TXN', 'no beat is open');
    this.#txn = [];
    this.#state = 'idle';
  }

  commitBeat(): Promise<void> {
    try {
      this.#usable();
      if (this.#state !== 'open') throw storeError('ERR_STORE_TXN', 'no beat is open');
    } catch (e) {
      return Promise.reject(e);
    }
    this.#state = 'committing';
    const last = this.#beat;
    const beats: BeatFrames[] = this.#txn.map(({ beat, staged }) => ({ beat, frames: [...staged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) })).filter((b) => b.frames.length > 0);
    this.#txn = [];
    return this.#exclusive(async () => {
      try {
        if (beats.length > 0) await this.#write(beats);
        this.#lastBeat = last;
        this.#state = 'idle';
      } catch (e) {
        if (this.#state !== 'broken') this.#state = 'idle';
        throw e;
      }
      if (this.#preallocate && beats.length > 0) this.#schedulePrealloc(beats);
      if (this.#journalEnd > this.#journalCompactBytes) void this.#exclusive(() => this.#compactJournal()).catch(() => undefined); // retried after the next commit
    });
  }

  /**
   * Empty the commit journal (journal-compact.ts): every beat in it is committed, so each
   * branch a record binds is sealed at the last beat, then the file is truncated. Runs inside
   * `#exclusive` (no commit in flight), after checkpoints and compactions and when the journal
   * passes `journalCompactBytes`. Returns the bytes it held.
   */
  async #compactJournal(): Promise<number> {
    if (this.#state === 'closed' || this.#state === 'broken' || this.#journalEnd === 0) return 0;
    const bytes = this.#journalEnd;
    for (const step of journalCompactionSteps(this.#journalFd, this.#branches, this.#lastBeat)) step();
    this.#journalEnd = 0;
    this.#journalCap = 0;
    return bytes;
  }

  /** Empty the commit journal now (it is also emptied by `checkpoint`, `compact`, and when it grows past `journalCompactBytes`); resolves with the bytes it held. */
  compactJournal(): Promise<number> {
    return this.#exclusive(async () => {
      this.#usable();
      return this.#compactJournal();
    });
  }

  /** Queues zeroed room for the logs these beats wrote small records to, when theirs runs low (after the commit, before the next). */
  #schedulePrealloc(beats: BeatFrames[]): void {
    const jobs: Array<{ fd: number; cap: number; want: number; done: (cap: number) => void }> = [];
    const need = (end: number, cap: number): number => (cap - end < PREALLOC_LOW ? end + PREALLOC_BYTES : 0);
    let small = false;
    const seen = new Set<string>();
    for (const [name, s] of beats.flatMap((b) => b.frames)) {
      if (s.bytes.length > PREALLOC_MAX_RECORD) continue;
      small = true;
      if (seen.has(name)) continue;
      seen.add(name);
      const b = this.#branches.get(name)!;
      const want = need(b.logEnd, b.logCap);
      if (want > 0) jobs.push({ fd: b.fdLog, cap: b.logCap, want, done: (cap) => (b.logCap = cap) });
    }
    const jwant = beats.some((b) => b.frames.length > 1) && small ? need(this.#journalEnd, this.#journalCap) : 0;
    if (jwant > 0) jobs.push({ fd: this.#journalFd, cap: this.#journalCap, want: jwant, done: (cap) => (this.#journalCap = cap) });
    if (jobs.length === 0) return;
    void this.#exclusive(async () => {
      if (this.#state === 'closed' || this.#state === 'broken') return;
      const ops: WriteOp[] = jobs.map((j) => {
        const parts: Uint8Array[] = [];
        for (let n = j.want - j.cap; n > 0; n -= ZEROS.length) parts.push(n >= ZEROS.length ? ZEROS : ZEROS.subarray(0, n));
        return { fd: j.fd, parts, position: j.cap, sync: true };
      });
      const t0 = process.hrtime.bigint();
      try {
        await this.#committer.run(ops);
      } catch {
        return; // no room gained: later commits append, as without preallocation
      }
      this.#syncNs += Number(process.hrtime.bigint() - t0);
      this.#syncs += ops.length;
      for (const j of jobs) j.done(j.want);
    });
  }

  /**
   * Appends the transaction's beats in one sync round: per file one contiguous write of every
   * beat's records, in beat order, and one fdatasync. Each beat's records are encoded exactly as
   * a lone beat's would be (SOLO flag or journal record, `prevGap` back to the beat before it),
   * so recovery checks each beat on its own and a torn write keeps a prefix of whole beats.
   * Undoes everything on failure.
   */
  async #write(beats: BeatFrames[]): Promise<void> {
    const ops = new Map<number, WriteOp>(); // fd -> its one write; `position` is also where an undo cuts back to
    const append = (fd: number, position: number, sync: boolean, ...parts: Uint8Array[]): void => {
      const op = ops.get(fd);
      if (op === undefined) ops.set(fd, { fd, parts, position, sync });
      else op.parts.push(...parts);
    };
    // per branch: its files and where its next record goes (committed ends plus what this round appends)
    const files = new Map<string, { b: BranchFiles; logEnd: number; idxEnd: number }>();
    const records: Array<{ beat: number; prevGap: number; at: { b: BranchFiles; logEnd: number }; s: Staged; frameCrc: number; flags: number }> = [];
    let journalEnd = this.#journalEnd;
    let lastWritten = this.#lastWritten;
    for (const { beat, frames } of beats) {
      const solo = frames.length === 1;
      const prevGap = gapOf(beat, lastWritten);
      const entries = [];
      for (const [name, s] of frames) {
        let f = files.get(name);
        if (f === undefined) {
          const b = this.#branchForWrite(name, s.info);
          files.set(name, (f = { b, logEnd: b.logEnd, idxEnd: b.idxEnd }));
        }
        const frameCrc = crc(s.bytes);
        const flags = (solo ? LOG_SOLO : 0) | (s.info.mode === 'snapshot' ? LOG_SNAPSHOT : 0);
        const header = encodeLogHeader({ flags, beat, prevGap, length: s.bytes.length, frameCrc, prevRoot: s.info.prevRoot, root: s.info.root });
        const entry = new Uint8Array(INDEX_ENTRY);
        encodeIndexEntry({ beat, offset: f.logEnd, length: s.bytes.length, flags, root: s.info.root }, entry, 0);
        append(f.b.fdLog, f.logEnd, true, header, s.bytes);
        append(f.b.fdIdx, f.idxEnd, false, entry);
        records.push({ beat, prevGap, at: { b: f.b, logEnd: f.logEnd }, s, frameCrc, flags });
        f.logEnd += LOG_HEADER + s.bytes.length;
        f.idxEnd += INDEX_ENTRY;
        entries.push({ branch: name, length: s.bytes.length, frameCrc, root: s.info.root });
      }
      if (!solo) {
        const journal = encodeJournalRecord({ beat, prevGap, entries });
        append(this.#journalFd, journalEnd, true, journal);
        journalEnd += journal.length;
      }
      lastWritten = beat;
    }
    // frames not validated yet are, while their bytes travel; one that fails undoes the round
    const validate = (): void => {
      for (const r of records) if (!r.s.validated) frameInfo(r.s.bytes);
    };
    const t0 = process.hrtime.bigint();
    try {
      await this.#committer.run([...ops.values()], validate);
    } catch (e) {
      try {
        for (const op of ops.values()) truncateTo(op.fd, op.position);
        for (const { b } of files.values()) b.logCap = b.logEnd; // the cut dropped any preallocated room
        if (journalEnd !== this.#journalEnd) this.#journalCap = this.#journalEnd;
      } catch {
        this.#state = 'broken';
      }
      throw e;
    }
    this.#syncNs += Number(process.hrtime.bigint() - t0);
    for (const op of ops.values()) if (op.sync) this.#syncs++;
    for (const { beat, prevGap, at, s, frameCrc, flags } of records) at.b.table.push(beat, at.logEnd, s.bytes.length, frameCrc, flags, prevGap, s.info.root);
    for (const { b, logEnd, idxEnd } of files.values()) {
      b.logEnd = logEnd;
      b.logCap = Math.max(b.logCap, logEnd);
      b.idxEnd = idxEnd;
    }
    this.#journalEnd = journalEnd;
    this.#journalCap = Math.max(this.#journalCap, journalEnd);
    this.#lastWritten = lastWritten;
    this.#beats += beats.length;
  }

  /** The branch's files, created on its first frame (folder and meta synced before any frame is written). */
  #branchForWrite(name: string, info: FrameInfo): BranchFiles {
    const b = this.#branches.get(name);
    const rootHex = Buffer.from(info.prevRoot).toString('hex');
    if (b !== undefined) {
      // a branch that never got a frame starts its chain wherever its first frame says
      if (b.table.count === 0 && b.meta.baseBeat < 0 && b.meta.baseRoot !== rootHex) b.writeMeta({ ...b.meta, baseRoot: rootHex });
      return b;
    }
    const dir = path.join(this.dir, BRANCHES_DIR, branchDirName(name));
    ensureDir(dir);
    const meta: BranchMeta = { format: META_FORMAT, branch: name, baseBeat: -1, baseRoot: rootHex, sealedBeat: -1 };
    writeFileAtomic(path.join(dir, BRANCH_META), encodeMeta(meta));
    const created = new BranchFiles(dir, meta);
    fsyncDir(dir);
    this.#branches.set(name, created);
    return created;
  }

  /** The previous root the next frame of `branch` must carry; null when any will do (a new chain). */
  #expectedPrevRoot(branch: string): Uint8Array | null {
    const b = this.#branches.get(branch);
    if (b === undefined) return null;
    if (b.table.count > 0) return b.table.root(b.table.count - 1);
    return b.meta.baseBeat >= 0 || b.meta.sealedBeat >= 0 ? b.baseRoot : null;
  }

  // ---- reads ---------------------------------------------------------------------------------

  branches(): string[] {
    this.#usable();
    return [...this.#branches.values()]
      .filter((b) => b.table.count > 0 || b.checkpoints.count > 0 || b.meta.baseBeat >= 0)
      .map((b) => b.name)
      .sort();
  }

  head(branch: string): BranchHead | undefined {
    this.#usable();
    const b = this.#branches.get(checkBranchName(branch));
    if (b === undefined) return undefined;
    const cp = b.newestCheckpoint(Number.MAX_SAFE_INTEGER);
    const checkpointBeat = cp === undefined ? -1 : cp.table.beats[cp.i];
    const t = b.table;
    if (t.count > 0) return { beat: t.lastBeat, root: t.root(t.count - 1), checkpointBeat };
    if (b.meta.baseBeat >= 0) return { beat: b.meta.baseBeat, root: b.baseRoot, checkpointBeat };
    return undefined;
  }

  frameAt(branch: string, beat: number): StoredFrame | undefined {
    this.#usable();
    checkBeat('beat', beat);
    const b = this.#branches.get(checkBranchName(branch));
    const i = b?.table.find(beat) ?? -1;
    return i < 0 ? undefined : b!.read(b!.table, i, b!.fdLog);
  }

  *frames(branch: string, range: { from?: number; to?: number; fromCheckpoint?: boolean } = {}): Iterable<StoredFrame> {
    this.#usable();
    checkBranchName(branch);
    if (range === null || typeof range !== 'object') throw invalidArgType('range', 'an object { from?, to?, fromCheckpoint? }', range);
    const from = range.from === undefined ? 0 : checkBeat('range.from', range.from);
    const to = range.to === undefined ? Number.MAX_SAFE_INTEGER : checkBeat('range.to', range.to);
    const b = this.#branches.get(branch);
    if (b === undefined) return;
    const t = b.table;
    let i = t.lowerBound(from);
    if (range.fromCheckpoint === true) {
      const cp = b.newestCheckpoint(to);
      if (cp === undefined) i = 0;
      else {
        yield b.read(cp.table, cp.i, cp.fd);
        i = cp.table === t ? cp.i + 1 : t.lowerBound(cp.table.beats[cp.i] + 1);
      }
    }
    for (; i < t.count && t.beats[i] <= to; i++) yield b.read(t, i, b.fdLog);
  }

  readRange(branch: string, locator: FrameLocator, start: number, length: number): Uint8Array {
    this.#usable();
    const b = this.#branches.get(checkBranchName(branch));
    if (b === undefined) throw storeError('ERR_STORE_CORRUPT', `no branch ${branch} in the store`);
    return b.readRange(locator, start, length);
  }

  // ---- maintenance ---------------------------------------------------------------------------

  checkpoint(branch: string, snapshot: Uint8Array): Promise<void> {
    return this.#exclusive(async () => {
      this.#usable();
      const b = this.#branches.get(checkBranchName(branch));
      const head = this.head(branch);
      if (b === undefined || head === undefined) throw storeError('ERR_STORE_FRAME', `branch "${branch}" has no frames to checkpoint`);
      if (!(snapshot instanceof Uint8Array)) throw invalidArgType('snapshot', 'a Uint8Array', snapshot);
      const info = frameInfo(snapshot);
      if (info.mode !== 'snapshot') throw storeError('ERR_STORE_FRAME', 'a checkpoint must be a snapshot frame');
      if (info.beat > head.beat) throw storeError('ERR_STORE_FRAME', `the snapshot is of beat ${info.beat}, after the branch head ${head.beat}`);
      if (info.beat <= b.checkpoints.lastBeat) throw storeError('ERR_STORE_FRAME', `branch "${branch}" already has a checkpoint at or after beat ${info.beat}`);
      const frameCrc = crc(snapshot);
      const header = encodeLogHeader({ flags: LOG_SNAPSHOT, beat: info.beat, prevGap: GAP_NONE, length: snapshot.length, frameCrc, prevRoot: info.prevRoot, root: info.root });
      const t0 = process.hrtime.bigint();
      try {
        await this.#committer.run([{ fd: b.fdCkp, parts: [header, snapshot], position: b.ckpEnd, sync: true }]);
      } catch (e) {
        try {
          truncateTo(b.fdCkp, b.ckpEnd);
        } catch {
          this.#state = 'broken';
        }
        throw e;
      }
      this.#syncNs += Number(process.hrtime.bigint() - t0);
      this.#syncs++;
      b.checkpoints.push(info.beat, b.ckpEnd, snapshot.length, frameCrc, LOG_SNAPSHOT, GAP_NONE, info.root);
      b.ckpEnd += LOG_HEADER + snapshot.length;
      await this.#compactJournal();
    });
  }

  compact(branch: string): Promise<{ bytesBefore: number; bytesAfter: number }> {
    return this.#exclusive(async () => {
      this.#usable();
      const b = this.#branches.get(checkBranchName(branch));
      if (b === undefined) throw storeError('ERR_STORE_FRAME', `no branch "${branch}"`);
      const bytesBefore = b.bytes;
      const staged = path.join(this.dir, BRANCHES_DIR, `${branchDirName(branch)}.compact`);
      await this.#compactJournal();
      if (!compactBranch(b, staged)) return { bytesBefore, bytesAfter: bytesBefore };
      const after = this.#replaceBranch(b, staged);
      return { bytesBefore, bytesAfter: after.bytes };
    });
  }

  /** Swaps `staged` in as the branch's folder and reloads it. */
  #replaceBranch(old: BranchFiles | undefined, staged: string, name?: string): BranchFiles {
    const target = path.join(this.dir, BRANCHES_DIR, branchDirName(name ?? old!.name));
    old?.close();
    if (old !== undefined) this.#branches.delete(old.name);
    swapDir(staged, target);
    const loaded = loadBranch(target);
    this.#branches.set(loaded.name, loaded);
    return loaded;
  }

  stats(branch?: string): EngineStats {
    this.#usable();
    const list = branch === undefined ? [...this.#branches.values()] : [this.#branches.get(checkBranchName(branch))].filter((b) => b !== undefined);
    let frames = 0;
    let bytes = 0;
    let checkpoints = 0;
    for (const b of list) {
      frames += b.table.count;
      bytes += b.bytes;
      checkpoints += b.checkpoints.count;
    }
    if (branch === undefined) bytes += this.#journalEnd + this.#cas.bytes;
    return {
      frames,
      beats: branch === undefined ? this.#beats : frames,
      bytes,
      checkpoints,
      casBlobs: this.#cas.blobs.size,
      casHits: this.#cas.hits,
      casMisses: this.#cas.misses,
      syncs: this.#syncs,
      syncNs: this.#syncNs,
    };
  }

  putBlob(bytes: Uint8Array): Promise<string> {
    return this.#exclusive(async () => {
      this.#usable();
      return this.#cas.put(bytes);
    });
  }

  getBlob(key: string): Uint8Array | undefined {
    this.#usable();
    return this.#cas.get(key);
  }

  exportBundle(branch: string, dir: string): Promise<BundleManifest> {
    return this.#exclusive(async () => {
      this.#usable();
      const b = this.#branches.get(checkBranchName(branch));
      if (b === undefined || this.head(branch) === undefined) throw storeError('ERR_STORE_FRAME', `no branch "${branch}" to export`);
      return exportBranch(b, this.head(branch)!, this.#cas, dir);
    });
  }

  importBundle(dir: string, branch?: string): Promise<BundleManifest> {
    return this.#exclusive(async () => {
      this.#usable();
      if (branch !== undefined) checkBranchName(branch);
      const staged = path.join(this.dir, IMPORTS_DIR, `stage-${++this.#stage}`);
      try {
        const { manifest, name } = importBranch(dir, staged, branch, this.#lastBeat, this.#cas);
        this.#replaceBranch(this.#branches.get(name), staged, name);
        this.#lastBeat = Math.max(this.#lastBeat, manifest.beat);
        return manifest;
      } finally {
        fs.rmSync(staged, { recursive: true, force: true });
      }
    });
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.#serial.catch(() => undefined);
    if ((this.#state as State) === 'closed') return; // a concurrent close() finished first
    this.#state = 'closed';
    this.#txn = [];
    for (const b of this.#branches.values()) b.close();
    fs.closeSync(this.#journalFd);
    this.#cas.close();
    this.#release();
    if (this.#ownReactor !== undefined) await this.#ownReactor.close();
  }

  // ---- internals -----------------------------------------------------------------------------

  #usable(): void {
    if (this.#state === 'closed') throw storeError('ERR_STORE_CLOSED', 'the store is closed');
    if (this.#state === 'broken') throw storeError('ERR_STORE_CLOSED', 'a failed write could not be undone; reopen the store to recover it');
  }

  /** Runs `fn` after every earlier commit and maintenance call has finished. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }
}

/**
 * Whether `root` holds files but no STORE file. LOCK files aside, and STORE.tmp: an open killed
 * while creating the store leaves it (written, not yet renamed), and the next open writes it anew.
 */
function isForeignFolder(root: string): boolean {
  const names = fs.readdirSync(root);
  return !names.includes(STORE_FILE) && names.some((n) => !n.startsWith(LOCK_FILE) && n !== `${STORE_FILE}.tmp`);
}

function notAStore(root: string): Error {
  return storeError('ERR_STORE_CORRUPT', `${root} is not empty and holds no ${STORE_FILE} file: not a flatfile store`);
}

/** Creates STORE in an empty folder, or checks the one there. */
function checkStoreFile(root: string): void {
  const file = path.join(root, STORE_FILE);
  if (!fs.existsSync(file)) {
    if (isForeignFolder(root)) throw notAStore(root);
    writeFileAtomic(file, JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION }));
    return;
  }
  let s: { format?: unknown; version?: unknown };
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof s;
  } catch {
    throw storeError('ERR_STORE_CORRUPT', `${file} is not JSON`);
  }
  if (s?.format !== STORE_FORMAT || s.version !== STORE_VERSION) throw storeError('ERR_STORE_CORRUPT', `${file} is not a ${STORE_FORMAT} store of version ${STORE_VERSION}`);
}
