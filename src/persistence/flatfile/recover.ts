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
import { journalTailTorn, scanJournal, type JournalScan } from './journal.js';
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

/** The scanned logs of a branch and the folder they are in. */
interface BranchScan {
  log: LogScan;
  ckp: LogScan;
  folder: string;
}

type Damage = NonNullable<RecoveryReport['damage']>[number];

/** What recovery has found so far, shared by its steps. */
interface Findings {
  branches: Map<string, BranchFiles>;
  scans: Map<string, BranchScan>;
  report: RecoveryReport;
  /** `report.damage` (dropped from the report at the end when empty). */
  damage: Damage[];
  /** Beats torn records were of (crash artefacts): nothing at or after them is kept. */
  tornBeats: number[];
}

/** Where each file ends once cut (and the room kept after it), and every byte range to cut. */
interface CutPlan {
  cuts: Cut[];
  ends: Map<string, { logEnd: number; logCap: number; ckpEnd: number }>;
  journalEnd: number;
  journalCap: number;
}

/** A file of a branch folder, as the report names it (relative to the store). */
function branchFile(folder: string, file: string): string {
  return `${BRANCHES_DIR}/${folder}/${file}`;
}

/** The steps of `recover`, in order (docs/flatfile.md, "Recovery"); every branch opened goes into `branches`. */
function recoverOpened(storeDir: string, branchesDir: string, journalFd: number, cas: CasStore, options: RecoverOptions, branches: Map<string, BranchFiles>): Recovered {
  const report: RecoveryReport = { beat: -1, cut: [], scannedBytes: 0, damage: [] };
  const f: Findings = { branches, scans: new Map(), report, damage: report.damage!, tornBeats: [] };
  scanBranches(branchesDir, options, f);
  const journal = scanStoreWideFiles(journalFd, cas, f);
  const { committed, walkCut } = walkCommitted(beatCandidates(journal, branches), branches);
  const { cutBeat, tornCut } = cutPoint(walkCut, f);
  noteDurableCut(f, cutBeat);
  noteLostBase(f, cutBeat);
  const damaged = f.damage.length > 0;
  while (committed.length > 0 && committed[committed.length - 1] >= cutBeat) committed.pop();
  const lastWritten = committed.length > 0 ? committed[committed.length - 1] : -1;
  const keep = keptJournalRecords(journal, cutBeat);
  noteKeptBeat(f, journal, keep, cutBeat);
  // intact records after a damage-driven cut point are reported as 'damage'
  const plan = planCuts(f, journal, journalFd, cas, cutBeat, keep, cutBeat < tornCut ? 'damage' : 'uncommitted');
  if (damaged && options.mode === 'open') throw damageRefusal(report);
  const recovered: Recovered = { branches, journalEnd: plan.journalEnd, journalCap: plan.journalCap, beats: committed.length, lastWritten, report };
  if (options.mode === 'check') return recovered;
  if (damaged) quarantineCuts(storeDir, report, plan.cuts);
  applyCuts(branches, plan, cutBeat);
  if (!damaged) delete report.damage;
  return recovered;
}

/** Every branch folder, in name order: settled when a crash left it unfinished, else opened, scanned and its tails classified. */
function scanBranches(branchesDir: string, options: RecoverOptions, f: Findings): void {
  for (const folder of fs.readdirSync(branchesDir).sort()) {
    const dir = path.join(branchesDir, folder);
    if (options.mode === 'check' && folder.includes('.')) continue; // a swap a plain open settles (branch folders never hold '.')
    if (!fs.existsSync(path.join(dir, BRANCH_META))) {
      settleUnfinishedFolder(branchesDir, folder, options.mode, f.report);
      continue;
    }
    const b = openScannedBranch(dir, folder, options, f);
    classifyBranchTails(b, f.scans.get(b.name)!, f);
  }
}

/**
 * A branch folder without branch.meta: a crash between creating the folder and its meta (no
 * frame was written yet) is removed and reported as an 'unfinished' cut; anything else is refused.
 */
function settleUnfinishedFolder(branchesDir: string, folder: string, mode: RecoverOptions['mode'], report: RecoveryReport): void {
  const dir = path.join(branchesDir, folder);
  if (!unfinishedBranch(dir)) throw storeError('ERR_STORE_CORRUPT', `the branch folder ${dir} holds files but no ${BRANCH_META}`);
  report.cut.push({ branch: decodedName(folder), bytes: 0, fromBeat: -1, reason: 'unfinished', file: `${BRANCHES_DIR}/${folder}` });
  if (mode !== 'check') {
    fs.rmSync(dir, { recursive: true, force: true });
    fsyncDir(branchesDir);
  }
}

