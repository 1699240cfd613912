// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs), written from the specification:
// portable code plus many-chunk SIMD kernels picked at run time through cep::cpu::active().
#pragma once

#include <cstddef>
#include <cstdint>

namespace cep::blake3 {

constexpr size_t kKeyLen = 32;
constexpr size_t kOutLen = 32;
constexpr size_t kBlockLen = 64;
constexpr size_t kChunkLen = 1024;
constexpr size_t kMaxDepth = 54;  // 2^54 chunks * 1 KiB = 2^64 bytes

enum Flag : uint8_t {
  CHUNK_START = 1 << 0,
  CHUNK_END = 1 << 1,
  PARENT = 1 << 2,
  ROOT = 1 << 3,
  KEYED_HASH = 1 << 4,
  DERIVE_KEY_CONTEXT = 1 << 5,
  DERIVE_KEY_MATERIAL = 1 << 6,
};

// Incremental state. Plain data: copyable, no heap.
struct Hasher {
  uint32_t key[8];
  uint8_t flags;           // mode flags (0, KEYED_HASH, DERIVE_KEY_*)
  // current chunk
  uint32_t cv[8];
  uint64_t chunk_counter;
  uint8_t buf[kBlockLen];
  uint8_t buf_len;
  uint8_t blocks_compressed;
  // chaining values of completed subtrees, one per set bit of the chunk count
  uint8_t cv_stack_len;
  uint8_t cv_stack[(kMaxDepth + 1) * kOutLen];
};

// key: 32 bytes for KEYED_HASH / DERIVE_KEY_MATERIAL, nullptr for the others (IV is used).
void hasher_init(Hasher* h, const uint8_t* key, uint8_t flags);
void hasher_update(Hasher* h, const uint8_t* input, size_t len);
// Writes out_len bytes of output starting at output byte `seek`. Does not modify h.
void hasher_finalize(const Hasher* h, uint64_t seek, uint8_t* out, size_t out_len);
void hasher_reset(Hasher* h);

// One-shot hash of input into out[0..out_len) (XOF from byte `seek`).
void hash(const uint8_t* input, size_t len, const uint8_t* key, uint8_t flags, uint64_t seek, uint8_t* out,
          size_t out_len);

// 32-byte default-mode hashes of n slices of base: slice i is base[offsets[i], +lengths[i]),
// or with lengths == nullptr base[offsets[i], offsets[i+1]). out receives n * 32 bytes.
// Slices of one block or less are hashed many at a time across SIMD lanes.
void hash_many_slices(const uint8_t* base, const uint32_t* offsets, const uint32_t* lengths, size_t n,
                      uint8_t* out);

}  // namespace cep::blake3
