/**
 * Opening a store: scan every branch log and the commit journal, decide which beats were
 * committed, and cut everything from the first beat that was not (docs/flatfile.md,
 * "Recovery"). A beat is committed when its journal record and every frame it names are
 * intact, or when its only frame is intact and marked SOLO. The first beat that fails —
 * a torn or corrupt record, a missing frame, a frame no record accounts for, or a beat
 * whose records name a previous committed beat that is not the one before it (`prevGap`: a
 * lost beat in between) — is the cut point: it and every later beat are removed from every
 * file, and each cut is reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RecoveryReport } from '../engine.js';
import type { BranchFiles } from './branch.js';
import { openBranch } from './load.js';
import { truncateTo } from './files.js';
import { scanJournal } from './journal.js';
import { scanLog, type LogScan } from './log-scan.js';
import { GAP_FAR, GAP_NONE, LOG_SOLO, ROOT_BYTES, sameRoot, type JournalRecord } from './layout.js';
import { storeError } from '../../errors.js';

export interface Recovered {
  branches: Map<string, BranchFiles>;
  journalEnd: number;
  /** Size of journal.log: its end plus preallocated room. */
  journalCap: number;
  /** Beats committed (journal records and SOLO frames kept). */
  beats: number;
  /** The newest of them (-1: none): the next beat's `prevGap` counts back to it. */
  lastWritten: number;
  report: RecoveryReport;
}

interface Candidate {
  journal?: JournalRecord;
  frames: Array<{ branch: BranchFiles; i: number }>;
}

/** The `prevGap` the beat's records carry (they all carry the same), or -1 when they disagree. */
function gapOfCandidate(c: Candidate): number {
  let gap = c.journal?.prevGap ?? -1;
  for (const { branch, i } of c.frames) {
    const g = branch.table.gaps[i];
    if (gap >= 0 && g !== gap) return -1;
    gap = g;
  }
  return gap;
}

/** Whether a beat is complete (see the module comment). */
function complete(beat: number, c: Candidate, branches: Map<string, BranchFiles>): boolean {
  if (c.journal === undefined) return c.frames.length === 1 && (c.frames[0].branch.table.flags[c.frames[0].i] & LOG_SOLO) !== 0;
  let named = 0;
  for (const e of c.journal.entries) {
    const b = branches.get(e.branch);
    if (b !== undefined && beat <= b.unboundTo) continue;
    const i = b?.table.find(beat) ?? -1;
    if (b === undefined || i < 0) return false;
    const t = b.table;
    if (t.lengths[i] !== e.length || t.crcs[i] !== e.frameCrc || !sameRoot(e.root, 0, t.roots, i * ROOT_BYTES) || (t.flags[i] & LOG_SOLO) !== 0) return false;
    named++;
  }
  return named === c.frames.length;
}

/**
 * `verify`: 'tail' checks the Merkle root of each branch's newest frame and checkpoint (every
 * frame's CRC and the hash chain are always checked); 'full' validates every frame.
 */
