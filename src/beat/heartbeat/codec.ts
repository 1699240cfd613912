/**
 * The journal encoding of a beat's impulses and agenda (`/rt/beat/<n>/impulses`, `agenda`).
 * Texts repeat a lot (the same signal or target for many impulses), so texts are interned in
 * three tables (signals, targets, enzyme names): a reference is a varint, 0 followed by the
 * text for a first use, else the text's index in its table + 1.
 *
 * impulses: count, then per impulse
 *   u8 head (bit 0: has target; bits 1-2: payload 0 none, 1 text, 2 bytes, 3 other JSON value
 *   (its JSON text); bits 3-5: QoS bits)
 *   | signal ref | target ref (if present) | payload (text or byte string, if present)
 * agenda: until the end, per enzyme run
 *   impulse index | enzyme name ref | result (0 ok, 1 retry, 2 fatal, 3 parked, 4 dropped)
 * A parked or dropped impulse (runtime paused) has one entry with an empty enzyme name.
 */
import { invalidArgValue } from '../../errors.js';
import { JsonPayload, type ImpulsePayload, type StoredPayload } from './context.js';
import { TextTable, Writer } from './encode.js';
import type { TargetInfo } from './targets.js';

export const R_OK = 0;
export const R_RETRY = 1;
export const R_FATAL = 2;
export const R_PARKED = 3;
export const R_DROPPED = 4;
const RESULT_NAMES = ['ok', 'retry', 'fatal', 'parked', 'dropped'] as const;
export type AgendaResult = (typeof RESULT_NAMES)[number];

export class BeatCodec {
  readonly impulses = new Writer();
  readonly agenda = new Writer();
  private readonly sigTexts = new TextTable();
  private readonly tgtTexts = new TextTable();
  private readonly agTexts = new TextTable();

  /** Counts beats: target ids cached in a TargetInfo are valid for one epoch. */
  private epoch = 0;

  begin(count: number): void {
    this.epoch++;
    this.impulses.reset().uv(count);
    this.agenda.reset();
    this.sigTexts.reset();
    this.tgtTexts.reset();
    this.agTexts.reset();
  }

  /** Encode one impulse; `info` (the target's cache entry) saves the target table's lookup. */
  impulse(s: string, t: string | null, p: StoredPayload, qos: number, info?: TargetInfo): void {
    const w = this.impulses;
    const pk = p === undefined ? 0 : typeof p === 'string' ? 1 : p instanceof JsonPayload ? 3 : 2;
    w.u8((t === null ? 0 : 1) | (pk << 1) | ((qos & 7) << 3));
    this.sigTexts.write(w, s);
    if (t !== null) {
      if (info === undefined) this.tgtTexts.write(w, t);
      else if (info.epoch === this.epoch) w.uv(info.id + 1);
      else {
        info.id = this.tgtTexts.write(w, t);
        info.epoch = this.epoch;
      }
    }
    if (pk === 1) w.text(p as string);
    else if (pk === 2) w.bytes(p as Uint8Array);
    else if (pk === 3) w.text((p as JsonPayload).json);
  }

  ran(index: number, enzyme: string, result: number): void {
    this.agenda.uv(index);
    this.agTexts.write(this.agenda, enzyme);
    this.agenda.u8(result);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  at = 0;
  constructor(private readonly b: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.b.length;
  }

  u8(): number {
    if (this.at >= this.b.length) throw invalidArgValue('journal', 'truncated');
    return this.b[this.at++];
  }

  uv(): number {
    let v = 0;
    let m = 1;
    for (let i = 0; i < 8; i++) {
      const x = this.u8();
      v += (x & 0x7f) * m;
      if (x < 0x80) return v;
      m *= 0x80;
    }
    throw invalidArgValue('journal', 'varint too long');
  }

  bytes(): Uint8Array {
    const n = this.uv();
    if (this.at + n > this.b.length) throw invalidArgValue('journal', 'truncated');
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  text(): string {
    return utf8.decode(this.bytes());
  }

  ref(table: string[]): string {
    const id = this.uv();
    if (id === 0) {
      const s = this.text();
      table.push(s);
      return s;
    }
    if (id > table.length) throw invalidArgValue('journal', 'bad text reference');
    return table[id - 1];
  }
}

export interface JournalImpulse {
  signal: string;
  target: string | null;
  payload: ImpulsePayload;
  qos: number;
}

/** Decode a beat's `impulses` section. */
export function decodeImpulses(bytes: Uint8Array): JournalImpulse[] {
  const r = new Reader(bytes);
  const sigs: string[] = [];
  const tgts: string[] = [];
  const n = r.uv();
  const out: JournalImpulse[] = [];
  for (let i = 0; i < n; i++) {
    const h = r.u8();
    const signal = r.ref(sigs);
    const target = (h & 1) !== 0 ? r.ref(tgts) : null;
    const pk = (h >>> 1) & 3;
    const payload = pk === 1 ? r.text() : pk === 2 ? r.bytes() : pk === 3 ? (JSON.parse(r.text()) as ImpulsePayload) : undefined;
    out.push({ signal, target, payload, qos: (h >>> 3) & 7 });
  }
  return out;
}

/** Decode a beat's `agenda` section. */
export function decodeAgenda(bytes: Uint8Array): Array<{ impulse: number; enzyme: string; result: AgendaResult }> {
  const r = new Reader(bytes);
  const texts: string[] = [];
  const out: Array<{ impulse: number; enzyme: string; result: AgendaResult }> = [];
  while (!r.done) {
    const impulse = r.uv();
    const enzyme = r.ref(texts);
    const code = r.u8();
    if (code >= RESULT_NAMES.length) throw invalidArgValue('journal', `bad result code ${code}`);
    out.push({ impulse, enzyme, result: RESULT_NAMES[code] });
  }
  return out;
}
