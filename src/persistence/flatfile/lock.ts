/**
 * The store's lock file: one engine per store directory. `LOCK` is created exclusively and
 * holds the owner's pid (written before the file appears: it is linked into place); a lock whose process is gone (killed, crashed) is stale and taken
 * over. Opening the same directory twice, in this process or another live one, is
 * ERR_STORE_LOCKED.
 */
import fs from 'node:fs';
import path from 'node:path';
import { storeError } from '../../errors.js';
import { LOCK_FILE } from './layout.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Takes the lock of `dir`; returns the function that releases it. */
export function acquireLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // the pid is written first, then linked into place: the lock never exists half-written
      const tmp = `${file}.${process.pid}`;
      fs.writeFileSync(tmp, `${process.pid}\n`);
      try {
        fs.linkSync(tmp, file);
      } finally {
        fs.unlinkSync(tmp);
      }
      return () => {
        try {
          fs.unlinkSync(file);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw storeError('ERR_STORE_IO', `cannot create the lock file ${file}: ${(e as Error).message}`, e);
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    } catch {
      continue; // released meanwhile: try again
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
      throw storeError('ERR_STORE_LOCKED', `the store ${dir} is open in process ${owner}${owner === process.pid ? ' (this one)' : ''}`);
    }
    // stale (the owner died, or the file was torn while being written): take it over
    try {
      fs.unlinkSync(file);
    } catch {
      // someone else took it over first; the next attempt sees their lock
    }
  }
  throw storeError('ERR_STORE_LOCKED', `the store ${dir} is being opened by another process`);
}
