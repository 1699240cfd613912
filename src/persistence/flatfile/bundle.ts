/**
 * Export bundles: a branch's files (branch.meta, frames.log, frames.idx, checkpoints.log), the
 * CAS blobs its frames reference (`cas/XY/<hash>`, blob-refs.ts) and `manifest.json` with each
 * file's size and BLAKE3 and the referenced blobs (`blobs`). Export verifies what it wrote;
 * import copies the bundle into a staging folder while hashing it, checks every hash, every
 * frame (CRC, Merkle root, hash chain), the head the manifest announces and that it carries
 * exactly the blobs its frames reference, and only then hands the staged folder over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { storeError } from '../../errors.js';
import { binding } from '../../native/index.js';
import type { BranchHead, BundleManifest } from '../engine.js';
import { checkBranchName, encodeMeta, parseMeta, type BranchFiles, type BranchMeta } from './branch.js';
import { blake3Hex, type CasStore } from './cas.js';
import { referencedBlobs } from './blob-refs.js';
import { copyRange } from './compact.js';
import { ensureDir, fsyncDir, writeFileAtomic } from './files.js';
import { BRANCH_META, CHECKPOINTS_LOG, FRAMES_IDX, FRAMES_LOG } from './layout.js';
import { openBranch } from './load.js';

export const BUNDLE_MANIFEST = 'manifest.json';
const BUNDLE_FORMAT = 'cep-flatfile-bundle';
const MANIFEST_MAX = 16 * 1024 * 1024;
const BRANCH_FILES = [BRANCH_META, FRAMES_LOG, FRAMES_IDX, CHECKPOINTS_LOG];
const CAS_PATH = /^cas\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

function invalid(reason: string, cause?: unknown): Error {
  return storeError('ERR_BUNDLE_INVALID', `the bundle is refused: ${reason}`, cause);
}

/** BLAKE3 hex of a stream of chunks. */
class Hashing {
  readonly state = binding.blake3Hasher(null, 0);
  readonly update = (b: Uint8Array): void => this.state.update(b);
  hex(): string {
    const out = new Uint8Array(32);
    this.state.finalize(out, 0);
    return Buffer.from(out).toString('hex');
  }
}

/** Copies `[0, size)` of `src` to `dst` (synced) and returns its BLAKE3 hex. */
function copyHashed(srcFd: number, size: number, dst: string): string {
  const h = new Hashing();
  copyRange(srcFd, 0, size, dst, h.update);
  return h.hex();
}

function copyFileHashed(src: string, dst: string): { size: number; blake3: string } {
  const fd = fs.openSync(src, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    return { size, blake3: copyHashed(fd, size, dst) };
  } finally {
    fs.closeSync(fd);
  }
}

interface ManifestJson {
  format: string;
  version: number;
  branch: string;
  beat: number;
  root: string;
  files: Array<{ path: string; size: number; blake3: string }>;
  /** Keys of the CAS blobs the frames reference (each carried as `cas/XY/<key>`). Absent in older bundles: the blobs listed in `files`. */
  blobs?: string[];
}

const casPath = (key: string): string => `cas/${key.slice(0, 2)}/${key}`;

function toManifest(m: ManifestJson): BundleManifest {
  return { branch: m.branch, beat: m.beat, root: Uint8Array.from(Buffer.from(m.root, 'hex')), files: m.files };
}

