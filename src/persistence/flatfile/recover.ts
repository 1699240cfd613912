/**
 * Opening a store: scan every branch log and the commit journal, decide which beats were
 * committed, and cut everything from the first beat that was not (docs/flatfile.md,
 * "Recovery"). A beat is committed when its journal record and every frame it names are
 * intact, or when its only frame is intact and marked SOLO. The first beat that fails —
 * a torn or corrupt record, a missing frame, a frame no record accounts for, or a beat
 * whose records name a previous committed beat that is not the one before it (`prevGap`: a
 * lost beat in between) — is the cut point: it and every later beat are removed from every
 * file, checkpoints included, so every branch is left as of the same beat.
 *
 * A torn tail (what a crash leaves: the last records cut short, zeros after) is cut silently
 * and reported. Damage (a bad record with data after it, a cut of beats that other files
 * prove durable: a seal, a compaction base, a checkpoint; or a compacted branch left without
 * the checkpoint it is rebuilt from) is never cut by a plain open: it is refused with
 * ERR_STORE_CORRUPT and the report of what a repair would cut (or why none can). A repair cuts
 * at the first damaged beat in every branch and copies every cut byte range into the
 * quarantine before cutting.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RecoveryReport } from '../engine.js';
import { type BranchFiles, checkBranchName } from './branch.js';
import type { CasStore } from './cas.js';
import { openBranch } from './load.js';
import { fsyncDir, truncateTo } from './files.js';
import { journalTailTorn, scanJournal } from './journal.js';
import { classifyLogTail, type LogScan } from './log-scan.js';
import {
  BRANCH_META,
  BRANCHES_DIR,
  CAS_DIR,
  CAS_MANIFEST,
  CHECKPOINTS_LOG,
  FRAMES_LOG,
  GAP_FAR,
  GAP_NONE,
  JOURNAL_FILE,
  LOG_SNAPSHOT,
  LOG_SOLO,
  ROOT_BYTES,
  sameRoot,
  type JournalRecord,
} from './layout.js';
import { Quarantine } from './quarantine.js';
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

export interface RecoverOptions {
  /** 'tail': Merkle-validate each log's newest frame; 'full': every frame. */
  verify: 'tail' | 'full';
  chunk?: number;
  /** 'open': cut torn tails, refuse damage; 'repair': cut damage too (quarantined); 'check': report, change nothing. */
  mode: 'open' | 'repair' | 'check';
}

interface Candidate {
  journal?: JournalRecord;
  frames: Array<{ branch: BranchFiles; i: number }>;
}

