// CRC32C with the SSE4.2 crc32 instruction. The instruction has a latency of three cycles but
// issues one per cycle, so long inputs run as three independent streams over adjacent blocks,
// merged with one carry-less multiply each (raw(s, 0^n) = crc32(0, clmul(s, x^(8n-33)))).
#if defined(__x86_64__) || defined(_M_X64)

#include <nmmintrin.h>
#include <wmmintrin.h>

#include <cstring>

#include "crc32c_internal.h"

namespace cep::crc32c {
namespace {

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// raw(s, 0^n) for the n that `key` was made for.
inline uint32_t shift(uint32_t s, uint64_t key) {
  const __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(s)),
                                            _mm_cvtsi64_si128(static_cast<long long>(key)), 0x00);
  return static_cast<uint32_t>(_mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(prod))));
}

// Consumes whole rounds of 3 * kBlock bytes.
template <size_t kBlock>
inline uint32_t three_streams(uint32_t s, const uint8_t*& p, size_t& n) {
  static constexpr uint64_t kShift1 = shift_key(kBlock);
  static constexpr uint64_t kShift2 = shift_key(2 * kBlock);
  while (n >= 3 * kBlock) {
    uint64_t a = s, b = 0, c = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      a = _mm_crc32_u64(a, load64(p + i));
      b = _mm_crc32_u64(b, load64(p + kBlock + i));
      c = _mm_crc32_u64(c, load64(p + 2 * kBlock + i));
    }
    s = shift(static_cast<uint32_t>(a), kShift2) ^ shift(static_cast<uint32_t>(b), kShift1) ^
        static_cast<uint32_t>(c);
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return s;
}

}  // namespace

uint32_t raw_sse42(uint32_t s, const uint8_t* p, size_t n) {
  s = three_streams<4096>(s, p, n);
  s = three_streams<256>(s, p, n);
  uint64_t c = s;
  for (; n >= 8; p += 8, n -= 8) c = _mm_crc32_u64(c, load64(p));
  s = static_cast<uint32_t>(c);
  for (; n; p++, n--) s = _mm_crc32_u8(s, *p);
  return s;
}

}  // namespace cep::crc32c

#endif
