/**
 * `createRuntime`: the kernel runtime, or with `store` a runtime backed by a store (opened or
 * created, then recovered) with the persistence service attached. Composed here, above the
 * kernel, so the kernel never imports persistence.
 */
import { Runtime, type RuntimeOptions } from './kernel/runtime.js';
import { PersistentRuntime, type PersistentRuntimeOptions } from './persistence/service/runtime.js';

export function createRuntime(options: PersistentRuntimeOptions): PersistentRuntime;
export function createRuntime(options?: RuntimeOptions): Runtime;
export function createRuntime(options?: RuntimeOptions & { store?: PersistentRuntimeOptions['store'] }): Runtime {
  if (options !== null && typeof options === 'object' && options.store !== undefined) return new PersistentRuntime(options as PersistentRuntimeOptions);
  return new Runtime(options);
}