/** Opens a branch folder and scans its logs (the newest frames fully validated), recording both in `f`. */
function openScannedBranch(dir: string, folder: string, options: RecoverOptions, f: Findings): BranchFiles {
  if (options.mode !== 'check') fs.rmSync(path.join(dir, `${BRANCH_META}.tmp`), { force: true }); // a meta write a crash interrupted
  const { b, log, ckp } = openBranch(dir, options.chunk);
  if (f.branches.has(b.name)) {
    b.close();
    throw storeError('ERR_STORE_CORRUPT', `two folders hold branch "${b.name}"`);
  }
  f.branches.set(b.name, b);
  f.scans.set(b.name, { log, ckp, folder });
  f.report.scannedBytes += log.end + ckp.end;
  trimInvalid(b, b.table, b.fdLog, log, options.verify);
  trimInvalid(b, b.checkpoints, b.fdCkp, ckp, options.verify);
  return b;
}

/** Classifies what follows the good prefix of a branch's logs: a torn tail (its beat noted in `tornBeats`) or damage. */
function classifyBranchTails(b: BranchFiles, { log, ckp, folder }: BranchScan, f: Findings): void {
  // the first beat this branch lost, when a crash or damage cut its log short
  const tail = classifyLogTail(b.fdLog, log);
  const lastGood = b.table.count > 0 ? b.table.lastBeat : b.meta.baseBeat;
  if (!tail.torn) {
    f.damage.push({ branch: b.name, file: branchFile(folder, FRAMES_LOG), offset: log.end, fromBeat: tail.beat > lastGood && log.reason !== 'order' ? tail.beat : lastGood + 1, reason: log.reason });
  } else if (log.reason !== '') {
    // a torn record is of the last transaction: newer than every seal; one at or below its branch's seal is damage
    const lost = tail.beat > lastGood ? tail.beat : -1;
    if (lost >= 0 && lost > b.unboundTo) f.tornBeats.push(lost);
    else if (lost >= 0 || lastGood < b.unboundTo)
      f.damage.push({ branch: b.name, file: branchFile(folder, FRAMES_LOG), offset: log.end, fromBeat: lost >= 0 ? lost : lastGood + 1, reason: `${log.reason} below the seal` });
  }
  if (!classifyLogTail(b.fdCkp, ckp).torn) f.damage.push({ branch: b.name, file: branchFile(folder, CHECKPOINTS_LOG), offset: ckp.end, fromBeat: -1, reason: ckp.reason });
}

/** Scans journal.log; its tail and the CAS manifest's (scanned when the CAS opened) are damage unless torn. */
function scanStoreWideFiles(journalFd: number, cas: CasStore, f: Findings): JournalScan {
  const journal = scanJournal(journalFd);
  f.report.scannedBytes += journal.end;
  if (!journalTailTorn(journalFd, journal)) f.damage.push({ branch: '', file: JOURNAL_FILE, offset: journal.end, fromBeat: -1, reason: journal.reason });
  if (!cas.tail.torn) f.damage.push({ branch: '', file: `${CAS_DIR}/${CAS_MANIFEST}`, offset: cas.tail.end, fromBeat: -1, reason: 'crc' });
  return journal;
}

/** Every beat some file claims: its journal record and its frames past each branch's unbound beats. */
function beatCandidates(journal: JournalScan, branches: Map<string, BranchFiles>): Map<number, Candidate> {
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
  return candidates;
}

/**
 * Walks the claimed beats in ascending order: the committed ones, up to the first that is not
 * in sequence and complete (`walkCut`; Infinity when every one is).
 */
function walkCommitted(candidates: Map<number, Candidate>, branches: Map<string, BranchFiles>): { committed: number[]; walkCut: number } {
  // beats at or below `forgotten` were compacted away or imported over: a gap back to one is not checked
  let forgotten = -1;
  for (const b of branches.values()) forgotten = Math.max(forgotten, b.unboundTo);
  const committed: number[] = [];
  let prev = -1;
  for (const beat of [...candidates.keys()].sort((x, y) => x - y)) {
    const c = candidates.get(beat)!;
    if (!inSequence(beat, gapOfCandidate(c), prev, forgotten) || !complete(beat, c, branches)) return { committed, walkCut: beat };
    prev = beat;
    committed.push(beat);
  }
  return { committed, walkCut: Infinity };
}

