// BLAKE3 8-way AVX2 kernels (compiled with -mavx2): eight inputs per call, one per 32-bit
// lane; see blake3_internal.h for the shared round code.
#if defined(__x86_64__)

#include <immintrin.h>

#include <algorithm>

#include "blake3_internal.h"

namespace cep::blake3::detail {
namespace {

// In-place transpose of an 8x8 matrix of 32-bit words held as 8 rows.
CEP_B3_INLINE void transpose8(__m256i r[8]) {
  // Within each 128-bit half: interleave words, then word pairs...
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  // ...so that u0 holds word 0 of rows 0-3 (low half) and word 4 of rows 0-3 (high half), etc.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  // Then join rows 0-3 with rows 4-7.
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

CEP_B3_INLINE __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

struct Avx2 {
  using V = __m256i;
  static constexpr size_t kLanes = 8;

  static CEP_B3_INLINE V set1(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
  static CEP_B3_INLINE V load_lanes(const uint32_t* w) { return loadu(w); }
  static CEP_B3_INLINE V add(V a, V b) { return _mm256_add_epi32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return _mm256_xor_si256(a, b); }
  // Byte-multiple rotations are one byte shuffle; the others take two shifts and an or.
  static CEP_B3_INLINE V ror16(V x) {
    return _mm256_shuffle_epi8(x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1,
                                                   6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  }
  static CEP_B3_INLINE V ror8(V x) {
    return _mm256_shuffle_epi8(x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0,
                                                   5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
  }
  static CEP_B3_INLINE V ror12(V x) { return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20)); }
  static CEP_B3_INLINE V ror7(V x) { return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)); }

  // Each register is loaded with the same 16-byte quarter of blocks i (low half) and i + 4
  // (high half); a 4x4 transpose within the halves then yields the message words directly,
  // with no shuffle across halves (the inserts can run on any vector port).
  static CEP_B3_INLINE void load_msg(const uint8_t* const* p, size_t offset, V m[16]) {
    for (int t = 0; t < 4; ++t) {  // words 4t..4t+3
      V x[4];
      for (int j = 0; j < 4; ++j) {
        const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[j] + offset + 16 * t));
        const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[j + 4] + offset + 16 * t));
        x[j] = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
      }
      const V ab_lo = _mm256_unpacklo_epi32(x[0], x[1]), ab_hi = _mm256_unpackhi_epi32(x[0], x[1]);
      const V cd_lo = _mm256_unpacklo_epi32(x[2], x[3]), cd_hi = _mm256_unpackhi_epi32(x[2], x[3]);
      m[4 * t + 0] = _mm256_unpacklo_epi64(ab_lo, cd_lo);
      m[4 * t + 1] = _mm256_unpackhi_epi64(ab_lo, cd_lo);
      m[4 * t + 2] = _mm256_unpacklo_epi64(ab_hi, cd_hi);
      m[4 * t + 3] = _mm256_unpackhi_epi64(ab_hi, cd_hi);
    }
  }

  static CEP_B3_INLINE void load_msg_short(const uint8_t** p, const uint32_t* lens, V m[16]) {
    uint8_t pad[kLanes][kBlockLen];
    pad_short_blocks(p, lens, kLanes, pad);
    load_msg(p, 0, m);
  }

  static CEP_B3_INLINE void store_cvs(const V h[8], uint8_t* out) {
    V r[8] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]};
    transpose8(r);
    for (int i = 0; i < 8; ++i) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), r[i]);
  }
};

using Y8 = Lanes<Avx2>;

}  // namespace

// Fewer than 8 inputs still go through the 8-lane kernel: on current cores a 256-bit
// instruction costs the same as a 128-bit one, so partly empty lanes lose nothing.
void hash_many_avx2(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8], uint64_t counter,
                    bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (n > 0) {
    const size_t k = std::min<size_t>(n, 8);
    if (k == 1) {  // a lone input: a single row-layout compression has the lowest latency
      hash_many_serial(compress_in_place_sse41, inputs, 1, blocks, key, counter, increment_counter, flags,
                       flags_start, flags_end, out);
    } else {
      Y8::hash_many(inputs, k, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    }
    inputs += k;
    n -= k;
    out += k * kOutLen;
    if (increment_counter) counter += k;
  }
}

void compress_blocks_avx2(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                          uint8_t flags, uint8_t* out) {
  while (n > 0) {
    const size_t k = std::min<size_t>(n, 8);
    if (k == 1) {
      compress_blocks_serial(compress_in_place_sse41, blocks, lens, 1, key, flags, out);
    } else {
      Y8::compress_blocks(blocks, lens, k, key, flags, out);
    }
    blocks += k;
    lens += k;
    n -= k;
    out += k * kOutLen;
  }
}

}  // namespace cep::blake3::detail

#endif  // defined(__x86_64__)
