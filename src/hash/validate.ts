/**
 * Argument checks shared by the public hash APIs. The bindings below trust their arguments,
 * so everything a caller passes is checked here and turned into the exact shapes they expect;
 * failures throw the coded errors of src/errors.ts.
 */
import { constants as bufferConstants } from 'node:buffer';
import { invalidArgType, outOfRange } from '../errors.js';

/** Input bytes: a string (hashed as UTF-8) or any ArrayBufferView (hashed as its bytes). */
export type BytesLike = string | ArrayBufferView;

/** Slice offsets or lengths: a Uint32Array (used as is) or an array of numbers (converted). */
export type SliceList = Uint32Array | readonly number[];

/** Slices checked against their data, ready for a binding's `*Many` call. */
export interface CheckedSlices {
  offsets: Uint32Array;
  /** null: contiguous slices, slice i ends where slice i + 1 starts. */
  lengths: Uint32Array | null;
  /** Number of slices. */
  count: number;
}

const UINT32_MAX = 0xffffffff;

/** `value` as bytes: strings as UTF-8, any ArrayBufferView as a Uint8Array over its bytes (no copy). */
export function toBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw invalidArgType(name, 'a string, Buffer, TypedArray, or DataView', value);
}

/** Bytes only (no strings): any ArrayBufferView as a Uint8Array over its bytes. */
export function toBinary(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw invalidArgType(name, 'a Buffer, TypedArray, or DataView', value);
}

/** A non-negative safe integer (a byte count or position), at most `max`. */
export function checkLength(value: unknown, name: string, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw outOfRange(name, `an integer >= 0 and <= ${max}`, value);
  }
  return value;
}

/** A length for a new output buffer: also no more than Node can allocate. */
export function checkOutputLength(value: unknown, name: string): number {
  return checkLength(value, name, bufferConstants.MAX_LENGTH);
}

/** Throws ERR_OUT_OF_RANGE unless `out` has room for `minLength` entries. */
export function checkOutput(out: { readonly length: number }, minLength: number, name: string): void {
  if (out.length < minLength) throw outOfRange(`${name}.length`, `>= ${minLength}`, out.length);
}

/** An options bag: undefined becomes {}, anything but a plain object is rejected. */
export function checkOptions<T extends object>(value: T | undefined, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidArgType(name, 'an object', value);
  return value;
}

/** A SliceList as a Uint32Array of 32-bit unsigned integers. */
function toUint32List(value: unknown, name: string): Uint32Array {
  if (value instanceof Uint32Array) return value;
  if (!Array.isArray(value)) throw invalidArgType(name, 'a Uint32Array or an array of numbers', value);
  const list = new Uint32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number') throw invalidArgType(`${name}[${i}]`, 'of type number', v);
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw outOfRange(`${name}[${i}]`, `an integer >= 0 and <= ${UINT32_MAX}`, v);
    list[i] = v;
  }
  return list;
}

/**
 * Checks slices of `data`: slice i is `data[offsets[i], offsets[i] + lengths[i])`, or with
 * `lengths` null/undefined the contiguous `data[offsets[i], offsets[i + 1])` (n + 1 offsets
 * for n slices; an empty offsets list means no slices). Every slice must lie inside `data`.
 */
export function checkSlices(data: Uint8Array, offsets: unknown, lengths?: unknown, name = 'offsets'): CheckedSlices {
  const offs = toUint32List(offsets, name);
  const size = data.length;
  if (lengths === undefined || lengths === null) {
    const count = Math.max(0, offs.length - 1);
    for (let i = 0; i < count; i++) {
      if (offs[i + 1] < offs[i]) throw outOfRange(`${name}[${i + 1}]`, `>= ${name}[${i}] (${offs[i]})`, offs[i + 1]);
    }
    if (offs.length > 0 && offs[count] > size) throw outOfRange(`${name}[${count}]`, `<= data length (${size})`, offs[count]);
    return { offsets: offs, lengths: null, count };
  }
  const lens = toUint32List(lengths, 'lengths');
  if (lens.length !== offs.length) throw outOfRange('lengths.length', `equal to ${name}.length (${offs.length})`, lens.length);
  for (let i = 0; i < offs.length; i++) {
    const end = offs[i] + lens[i];
    if (end > size) throw outOfRange(`${name}[${i}] + lengths[${i}]`, `<= data length (${size})`, end);
  }
  return { offsets: offs, lengths: lens, count: offs.length };
}