/** One byte range recovery cuts: `[from, size)` of a file. */
interface Cut {
  fd: number;
  file: string;
  branch: string;
  from: number;
  size: number;
  fromBeat: number;
  reason: string;
  apply: () => void;
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

/** A branch folder a crash left while creating it: no branch.meta, nothing but empty files and a temporary meta. */
function unfinishedBranch(dir: string): boolean {
  for (const name of fs.readdirSync(dir)) {
    const st = fs.statSync(path.join(dir, name));
    if (name !== `${BRANCH_META}.tmp` && !(st.isFile() && st.size === 0)) return false;
  }
  return true;
}

/** The branch a folder name stands for ('' when it stands for none). */
function decodedName(folder: string): string {
  try {
    return checkBranchName(decodeURIComponent(folder));
  } catch {
    return '';
  }
}

/**
 * Recovers the store at `storeDir` (see the module comment). `cas` is the store's CAS
 * (its manifest tail is decided here too). Throws ERR_STORE_CORRUPT with `report` when the
 * store is damaged and `mode` is 'open', or when a repair cannot reach a consistent state.
 */
export function recover(storeDir: string, journalFd: number, cas: CasStore, options: RecoverOptions): Recovered {
  const branchesDir = path.join(storeDir, BRANCHES_DIR);
  const branches = new Map<string, BranchFiles>();
  try {
    return recoverOpened(storeDir, branchesDir, journalFd, cas, options, branches);
  } catch (e) {
    for (const b of branches.values()) b.close();
    throw e;
  }
}

function recoverOpened(storeDir: string, branchesDir: string, journalFd: number, cas: CasStore, options: RecoverOptions, branches: Map<string, BranchFiles>): Recovered {
  const { verify, mode } = options;
  const scans = new Map<string, { log: LogScan; ckp: LogScan; folder: string }>();
  const report: RecoveryReport = { beat: -1, cut: [], scannedBytes: 0, damage: [] };
  const damage = report.damage!;
  /** Beats torn records were of (crash artefacts): nothing at or after them is kept. */
  const tornBeats: number[] = [];
  const rel = (folder: string, file: string): string => `${BRANCHES_DIR}/${folder}/${file}`;
  for (const folder of fs.readdirSync(branchesDir).sort()) {
    const dir = path.join(branchesDir, folder);
    if (mode === 'check' && folder.includes('.')) continue; // a swap a plain open settles (branch folders never hold '.')
    if (!fs.existsSync(path.join(dir, BRANCH_META))) {
      // a crash between creating the folder and its meta: no frame was written yet
      if (!unfinishedBranch(dir)) throw storeError('ERR_STORE_CORRUPT', `the branch folder ${dir} holds files but no ${BRANCH_META}`);
      report.cut.push({ branch: decodedName(folder), bytes: 0, fromBeat: -1, reason: 'unfinished', file: `${BRANCHES_DIR}/${folder}` });
      if (mode !== 'check') {
        fs.rmSync(dir, { recursive: true, force: true });
        fsyncDir(branchesDir);
      }
      continue;
    }
    if (mode !== 'check') fs.rmSync(path.join(dir, `${BRANCH_META}.tmp`), { force: true }); // a meta write a crash interrupted
    const { b, log, ckp } = openBranch(dir, options.chunk);
    if (branches.has(b.name)) {
      b.close();
      throw storeError('ERR_STORE_CORRUPT', `two folders hold branch "${b.name}"`);
    }
    branches.set(b.name, b);
    scans.set(b.name, { log, ckp, folder });
    report.scannedBytes += log.end + ckp.end;
    trimInvalid(b, b.table, b.fdLog, log, verify);
    trimInvalid(b, b.checkpoints, b.fdCkp, ckp, verify);
    // the first beat this branch lost, when a crash or damage cut its log short
    const tail = classifyLogTail(b.fdLog, log);
    const lastGood = b.table.count > 0 ? b.table.lastBeat : b.meta.baseBeat;
    if (!tail.torn) {
      damage.push({ branch: b.name, file: rel(folder, FRAMES_LOG), offset: log.end, fromBeat: tail.beat > lastGood && log.reason !== 'order' ? tail.beat : lastGood + 1, reason: log.reason });
    } else if (log.reason !== '') {
      // a torn record is of the last transaction: newer than every seal; one at or below its branch's seal is damage
      const lost = tail.beat > lastGood ? tail.beat : -1;
      if (lost >= 0 && lost > b.unboundTo) tornBeats.push(lost);
      else if (lost >= 0 || lastGood < b.unboundTo)
        damage.push({ branch: b.name, file: rel(folder, FRAMES_LOG), offset: log.end, fromBeat: lost >= 0 ? lost : lastGood + 1, reason: `${log.reason} below the seal` });
    }
    if (!classifyLogTail(b.fdCkp, ckp).torn) damage.push({ branch: b.name, file: rel(folder, CHECKPOINTS_LOG), offset: ckp.end, fromBeat: -1, reason: ckp.reason });
  }
  const journal = scanJournal(journalFd);
  report.scannedBytes += journal.end;
  if (!journalTailTorn(journalFd, journal)) damage.push({ branch: '', file: JOURNAL_FILE, offset: journal.end, fromBeat: -1, reason: journal.reason });
  if (!cas.tail.torn) damage.push({ branch: '', file: `${CAS_DIR}/${CAS_MANIFEST}`, offset: cas.tail.end, fromBeat: -1, reason: 'crc' });

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
  let walkCut = Infinity;
  const committed: number[] = [];
  let prev = -1;
  for (const beat of [...candidates.keys()].sort((x, y) => x - y)) {
    const c = candidates.get(beat)!;
    const gap = gapOfCandidate(c);
    const chained = gap === GAP_FAR || (gap === GAP_NONE ? prev === -1 : gap > 0 && (beat - gap === prev || (beat - gap <= forgotten && prev <= forgotten)));
    if (!chained || !complete(beat, c, branches)) {
      walkCut = beat;
      break;
    }
    prev = beat;
    committed.push(beat);
  }
  // the cut beat: the walk's, or earlier where a damaged log lost a beat
  let cutBeat = walkCut;
  for (const beat of tornBeats) cutBeat = Math.min(cutBeat, beat);
  const tornCut = cutBeat;
  for (const d of damage) if (d.fromBeat >= 0) cutBeat = Math.min(cutBeat, d.fromBeat);
  // a cut at or below a beat other files prove durable is damage, not a crash artefact
  if (cutBeat !== Infinity && damage.length === 0) {
    for (const b of branches.values()) {
      const provenBy = b.meta.sealedBeat >= cutBeat ? 'sealedBeat' : b.meta.baseBeat >= cutBeat ? 'baseBeat' : b.checkpoints.lastBeat >= cutBeat ? 'checkpoint' : '';
      if (provenBy !== '') {
        damage.push({
          branch: b.name,
          file: rel(scans.get(b.name)!.folder, provenBy === 'checkpoint' ? CHECKPOINTS_LOG : BRANCH_META),
          offset: -1,
          fromBeat: cutBeat,
          reason: `durable (${provenBy})`,
        });
        break;
      }
    }
  }
  // a compacted branch is rebuilt from the checkpoint its compaction synced before the swap:
  // whatever its tail looks like (a checkpoints.log cut short reads as torn), losing it is damage
  const lost = baseLost(branches, cutBeat);
  if (lost !== undefined && damage.length === 0) {
    damage.push({ branch: lost.name, file: rel(scans.get(lost.name)!.folder, CHECKPOINTS_LOG), offset: -1, fromBeat: -1, reason: `no checkpoint at or after baseBeat ${lost.meta.baseBeat}` });
  }
  // ...and no repair can bring it back
  if (lost !== undefined)
    report.unrepairable = `branch "${lost.name}" was compacted up to beat ${lost.meta.baseBeat} and keeps no checkpoint${cutBeat === Infinity ? '' : ` before beat ${cutBeat}`} to rebuild it from`;
  const damaged = damage.length > 0;
  while (committed.length > 0 && committed[committed.length - 1] >= cutBeat) committed.pop();
  const lastWritten = committed.length > 0 ? committed[committed.length - 1] : -1;

  // the newest beat kept anywhere: what a cut tail of unknown beat is reported from (the next one)
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

  // plan every cut; intact records after a damage-driven cut point are reported as 'damage'
  const cuts: Cut[] = [];
  const laterReason = cutBeat < tornCut ? 'damage' : 'uncommitted';
  const ends = new Map<string, { logEnd: number; logCap: number; ckpEnd: number }>();
  for (const b of branches.values()) {
    const { log, ckp, folder } = scans.get(b.name)!;
    const logCut = planCut(report, b.name, rel(folder, FRAMES_LOG), b.fdLog, b.table, log, cutBeat, laterReason);
    const ckpCut = planCut(report, b.name, rel(folder, CHECKPOINTS_LOG), b.fdCkp, b.checkpoints, ckp, cutBeat, laterReason);
    ends.set(b.name, { logEnd: logCut.end, logCap: logCut.cap, ckpEnd: ckpCut.end });
    if (logCut.cut !== undefined) cuts.push(logCut.cut);
    if (ckpCut.cut !== undefined) cuts.push(ckpCut.cut);
  }
  const journalEnd = keep < journal.records.length ? journal.offsets[keep] : journal.end;
  let journalCap = journal.size; // zeros after the end are preallocated room
  if (keep < journal.records.length || journal.reason !== '') {
    const fromBeat = keep < journal.records.length ? journal.records[keep].beat : report.beat + 1;
    const reason = keep < journal.records.length ? laterReason : journal.reason;
    cuts.push({ fd: journalFd, file: JOURNAL_FILE, branch: '', from: journalEnd, size: journal.size, fromBeat, reason, apply: () => truncateTo(journalFd, journalEnd) });
    journalCap = journalEnd;
  }
  if (cas.tail.size > cas.tail.end) {
    cuts.push({
      fd: cas.manifestFd,
      file: `${CAS_DIR}/${CAS_MANIFEST}`,
      branch: '',
      from: cas.tail.end,
      size: cas.tail.size,
      fromBeat: -1,
      reason: cas.tail.torn ? 'torn' : 'crc',
      apply: () => cas.cutTail(),
    });
  }
  for (const c of cuts) report.cut.push({ branch: c.branch, bytes: c.size - c.from, fromBeat: c.fromBeat, reason: c.reason, file: c.file });

  if (damaged && mode === 'open') {
    const what = damage.map((d) => `${d.file}${d.offset >= 0 ? ` at byte ${d.offset}` : ''} (${d.reason}${d.fromBeat >= 0 ? `, beat ${d.fromBeat}` : ''})`).join('; ');
    const next =
      report.unrepairable !== undefined
        ? `no repair can fix it: ${report.unrepairable}`
        : `a repair would cut every branch back to beat ${report.beat} (open with repair: true, or run cep store repair)`;
    throw Object.assign(storeError('ERR_STORE_CORRUPT', `the store is damaged: ${what}; ${next}`), { report });
  }
  if (mode === 'check') return { branches, journalEnd, journalCap, beats: committed.length, lastWritten, report };
  if (damaged) {
    if (report.unrepairable !== undefined) throw Object.assign(storeError('ERR_STORE_CORRUPT', `cannot repair: ${report.unrepairable}`), { report });
    const q = new Quarantine(storeDir);
    for (const c of cuts) q.keep(c.fd, c.file, c.from, c.size, { branch: c.branch, fromBeat: c.fromBeat, reason: c.reason });
    report.quarantine = q.finish();
  }
  for (const c of cuts) c.apply();
  for (const b of branches.values()) {
    const e = ends.get(b.name)!;
    b.table.truncate(b.table.lowerBound(cutBeat));
    b.checkpoints.truncate(b.checkpoints.lowerBound(cutBeat));
    [b.logEnd, b.logCap, b.ckpEnd] = [e.logEnd, e.logCap, e.ckpEnd];
    b.repairIndex();
  }
  if (!damaged) delete report.damage;
  return { branches, journalEnd, journalCap, beats: committed.length, lastWritten, report };
}

/**
 * Plans cutting `table` and its file at the first beat >= `cutBeat` or the scan's bad tail.
 * Returns the file's end and its room (zeros after a clean end are preallocated room, kept).
 */
function planCut(
  report: RecoveryReport,
  branch: string,
  file: string,
  fd: number,
  table: LogScan['table'],
  scan: LogScan,
  cutBeat: number,
  laterReason: string,
): { end: number; cap: number; cut?: Cut } {
  const keep = table.lowerBound(cutBeat);
  const end = keep < table.count ? table.offsets[keep] : scan.end;
  if (keep === table.count && scan.reason === '') return { end, cap: scan.size };
  const fromBeat = keep < table.count ? table.beats[keep] : scan.badBeat >= 0 ? scan.badBeat : report.beat + 1;
  const reason = keep < table.count ? laterReason : scan.reason;
  return { end, cap: end, cut: { fd, file, branch, from: end, size: scan.size, fromBeat, reason, apply: () => truncateTo(fd, end) } };
}

/**
 * The beat of the newest checkpoint `b` keeps before `cutBeat` (in checkpoints.log, or a
 * snapshot frame of its log), or -1: a compacted branch (frames up to `baseBeat` dropped) is
 * rebuildable only from one at or after its base.
 */
function baseCheckpoint(b: BranchFiles, cutBeat: number): number {
  const c = b.checkpoints.lowerBound(cutBeat) - 1;
  let f = b.table.lowerBound(cutBeat) - 1;
  while (f >= 0 && (b.table.flags[f] & LOG_SNAPSHOT) === 0) f--;
  return Math.max(c >= 0 ? b.checkpoints.beats[c] : -1, f >= 0 ? b.table.beats[f] : -1);
}

/** A compacted branch that a cut of every branch at `cutBeat` would leave without a checkpoint at or after its base. */
function baseLost(branches: Map<string, BranchFiles>, cutBeat: number): BranchFiles | undefined {
  for (const b of branches.values()) if (b.meta.baseBeat >= 0 && baseCheckpoint(b, cutBeat) < b.meta.baseBeat) return b;
  return undefined;
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
