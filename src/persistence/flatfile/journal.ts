/**
 * The store-wide commit journal (journal.log): one record per beat that wrote frames of more
 * than one branch, naming each frame (branch, length, CRC, root). A beat with a single frame
 * needs no record: its log record carries the SOLO flag and commits on its own.
 */
import { binding } from '../../native/index.js';
import { readExactAt } from './files.js';
import { JOURNAL_HEAD, JOURNAL_MAGIC, JOURNAL_MAX_RECORD, decodeJournalRecord, peekJournalRecord, readU32, writeU32, type JournalRecord } from './layout.js';
import { intactRecordIn, nonZeroEnd, scanRecords, type RecordShape } from './scan.js';

const JOURNAL_SHAPE: RecordShape = { head: JOURNAL_HEAD, length: peekJournalRecord, max: JOURNAL_MAX_RECORD };

export interface JournalScan {
  records: JournalRecord[];
  /** File offset where each record starts (same order). */
  offsets: number[];
  end: number;
  size: number;
  reason: '' | 'torn' | 'crc' | 'order' | 'malformed';
}

export function scanJournal(fd: number): JournalScan {
  const records: JournalRecord[] = [];
  const offsets: number[] = [];
  let reason: JournalScan['reason'] = '';
  let prevBeat = -1;
  const result = scanRecords(fd, JOURNAL_SHAPE, (b, starts, lengths, base) => {
    for (let i = 0; i < starts.length; i++) {
      const p = starts[i];
      const len = lengths[i];
      if (binding.crc32c(b.subarray(p, p + len - 4), 0) !== readU32(b, p + len - 4)) {
        reason = 'crc';
        return i;
      }
      const r = decodeJournalRecord(b, p, len);
      if (r === null) {
        reason = 'malformed';
        return i;
      }
      if (r.beat <= prevBeat) {
        reason = 'order';
        return i;
      }
      prevBeat = r.beat;
      records.push(r);
      offsets.push(base + p);
    }
    return starts.length;
  });
  if (result.stop === 'torn') reason = 'torn';
  return { records, offsets, end: result.end, size: result.size, reason };
}

const JOURNAL_MAGIC_BYTES = new Uint8Array(4);
writeU32(JOURNAL_MAGIC_BYTES, 0, JOURNAL_MAGIC);

/** The length of the record at `offset` when its head parses and the whole record passes its CRC, else -1. */
function intactRecordLength(fd: number, offset: number, size: number): number {
  const head = new Uint8Array(JOURNAL_HEAD);
  if (!readExactAt(fd, head, 0, JOURNAL_HEAD, offset)) return -1;
  const len = peekJournalRecord(head, 0);
  if (len < 0 || offset + len > size) return -1;
  const rec = new Uint8Array(len);
  if (!readExactAt(fd, rec, 0, len, offset)) return -1;
  return binding.crc32c(rec.subarray(0, len - 4), 0) === readU32(rec, len - 4) ? len : -1;
}

/** Whether the journal's bad tail is a torn write, not damage (as logTailTorn for frame logs). */
export function journalTailTorn(fd: number, scan: JournalScan): boolean {
  if (scan.reason === '') return true;
  if (scan.reason === 'order' || scan.reason === 'malformed') return false;
  const head = new Uint8Array(JOURNAL_HEAD);
  const len = readExactAt(fd, head, 0, JOURNAL_HEAD, scan.end) ? peekJournalRecord(head, 0) : -1;
  const last = nonZeroEnd(fd, scan.end, scan.size);
  return last < scan.end + (len < 0 ? JOURNAL_HEAD : len) && !intactRecordIn(fd, scan.end + 1, last, JOURNAL_MAGIC_BYTES, (at) => intactRecordLength(fd, at, scan.size) > 0);
}
