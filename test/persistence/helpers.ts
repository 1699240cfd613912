/** Shared helpers of the engine tests: temp stores and real chained frames from a live runtime. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRuntime, encodeBranch, readFrame, type Cell, type Runtime } from '../../src/index.js';
import { availableBackends } from '../../src/async/select.js';
import { openFlatfileStore, type FlatfileEngine, type FlatfileOptions } from '../../src/persistence/flatfile/index.js';

/**
 * Temporary store folders for one test file: `fresh()` makes one, `clean()` removes them all.
 * `ram`: in RAM (/dev/shm) where there is one, for the sweeps that reopen a damaged store
 * thousands of times: each recovery that cuts a tail syncs the files it cut, and on a shared
 * disk those syncs, not the recovery under test, were the time such a test took.
 */
export function tempDirs(prefix?: string, options: { ram?: boolean } = {}): { fresh(): string; clean(): void } {
  const dirs: string[] = [];
  return {
    fresh: () => {
      const d = tempDir(prefix, options.ram === true ? ramRoot() : undefined);
      dirs.push(d);
      return d;
    },
    clean: () => {
      for (const d of dirs.splice(0)) rmDir(d);
    },
  };
}

export function tempDir(prefix = 'cep-store-', root = os.tmpdir()): string {
  return fs.mkdtempSync(path.join(root, prefix));
}

/** A RAM-backed folder for scratch stores (/dev/shm on Linux), or the temp folder where there is none. */
function ramRoot(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * A runtime with branches under /data that change every beat; `frame(branch)` frames the
 * current beat of a branch as a delta chained to that branch's previous frame.
 */
export class Source {
  readonly rt: Runtime;
  readonly cells = new Map<string, Cell>();
  readonly prev = new Map<string, Uint8Array>();
  readonly roots = new Map<string, Map<number, string>>();

  constructor(branches: string[]) {
    this.rt = createRuntime();
    const data = this.rt.find('/data')!;
    for (const b of branches) this.cells.set(b, data.add(b, { store: 'list', indexing: 'insertion' }));
  }

  get beat(): number {
    return this.rt.beat;
  }

  /** Next beat; every branch in `touch` gets a new cell of `size` bytes (and its counter changes). */
  advance(touch: string[] = [...this.cells.keys()], size = 16): void {
    this.rt.advance();
    for (const b of touch) {
      const c = this.cells.get(b)!;
      const v = new Uint8Array(size).map((_, i) => (this.rt.beat * 31 + i) & 0xff);
      c.add(`e${this.rt.beat}`, { value: v });
    }
  }

  /** The delta frame of `branch` at the current beat, chained. */
  frame(branch: string, mode: 'delta' | 'snapshot' = 'delta'): Uint8Array {
    const prevRoot = this.prev.get(branch) ?? new Uint8Array(32);
    const f = encodeBranch(this.cells.get(branch)!, { mode, prevRoot, beat: this.rt.beat });
    if (mode === 'delta') {
      const root = readFrame(f).root;
      this.prev.set(branch, root);
      let m = this.roots.get(branch);
      if (m === undefined) this.roots.set(branch, (m = new Map()));
      m.set(this.rt.beat, hex(root));
    }
    return f;
  }

  /** A snapshot frame of `branch` as of the current beat (not chained: checkpoints stand alone). */
  snapshot(branch: string): Uint8Array {
    return encodeBranch(this.cells.get(branch)!, { mode: 'snapshot', beat: this.rt.beat });
  }
}

/** Commits one beat of `src` with a frame of each branch in `branches`. */
export async function commitBeat(store: FlatfileEngine, src: Source, branches: string[]): Promise<void> {
  store.beginBeat(src.beat);
  for (const b of branches) store.putFrame(b, src.frame(b));
  await store.commitBeat();
}

/** The reactor choices to run the engine suites on: none (sync fs) and every backend available. */
export function ioModes(): Array<{ name: string; options: FlatfileOptions }> {
  return [{ name: 'sync fs', options: {} }, ...availableBackends().map((b) => ({ name: `reactor ${b}`, options: { backend: b } as FlatfileOptions }))];
}

export function open(dir: string, options?: FlatfileOptions): FlatfileEngine {
  return openFlatfileStore(dir, options);
}

/** Everything a reader sees: per branch, every frame's beat and root (each read verified). */
export function view(store: FlatfileEngine): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const b of store.branches()) out[b] = [...store.frames(b)].map((f) => `${f.beat}:${hex(f.root).slice(0, 16)}`);
  return out;
}

/** Every file of a store folder and its bytes (to put the folder back after each damaged case). */
export function saveFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(path.join(e.parentPath, e.name), fs.readFileSync(path.join(e.parentPath, e.name)));
  }
  return out;
}

/**
 * Puts back the files `saveFiles` took, writing only those that differ, in place: rewriting every
 * file truncated to zero makes ext4 flush each one at close (auto_da_alloc), which made the
 * every-byte-offset tests wait on the disk for each case.
 */
export function restoreFiles(files: Map<string, Buffer>): void {
  for (const [file, bytes] of files) {
    if (fs.existsSync(file) && fs.readFileSync(file).equals(bytes)) continue;
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT);
    try {
      fs.writeFileSync(fd, bytes); // from offset 0 of a fresh descriptor
      fs.ftruncateSync(fd, bytes.length);
    } finally {
      fs.closeSync(fd);
    }
  }
}
