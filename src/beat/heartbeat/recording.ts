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
    if (
      b === null ||
      typeof b !== 'object' ||
      !Number.isSafeInteger(b.beat) ||
      b.beat < 1 ||
      (i > 0 && b.beat <= x.beats[i - 1].beat) ||
      typeof b.ts !== 'string' ||
      !/^\d+$/.test(b.ts) ||
      !Array.isArray(b.sig) ||
      b.sig.length !== b.tgt?.length ||
      b.sig.length !== b.pay?.length ||
      b.sig.length !== b.qos?.length
    ) {
      throw invalidArgValue('replay', `beat entry ${i} is malformed`);
    }
    for (let k = 0; k < b.sig.length; k++) {
      const p = b.pay[k];
      const t = b.tgt[k];
      const json = p != null && typeof p === 'object' && !(p instanceof Uint8Array) && typeof (p as { json?: unknown }).json === 'string';
      if (
        typeof b.sig[k] !== 'string' ||
        (t !== null && typeof t !== 'string') ||
        (p != null && typeof p !== 'string' && !(p instanceof Uint8Array) && !json) ||
        !Number.isInteger(b.qos[k]) ||
        b.qos[k] < 0 ||
        b.qos[k] > 7
      ) {
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
 * bounded; the window replays on a runtime that ran (or replayed) the beats before it. Held in
 * columns (no object per beat, decision or impulse: what lives for the whole window is a few
 * array slots each, so a long run does not churn the old generation); `copy()` builds the
 * `Recording` objects.
 */
export class Recorder {
  // per beat: number, timestamp as two u32 halves, where its impulses start in the impulse columns
  private bBeat: number[] = [];
  private bTsHi: number[] = [];
  private bTsLo: number[] = [];
  private bImp: number[] = [];
  // per outside impulse
  private iSig: string[] = [];
  private iTgt: Array<string | null> = [];
  private iPay: StoredPayload[] = [];
  private iQos: number[] = [];
  // per decision
  private dBeat: number[] = [];
  private dKind: string[] = [];
  private dValue: string[] = [];
  /** Where the window starts in each group of columns (dropped entries are sliced off in bulk). */
  private bHead = 0;
  private iHead = 0;
  private dHead = 0;

  constructor(
    readonly on: boolean,
    readonly keep: number = RECORD_BEATS,
  ) {}

  /** Beats and decisions held now. */
  get size(): { beats: number; decisions: number } {
    return { beats: this.bBeat.length - this.bHead, decisions: this.dBeat.length - this.dHead };
  }

  beat(beat: number, ts: bigint, q: ImpulseQueue, from: number): void {
    if (!this.on) return;
    this.bBeat.push(beat);
    this.bTsHi.push(Number(ts >> 32n));
    this.bTsLo.push(Number(ts & 0xffffffffn));
    this.bImp.push(this.iSig.length);
    for (let i = from; i < q.n; i++) {
      this.iSig.push(q.sig[i]);
      this.iTgt.push(q.tgt[i]);
      this.iPay.push(q.pay[i]);
      this.iQos.push(q.qos[i]);
    }
    if (this.keep > 0 && this.bBeat.length - this.bHead > this.keep) this.dropOldest();
  }

  /** The oldest beat leaves the window with its impulses and decisions. */
  private dropOldest(): void {
    const h = ++this.bHead;
    const next = this.bBeat[h];
    this.iHead = this.bImp[h];
    while (this.dHead < this.dBeat.length && this.dBeat[this.dHead] < next) this.dHead++;
    // slice the dropped entries off once they are as many as the window: O(1) per beat amortized
    if (h >= this.keep) {
      const ih = this.iHead;
      this.bBeat = this.bBeat.slice(h);
      this.bTsHi = this.bTsHi.slice(h);
      this.bTsLo = this.bTsLo.slice(h);
      this.bImp = this.bImp.slice(h).map((x) => x - ih);
      this.iSig = this.iSig.slice(ih);
      this.iTgt = this.iTgt.slice(ih);
      this.iPay = this.iPay.slice(ih);
      this.iQos = this.iQos.slice(ih);
      this.dBeat = this.dBeat.slice(this.dHead);
      this.dKind = this.dKind.slice(this.dHead);
      this.dValue = this.dValue.slice(this.dHead);
      this.bHead = this.iHead = this.dHead = 0;
    }
  }

  decision(beat: number, kind: string, value: string): void {
    if (!this.on) return;
    this.dBeat.push(beat);
    this.dKind.push(kind);
    this.dValue.push(value);
  }

  copy(): Recording {
    const beats: RecordedBeat[] = [];
    const n = this.bBeat.length;
    for (let b = this.bHead; b < n; b++) {
      const from = this.bImp[b];
      const to = b + 1 < n ? this.bImp[b + 1] : this.iSig.length;
      const ts = (BigInt(this.bTsHi[b]) << 32n) | BigInt(this.bTsLo[b]);
      beats.push({
        beat: this.bBeat[b],
        ts: ts.toString(),
        sig: this.iSig.slice(from, to),
        tgt: this.iTgt.slice(from, to),
        pay: this.iPay.slice(from, to) as RecordedBeat['pay'],
        qos: this.iQos.slice(from, to),
      });
    }
    const decisions: RecordedDecision[] = [];
    for (let d = this.dHead; d < this.dBeat.length; d++) decisions.push({ beat: this.dBeat[d], kind: this.dKind[d], value: this.dValue[d] });
    // a JsonPayload becomes { json } in the clone
    return structuredClone({ version: 1, beats, decisions });
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
