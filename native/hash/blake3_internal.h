// Internal interface between the BLAKE3 core (blake3.cc) and its SIMD kernels
// (blake3_sse41.cc, blake3_avx2.cc, blake3_avx512.cc, blake3_neon.cc): the kernel entry
// points, and the compression rounds written once as templates over a small "vector ops" type
// that each kernel file defines for its instruction set (see Lanes and Rows below).
//
// Linkage rule: this header is compiled into translation units built with different
// instruction-set flags. Anything here that generates code must therefore have internal
// linkage (static, or a template instantiated only with a kernel file's unnamed-namespace
// types); otherwise the linker could keep an AVX-512 copy of an inline function and call it
// from the portable path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "blake3.h"

#if defined(__GNUC__) || defined(__clang__)
#define CEP_B3_INLINE inline __attribute__((always_inline))
#else
#define CEP_B3_INLINE inline
#endif

namespace cep::blake3::detail {

inline constexpr uint32_t kIV[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// The spec permutes the message words between rounds; kSchedule[r][i] is the index of the
// original message word used at position i in round r.
inline constexpr uint8_t kPermutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

struct Schedule {
  uint8_t s[7][16];
};

constexpr Schedule make_schedule() {
  Schedule r{};
  for (int i = 0; i < 16; ++i) r.s[0][i] = static_cast<uint8_t>(i);
  for (int k = 1; k < 7; ++k)
    for (int i = 0; i < 16; ++i) r.s[k][i] = r.s[k - 1][kPermutation[i]];
  return r;
}

inline constexpr Schedule kSchedule = make_schedule();

// Widest kernel, in lanes; sizes the stack buffers of the tree code.
inline constexpr size_t kMaxLanes = 16;

// ---- Kernel entry points --------------------------------------------------------------------

// Hashes n inputs of `blocks` whole 64-byte blocks each into n chaining values (out: n * 32
// bytes, input i at out + 32 * i). Input i uses counter + i if increment_counter, else counter.
// Every block gets `flags`; the first also gets flags_start, the last flags_end. Used for whole
// chunks (blocks = 16, CHUNK_START / CHUNK_END) and for parent nodes (blocks = 1, PARENT).
using HashManyFn = void (*)(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8],
                            uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
                            uint8_t flags_end, uint8_t* out);

// Compresses n single blocks with counter 0: block i is lens[i] <= 64 bytes at blocks[i],
// implicitly zero-padded (only lens[i] bytes are read), with block_len lens[i]. Writes the first
// 32 output bytes of each to out + 32 * i. With flags CHUNK_START | CHUNK_END | ROOT this is the
// default-mode hash of inputs of at most one block.
using CompressBlocksFn = void (*)(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                                  uint8_t flags, uint8_t* out);

// One compression: cv becomes the next chaining value (the first 8 output words).
using CompressFn = void (*)(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                            uint8_t flags);

// One compression, all 16 output words (root output blocks).
using CompressXofFn = void (*)(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                               uint64_t counter, uint8_t flags, uint8_t out[kBlockLen]);

#define CEP_B3_DECLARE_KERNELS(isa)                                                                                \
  void hash_many_##isa(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8],              \
                       uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,              \
                       uint8_t flags_end, uint8_t* out);                                                          \
  void compress_blocks_##isa(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8], \
                             uint8_t flags, uint8_t* out)

CEP_B3_DECLARE_KERNELS(portable);
void compress_in_place(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                       uint8_t flags);
void compress_xof_portable(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                           uint8_t flags, uint8_t out[kBlockLen]);

// hash_many / compress_blocks one input at a time with a single-compression function: what
// the SIMD kernels fall back to for a lone input, where a lane kernel would idle all but one
// lane for no gain in latency.
void hash_many_serial(CompressFn compress, const uint8_t* const* inputs, size_t n, size_t blocks,
                      const uint32_t key[8], uint64_t counter, bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out);
void compress_blocks_serial(CompressFn compress, const uint8_t* const* blocks, const uint32_t* lens, size_t n,
                            const uint32_t key[8], uint8_t flags, uint8_t* out);

#if defined(__x86_64__)
CEP_B3_DECLARE_KERNELS(sse41);
CEP_B3_DECLARE_KERNELS(avx2);
CEP_B3_DECLARE_KERNELS(avx512);
// Row-wise single compressions (lower latency than the scalar code), SSE4.1 and AVX-512.
void compress_in_place_sse41(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                             uint8_t flags);
void compress_xof_sse41(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                        uint8_t flags, uint8_t out[kBlockLen]);
void compress_in_place_avx512(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                              uint8_t flags);
void compress_xof_avx512(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                         uint8_t flags, uint8_t out[kBlockLen]);
#elif defined(__aarch64__)
CEP_B3_DECLARE_KERNELS(neon);
#endif

#undef CEP_B3_DECLARE_KERNELS

