/** Small synchronous file helpers the store uses outside the commit path (open, recovery, maintenance). */
import fs from 'node:fs';
import path from 'node:path';
import { storeError } from '../../errors.js';

/** Writes every byte of `parts` at `position` (short writes continue). */
export function writeAllAt(fd: number, parts: Uint8Array[], position: number): void {
  let pos = position;
  let list = parts.filter((p) => p.length > 0);
  while (list.length > 0) {
    let n = fs.writevSync(fd, list, pos);
    pos += n;
    const rest: Uint8Array[] = [];
    for (const p of list) {
      if (n >= p.length) n -= p.length;
      else {
        rest.push(n > 0 ? p.subarray(n) : p);
        n = 0;
      }
    }
    list = rest;
  }
}

/** Reads exactly `length` bytes at `position` into `out` (from `offset`); false at end of file. */
export function readExactAt(fd: number, out: Uint8Array, offset: number, length: number, position: number): boolean {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, out, offset + got, length - got, position + got);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

/** fsync a directory so entries created, renamed or removed in it are durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `file` through a temporary name, synced, then renamed over it (and the folder synced). */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    writeAllAt(fd, [b], 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** Creates `dir` (and parents) and syncs the parent that got the new entry. */
export function ensureDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  ensureDir(path.dirname(dir));
  fs.mkdirSync(dir);
  fsyncDir(path.dirname(dir));
}

/** Truncates an open file to `size` and syncs it. */
export function truncateTo(fd: number, size: number): void {
  fs.ftruncateSync(fd, size);
  fs.fsyncSync(fd);
}

/** Runs `fn`, turning a filesystem failure into ERR_STORE_IO (coded errors pass through). */
export function ioGuard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('ERR_')) throw e;
    throw storeError('ERR_STORE_IO', `${what} failed: ${(e as Error).message}`, e);
  }
}

/** What an errno of creating or using the store folder means, for people. */
const DIR_PROBLEMS: Record<string, string> = {
  EEXIST: 'the path is a file, not a folder',
  ENOTDIR: 'the path lies below a file',
  ENOENT: 'the path lies below a link to nothing',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many links on the path',
  ENOSPC: 'no space left',
};

/**
 * Creates the store folder `root` when missing and checks that it is a folder we may write in;
 * a path that cannot be one is ERR_STORE_DIR (with the errno as `cause`), before anything is written.
 */
export function prepareStoreDir(root: string): void {
  const refuse = (code: string, cause: unknown): never => {
    throw storeError('ERR_STORE_DIR', `cannot use ${root} as a store folder: ${DIR_PROBLEMS[code] ?? (cause as Error).message}${code ? ` (${code})` : ''}`, cause);
  };
  try {
    fs.mkdirSync(root, { recursive: true });
    if (!fs.statSync(root).isDirectory()) refuse('EEXIST', undefined);
    fs.accessSync(root, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_STORE_DIR') throw e;
    refuse((e as NodeJS.ErrnoException).code ?? '', e);
  }
}
