/**
 * One branch's folder: frames.log (append-only frame log), frames.idx (beat index),
 * checkpoints.log (snapshot frames) and branch.meta (where its chain starts). Holds the open
 * file handles, the in-memory beat indexes and the committed end of each file, and reads
 * frames back with full verification.
 */
import fs from 'node:fs';
import path from 'node:path';
import { invalidArgType, invalidArgValue, storeError } from '../../errors.js';
import type { StoredFrame } from '../engine.js';
import { frameInfo } from './frame-info.js';
import { readExactAt, writeFileAtomic } from './files.js';
import { FrameTable } from './frame-table.js';
import { BRANCH_META, BRANCH_NAME_MAX, CHECKPOINTS_LOG, FRAMES_IDX, FRAMES_LOG, INDEX_ENTRY, LOG_HEADER, LOG_SNAPSHOT, ROOT_BYTES, crc, encodeIndexEntry, readU32, sameRoot } from './layout.js';

/** branch.meta (JSON; encodeMeta/parseMeta). */
export interface BranchMeta {
  /** 2: written with a CRC32C (`crc`); 1: older, no checksum (accepted as read; rewritten as 2 on the next meta write). */
  format: 1 | 2;
  branch: string;
  /** Frames at or below this beat were compacted away (-1: none). */
  baseBeat: number;
  /** The previous root the log's first frame carries (hex). */
  baseRoot: string;
  /** Journal records at or below this beat do not bind this branch (it was imported then; -1: never). */
  sealedBeat: number;
}

const UTF8 = new TextEncoder();

/** Longest suffix a branch folder takes while it is rebuilt or swapped ('.compact', '.old'). */
const DIR_SUFFIX_MAX = '.compact'.length;
/** Longest file name the file systems we run on take (NAME_MAX). */
const FILE_NAME_MAX = 255;

/** Why `name` cannot be a branch of this engine, or null: a path below /data such as 'ledger' or 'app/users'. */
export function branchNameProblem(name: string): string | null {
  const bytes = UTF8.encode(name).length;
  if (bytes === 0 || bytes > BRANCH_NAME_MAX) return `must be 1 to ${BRANCH_NAME_MAX} bytes of UTF-8`;
  if (name.includes('\0') || name.split('/').some((s) => s.length === 0 || s === '.' || s === '..')) return `"${name.slice(0, 64)}" is not a path of names below /data`;
  // each segment is a folder name, percent-encoded, and takes a suffix while it is compacted or swapped
  if (branchDirName(name).length + DIR_SUFFIX_MAX > FILE_NAME_MAX) return `its folder name (percent-encoded) would pass ${FILE_NAME_MAX - DIR_SUFFIX_MAX} bytes`;
  return null;
}

/** Checks a branch name (branchNameProblem). */
export function checkBranchName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('branch', 'a string', name);
  const problem = branchNameProblem(name);
  if (problem !== null) throw invalidArgValue('branch', problem);
  return name;
}