// ---- Shared SIMD code ------------------------------------------------------------------------
//
// Two layouts, both templates over an ops type O (V: the vector type; add, xor_, ror16,
// ror12, ror8, ror7):
//   Lanes<O>: one independent compression per 32-bit lane, state word i in vector i. Best when
//     there are as many inputs as lanes.
//   Rows<O>:  the state as four rows of four words, one per 128-bit lane. A 128-bit vector holds
//     one compression, a 512-bit one four independent ones. Best for few inputs, where a
//     compression's latency matters more than throughput.

// Returns x unchanged, but hides it from the optimizer. g() computes (a + m) + b because b is
// the last input to become ready; GCC would otherwise reassociate this into (m + b) + a, one
// more addition on the critical path.
template <class V>
static CEP_B3_INLINE V opaque(V x) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if constexpr (sizeof(V) == 4) {
    __asm__("" : "+r"(x));
  } else {
    __asm__("" : "+v"(x));
  }
#elif defined(__GNUC__) && defined(__aarch64__)
  if constexpr (sizeof(V) == 4) {
    __asm__("" : "+r"(x));
  } else {
    __asm__("" : "+w"(x));
  }
#endif
  return x;
}

// The G mixing function, on whole vectors.
template <class O, class V>
static CEP_B3_INLINE void g(V& a, V& b, V& c, V& d, V mx, V my) {
  a = O::add(opaque(O::add(a, mx)), b);
  d = O::ror16(O::xor_(d, a));
  c = O::add(c, d);
  b = O::ror12(O::xor_(b, c));
  a = O::add(opaque(O::add(a, my)), b);
  d = O::ror8(O::xor_(d, a));
  c = O::add(c, d);
  b = O::ror7(O::xor_(b, c));
}

// Copies the blocks shorter than 64 bytes into pad (zero-filled) and points ptrs at the copies,
// for kernels without masked loads. ptrs/lens hold `lanes` entries.
static inline void pad_short_blocks(const uint8_t** ptrs, const uint32_t* lens, size_t lanes,
                                    uint8_t (*pad)[kBlockLen]) {
  for (size_t i = 0; i < lanes; ++i) {
    if (lens[i] >= kBlockLen) continue;
    std::memset(pad[i], 0, kBlockLen);
    if (lens[i] > 0) std::memcpy(pad[i], ptrs[i], lens[i]);
    ptrs[i] = pad[i];
  }
}

// Lane layout. Besides the arithmetic, O supplies:
//   static constexpr size_t kLanes;
//   V set1(uint32_t); V load_lanes(const uint32_t* w);               // w[i] -> lane i
//   void load_msg(const uint8_t* const* p, size_t offset, V m[16]);  // m[i] = word i of each lane's block
//   void load_msg_short(const uint8_t** p, const uint32_t* lens, V m[16]);  // same, zero-padding short blocks
//   void store_cvs(const V h[8], uint8_t* out);                       // lane i's 8 words -> out + 32 * i
template <class O>
struct Lanes {
  using V = typename O::V;
  static constexpr size_t kLanes = O::kLanes;