export function recover(branchesDir: string, journalFd: number, verify: 'tail' | 'full', chunk?: number): Recovered {
  const branches = new Map<string, BranchFiles>();
  const scans = new Map<string, { log: LogScan; ckp: LogScan }>();
  let scannedBytes = 0;
  for (const name of fs.readdirSync(branchesDir).sort()) {
    const { b, log, ckp } = openBranch(path.join(branchesDir, name), chunk);
    if (branches.has(b.name)) {
      b.close();
      throw storeError('ERR_STORE_CORRUPT', `two folders hold branch "${b.name}"`);
    }
    branches.set(b.name, b);
    scans.set(b.name, { log, ckp });
    scannedBytes += log.end + ckp.end;
    trimInvalid(b, b.table, b.fdLog, log, verify);
    trimInvalid(b, b.checkpoints, b.fdCkp, ckp, verify);
  }
  const journal = scanJournal(journalFd);
  scannedBytes += journal.end;

  // every beat some file claims, ascending; the first incomplete one is the cut point
  const candidates = new Map<number, Candidate>();
  const at = (beat: number): Candidate => {
    let c = candidates.get(beat);
    if (c === undefined) candidates.set(beat, (c = { frames: [] }));
    return c;
  };
  for (const r of journal.records) at(r.beat).journal = r;
  for (const b of branches.values()) {
    const t = b.table;
    for (let i = t.lowerBound(b.unboundTo + 1); i < t.count; i++) at(t.beats[i]).frames.push({ branch: b, i });
  }
  // beats at or below `forgotten` were compacted away or imported over: a gap back to one is not checked
  let forgotten = -1;
  for (const b of branches.values()) forgotten = Math.max(forgotten, b.unboundTo);
  let cutBeat = Infinity;
  let beats = 0;
  let prev = -1;
  for (const beat of [...candidates.keys()].sort((x, y) => x - y)) {
    const c = candidates.get(beat)!;
    const gap = gapOfCandidate(c);
    const chained = gap === GAP_FAR || (gap === GAP_NONE ? prev === -1 : gap > 0 && (beat - gap === prev || (beat - gap <= forgotten && prev <= forgotten)));
    if (!chained || !complete(beat, c, branches)) {
      cutBeat = beat;
      break;
    }
    prev = beat;
    beats++;
  }

  // the newest beat kept anywhere: what a cut tail of unknown beat is reported from (the next one)
  const report: RecoveryReport = { beat: -1, cut: [], scannedBytes };
  let keep = journal.records.findIndex((r) => r.beat >= cutBeat);
  if (keep < 0) keep = journal.records.length;
  if (keep > 0) report.beat = journal.records[keep - 1].beat;
  for (const b of branches.values()) {
    for (const t of [b.table, b.checkpoints]) {
      const k = t.lowerBound(cutBeat);
      if (k > 0) report.beat = Math.max(report.beat, t.beats[k - 1]);
    }
    if (b.meta.sealedBeat < cutBeat) report.beat = Math.max(report.beat, b.meta.sealedBeat);
  }
  for (const b of branches.values()) {
    const { log, ckp } = scans.get(b.name)!;
    [b.logEnd, b.logCap] = cutFile(report, b.name, b.fdLog, b.table, log, cutBeat);
    [b.ckpEnd] = cutFile(report, b.name, b.fdCkp, b.checkpoints, ckp, cutBeat);
    b.repairIndex();
  }
  const journalEnd = keep < journal.records.length ? journal.offsets[keep] : journal.end;
  let journalCap = journal.size; // zeros after the end are preallocated room
  if (keep < journal.records.length || journal.reason !== '') {
    report.cut.push({ branch: '', bytes: journal.size - journalEnd, fromBeat: keep < journal.records.length ? journal.records[keep].beat : report.beat + 1, reason: keep < journal.records.length ? 'uncommitted' : journal.reason });
    truncateTo(journalFd, journalEnd);
    journalCap = journalEnd;
  }
  return { branches, journalEnd, journalCap, beats, lastWritten: prev, report };
}

/**
 * Cuts `table` and its file at the first beat >= `cutBeat` or the scan's bad tail; reports it.
 * Returns the file's end and its room (zeros after a clean end are preallocated room, kept).
 */
function cutFile(report: RecoveryReport, branch: string, fd: number, table: LogScan['table'], scan: LogScan, cutBeat: number): [number, number] {
  const keep = table.lowerBound(cutBeat);
  const end = keep < table.count ? table.offsets[keep] : scan.end;
  let cap = scan.size;
  if (keep < table.count || scan.reason !== '') {
    const fromBeat = keep < table.count ? table.beats[keep] : scan.badBeat >= 0 ? scan.badBeat : report.beat + 1;
    report.cut.push({ branch, bytes: scan.size - end, fromBeat, reason: keep < table.count ? 'uncommitted' : scan.reason });
    truncateTo(fd, end);
    cap = end;
  }
  table.truncate(keep);
  return [end, cap];
}

/**
 * Fully validates the newest frame of a log (every frame with 'full'): a frame whose CRCs pass
 * but whose content does not (a commit validates frames while their bytes are written, so a
 * crash can leave the last one unchecked) ends the good prefix there, like a torn record.
 */
function trimInvalid(b: BranchFiles, table: BranchFiles['table'], fd: number, scan: LogScan, verify: 'tail' | 'full'): void {
  const from = verify === 'full' ? 0 : Math.max(0, table.count - 1);
  for (let i = from; i < table.count; i++) {
    try {
      b.read(table, i, fd);
    } catch {
      scan.end = table.offsets[i];
      scan.reason = 'invalid';
      scan.badBeat = table.beats[i];
      table.truncate(i);
      return;
    }
  }
}
