/**
 * Full cell names (domain + tag) and their text form.
 *
 * A cell stores its name as three small integers: `dom` (an index into the process-wide domain
 * table below; domains are few), `hi` and `lo` (the tag id's halves). Text form of one name:
 * `tag` (domain CEP) or `DOMAIN~tag`. Tags print as the word / acronym / decimal number / namepool
 * text they encode.
 */
import { invalidName } from '../../errors.js';
import type { Namepool } from '../namepool.js';
import { referenceTextProblem } from '../namepool.js';
import {
  AUTO_HI,
  AUTO_LO,
  GLOB_MULTI_HI,
  GLOB_MULTI_LO,
  GLOB_STAR_HI,
  GLOB_STAR_LO,
  HALF,
  NAMING_NUMERIC,
  REFERENCE_HI,
  compareId,
  enc,
  encodeAcronym,
  encodeNumber,
  encodeNumericText,
  encodeWord,
  isZeroPayload,
  namingOf,
  type Id,
} from './id.js';

// ---- domain table ------------------------------------------------------------------------

const domHi: number[] = [];
const domLo: number[] = [];
const domByKey = new Map<string, number>();

/** Small index of a domain id (registered on first use, process-wide). */
export function domainIndex(hi: number, lo: number): number {
  const key = `${hi}:${lo}`;
  let i = domByKey.get(key);
  if (i === undefined) {
    i = domHi.length;
    domHi.push(hi);
    domLo.push(lo);
    domByKey.set(key, i);
  }
  return i;
}

export function domainId(index: number): Id {
  return { hi: domHi[index], lo: domLo[index] };
}

export function compareDomains(a: number, b: number): number {
  return a === b ? 0 : compareId(domHi[a], domLo[a], domHi[b], domLo[b]);
}

encodeAcronym('CEP');
/** Domain index 0: the default domain `CEP` (acronym). */
export const DOM_CEP = domainIndex(enc.hi, enc.lo);

// ---- name scratch and parsing --------------------------------------------------------------

/** Scratch result of the name parsers (no allocation). */
export const nm = { dom: 0, hi: 0, lo: 0, glob: false };

/** Parse modes. */
export const NAME_INTERN = 0; // literal; intern unknown references (add)
export const NAME_PEEK = 1; // literal; unknown reference -> false (lookups)
export const NAME_PATTERN = 2; // glob allowed, nothing interned (queries): a glob reference gets id 0 (matched by text)
export const NAME_INTERN_PATTERN = 3; // glob allowed; glob references are interned as patterns (Name.parse)

function parseTag(text: string, start: number, end: number, pool: Namepool, mode: number, domain: boolean): boolean {
  if (start === end) throw invalidName(text, 'empty name');
  const pattern = mode >= NAME_PATTERN;
  if (pattern && end - start <= 2) {
    const c0 = text.charCodeAt(start);
    if (c0 === 0x2a && end - start === 1) {
      enc.hi = GLOB_STAR_HI;
      enc.lo = GLOB_STAR_LO;
      enc.glob = true;
      return true;
    }
    if (c0 === 0x2a && text.charCodeAt(start + 1) === 0x2a) {
      enc.hi = GLOB_MULTI_HI;
      enc.lo = GLOB_MULTI_LO;
      enc.glob = true;
      return true;
    }
  }
  if (encodeNumericText(text, start, end)) {
    if (domain) throw invalidName(text, 'a domain cannot be numeric');
    return true;
  }
  if (encodeWord(text, start, end) || encodeAcronym(text, start, end)) {
    if (enc.glob && !pattern) throw invalidName(text, "'*' is a glob character, only valid in patterns");
    return true;
  }
  const str = start === 0 && end === text.length ? text : text.slice(start, end);
  const problem = referenceTextProblem(str);
  if (problem !== null) throw invalidName(text, problem);
  const glob = str.includes('*');
  if (glob && !pattern) throw invalidName(text, "'*' is a glob character, only valid in patterns");
  let ref: number;
  if (glob && mode === NAME_PATTERN) {
    enc.hi = enc.lo = 0;
    enc.glob = true;
    return true;
  }
  if (mode === NAME_PEEK || mode === NAME_PATTERN) {
    ref = pool.peekReference(str);
    if (ref === 0) return false;
  } else {
    ref = pool.internReference(str, glob);
  }
  enc.hi = REFERENCE_HI | Math.floor(ref / HALF);
  enc.lo = ref % HALF;
  enc.glob = glob;
  return true;
}

