/**
 * Content-addressed blobs: `cas/XY/<BLAKE3 hex>` (XY: the hash's first two hex digits) and an
 * append-only manifest `cas/manifest.bin` (48-byte entries: hash, size, CRC32C). A blob file
 * is written under a temporary name, synced and renamed before its manifest entry is appended
 * and synced, so every manifest entry names a complete blob. Reads check the hash again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { invalidArgType, invalidArgValue, storeError } from '../../errors.js';
import { binding } from '../../native/index.js';
import { ensureDir, readExactAt, truncateTo, writeAllAt, writeFileAtomic } from './files.js';
import { nonZeroEnd } from './scan.js';
import { CAS_ENTRY, CAS_MANIFEST, decodeCasEntry, encodeCasEntry } from './layout.js';

const KEY = /^[0-9a-f]{64}$/;

export function blake3Hex(bytes: Uint8Array): string {
  const out = new Uint8Array(32);
  binding.blake3(bytes, null, 0, out, 0);
  return Buffer.from(out).toString('hex');
}

export class CasStore {
  readonly blobs = new Map<string, number>(); // key -> size
  hits = 0;
  misses = 0;
  bytes = 0;
  private readonly fd: number;
  private end: number;
  /**
   * What follows the manifest's intact entries (size - end bytes): `torn` when it is the prefix
   * of one entry (a crash while appending), else damage. Recovery decides, then `cutTail` cuts.
   */
  readonly tail: { end: number; size: number; torn: boolean };

  /** Opens the manifest and reads its intact entries; changes nothing on disk. */
  constructor(readonly dir: string) {
    ensureDir(dir);
    this.fd = fs.openSync(path.join(dir, CAS_MANIFEST), fs.constants.O_RDWR | fs.constants.O_CREAT);
    const size = fs.fstatSync(this.fd).size;
    // read in chunks of up to 64k entries, sized to the manifest: an empty one allocates nothing
    const buf = new Uint8Array(Math.min(64 * 1024, Math.floor(size / CAS_ENTRY)) * CAS_ENTRY);
    let pos = 0;
    for (; pos + CAS_ENTRY <= size; ) {
      const n = Math.min(buf.length, Math.floor((size - pos) / CAS_ENTRY) * CAS_ENTRY);
      readExactAt(this.fd, buf, 0, n, pos);
      let p = 0;
      for (; p < n; p += CAS_ENTRY) {
        const e = decodeCasEntry(buf, p);
        if (e === null) break;
        if (!this.blobs.has(e.key)) this.bytes += e.size;
        this.blobs.set(e.key, e.size);
      }
      pos += p;
      if (p < n) break;
    }
    this.end = pos;
    this.tail = { end: pos, size, torn: nonZeroEnd(this.fd, pos, size) < pos + CAS_ENTRY };
  }

  /** The manifest's descriptor (recovery quarantines its tail from it). */
  get manifestFd(): number {
    return this.fd;
  }

  /** Cuts what follows the intact entries (recovery, after deciding it may). */
  cutTail(): void {
    if (this.tail.size > this.end) truncateTo(this.fd, this.end);
  }

  pathOf(key: string): string {
    return path.join(this.dir, key.slice(0, 2), key);
  }

  /** Stores `bytes` once; returns its key. */
  put(bytes: Uint8Array): string {
    if (!(bytes instanceof Uint8Array)) throw invalidArgType('bytes', 'a Uint8Array', bytes);
    const key = blake3Hex(bytes);
    if (this.blobs.has(key)) {
      this.hits++;
      return key;
    }
    this.misses++;
    const file = this.pathOf(key);
    ensureDir(path.dirname(file));
    writeFileAtomic(file, bytes);
    writeAllAt(this.fd, [encodeCasEntry(Buffer.from(key, 'hex'), bytes.length)], this.end);
    fs.fdatasyncSync(this.fd);
    this.end += CAS_ENTRY;
    this.blobs.set(key, bytes.length);
    this.bytes += bytes.length;
    return key;
  }

  /** The blob of `key`, verified, or undefined when the store has none. */
  get(key: string): Uint8Array | undefined {
    if (typeof key !== 'string') throw invalidArgType('key', 'a string', key);
    if (!KEY.test(key)) throw invalidArgValue('key', 'must be 64 lowercase hex digits (a BLAKE3 hash)');
    const size = this.blobs.get(key);
    if (size === undefined) return undefined;
    let bytes: Uint8Array;
    try {
      const b = fs.readFileSync(this.pathOf(key));
      bytes = new Uint8Array(b.buffer, b.byteOffset, b.length);
    } catch (e) {
      throw storeError('ERR_STORE_CORRUPT', `the CAS blob ${key} is in the manifest but cannot be read: ${(e as Error).message}`, e);
    }
    if (bytes.length !== size || blake3Hex(bytes) !== key) throw storeError('ERR_STORE_CORRUPT', `the CAS blob ${key} does not match its hash`);
    return bytes;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
