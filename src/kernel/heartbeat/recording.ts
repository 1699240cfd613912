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

/** Default recording window (beats): the same window as `digestBeats`. */
export const RECORD_BEATS = 65_536;

/**
 * Keeps the recording of a live (or replaying) runtime: a window of the newest `keep` beats
 * (0: every beat). Beats that fall out of the window leave with their decisions, so memory stays
 * bounded; the window replays on a runtime that ran (or replayed) the beats before it.
 */
export class Recorder {
  private beats: RecordedBeat[] = [];
  private decisions: RecordedDecision[] = [];
  /** Index of the window's first beat / decision in the arrays (dropped entries are spliced off in bulk). */
  private head = 0;
  private dhead = 0;

  constructor(
    readonly on: boolean,
    readonly keep: number = RECORD_BEATS,
  ) {}

  /** Beats and decisions held now. */
  get size(): { beats: number; decisions: number } {
    return { beats: this.beats.length - this.head, decisions: this.decisions.length - this.dhead };
  }

  beat(beat: number, ts: bigint, q: ImpulseQueue, from: number): void {
    if (!this.on) return;
    if (from >= q.n) this.beats.push({ beat, ts: ts.toString(), sig: [], tgt: [], pay: [], qos: [] });
    // a JsonPayload is { json } once cloned by copy()
    else this.beats.push({ beat, ts: ts.toString(), sig: q.sig.slice(from, q.n), tgt: q.tgt.slice(from, q.n), pay: q.pay.slice(from, q.n), qos: q.qos.slice(from, q.n) });
    if (this.keep > 0 && this.beats.length - this.head > this.keep) this.dropOldest();
  }

  /** The oldest beat leaves the window with its decisions. */
  private dropOldest(): void {
    const next = this.beats[++this.head].beat;
    const d = this.decisions;
    while (this.dhead < d.length && d[this.dhead].beat < next) this.dhead++;
    // splice the dropped entries off once they are as many as the window: O(1) per beat amortized
    if (this.head >= this.keep) {
      this.beats = this.beats.slice(this.head);
      this.head = 0;
    }
    if (this.dhead > 1024 && this.dhead * 2 > d.length) {
      this.decisions = d.slice(this.dhead);
      this.dhead = 0;
    }
  }

  decision(beat: number, kind: string, value: string): void {
    if (this.on) this.decisions.push({ beat, kind, value });
  }

  copy(): Recording {
    return structuredClone({ version: 1, beats: this.beats.slice(this.head), decisions: this.decisions.slice(this.dhead) });
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
