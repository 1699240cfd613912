// CRC32C (Castagnoli): the standard checksum (reflected 0x82F63B78, init and xorout 0xFFFFFFFF).
// One entry point dispatches at run time to the fastest kernel the CPU has.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cep::crc32c {

// Standard CRC32C of p[0, n), continuing from `crc`, the finished CRC of the preceding bytes
// (0 to start).
uint32_t extend(uint32_t crc, const uint8_t* p, size_t n);

// Slice i is base[offsets[i], +lengths[i]), or with lengths == nullptr
// base[offsets[i], offsets[i+1]). out[i] = extend(seed, slice i).
void many(const uint8_t* base, const uint32_t* offsets, const uint32_t* lengths, size_t n, uint32_t seed,
          uint32_t* out);

}  // namespace cep::crc32c
