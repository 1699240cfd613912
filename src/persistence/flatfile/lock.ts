/**
 * The store's lock: one engine per store directory, across processes, pid namespaces and
 * modes (docs/flatfile.md: "One engine per folder"). Files, all named LOCK*:
 *  - `LOCK`: native owners hold the kernel's flock on it (the kernel drops it when the owner
 *    dies); never unlinked. The owner writes its identity into it for people to read.
 *  - `LOCK.id.<nonce>`: the identity card of an open in progress or held (lock-owner.ts).
 *  - `LOCK.owner`: the claim, a hard link of the owner's card. link() is exclusive, so one
 *    claim exists at a time; every open, native or fallback, must make it.
 *  - `LOCK.reap.<dead nonce>.<g>`: "I am removing the dead claim <nonce>" (a link of the
 *    reaper's card); generation g+1 may be taken only when the holder of g is proven dead.
 *  - `LOCK.live.<nonce>`: the liveness socket of an open (lock-owner.ts).
 * A dead owner's claim is removed only by the one live reaper of that nonce, and only while
 * `LOCK.owner` still names it: no interleaving removes a live claim, so no two owners.
 */
import fs from 'node:fs';
import path from 'node:path';
import { storeError } from '../../errors.js';
import { LOCK_HELD, LOCK_UNAVAILABLE } from '../../native/binding.js';
import { binding } from '../../native/index.js';
import { LOCK_FILE } from './layout.js';
import { encodeIdentity, LivenessSocket, livenessName, ownIdentity, probeLiveness, readIdentity, verdictOn, type OwnerIdentity, type Verdict } from './lock-owner.js';

const CLAIM = `${LOCK_FILE}.owner`;
const cardName = (nonce: string): string => `${LOCK_FILE}.id.${nonce}`;
const markerName = (nonce: string, generation: number): string => `${LOCK_FILE}.reap.${nonce}.${generation}`;
/** Claim attempts per open; each failed one removed a dead claim, so this is never reached in practice. */
const ATTEMPTS = 16;
/** Reaper generations per dead claim; each step needs a reaper that died mid-way. */
const GENERATIONS = 64;

interface Opening {
  dir: string;
  me: OwnerIdentity;
  card: string;
  holdsFlock: boolean;
}

function locked(reason: string): Error {
  return storeError('ERR_STORE_LOCKED', reason);
}

function io(what: string, e: unknown): Error {
  return storeError('ERR_STORE_IO', `${what}: ${(e as Error).message}`, e);
}

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

function removeFile(file: string): void {
  fs.rmSync(file, { force: true });
}

function judge(o: Opening, id: OwnerIdentity): Verdict {
  return verdictOn(o.dir, id, o.me, o.holdsFlock);
}

function refuse(o: Opening, id: OwnerIdentity, verdict: Verdict, what: string): Error {
  if (verdict === 'alive') return locked(`the store ${o.dir} is ${what} process ${id.pid}${id.pid === process.pid && id.start === o.me.start ? ' (this one)' : ''} on ${id.host}`);
  return locked(
    `the store ${o.dir} is ${what} process ${id.pid} of another pid namespace (${id.pidns ?? 'unknown'}) on ${id.host}, which cannot be checked from here; ` +
      `if no process uses the store any more, delete ${path.join(o.dir, CLAIM)}`,
  );
}

/** Takes the lock of `dir`; returns the function that releases it. */
export function acquireLock(dir: string): () => void {
  const flockFd = binding.lockFile(path.join(dir, LOCK_FILE));
  if (flockFd === LOCK_HELD) throw locked(`the store ${dir} is open in ${heldBy(dir)} (it holds the kernel lock on ${path.join(dir, LOCK_FILE)})`);
  const holdsFlock = flockFd !== LOCK_UNAVAILABLE;
  const me = ownIdentity(holdsFlock ? 'native' : 'fallback');
  const o: Opening = { dir, me, card: path.join(dir, cardName(me.nonce)), holdsFlock };
  let liveness: LivenessSocket | undefined;
  let claimed = false;
  try {
    // the socket exists whenever the card (or a claim or marker made from it) does: an
    // identity whose socket is gone has finished
    liveness = new LivenessSocket(dir, me.nonce);
    fs.writeFileSync(o.card, encodeIdentity(me), { flag: 'wx' });
    claim(o);
    claimed = true;
    checkOlderVersion(o);
    writeDiagnostics(o, encodeIdentity(me));
    sweep(o);
  } catch (e) {
    if (claimed) unclaim(o);
    removeFile(o.card);
    liveness?.close();
    if (holdsFlock) fs.closeSync(flockFd);
    throw e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_') ? e : io(`cannot take the lock of ${dir}`, e);
  }
  const ownSocket = liveness;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      writeDiagnostics(o, '');
    } catch {
      // only for people to read: the claim below is what counts
    }
    unclaim(o);
    removeFile(o.card);
    ownSocket.close();
    if (holdsFlock) fs.closeSync(flockFd); // last: a native claim exists only under the kernel lock
  };
}

/** Who LOCK says holds it, for messages. */
function heldBy(dir: string): string {
  try {
    const id = readIdentity(path.join(dir, LOCK_FILE));
    if (id !== null) return `process ${id.pid}${id.pid === process.pid && id.start === ownIdentity('native').start ? ' (this one)' : ''} on ${id.host}`;
  } catch {
    // written by an older version, or being written: no name to give
  }
  return 'another engine';
}

