#include "crc32c.h"

#include <array>
#include <cstring>

#include "../common/cpu.h"
#include "crc32c_internal.h"

namespace cep::crc32c {
namespace {

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// tables[k][b]: raw CRC of byte b followed by k zero bytes (slicing-by-8).
constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; b++) {
    uint32_t c = b;
    for (int i = 0; i < 8; i++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][b] = c;
  }
  for (int k = 1; k < 8; k++)
    for (uint32_t b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

// Below this size the folding kernel's setup outweighs its width.
constexpr size_t kAvx512Min = 256;

inline uint32_t raw_dispatch(uint32_t s, const uint8_t* p, size_t n) {
  [[maybe_unused]] const cpu::Features& f = cpu::active();
#if defined(__x86_64__) || defined(_M_X64)
  if (f.vpclmulqdq && n >= kAvx512Min) return raw_avx512(s, p, n);
  if (f.sse42 && f.pclmul) return raw_sse42(s, p, n);
#elif defined(__aarch64__)
  if (f.armcrc) return raw_arm64(s, p, n);
#endif
  return raw_table(s, p, n);
}

}  // namespace

uint32_t raw_table(uint32_t s, const uint8_t* p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lo = __builtin_bswap32(lo);
    hi = __builtin_bswap32(hi);
#endif
    lo ^= s;
    s = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
        kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
  }
  for (; n; p++, n--) s = (s >> 8) ^ kTables[0][(s ^ *p) & 0xff];
  return s;
}

uint32_t extend(uint32_t crc, const uint8_t* p, size_t n) { return ~raw_dispatch(~crc, p, n); }

void many(const uint8_t* base, const uint32_t* offsets, const uint32_t* lengths, size_t n, uint32_t seed,
          uint32_t* out) {
  const uint32_t init = ~seed;
  for (size_t i = 0; i < n; i++) {
    const uint32_t start = offsets[i];
    const size_t len = lengths ? lengths[i] : offsets[i + 1] - start;
    out[i] = ~raw_dispatch(init, base + start, len);
  }
}

}  // namespace cep::crc32c
