/**
 * The store-wide commit journal (journal.log): one record per beat that wrote frames of more
 * than one branch, naming each frame (branch, length, CRC, root). A beat with a single frame
 * needs no record: its log record carries the SOLO flag and commits on its own.
 */
import { binding } from '../../native/index.js';
import { JOURNAL_HEAD, JOURNAL_MAX_RECORD, decodeJournalRecord, peekJournalRecord, readU32, type JournalRecord } from './layout.js';
import { scanRecords, type RecordShape } from './scan.js';

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
