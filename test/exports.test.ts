/**
 * The public face: what `import ... from 'cep'` gives, value by value, is the checked-in list
 * test/exports.txt. A change to it is a change of the public API: edit the list on purpose.
 * Everything else is in `cep/internal`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import * as internal from '../src/internal.js';

const list = fs
  .readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'exports.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0);

describe('public exports', () => {
  it("'cep' exports exactly the names of test/exports.txt", () => {
    expect(Object.keys(api).sort()).toEqual(list);
  });

  it("'cep/internal' holds every public value too (the same objects)", () => {
    const inner = internal as Record<string, unknown>;
    for (const [name, value] of Object.entries(api)) expect(inner[name], name).toBe(value);
  });

  it('a runtime keeps its core state read-only', () => {
    const rt = api.createRuntime();
    expect(() => {
      (rt as { beat: number }).beat = 7;
    }).toThrow(TypeError);
    expect(rt.beat).toBe(0);
    expect(() => {
      (rt as { historyFloor: number }).historyFloor = 7;
    }).toThrow(TypeError);
    expect(rt.historyFloor).toBe(0);
  });
});
