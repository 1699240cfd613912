// BLAKE3 AVX-512 kernels (compiled with -mavx512f -mavx512vl -mavx512bw ...):
//   - 9 to 16 inputs per call in the lane layout, one input per 32-bit lane of ZMM registers;
//   - 2 to 8 inputs in the row layout, four inputs' whole states per ZMM register (one per
//     128-bit lane), so that every instruction works on all 16 words where the lane layout
//     would leave most lanes idle; with few inputs the dependency chain of each compression
//     is what limits, and the row form's is the shortest;
//   - single compressions in the row layout in an XMM register (a lone input, chunk states,
//     roots).
// All use the AVX-512 rotate instruction (vprord: one instruction where SSE/AVX2 need a byte
// shuffle or two shifts and an or), and masked loads, which zero-fill short blocks without
// copying them. See blake3_internal.h for the shared round code.
#if defined(__x86_64__)

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own `__m512i __Y = __Y;`
// placeholder (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "blake3_internal.h"

namespace cep::blake3::detail {
namespace {

// Byte mask selecting the first min(len, 64) bytes of a block.
CEP_B3_INLINE uint64_t block_mask(uint32_t len) { return len >= 64 ? ~uint64_t{0} : (uint64_t{1} << len) - 1; }

// ---- 16 lanes (ZMM) ----

// In-place transpose of a 16x16 matrix of 32-bit words held as 16 rows.
CEP_B3_INLINE void transpose16(__m512i r[16]) {
  // Within each 128-bit lane L of row group g (rows 4g..4g+3): u[4g + j] gets word 4L + j of
  // the group's four rows.
  __m512i u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512i* x = r + 4 * g;
    const __m512i ab_lo = _mm512_unpacklo_epi32(x[0], x[1]), ab_hi = _mm512_unpackhi_epi32(x[0], x[1]);
    const __m512i cd_lo = _mm512_unpacklo_epi32(x[2], x[3]), cd_hi = _mm512_unpackhi_epi32(x[2], x[3]);
    u[4 * g + 0] = _mm512_unpacklo_epi64(ab_lo, cd_lo);
    u[4 * g + 1] = _mm512_unpackhi_epi64(ab_lo, cd_lo);
    u[4 * g + 2] = _mm512_unpacklo_epi64(ab_hi, cd_hi);
    u[4 * g + 3] = _mm512_unpackhi_epi64(ab_hi, cd_hi);
  }
  // Then, for each j, a 4x4 transpose of 128-bit lanes across the four groups.
  for (int j = 0; j < 4; ++j) {
    const __m512i a = _mm512_shuffle_i32x4(u[j], u[4 + j], _MM_SHUFFLE(2, 0, 2, 0));  // g0.L0 g0.L2 g1.L0 g1.L2
    const __m512i b = _mm512_shuffle_i32x4(u[j], u[4 + j], _MM_SHUFFLE(3, 1, 3, 1));  // g0.L1 g0.L3 g1.L1 g1.L3
    const __m512i c = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i d = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(3, 1, 3, 1));
    r[j] = _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(2, 0, 2, 0));       // lane 0 of every group
    r[4 + j] = _mm512_shuffle_i32x4(b, d, _MM_SHUFFLE(2, 0, 2, 0));   // lane 1
    r[8 + j] = _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(3, 1, 3, 1));   // lane 2
    r[12 + j] = _mm512_shuffle_i32x4(b, d, _MM_SHUFFLE(3, 1, 3, 1));  // lane 3
  }
}

