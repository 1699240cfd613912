/**
 * A branch's in-memory beat index (beat → record offset, length, flags, frame CRC, root), one
 * typed array per column so millions of frames cost a few dozen bytes each. Beats ascend, so
 * lookups are binary searches.
 */
import { ROOT_BYTES } from './layout.js';

export class FrameTable {
  count = 0;
  beats = new Float64Array(16);
  offsets = new Float64Array(16);
  lengths = new Uint32Array(16);
  crcs = new Uint32Array(16);
  flags = new Uint8Array(16);
  /** Beats back to the store's previous committed beat, as the record says (layout gapOf). */
  gaps = new Uint32Array(16);
  roots = new Uint8Array(16 * ROOT_BYTES);

  push(beat: number, offset: number, length: number, frameCrc: number, flags: number, gap: number, root: Uint8Array, rootAt = 0): void {
    if (this.count === this.beats.length) this.grow(this.count * 2);
    const i = this.count++;
    this.beats[i] = beat;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.crcs[i] = frameCrc;
    this.flags[i] = flags;
    this.gaps[i] = gap;
    this.roots.set(root.subarray(rootAt, rootAt + ROOT_BYTES), i * ROOT_BYTES);
  }

  private grow(n: number): void {
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.beats = grow(this.beats, n);
    this.offsets = grow(this.offsets, n);
    this.lengths = grow(this.lengths, n);
    this.crcs = grow(this.crcs, n);
    this.flags = grow(this.flags, n);
    this.gaps = grow(this.gaps, n);
    this.roots = grow(this.roots, n * ROOT_BYTES);
  }

  /** Drops entries from `i` on. */
  truncate(i: number): void {
    this.count = Math.min(this.count, i);
  }

  root(i: number): Uint8Array {
    return this.roots.slice(i * ROOT_BYTES, (i + 1) * ROOT_BYTES);
  }

  get lastBeat(): number {
    return this.count === 0 ? -1 : this.beats[this.count - 1];
  }

  /** Index of the first entry with beat >= `beat` (count when none). */
  lowerBound(beat: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.beats[mid] < beat) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the entry of `beat`, or -1. */
  find(beat: number): number {
    const i = this.lowerBound(beat);
    return i < this.count && this.beats[i] === beat ? i : -1;
  }
}
