/**
 * The store corruption trials (docs/flatfile.md, "Recovery"): one real multi-branch store with
 * history, checkpoints, sealed journal records and CAS blobs is written once, with the state of
 * every branch recorded after every beat; each trial copies its bytes into a folder, damages one
 * file (a bit flip, 4 bytes overwritten, or a truncation), and reopens a runtime on it. The
 * open must give a state that existed — every branch equal to its recorded state at one same
 * beat B at or below the durable beat, as-of reads included — or refuse with ERR_STORE_CORRUPT;
 * a refused store opened with `repair: true` must do the same, with every byte it cut kept in
 * its quarantine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { contents, open } from './cps-helpers.js';
import type { PersistentRuntime } from '../../src/runtime/persistent.js';
import type { Runtime } from '../../src/runtime/runtime.js';

export const BRANCHES = ['a', 'b', 'c'];
type State = Record<string, Record<string, string>>;

/** Store options of the writer and of every reopen: small checkpoints and journal, so both happen often. */
export const STORE = { checkpointEvery: 6, io: 'sync' as const, flatfile: { journalCompactBytes: 1500, preallocate: false } };

/** Deterministic pseudo-random numbers (xorshift32). */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** As-of contents of a branch at `beat` (name order). */
export function contentsAt(rt: Runtime, branch: string, beat: number): Record<string, string> {
  const out: Record<string, string> = {};
  const b = rt.find(`/data/${branch}`, beat);
  if (b === undefined) return out;
  for (const c of b.children(beat)) {
    const v = c.valueAt(beat);
    out[c.name] = v === undefined ? '' : new TextDecoder().decode(v);
  }
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** Every branch's contents now. */
export function stateOf(rt: Runtime): State {
  return Object.fromEntries(BRANCHES.map((b) => [b, contents(rt, b)]));
}

export interface Written {
  /** Every file of the store, relative path -> bytes. */
  files: Map<string, Buffer>;
  /** State after each beat (-1: before the first). */
  states: Map<number, State>;
  durable: number;
}

/** Writes the store: `beats` beats, each changing one to three branches. */
export async function writeStore(dir: string, beats: number): Promise<Written> {
  const rt = open(dir, STORE);
  const r = rng(7);
  const states = new Map<number, State>([[-1, stateOf(rt)]]);
  for (let i = 0; i < beats; i++) {
    const touch = BRANCHES.filter(() => r(2) === 0);
    if (touch.length === 0) touch.push(BRANCHES[r(3)]);
    for (const b of touch) rt.enqueue('app/put', '/data', { branch: b, key: `k${r(6)}`, value: `v${i}-${r(1000)}` });
    const beat = rt.step();
    states.set(beat, stateOf(rt));
    if (i % 10 === 9) await rt.flush();
  }
  // end on beats that span branches with no checkpoint after them, so journal.log holds records
  for (let i = 0; i < 12 && fs.statSync(path.join(dir, 'journal.log')).size === 0; i++) {
    for (const b of BRANCHES) rt.enqueue('app/put', '/data', { branch: b, key: 'tail', value: `t${i}` });
    states.set(rt.step(), stateOf(rt));
    await rt.flush();
  }
  for (let i = 0; i < 3; i++) await rt.persist.engine.putBlob(new TextEncoder().encode(`blob ${i} `.repeat(20)));
  await rt.flush();
  const durable = rt.durableBeat;
  await rt.close();
  const files = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name !== 'LOCK') files.set(path.relative(dir, path.join(e.parentPath, e.name)), fs.readFileSync(path.join(e.parentPath, e.name)));
  }
  return { files, states, durable };
}

/** Puts the written store's bytes into `dir` (emptied first). */
export function placeStore(dir: string, files: Map<string, Buffer>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [rel, bytes] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), bytes);
  }
}

/** The file kinds a trial damages, and which files of the store are of each kind. */
export const KINDS: Record<string, (rel: string) => boolean> = {
  'frames.log': (f) => f.endsWith('/frames.log'),
  'frames.idx': (f) => f.endsWith('/frames.idx'),
  'checkpoints.log': (f) => f.endsWith('/checkpoints.log'),
  'journal.log': (f) => f === 'journal.log',
  'branch.meta': (f) => f.endsWith('/branch.meta'),
  STORE: (f) => f === 'STORE',
  'cas manifest': (f) => f === 'cas/manifest.bin',
  'cas blob': (f) => f.startsWith('cas/') && f !== 'cas/manifest.bin',
};

export interface Damage {
  file: string;
  how: 'flip' | 'overwrite' | 'truncate';
  at: number;
  /** The damaged bytes of the file. */
  bytes: Buffer;
}

/** Damages one file of kind `kind` of the copy in `dir` (non-empty files only). */
export function damage(dir: string, written: Written, kind: string, r: (n: number) => number): Damage | undefined {
  const files = [...written.files.keys()].filter((f) => KINDS[kind](f) && written.files.get(f)!.length > 0).sort();
  if (files.length === 0) return undefined;
  const file = files[r(files.length)];
  const bytes = Buffer.from(written.files.get(file)!);
  const how = (['flip', 'overwrite', 'truncate'] as const)[r(3)];
  const at = r(bytes.length);
  let out = bytes;
  if (how === 'flip') bytes[at] ^= 1 << r(8);
  else if (how === 'overwrite') for (let i = at; i < Math.min(bytes.length, at + 4); i++) bytes[i] = r(256);
  else out = bytes.subarray(0, at);
  fs.writeFileSync(path.join(dir, file), out);
  return { file, how, at, bytes: out };
}

