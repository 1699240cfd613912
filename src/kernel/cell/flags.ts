/**
 * Cell flag bits (one small integer per cell) and the visibility rule shared by cells and
 * stores. Layout (bit 0 is the lowest):
 *
 *   0-1   type: 0 normal, 1 link, 2 proxy
 *   2-4   payload kind: 0 none, 1 VALUE, 2 DATA, 3 HANDLE, 4 STREAM (5 = link target, history only)
 *   5     veiled          6  immutable       7  store lock      8  data lock
 *   9     shadowed (is a link target)       10  target dead (tombstoned link)
 *   11    detached (hard-deleted, finalized)
 *   12    cold payload    13  cold store (cold cells: kernel/cold.ts)
 *   16-27 VALUE length in bytes (0..4095)
 */
import { outOfRange } from '../../errors.js';

export const TYPE_MASK = 3;
export const TYPE_NORMAL = 0;
export const TYPE_LINK = 1;
export const TYPE_PROXY = 2;

export const PK_SHIFT = 2;
export const PK_MASK = 7 << PK_SHIFT;
export const PK_NONE = 0;
export const PK_VALUE = 1;
export const PK_DATA = 2;
export const PK_HANDLE = 3;
export const PK_STREAM = 4;
export const PK_LINK = 5;

export const VEILED = 1 << 5;
export const IMMUTABLE = 1 << 6;
export const STORE_LOCK = 1 << 7;
export const DATA_LOCK = 1 << 8;
export const SHADOWED = 1 << 9;
export const TARGET_DEAD = 1 << 10;
export const DETACHED = 1 << 11;
/** Cold: the payload (and its history) is not in memory yet; `pv` holds the loader's token. */
export const COLD_PAYLOAD = 1 << 12;
/** Cold: the child store is not in memory yet. */
export const COLD_STORE = 1 << 13;
export const COLD = COLD_PAYLOAD | COLD_STORE;

export const LEN_SHIFT = 16;
export const LEN_MASK = 0xfff << LEN_SHIFT;
/** Largest VALUE payload (bytes); larger payloads are DATA. */
export const VALUE_MAX = 0xfff;
/** Payloads up to this size default to VALUE (inline, in the arena); larger ones to DATA. */
export const VALUE_INLINE_DEFAULT = 64;

export const PAYLOAD_BITS = PK_MASK | LEN_MASK;

/** Visibility modes for store lookups: a beat (>= 0), or one of these. */
export const SEE_NOW = -1;
/** Not deleted (veiled included): for uniqueness checks. */
export const SEE_ALIVE = -2;
/** Everything stored (deleted and veiled included). */
export const SEE_RAW = -3;

export interface VisibleFields {
  flags: number;
  created: number;
  deleted: number;
}

/** Whether a stored child is seen in `mode` (a beat, SEE_NOW, SEE_ALIVE or SEE_RAW). */
export function seen(c: VisibleFields, mode: number): boolean {
  if (mode === SEE_NOW) return c.deleted < 0 && (c.flags & VEILED) === 0;
  if (mode >= 0) return (c.flags & VEILED) === 0 && c.created <= mode && (c.deleted < 0 || c.deleted > mode);
  if (mode === SEE_ALIVE) return c.deleted < 0;
  return true;
}

/**
 * An as-of beat: an integer from 0 to `now` (the runtime's current beat), else ERR_OUT_OF_RANGE.
 * A beat not reached yet has no state to read: refused rather than read as "now".
 */
export function checkBeat(beat: unknown, now: number, name = 'beat'): number {
  if (typeof beat !== 'number' || !Number.isSafeInteger(beat) || beat < 0) throw outOfRange(name, 'an integer from 0 to 2^53-1', beat);
  if (beat > now) throw outOfRange(name, `a beat already reached (at most the current beat, ${now})`, beat);
  return beat;
}