/**
 * Parse `text[start..end)` (`tag` or `DOMAIN~tag`) into `nm`. Returns false only in NAME_PEEK
 * or NAME_PATTERN mode when the text is a valid literal reference the namepool does not know
 * (so no cell has it).
 * Throws ERR_INVALID_NAME for text no encoding accepts.
 */
export function parseName(text: string, pool: Namepool, mode: number, start = 0, end = text.length): boolean {
  let sep = -1;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === 0x7e) {
      sep = i;
      break;
    }
  }
  if (sep < 0) {
    nm.dom = DOM_CEP;
  } else {
    if (!parseTag(text, start, sep, pool, mode === NAME_PATTERN ? NAME_PEEK : mode === NAME_INTERN_PATTERN ? NAME_INTERN : mode, true)) return false;
    if (enc.glob) throw invalidName(text, 'a domain cannot be a glob');
    nm.dom = domainIndex(enc.hi, enc.lo);
    start = sep + 1;
  }
  if (!parseTag(text, start, end, pool, mode, false)) return false;
  nm.hi = enc.hi;
  nm.lo = enc.lo;
  nm.glob = enc.glob;
  return true;
}

/** Name printed as text (`tag`, or `DOMAIN~tag` outside the CEP domain). */
export function nameText(dom: number, hi: number, lo: number, pool: Namepool): string {
  const tag = pool.text(hi, lo) ?? `#ref${(hi & 0x7ffffff) * HALF + lo}`;
  if (dom === DOM_CEP) return tag;
  return `${pool.text(domHi[dom], domLo[dom]) ?? '?'}~${tag}`;
}

/** A parsed, validated name: domain + tag ids (and the glob bit for patterns). */
export class Name {
  /** Domain index (process-wide table). */
  readonly dom: number;
  readonly hi: number;
  readonly lo: number;
  readonly glob: boolean;

  constructor(domain: Id, tag: Id, glob = false) {
    if (isZeroPayload(domain.hi, domain.lo) || namingOf(domain.hi) === NAMING_NUMERIC) throw invalidName('?', 'invalid domain id');
    if (isZeroPayload(tag.hi, tag.lo)) throw invalidName('?', 'zero tag id');
    this.dom = domainIndex(domain.hi, domain.lo);
    this.hi = tag.hi;
    this.lo = tag.lo;
    this.glob = glob;
  }

  get domain(): Id {
    return domainId(this.dom);
  }

  get tag(): Id {
    return { hi: this.hi, lo: this.lo };
  }

  equals(other: Name): boolean {
    return this.dom === other.dom && this.hi === other.hi && this.lo === other.lo;
  }

  /** Parse text (interning references in `pool`). */
  static parse(text: string, pool: Namepool, pattern = false): Name {
    if (typeof text !== 'string') throw invalidName(String(text), 'a name must be a string');
    parseName(text, pool, pattern ? NAME_INTERN_PATTERN : NAME_INTERN);
    return new Name(domainId(nm.dom), { hi: nm.hi, lo: nm.lo }, nm.glob);
  }

  /** A numeric name. */
  static numeric(n: number): Name {
    if (!encodeNumber(n)) throw invalidName(String(n), 'numeric names are integers from 1 to 2^53-1');
    return new Name(domainId(DOM_CEP), { hi: enc.hi, lo: enc.lo });
  }

  toString(pool?: Namepool): string {
    if (pool) return nameText(this.dom, this.hi, this.lo, pool);
    return `${this.dom === DOM_CEP ? '' : `dom${this.dom}~`}${this.hi}:${this.lo}`;
  }
}

/** Auto-id request marker (numeric payload 2^56-1). */
export function isAutoTag(hi: number, lo: number): boolean {
  return hi === AUTO_HI && lo === AUTO_LO;
}

/** Compare two names: domain id, then tag id (unsigned 58-bit). */
export function compareNameParts(aDom: number, aHi: number, aLo: number, bDom: number, bHi: number, bLo: number): number {
  if (aDom !== bDom) return compareDomains(aDom, bDom);
  return aHi !== bHi ? aHi - bHi : aLo - bLo;
}

/** Take the namepool references a cell's name holds (tag and domain, where they are references). */
export function retainName(pool: Namepool, dom: number, hi: number, lo: number): boolean {
  if (!pool.retain(hi, lo)) return false;
  if (dom === DOM_CEP || pool.retain(domHi[dom], domLo[dom])) return true;
  pool.releaseId(hi, lo);
  return false;
}

/** Give back what `retainName` (or interning the name's text) took. */
export function releaseName(pool: Namepool, dom: number, hi: number, lo: number): void {
  pool.releaseId(hi, lo);
  if (dom !== DOM_CEP) pool.releaseId(domHi[dom], domLo[dom]);
}
