import { describe, expect, it } from 'vitest';
import { applyFrame, blake3, crc32c, createRuntime, encodeBranch, readFrame, type Cell } from '../../src/index.js';
import { FINISH_PARAMS, FLAT_CAP_CHUNKS, FLAT_CAP_TOC } from '../../src/native/binding.js';
import { fallbackBinding } from '../../src/native/fallback/index.js';
import { binding, loadBinding } from '../../src/native/index.js';
import { KEY, codeOf } from './helpers.js';

const native = loadBinding({ native: true }).binding;
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

function sample(): { app: Cell; big: Uint8Array } {
  const rt = createRuntime();
  const app = rt.find('/data')!.add('app');
  const big = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) & 0xff);
  app.add('big', { data: big });
  app.add('small', { value: 'secret' });
  return { app, big };
}

/** Staged records (key = u32 BE ordinal + type + suffix) finished by a binding. */
function craft(records: { type: number; key: number[]; body: number[] }[], caps: number, finish = binding.flatFinish): Uint8Array {
  const buf = new Uint8Array(4096);
  let p = 16;
  for (const r of records) {
    buf.set([r.type, 1, 0, 0, r.key.length, r.body.length], p); // lengths < 128: one-byte varints
    p += 6;
    buf.set(r.key, p);
    p += r.key.length;
    buf.set(r.body, p);
    p += r.body.length + 4;
  }
  const params = new Float64Array(FINISH_PARAMS);
  params.set([1, 0, caps, 0, 0, 0, 0]);
  const len = finish(buf, p, params, new Uint8Array(32));
  expect(len).toBeGreaterThan(0);
  return buf.slice(0, len);
}

const desc = { type: 1, key: [0, 0, 0, 0, 1], body: [1, 0, 1, 0, 0] }; // a run of one description (u16 count 1): the root's anchor
function chunk(ord: number, total: number, off: number, data: number[], payload: number[]) {
  const fp = Array.from(blake3(Uint8Array.from(payload)));
  return { type: 2, key: [0, 0, 0, 0, 2, 0, 0, 0, ord], body: [2, total, off, ...fp, ...data] };
}

describe('frames: layout', () => {
  it('starts with the documented header and ends with a CRC-sealed trailer', () => {
    const { app } = sample();
    app.add('Hello World!', { value: 'a reference name' });
    const frame = encodeBranch(app, { mode: 'snapshot' });
    expect(Array.from(frame.subarray(0, 6))).toEqual([0x43, 0x45, 0x50, 0x46, 2, 1]);
    const dv = new DataView(frame.buffer, frame.byteOffset);
    expect(dv.getUint32(12, true)).toBe(crc32c(frame.subarray(0, 12)));
    const read = readFrame(frame);
    expect(dv.getUint32(8, true)).toBe(read.caps);
    for (const r of read.records) {
      const end = r.offset + r.length;
      expect(dv.getUint32(end - 4, true)).toBe(crc32c(frame.subarray(r.offset, end - 4)));
    }
    expect(read.records[read.records.length - 1].type).toBe('trailer');
    expect(read.records.map((r) => r.type)).toContain('namepool_delta');
  });

  it('splits large payloads into chunks at the configured size and reassembles them', () => {
    const { app, big } = sample();
    const read = readFrame(encodeBranch(app, { mode: 'snapshot', chunkSize: 3000 }));
    expect(read.records.filter((r) => r.type === 'payload_chunk')).toHaveLength(4);
    expect(read.cells.find((c) => c.payload?.kind === 'data')!.payload!.bytes).toEqual(big);
  });
});

