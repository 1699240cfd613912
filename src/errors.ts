/**
 * The one table of error factories. Every error CEP throws carries a stable `code`
 * (`ERR_*`) that callers may match on; messages are for people and may change.
 */

export type CepErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_NATIVE_LOAD';

export interface CepError extends Error {
  code: CepErrorCode;
}

function withCode<E extends Error>(error: E, code: CepErrorCode): E & CepError {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error as E & CepError;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  return `type ${typeof value} (${String(value).slice(0, 32)})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & CepError {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, reason: string): TypeError & CepError {
  return withCode(new TypeError(`The "${name}" argument is invalid: ${reason}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError & CepError {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`), 'ERR_OUT_OF_RANGE');
}

export function nativeLoadFailed(path: string, cause: unknown): Error & CepError {
  return withCode(new Error(`The native addon at ${path} failed to load: ${(cause as Error)?.message ?? String(cause)}`, { cause }), 'ERR_NATIVE_LOAD');
}
