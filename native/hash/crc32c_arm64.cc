// CRC32C with the ARMv8 CRC32C instructions (arm64 only; compiled with -march=armv8-a+crc).
#if defined(__aarch64__)

#include <arm_acle.h>

#include <cstring>

#include "crc32c_internal.h"

namespace cep::crc32c {

uint32_t raw_arm64(uint32_t s, const uint8_t* p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    s = __crc32cd(s, v);
  }
  for (; n; p++, n--) s = __crc32cb(s, *p);
  return s;
}

}  // namespace cep::crc32c

#endif
