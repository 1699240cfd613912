/** The pure-TypeScript twin of the native addon: same interface, same bytes. */
import type { Binding } from '../binding.js';
import { blake3, blake3Hasher, blake3Many } from './blake3.js';
import { crc32c, crc32cMany } from './crc32c.js';
import { flatFinish, flatValidate } from './flat.js';

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
};