// Loads block `offset` of 16 inputs transposed: m[w] gets word w of every input's block (input
// i in lane i). Like transpose16, but the first step happens in the loads: each register
// receives 32-byte halves of two blocks (a load plus an insert, which, unlike the shuffles,
// can run on either vector port), saving a quarter of the shuffles on the busiest port.
CEP_B3_INLINE void load_transposed(const uint8_t* const* p, size_t offset, __m512i m[16]) {
  for (int h = 0; h < 2; ++h) {  // words 8h..8h+7 of every block
    // x[k], k = 4q + j: half h of blocks i and i + 4 (i = 8q + j) in its low and high 256 bits.
    __m512i x[8];
    for (int k = 0; k < 8; ++k) {
      const int i = (k / 4) * 8 + k % 4;
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[i] + offset + 32 * h));
      const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[i + 4] + offset + 32 * h));
      x[k] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    // Within each 128-bit lane, a 4x4 transpose of each group of four registers. Then the
    // 128-bit lanes of x[4q + j] hold word 8h + j of blocks 8q..8q+3, word 8h + j + 4 of the
    // same blocks, word 8h + j of blocks 8q+4..8q+7, and word 8h + j + 4 of those.
    for (int q = 0; q < 2; ++q) {
      __m512i* r = x + 4 * q;
      const __m512i ab_lo = _mm512_unpacklo_epi32(r[0], r[1]), ab_hi = _mm512_unpackhi_epi32(r[0], r[1]);
      const __m512i cd_lo = _mm512_unpacklo_epi32(r[2], r[3]), cd_hi = _mm512_unpackhi_epi32(r[2], r[3]);
      r[0] = _mm512_unpacklo_epi64(ab_lo, cd_lo);
      r[1] = _mm512_unpackhi_epi64(ab_lo, cd_lo);
      r[2] = _mm512_unpacklo_epi64(ab_hi, cd_hi);
      r[3] = _mm512_unpackhi_epi64(ab_hi, cd_hi);
    }
    // Gather the matching 128-bit lanes of the two groups: blocks 0-3, 4-7, 8-11, 12-15.
    for (int j = 0; j < 4; ++j) {
      m[8 * h + j] = _mm512_shuffle_i32x4(x[j], x[4 + j], _MM_SHUFFLE(2, 0, 2, 0));
      m[8 * h + 4 + j] = _mm512_shuffle_i32x4(x[j], x[4 + j], _MM_SHUFFLE(3, 1, 3, 1));
    }
  }
}

struct Zmm16 {
  using V = __m512i;
  static constexpr size_t kLanes = 16;

  static CEP_B3_INLINE V set1(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static CEP_B3_INLINE V load_lanes(const uint32_t* w) { return _mm512_loadu_si512(w); }
  static CEP_B3_INLINE V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return _mm512_xor_si512(a, b); }
  static CEP_B3_INLINE V ror16(V x) { return _mm512_ror_epi32(x, 16); }
  static CEP_B3_INLINE V ror12(V x) { return _mm512_ror_epi32(x, 12); }
  static CEP_B3_INLINE V ror8(V x) { return _mm512_ror_epi32(x, 8); }
  static CEP_B3_INLINE V ror7(V x) { return _mm512_ror_epi32(x, 7); }

  static CEP_B3_INLINE void load_msg(const uint8_t* const* p, size_t offset, V m[16]) {
    load_transposed(p, offset, m);
  }

  // Short blocks come whole, with masked loads, then transposed in registers.
  static CEP_B3_INLINE void load_msg_short(const uint8_t** p, const uint32_t* lens, V m[16]) {
    for (int i = 0; i < 16; ++i) m[i] = _mm512_maskz_loadu_epi8(block_mask(lens[i]), p[i]);
    transpose16(m);
  }

