/**
 * Byte arena for VALUE payloads: small payload bytes (current and historical) are packed into
 * 1 MiB chunks instead of one Uint8Array per value. An offset is `chunk * 2^20 + position`; a
 * value never straddles chunks. Allocation is append-only; bytes a cell stops referring to
 * (hard updates and deletes, same-beat replacements) are counted as garbage with `free`, and
 * `Tree.compact()` copies the live bytes into a fresh arena once garbage outweighs them
 * (`needsCompaction`), so the arena stays within about twice the live bytes plus one chunk.
 */
export const CHUNK_SIZE = 1 << 20;

export class ByteArena {
  readonly chunks: Uint8Array[] = [];
  private cur: Uint8Array;
  private base = 0;
  private pos = 0;
  /** Bytes handed out (live and garbage). */
  used = 0;
  /** Bytes handed out that nothing refers to any more. */
  garbage = 0;

  constructor() {
    this.cur = new Uint8Array(CHUNK_SIZE);
    this.chunks.push(this.cur);
  }

  /** Reserve `len` contiguous bytes; returns the offset. */
  alloc(len: number): number {
    if (this.pos + len > CHUNK_SIZE) {
      this.cur = new Uint8Array(CHUNK_SIZE);
      this.chunks.push(this.cur);
      this.base += CHUNK_SIZE;
      this.pos = 0;
    }
    const off = this.base + this.pos;
    this.pos += len;
    this.used += len;
    return off;
  }

  /** Mark `len` bytes handed out earlier as no longer referenced. */
  free(len: number): void {
    this.garbage += len;
  }

  /** Whether garbage exceeds both one chunk and the live bytes (time for `Tree.compact`). */
  get needsCompaction(): boolean {
    return this.garbage > CHUNK_SIZE && this.garbage * 2 > this.used;
  }

  /** Copy bytes in; returns the offset. */
  write(bytes: Uint8Array): number {
    const len = bytes.length;
    const off = this.alloc(len);
    const p = off - this.base;
    const c = this.cur;
    if (len <= 16) for (let i = 0; i < len; i++) c[p + i] = bytes[i];
    else c.set(bytes, p);
    return off;
  }

  /** Overwrite bytes in place at `off` (same length as stored there). */
  overwrite(off: number, bytes: Uint8Array): void {
    const c = this.chunks[Math.floor(off / CHUNK_SIZE)];
    const p = off % CHUNK_SIZE;
    const len = bytes.length;
    if (len <= 16) for (let i = 0; i < len; i++) c[p + i] = bytes[i];
    else c.set(bytes, p);
  }

  equals(off: number, len: number, bytes: Uint8Array): boolean {
    if (bytes.length !== len) return false;
    const c = this.chunks[Math.floor(off / CHUNK_SIZE)];
    const p = off % CHUNK_SIZE;
    for (let i = 0; i < len; i++) if (c[p + i] !== bytes[i]) return false;
    return true;
  }

  /** A fresh copy of the bytes. */
  copy(off: number, len: number): Uint8Array {
    const p = off % CHUNK_SIZE;
    return this.chunks[Math.floor(off / CHUNK_SIZE)].slice(p, p + len);
  }

  /** A view (no copy): the caller must not write through it. */
  view(off: number, len: number): Uint8Array {
    const p = off % CHUNK_SIZE;
    return this.chunks[Math.floor(off / CHUNK_SIZE)].subarray(p, p + len);
  }

  /** Bytes reserved in chunks. */
  get capacity(): number {
    return this.chunks.length * CHUNK_SIZE;
  }
}
