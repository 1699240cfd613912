/**
 * The namepool interns names that fit no compact encoding (longer or user-provided text) and
 * hands out reference ids. Ids are given in order from 1, never reused (append-only), so the
 * same sequence of interns gives the same ids in every run. Patterns (glob text) are interned
 * with their glob bit; released entries keep their id retired.
 */
import { invalidName } from '../errors.js';
import {
  GLOB_MULTI_HI,
  GLOB_MULTI_LO,
  GLOB_STAR_HI,
  GLOB_STAR_LO,
  HALF,
  HI_PAYLOAD_MASK,
  NAMING_ACRONYM,
  NAMING_NUMERIC,
  NAMING_REFERENCE,
  NAMING_WORD,
  REFERENCE_HI,
  NUMERIC_NAME_MAX,
  REFERENCE_MAX,
  decodeAcronym,
  decodeWord,
  enc,
  encodeAcronym,
  encodeNumericText,
  encodeWord,
  namingOf,
  numericText,
  type Id,
} from './naming/id.js';

/** Longest text (UTF-16 units) a reference may hold. */
export const REFERENCE_MAX_LENGTH = 256;

/** Why a text cannot be a reference name, or null when it can. */
export function referenceTextProblem(text: string, start = 0, end = text.length): string | null {
  const n = end - start;
  if (n < 1) return 'empty';
  if (n > REFERENCE_MAX_LENGTH) return `longer than ${REFERENCE_MAX_LENGTH} characters`;
  if (text.charCodeAt(start) === 0x20 || text.charCodeAt(end - 1) === 0x20) return 'leading or trailing space';
  let digits = true;
  for (let i = start; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch < 0x30 || ch > 0x39) digits = false;
    if (ch < 0x20 || ch === 0x7f) return 'control character';
    if (ch === 0x2f) return "'/' is the path separator";
    if (ch === 0x7e) return "'~' separates domain and tag";
    // frames and stores keep names as UTF-8: a lone surrogate would come back as U+FFFD
    if (ch >= 0xd800 && ch <= 0xdfff) {
      if (ch >= 0xdc00 || i + 1 >= end) return 'a lone UTF-16 surrogate (not valid Unicode)';
      const low = text.charCodeAt(i + 1);
      if (low < 0xdc00 || low > 0xdfff) return 'a lone UTF-16 surrogate (not valid Unicode)';
      i++;
    }
  }
  if (digits) return `a digits-only name is numeric (a cell's: 1 to ${NUMERIC_NAME_MAX}, without leading zeros)`;
  return null;
}

export class Namepool {
  /** id -> text (undefined once released); index 0 unused. */
  private readonly texts: (string | undefined)[] = [undefined];
  private readonly refs: number[] = [0];
  private readonly globs: boolean[] = [false];
  private readonly byText = new Map<string, number>();
  private readonly byPattern = new Map<string, number>();

  /** Number of reference ids handed out (retired ones included). */
  get size(): number {
    return this.texts.length - 1;
  }

  /**
   * The canonical id of a literal text: a word, acronym or numeric id when the text fits one,
   * else a reference (interned here). Throws ERR_INVALID_NAME for text no encoding accepts or
   * text holding '*' (use internPattern).
   */
  intern(text: string): Id {
    if (typeof text !== 'string') throw invalidName(String(text), 'a name must be a string');
    if (encodeNumericText(text) || encodeWord(text) || encodeAcronym(text)) {
      if (enc.glob) throw invalidName(text, "'*' is a glob character, only valid in patterns");
      return { hi: enc.hi, lo: enc.lo };
    }
    const id = this.internReference(text, false);
    return { hi: REFERENCE_HI | Math.floor(id / HALF), lo: id % HALF };
  }

  /** Like intern, but the text may hold '*' (a glob pattern); the glob bit is kept. */
  internPattern(text: string): Id & { glob: boolean } {
    if (typeof text !== 'string') throw invalidName(String(text), 'a name must be a string');
    if (text === '*') return { hi: GLOB_STAR_HI, lo: GLOB_STAR_LO, glob: true };
    if (text === '**') return { hi: GLOB_MULTI_HI, lo: GLOB_MULTI_LO, glob: true };
    if (encodeNumericText(text) || encodeWord(text) || encodeAcronym(text)) return { hi: enc.hi, lo: enc.lo, glob: enc.glob };
    const glob = text.includes('*');
    const id = this.internReference(text, glob);
    return { hi: REFERENCE_HI | Math.floor(id / HALF), lo: id % HALF, glob };
  }