  // h[k] holds word k of every lane; lane i's 8 words go to out + 32 * i.
  static CEP_B3_INLINE void store_cvs(const V h[8], uint8_t* out) {
    // w[4G + j], 128-bit lane L: words 4G..4G+3 of lane 4L + j.
    __m512i w[8];
    for (int G = 0; G < 2; ++G) {
      const __m512i* x = h + 4 * G;
      const __m512i ab_lo = _mm512_unpacklo_epi32(x[0], x[1]), ab_hi = _mm512_unpackhi_epi32(x[0], x[1]);
      const __m512i cd_lo = _mm512_unpacklo_epi32(x[2], x[3]), cd_hi = _mm512_unpackhi_epi32(x[2], x[3]);
      w[4 * G + 0] = _mm512_unpacklo_epi64(ab_lo, cd_lo);
      w[4 * G + 1] = _mm512_unpackhi_epi64(ab_lo, cd_lo);
      w[4 * G + 2] = _mm512_unpacklo_epi64(ab_hi, cd_hi);
      w[4 * G + 3] = _mm512_unpackhi_epi64(ab_hi, cd_hi);
    }
    // Join the two word halves of each lane: 128-bit lanes (G0.L0 G1.L0 G0.L1 G1.L1), then L2, L3.
    const __m512i idx01 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i idx23 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    for (int j = 0; j < 4; ++j) {
      const __m512i l01 = _mm512_permutex2var_epi64(w[j], idx01, w[4 + j]);
      const __m512i l23 = _mm512_permutex2var_epi64(w[j], idx23, w[4 + j]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * j), _mm512_castsi512_si256(l01));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (4 + j)), _mm512_extracti64x4_epi64(l01, 1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (8 + j)), _mm512_castsi512_si256(l23));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (12 + j)), _mm512_extracti64x4_epi64(l23, 1));
    }
  }
};

// ---- Rows layout ----

// Row-layout arithmetic on 4 (XMM) or 16 (ZMM) words.
struct XmmRows {
  using V = __m128i;
  static CEP_B3_INLINE V add(V a, V b) { return _mm_add_epi32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return _mm_xor_si128(a, b); }
  static CEP_B3_INLINE V ror16(V x) { return _mm_ror_epi32(x, 16); }
  static CEP_B3_INLINE V ror12(V x) { return _mm_ror_epi32(x, 12); }
  static CEP_B3_INLINE V ror8(V x) { return _mm_ror_epi32(x, 8); }
  static CEP_B3_INLINE V ror7(V x) { return _mm_ror_epi32(x, 7); }
  template <int N>
  static CEP_B3_INLINE V rot(V x) {
    constexpr int imm = rot_imm(N);  // a named constant keeps -O0 builds happy
    return _mm_shuffle_epi32(x, imm);
  }
};

struct ZmmRows {
  using V = __m512i;
  static CEP_B3_INLINE V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return _mm512_xor_si512(a, b); }
  static CEP_B3_INLINE V ror16(V x) { return _mm512_ror_epi32(x, 16); }
  static CEP_B3_INLINE V ror12(V x) { return _mm512_ror_epi32(x, 12); }
  static CEP_B3_INLINE V ror8(V x) { return _mm512_ror_epi32(x, 8); }
  static CEP_B3_INLINE V ror7(V x) { return _mm512_ror_epi32(x, 7); }
  template <int N>
  static CEP_B3_INLINE V rot(V x) {
    constexpr _MM_PERM_ENUM imm = static_cast<_MM_PERM_ENUM>(rot_imm(N));  // a named constant keeps -O0 builds happy
    return _mm512_shuffle_epi32(x, imm);
  }
};

// Message source for one block in an XMM row state: each round's vectors are gathered from
// the block words with scalar inserts. These run on the load ports and in the shadow of the
// dependency chain; measured faster here than one 16-word permute per round, which, being a
// 512-bit instruction, takes a vector port away from the chain.
struct OneBlockMsg {
  uint32_t w[16];

  template <int R, int W>
  CEP_B3_INLINE __m128i get() const {
    return _mm_setr_epi32(static_cast<int>(w[row_msg_word(R, W, 0)]), static_cast<int>(w[row_msg_word(R, W, 1)]),
                          static_cast<int>(w[row_msg_word(R, W, 2)]), static_cast<int>(w[row_msg_word(R, W, 3)]));
  }
};

// ---- Row-layout message of four blocks (block j in 128-bit lane j) ----
//
// Every round permutes the message words the same way, so each round's four vectors (see
// row_msg_word) can be made from the previous round's with a few shuffles within 128-bit
// lanes. Those take one cycle each (cross-lane permutes take three) and, issued after the
// round that precedes them, fill gaps in the state's dependency chain instead of delaying it.

