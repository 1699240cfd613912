/** Opening the default engine (flatfile) for `createRuntime({ store: { dir } })`. */
import { invalidArgType, invalidArgValue } from '../../errors.js';
import type { StorageEngine } from '../engine.js';
import { openFlatfileStore, type FlatfileOptions } from '../flatfile/index.js';

/**
 * The flatfile engine at `dir`. With `io` 'reactor' (the default) and no backend chosen in
 * `options`, it writes through its own async reactor (io_uring, else epoll, else portable), so a
 * beat's sync runs off the JS thread while the next beats compute; 'sync' keeps the engine's
 * synchronous writes.
 */
export function openEngine(dir: unknown, options: FlatfileOptions = {}, io: 'reactor' | 'sync' = 'reactor'): StorageEngine {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgType('options.store.dir', 'a directory path', dir);
  if (io !== 'reactor' && io !== 'sync') throw invalidArgValue('options.store.io', "it must be 'reactor' or 'sync'");
  const chosen = options.reactor !== undefined || options.backend !== undefined;
  return openFlatfileStore(dir, io === 'reactor' && !chosen ? { ...options, backend: 'auto' } : options);
}
