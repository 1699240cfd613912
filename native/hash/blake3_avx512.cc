// BLAKE3 AVX-512 kernels (compiled with -mavx512f -mavx512vl -mavx512bw ...):
//   - 16 inputs per call, one per 32-bit lane of ZMM registers (Lanes layout);
//   - up to 8 inputs per call in the Rows layout, four per ZMM register (one per 128-bit lane):
//     for few inputs a compression's latency, not throughput, is the limit, and the row form
//     has half the dependency chain per round of the lane form at equal work per input;
//   - single compressions in the Rows layout in an XMM register.
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

struct Zmm16 {
  using V = __m512i;
  static constexpr size_t kLanes = 16;
  static constexpr bool kInterleave = true;

  static CEP_B3_INLINE V set1(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static CEP_B3_INLINE V load_lanes(const uint32_t* w) { return _mm512_loadu_si512(w); }
  static CEP_B3_INLINE V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static CEP_B3_INLINE V xor_(V a, V b) { return _mm512_xor_si512(a, b); }
  static CEP_B3_INLINE V ror16(V x) { return _mm512_ror_epi32(x, 16); }
  static CEP_B3_INLINE V ror12(V x) { return _mm512_ror_epi32(x, 12); }
  static CEP_B3_INLINE V ror8(V x) { return _mm512_ror_epi32(x, 8); }
  static CEP_B3_INLINE V ror7(V x) { return _mm512_ror_epi32(x, 7); }

  static CEP_B3_INLINE void load_msg(const uint8_t* const* p, size_t offset, V m[16]) {
    for (int i = 0; i < 16; ++i) m[i] = _mm512_loadu_si512(p[i] + offset);
    transpose16(m);
  }

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
    return _mm_shuffle_epi32(x, rot_imm(N));
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
    return _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(rot_imm(N)));
  }
};

// Permutation indices that pick each round's message vectors out of whole blocks.
struct RowIndices {
  // One block in a ZMM register: round r's four message vectors, side by side.
  alignas(64) uint32_t one[7][16];
  // Two blocks (x: words 0-15, y: words 16-31): round r, vector pair p (0: column step,
  // 1: diagonal step) as [first vector of x, of y, second vector of x, of y].
  alignas(64) uint32_t two[7][2][16];
};

constexpr RowIndices make_row_indices() {
  RowIndices t{};
  for (int r = 0; r < 7; ++r) {
    for (int k = 0; k < 4; ++k) {
      for (int w = 0; w < 4; ++w) t.one[r][4 * w + k] = row_msg_word(r, w, k);
      for (int p = 0; p < 2; ++p) {
        t.two[r][p][k] = row_msg_word(r, 2 * p, k);
        t.two[r][p][4 + k] = 16 + row_msg_word(r, 2 * p, k);
        t.two[r][p][8 + k] = row_msg_word(r, 2 * p + 1, k);
        t.two[r][p][12 + k] = 16 + row_msg_word(r, 2 * p + 1, k);
      }
    }
  }
  return t;
}

constexpr RowIndices kRowIndices = make_row_indices();

CEP_B3_INLINE __m512i load_indices(const uint32_t* idx) { return _mm512_load_si512(idx); }

// Message source for one block in an XMM row state.
struct OneBlockMsg {
  __m512i w;  // the block's 16 words

  template <int R, int W>
  CEP_B3_INLINE __m128i get() const {
    // The same permute serves all four W of a round (the compiler merges the copies).
    const __m512i all = _mm512_permutexvar_epi32(load_indices(kRowIndices.one[R]), w);
    if constexpr (W == 0) return _mm512_castsi512_si128(all);
    return _mm512_extracti32x4_epi32(all, W);
  }
};

// Message source for four blocks in a ZMM row state, block j in 128-bit lane j.
struct FourBlockMsg {
  __m512i w[4];

  template <int R, int W>
  CEP_B3_INLINE __m512i get() const {
    const __m512i idx = load_indices(kRowIndices.two[R][W / 2]);
    const __m512i b01 = _mm512_permutex2var_epi32(w[0], idx, w[1]);
    const __m512i b23 = _mm512_permutex2var_epi32(w[2], idx, w[3]);
    return _mm512_shuffle_i32x4(b01, b23, W % 2 == 0 ? _MM_SHUFFLE(1, 0, 1, 0) : _MM_SHUFFLE(3, 2, 3, 2));
  }
};

CEP_B3_INLINE __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Single compression; a, b receive v[0..7], c, d v[8..15].
CEP_B3_INLINE void compress_one(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                                uint64_t counter, uint8_t flags, __m128i& a, __m128i& b, __m128i& c, __m128i& d) {
  a = load128(cv);
  b = load128(cv + 4);
  c = load128(kIV);
  d = _mm_setr_epi32(static_cast<int>(counter), static_cast<int>(counter >> 32), block_len, flags);
  const OneBlockMsg msg{_mm512_loadu_si512(block)};
  Rows<XmmRows>::rounds(a, b, c, d, msg);
}

// 4 * G inputs in G ZMM row states, processed in the same loop so that their independent
// dependency chains overlap.
template <int G>
struct RowsMany {
  static constexpr size_t kInputs = 4 * G;

  template <int R>
  static CEP_B3_INLINE void round(__m512i* a, __m512i* b, __m512i* c, __m512i* d, const FourBlockMsg* msg) {
    for (int g = 0; g < G; ++g) Rows<ZmmRows>::round<R>(a[g], b[g], c[g], d[g], msg[g]);
  }

  static CEP_B3_INLINE void rounds(__m512i* a, __m512i* b, __m512i* c, __m512i* d, const FourBlockMsg* msg) {
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
        for (int j = 0; j < 4; ++j) msg[g].w[j] = _mm512_loadu_si512(p[4 * g + j] + blk * kBlockLen);
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
    FourBlockMsg msg[G];
    for (size_t i = 0; i < kInputs; ++i) {
      const size_t src = i < n ? i : 0;
      block_lens[i] = lens[src];
      msg[i / 4].w[i % 4] = _mm512_maskz_loadu_epi8(block_mask(lens[src]), blocks[src]);
    }
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
// throughput per input is best; up to 8 to the row kernels, whose latency is lowest.
CEP_B3_INLINE size_t pick_inputs(size_t n) {
  if (n > 8) return 16;
  return n > 4 ? 8 : 4;
}
}  // namespace

void hash_many_avx512(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8], uint64_t counter,
                      bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
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
  compress_one(cv, block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv + 4), _mm_xor_si128(b, d));
}

void compress_xof_avx512(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                         uint8_t flags, uint8_t out[kBlockLen]) {
  __m128i a, b, c, d;
  compress_one(cv, block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_xor_si128(b, d));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32), _mm_xor_si128(c, load128(cv)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48), _mm_xor_si128(d, load128(cv + 4)));
}

}  // namespace cep::blake3::detail

#endif  // defined(__x86_64__)