// kRowMsgStep.src[w][k] = 4 * v + i: word k of round r+1's vector w is word i of round r's
// vector v, for every r. FourBlockMsg::next() hard-codes these moves; the static_asserts below
// check them against the schedule.
struct RowMsgStep {
  uint8_t src[4][4];
};

constexpr RowMsgStep row_msg_step(int r) {
  RowMsgStep t{};
  for (int w = 0; w < 4; ++w)
    for (int k = 0; k < 4; ++k)
      for (int v = 0; v < 4; ++v)
        for (int i = 0; i < 4; ++i)
          if (row_msg_word(r, v, i) == row_msg_word(r + 1, w, k)) t.src[w][k] = static_cast<uint8_t>(4 * v + i);
  return t;
}

constexpr bool same_steps(const RowMsgStep& x, const RowMsgStep& y) {
  for (int w = 0; w < 4; ++w)
    for (int k = 0; k < 4; ++k)
      if (x.src[w][k] != y.src[w][k]) return false;
  return true;
}

constexpr bool row_msg_step_is_fixed() {
  for (int r = 1; r < 6; ++r)
    if (!same_steps(row_msg_step(r), row_msg_step(0))) return false;
  return true;
}

// Vectors X, Y, Z, W = 0, 1, 2, 3: X' = X1 Y1 Y3 X2, Y' = X3 Z2 X0 W3, Z' = W0 Y0 Z3 W1,
// W' = Z1 W2 Y2 Z0.
constexpr RowMsgStep kRowMsgStep = {{{1, 5, 7, 2}, {3, 10, 0, 15}, {12, 4, 11, 13}, {9, 14, 6, 8}}};
static_assert(row_msg_step_is_fixed() && same_steps(row_msg_step(0), kRowMsgStep),
              "FourBlockMsg::next() does not match the message schedule");
// Round 0's vectors, which FourBlockMsg::init() builds: words 0 2 4 6, 1 3 5 7, 14 8 10 12,
// 15 9 11 13.
static_assert(row_msg_word(0, 0, 1) == 2 && row_msg_word(0, 1, 3) == 7 && row_msg_word(0, 2, 0) == 14 &&
                  row_msg_word(0, 2, 1) == 8 && row_msg_word(0, 3, 0) == 15 && row_msg_word(0, 3, 3) == 13,
              "FourBlockMsg::init() does not match the message schedule");

template <int Imm>
CEP_B3_INLINE __m512i shufps(__m512i a, __m512i b) {  // [a[i0], a[i1], b[i2], b[i3]] per 128-bit lane
  return _mm512_castps_si512(_mm512_shuffle_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(b), Imm));
}

template <int Imm>
CEP_B3_INLINE __m512i pshufd(__m512i a) {
  return _mm512_shuffle_epi32(a, static_cast<_MM_PERM_ENUM>(Imm));
}

struct FourBlockMsg {
  __m512i v[4];  // the current round's vectors

  // Round 0's vectors from quarter-blocks: q[t] holds words 4t..4t+3 of each block.
  CEP_B3_INLINE void init(const __m512i q[4]) {
    v[0] = shufps<_MM_SHUFFLE(2, 0, 2, 0)>(q[0], q[1]);
    v[1] = shufps<_MM_SHUFFLE(3, 1, 3, 1)>(q[0], q[1]);
    v[2] = pshufd<_MM_SHUFFLE(2, 1, 0, 3)>(shufps<_MM_SHUFFLE(2, 0, 2, 0)>(q[2], q[3]));
    v[3] = pshufd<_MM_SHUFFLE(2, 1, 0, 3)>(shufps<_MM_SHUFFLE(3, 1, 3, 1)>(q[2], q[3]));
  }

