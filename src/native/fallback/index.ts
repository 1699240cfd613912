/** The pure-TypeScript twin of the native addon: same interface, same bytes. */
import { LOCK_UNAVAILABLE, type Binding } from '../binding.js';
import { blake3, blake3Hasher, blake3Many } from './blake3.js';
import { crc32c, crc32cMany } from './crc32c.js';
import { flatFinish, flatValidate } from './flat.js';
import { JsExecutor } from '../js-executor.js';
import { reactorUnavailable } from '../../errors.js';

// Async twin: no kernel reactors without the addon (the portable reactor serves), and the
// TypeScript executor in place of the native thread pool.
const NATIVE_ONLY = 'the native addon is not loaded';
class NoNativeReactor {
  constructor(kind: string) {
    throw reactorUnavailable(kind, NATIVE_ONLY);
  }
}

export const fallbackBinding: Binding = {
  crc32c,
  crc32cMany,
  blake3,
  blake3Many,
  blake3Hasher,
  flatFinish,
  flatValidate,
  cpuFeatures: () => [],
  setCpuTier: () => 'portable',
  threadCpuMs: () => performance.now(), // no per-thread CPU clock without the addon: the wall clock
  lockFile: () => LOCK_UNAVAILABLE, // Node has no flock: the store lock uses its claim protocol alone
  reactorProbe: () => [
    { name: 'uring', available: false, reason: NATIVE_ONLY },
    { name: 'epoll', available: false, reason: NATIVE_ONLY },
  ],
  NativeReactor: NoNativeReactor as unknown as Binding['NativeReactor'],
  NativeExecutor: JsExecutor,
};
