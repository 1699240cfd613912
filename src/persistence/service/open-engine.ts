/** Opening the default engine (flatfile) for `createRuntime({ store: { dir } })`. */
import { invalidArgType, persistError } from '../../errors.js';
import type { StorageEngine } from '../engine.js';

export function openEngine(dir: unknown): StorageEngine {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgType('options.store.dir', 'a directory path', dir);
  throw persistError('ERR_PERSIST_ENGINE', 'the flatfile engine is not available in this build');
}