  // Advances to the next round's vectors (kRowMsgStep).
  CEP_B3_INLINE void next() {
    const __m512i x = v[0], y = v[1], z = v[2], w = v[3];
    // X1 X2 Y1 Y3 -> X1 Y1 Y3 X2
    v[0] = pshufd<_MM_SHUFFLE(1, 3, 2, 0)>(shufps<_MM_SHUFFLE(3, 1, 2, 1)>(x, y));
    // X3 X0 Z2 Z2 -> X3 Z2 X0 Z2, then W3 into word 3
    v[1] = _mm512_mask_blend_epi32(0x8888, pshufd<_MM_SHUFFLE(3, 1, 2, 0)>(shufps<_MM_SHUFFLE(2, 2, 0, 3)>(x, z)), w);
    // W0 Y0 W1 Y1 and Z0 W1 Z2 Z3 -> W0 Y0 Z3 W1
    v[2] = shufps<_MM_SHUFFLE(1, 3, 1, 0)>(_mm512_unpacklo_epi32(w, y), _mm512_mask_blend_epi32(0x2222, z, w));
    // Z0 Z1 W2 Z3 -> Z1 W2 Z3 Z0, then Y2 into word 2
    v[3] = _mm512_mask_blend_epi32(0x4444, pshufd<_MM_SHUFFLE(0, 3, 2, 1)>(_mm512_mask_blend_epi32(0x4444, z, w)), y);
  }

  template <int R, int W>
  CEP_B3_INLINE __m512i get() const {
    return v[W];
  }
};

CEP_B3_INLINE __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

struct Quarters {
  __m512i q[4];  // q[t]: words 4t..4t+3 of block j in 128-bit lane j
};

// Quarters of block `offset` of four inputs, gathered by the loads themselves (an insert from
// memory can run on either vector port, unlike a shuffle).
CEP_B3_INLINE Quarters load_quarters(const uint8_t* const* p, size_t offset) {
  Quarters r;
  for (int t = 0; t < 4; ++t) {
    __m512i v = _mm512_castsi128_si512(load128(p[0] + offset + 16 * t));
    v = _mm512_inserti32x4(v, load128(p[1] + offset + 16 * t), 1);
    v = _mm512_inserti32x4(v, load128(p[2] + offset + 16 * t), 2);
    r.q[t] = _mm512_inserti32x4(v, load128(p[3] + offset + 16 * t), 3);
  }
  return r;
}

// Quarters of four whole blocks held one per register (a 4x4 transpose of 128-bit lanes).
CEP_B3_INLINE Quarters quarters_of(const __m512i w[4]) {
  const __m512i a = _mm512_shuffle_i32x4(w[0], w[1], _MM_SHUFFLE(1, 0, 1, 0));  // w0.q0 w0.q1 w1.q0 w1.q1
  const __m512i b = _mm512_shuffle_i32x4(w[0], w[1], _MM_SHUFFLE(3, 2, 3, 2));  // w0.q2 w0.q3 w1.q2 w1.q3
  const __m512i c = _mm512_shuffle_i32x4(w[2], w[3], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i d = _mm512_shuffle_i32x4(w[2], w[3], _MM_SHUFFLE(3, 2, 3, 2));
  Quarters r;
  r.q[0] = _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(2, 0, 2, 0));
  r.q[1] = _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(3, 1, 3, 1));
  r.q[2] = _mm512_shuffle_i32x4(b, d, _MM_SHUFFLE(2, 0, 2, 0));
  r.q[3] = _mm512_shuffle_i32x4(b, d, _MM_SHUFFLE(3, 1, 3, 1));
  return r;
}

// Single compression of a block with chaining value (lo, hi); a, b receive state words 0-7,
// c, d words 8-15.
CEP_B3_INLINE void compress_one(__m128i lo, __m128i hi, const uint8_t block[kBlockLen], uint8_t block_len,
                                uint64_t counter, uint8_t flags, __m128i& a, __m128i& b, __m128i& c, __m128i& d) {
  a = lo;
  b = hi;
  c = load128(kIV);
  d = _mm_setr_epi32(static_cast<int>(counter), static_cast<int>(counter >> 32), block_len, flags);
  OneBlockMsg msg;
  std::memcpy(msg.w, block, kBlockLen);  // x86 is little-endian, like BLAKE3's words
  Rows<XmmRows>::rounds(a, b, c, d, msg);
}

