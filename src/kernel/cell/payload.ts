/**
 * Payload inputs and helpers. Kinds: VALUE (small bytes kept inline in the runtime's byte
 * arena), DATA (an owned Uint8Array; `take` adopts the caller's buffer without copying),
 * HANDLE and STREAM (a proxy cell whose bytes live behind an adapter).
 */
import { invalidArgType } from '../../errors.js';
import type { Tree } from '../tree.js';
import type { Cell } from './cell.js';
import { LEN_MASK, LEN_SHIFT, PK_DATA, PK_MASK, PK_SHIFT, PK_VALUE } from './flags.js';

/**
 * Adapter behind a HANDLE or STREAM proxy cell. Every hook is optional; a missing hook makes
 * the matching cell operation fail with ERR_PROXY.
 */
export interface ProxyAdapter {
  /** Called once when the proxy cell is created. */
  retain?(cell: Cell): void;
  /** Called once when the proxy cell is finalized (hard delete). */
  release?(cell: Cell): void;
  /** Bytes that capture the resource's state (serialization, cloning). */
  snapshot?(cell: Cell): Uint8Array;
  /** Bring the resource back to a snapshot. */
  restore?(cell: Cell, bytes: Uint8Array): void;
  /** STREAM/HANDLE windowed read. */
  read?(cell: Cell, offset: number, length: number): Uint8Array;
  /** STREAM/HANDLE windowed write; returns bytes written. */
  write?(cell: Cell, offset: number, bytes: Uint8Array): number;
}

const encoder = new TextEncoder();

/** Strings up to this length are tried as ASCII first (state tags, names: no encoder call). */
const ASCII_TRY = 64;

/** The bytes of a short ASCII string, or undefined when it is not ASCII. */
function asciiBytes(s: string): Uint8Array | undefined {
  const n = s.length;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return undefined;
    b[i] = c;
  }
  return b;
}

/** Payload bytes of a value argument (strings are UTF-8). */
export function toBytes(value: unknown, argName = 'value'): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return (value.length <= ASCII_TRY ? asciiBytes(value) : undefined) ?? encoder.encode(value);
  throw invalidArgType(argName, 'a Uint8Array or a string', value);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** FNV-1a (32-bit, unsigned) of payload bytes: the key of 'hash' indexing. */
export function payloadHash(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Payload kind (PK_*) of cell flags or a history entry's meta. */
export function kindOf(meta: number): number {
  return (meta & PK_MASK) >>> PK_SHIFT;
}

/** VALUE length of cell flags or a history entry's meta. */
export function lenOf(meta: number): number {
  return (meta & LEN_MASK) >>> LEN_SHIFT;
}

/** The bytes of a VALUE or DATA payload (a copy, or a view when `copy` is false); else undefined. */
export function bytesOf(rt: Tree, meta: number, pv: unknown, copy: boolean): Uint8Array | undefined {
  const kind = kindOf(meta);
  if (kind === PK_VALUE) return copy ? rt.arena.copy(pv as number, lenOf(meta)) : rt.arena.view(pv as number, lenOf(meta));
  if (kind === PK_DATA) return copy ? (pv as Uint8Array).slice() : (pv as Uint8Array);
  return undefined;
}

/** Free a history chain, counting its VALUE bytes as arena garbage. */
export function dropHistory(rt: Tree, head: number): void {
  const h = rt.history;
  for (let e = head; e >= 0; e = h.prev[e]) if (kindOf(h.meta[e]) === PK_VALUE) rt.arena.free(lenOf(h.meta[e]));
  h.freeChain(head);
}