/** Writes the bundle of `b` into `dir` (absent or empty) and verifies it. */
export function exportBranch(b: BranchFiles, head: BranchHead, cas: CasStore, dir: string): BundleManifest {
  if (typeof dir !== 'string' || dir.length === 0) throw storeError('ERR_BUNDLE_INVALID', 'the bundle folder must be a non-empty path');
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw storeError('ERR_BUNDLE_INVALID', `the bundle folder ${dir} is not empty`);
  ensureDir(dir);
  const files: ManifestJson['files'] = [];
  const sources: Array<[string, number, number]> = [
    [FRAMES_LOG, b.fdLog, b.logEnd],
    [FRAMES_IDX, b.fdIdx, b.idxEnd],
    [CHECKPOINTS_LOG, b.fdCkp, b.ckpEnd],
  ];
  for (const [name, fd, size] of sources) files.push({ path: name, size, blake3: copyHashed(fd, size, path.join(dir, name)) });
  const meta = Buffer.from(encodeMeta(b.meta));
  writeFileAtomic(path.join(dir, BRANCH_META), meta);
  files.push({ path: BRANCH_META, size: meta.length, blake3: blake3Hex(meta) });
  const blobs = referencedBlobs(b, cas.blobs);
  for (const key of blobs) {
    const rel = casPath(key);
    ensureDir(path.join(dir, 'cas', key.slice(0, 2)));
    files.push({ path: rel, ...copyFileHashed(cas.pathOf(key), path.join(dir, rel)) });
  }
  const m: ManifestJson = { format: BUNDLE_FORMAT, version: 1, branch: b.name, beat: head.beat, root: Buffer.from(head.root).toString('hex'), files, blobs };
  writeFileAtomic(path.join(dir, BUNDLE_MANIFEST), JSON.stringify(m, null, 1));
  fsyncDir(dir);
  // read it all back as an importer would
  const written = readManifest(dir);
  checkFiles(dir, written);
  bundleMeta(dir, written);
  checkFrames(dir, written);
  return toManifest(m);
}

function readManifest(dir: string): ManifestJson {
  const file = path.join(dir, BUNDLE_MANIFEST);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    throw invalid(`no ${BUNDLE_MANIFEST} in ${dir}`, e);
  }
  if (!st.isFile() || st.size > MANIFEST_MAX) throw invalid(`${BUNDLE_MANIFEST} is not a file of at most ${MANIFEST_MAX} bytes`);
  let m: ManifestJson;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as ManifestJson;
  } catch (e) {
    throw invalid(`${BUNDLE_MANIFEST} is not JSON`, e);
  }
  const ok =
    m !== null &&
    typeof m === 'object' &&
    m.format === BUNDLE_FORMAT &&
    m.version === 1 &&
    typeof m.branch === 'string' &&
    Number.isSafeInteger(m.beat) &&
    m.beat >= 0 &&
    typeof m.root === 'string' &&
    /^[0-9a-f]{64}$/.test(m.root) &&
    Array.isArray(m.files) &&
    m.files.every(
      (f) => f !== null && typeof f === 'object' && typeof f.path === 'string' && Number.isSafeInteger(f.size) && f.size >= 0 && typeof f.blake3 === 'string' && /^[0-9a-f]{64}$/.test(f.blake3),
    );
  if (!ok) throw invalid(`${BUNDLE_MANIFEST} does not describe a ${BUNDLE_FORMAT} of version 1`);
  try {
    checkBranchName(m.branch);
  } catch (e) {
    throw invalid(`the manifest's branch name is not valid`, e);
  }
  const seen = new Set<string>();
  for (const f of m.files) {
    const cas = CAS_PATH.exec(f.path);
    if (!BRANCH_FILES.includes(f.path) && (cas === null || cas[1] !== cas[2].slice(0, 2))) throw invalid(`unexpected file ${JSON.stringify(f.path.slice(0, 80))} in the manifest`);
    if (cas !== null && cas[2] !== f.blake3) throw invalid(`${f.path} is not named by its hash`);
    if (seen.has(f.path)) throw invalid(`${f.path} is listed twice`);
    seen.add(f.path);
  }
  for (const need of BRANCH_FILES) if (!seen.has(need)) throw invalid(`the manifest does not list ${need}`);
  if (m.blobs === undefined) m.blobs = m.files.flatMap((f) => (CAS_PATH.test(f.path) ? [f.blake3] : []));
  else if (!Array.isArray(m.blobs) || !m.blobs.every((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)) || new Set(m.blobs).size !== m.blobs.length)
    throw invalid("the manifest's blobs are not distinct BLAKE3 keys");
  for (const key of m.blobs) if (!seen.has(casPath(key))) throw invalid(`its frames reference CAS blob ${key}, which it does not carry`);
  const carried = m.files.filter((f) => CAS_PATH.test(f.path)).length;
  if (carried !== m.blobs.length) throw invalid(`it carries ${carried} CAS blobs, its manifest names ${m.blobs.length}`);
  return m;
}

