// BLAKE3 SSE4.1 kernels (compiled with -msse4.2 -mpclmul): four inputs per call, one per
// 32-bit lane, and single compressions in the row layout, which have lower latency than the
// scalar code (the AVX2 tier uses these too). See blake3_internal.h for the shared round code.
#if defined(__x86_64__)

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "blake3_internal.h"

namespace cep::blake3::detail {
namespace {

// In-place transpose of a 4x4 matrix of 32-bit words held as 4 rows.
CEP_B3_INLINE void transpose4(__m128i& a, __m128i& b, __m128i& c, __m128i& d) {
  const __m128i ab01 = _mm_unpacklo_epi32(a, b);  // a0 b0 a1 b1
  const __m128i ab23 = _mm_unpackhi_epi32(a, b);  // a2 b2 a3 b3
  const __m128i cd01 = _mm_unpacklo_epi32(c, d);
  const __m128i cd23 = _mm_unpackhi_epi32(c, d);
  a = _mm_unpacklo_epi64(ab01, cd01);  // a0 b0 c0 d0
  b = _mm_unpackhi_epi64(ab01, cd01);
  c = _mm_unpacklo_epi64(ab23, cd23);
  d = _mm_unpackhi_epi64(ab23, cd23);
}

CEP_B3_INLINE __m128i loadu(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

struct Sse41 {
  using V = __m128i;
  static constexpr size_t kLanes = 4;

  static CEP_B3_INLINE V set1(uint32_t x) { return _mm_set1_epi32(static_cast<int>(x)); }
  static CEP_B3_INLINE V load_lanes(const uint32_t* w) { return loadu(w); }
  static CEP_B3_INLINE V add(V a, V b) { return _mm_add_epi32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return _mm_xor_si128(a, b); }
  // Byte-multiple rotations are one byte shuffle; the others take two shifts and an or.
  static CEP_B3_INLINE V ror16(V x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  }
  static CEP_B3_INLINE V ror8(V x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
  }
  static CEP_B3_INLINE V ror12(V x) { return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20)); }
  static CEP_B3_INLINE V ror7(V x) { return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25)); }
  template <int N>
  static CEP_B3_INLINE V rot(V x) {
    constexpr int imm = rot_imm(N);  // a named constant keeps -O0 builds happy
    return _mm_shuffle_epi32(x, imm);
  }

  static CEP_B3_INLINE void load_msg(const uint8_t* const* p, size_t offset, V m[16]) {
    for (int q = 0; q < 4; ++q) {
      V* r = m + 4 * q;
      for (int i = 0; i < 4; ++i) r[i] = loadu(p[i] + offset + 16 * q);
      transpose4(r[0], r[1], r[2], r[3]);
    }
  }

  static CEP_B3_INLINE void load_msg_short(const uint8_t** p, const uint32_t* lens, V m[16]) {
    uint8_t pad[kLanes][kBlockLen];
    pad_short_blocks(p, lens, kLanes, pad);
    load_msg(p, 0, m);
  }

  static CEP_B3_INLINE void store_cvs(const V h[8], uint8_t* out) {
    V lo[4] = {h[0], h[1], h[2], h[3]}, hi[4] = {h[4], h[5], h[6], h[7]};
    transpose4(lo[0], lo[1], lo[2], lo[3]);
    transpose4(hi[0], hi[1], hi[2], hi[3]);
    for (int i = 0; i < 4; ++i) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * i), lo[i]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * i + 16), hi[i]);
    }
  }
};

using X4 = Lanes<Sse41>;

// Message source for the row layout: SSE4.1 has no 16-word permute, so each round's vectors
// are gathered from the block words with scalar inserts. They do not depend on the state, so
// they execute in the shadow of the rounds' dependency chain.
struct GatherMsg {
  uint32_t w[16];

  template <int R, int W>
  CEP_B3_INLINE __m128i get() const {
    return _mm_setr_epi32(static_cast<int>(w[row_msg_word(R, W, 0)]), static_cast<int>(w[row_msg_word(R, W, 1)]),
                          static_cast<int>(w[row_msg_word(R, W, 2)]), static_cast<int>(w[row_msg_word(R, W, 3)]));
  }
};

// Single compression; a, b receive v[0..7], c, d v[8..15].
CEP_B3_INLINE void compress_one(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                                uint64_t counter, uint8_t flags, __m128i& a, __m128i& b, __m128i& c, __m128i& d) {
  a = loadu(cv);
  b = loadu(cv + 4);
  c = loadu(kIV);
  d = _mm_setr_epi32(static_cast<int>(counter), static_cast<int>(counter >> 32), block_len, flags);
  GatherMsg msg;
  std::memcpy(msg.w, block, kBlockLen);  // x86 is little-endian, like BLAKE3's words
  Rows<Sse41>::rounds(a, b, c, d, msg);
}

}  // namespace

void hash_many_sse41(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8], uint64_t counter,
                     bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (n > 0) {
    const size_t k = std::min<size_t>(n, 4);
    if (k == 1) {  // a lone input: a single row-layout compression has the lowest latency
      hash_many_serial(compress_in_place_sse41, inputs, 1, blocks, key, counter, increment_counter, flags,
                       flags_start, flags_end, out);
    } else {
      X4::hash_many(inputs, k, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    }
    inputs += k;
    n -= k;
    out += k * kOutLen;
    if (increment_counter) counter += k;
  }
}

void compress_blocks_sse41(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                           uint8_t flags, uint8_t* out) {
  while (n > 0) {
    const size_t k = std::min<size_t>(n, 4);
    if (k == 1) {
      compress_blocks_serial(compress_in_place_sse41, blocks, lens, 1, key, flags, out);
    } else {
      X4::compress_blocks(blocks, lens, k, key, flags, out);
    }
    blocks += k;
    lens += k;
    n -= k;
    out += k * kOutLen;
  }
}

void compress_in_place_sse41(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                             uint8_t flags) {
  __m128i a, b, c, d;
  compress_one(cv, block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv + 4), _mm_xor_si128(b, d));
}

void compress_xof_sse41(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                        uint8_t flags, uint8_t out[kBlockLen]) {
  __m128i a, b, c, d;
  compress_one(cv, block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_xor_si128(b, d));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32), _mm_xor_si128(c, loadu(cv)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48), _mm_xor_si128(d, loadu(cv + 4)));
}

}  // namespace cep::blake3::detail

#endif  // defined(__x86_64__)