describe('frames: deflate and AEAD', () => {
  it('deflates the whole frame and inflates it back', () => {
    const { app } = sample();
    const raw = encodeBranch(app, { mode: 'snapshot' });
    const packed = encodeBranch(app, { mode: 'snapshot', deflate: true });
    expect(packed.length).toBeLessThan(raw.length);
    expect(Array.from(packed.subarray(0, 4))).toEqual([0x43, 0x45, 0x50, 0x5a]);
    const read = readFrame(packed);
    expect(read.compression).toBe('deflate');
    expect(read.cells.map((c) => text(c.payload?.bytes))).toEqual(readFrame(raw).cells.map((c) => text(c.payload?.bytes)));
  });

  for (const cipher of ['chacha20-poly1305', 'xchacha20-poly1305'] as const) {
    it(`seals payload chunks with ${cipher}: no plaintext in the frame, same bytes on replay, wrong key refused`, () => {
      const { app, big } = sample();
      const frame = encodeBranch(app, { mode: 'snapshot', aead: { key: KEY, cipher } });
      expect(Buffer.from(frame).includes(Buffer.from('secret'))).toBe(false);
      expect(Buffer.from(frame).includes(Buffer.from(big.subarray(0, 64)))).toBe(false);
      expect(encodeBranch(app, { mode: 'snapshot', aead: { key: KEY, cipher } })).toEqual(frame);
      const read = readFrame(frame, { aead: { key: KEY, cipher } });
      expect(read.aead).toBe(cipher);
      expect(text(read.cells.find((c) => c.payload?.kind === 'value')!.payload!.bytes)).toBe('secret');
      const wrong = KEY.slice();
      wrong[0] ^= 1;
      expect(codeOf(() => readFrame(frame, { aead: { key: wrong, cipher } }))).toBe('ERR_FRAME_AEAD');
      // without a key the frame still verifies, the sealed bytes stay closed, and apply asks for the key
      expect(readFrame(frame).cells.every((c) => c.payload?.bytes === undefined)).toBe(true);
      expect(codeOf(() => applyFrame(createRuntime(), frame))).toBe('ERR_FRAME_AEAD');
      const rt = createRuntime();
      applyFrame(rt, frame, { aead: { key: KEY, cipher } });
      expect(rt.find('/data/app/big')!.value).toEqual(big);
    });
  }

  it('binds the sealed chunk to its key: moving ciphertext between cells fails to open', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    app.add('a', { value: 'AAAA' });
    app.add('b', { value: 'BBBB' });
    const frame = encodeBranch(app, { mode: 'snapshot', aead: { key: KEY } });
    const read = readFrame(frame, { aead: { key: KEY } });
    const chunks = read.records.filter((r) => r.type === 'payload_chunk');
    expect(chunks).toHaveLength(2);
    // swap the two chunk bodies (same length) and re-finish: CRCs and root are then valid
    const staged = frame.slice(0, read.records[read.records.length - 1].offset);
    const [x, y] = chunks;
    const bodyX = frame.slice(x.offset + 15, x.offset + x.length - 4);
    const bodyY = frame.slice(y.offset + 15, y.offset + y.length - 4);
    staged.set(bodyY, x.offset + 15);
    staged.set(bodyX, y.offset + 15);
    const buf = new Uint8Array(frame.length + 64);
    buf.set(staged);
    const params = new Float64Array(FINISH_PARAMS);
    params.set([read.beat, 1, read.caps, 3, 0, 0, 0]);
    const len = binding.flatFinish(buf, staged.length, params, read.prevRoot);
    expect(codeOf(() => readFrame(buf.subarray(0, len), { aead: { key: KEY } }))).toBe('ERR_FRAME_AEAD');
  });
});

