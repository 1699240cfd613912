// BLAKE3 4-way NEON kernels for arm64 (NEON is part of the base arm64 instruction set): four
// inputs per call, one per 32-bit lane; see blake3_internal.h for the shared round code.
#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>

#include "blake3_internal.h"

namespace cep::blake3::detail {
namespace {

// In-place transpose of a 4x4 matrix of 32-bit words held as 4 rows.
CEP_B3_INLINE void transpose4(uint32x4_t& a, uint32x4_t& b, uint32x4_t& c, uint32x4_t& d) {
  const uint32x4x2_t ab = vtrnq_u32(a, b);  // {a0 b0 a2 b2}, {a1 b1 a3 b3}
  const uint32x4x2_t cd = vtrnq_u32(c, d);  // {c0 d0 c2 d2}, {c1 d1 c3 d3}
  a = vcombine_u32(vget_low_u32(ab.val[0]), vget_low_u32(cd.val[0]));    // a0 b0 c0 d0
  b = vcombine_u32(vget_low_u32(ab.val[1]), vget_low_u32(cd.val[1]));    // a1 b1 c1 d1
  c = vcombine_u32(vget_high_u32(ab.val[0]), vget_high_u32(cd.val[0]));  // a2 b2 c2 d2
  d = vcombine_u32(vget_high_u32(ab.val[1]), vget_high_u32(cd.val[1]));  // a3 b3 c3 d3
}

// BLAKE3 words are little-endian, as is arm64 Linux / macOS / Windows.
CEP_B3_INLINE uint32x4_t load_words(const uint8_t* p) { return vreinterpretq_u32_u8(vld1q_u8(p)); }

struct Neon {
  using V = uint32x4_t;
  static constexpr size_t kLanes = 4;

  static CEP_B3_INLINE V set1(uint32_t x) { return vdupq_n_u32(x); }
  static CEP_B3_INLINE V load_lanes(const uint32_t* w) { return vld1q_u32(w); }
  static CEP_B3_INLINE V add(V a, V b) { return vaddq_u32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return veorq_u32(a, b); }
  // Rotate by 16 swaps the halfwords; the others shift left, then shift-right-and-insert.
  static CEP_B3_INLINE V ror16(V x) { return vreinterpretq_u32_u16(vrev32q_u16(vreinterpretq_u16_u32(x))); }
  static CEP_B3_INLINE V ror12(V x) { return vsriq_n_u32(vshlq_n_u32(x, 20), x, 12); }
  static CEP_B3_INLINE V ror8(V x) { return vsriq_n_u32(vshlq_n_u32(x, 24), x, 8); }
  static CEP_B3_INLINE V ror7(V x) { return vsriq_n_u32(vshlq_n_u32(x, 25), x, 7); }

  static CEP_B3_INLINE void load_msg(const uint8_t* const* p, size_t offset, V m[16]) {
    for (int q = 0; q < 4; ++q) {
      V* r = m + 4 * q;
      for (int i = 0; i < 4; ++i) r[i] = load_words(p[i] + offset + 16 * q);
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
      vst1q_u8(out + 32 * i, vreinterpretq_u8_u32(lo[i]));
      vst1q_u8(out + 32 * i + 16, vreinterpretq_u8_u32(hi[i]));
    }
  }
};

using X4 = Lanes<Neon>;

}  // namespace

void hash_many_neon(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8], uint64_t counter,
                    bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (n > 0) {
    const size_t k = std::min<size_t>(n, 4);
    if (k == 1) {  // a lone input: one scalar compression has lower latency
      hash_many_portable(inputs, 1, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    } else {
      X4::hash_many(inputs, k, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    }
    inputs += k;
    n -= k;
    out += k * kOutLen;
    if (increment_counter) counter += k;
  }
}

void compress_blocks_neon(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                          uint8_t flags, uint8_t* out) {
  while (n > 0) {
    const size_t k = std::min<size_t>(n, 4);
    if (k == 1) {
      compress_blocks_portable(blocks, lens, 1, key, flags, out);
    } else {
      X4::compress_blocks(blocks, lens, k, key, flags, out);
    }
    blocks += k;
    lens += k;
    n -= k;
    out += k * kOutLen;
  }
}

}  // namespace cep::blake3::detail

#endif  // defined(__aarch64__)