// 4 * G inputs in G ZMM row states, processed in the same loop so that their independent
// dependency chains overlap.
template <int G>
struct RowsMany {
  static constexpr size_t kInputs = 4 * G;

  template <int R>
  static CEP_B3_INLINE void round(__m512i* a, __m512i* b, __m512i* c, __m512i* d, FourBlockMsg* msg) {
    for (int g = 0; g < G; ++g) Rows<ZmmRows>::round<R>(a[g], b[g], c[g], d[g], msg[g]);
    if constexpr (R < 6) {
      for (int g = 0; g < G; ++g) msg[g].next();
    }
  }

  static CEP_B3_INLINE void rounds(__m512i* a, __m512i* b, __m512i* c, __m512i* d, FourBlockMsg* msg) {
    round<0>(a, b, c, d, msg);
    round<1>(a, b, c, d, msg);
    round<2>(a, b, c, d, msg);
    round<3>(a, b, c, d, msg);
    round<4>(a, b, c, d, msg);
    round<5>(a, b, c, d, msg);
    round<6>(a, b, c, d, msg);
  }

  // Row d of each input: [counter low, counter high, block_len, 0]; flags are or-ed in per block.
  static CEP_B3_INLINE void init_d(__m512i* d, const uint64_t* counters, const uint32_t* block_lens) {
    for (int g = 0; g < G; ++g) {
      uint32_t w[16];
      for (int j = 0; j < 4; ++j) {
        w[4 * j] = static_cast<uint32_t>(counters[4 * g + j]);
        w[4 * j + 1] = static_cast<uint32_t>(counters[4 * g + j] >> 32);
        w[4 * j + 2] = block_lens[4 * g + j];
        w[4 * j + 3] = 0;
      }
      d[g] = _mm512_loadu_si512(w);
    }
  }

  // Chaining values (a ^ c, b ^ d per 128-bit lane) of the first n inputs to out.
  static CEP_B3_INLINE void store(const __m512i* a, const __m512i* b, size_t n, uint8_t* out) {
    uint8_t tmp[kInputs * kOutLen];
    uint8_t* dst = n == kInputs ? out : tmp;
    const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);  // lanes 0, 1 of a and b
    const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    for (int g = 0; g < G; ++g) {
      _mm512_storeu_si512(dst + 128 * g, _mm512_permutex2var_epi64(a[g], first, b[g]));
      _mm512_storeu_si512(dst + 128 * g + 64, _mm512_permutex2var_epi64(a[g], second, b[g]));
    }
    if (dst != out) std::memcpy(out, tmp, n * kOutLen);
  }

  static void hash_many(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8],
                        uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                        uint8_t* out) {
    const uint8_t* p[kInputs];
    uint64_t counters[kInputs];
    uint32_t block_lens[kInputs];
    for (size_t i = 0; i < kInputs; ++i) {
      p[i] = inputs[i < n ? i : 0];
      counters[i] = counter + (increment ? i : 0);
      block_lens[i] = kBlockLen;
    }
    __m512i a[G], b[G], c[G], d[G], d_base[G];
    init_d(d_base, counters, block_lens);
    const __m512i iv = _mm512_broadcast_i32x4(load128(kIV));
    for (int g = 0; g < G; ++g) {
      a[g] = _mm512_broadcast_i32x4(load128(key));
      b[g] = _mm512_broadcast_i32x4(load128(key + 4));
    }
    uint8_t block_flags = flags | flags_start;
    for (size_t blk = 0; blk < blocks; ++blk) {
      if (blk + 1 == blocks) block_flags |= flags_end;
      const __m512i f = _mm512_set4_epi32(block_flags, 0, 0, 0);
      FourBlockMsg msg[G];
      for (int g = 0; g < G; ++g) {
        msg[g].init(load_quarters(p + 4 * g, blk * kBlockLen).q);
        c[g] = iv;
        d[g] = _mm512_or_si512(d_base[g], f);
      }
      rounds(a, b, c, d, msg);
      for (int g = 0; g < G; ++g) {
        a[g] = _mm512_xor_si512(a[g], c[g]);
        b[g] = _mm512_xor_si512(b[g], d[g]);
      }
      block_flags = flags;
    }
    store(a, b, n, out);
  }

  static void compress_blocks(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                              uint8_t flags, uint8_t* out) {
    uint64_t counters[kInputs] = {};
    uint32_t block_lens[kInputs];
    __m512i w[kInputs];
    for (size_t i = 0; i < kInputs; ++i) {
      const size_t src = i < n ? i : 0;
      block_lens[i] = lens[src];
      w[i] = _mm512_maskz_loadu_epi8(block_mask(lens[src]), blocks[src]);
    }
    FourBlockMsg msg[G];
    for (int g = 0; g < G; ++g) msg[g].init(quarters_of(w + 4 * g).q);
    __m512i a[G], b[G], c[G], d[G];
    init_d(d, counters, block_lens);
    const __m512i f = _mm512_set4_epi32(flags, 0, 0, 0);
    for (int g = 0; g < G; ++g) {
      a[g] = _mm512_broadcast_i32x4(load128(key));
      b[g] = _mm512_broadcast_i32x4(load128(key + 4));
      c[g] = _mm512_broadcast_i32x4(load128(kIV));
      d[g] = _mm512_or_si512(d[g], f);
    }
    rounds(a, b, c, d, msg);
    for (int g = 0; g < G; ++g) {
      a[g] = _mm512_xor_si512(a[g], c[g]);
      b[g] = _mm512_xor_si512(b[g], d[g]);
    }
    store(a, b, n, out);
  }
};

