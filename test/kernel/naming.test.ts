import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Namepool,
  Name,
  createRuntime,
  decodeAcronym,
  decodeWord,
  encodeAcronymId,
  encodeNumericId,
  encodeWordId,
  globMatch,
  idFromBigInt,
  idToBigInt,
  namingOf,
  numericText,
  parsePath,
  NAMING_ACRONYM,
  NAMING_NUMERIC,
  NAMING_REFERENCE,
  NAMING_WORD,
} from '../../src/internal.js';

const WORD_ALPHABET = 'abcdefghijklmnopqrstuvwxyz:_-.';

/** Reference encoding in BigInt, straight from the bit layout in docs/kernel.md. */
function wordBig(text: string): bigint {
  const code = (ch: string) => (ch >= 'a' && ch <= 'z' ? ch.charCodeAt(0) - 0x60 : 27 + ':_-.*'.indexOf(ch));
  let v = 0n;
  for (let i = 0; i < text.length; i++) v |= BigInt(code(text[i])) << BigInt(5 * (10 - i));
  return v; // naming 0
}

function acronymBig(text: string): bigint {
  let v = 0n;
  for (let i = 0; i < text.length; i++) v |= BigInt(text.charCodeAt(i) - 0x20) << BigInt(6 * (8 - i));
  return (1n << 56n) | v;
}

describe('DT encodings', () => {
  it('encodes words bit by bit like the reference (5-bit chars, first char highest)', () => {
    const id = encodeWordId('cmp:order')!;
    expect(idToBigInt(id.hi, id.lo)).toBe(wordBig('cmp:order'));
    expect(namingOf(id.hi)).toBe(NAMING_WORD);
    expect(decodeWord(id.hi, id.lo)).toBe('cmp:order');
    expect(idToBigInt(encodeWordId('a')!.hi, encodeWordId('a')!.lo)).toBe(1n << 50n);
  });

  it('round-trips random words', () => {
    const word = fc
      .array(fc.constantFrom(...WORD_ALPHABET), { minLength: 1, maxLength: 11 })
      .map((a) => a.join(''))
      .filter((s) => /[a-z]/.test(s));
    fc.assert(
      fc.property(word, (w) => {
        const id = encodeWordId(w)!;
        expect(id).toBeDefined();
        expect(idToBigInt(id.hi, id.lo)).toBe(wordBig(w));
        expect(decodeWord(id.hi, id.lo)).toBe(w);
      }),
    );
  });

  it('rejects digits, uppercase, too long and letterless words', () => {
    for (const bad of ['a1', 'Abc', 'abcdefghijkl', '::', '', 'a b']) expect(encodeWordId(bad)).toBeUndefined();
  });

  it('encodes acronyms (6-bit chars 0x20..0x5F) and round-trips them', () => {
    const id = encodeAcronymId('CEP')!;
    expect(namingOf(id.hi)).toBe(NAMING_ACRONYM);
    expect(idToBigInt(id.hi, id.lo)).toBe(acronymBig('CEP'));
    const acr = fc
      .array(
        fc.integer({ min: 0x21, max: 0x5f }).map((c) => String.fromCharCode(c)),
        { minLength: 1, maxLength: 9 },
      )
      .map((a) => a.join(''))
      .filter((s) => !/^[0-9]+$/.test(s));
    fc.assert(
      fc.property(acr, (a) => {
        const x = encodeAcronymId(a)!;
        expect(idToBigInt(x.hi, x.lo)).toBe(acronymBig(a));
        expect(decodeAcronym(x.hi, x.lo)).toBe(a);
        expect(x.glob).toBe(a.includes('*'));
      }),
    );
    expect(encodeAcronymId('123')).toBeUndefined(); // all digits: numeric
    expect(encodeAcronymId('ABCDEFGHIJ')).toBeUndefined();
    expect(encodeAcronymId('abc')).toBeUndefined();
  });

  it('encodes numeric ids as two 29-bit halves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const id = encodeNumericId(n)!;
        expect(namingOf(id.hi)).toBe(NAMING_NUMERIC);
        expect(idToBigInt(id.hi, id.lo)).toBe((3n << 56n) | BigInt(n));
        expect(numericText(id.hi, id.lo)).toBe(String(n));
        expect(id.hi).toBeLessThan(2 ** 29);
        expect(id.lo).toBeLessThan(2 ** 29);
      }),
    );
    expect(encodeNumericId(0)).toBeUndefined();
    expect(encodeNumericId(-1)).toBeUndefined();
    expect(encodeNumericId(1.5)).toBeUndefined();
    const big = idFromBigInt((3n << 56n) | ((1n << 56n) - 2n));
    expect(numericText(big.hi, big.lo)).toBe(String((1n << 56n) - 2n));
  });

  it('orders ids as unsigned 58-bit numbers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 58n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 58n) - 1n }), (a, b) => {
        const x = idFromBigInt(a);
        const y = idFromBigInt(b);
        const c = x.hi !== y.hi ? x.hi - y.hi : x.lo - y.lo;
        expect(Math.sign(c)).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});

