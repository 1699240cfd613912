/**
 * One list of error codes: `ERROR_CODES` in src/errors.ts, the table in docs/errors.md and the
 * throw sites in src/ and native/ agree. Every throw in src/ goes through a coded factory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const codes = new Set(Object.keys(ERROR_CODES));

function files(dir: string, ext: RegExp): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => path.join(dir, f));
}

const read = (f: string): string => fs.readFileSync(path.join(root, f), 'utf8');
const sources = files('src', /\.ts$/).filter((f) => f !== path.join('src', 'errors.ts'));
const native = files('native', /\.(cc|h|cpp|hpp)$/);
/** Codes of Node's own that our code matches on (never throws). */
const FOREIGN = new Set(['ERR_BUFFER_TOO_LARGE']);
/** Whole codes named in a text ('ERR_FRAME_' + something built at run time is not one). */
const named = (text: string): string[] => [...text.matchAll(/\bERR_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]);

describe('error codes', () => {
  it('docs/errors.md has one table with exactly the codes of the list', () => {
    const rows = read('docs/errors.md')
      .split('\n')
      .map((l) => /^\| `(ERR_[A-Z0-9_]+)` \|/.exec(l)?.[1])
      .filter((c): c is string => c !== undefined);
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual([...codes].sort());
  });

  it('every code named in src/ and native/ is in the list', () => {
    const unknown: string[] = [];
    for (const f of [...sources, ...native]) for (const c of named(read(f))) if (!codes.has(c) && !FOREIGN.has(c)) unknown.push(`${f}: ${c}`);
    expect(unknown).toEqual([]);
  });

  it('every throw in src/ carries a code (no bare Error, TypeError, RangeError)', () => {
    const bare: string[] = [];
    for (const f of sources) {
      read(f)
        .split('\n')
        .forEach((line, i) => {
          if (/new (Type|Range|Syntax|Reference)?Error\(/.test(line)) bare.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(bare).toEqual([]);
  });

  it('the addon throws only through throw_coded (native/napi/coded_error.h)', () => {
    const raw = native.filter((f) => !f.endsWith('coded_error.h') && /Error::New|napi_throw/.test(read(f)));
    expect(raw).toEqual([]);
  });

  it('every code of the list is thrown somewhere', () => {
    // a factory in errors.ts makes the codes its body names; a call of it throws them
    const errors = read(path.join('src', 'errors.ts'));
    const factories = [...errors.matchAll(/export function (\w+)\(([\s\S]*?)\n}/g)].map((m) => ({ name: m[1]!, codes: named(m[2]!) }));
    const used = new Set<string>();
    const text = [...sources, ...native].map(read).join('\n');
    for (const c of named(text)) used.add(c);
    for (const f of factories) if (new RegExp(`\\b${f.name}\\(`).test(text)) for (const c of f.codes) used.add(c);
    // parameterized factories (storeError(code, ...)) are covered by the codes at their call sites
    expect([...codes].filter((c) => !used.has(c))).toEqual([]);
  });
});
