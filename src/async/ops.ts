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
export const JOB_KINDS = { noop: JOB_NOOP, blake3: JOB_BLAKE3, crc32c: JOB_CRC32C } as const;
export type JobKind = keyof typeof JOB_KINDS;
/** Doubles per job in an executor descriptor: kind, seq, cpu budget (ns), byte budget. */
export const JOB_WIDTH = 4;
export const JOB_STATUS = ['ok', 'cancelled', 'cpu-budget', 'byte-budget', 'invalid'] as const;
export type JobStatus = (typeof JOB_STATUS)[number];
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
