/**
 * A small growable byte writer for the canonical beat encoding (journal sections, digests).
 * Strings are UTF-8 with a varint length; numbers are varints or fixed little-endian words.
 */
const utf8 = new TextEncoder();
const textCache = new Map<string, Uint8Array>();
const TEXT_CACHE_MAX = 1 << 16;

/** UTF-8 bytes of a text (cached: signal and target texts repeat). */
export function textBytes(s: string): Uint8Array {
  let b = textCache.get(s);
  if (b === undefined) {
    if (textCache.size >= TEXT_CACHE_MAX) textCache.clear();
    b = utf8.encode(s);
    textCache.set(s, b);
  }
  return b;
}

export class Writer {
  buf = new Uint8Array(256);
  len = 0;

  reset(): this {
    this.len = 0;
    return this;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** Unsigned varint (LEB128) of a non-negative safe integer; -1 is written as 0 after a +1 shift by callers. */
  uv(v: number): this {
    if (this.len + 10 > this.buf.length) this.room(10);
    const b = this.buf;
    if (v < 0x80) {
      b[this.len++] = v;
      return this;
    }
    if (v < 0x80000000) {
      while (v >= 0x80) {
        b[this.len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        b[this.len++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    b[this.len++] = v;
    return this;
  }

  u64(v: bigint): this {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.uv(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  text(s: string): this {
    return this.bytes(textBytes(s));
  }

  /** A copy of what was written. */
  take(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Interns texts within one beat: the first use writes the text, later ones its index. */
export class TextTable {
  private readonly ids = new Map<string, number>();
  /** The last text and its id: runs of one text (a signal) skip the map. */
  private last: string | undefined;
  private lastId = 0;

  reset(): void {
    if (this.ids.size > 0) this.ids.clear(); // clear() reallocates the table even when empty
    this.last = undefined;
  }

  /** Write a reference to `s` (or `s` itself on first use); returns its id. */
  write(w: Writer, s: string): number {
    if (s === this.last) {
      w.uv(this.lastId + 1);
      return this.lastId;
    }
    const id = this.ids.get(s);
    this.last = s;
    if (id !== undefined) {
      this.lastId = id;
      w.uv(id + 1);
      return id;
    }
    this.lastId = this.ids.size;
    this.ids.set(s, this.lastId);
    w.u8(0).text(s);
    return this.lastId;
  }
}

/** 8-byte little-endian bytes of a non-negative safe integer (a beat, a count): `u64le` without a bigint. */
export function u64leOf(n: number): Uint8Array {
  const b = new Uint8Array(8);
  let lo = n % 0x1_0000_0000;
  let hi = (n - lo) / 0x1_0000_0000;
  for (let i = 0; i < 4; i++, lo >>>= 8, hi >>>= 8) {
    b[i] = lo & 0xff;
    b[i + 4] = hi & 0xff;
  }
  return b;
}

/** 8-byte little-endian bytes of a bigint. */
export function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}
