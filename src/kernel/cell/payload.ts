/**
 * Payload inputs and helpers. Kinds: VALUE (small bytes kept inline in the runtime's byte
 * arena), DATA (an owned Uint8Array; `take` adopts the caller's buffer without copying),
 * HANDLE and STREAM (a proxy cell whose bytes live behind an adapter).
 */
import { invalidArgType } from '../../errors.js';
import type { Cell } from './cell.js';

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

/** Payload bytes of a value argument (strings are UTF-8). */
export function toBytes(value: unknown, argName = 'value'): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return encoder.encode(value);
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
