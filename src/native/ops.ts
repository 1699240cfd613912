/**
 * Numbers shared with the native reactor and executor (native/reactor/op.h,
 * native/executor/executor.h): op codes, step (fault) classes, completion flags, job kinds and
 * statuses, and the layout of the descriptor arrays that carry batches across the seam.
 */
import { constants } from 'node:os';

export const OP_NOP = 0;
export const OP_OPEN = 1;
export const OP_READ = 2;
export const OP_WRITE = 3;
export const OP_FSYNC = 4;
export const OP_CLOSE = 5;
export const OP_WRITE_SYNC = 6;
export const OP_LISTEN = 7;
export const OP_ACCEPT = 8;
export const OP_CONNECT = 9;
export const OP_SEND_FRAME = 10;
export const OP_RECV_FRAME = 11;

export const OP_NAMES = ['nop', 'open', 'read', 'write', 'fsync', 'close', 'writeSync', 'listen', 'accept', 'connect', 'sendFrame', 'recvFrame'] as const;
export type OpName = (typeof OP_NAMES)[number];

/** Primitive steps, also the classes a fault can be injected into. */
export const STEPS = { open: 2, read: 3, write: 4, fsync: 5, close: 6, listen: 7, accept: 8, connect: 9, send: 10, recv: 11 } as const;
export type FaultStep = keyof typeof STEPS;

/** Completion flag: the peer closed cleanly at a frame boundary. */
export const COMPLETION_EOF = 1;

/** Doubles per op in a submission descriptor: code, seq, fd, offset, arg, arg2. */
export const DESC_WIDTH = 6;
/** arg2 of listen/connect: the address family. */
export const FAMILY_TCP = 0;
export const FAMILY_UNIX = 1;

export const JOB_NOOP = 0;
export const JOB_BLAKE3 = 1;
export const JOB_CRC32C = 2;
export const JOB_DEFLATE = 3;
export const JOB_INFLATE = 4;
export const JOB_AEAD_SEAL = 5;
export const JOB_AEAD_OPEN = 6;
export const JOB_KINDS = {
  noop: JOB_NOOP,
  blake3: JOB_BLAKE3,
  crc32c: JOB_CRC32C,
  deflate: JOB_DEFLATE,
  inflate: JOB_INFLATE,
  'aead-seal': JOB_AEAD_SEAL,
  'aead-open': JOB_AEAD_OPEN,
} as const;
export type JobKind = keyof typeof JOB_KINDS;
/** Doubles per job in an executor descriptor: kind, seq, cpu budget (ns), byte budget, param, most output bytes. */
export const JOB_WIDTH = 6;
/** 'failed': the input itself is bad (a corrupt deflate stream, an AEAD tag that does not verify). */
export const JOB_STATUS = ['ok', 'cancelled', 'cpu-budget', 'byte-budget', 'invalid', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUS)[number];
export const ST_OK = 0;
export const ST_CANCELLED = 1;
export const ST_CPU_BUDGET = 2;
export const ST_BYTE_BUDGET = 3;
export const ST_INVALID = 4;
export const ST_FAILED = 5;
/** Deflate framings (param bits 4..5; the level + 1 is bits 0..3). */
export const DEFLATE_FORMATS = { zlib: 0, raw: 1, gzip: 2 } as const;
export type DeflateFormat = keyof typeof DEFLATE_FORMATS;
/** AEAD ciphers (param) and their nonce sizes. */
export const AEAD_CIPHERS = { 'chacha20-poly1305': 0, 'xchacha20-poly1305': 1 } as const;
export type JobCipher = keyof typeof AEAD_CIPHERS;
export const AEAD_NONCE_BYTES = [12, 24] as const;
export const AEAD_KEY_BYTES = 32;
export const AEAD_TAG = 16;
/** Cancellation and budgets are checked between chunks of this size. */
export const JOB_CHUNK = 64 * 1024;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** 'ENOENT' for 2 (or -2); 'E<n>' for numbers this platform does not name. */
export function errnoName(n: number): string {
  return errnoNames.get(Math.abs(n)) ?? `E${Math.abs(n)}`;
}

/** The errno number of a name ('ENOSPC' -> 28), or undefined. */
export function errnoNumber(name: string): number | undefined {
  return (constants.errno as Record<string, number>)[name];
}
