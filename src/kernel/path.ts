/**
 * Paths: `/` is the root, `/data/app/x` names a cell by the names of its ancestors. Segments
 * are names in text form (see naming/name.ts); there are no empty segments, no trailing slash,
 * no `.`/`..` navigation. Patterns (queries) may use `*` within a segment (zero or more
 * characters), a lone `*` (any one name) and `**` (any run of segments, zero included).
 */
import { invalidPath } from '../errors.js';
import type { Namepool } from './namepool.js';
import { NAME_PATTERN, NAME_PEEK, nm, parseName } from './naming/name.js';

/** A parsed path segment. `text` is the segment as written (needed for glob matching). */
export interface PathSegment {
  readonly dom: number;
  readonly hi: number;
  readonly lo: number;
  readonly glob: boolean;
  readonly text: string;
}

/** ERR_INVALID_PATH unless `text` is a string that starts with `/`. */
export function checkPathText(text: string): void {
  if (typeof text !== 'string') throw invalidPath(String(text), 'a path must be a string');
  if (text.length === 0 || text.charCodeAt(0) !== 0x2f) throw invalidPath(text, "a path starts with '/'");
}

export function splitPath(text: string): string[] {
  checkPathText(text);
  if (text.length === 1) return [];
  const parts = text.slice(1).split('/');
  for (const p of parts) if (p.length === 0) throw invalidPath(text, 'empty segment');
  return parts;
}

function rethrowAsPath(text: string, error: unknown): never {
  const e = error as Error & { code?: string };
  if (e && e.code === 'ERR_INVALID_NAME') throw invalidPath(text, e.message);
  throw error;
}

/**
 * ERR_INVALID_PATH for a path `splitPath` refuses: not a string, no leading `/`, an empty
 * segment (`//`, a trailing `/`). For walking a path without splitting it; the same checks in
 * the same order, so the same error.
 */
export function checkPathSegments(text: string): void {
  checkPathText(text);
  if (text.length > 1 && (text.indexOf('//') >= 0 || text.charCodeAt(text.length - 1) === 0x2f)) throw invalidPath(text, 'empty segment');
}

/** Where the segment of a checked path that starts at `start` ends (the next `/` or the end). */
export function segmentEnd(text: string, start: number): number {
  const end = text.indexOf('/', start);
  return end < 0 ? text.length : end;
}

/**
 * Parse the literal segment `text[start..end)` into `nm` for a lookup, as `parsePath` parses
 * each segment: false when it is a reference the namepool does not know; ERR_INVALID_PATH for
 * bad text.
 */
export function peekSegment(text: string, pool: Namepool, start: number, end: number): boolean {
  try {
    return parseName(text, pool, NAME_PEEK, start, end);
  } catch (e) {
    // parsed again as its own string, so the error names the segment as `parsePath`'s does
    try {
      parseName(text.slice(start, end), pool, NAME_PEEK);
    } catch (alone) {
      rethrowAsPath(text, alone);
    }
    rethrowAsPath(text, e);
  }
}

/**
 * Parse a literal path for lookups. Returns undefined when a segment is a reference name the
 * namepool does not know (so no cell can have it). Throws ERR_INVALID_PATH for bad text.
 */
export function parsePath(text: string, pool: Namepool): PathSegment[] | undefined {
  const parts = splitPath(text);
  const out: PathSegment[] = [];
  try {
    for (const p of parts) {
      if (!parseName(p, pool, NAME_PEEK)) return undefined;
      out.push({ dom: nm.dom, hi: nm.hi, lo: nm.lo, glob: false, text: p });
    }
  } catch (e) {
    rethrowAsPath(text, e);
  }
  return out;
}

/**
 * Parse a path pattern (globs allowed). Nothing is interned: glob segments match by text, and
 * undefined comes back when a literal segment is a reference the namepool does not know.
 */
export function parsePattern(text: string, pool: Namepool): PathSegment[] | undefined {
  const parts = splitPath(text);
  const out: PathSegment[] = [];
  try {
    for (const p of parts) {
      if (!parseName(p, pool, NAME_PATTERN)) return undefined;
      out.push({ dom: nm.dom, hi: nm.hi, lo: nm.lo, glob: nm.glob, text: p });
    }
  } catch (e) {
    rethrowAsPath(text, e);
  }
  return out;
}

/** Join printed segment names into a path. */
export function formatPath(segments: readonly string[]): string {
  return segments.length === 0 ? '/' : `/${segments.join('/')}`;
}

/**
 * Glob match within one segment: `*` matches zero or more characters; everything else is
 * literal. Greedy with backtracking to the last star, linear in practice.
 */
export function globMatch(pattern: string, text: string): boolean {
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < text.length) {
    if (pi < pattern.length && pattern.charCodeAt(pi) === 0x2a) {
      star = pi++;
      mark = ti;
    } else if (pi < pattern.length && pattern.charCodeAt(pi) === text.charCodeAt(ti)) {
      pi++;
      ti++;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pattern.length && pattern.charCodeAt(pi) === 0x2a) pi++;
  return pi === pattern.length;
}