  /** The reference payload for `text`, interning it (refcount + 1) when new. */
  internReference(text: string, glob: boolean): number {
    const map = glob ? this.byPattern : this.byText;
    const known = map.get(text);
    if (known !== undefined) {
      this.refs[known]++;
      return known;
    }
    const problem = referenceTextProblem(text);
    if (problem !== null) throw invalidName(text, problem);
    if (!glob && text.includes('*')) throw invalidName(text, "'*' is a glob character, only valid in patterns");
    const id = this.texts.length;
    if (id > REFERENCE_MAX) throw invalidName(text, 'the namepool is full');
    this.texts.push(text);
    this.refs.push(1);
    this.globs.push(glob);
    map.set(text, id);
    return id;
  }

  /**
   * Undo the hand-out of ids `mark` and above that are retired again (a failed frame apply
   * interned them): the next intern reuses them, as if they had never been handed out.
   */
  forgetRetiredFrom(mark: number): void {
    while (this.texts.length - 1 >= mark && this.texts.length > 1 && this.texts[this.texts.length - 1] === undefined) {
      this.texts.pop();
      this.refs.pop();
      this.globs.pop();
    }
  }

  /** The reference payload of an already interned literal text, or 0. Never interns. */
  peekReference(text: string): number {
    return this.byText.get(text) ?? 0;
  }

  /**
   * Take one more reference on a live reference id (a cell named by it holds one). Returns
   * false for an unknown or retired id; true, doing nothing, for ids that are not references.
   */
  retain(hi: number, lo: number): boolean {
    if (namingOf(hi) !== NAMING_REFERENCE) return true;
    const ref = (hi & HI_PAYLOAD_MASK) * HALF + lo;
    if (this.texts[ref] === undefined) return false;
    this.refs[ref]++;
    return true;
  }

  /** Drop one reference; at zero the entry is retired (its id is never handed out again). */
  release(id: Id): boolean {
    return this.releaseId(id.hi, id.lo);
  }

  /** `release` without the Id object. */
  releaseId(hi: number, lo: number): boolean {
    if (namingOf(hi) !== NAMING_REFERENCE) return false;
    const ref = (hi & HI_PAYLOAD_MASK) * HALF + lo;
    const text = this.texts[ref];
    if (text === undefined) return false;
    if (--this.refs[ref] > 0) return true;
    (this.globs[ref] ? this.byPattern : this.byText).delete(text);
    this.texts[ref] = undefined;
    return true;
  }

  /** Whether a reference id was interned as a pattern. */
  isPattern(id: Id): boolean {
    if (namingOf(id.hi) !== NAMING_REFERENCE) return false;
    if (id.hi === GLOB_STAR_HI && (id.lo === GLOB_STAR_LO || id.lo === GLOB_MULTI_LO)) return true;
    return this.globs[(id.hi & HI_PAYLOAD_MASK) * HALF + id.lo] === true;
  }

  /** Text of any id (word, acronym, numeric, reference); undefined for an unknown reference. */
  text(hi: number, lo: number): string | undefined {
    switch (namingOf(hi)) {
      case NAMING_WORD:
        return decodeWord(hi, lo);
      case NAMING_ACRONYM:
        return decodeAcronym(hi, lo);
      case NAMING_NUMERIC:
        return numericText(hi, lo);
      default:
        if (hi === GLOB_STAR_HI && lo === GLOB_STAR_LO) return '*';
        if (hi === GLOB_MULTI_HI && lo === GLOB_MULTI_LO) return '**';
        return this.texts[(hi & HI_PAYLOAD_MASK) * HALF + lo];
    }
  }

  /** All live entries in id order: [id, text, glob]. */
  entries(): Array<[number, string, boolean]> {
    const out: Array<[number, string, boolean]> = [];
    for (let i = 1; i < this.texts.length; i++) {
      const t = this.texts[i];
      if (t !== undefined) out.push([i, t, this.globs[i]]);
    }
    return out;
  }
}