describe('frames: chunk trackers (both halves)', () => {
  const caps = FLAT_CAP_TOC | FLAT_CAP_CHUNKS;
  const payload = Array.from({ length: 20 }, (_, i) => i);
  const cases: [string, ReturnType<typeof chunk>[], string][] = [
    ['whole', [chunk(0, 20, 0, payload.slice(0, 10), payload), chunk(1, 20, 10, payload.slice(10), payload)], 'ok'],
    ['a gap', [chunk(0, 20, 0, payload.slice(0, 10), payload), chunk(1, 20, 12, payload.slice(12), payload)], 'ERR_FRAME_CHUNK'],
    ['a repeated offset', [chunk(0, 20, 0, payload.slice(0, 10), payload), chunk(1, 20, 0, payload.slice(0, 10), payload)], 'ERR_FRAME_CHUNK'],
    ['a missing ordinal', [chunk(0, 20, 0, payload.slice(0, 10), payload), chunk(2, 20, 10, payload.slice(10), payload)], 'ERR_FRAME_CHUNK'],
    ['totals that disagree', [chunk(0, 20, 0, payload.slice(0, 10), payload), chunk(1, 21, 10, payload.slice(10), payload)], 'ERR_FRAME_CHUNK'],
    ['a short sequence', [chunk(0, 20, 0, payload.slice(0, 10), payload)], 'ERR_FRAME_CHUNK'],
    ['a chunk past the total', [chunk(0, 8, 0, payload.slice(0, 10), payload)], 'ERR_FRAME_CHUNK'],
    ['a zero-length chunk', [chunk(0, 20, 0, payload, payload), chunk(1, 20, 20, [], payload)], 'ERR_FRAME_CHUNK'],
    ['a zero-length first chunk of a non-empty payload', [chunk(0, 20, 0, [], payload), chunk(1, 20, 0, payload, payload)], 'ERR_FRAME_CHUNK'],
    [
      'a wrong fingerprint',
      [
        chunk(
          0,
          20,
          0,
          payload,
          payload.map((v) => v + 1),
        ),
      ],
      'ERR_FRAME_CHUNK',
    ],
    ['a sequence starting past 0', [chunk(1, 20, 0, payload, payload)], 'ERR_FRAME_CHUNK'],
  ];
  for (const [what, chunks, want] of cases) {
    it(`${want === 'ok' ? 'accepts' : 'rejects'} ${what}`, () => {
      const frames = [fallbackBinding, native].map((half) => craft([desc, ...chunks], caps, half.flatFinish));
      expect(frames[0]).toEqual(frames[1]);
      for (const half of [fallbackBinding, native]) {
        const diag = new Float64Array(2);
        const index = half.flatValidate(frames[0], diag);
        expect(index === null ? 'ERR_FRAME_CHUNK' : 'ok').toBe(want);
      }
    });
  }

  it('refuses to finish records with a duplicate key (two chunks with one ordinal), in both halves', () => {
    for (const half of [fallbackBinding, native]) {
      const buf = new Uint8Array(1024);
      let p = 16;
      for (const r of [desc, chunk(0, 20, 0, payload, payload), chunk(0, 20, 0, payload, payload)]) {
        buf.set([r.type, 1, 0, 0, r.key.length, r.body.length, ...r.key, ...r.body], p);
        p += 6 + r.key.length + r.body.length + 4;
      }
      const params = new Float64Array(FINISH_PARAMS);
      params.set([1, 0, caps, 0, 0, 0, 0]);
      expect(half.flatFinish(buf, p, params, new Uint8Array(32))).toBe(-6);
    }
  });
});

describe('frames: what cannot be framed', () => {
  it('refuses HANDLE/STREAM proxies and function-ordered stores with ERR_FRAME_UNSUPPORTED', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    app.add('h', { handle: { snapshot: () => new Uint8Array(1) } });
    expect(codeOf(() => encodeBranch(app, { mode: 'snapshot' }))).toBe('ERR_FRAME_UNSUPPORTED');
    const other = rt.find('/data')!.add('other');
    other.add('sorted', { store: 'list', indexing: 'comparator', compare: () => 0 }).add('x');
    expect(codeOf(() => encodeBranch(other, { mode: 'snapshot' }))).toBe('ERR_FRAME_UNSUPPORTED');
  });

  it('checks its options with coded errors', () => {
    const { app } = sample();
    expect(codeOf(() => encodeBranch(app, { mode: 'sideways' as never }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => encodeBranch(app, { mode: 'delta', beat: -1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => encodeBranch(app, { mode: 'delta', chunkSize: 0 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => encodeBranch(app, { mode: 'delta', aead: { key: new Uint8Array(16) } }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => encodeBranch(app, { mode: 'delta', prevRoot: new Uint8Array(31) }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => readFrame('nope' as never))).toBe('ERR_INVALID_ARG_TYPE');
    // the native seam checks its own arguments too (a direct caller gets a coded error, not a crash)
    expect(codeOf(() => native.flatValidate('nope' as never, new Float64Array(2)))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => native.flatValidate(new Uint8Array(4), new Uint32Array(2) as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => native.flatFinish(new Uint8Array(64), 16, new Float64Array(2), new Uint8Array(32)))).toBe('ERR_INVALID_ARG_TYPE');
  });
});