  template <int R>
  static CEP_B3_INLINE void round(V v[16], const V m[16]) {
    constexpr const uint8_t* s = kSchedule.s[R];
    // Columns, then diagonals.
    g<O>(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
    g<O>(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
    g<O>(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
    g<O>(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
    g<O>(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
    g<O>(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
    g<O>(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
    g<O>(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
  }

  static CEP_B3_INLINE void rounds(V v[16], const V m[16]) {
    round<0>(v, m);
    round<1>(v, m);
    round<2>(v, m);
    round<3>(v, m);
    round<4>(v, m);
    round<5>(v, m);
    round<6>(v, m);
  }

  // One compression per lane; leaves the 8-word chaining values in h.
  static CEP_B3_INLINE void compress(V h[8], const V m[16], V counter_lo, V counter_hi, V block_len, V flags) {
    V v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
               O::set1(kIV[0]), O::set1(kIV[1]), O::set1(kIV[2]), O::set1(kIV[3]),
               counter_lo, counter_hi, block_len, flags};
    rounds(v, m);
    for (int i = 0; i < 8; ++i) h[i] = O::xor_(v[i], v[i + 8]);
  }

  static CEP_B3_INLINE void counters(uint64_t counter, bool increment, V& lo, V& hi) {
    uint32_t l[kLanes], h[kLanes];
    for (size_t i = 0; i < kLanes; ++i) {
      const uint64_t c = counter + (increment ? i : 0);
      l[i] = static_cast<uint32_t>(c);
      h[i] = static_cast<uint32_t>(c >> 32);
    }
    lo = O::load_lanes(l);
    hi = O::load_lanes(h);
  }

  // hash_many for n <= kLanes inputs; unused lanes recompute input 0 and are dropped.
  static CEP_B3_INLINE void hash_many(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8],
                                      uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                                      uint8_t flags_end, uint8_t* out) {
    const uint8_t* p[kLanes];
    for (size_t i = 0; i < kLanes; ++i) p[i] = inputs[i < n ? i : 0];
    V h[8];
    for (int i = 0; i < 8; ++i) h[i] = O::set1(key[i]);
    V ctr_lo, ctr_hi;
    counters(counter, increment, ctr_lo, ctr_hi);
    const V block_len = O::set1(kBlockLen);
    uint8_t block_flags = flags | flags_start;
    // The next block's message is loaded and transposed before the current block is
    // compressed: it does not depend on the chaining value, and this way its shuffles overlap
    // with the rounds instead of waiting behind them.
    V m[2][16];  // double buffer, indexed by block parity
    O::load_msg(p, 0, m[0]);
    for (size_t b = 0; b < blocks; ++b) {
      if (b + 1 == blocks) block_flags |= flags_end;
      if (b + 1 < blocks) O::load_msg(p, (b + 1) * kBlockLen, m[(b + 1) % 2]);
      compress(h, m[b % 2], ctr_lo, ctr_hi, block_len, O::set1(block_flags));
      block_flags = flags;
    }
    store(h, n, out);
  }

  static CEP_B3_INLINE void compress_blocks(const uint8_t* const* blocks, const uint32_t* lens, size_t n,
                                            const uint32_t key[8], uint8_t flags, uint8_t* out) {
    const uint8_t* p[kLanes];
    uint32_t len[kLanes];
    for (size_t i = 0; i < kLanes; ++i) {
      p[i] = blocks[i < n ? i : 0];
      len[i] = lens[i < n ? i : 0];
    }
    V h[8];
    for (int i = 0; i < 8; ++i) h[i] = O::set1(key[i]);
    V m[16];
    O::load_msg_short(p, len, m);
    const V zero = O::set1(0);
    compress(h, m, zero, zero, O::load_lanes(len), O::set1(flags));
    store(h, n, out);
  }

  static CEP_B3_INLINE void store(const V h[8], size_t n, uint8_t* out) {
    if (n == kLanes) {
      O::store_cvs(h, out);
      return;
    }
    uint8_t tmp[kLanes * kOutLen];
    O::store_cvs(h, tmp);
    std::memcpy(out, tmp, n * kOutLen);
  }
};

// Row layout: a, b, c, d are the state rows (words 0-3, 4-7, 8-11, 12-15). Between the column
// and the diagonal step the rows are rotated within each 128-bit lane so that diagonals line
// up as columns. Besides the arithmetic, O supplies:
//   template <int N> V rot(V);  // word k of each 128-bit lane <- word (k + N) % 4
// and the message comes from an object msg with
//   template <int R, int W> V get() const;  // lane k: word row_msg_word(R, W, k) of the block

// Message word for word k of message vector `which` in round r: 0 and 1 feed the column
// step (first and second input of G number k), 2 and 3 the diagonal step. There row b is the
// one left in place, so word k holds diagonal G number (k + 3) % 4: G4 mixes a0 b1 c2 d3.
constexpr uint8_t row_msg_word(int r, int which, int k) {
  const int g = which < 2 ? k : 4 + (k + 3) % 4;
  return kSchedule.s[r][2 * g + (which & 1)];
}

template <class O>
struct Rows {
  using V = typename O::V;

  template <int R, class M>
  static CEP_B3_INLINE void round(V& a, V& b, V& c, V& d, const M& msg) {
    g<O>(a, b, c, d, msg.template get<R, 0>(), msg.template get<R, 1>());
    // Diagonalize. Row b, the last one g computes, stays put: rotating a, c and d instead
    // keeps the rotations off the critical path.
    a = O::template rot<3>(a);
    c = O::template rot<1>(c);
    d = O::template rot<2>(d);
    g<O>(a, b, c, d, msg.template get<R, 2>(), msg.template get<R, 3>());
    a = O::template rot<1>(a);
    c = O::template rot<3>(c);
    d = O::template rot<2>(d);
  }

  template <class M>
  static CEP_B3_INLINE void rounds(V& a, V& b, V& c, V& d, const M& msg) {
    round<0>(a, b, c, d, msg);
    round<1>(a, b, c, d, msg);
    round<2>(a, b, c, d, msg);
    round<3>(a, b, c, d, msg);
    round<4>(a, b, c, d, msg);
    round<5>(a, b, c, d, msg);
    round<6>(a, b, c, d, msg);
  }
};

// Immediate for a 4 x 32-bit shuffle (pshufd) that sets word k to word (k + n) % 4.
constexpr int rot_imm(int n) {
  return ((n + 0) & 3) | ((n + 1) & 3) << 2 | ((n + 2) & 3) << 4 | ((n + 3) & 3) << 6;
}

}  // namespace cep::blake3::detail
