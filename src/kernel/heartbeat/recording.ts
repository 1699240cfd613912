/**
 * Record and replay. A recording holds what a fresh runtime needs to redo the same beats: per
 * beat its wall-clock time and the impulses that came from outside (API calls and capture
 * hooks), and every decision in order. Impulses that enzymes, watchers and CEI emit are not
 * recorded: replay regenerates them.
 */
import { invalidArgValue, replayMismatch } from '../../errors.js';
import { JsonPayload, type StoredPayload } from './context.js';
import type { ImpulseQueue } from './queue.js';

export interface RecordedBeat {
  beat: number;
  /** Wall-clock time of the beat, Unix nanoseconds (decimal text). */
  ts: string;
  /** Outside impulses in queue order, as columns. */
  sig: string[];
  tgt: Array<string | null>;
  /** Payloads: text, bytes, `{ json }` for other JSON values, or nothing (undefined or null). */
  pay: Array<Uint8Array | string | { json: string } | null | undefined>;
  qos: number[];
}

export interface RecordedDecision {
  beat: number;
  kind: string;
  /** The decided value as JSON text. */
  value: string;
}

/** What `rt.recording()` returns and `createRuntime({ replay })` takes. */
export interface Recording {
  version: 1;
  beats: RecordedBeat[];
  decisions: RecordedDecision[];
}

export function checkRecording(r: unknown): Recording {
  const x = r as Recording;
  if (x === null || typeof x !== 'object' || x.version !== 1 || !Array.isArray(x.beats) || !Array.isArray(x.decisions)) {
    throw invalidArgValue('replay', 'not a recording from rt.recording()');
  }
  for (let i = 0; i < x.beats.length; i++) {
    const b = x.beats[i];
    if (b === null || typeof b !== 'object' || !Number.isSafeInteger(b.beat) || b.beat < 1 || (i > 0 && b.beat <= x.beats[i - 1].beat) || typeof b.ts !== 'string' || !/^\d+$/.test(b.ts) || !Array.isArray(b.sig) || b.sig.length !== b.tgt?.length || b.sig.length !== b.pay?.length || b.sig.length !== b.qos?.length) {
      throw invalidArgValue('replay', `beat entry ${i} is malformed`);
    }
    for (let k = 0; k < b.sig.length; k++) {
      const p = b.pay[k];
      const t = b.tgt[k];
      const json = p != null && typeof p === 'object' && !(p instanceof Uint8Array) && typeof (p as { json?: unknown }).json === 'string';
      if (typeof b.sig[k] !== 'string' || (t !== null && typeof t !== 'string') || (p != null && typeof p !== 'string' && !(p instanceof Uint8Array) && !json) || !Number.isInteger(b.qos[k]) || b.qos[k] < 0 || b.qos[k] > 7) {
        throw invalidArgValue('replay', `impulse ${k} of beat ${b.beat} is malformed`);
      }
    }
  }
  for (const d of x.decisions) {
    if (d === null || typeof d !== 'object' || !Number.isInteger(d.beat) || typeof d.kind !== 'string' || typeof d.value !== 'string') throw invalidArgValue('replay', 'a decision entry is malformed');
  }
  return x;
}

/** A recorded payload back in its queued form (JSON turns undefined into null). */
function stored(p: RecordedBeat['pay'][number]): StoredPayload {
  if (p === null || p === undefined) return undefined;
  if (typeof p === 'string' || p instanceof Uint8Array) return p;
  return new JsonPayload(p.json);
}

/** Keeps the recording of a live (or replaying) runtime. */
export class Recorder {
  private readonly rec: Recording = { version: 1, beats: [], decisions: [] };

  constructor(readonly on: boolean) {}

  beat(beat: number, ts: bigint, q: ImpulseQueue, from: number): void {
    if (!this.on) return;
    if (from >= q.n) {
      this.rec.beats.push({ beat, ts: ts.toString(), sig: [], tgt: [], pay: [], qos: [] });
      return;
    }
    // a JsonPayload is { json } once cloned by copy()
    this.rec.beats.push({ beat, ts: ts.toString(), sig: q.sig.slice(from, q.n), tgt: q.tgt.slice(from, q.n), pay: q.pay.slice(from, q.n), qos: q.qos.slice(from, q.n) });
  }

  decision(beat: number, kind: string, value: string): void {
    if (this.on) this.rec.decisions.push({ beat, kind, value });
  }

  copy(): Recording {
    return structuredClone(this.rec);
  }
}

/** Feeds a recording back beat by beat; once it is used up the runtime runs live. */
export class Replayer {
  private beatAt = 0;
  private decisionAt = 0;
  /** The beat now being replayed (-1: the current beat runs live). */
  private current = -1;

  constructor(private readonly rec: Recording) {}

  /** True while recorded beats remain. */
  get active(): boolean {
    return this.beatAt < this.rec.beats.length;
  }

  /** The recorded beat `n` (its impulses are appended to `q`); returns its timestamp. */
  nextBeat(n: number, q: ImpulseQueue): bigint {
    this.current = -1;
    const b = this.rec.beats[this.beatAt];
    if (b.beat !== n) throw replayMismatch(n, `the recording's next beat is ${b.beat}`);
    this.beatAt++;
    this.current = n;
    for (let i = 0; i < b.sig.length; i++) q.push(b.sig[i], b.tgt[i], stored(b.pay[i]), b.qos[i]);
    return BigInt(b.ts);
  }

  /** The next recorded decision's value, which must be of this kind at this beat. */
  decision(beat: number, kind: string): string | undefined {
    if (this.current !== beat) return undefined;
    const d = this.rec.decisions[this.decisionAt];
    if (d === undefined || d.beat > beat) throw replayMismatch(beat, `decision ${JSON.stringify(kind)} is not in the recording`);
    if (d.beat !== beat || d.kind !== kind) {
      throw replayMismatch(beat, `decision ${this.decisionAt} asked for ${JSON.stringify(kind)} at beat ${beat}; the recording holds ${JSON.stringify(d.kind)} at beat ${d.beat}`);
    }
    this.decisionAt++;
    return d.value;
  }

  /** At commit: a decision recorded for this beat that nobody asked for is a mismatch. */
  checkBeatDone(beat: number): void {
    if (this.current !== beat) return;
    this.current = -1;
    const d = this.rec.decisions[this.decisionAt];
    if (d !== undefined && d.beat <= beat) throw replayMismatch(beat, `the recording holds decision ${JSON.stringify(d.kind)} that this beat did not ask for`);
  }
}
