/** Allocating wrappers over the scratch encoders, for callers outside hot paths. */
import { enc, encodeAcronym, encodeNumber, encodeWord, type Id } from './id.js';

/** Encode a word id, or undefined when the text is not a word. */
export function encodeWordId(text: string): (Id & { glob: boolean }) | undefined {
  return encodeWord(text) ? { hi: enc.hi, lo: enc.lo, glob: enc.glob } : undefined;
}

/** Encode an acronym id, or undefined when the text is not an acronym. */
export function encodeAcronymId(text: string): (Id & { glob: boolean }) | undefined {
  return encodeAcronym(text) ? { hi: enc.hi, lo: enc.lo, glob: enc.glob } : undefined;
}

/** Encode a numeric id, or undefined for numbers outside 1 .. 2^53-1. */
export function encodeNumericId(n: number): Id | undefined {
  return encodeNumber(n) ? { hi: enc.hi, lo: enc.lo } : undefined;
}