/** Whether `beat`, whose records carry `gap`, follows `prev`, the committed beat before it. */
function inSequence(beat: number, gap: number, prev: number, forgotten: number): boolean {
  return gap === GAP_FAR || (gap === GAP_NONE ? prev === -1 : gap > 0 && (beat - gap === prev || (beat - gap <= forgotten && prev <= forgotten)));
}

/**
 * The cut beat: the walk's, or earlier where a torn record or damage lost a beat; and
 * `tornCut`, the one without damage (a cut point before it is damage-driven).
 */
function cutPoint(walkCut: number, f: Findings): { cutBeat: number; tornCut: number } {
  let tornCut = walkCut;
  for (const beat of f.tornBeats) tornCut = Math.min(tornCut, beat);
  let cutBeat = tornCut;
  for (const d of f.damage) if (d.fromBeat >= 0) cutBeat = Math.min(cutBeat, d.fromBeat);
  return { cutBeat, tornCut };
}

/** Where no damage was found: a cut at or below a beat other files prove durable is damage, not a crash artefact. */
function noteDurableCut(f: Findings, cutBeat: number): void {
  if (cutBeat === Infinity || f.damage.length > 0) return;
  for (const b of f.branches.values()) {
    const provenBy = b.meta.sealedBeat >= cutBeat ? 'sealedBeat' : b.meta.baseBeat >= cutBeat ? 'baseBeat' : b.checkpoints.lastBeat >= cutBeat ? 'checkpoint' : '';
    if (provenBy !== '') {
      f.damage.push({
        branch: b.name,
        file: branchFile(f.scans.get(b.name)!.folder, provenBy === 'checkpoint' ? CHECKPOINTS_LOG : BRANCH_META),
        offset: -1,
        fromBeat: cutBeat,
        reason: `durable (${provenBy})`,
      });
      return;
    }
  }
}

/**
 * A compacted branch is rebuilt from the checkpoint its compaction synced before the swap:
 * whatever its tail looks like (a checkpoints.log cut short reads as torn), losing it is
 * damage, and no repair can bring it back (`report.unrepairable`).
 */
function noteLostBase(f: Findings, cutBeat: number): void {
  const lost = baseLost(f.branches, cutBeat);
  if (lost === undefined) return;
  if (f.damage.length === 0) {
    f.damage.push({
      branch: lost.name,
      file: branchFile(f.scans.get(lost.name)!.folder, CHECKPOINTS_LOG),
      offset: -1,
      fromBeat: -1,
      reason: `no checkpoint at or after baseBeat ${lost.meta.baseBeat}`,
    });
  }
  f.report.unrepairable = `branch "${lost.name}" was compacted up to beat ${lost.meta.baseBeat} and keeps no checkpoint${cutBeat === Infinity ? '' : ` before beat ${cutBeat}`} to rebuild it from`;
}

/** How many journal records (a prefix) are of beats before `cutBeat`. */
function keptJournalRecords(journal: JournalScan, cutBeat: number): number {
  const keep = journal.records.findIndex((r) => r.beat >= cutBeat);
  return keep < 0 ? journal.records.length : keep;
}

/** Sets `report.beat`, the newest beat kept anywhere: what a cut tail of unknown beat is reported from (the next one). */
function noteKeptBeat(f: Findings, journal: JournalScan, keep: number, cutBeat: number): void {
  const report = f.report;
  if (keep > 0) report.beat = journal.records[keep - 1].beat;
  for (const b of f.branches.values()) {
    for (const t of [b.table, b.checkpoints]) {
      const k = t.lowerBound(cutBeat);
      if (k > 0) report.beat = Math.max(report.beat, t.beats[k - 1]);
    }
    if (b.meta.sealedBeat < cutBeat) report.beat = Math.max(report.beat, b.meta.sealedBeat);
  }
}

