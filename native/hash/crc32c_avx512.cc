// CRC32C by carry-less folding with 512-bit VPCLMULQDQ: four ZMM accumulators each fold
// forward over 256-byte strides, then collapse to one 128-bit remainder whose CRC the crc32
// instruction finishes. The first 4 bytes carry the incoming register (raw(s, M) equals
// raw(0, M with s xored into its first 4 bytes)).
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#include <cstring>

#include "crc32c_internal.h"

namespace cep::crc32c {
namespace {

inline __m512i keys512(FoldKeys k) {
  const auto lo = static_cast<long long>(k.lo), hi = static_cast<long long>(k.hi);
  return _mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo);
}

// Every 128-bit lane of x moved forward by the distance of k, xored with `next`.
inline __m512i fold(__m512i x, __m512i k, __m512i next) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11),
                                   next, 0x96);
}

inline __m128i fold128(__m128i x, __m128i k, __m128i next) {
  return _mm_ternarylogic_epi64(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11), next, 0x96);
}

inline __m512i load(const uint8_t* p) { return _mm512_loadu_si512(p); }

}  // namespace

uint32_t raw_avx512(uint32_t s, const uint8_t* p, size_t n) {
  static constexpr FoldKeys k256 = fold_keys(256), k64 = fold_keys(64);
  static constexpr FoldKeys k48 = fold_keys(48), k32 = fold_keys(32), k16 = fold_keys(16);

  __m512i x0 = _mm512_xor_si512(load(p), _mm512_castsi128_si512(_mm_cvtsi32_si128(static_cast<int>(s))));
  __m512i x1 = load(p + 64), x2 = load(p + 128), x3 = load(p + 192);
  p += 256;
  n -= 256;

  const __m512i step = keys512(k256);
  for (; n >= 256; p += 256, n -= 256) {
    x0 = fold(x0, step, load(p));
    x1 = fold(x1, step, load(p + 64));
    x2 = fold(x2, step, load(p + 128));
    x3 = fold(x3, step, load(p + 192));
  }

  const __m512i by64 = keys512(k64);
  x1 = fold(x0, by64, x1);
  x2 = fold(x1, by64, x2);
  x3 = fold(x2, by64, x3);
  for (; n >= 64; p += 64, n -= 64) x3 = fold(x3, by64, load(p));

  // Lanes 0..2 move forward by 48, 32 and 16 bytes onto lane 3.
  const __m512i tail_keys = _mm512_set_epi64(0, 0, static_cast<long long>(k16.hi), static_cast<long long>(k16.lo),
                                             static_cast<long long>(k32.hi), static_cast<long long>(k32.lo),
                                             static_cast<long long>(k48.hi), static_cast<long long>(k48.lo));
  const __m512i moved = fold(x3, tail_keys, _mm512_maskz_mov_epi64(0xC0, x3));
  const __m256i half = _mm256_xor_si256(_mm512_castsi512_si256(moved), _mm512_extracti64x4_epi64(moved, 1));
  __m128i r = _mm_xor_si128(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));

  const __m128i by16 = _mm_set_epi64x(static_cast<long long>(k16.hi), static_cast<long long>(k16.lo));
  for (; n >= 16; p += 16, n -= 16) r = fold128(r, by16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));

  uint64_t c = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(r)));
  c = _mm_crc32_u64(c, static_cast<uint64_t>(_mm_extract_epi64(r, 1)));
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  uint32_t out = static_cast<uint32_t>(c);
  for (; n; p++, n--) out = _mm_crc32_u8(out, *p);
  return out;
}

}  // namespace cep::crc32c

#endif
