/** Opening one branch folder: its meta, its files, and a scan of both frame logs. */
import fs from 'node:fs';
import path from 'node:path';
import { storeError } from '../../errors.js';
import { BranchFiles, parseMeta } from './branch.js';
import { BRANCH_META } from './layout.js';
import { scanLog, type LogScan } from './log-scan.js';

/** Opens the branch in `dir` and scans its logs (the tables hold their good prefixes). */
export function openBranch(dir: string, chunk?: number): { b: BranchFiles; log: LogScan; ckp: LogScan } {
  const metaFile = path.join(dir, BRANCH_META);
  if (!fs.existsSync(metaFile)) throw storeError('ERR_STORE_CORRUPT', `the branch folder ${dir} has no ${BRANCH_META}`);
  const b = new BranchFiles(dir, parseMeta(fs.readFileSync(metaFile, 'utf8'), metaFile));
  try {
    const log = scanLog(b.fdLog, b.baseRoot, b.meta.baseBeat, chunk);
    const ckp = scanLog(b.fdCkp, null, -1, chunk);
    b.table = log.table;
    b.checkpoints = ckp.table;
    return { b, log, ckp };
  } catch (e) {
    b.close();
    throw e;
  }
}

/** Opens a branch folder the engine just built (compaction, import): it must scan clean end to end. */
export function loadBranch(dir: string): BranchFiles {
  const { b, log, ckp } = openBranch(dir);
  if (log.reason !== '' || ckp.reason !== '') {
    b.close();
    throw storeError('ERR_STORE_CORRUPT', `the branch folder ${dir} does not scan clean (${log.reason || ckp.reason})`);
  }
  b.logEnd = log.end;
  b.logCap = log.size;
  b.ckpEnd = ckp.end;
  b.repairIndex();
  return b;
}