/** Checks every file of the manifest (plain file, size, BLAKE3), copying them into `copyTo` when given and hashing the copies. */
function checkFiles(dir: string, m: ManifestJson, copyTo?: string): void {
  for (const f of m.files) {
    const src = path.join(dir, f.path);
    const st = fs.lstatSync(src, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile()) throw invalid(`${f.path} is missing or not a plain file`);
    if (st.size !== f.size) throw invalid(`${f.path} is ${st.size} bytes, the manifest says ${f.size}`);
    let got: { size: number; blake3: string };
    if (copyTo === undefined) got = { size: st.size, blake3: blake3Hex(fs.readFileSync(src)) };
    else {
      const dst = path.join(copyTo, f.path);
      ensureDir(path.dirname(dst));
      got = copyFileHashed(src, dst);
    }
    if (got.size !== f.size || got.blake3 !== f.blake3) throw invalid(`${f.path} does not match its BLAKE3 in the manifest`);
  }
}

/** Reads the branch meta of a bundle (or staged copy) in `dir`. */
function bundleMeta(dir: string, m: ManifestJson): BranchMeta {
  let meta: BranchMeta;
  try {
    meta = parseMeta(fs.readFileSync(path.join(dir, BRANCH_META), 'utf8'), BRANCH_META);
  } catch (e) {
    throw invalid(`its ${BRANCH_META} is not valid`, e);
  }
  if (meta.branch !== m.branch) throw invalid(`${BRANCH_META} names branch "${meta.branch}", the manifest "${m.branch}"`);
  return meta;
}

/** Checks every frame and checkpoint of the branch folder `dir` (CRC, chain, Merkle) and that its head is the manifest's. */
function checkFrames(dir: string, m: ManifestJson): void {
  let opened: ReturnType<typeof openBranch>;
  try {
    opened = openBranch(dir);
  } catch (e) {
    throw invalid('its branch files do not open', e);
  }
  const { b, log, ckp } = opened;
  try {
    if (log.reason !== '' || ckp.reason !== '') throw invalid(`its logs do not scan clean (${log.reason || ckp.reason})`);
    for (let i = 0; i < b.table.count; i++) b.read(b.table, i, b.fdLog);
    for (let i = 0; i < b.checkpoints.count; i++) b.read(b.checkpoints, i, b.fdCkp);
    const t = b.table;
    const headBeat = t.count > 0 ? t.lastBeat : b.meta.baseBeat;
    const headRoot = t.count > 0 ? Buffer.from(t.root(t.count - 1)).toString('hex') : b.meta.baseRoot;
    if (headBeat !== m.beat || headRoot !== m.root) throw invalid(`its newest frame (beat ${headBeat}) is not the head the manifest announces (beat ${m.beat})`);
    if (b.checkpoints.lastBeat > headBeat) throw invalid('a checkpoint is newer than the newest frame');
    const sizes = new Map(m.files.flatMap((f) => (CAS_PATH.test(f.path) ? [[f.blake3, f.size] as [string, number]] : [])));
    const used = new Set(referencedBlobs(b, sizes));
    const unused = m.blobs!.filter((k) => !used.has(k));
    if (unused.length > 0) throw invalid(`it carries CAS blob ${unused[0]}, which none of its frames references`);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUNDLE_INVALID') throw e;
    throw invalid((e as Error).message, e);
  } finally {
    b.close();
  }
}

/**
 * Verifies the bundle in `dir` into `staged` (the branch files at its top, ready to swap in)
 * and adds its CAS blobs to the store's. `lastBeat`: the store's newest beat (journal records
 * up to it or the bundle's head no longer bind the branch).
 */
export function importBranch(dir: string, staged: string, branch: string | undefined, lastBeat: number, cas: CasStore): { manifest: BundleManifest; name: string } {
  if (typeof dir !== 'string' || dir.length === 0) throw invalid('the bundle folder must be a non-empty path');
  const m = readManifest(dir);
  const name = branch ?? m.branch;
  fs.rmSync(staged, { recursive: true, force: true });
  ensureDir(staged);
  checkFiles(dir, m, staged);
  const meta = bundleMeta(staged, m);
  writeFileAtomic(path.join(staged, BRANCH_META), encodeMeta({ ...meta, branch: name, sealedBeat: Math.max(m.beat, lastBeat) }));
  checkFrames(staged, m);
  const blobs = path.join(staged, 'cas');
  for (const f of m.files) {
    const c = CAS_PATH.exec(f.path);
    if (c !== null) cas.put(fs.readFileSync(path.join(staged, f.path)));
  }
  fs.rmSync(blobs, { recursive: true, force: true });
  return { manifest: toManifest(m), name };
}
