/**
 * The beat digest: the Merkle root of the beat's delta frame (docs/FORMAT.md) — every cell the
 * beat created, changed or deleted, anywhere in the runtime, framed from `rt.touched` — chained
 * to the previous beat's digest through the frame's previous-root field. That field also binds
 * what the beat was given, which the tree does not hold (the journal is written after the
 * digest): it is the **beat link**
 *
 *   link = keyed BLAKE3(key "CEP heartbeat v1: beat link. ...", previous digest ‖ inputs)
 *   inputs = "CEPB" | beat | unix_ts_ns (u64 LE) | impulses (byte string) | agenda (byte string)
 *            | decision count | (kind, value)*
 *
 * (varints unsigned LEB128; texts and byte strings a varint length + bytes). The first beat's
 * previous digest is 32 zero bytes. This is the one place that defines the digest; callers stay
 * on `beatDigest`.
 */
import { BLAKE3_KEYED_HASH } from '../../native/binding.js';
import { binding } from '../../native/index.js';
import { encodeTouched, touchedRoot } from '../../serialization/touched.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
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
/** 32 ASCII bytes: the beat link's key. */
export const BEAT_LINK_KEY = new TextEncoder().encode('CEP heartbeat v1: beat link.....');
const scratch = new Writer();
const LINK = new Uint8Array(32);

/** The canonical encoding of what a beat was given (time, impulses, agenda, decisions). */
export function encodeBeat(ch: BeatChanges, w: Writer = new Writer()): Writer {
  return writeInputs(ch, w.reset());
}

function writeInputs(ch: BeatChanges, w: Writer): Writer {
  for (const b of HEADER) w.u8(b);
  w.uv(ch.beat).u64(ch.unixTsNs).bytes(ch.impulses).bytes(ch.agenda);
  w.uv(ch.decisions.length);
  for (const d of ch.decisions) w.text(d.kind).text(d.value);
  return w;
}

/** The beat link into `out`: keyed BLAKE3 over the previous digest, then the beat's inputs. */
function linkInto(ch: BeatChanges, prevDigest: Uint8Array, out: Uint8Array): Uint8Array {
  const w = scratch.reset();
  for (let i = 0; i < 32; i++) w.u8(prevDigest[i]);
  binding.blake3(writeInputs(ch, w).view(), BEAT_LINK_KEY, BLAKE3_KEYED_HASH, out, 0);
  return out;
}

/** The beat link: the previous digest and this beat's inputs, as the beat frame's previous root. */
export function beatLink(ch: BeatChanges, prevDigest: Uint8Array): Uint8Array {
  return linkInto(ch, prevDigest, new Uint8Array(32));
}

/** The beat's delta frame of the whole runtime (its root is the digest). */
export function beatFrame(rt: Tree, ch: BeatChanges, prevDigest: Uint8Array): { frame: Uint8Array; root: Uint8Array } {
  return encodeTouched(rt, ch.cells, ch.beat, beatLink(ch, prevDigest));
}

/** The beat digest: the root of `beatFrame` (32 bytes). */
export function beatDigest(rt: Tree, ch: BeatChanges, prevDigest: Uint8Array): Uint8Array {
  return touchedRoot(rt, ch.cells, ch.beat, linkInto(ch, prevDigest, LINK)); // the link is copied into the frame
}
