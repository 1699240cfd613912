/**
 * Signal and path texts: validation and signal matching (exact, segment prefix, glob). Signals
 * and targets are slash-separated texts (`sig_cell/op_add`, `/data/req/1`).
 */
import { invalidArgType, invalidArgValue } from '../../errors.js';
import { globMatch } from '../../kernel/path.js';

export type MatchKind = 'exact' | 'prefix' | 'glob';

export function checkSignal(signal: unknown, name = 'signal'): string {
  if (typeof signal !== 'string') throw invalidArgType(name, 'a string', signal);
  if (signal.length === 0 || signal.length > 1024 || signal.startsWith('/') || signal.endsWith('/') || signal.includes('//')) {
    throw invalidArgValue(name, `${JSON.stringify(signal.slice(0, 64))} is not a signal path (segments separated by "/")`);
  }
  return signal;
}

export function checkTarget(target: unknown, name = 'target'): string {
  if (typeof target !== 'string') throw invalidArgType(name, 'a path string', target);
  if (target.length === 0 || target.length > 4096 || target.charCodeAt(0) !== 47 || (target.length > 1 && (target.endsWith('/') || target.includes('//')))) {
    throw invalidArgValue(name, `${JSON.stringify(target.slice(0, 64))} is not an absolute path (at most 4096 characters)`);
  }
  return target;
}

function globSegments(pat: string[], i: number, sig: string[], j: number): boolean {
  if (i === pat.length) return j === sig.length;
  if (pat[i] === '**') {
    for (let k = j; k <= sig.length; k++) if (globSegments(pat, i + 1, sig, k)) return true;
    return false;
  }
  if (j === sig.length) return false;
  const p = pat[i];
  if (p !== sig[j] && !(p.includes('*') && globMatch(p, sig[j]))) return false;
  return globSegments(pat, i + 1, sig, j + 1);
}

/** Does `signal` match `pattern` under `kind`? `prefix` matches whole leading segments. */
export function signalMatches(kind: MatchKind, pattern: string, signal: string): boolean {
  if (kind === 'exact') return signal === pattern;
  if (kind === 'prefix') return signal === pattern || (signal.startsWith(pattern) && signal.charCodeAt(pattern.length) === 47);
  return globSegments(pattern.split('/'), 0, signal.split('/'), 0);
}