/** The branch's folder name: percent-encoded, dots included, so it never contains '.' or '/'. */
export function branchDirName(name: string): string {
  return encodeURIComponent(name).replace(/[.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The meta format written now: the JSON carries `crc`, the CRC32C of the JSON of the other fields in this order. */
export const META_FORMAT = 2;

function metaBody(m: BranchMeta): string {
  return JSON.stringify({ format: META_FORMAT, branch: m.branch, baseBeat: m.baseBeat, baseRoot: m.baseRoot, sealedBeat: m.sealedBeat });
}

/** The bytes of a branch.meta: format 2 with its checksum, whatever format `m` was read as. */
export function encodeMeta(m: BranchMeta): string {
  const body = metaBody(m);
  return `${body.slice(0, -1)},"crc":${crc(UTF8.encode(body))}}`;
}

/**
 * Reads a branch.meta: format 2 must carry the CRC32C of its fields (a flipped bit anywhere is
 * ERR_STORE_CORRUPT, never a moved beat); format 1 (written before the checksum existed) is
 * accepted without one, and only when it carries no `crc` field.
 */
export function parseMeta(text: string, where: string): BranchMeta {
  let m: BranchMeta & { crc?: unknown };
  try {
    m = JSON.parse(text) as BranchMeta & { crc?: unknown };
  } catch {
    throw storeError('ERR_STORE_CORRUPT', `${where} is not JSON`);
  }
  const ok =
    m !== null &&
    typeof m === 'object' &&
    (m.format === 1 || m.format === META_FORMAT) &&
    typeof m.branch === 'string' &&
    Number.isSafeInteger(m.baseBeat) &&
    m.baseBeat >= -1 &&
    Number.isSafeInteger(m.sealedBeat) &&
    m.sealedBeat >= -1 &&
    typeof m.baseRoot === 'string' &&
    /^[0-9a-f]{64}$/.test(m.baseRoot);
  if (!ok) throw storeError('ERR_STORE_CORRUPT', `${where} is not a branch.meta of format 1 or 2`);
  if (m.format === 1 ? 'crc' in m : m.crc !== crc(UTF8.encode(metaBody(m))) || text !== encodeMeta(m)) {
    throw storeError('ERR_STORE_CORRUPT', `${where} fails its checksum`);
  }
  try {
    checkBranchName(m.branch);
  } catch (e) {
    throw storeError('ERR_STORE_CORRUPT', `${where} names no valid branch: ${(e as Error).message}`, e);
  }
  return { format: m.format, branch: m.branch, baseBeat: m.baseBeat, baseRoot: m.baseRoot, sealedBeat: m.sealedBeat };
}

export class BranchFiles {
  /** Committed frames of frames.log / checkpoints.log. */
  table = new FrameTable();
  checkpoints = new FrameTable();
  logEnd = 0;
  /** Size of frames.log: its end plus zeroed, preallocated room (layout PREALLOC_*). */
  logCap = 0;
  idxEnd = 0;
  ckpEnd = 0;
  readonly fdLog: number;
  readonly fdIdx: number;
  readonly fdCkp: number;

  constructor(
    readonly dir: string,
    public meta: BranchMeta,
  ) {
    this.fdLog = fs.openSync(path.join(dir, FRAMES_LOG), fs.constants.O_RDWR | fs.constants.O_CREAT);
    this.fdIdx = fs.openSync(path.join(dir, FRAMES_IDX), fs.constants.O_RDWR | fs.constants.O_CREAT);
    this.fdCkp = fs.openSync(path.join(dir, CHECKPOINTS_LOG), fs.constants.O_RDWR | fs.constants.O_CREAT);
  }

  get name(): string {
    return this.meta.branch;
  }

  get baseRoot(): Uint8Array {
    return Uint8Array.from(Buffer.from(this.meta.baseRoot, 'hex'));
  }

  /** Journal records at or below this beat do not name this branch's frames. */
  get unboundTo(): number {
    return Math.max(this.meta.baseBeat, this.meta.sealedBeat);
  }

  writeMeta(meta: BranchMeta): void {
    writeFileAtomic(path.join(this.dir, BRANCH_META), encodeMeta(meta));
    this.meta = { ...meta, format: META_FORMAT };
  }

  /** Index bytes of entries [from, to) of the table (64 bytes each). */
  indexBytes(from: number, to: number): Uint8Array {
    const out = new Uint8Array((to - from) * INDEX_ENTRY);
    const t = this.table;
    for (let i = from; i < to; i++) {
      encodeIndexEntry(
        { beat: t.beats[i], offset: t.offsets[i], length: t.lengths[i], flags: t.flags[i], root: t.roots.subarray(i * ROOT_BYTES, (i + 1) * ROOT_BYTES) },
        out,
        (i - from) * INDEX_ENTRY,
      );
    }
    return out;
  }

  /**
   * Makes frames.idx match the table: compares it chunk by chunk and rewrites it from the
   * first difference (it is derived data, written without a sync of its own). Returns whether
   * anything was rewritten.
   */
  repairIndex(): boolean {
    const count = this.table.count;
    const step = 65536;
    const size = fs.fstatSync(this.fdIdx).size;
    let repaired = size !== count * INDEX_ENTRY;
    for (let from = 0; from < count; from += step) {
      const to = Math.min(count, from + step);
      const want = this.indexBytes(from, to);
      const have = new Uint8Array(want.length);
      const got = readExactAt(this.fdIdx, have, 0, want.length, from * INDEX_ENTRY);
      if (!got || Buffer.compare(want, have) !== 0) {
        fs.ftruncateSync(this.fdIdx, from * INDEX_ENTRY);
        for (let f = from; f < count; f += step) fs.writeSync(this.fdIdx, this.indexBytes(f, Math.min(count, f + step)), 0, undefined, f * INDEX_ENTRY);
        repaired = true;
        break;
      }
    }
    if (repaired) {
      fs.ftruncateSync(this.fdIdx, count * INDEX_ENTRY);
      fs.fsyncSync(this.fdIdx);
    }
    this.idxEnd = count * INDEX_ENTRY;
    return repaired;
  }

  /** Reads entry `i` of `table` (frames or checkpoints) back and verifies it completely. */
  read(table: FrameTable, i: number, fd: number): StoredFrame {
    const len = table.lengths[i];
    const rec = new Uint8Array(LOG_HEADER + len);
    const where = `${this.name} beat ${table.beats[i]}`;
    if (!readExactAt(fd, rec, 0, rec.length, table.offsets[i])) throw storeError('ERR_STORE_CORRUPT', `the frame of ${where} ends early on disk`);
    const bytes = rec.subarray(LOG_HEADER);
    if (crc(bytes) !== table.crcs[i] || readU32(rec, 12) !== table.crcs[i]) throw storeError('ERR_STORE_CORRUPT', `the frame of ${where} fails its CRC32C`);
    let info: ReturnType<typeof frameInfo>;
    try {
      info = frameInfo(bytes);
    } catch (e) {
      throw storeError('ERR_STORE_CORRUPT', `the frame of ${where} is not a valid frame: ${(e as Error).message}`, e);
    }
    if (info.beat !== table.beats[i] || !sameRoot(info.root, 0, table.roots, i * ROOT_BYTES) || !sameRoot(info.prevRoot, 0, rec, 24)) {
      throw storeError('ERR_STORE_CORRUPT', `the frame of ${where} does not match its index (beat or roots)`);
    }
    const locator = { file: fd === this.fdLog ? 'log' : 'checkpoints', offset: table.offsets[i] + LOG_HEADER };
    return { branch: this.name, beat: info.beat, mode: info.mode, root: info.root, prevRoot: info.prevRoot, bytes, locator };
  }

  /** `length` bytes at `start` of the frame at `locator` (a positioned read; the caller checks them). */
  readRange(locator: { file: string; offset: number }, start: number, length: number): Uint8Array {
    const fd = locator.file === 'log' ? this.fdLog : locator.file === 'checkpoints' ? this.fdCkp : -1;
    const end = locator.file === 'log' ? this.logEnd : this.ckpEnd;
    const at = locator.offset + start;
    const out = new Uint8Array(length);
    if (fd < 0 || start < 0 || length < 0 || at + length > end || !readExactAt(fd, out, 0, length, at))
      throw storeError('ERR_STORE_CORRUPT', `${this.name}: no ${length} bytes at ${at} in its ${locator.file} file`);
    return out;
  }

  /** Newest checkpoint at or before `beat`: from checkpoints.log or a snapshot frame of the log. */
  newestCheckpoint(beat: number): { table: FrameTable; i: number; fd: number } | undefined {
    const c = this.checkpoints.lowerBound(beat + 1) - 1;
    let f = this.table.lowerBound(beat + 1) - 1;
    while (f >= 0 && (this.table.flags[f] & LOG_SNAPSHOT) === 0) f--;
    const cb = c >= 0 ? this.checkpoints.beats[c] : -1;
    const fb = f >= 0 ? this.table.beats[f] : -1;
    if (c < 0 && f < 0) return undefined;
    return fb >= cb ? { table: this.table, i: f, fd: this.fdLog } : { table: this.checkpoints, i: c, fd: this.fdCkp };
  }

  /** Bytes in this branch's files. */
  get bytes(): number {
    return this.logEnd + this.idxEnd + this.ckpEnd;
  }

  close(): void {
    fs.closeSync(this.fdLog);
    fs.closeSync(this.fdIdx);
    fs.closeSync(this.fdCkp);
  }
}