/** Plans every cut (branch logs, journal, CAS manifest) and lists each in `report.cut`. */
function planCuts(f: Findings, journal: JournalScan, journalFd: number, cas: CasStore, cutBeat: number, keep: number, laterReason: string): CutPlan {
  const { report } = f;
  const cuts: Cut[] = [];
  const ends: CutPlan['ends'] = new Map();
  for (const b of f.branches.values()) {
    const { log, ckp, folder } = f.scans.get(b.name)!;
    const logCut = planCut(report, b.name, branchFile(folder, FRAMES_LOG), b.fdLog, b.table, log, cutBeat, laterReason);
    const ckpCut = planCut(report, b.name, branchFile(folder, CHECKPOINTS_LOG), b.fdCkp, b.checkpoints, ckp, cutBeat, laterReason);
    ends.set(b.name, { logEnd: logCut.end, logCap: logCut.cap, ckpEnd: ckpCut.end });
    if (logCut.cut !== undefined) cuts.push(logCut.cut);
    if (ckpCut.cut !== undefined) cuts.push(ckpCut.cut);
  }
  const journalCut = planJournalCut(report, journal, journalFd, keep, laterReason);
  if (journalCut.cut !== undefined) cuts.push(journalCut.cut);
  if (cas.tail.size > cas.tail.end) cuts.push(manifestCut(cas));
  for (const c of cuts) report.cut.push({ branch: c.branch, bytes: c.size - c.from, fromBeat: c.fromBeat, reason: c.reason, file: c.file });
  return { cuts, ends, journalEnd: journalCut.end, journalCap: journalCut.cap };
}

/** Plans cutting journal.log after its first `keep` records or its bad tail (zeros after a clean end are preallocated room, kept). */
function planJournalCut(report: RecoveryReport, journal: JournalScan, fd: number, keep: number, laterReason: string): { end: number; cap: number; cut?: Cut } {
  const cutsRecords = keep < journal.records.length;
  const end = cutsRecords ? journal.offsets[keep] : journal.end;
  if (!cutsRecords && journal.reason === '') return { end, cap: journal.size };
  const fromBeat = cutsRecords ? journal.records[keep].beat : report.beat + 1;
  const reason = cutsRecords ? laterReason : journal.reason;
  return { end, cap: end, cut: { fd, file: JOURNAL_FILE, branch: '', from: end, size: journal.size, fromBeat, reason, apply: () => truncateTo(fd, end) } };
}

/** The cut of the CAS manifest's bad tail. */
function manifestCut(cas: CasStore): Cut {
  return {
    fd: cas.manifestFd,
    file: `${CAS_DIR}/${CAS_MANIFEST}`,
    branch: '',
    from: cas.tail.end,
    size: cas.tail.size,
    fromBeat: -1,
    reason: cas.tail.torn ? 'torn' : 'crc',
    apply: () => cas.cutTail(),
  };
}

/** The ERR_STORE_CORRUPT a plain open refuses damage with: what is damaged, and what a repair would do (or why none can). */
function damageRefusal(report: RecoveryReport): Error {
  const what = report.damage!.map((d) => `${d.file}${d.offset >= 0 ? ` at byte ${d.offset}` : ''} (${d.reason}${d.fromBeat >= 0 ? `, beat ${d.fromBeat}` : ''})`).join('; ');
  const next =
    report.unrepairable !== undefined
      ? `no repair can fix it: ${report.unrepairable}`
      : `a repair would cut every branch back to beat ${report.beat} (open with repair: true, or run cep store repair)`;
  return Object.assign(storeError('ERR_STORE_CORRUPT', `the store is damaged: ${what}; ${next}`), { report });
}

/** A repair: refused when no consistent state is left, else every byte range it cuts is copied into a new quarantine folder. */
function quarantineCuts(storeDir: string, report: RecoveryReport, cuts: Cut[]): void {
  if (report.unrepairable !== undefined) throw Object.assign(storeError('ERR_STORE_CORRUPT', `cannot repair: ${report.unrepairable}`), { report });
  const q = new Quarantine(storeDir);
  for (const c of cuts) q.keep(c.fd, c.file, c.from, c.size, { branch: c.branch, fromBeat: c.fromBeat, reason: c.reason });
  report.quarantine = q.finish();
}

/** Cuts every planned byte range and every branch's tables at `cutBeat`, then brings each frames.idx in line. */
function applyCuts(branches: Map<string, BranchFiles>, plan: CutPlan, cutBeat: number): void {
  for (const c of plan.cuts) c.apply();
  for (const b of branches.values()) {
    const e = plan.ends.get(b.name)!;
    b.table.truncate(b.table.lowerBound(cutBeat));
    b.checkpoints.truncate(b.checkpoints.lowerBound(cutBeat));
    [b.logEnd, b.logCap, b.ckpEnd] = [e.logEnd, e.logCap, e.ckpEnd];
    b.repairIndex();
  }
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
