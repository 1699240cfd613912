// Checksums and content hashes with CEP: run `npm install` first, then `node examples/hashing.mjs`.
import { blake3, blake3DeriveKey, blake3Many, crc32c, crc32cMany, createBlake3, nativeInfo } from '../dist/index.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
console.log('backend:', nativeInfo().backend);

// A running CRC over a stream of parts equals the CRC of the whole.
const parts = ['hello, ', 'heartbeat ', 'world'];
let running = 0;
for (const part of parts) running = crc32c(part, running);
console.log('crc32c  :', running.toString(16), running === crc32c(parts.join('')));

// One CRC per record of a buffer, in one call (records of 16 bytes each).
const records = Buffer.alloc(64, 7);
console.log('records :', Array.from(crc32cMany(records, [0, 16, 32, 48, 64]), (c) => c.toString(16)).join(' '));

// BLAKE3: plain, extended output, keyed, derived keys, incremental, many leaves.
console.log('blake3  :', hex(blake3('hello')));
console.log('xof(64) :', hex(blake3('hello', { length: 64 })));
const key = blake3DeriveKey('cep example 2026-11-23 mac key', 'my secret material');
console.log('keyed   :', hex(blake3('message', { key })));
const hasher = createBlake3();
for (const part of parts) hasher.update(part);
console.log('stream  :', hex(hasher.digest()) === hex(blake3(parts.join(''))));
const leaves = blake3Many(records, [0, 16, 32, 48, 64]);
console.log('leaves  :', leaves.length / 32, 'hashes, first', hex(leaves.subarray(0, 32)));