describe('namepool', () => {
  it('interns canonically: word, acronym, numeric first, references otherwise', () => {
    const pool = new Namepool();
    expect(namingOf(pool.intern('data').hi)).toBe(NAMING_WORD);
    expect(namingOf(pool.intern('CEP').hi)).toBe(NAMING_ACRONYM);
    expect(namingOf(pool.intern('42').hi)).toBe(NAMING_NUMERIC);
    const r = pool.intern('user-name-2024');
    expect(namingOf(r.hi)).toBe(NAMING_REFERENCE);
    expect(pool.text(r.hi, r.lo)).toBe('user-name-2024');
  });

  it('is append-only and deterministic', () => {
    const a = new Namepool();
    const b = new Namepool();
    const names = ['x1', 'y2', 'a-very-long-name-indeed', 'x1', 'Mixed Case'];
    const ia = names.map((n) => a.intern(n));
    const ib = names.map((n) => b.intern(n));
    expect(ia).toEqual(ib);
    expect(ia[0]).toEqual(ia[3]);
    expect(a.size).toBe(4);
    // release retires ids: a re-intern gets a fresh id, never a reused one
    expect(a.release(ia[1])).toBe(true);
    expect(a.text(ia[1].hi, ia[1].lo)).toBeUndefined();
    const again = a.intern('y2');
    expect(again).not.toEqual(ia[1]);
    expect(a.size).toBe(5);
  });

  it('keeps refcounts and glob patterns', () => {
    const pool = new Namepool();
    const x = pool.intern('x1');
    pool.intern('x1');
    expect(pool.release(x)).toBe(true);
    expect(pool.text(x.hi, x.lo)).toBe('x1');
    expect(pool.release(x)).toBe(true);
    expect(pool.text(x.hi, x.lo)).toBeUndefined();
    const p = pool.internPattern('user-*-2');
    expect(p.glob).toBe(true);
    expect(pool.isPattern(p)).toBe(true);
    expect(() => pool.intern('user-*-2')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });

  it('rejects bad names with ERR_INVALID_NAME', () => {
    const pool = new Namepool();
    for (const bad of ['', ' lead', 'trail ', 'a/b', 'a~b', 'tab\there', 'x'.repeat(300), '007', '0']) {
      expect(() => pool.intern(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    }
  });
});

describe('names, paths and globs', () => {
  it('parses DOMAIN~tag names', () => {
    const pool = new Namepool();
    const n = Name.parse('APP~users', pool);
    expect(n.toString(pool)).toBe('APP~users');
    expect(Name.parse('users', pool).toString(pool)).toBe('users');
    expect(() => Name.parse('12~users', pool)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });

  it('parses and prints paths', () => {
    const rt = createRuntime();
    const a = rt.find('/data')!.add('app').add('x');
    expect(a.path).toBe('/data/app/x');
    expect(rt.find('/data/app/x')).toBe(a);
    expect(rt.find('/')).toBe(rt.root);
    expect(rt.find('/data/nope')).toBeUndefined();
    expect(rt.find('/data/never-interned-name')).toBeUndefined();
    for (const bad of ['', 'data', '/data/', '//data', '/data//x', '/da ta ']) {
      expect(() => rt.find(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PATH' }));
    }
    expect(parsePath('/sys/CEP~x/42', rt.namepool)!.map((s) => s.text)).toEqual(['sys', 'CEP~x', '42']);
  });

  it('glob-matches zero or more characters within a segment', () => {
    expect(globMatch('a*', 'a')).toBe(true);
    expect(globMatch('a*c', 'abbbc')).toBe(true);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*c', 'abd')).toBe(false);
    expect(globMatch('*b*', 'abc')).toBe(true);
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (x, y) => {
        const t = x + y;
        expect(globMatch(`${x}*`, t)).toBe(true);
        expect(globMatch(`*${y}`, t)).toBe(true);
        expect(globMatch(t.replaceAll('*', ''), t.replaceAll('*', ''))).toBe(true);
      }),
    );
  });

  it('queries with glob patterns in store order', () => {
    const rt = createRuntime();
    const d = rt.find('/data')!;
    for (const n of ['alpha', 'beta', 'alps', 'x1']) d.add(n).add('leaf');
    expect(rt.query('/data/al*').map((c) => c.name)).toEqual(['alpha', 'alps']);
    expect(rt.query('/data/*/leaf').length).toBe(4);
    expect(rt.query('/**/leaf').length).toBe(4);
    expect(rt.query('/data/x*').map((c) => c.name)).toEqual(['x1']);
    expect(() => d.add('a*')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
  });
});
