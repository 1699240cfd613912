/**
 * The optional whole-frame deflate container (docs/FORMAT.md, "Deflate container"):
 *
 *   0  4  magic "CEPZ"            8  8  raw frame length, u64 LE
 *   4  1  container version 1    16  4  CRC32C of the compressed bytes
 *   5  1  algorithm 1 = deflate  20  4  CRC32C of bytes 0..19
 *   6  2  reserved, 0            24  .  raw deflate stream (RFC 1951) of the whole frame
 *
 * The raw length is checked against the reader's bound before anything is inflated, and the
 * inflater may not produce more than that length.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { frameError } from '../errors.js';
import { binding } from '../native/index.js';

export const CONTAINER_MAGIC = [0x43, 0x45, 0x50, 0x5a]; // "CEPZ"
export const CONTAINER_HEADER = 24;
/** Deflate level: fixed so a replay reproduces the same bytes (with the same zlib). */
export const CONTAINER_LEVEL = 6;

function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function putU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = v >>> 24;
}

/** Whether `bytes` start like a deflate container. */
export function isContainer(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x43 && bytes[1] === 0x45 && bytes[2] === 0x50 && bytes[3] === 0x5a;
}

/** Wrap a finished frame. */
export function deflateFrame(frame: Uint8Array): Uint8Array {
  return wrapDeflated(frame.length, deflateRawSync(frame, { level: CONTAINER_LEVEL }));
}

/** The container around `body`, the raw deflate stream of a frame of `rawLength` bytes. */
export function wrapDeflated(rawLength: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(CONTAINER_HEADER + body.length);
  out.set(CONTAINER_MAGIC, 0);
  out[4] = 1;
  out[5] = 1;
  putU32(out, 8, rawLength % 0x100000000);
  putU32(out, 12, Math.floor(rawLength / 0x100000000));
  out.set(body, CONTAINER_HEADER);
  putU32(out, 16, binding.crc32c(out.subarray(CONTAINER_HEADER), 0));
  putU32(out, 20, binding.crc32c(out.subarray(0, 20), 0));
  return out;
}

/** Unwrap a container into the raw frame, bounded by `maxBytes`. */
export function inflateFrame(bytes: Uint8Array, maxBytes: number): Uint8Array {
  const { raw, body } = containerBody(bytes, maxBytes);
  let frame: Uint8Array;
  try {
    frame = inflateRawSync(body, { maxOutputLength: Math.max(raw, 1) });
  } catch {
    throw notInflating();
  }
  return checkInflated(frame, raw);
}

/** Checks a container's header and CRCs; returns the announced raw length and the deflate stream. */
export function containerBody(bytes: Uint8Array, maxBytes: number): { raw: number; body: Uint8Array } {
  if (bytes.length < CONTAINER_HEADER) throw frameError('ERR_FRAME_TRUNCATED', 'the deflate container header is cut short', bytes.length);
  if (u32(bytes, 20) !== binding.crc32c(bytes.subarray(0, 20), 0)) throw frameError('ERR_FRAME_CRC', 'the deflate container header CRC32C does not match', 20);
  if (bytes[4] !== 1 || bytes[5] !== 1 || bytes[6] !== 0 || bytes[7] !== 0) throw frameError('ERR_FRAME_UNSUPPORTED', 'unknown deflate container version or algorithm', 4);
  const raw = u32(bytes, 8) + u32(bytes, 12) * 0x100000000;
  if (raw > maxBytes) throw frameError('ERR_FRAME_TOO_LARGE', `the frame inflates to ${raw} bytes, more than the ${maxBytes} allowed`, 8);
  const body = bytes.subarray(CONTAINER_HEADER);
  if (u32(bytes, 16) !== binding.crc32c(body, 0)) throw frameError('ERR_FRAME_CRC', 'the compressed bytes do not match their CRC32C', 16);
  return { raw, body };
}

export function notInflating(): Error {
  return frameError('ERR_FRAME_MALFORMED', 'the compressed bytes do not inflate to the announced length', CONTAINER_HEADER);
}

/** The inflated frame, as a plain Uint8Array, once its length matches the announced one. */
export function checkInflated(frame: Uint8Array, raw: number): Uint8Array {
  if (frame.length !== raw) throw notInflating();
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.length);
}