export interface TrialResult {
  outcome: 'opened' | 'refused' | 'repaired' | 'unrepairable';
  /** The beat every branch was found at (-2 when refused). */
  beat: number;
  /** What went wrong; '' when the trial holds. */
  failure: string;
}

/**
 * The beat B whose recorded state the runtime holds in every branch, now and as of every beat
 * at or below B that the store can still answer (-2: none, an invented state).
 */
export function stateBeat(rt: PersistentRuntime, written: Written): { beat: number; why: string } {
  const now = stateOf(rt);
  const same = (a: State, b: State): boolean => JSON.stringify(a) === JSON.stringify(b);
  const reported = rt.persist.engine.recovery.beat;
  let beat = -2;
  for (const [b, s] of written.states) if (b <= reported && b <= written.durable && same(s, now) && b > beat) beat = b;
  if (beat === -2) return { beat, why: `the state now is no recorded state at or below beat ${reported}: ${JSON.stringify(now)}` };
  // as-of reads: a branch read as of an earlier beat is that beat's state, or absent (not kept)
  for (let b = 0; b <= reported; b++) {
    for (const br of BRANCHES) {
      const at = contentsAt(rt, br, b);
      const want = written.states.get(b)?.[br] ?? written.states.get([...written.states.keys()].filter((k) => k <= b).pop()!)![br];
      if (Object.keys(at).length > 0 && JSON.stringify(at) !== JSON.stringify(want)) return { beat: -2, why: `${br} as of beat ${b} is ${JSON.stringify(at)}, recorded ${JSON.stringify(want)}` };
    }
  }
  return { beat, why: '' };
}

/** Checks that every piece in a repair's quarantine is byte for byte what the damaged store held there. */
export function quarantineMatches(dir: string, quarantine: string, damaged: Damage, files: Map<string, Buffer>): string {
  const q = JSON.parse(fs.readFileSync(path.join(quarantine, 'manifest.json'), 'utf8')) as { pieces: Array<{ file: string; from: number; to: number; copy: string }> };
  for (const p of q.pieces) {
    const original = p.file === damaged.file ? damaged.bytes : files.get(p.file);
    if (original === undefined) return `quarantine names an unknown file ${p.file}`;
    if (!fs.readFileSync(path.join(quarantine, p.copy)).equals(original.subarray(p.from, p.to))) return `quarantined ${p.file} [${p.from}, ${p.to}) differs`;
  }
  if (path.dirname(quarantine) !== path.join(dir, 'quarantine')) return `quarantine ${quarantine} is not under the store`;
  return '';
}

/** One trial: damage a copy of the store, reopen, check (see the module comment). */
export async function trial(dir: string, written: Written, kind: string, seed: number): Promise<TrialResult & { damage?: Damage }> {
  placeStore(dir, written.files);
  const r = rng(seed);
  const d = damage(dir, written, kind, r);
  if (d === undefined) return { outcome: 'opened', beat: -1, failure: '' };
  const before = snapshotFiles(dir);
  let rt: PersistentRuntime;
  try {
    rt = open(dir, STORE);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_STORE_CORRUPT') return { outcome: 'refused', beat: -2, failure: `refused with ${(e as { code?: string }).code}: ${(e as Error).message}`, damage: d };
    const after = snapshotFiles(dir);
    if (after !== before) return { outcome: 'refused', beat: -2, failure: 'a refused open changed the store', damage: d };
    try {
      rt = open(dir, { ...STORE, repair: true });
    } catch (e2) {
      if ((e2 as { code?: string }).code !== 'ERR_STORE_CORRUPT')
        return { outcome: 'unrepairable', beat: -2, failure: `repair failed with ${(e2 as { code?: string }).code}: ${(e2 as Error).message}`, damage: d };
      return { outcome: 'unrepairable', beat: -2, failure: '', damage: d };
    }
    const q = rt.recovery.quarantine;
    const bad = q === undefined ? '' : quarantineMatches(dir, q, d, written.files);
    const s = stateBeat(rt, written);
    await rt.close();
    return { outcome: 'repaired', beat: s.beat, failure: bad || s.why, damage: d };
  }
  const s = stateBeat(rt, written);
  await rt.close();
  return { outcome: 'opened', beat: s.beat, failure: s.why, damage: d };
}

/** Sizes and mtimes-free digest of every file under `dir` (to see that a refusal changed nothing). */
function snapshotFiles(dir: string): string {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name !== 'LOCK') out.push(`${path.relative(dir, path.join(e.parentPath, e.name))}:${fs.readFileSync(path.join(e.parentPath, e.name)).toString('base64')}`);
  }
  return out.sort().join('\n');
}

/** Runs `n` trials spread over every file kind; returns the failures and the outcome counts. */
export async function trials(dir: string, written: Written, n: number, seed: number): Promise<{ failures: string[]; counts: Record<string, number> }> {
  const kinds = Object.keys(KINDS);
  const failures: string[] = [];
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setImmediate(resolve)); // lets the test runner's own messages through
    const kind = kinds[i % kinds.length];
    const t = await trial(dir, written, kind, seed + i * 7919);
    counts[t.outcome] = (counts[t.outcome] ?? 0) + 1;
    if (t.failure !== '') failures.push(`trial ${i} (${kind}: ${t.damage?.how} ${t.damage?.file} at ${t.damage?.at}): ${t.failure}`);
  }
  return { failures, counts };
}