/** Links our card into place as the claim, removing dead owners' claims on the way. */
function claim(o: Opening): void {
  const claimFile = path.join(o.dir, CLAIM);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      fs.linkSync(o.card, claimFile);
      return;
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') throw io(`cannot create ${claimFile}`, e);
    }
    const holder = readIdentity(claimFile);
    if (holder === null) continue; // released meanwhile
    const verdict = judge(o, holder);
    if (verdict !== 'dead') throw refuse(o, holder, verdict, 'open in');
    reap(o, holder);
  }
  throw locked(`the store ${o.dir} is being opened by other processes`);
}

/**
 * Removes the claim of the dead `owner` if `LOCK.owner` still names it. Only the holder of a
 * reap marker for that nonce does it, and markers are taken with link() (exclusive): while the
 * dead claim is in place, one live reaper at most acts on it, and nothing else can replace it,
 * so reading it and unlinking it cannot be split by another reaper's unlink.
 */
function reap(o: Opening, owner: OwnerIdentity): void {
  const claimFile = path.join(o.dir, CLAIM);
  for (let g = 0; g < GENERATIONS; g++) {
    const marker = path.join(o.dir, markerName(owner.nonce, g));
    try {
      fs.linkSync(o.card, marker);
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') throw io(`cannot create ${marker}`, e);
      const reaper = readIdentity(marker);
      if (reaper === null) return; // that reaper finished: the dead claim is gone for good
      const verdict = judge(o, reaper);
      if (verdict !== 'dead') throw refuse(o, reaper, verdict, 'being taken over by');
      continue; // that reaper died mid-way: the next generation
    }
    try {
      if (readIdentity(claimFile)?.nonce === owner.nonce) fs.unlinkSync(claimFile);
    } finally {
      // earlier generations belong to dead reapers; once the dead claim is gone, none matters
      for (let h = g; h >= 0; h--) removeFile(path.join(o.dir, markerName(owner.nonce, h)));
    }
    forget(o.dir, owner.nonce);
    return;
  }
  throw locked(`the store ${o.dir} is being taken over by other processes`);
}

/** Our claim, removed if it still is ours. */
function unclaim(o: Opening): void {
  const claimFile = path.join(o.dir, CLAIM);
  if (readIdentity(claimFile)?.nonce === o.me.nonce) fs.unlinkSync(claimFile);
}

/** The files of a dead open. */
function forget(dir: string, nonce: string): void {
  removeFile(path.join(dir, cardName(nonce)));
  removeFile(path.join(dir, livenessName(nonce)));
}

/**
 * The owner clears what killed opens left: cards of dead processes (with their sockets),
 * sockets without a card, and reap markers. Our claim is in place, so no dead claim can come back.
 */
function sweep(o: Opening): void {
  const names = fs.readdirSync(o.dir);
  for (const name of names) {
    // a socket without a card: its open was killed before writing the card, or while leaving;
    // only a refused connection (nobody listens) proves that
    const socket = /^LOCK\.live\.([0-9a-f]+)$/.exec(name);
    if (socket !== null && socket[1] !== o.me.nonce && !names.includes(cardName(socket[1]!))) {
      if (probeLiveness(o.dir, socket[1]!) === 'dead') removeFile(path.join(o.dir, name));
      continue;
    }
    const card = /^LOCK\.id\.([0-9a-f]+)$/.exec(name);
    const marker = /^LOCK\.reap\.[0-9a-f]+\.\d+$/.test(name);
    if ((card === null || card[1] === o.me.nonce) && !marker) continue;
    let id: OwnerIdentity | null;
    try {
      id = readIdentity(path.join(o.dir, name));
    } catch {
      continue; // not ours to judge: left as it is
    }
    if (id === null || judge(o, id) !== 'dead') continue;
    if (marker) removeFile(path.join(o.dir, name));
    else forget(o.dir, id.nonce);
  }
}

/**
 * LOCK written by an older version of this package holds only a pid, and that version knows
 * nothing of the claim: while that process lives, the store is its.
 */
function checkOlderVersion(o: Opening): void {
  let text = '';
  try {
    text = fs.readFileSync(path.join(o.dir, LOCK_FILE), 'utf8');
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw io(`cannot read ${path.join(o.dir, LOCK_FILE)}`, e);
  }
  const old = /^\s*(\d+)\s*$/.exec(text);
  if (old === null) return;
  const pid = Number(old[1]);
  if (pid !== process.pid && pid > 0 && processExists(pid)) {
    throw locked(`the store ${o.dir} is open in process ${pid} (a LOCK of an older version); if that process does not use the store, delete ${path.join(o.dir, LOCK_FILE)}`);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM'; // exists, owned by someone else
  }
}

/** Our identity in LOCK for people (and older versions, which read its first line, the pid). */
function writeDiagnostics(o: Opening, text: string): void {
  const fd = fs.openSync(path.join(o.dir, LOCK_FILE), fs.constants.O_RDWR | fs.constants.O_CREAT);
  try {
    const bytes = Buffer.from(text);
    fs.writeSync(fd, bytes, 0, bytes.length, 0); // in place: LOCK is never replaced
    fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}
