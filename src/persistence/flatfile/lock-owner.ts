/**
 * Who holds (or is taking) a store's lock, and whether that process is still alive
 * (docs/flatfile.md: "One engine per folder"). An identity names a process in a way a pid
 * alone cannot: pid + start time + pid namespace + boot, plus a random nonce per open. The
 * verdict on another identity is 'dead' only when that is proven, so a claim is never taken
 * from a live owner:
 *  - same boot and same pid namespace: /proc/<pid> missing, or started at another time (a
 *    reused pid, a restarted container's PID 1), is dead; the same start time is alive;
 *  - another boot: dead (every process of that boot is gone);
 *  - anything else (another pid namespace: another container on this machine): ask the
 *    owner's liveness socket, `LOCK.live.<nonce>`, which it listens on while it holds or takes
 *    the lock. The kernel refuses connections once the listener is gone (ECONNREFUSED: dead),
 *    in any pid namespace; an answer that is neither is 'unknown' and the caller refuses.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { storeError } from '../../errors.js';
import { LOCK_FILE } from './layout.js';

export interface OwnerIdentity {
  /** Random, unique per open: names this open's files (card, claim, liveness socket). */
  nonce: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); null without /proc. */
  start: string | null;
  /** readlink /proc/self/ns/pid, e.g. 'pid:[4026531836]'; null without /proc. */
  pidns: string | null;
  /** /proc/sys/kernel/random/boot_id; null without it. */
  boot: string | null;
  /** 'native' owners also hold the kernel's flock on LOCK. */
  mode: 'native' | 'fallback';
  host: string;
}

export type Verdict = 'alive' | 'dead' | 'unknown';

/** Field 22 (start time) of /proc/<pid>/stat, or null when there is no such process (or no /proc). */
export function startTime(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from its closing ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function readOr(read: () => string): string | null {
  try {
    return read().trim();
  } catch {
    return null;
  }
}

let self: Omit<OwnerIdentity, 'nonce' | 'mode'> | undefined;

/** This process's identity for one open (a fresh nonce each call). */
export function ownIdentity(mode: OwnerIdentity['mode']): OwnerIdentity {
  self ??= {
    pid: process.pid,
    start: startTime('self'),
    pidns: readOr(() => fs.readlinkSync('/proc/self/ns/pid')),
    boot: readOr(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    host: os.hostname(),
  };
  return { nonce: crypto.randomBytes(12).toString('hex'), mode, ...self };
}

/**
 * The text of an identity file: the pid alone on the first line (what older versions of this
 * package read from LOCK), then the identity as JSON.
 */
export function encodeIdentity(id: OwnerIdentity): string {
  return `${id.pid}\n${JSON.stringify(id)}\n`;
}

/** The identity in `file`; null when the file is gone; ERR_STORE_LOCKED when it is not one. */
export function readIdentity(file: string): OwnerIdentity | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storeError('ERR_STORE_IO', `cannot read ${file}: ${(e as Error).message}`, e);
  }
  try {
    const id = JSON.parse(text.slice(text.indexOf('\n') + 1)) as OwnerIdentity;
    if (typeof id.nonce === 'string' && /^[0-9a-f]+$/.test(id.nonce) && Number.isSafeInteger(id.pid)) return id;
  } catch {
    // not JSON: reported below
  }
  throw storeError('ERR_STORE_LOCKED', `${file} does not name a lock owner; if no process uses the store, delete it`);
}

/**
 * Whether the process of `id` is alive. `holdsFlock`: the caller holds the kernel lock on LOCK,
 * which every native owner holds for as long as any of its lock files exist, so a native
 * identity is then dead.
 */
export function verdictOn(dir: string, id: OwnerIdentity, mine: OwnerIdentity, holdsFlock: boolean): Verdict {
  if (id.nonce === mine.nonce) return 'alive';
  if (holdsFlock && id.mode === 'native') return 'dead';
  if (id.boot !== null && mine.boot !== null && id.boot !== mine.boot) return 'dead';
  if (id.pidns !== null && id.pidns === mine.pidns && id.start !== null) return startTime(id.pid) === id.start ? 'alive' : 'dead';
  return probeLiveness(dir, id.nonce);
}

/** The liveness socket of the open named `nonce`. */
export function livenessName(nonce: string): string {
  return `${LOCK_FILE}.live.${nonce}`;
}

// A socket path is at most ~107 bytes: reach the store folder through a descriptor of it.
const viaFd = fs.existsSync('/proc/self/fd');

function socketPath(dir: string, dirFd: number, nonce: string): string {
  return viaFd ? `/proc/self/fd/${dirFd}/${livenessName(nonce)}` : path.join(dir, livenessName(nonce));
}

/** The socket this open listens on while it holds or takes the lock: proof that it is alive. */
export class LivenessSocket {
  readonly #server: net.Server;
  readonly #dirFd: number;
  readonly #file: string;

  constructor(dir: string, nonce: string) {
    this.#file = path.join(dir, livenessName(nonce));
    this.#dirFd = fs.openSync(dir, 'r');
    this.#server = net.createServer((conn) => conn.destroy());
    this.#server.on('error', () => undefined); // listen reports its failure below, synchronously
    this.#server.listen(socketPath(dir, this.#dirFd, nonce));
    this.#server.unref();
    if (!this.#server.listening) {
      this.close();
      throw storeError('ERR_STORE_IO', `cannot listen on ${this.#file}`);
    }
  }

  close(): void {
    this.#server.close();
    fs.rmSync(this.#file, { force: true });
    fs.closeSync(this.#dirFd);
  }
}

// Connects to a liveness socket on a worker thread while this thread waits: Node has no
// synchronous connect, and opening a store is synchronous. 1 = connected (alive), 2 = refused
// or gone (dead), 3 = anything else.
const PROBE = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const answer = (v) => { Atomics.store(flag, 0, v); Atomics.notify(flag, 0); };
const s = require('node:net').connect(workerData.path);
s.on('connect', () => { answer(1); s.destroy(); });
s.on('error', (e) => answer(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 2 : e.code === 'EAGAIN' ? 1 : 3));
`;
const PROBE_WAIT_MS = 5000;

export function probeLiveness(dir: string, nonce: string): Verdict {
  const dirFd = fs.openSync(dir, 'r');
  try {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(PROBE, { eval: true, workerData: { path: socketPath(dir, dirFd, nonce), flag: flag.buffer } });
    worker.unref();
    Atomics.wait(flag, 0, 0, PROBE_WAIT_MS);
    void worker.terminate();
    const answer = Atomics.load(flag, 0);
    return answer === 1 ? 'alive' : answer === 2 ? 'dead' : 'unknown';
  } finally {
    fs.closeSync(dirFd);
  }
}
