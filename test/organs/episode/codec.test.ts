import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as v8 from 'node:v8';
import { toBytes } from '../../../src/kernel/cell/payload.js';
import { u64le, u64leOf } from '../../../src/beat/heartbeat/encode.js';
import type { SliceContext } from '../../../src/organs/episode/context.js';
import { decodeOutcome, encodeHead, encodeInput, encodeState, EncodedState, runModuleSlice } from '../../../src/organs/episode/slice-runner.js';

/** A slice module for the runner: each export records what it saw in its state and decides. */
const mod: Record<string, unknown> = {
  echo(ctx: SliceContext) {
    ctx.state = {
      ctx: { eid: ctx.eid, ticket: ctx.ticket, beat: ctx.beat, signal: ctx.signal, target: ctx.target },
      text: ctx.text('/r/a'),
      kids: ctx.children('/r'),
      was: ctx.state,
      cancelled: ctx.checkCancel(),
    };
    ctx.accountIO(3);
    ctx.yield();
  },
  awaitBad(ctx: SliceContext) {
    ctx.await(7, { want: 42, ttl: '5' } as never); // wrong types on purpose: the codec refuses them
  },
  awaitOk(ctx: SliceContext) {
    ctx.await(7, { want: 'ist:ok', ttl: 9 });
  },
  mutate(ctx: SliceContext) {
    ctx.set('/r/a', 'x');
    ctx.requestCancel();
    ctx.close();
  },
  throws() {
    throw new Error('slice bug é');
  },
  badState(ctx: SliceContext) {
    ctx.state = { f: () => 1 };
  },
};

const snapshot = (): Uint8Array => {
  // one root /r with a value child 'a' ("é1") and a child 'b' without a value
  const w: number[] = [];
  const u32 = (x: number) => w.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24);
  const str = (s: string) => {
    const b = Buffer.from(s);
    u32(b.length);
    w.push(...b);
  };
  u32(1);
  str('/r');
  w.push(2);
  u32(2);
  str('a');
  w.push(1);
  const v = Buffer.from('é1');
  u32(v.length);
  w.push(...v);
  str('b');
  w.push(0);
  return new Uint8Array(w);
};

const run = (name: string, state: unknown, opts: { ioLeft?: number; cancelled?: boolean } = {}) =>
  decodeOutcome(
    runModuleSlice(mod, encodeInput(encodeHead({ name, eid: 12, ticket: 3, signal: 'sig/é', target: '/t' }), 5, opts.ioLeft ?? -1, opts.cancelled ?? false, snapshot(), encodeState(state))),
  );
const stateOf = (s: unknown) => v8.deserialize((s as EncodedState).bytes);

describe('the slice codec', () => {
  it('hands the slice its input and returns its decision with the state still encoded', () => {
    const out = run('echo', { n: 1 });
    expect(out.action).toBe('yield');
    expect(out.io).toBe(3);
    expect(out.state).toBeInstanceOf(EncodedState);
    expect(stateOf(out.state)).toEqual({ ctx: { eid: 12, ticket: 3, beat: 5, signal: 'sig/é', target: '/t' }, text: 'é1', kids: ['a', 'b'], was: { n: 1 }, cancelled: false });
    expect(run('echo', undefined, { ioLeft: 2, cancelled: true }).over).toBe(true);
    expect(stateOf(run('echo', undefined, { cancelled: true }).state)).toMatchObject({ cancelled: true });
  });

  it('refuses a want that is not text and a ttl that is not a number as a function slice does (the slice fails)', () => {
    const bad = run('awaitBad', 1);
    expect(bad.action).toBe('fail');
    expect(bad.error).toMatch(/options\.want/);
    const ok = run('awaitOk', 1);
    expect([ok.action, ok.oid, ok.want, ok.ttl]).toEqual(['await', 7, 'ist:ok', 9]);
  });

  it('carries guard counts, cancel requests, errors and unclonable states', () => {
    const m = run('mutate', 'st');
    expect([m.action, m.guard, m.cancel, stateOf(m.state)]).toEqual(['close', 1, true, 'st']);
    const t = run('throws', 1);
    expect([t.action, t.error]).toEqual(['fail', 'slice bug é']);
    const b = run('badState', 1);
    expect(b.action).toBe('fail');
    expect(b.error).toMatch(/structured-clone-safe/);
    expect(stateOf(b.state)).toBeUndefined();
  });

  it('equal inputs encode to equal bytes; an encoded state is passed on as is', () => {
    const head = encodeHead({ name: 'x', eid: 1, ticket: 1, signal: 'a/b', target: '/' });
    const st = encodeState({ a: [1, 2] });
    expect(encodeState(st)).toBe(st);
    expect(Buffer.from(encodeInput(head, 1, -1, false, snapshot(), st)).equals(encodeInput(head, 1, -1, false, snapshot(), encodeState({ a: [1, 2] })))).toBe(true);
    expect(Buffer.from(encodeInput(head, 1, -1, false, snapshot(), st)).equals(encodeInput(head, 2, -1, false, snapshot(), st))).toBe(false);
    expect(() => encodeState({ f: () => 1 })).toThrow(/could not be cloned/);
  });
});

describe('cheaper payload encodings give the same bytes', () => {
  it('u64leOf equals u64le for every safe non-negative integer', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => Buffer.from(u64leOf(n)).equals(u64le(BigInt(n)))));
    for (const n of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) expect(Buffer.from(u64leOf(n)).equals(u64le(BigInt(n)))).toBe(true);
  });

  it('toBytes of a string equals its UTF-8 bytes, ASCII or not, short or long', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string({ minLength: 60, maxLength: 70 })), (s) =>
        Buffer.from(toBytes(s)).equals(enc.encode(s)),
      ),
    );
  });
});