using Z16 = Lanes<Zmm16>;

// Inputs for the next call out of n remaining: 9 or more go to the 16-lane kernel, whose
// throughput per input is best; fewer to the row kernels, whose latency is lowest.
CEP_B3_INLINE size_t pick_inputs(size_t n) {
  if (n > 8) return 16;
  return n > 4 ? 8 : 4;
}

}  // namespace

void hash_many_avx512(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8], uint64_t counter,
                      bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  if (n == 1) {  // a lone input: single XMM compressions have the lowest latency
    hash_many_serial(compress_in_place_avx512, inputs, n, blocks, key, counter, increment_counter, flags,
                     flags_start, flags_end, out);
    return;
  }
  while (n > 0) {
    const size_t lanes = pick_inputs(n);
    const size_t k = std::min(n, lanes);
    if (lanes == 16) {
      Z16::hash_many(inputs, k, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    } else if (lanes == 8) {
      RowsMany<2>::hash_many(inputs, k, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    } else {
      RowsMany<1>::hash_many(inputs, k, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    }
    inputs += k;
    n -= k;
    out += k * kOutLen;
    if (increment_counter) counter += k;
  }
}

void compress_blocks_avx512(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                            uint8_t flags, uint8_t* out) {
  while (n > 0) {
    const size_t lanes = pick_inputs(n);
    const size_t k = std::min(n, lanes);
    if (lanes == 16) {
      Z16::compress_blocks(blocks, lens, k, key, flags, out);
    } else if (lanes == 8) {
      RowsMany<2>::compress_blocks(blocks, lens, k, key, flags, out);
    } else {
      RowsMany<1>::compress_blocks(blocks, lens, k, key, flags, out);
    }
    blocks += k;
    lens += k;
    n -= k;
    out += k * kOutLen;
  }
}

void compress_in_place_avx512(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                              uint8_t flags) {
  __m128i a, b, c, d;
  compress_one(load128(cv), load128(cv + 4), block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv + 4), _mm_xor_si128(b, d));
}

void compress_xof_avx512(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                         uint8_t flags, uint8_t out[kBlockLen]) {
  __m128i a, b, c, d;
  compress_one(load128(cv), load128(cv + 4), block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_xor_si128(b, d));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32), _mm_xor_si128(c, load128(cv)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48), _mm_xor_si128(d, load128(cv + 4)));
}

}  // namespace cep::blake3::detail

#endif  // defined(__x86_64__)
