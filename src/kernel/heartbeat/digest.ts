/**
 * The beat digest: BLAKE3 over a canonical encoding of what one beat changed. This is the one
 * place that defines the encoding; flat frames later replace it (keep callers on `beatDigest`).
 *
 * Encoding (varints are unsigned LEB128; texts and byte strings are a varint length + bytes):
 *   "CEPB" | beat | unix_ts_ns (u64 LE) | impulses (byte string) | agenda (byte string)
 *   | decision count | (kind, value)*  | cell count | cell*
 * cells are the distinct cells the beat touched, sorted by path (UTF-16 code unit order), each
 *   path | created+1 | deleted+1 | modified+1 | children stored | payload
 * payload: 0 none | 1 bytes (value or data) | 2 link target path | 3 proxy (resource not hashed)
 *   | 4 deleted (the payload is history)
 * A cell removed for good during the beat is left out (its parent's entry shows the removal).
 */
import { blake3 } from '../../hash/blake3.js';
import type { Cell } from '../cell/cell.js';
import { Writer } from './encode.js';

/** What a beat changed; handed to commit hooks (`rt.onCommit`). */
export interface BeatChanges {
  beat: number;
  /** Wall-clock time of the beat (recorded), Unix nanoseconds. */
  unixTsNs: bigint;
  /** Impulses the beat ran, in the journal encoding (`decodeImpulses`). */
  impulses: Uint8Array;
  /** The agenda that ran, in the journal encoding (`decodeAgenda`). */
  agenda: Uint8Array;
  /** Decisions taken during the beat, in order. */
  decisions: ReadonlyArray<{ kind: string; value: string }>;
  /** Distinct cells the beat changed, in first-change order. */
  cells: readonly Cell[];
}

const HEADER = [0x43, 0x45, 0x50, 0x42];
const scratch = new Writer();

function encodeCell(w: Writer, path: string, c: Cell): void {
  w.text(path);
  w.uv(c.created + 1).uv(c.deleted + 1).uv(c.modified + 1).uv(c.store === null ? 0 : c.store.total);
  if (c.deleted >= 0) {
    w.u8(4); // deleted: the payload is history
    return;
  }
  const k = c.payloadKind;
  if (k === 'value' || k === 'data') w.u8(1).bytes(c.peek()!);
  else if (k === 'link') {
    const t = c.target;
    w.u8(2).text(t === undefined ? '' : t.path);
  } else if (k === 'handle' || k === 'stream') w.u8(3);
  else w.u8(0);
}

/** The canonical encoding of a beat's changes. */
export function encodeBeat(ch: BeatChanges, w: Writer = new Writer()): Writer {
  w.reset();
  for (const b of HEADER) w.u8(b);
  w.uv(ch.beat).u64(ch.unixTsNs).bytes(ch.impulses).bytes(ch.agenda);
  w.uv(ch.decisions.length);
  for (const d of ch.decisions) w.text(d.kind).text(d.value);
  const live: Array<[string, Cell]> = [];
  for (const c of ch.cells) if (!c.isFinalized) live.push([c.path, c]);
  live.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  w.uv(live.length);
  for (const [path, c] of live) encodeCell(w, path, c);
  return w;
}

/** BLAKE3 (32 bytes) of the canonical encoding of a beat's changes. */
export function beatDigest(ch: BeatChanges): Uint8Array {
  return blake3(encodeBeat(ch, scratch).view());
}
