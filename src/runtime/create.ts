/**
 * `createRuntime`: the kernel runtime, or with `store` a runtime backed by a store (opened or
 * created, then recovered) with the persistence service attached. Composed here, above the
 * kernel, so the kernel never imports persistence. A replay gets the `op/persist` enzyme, which
 * writes the persistence events a recording holds (persistence/service/records.ts).
 */
import { Runtime, type RuntimeOptions } from './runtime.js';
import { PersistentRuntime, type PersistentRuntimeOptions } from './persistent.js';
import { registerPersistEvents } from '../persistence/service/records.js';

export function createRuntime(options: PersistentRuntimeOptions): PersistentRuntime;
export function createRuntime(options?: RuntimeOptions): Runtime;
export function createRuntime(options?: RuntimeOptions & { store?: PersistentRuntimeOptions['store'] }): Runtime {
  if (options !== null && typeof options === 'object' && options.store !== undefined) return new PersistentRuntime(options as PersistentRuntimeOptions);
  const rt = new Runtime(options);
  // a replay of a store-backed runtime's recording reproduces its verb dossiers and facts without the store
  if (options?.replay !== undefined) registerPersistEvents(rt.heartbeat);
  return rt;
}
