/**
 * `cep/internal`: everything the modules export, for tools and tests that build on the parts
 * (the heartbeat, the persistence service, naming internals...). No stability promise: the
 * public API is `cep` (src/index.ts).
 */
export { crc32c, crc32cMany, CRC32C_NATIVE_MIN_BYTES } from './hash/crc32c.js';
export { blake3, blake3DeriveKey, blake3Many, Blake3Hasher, createBlake3 } from './hash/blake3.js';
export type { BytesLike, SliceList } from './hash/validate.js';
export { nativeInfo, type NativeInfo } from './native/index.js';
export { ERROR_CODES, type CepError, type CepErrorCode } from './errors.js';
export * from './kernel/index.js';
export * from './beat/index.js';
export * from './organs/episode/index.js';
export { AsyncFabric, type ChannelOptions, type RequestOptions, type Signal, type Watcher } from './organs/io/fabric.js';
export { ceiFacts, ensurePath } from './organs/io/cei.js';
export { Runtime, createRuntime as createKernelRuntime, type RuntimeOptions, type RuntimeEnzymeContext, type RuntimeEnzymeDescriptor } from './runtime/runtime.js';
export { PersistentRuntime, type PersistentRuntimeOptions, type StoreOptions as PersistStoreOptions } from './runtime/persistent.js';
export * from './serialization/index.js';
export * from './async/index.js';
export * from './persistence/flatfile/index.js';
export * from './persistence/index.js';
export { createRuntime } from './runtime/create.js';
