/**
 * Quarantine: where a repair puts the bytes it cuts (docs/flatfile.md, "Recovery"). Each
 * repair gets a folder `<store>/quarantine/<n>/` (n: one more than the newest there) holding
 * one file per cut byte range, copied byte for byte and synced, and `manifest.json` naming
 * where each came from. Everything is written and synced before a single byte is cut.
 */
import fs from 'node:fs';
import path from 'node:path';
import { copyRange } from './compact.js';
import { ensureDir, fsyncDir, writeFileAtomic } from './files.js';
import { nonZeroEnd } from './scan.js';

export const QUARANTINE_DIR = 'quarantine';

export interface QuarantinedPiece {
  /** The file it was cut from, relative to the store folder. */
  file: string;
  /** Its byte range in that file (trailing zeros, preallocated room, are not kept). */
  from: number;
  to: number;
  /** Where the copy is, relative to the quarantine folder. */
  copy: string;
  branch: string;
  fromBeat: number;
  reason: string;
}

export class Quarantine {
  readonly pieces: QuarantinedPiece[] = [];
  #dir: string | undefined;

  constructor(readonly storeDir: string) {}

  /** The folder of this repair, created on first use. */
  get dir(): string {
    if (this.#dir === undefined) {
      const parent = path.join(this.storeDir, QUARANTINE_DIR);
      ensureDir(parent);
      let n = 0;
      for (const name of fs.readdirSync(parent)) if (/^\d+$/.test(name)) n = Math.max(n, Number(name));
      this.#dir = path.join(parent, String(n + 1));
      ensureDir(this.#dir);
    }
    return this.#dir;
  }

  /** Copies `[from, end of data)` of `fd` (the file `file`) into the quarantine, synced. */
  keep(fd: number, file: string, from: number, size: number, what: { branch: string; fromBeat: number; reason: string }): void {
    const to = nonZeroEnd(fd, from, size);
    if (to <= from) return; // only zeros: preallocated room
    const copy = `${this.pieces.length + 1}.bin`;
    copyRange(fd, from, to, path.join(this.dir, copy));
    this.pieces.push({ file, from, to, copy, ...what });
  }

  /** Writes the manifest (synced); returns the folder, or undefined when nothing was kept. */
  finish(): string | undefined {
    if (this.pieces.length === 0) return undefined;
    writeFileAtomic(path.join(this.dir, 'manifest.json'), JSON.stringify({ format: 'cep-flatfile-quarantine', version: 1, pieces: this.pieces }, null, 1));
    fsyncDir(this.dir);
    return this.dir;
  }
}
