// Kernels behind cep::crc32c. Each works on the raw register (no init/xorout inversion):
// raw(s, M) is the state after feeding message M to a register holding s.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cep::crc32c {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

// x^e mod P, bit-reflected into 32 bits (bit 31 holds the x^0 coefficient). Multiplying by x
// in the reflected domain is a right shift with conditional reduction.
constexpr uint32_t xpow_mod(uint32_t e) {
  uint32_t v = 0x80000000u;
  for (uint32_t i = 0; i < e; i++) v = (v >> 1) ^ ((v & 1) ? kPoly : 0);
  return v;
}

// Carry-less folding constants, checked against a bitwise model when they were derived:
// a 16-byte block X moved forward by d bytes equals clmul(X[0..8), lo) ^ clmul(X[8..16), hi).
struct FoldKeys {
  uint64_t lo, hi;
};
constexpr FoldKeys fold_keys(uint32_t d_bytes) { return {xpow_mod(8 * d_bytes + 31), xpow_mod(8 * d_bytes - 33)}; }

// raw(s, 0^n) == hardware crc32_u64(0, clmul(s, shift_key(n))).
constexpr uint64_t shift_key(uint32_t n_bytes) { return xpow_mod(8 * n_bytes - 33); }

uint32_t raw_table(uint32_t s, const uint8_t* p, size_t n);
#if defined(__x86_64__) || defined(_M_X64)
uint32_t raw_sse42(uint32_t s, const uint8_t* p, size_t n);   // crc32 + pclmul (3 streams)
uint32_t raw_avx512(uint32_t s, const uint8_t* p, size_t n);  // vpclmulqdq folding; n >= 256
#endif
#if defined(__aarch64__)
uint32_t raw_arm64(uint32_t s, const uint8_t* p, size_t n);   // ARMv8 CRC32C instructions
#endif

}  // namespace cep::crc32c
