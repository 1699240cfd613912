// CPU feature detection and the dispatch tier every SIMD path consults.
#pragma once

#include <string>
#include <vector>

namespace cep::cpu {

struct Features {
  bool sse41 = false;
  bool sse42 = false;       // crc32 instruction
  bool pclmul = false;      // 128-bit carry-less multiply
  bool avx2 = false;
  bool avx512 = false;      // AVX-512 F + VL + BW, with OS support for ZMM state
  bool vpclmulqdq = false;  // 512-bit carry-less multiply (needs avx512)
  bool neon = false;        // arm64 Advanced SIMD
  bool armcrc = false;      // arm64 CRC32 instructions
};

// What the hardware and OS support.
const Features& detected();

// What dispatchers may use now: detected() capped by set_tier().
const Features& active();

// Caps the usable instruction sets: "portable", "sse4.2" (SSE4.1/4.2 + PCLMUL), "avx2",
// "avx512", or "auto" (everything detected). Returns the tier in force, or nullptr for an
// unknown name (nothing changes then).
const char* set_tier(const std::string& tier);

// Feature names of active(), e.g. {"sse4.2", "pclmul", "avx2"}.
std::vector<std::string> active_names();

}  // namespace cep::cpu
