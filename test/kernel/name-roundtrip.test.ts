/**
 * Whatever `add` accepts as a name must come back exactly: through a frame (encodeBranch →
 * readFrame → applyFrame) and through a store (close, reopen). What cannot is refused at `add`
 * with ERR_INVALID_NAME (digit strings above the numeric limit, lone UTF-16 surrogates).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { applyFrame, createRuntime, encodeBranch, readFrame, type Cell } from '../../src/index.js';
import type { PersistentRuntime } from '../../src/runtime/persistent.js';
import { NUMERIC_NAME_MAX } from '../../src/kernel/naming/id.js';
import { removeTempDirs, tempDir } from '../persistence/cps-helpers.js';

afterEach(removeTempDirs);

/** Names of every kind, and the inputs that broke stores before: big digit strings, lone surrogates. */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.bigInt({ min: 1n, max: 1n << 60n }).map(String),
  fc.bigInt({ min: BigInt(NUMERIC_NAME_MAX) - 3n, max: BigInt(NUMERIC_NAME_MAX) + 3n }).map(String),
  fc.constantFrom('a\ud800b', 'a\udc00b', '\ud83d', '\ude00x', '\ud83d\ude00', '.', '..', 'A B', 'x~y', 'ABC~def', 'q\ud800~r'),
  fc.tuple(fc.string({ maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 5 })).map(([d, t]) => `${d}~${t}`),
);
const nameArb = fc.oneof(text, fc.integer({ min: -2, max: 2 ** 40 }), fc.constantFrom(NUMERIC_NAME_MAX, NUMERIC_NAME_MAX + 1, Number.MAX_SAFE_INTEGER, 2 ** 53, 1.5));

/** Add every name `add` accepts under `parent` (a refusal must be ERR_INVALID_NAME or ERR_NAME_EXISTS); returns the cells by input. */
function addAll(parent: Cell, names: Array<string | number>): Array<{ input: string | number; cell: Cell }> {
  const out: Array<{ input: string | number; cell: Cell }> = [];
  for (const [i, input] of names.entries()) {
    let cell: Cell;
    try {
      cell = parent.add(input, { value: `v${i}` });
    } catch (e) {
      expect(['ERR_INVALID_NAME', 'ERR_NAME_EXISTS']).toContain((e as { code?: string }).code);
      continue;
    }
    out.push({ input, cell });
  }
  return out;
}

/** The copy holds each added cell under the same printed name, found by the same input, with the same payload. */
function expectSameNames(copy: Cell, added: Array<{ input: string | number; cell: Cell }>): void {
  expect(
    copy
      .children()
      .map((c) => c.name)
      .sort(),
  ).toEqual(added.map((a) => a.cell.name).sort());
  for (const { input, cell } of added) {
    const back = copy.child(input);
    expect(back?.name).toBe(cell.name);
    expect(back?.text).toBe(cell.text);
  }
}

function reopen(dir: string): PersistentRuntime {
  return createRuntime({ store: { dir, io: 'sync' }, record: false });
}

describe('names add accepts round-trip exactly', () => {
  it('refuses digit strings and numbers above the numeric limit, and lone surrogates, with ERR_INVALID_NAME', () => {
    const rt = createRuntime();
    const app = rt.find('/data')!.add('app');
    for (const bad of ['9007199254740993', '9007199254740991', String(NUMERIC_NAME_MAX + 1), 'a\ud800b', 'a\udc00b', '\ud83d', 'x~\udc00', '\ud800~x', Number.MAX_SAFE_INTEGER]) {
      expect(() => app.add(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    }
    expect(app.children()).toEqual([]);
    expect(rt.namepool.size).toBe(0); // a refused domain reference is given back
    expect(app.add(String(NUMERIC_NAME_MAX)).name).toBe(String(NUMERIC_NAME_MAX));
    expect(app.add('a\ud83d\ude00b').name).toBe('a\ud83d\ude00b'); // a surrogate pair is fine
    // the auto-id cursor stops at the limit instead of handing out a name no frame can carry
    expect(() => app.add(null)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });

  it('any accepted name comes back through encodeBranch / readFrame / applyFrame', () => {
    fc.assert(
      fc.property(fc.array(nameArb, { maxLength: 12 }), (names) => {
        const rt = createRuntime();
        const app = rt.find('/data')!.add('app');
        const added = addAll(app, names);
        const frame = encodeBranch(app, { mode: 'snapshot' });
        const read = readFrame(frame);
        expect(read.cells.length).toBe(added.length + 1);
        const copy = createRuntime();
        applyFrame(copy, frame);
        expectSameNames(copy.find('/data/app')!, added);
      }),
      { numRuns: 200 },
    );
  });

  it('any accepted name comes back through a store, as a cell and as a branch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nameArb, { maxLength: 8 }), async (names) => {
        const dir = tempDir('names');
        const rt = reopen(dir);
        const data = rt.find('/data')!;
        const app = data.add('app');
        const cells = addAll(app, names);
        const branches = addAll(
          data,
          names.filter((n) => n !== 'app' && n !== 'persist' && n !== 'mailbox'),
        );
        rt.step();
        await rt.flush();
        await rt.close();
        const again = reopen(dir);
        expectSameNames(again.find('/data/app')!, cells);
        const reopened = again
          .find('/data')!
          .children()
          .filter((c) => c.name !== 'app' && c.name !== 'persist' && c.name !== 'mailbox');
        expect(reopened.map((c) => c.name).sort()).toEqual(branches.map((b) => b.cell.name).sort());
        for (const { input, cell } of branches) expect(again.find('/data')!.child(input)?.text).toBe(cell.text);
        await again.close();
      }),
      { numRuns: 15 },
    );
  }, 60_000);
});
