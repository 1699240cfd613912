// BLAKE3, written from the specification (https://github.com/BLAKE3-team/BLAKE3-specs).
//
// Layout of this file:
//   - the portable compression function, and the serial (one input at a time) kernels built
//     on a single-compression function,
//   - "outputs": a node (chunk or parent) whose final compression has not been done yet,
//     because only the caller knows whether it is the root,
//   - the wide tree code used by one-shot hashing: many chunks, then many parents, per call
//     into a SIMD kernel picked at run time from cpu::active(),
//   - the incremental Hasher (chunk state + stack of subtree chaining values),
//   - hash_many_slices.
#include "blake3.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "../common/cpu.h"
#include "blake3_internal.h"

namespace cep::blake3 {
namespace detail {
namespace {

CEP_B3_INLINE uint32_t load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

CEP_B3_INLINE void store32(uint8_t* p, uint32_t w) {
  p[0] = static_cast<uint8_t>(w);
  p[1] = static_cast<uint8_t>(w >> 8);
  p[2] = static_cast<uint8_t>(w >> 16);
  p[3] = static_cast<uint8_t>(w >> 24);
}

// One "lane" of 32-bit scalars: the shared round code in blake3_internal.h then serves as the
// portable compression function too.
struct Scalar {
  using V = uint32_t;
  static constexpr size_t kLanes = 1;
  static CEP_B3_INLINE V set1(uint32_t x) { return x; }
  static CEP_B3_INLINE V add(V a, V b) { return a + b; }
  static CEP_B3_INLINE V xor_(V a, V b) { return a ^ b; }
  static CEP_B3_INLINE V ror16(V x) { return std::rotr(x, 16); }
  static CEP_B3_INLINE V ror12(V x) { return std::rotr(x, 12); }
  static CEP_B3_INLINE V ror8(V x) { return std::rotr(x, 8); }
  static CEP_B3_INLINE V ror7(V x) { return std::rotr(x, 7); }
};
using Portable = Lanes<Scalar>;

// Runs the 7 rounds of one compression and leaves the full 16-word state in v.
CEP_B3_INLINE void compress_state(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                                  uint64_t counter, uint8_t flags, uint32_t v[16]) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = load32(block + 4 * i);
  const uint32_t init[16] = {cv[0],  cv[1],  cv[2],  cv[3],  cv[4],  cv[5],
                             cv[6],  cv[7],  kIV[0], kIV[1], kIV[2], kIV[3],
                             static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), block_len, flags};
  std::memcpy(v, init, sizeof(init));
  Portable::rounds(v, m);
}

void store_cv(const uint32_t cv[8], uint8_t out[kOutLen]) {
  for (int i = 0; i < 8; ++i) store32(out + 4 * i, cv[i]);
}

}  // namespace

void compress_in_place(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                       uint8_t flags) {
  uint32_t v[16];
  compress_state(cv, block, block_len, counter, flags, v);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void compress_xof_portable(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len, uint64_t counter,
                           uint8_t flags, uint8_t out[kBlockLen]) {
  uint32_t v[16];
  compress_state(cv, block, block_len, counter, flags, v);
  for (int i = 0; i < 8; ++i) {
    store32(out + 4 * i, v[i] ^ v[i + 8]);
    store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
  }
}

void hash_many_serial(CompressFn compress, const uint8_t* const* inputs, size_t n, size_t blocks,
                      const uint32_t key[8], uint64_t counter, bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; ++b) {
      if (b + 1 == blocks) block_flags |= flags_end;
      compress(cv, inputs[i] + b * kBlockLen, kBlockLen, counter, block_flags);
      block_flags = flags;
    }
    store_cv(cv, out + i * kOutLen);
    if (increment_counter) ++counter;
  }
}

void compress_blocks_serial(CompressFn compress, const uint8_t* const* blocks, const uint32_t* lens, size_t n,
                            const uint32_t key[8], uint8_t flags, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    uint8_t block[kBlockLen] = {};
    if (lens[i] > 0) std::memcpy(block, blocks[i], lens[i]);
    uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    compress(cv, block, static_cast<uint8_t>(lens[i]), 0, flags);
    store_cv(cv, out + i * kOutLen);
  }
}

void hash_many_portable(const uint8_t* const* inputs, size_t n, size_t blocks, const uint32_t key[8],
                        uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
                        uint8_t flags_end, uint8_t* out) {
  hash_many_serial(compress_in_place, inputs, n, blocks, key, counter, increment_counter, flags, flags_start,
                   flags_end, out);
}

void compress_blocks_portable(const uint8_t* const* blocks, const uint32_t* lens, size_t n, const uint32_t key[8],
                              uint8_t flags, uint8_t* out) {
  compress_blocks_serial(compress_in_place, blocks, lens, n, key, flags, out);
}

}  // namespace detail

namespace {

using namespace detail;

// ---- Kernel selection ----------------------------------------------------------------------

struct Backend {
  HashManyFn hash_many;
  CompressBlocksFn compress_blocks;
  CompressFn compress;  // single compressions: chunk state, parents and roots outside hash_many
  CompressXofFn compress_xof;
  size_t lanes;  // inputs per hash_many call that keep every lane busy
};

// Read on every call (not cached) so that cpu::set_tier() takes effect immediately.
Backend backend() {
  [[maybe_unused]] const cpu::Features& f = cpu::active();
#if defined(__x86_64__)
  if (f.avx512) return {hash_many_avx512, compress_blocks_avx512, compress_in_place_avx512, compress_xof_avx512, 16};
  if (f.avx2) return {hash_many_avx2, compress_blocks_avx2, compress_in_place_sse41, compress_xof_sse41, 8};
  if (f.sse41) return {hash_many_sse41, compress_blocks_sse41, compress_in_place_sse41, compress_xof_sse41, 4};
#elif defined(__aarch64__)
  if (f.neon) return {hash_many_neon, compress_blocks_neon, compress_in_place, compress_xof_portable, 4};
#endif
  return {hash_many_portable, compress_blocks_portable, compress_in_place, compress_xof_portable, 1};
}

void key_words(const uint8_t* key, uint32_t out[8]) {
  if (key == nullptr) {
    std::memcpy(out, kIV, sizeof(kIV));
    return;
  }
  for (int i = 0; i < 8; ++i) out[i] = load32(key + 4 * i);
}

// ---- Outputs ---------------------------------------------------------------------------------

// What the tree code needs besides the input: kernels, key and mode flags.
struct Ctx {
  Backend be;
  size_t width;  // CVs a subtree is reduced to: the kernel's lanes, but at least 2
  const uint32_t* key;
  uint8_t flags;
};

Ctx make_ctx(const uint32_t key[8], uint8_t flags) {
  const Backend be = backend();
  return {be, std::max<size_t>(be.lanes, 2), key, flags};
}

// The last compression of a node, held back until we know whether the node is the root.
struct Output {
  uint32_t cv[8];
  uint8_t block[kBlockLen];
  uint64_t counter;
  uint8_t block_len;
  uint8_t flags;
};

// Chaining value of a non-root node.
void output_cv(const Ctx& c, const Output& o, uint8_t out[kOutLen]) {
  uint32_t cv[8];
  std::memcpy(cv, o.cv, sizeof(cv));
  c.be.compress(cv, o.block, o.block_len, o.counter, o.flags);
  store_cv(cv, out);
}

// Root output bytes [seek, seek + len): output block i is the root compression with counter i.
void output_root(const Ctx& c, const Output& o, uint64_t seek, uint8_t* out, size_t len) {
  uint64_t counter = seek / kBlockLen;
  size_t skip = seek % kBlockLen;
  if (skip == 0 && len <= kOutLen) {  // the common 32-byte digest: half a block suffices
    uint32_t cv[8];
    std::memcpy(cv, o.cv, sizeof(cv));
    c.be.compress(cv, o.block, o.block_len, counter, o.flags | ROOT);
    uint8_t bytes[kOutLen];
    store_cv(cv, bytes);
    std::memcpy(out, bytes, len);
    return;
  }
  while (len > 0) {
    uint8_t block[kBlockLen];
    c.be.compress_xof(o.cv, o.block, o.block_len, counter, o.flags | ROOT, block);
    const size_t n = std::min(kBlockLen - skip, len);
    std::memcpy(out, block + skip, n);
    out += n;
    len -= n;
    skip = 0;
    ++counter;
  }
}

Output parent_output(const Ctx& c, const uint8_t children[2 * kOutLen]) {
  Output o;
  std::memcpy(o.cv, c.key, sizeof(o.cv));
  std::memcpy(o.block, children, kBlockLen);
  o.counter = 0;
  o.block_len = kBlockLen;
  o.flags = c.flags | PARENT;
  return o;
}

// A chunk of len <= kChunkLen bytes hashed from memory: all blocks but the last compressed.
Output chunk_output(const Ctx& c, const uint8_t* in, size_t len, uint64_t counter) {
  Output o;
  std::memcpy(o.cv, c.key, sizeof(o.cv));
  uint8_t start = CHUNK_START;
  for (; len > kBlockLen; in += kBlockLen, len -= kBlockLen) {
    c.be.compress(o.cv, in, kBlockLen, counter, c.flags | start);
    start = 0;
  }
  std::memset(o.block, 0, kBlockLen);
  if (len > 0) std::memcpy(o.block, in, len);  // in may be null for empty input
  o.counter = counter;
  o.block_len = static_cast<uint8_t>(len);
  o.flags = c.flags | start | CHUNK_END;
  return o;
}

// Digest (out_len <= 32 bytes) of an input of at most one block: a single compression, without
// the Output round trip. The latency of short hashes is mostly this function.
void single_block_digest(const Ctx& c, const uint8_t* in, size_t len, uint8_t* out, size_t out_len) {
  uint8_t padded[kBlockLen];
  const uint8_t* block = in;
  if (len < kBlockLen) {
    std::memset(padded, 0, kBlockLen);
    if (len > 0) std::memcpy(padded, in, len);
    block = padded;
  }
  uint32_t cv[8];
  std::memcpy(cv, c.key, sizeof(cv));
  c.be.compress(cv, block, static_cast<uint8_t>(len), 0, c.flags | CHUNK_START | CHUNK_END | ROOT);
  uint8_t digest[kOutLen];
  store_cv(cv, digest);
  std::memcpy(out, digest, out_len);
}

// ---- Wide tree hashing -----------------------------------------------------------------------

// CVs of the chunks of in[0, len), len <= width chunks; returns the number of chunks.
size_t hash_chunks(const Ctx& c, const uint8_t* in, size_t len, uint64_t counter, uint8_t* out) {
  const size_t full = len / kChunkLen;
  const uint8_t* ptrs[kMaxLanes];
  for (size_t i = 0; i < full; ++i) ptrs[i] = in + i * kChunkLen;
  if (full > 0)
    c.be.hash_many(ptrs, full, kChunkLen / kBlockLen, c.key, counter, true, c.flags, CHUNK_START, CHUNK_END, out);
  if (len % kChunkLen == 0) return full;
  output_cv(c, chunk_output(c, in + full * kChunkLen, len % kChunkLen, counter + full), out + full * kOutLen);
  return full + 1;
}

// Pairs up n adjacent CVs into parent CVs (an odd last one is carried up unchanged); returns
// the new count. n <= 2 * kMaxLanes.
size_t hash_parents(const Ctx& c, const uint8_t* cvs, size_t n, uint8_t* out) {
  const size_t pairs = n / 2;
  const uint8_t* ptrs[kMaxLanes];
  for (size_t i = 0; i < pairs; ++i) ptrs[i] = cvs + i * 2 * kOutLen;
  c.be.hash_many(ptrs, pairs, 1, c.key, 0, false, c.flags | PARENT, 0, 0, out);
  if (n % 2 == 1) std::memcpy(out + pairs * kOutLen, cvs + pairs * 2 * kOutLen, kOutLen);
  return pairs + n % 2;
}

// Bytes in the left subtree of a node covering len > kChunkLen bytes: the largest
// power-of-two number of chunks that leaves at least one byte for the right subtree.
size_t left_len(size_t len) { return std::bit_floor((len - 1) / kChunkLen) * kChunkLen; }

// Hashes the subtree in[0, len) whose first chunk is number `counter` down to at most
// c.width CVs (at least 2 when it has more than one chunk), written to out; returns how many.
// Each level hands a full set of lanes to the kernel: width chunks at the leaves, then
// width parents per call. Recursion depth is log2(len / (width * kChunkLen)).
size_t hash_subtree_wide(const Ctx& c, const uint8_t* in, size_t len, uint64_t counter, uint8_t* out) {
  if (len <= c.width * kChunkLen) return hash_chunks(c, in, len, counter, out);
  const size_t left = left_len(len);
  uint8_t cvs[2 * kMaxLanes * kOutLen];
  // The left subtree has at least width chunks, so it always returns exactly width CVs and
  // the pairs below never straddle the two halves.
  const size_t n_left = hash_subtree_wide(c, in, left, counter, cvs);
  const size_t n_right =
      hash_subtree_wide(c, in + left, len - left, counter + left / kChunkLen, cvs + n_left * kOutLen);
  return hash_parents(c, cvs, n_left + n_right, out);
}

// hash_subtree_wide, then parent levels until exactly 2 CVs remain: the children of the
// subtree's top node. len > kChunkLen.
void hash_subtree_to_children(const Ctx& c, const uint8_t* in, size_t len, uint64_t counter,
                              uint8_t out[2 * kOutLen]) {
  uint8_t a[kMaxLanes * kOutLen], b[kMaxLanes * kOutLen];
  size_t n = hash_subtree_wide(c, in, len, counter, a);
  uint8_t* cur = a;
  uint8_t* next = b;
  while (n > 2) {
    n = hash_parents(c, cur, n, next);
    std::swap(cur, next);
  }
  std::memcpy(out, cur, 2 * kOutLen);
}

// ---- Incremental hasher ----------------------------------------------------------------------
//
// Invariants: the current chunk always keeps its last block in buf (a full chunk is only
// closed when more input arrives, since it could be the root). The CV stack holds one entry
// per set bit of chunk_counter, plus possibly one more on top when update() ended with a whole
// subtree (its two children are pushed separately because their parent might be the root).

size_t chunk_len(const Hasher* h) { return h->blocks_compressed * kBlockLen + h->buf_len; }

uint8_t chunk_start_flag(const Hasher* h) { return h->blocks_compressed == 0 ? CHUNK_START : 0; }

void reset_chunk(Hasher* h, uint64_t counter) {
  std::memcpy(h->cv, h->key, sizeof(h->cv));
  h->chunk_counter = counter;
  h->buf_len = 0;
  h->blocks_compressed = 0;
}

void compress_chunk_block(const Ctx& c, Hasher* h, const uint8_t* block) {
  c.be.compress(h->cv, block, kBlockLen, h->chunk_counter, h->flags | chunk_start_flag(h));
  ++h->blocks_compressed;
}

// Absorbs len bytes into the current chunk; they must fit in it.
void chunk_update(const Ctx& c, Hasher* h, const uint8_t* in, size_t len) {
  if (h->buf_len > 0) {
    const size_t take = std::min<size_t>(kBlockLen - h->buf_len, len);
    std::memcpy(h->buf + h->buf_len, in, take);
    h->buf_len += static_cast<uint8_t>(take);
    in += take;
    len -= take;
    if (len == 0) return;
    compress_chunk_block(c, h, h->buf);
    h->buf_len = 0;
  }
  for (; len > kBlockLen; in += kBlockLen, len -= kBlockLen) compress_chunk_block(c, h, in);
  std::memcpy(h->buf, in, len);
  h->buf_len = static_cast<uint8_t>(len);
}

Output chunk_state_output(const Hasher* h) {
  Output o;
  std::memcpy(o.cv, h->cv, sizeof(o.cv));
  std::memset(o.block, 0, kBlockLen);
  std::memcpy(o.block, h->buf, h->buf_len);
  o.counter = h->chunk_counter;
  o.block_len = h->buf_len;
  o.flags = h->flags | chunk_start_flag(h) | CHUNK_END;
  return o;
}

void push_cv(Hasher* h, const uint8_t cv[kOutLen]) {
  std::memcpy(h->cv_stack + h->cv_stack_len * kOutLen, cv, kOutLen);
  ++h->cv_stack_len;
}

// Merges the top of the stack until it holds one entry per set bit of `chunks`, the number of
// chunks hashed so far. Only called when more input follows, so no merged node is the root.
void merge_stack(const Ctx& c, Hasher* h, uint64_t chunks) {
  const size_t want = static_cast<size_t>(std::popcount(chunks));
  while (h->cv_stack_len > want) {
    uint8_t* children = h->cv_stack + (h->cv_stack_len - 2) * kOutLen;
    output_cv(c, parent_output(c, children), children);
    --h->cv_stack_len;
  }
}

// Closes the full current chunk (more input follows) and starts the next one.
void close_chunk(const Ctx& c, Hasher* h) {
  uint8_t cv[kOutLen];
  output_cv(c, chunk_state_output(h), cv);
  merge_stack(c, h, h->chunk_counter);
  push_cv(h, cv);
  reset_chunk(h, h->chunk_counter + 1);
}

// Hashes whole subtrees straight from the input while more than one chunk remains; returns the
// bytes consumed. The chunk state must be empty.
size_t update_subtrees(const Ctx& c, Hasher* h, const uint8_t* in, size_t len) {
  size_t done = 0;
  while (len - done > kChunkLen) {
    uint64_t chunks = std::bit_floor((len - done) / kChunkLen);
    // A subtree must start at a multiple of its size.
    if (h->chunk_counter != 0) chunks = std::min(chunks, h->chunk_counter & (~h->chunk_counter + 1));
    const size_t bytes = static_cast<size_t>(chunks) * kChunkLen;
    merge_stack(c, h, h->chunk_counter);
    if (chunks == 1) {
      uint8_t cv[kOutLen];
      output_cv(c, chunk_output(c, in + done, kChunkLen, h->chunk_counter), cv);
      push_cv(h, cv);
    } else {
      uint8_t children[2 * kOutLen];
      hash_subtree_to_children(c, in + done, bytes, h->chunk_counter, children);
      push_cv(h, children);
      push_cv(h, children + kOutLen);
    }
    h->chunk_counter += chunks;
    done += bytes;
  }
  return done;
}

}  // namespace

// ---- Public API ----------------------------------------------------------------------------

void hasher_init(Hasher* h, const uint8_t* key, uint8_t flags) {
  key_words(key, h->key);
  h->flags = flags;
  hasher_reset(h);
}

void hasher_reset(Hasher* h) {
  reset_chunk(h, 0);
  h->cv_stack_len = 0;
}

void hasher_update(Hasher* h, const uint8_t* input, size_t len) {
  if (len == 0) return;
  const Ctx c = make_ctx(h->key, h->flags);
  if (chunk_len(h) > 0) {
    const size_t take = std::min(kChunkLen - chunk_len(h), len);
    chunk_update(c, h, input, take);
    input += take;
    len -= take;
    if (len == 0) return;
    close_chunk(c, h);
  }
  const size_t done = update_subtrees(c, h, input, len);
  input += done;
  len -= done;
  if (len > 0) {
    merge_stack(c, h, h->chunk_counter);
    chunk_update(c, h, input, len);
  }
}

void hasher_finalize(const Hasher* h, uint64_t seek, uint8_t* out, size_t out_len) {
  const Ctx c = make_ctx(h->key, h->flags);
  size_t i = h->cv_stack_len;
  Output o;
  if (chunk_len(h) > 0 || i == 0) {
    o = chunk_state_output(h);
  } else {
    // update() ended with a whole subtree: its two children are the top entries.
    i -= 2;
    o = parent_output(c, h->cv_stack + i * kOutLen);
  }
  while (i > 0) {
    --i;
    uint8_t children[2 * kOutLen];
    std::memcpy(children, h->cv_stack + i * kOutLen, kOutLen);
    output_cv(c, o, children + kOutLen);
    o = parent_output(c, children);
  }
  output_root(c, o, seek, out, out_len);
}

void hash(const uint8_t* input, size_t len, const uint8_t* key, uint8_t flags, uint64_t seek, uint8_t* out,
          size_t out_len) {
  uint32_t k[8];
  key_words(key, k);
  const Ctx c = make_ctx(k, flags);
  if (len <= kBlockLen && seek == 0 && out_len <= kOutLen) {
    single_block_digest(c, input, len, out, out_len);
    return;
  }
  if (len <= kChunkLen) {
    output_root(c, chunk_output(c, input, len, 0), seek, out, out_len);
    return;
  }
  uint8_t children[2 * kOutLen];
  hash_subtree_to_children(c, input, len, 0, children);
  output_root(c, parent_output(c, children), seek, out, out_len);
}

void hash_many_slices(const uint8_t* base, const uint32_t* offsets, const uint32_t* lengths, size_t n,
                      uint8_t* out) {
  const Backend be = backend();
  const uint8_t flags = CHUNK_START | CHUNK_END | ROOT;
  // Single-block slices wait here until a kernel call's worth of lanes is collected.
  const uint8_t* ptrs[kMaxLanes];
  uint32_t lens[kMaxLanes];
  size_t index[kMaxLanes];
  size_t pending = 0;
  auto flush = [&] {
    uint8_t digests[kMaxLanes * kOutLen];
    be.compress_blocks(ptrs, lens, pending, kIV, flags, digests);
    for (size_t j = 0; j < pending; ++j) std::memcpy(out + index[j] * kOutLen, digests + j * kOutLen, kOutLen);
    pending = 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = base + offsets[i];
    const size_t len = lengths ? lengths[i] : offsets[i + 1] - offsets[i];
    if (len > kBlockLen) {
      hash(p, len, nullptr, 0, 0, out + i * kOutLen, kOutLen);
      continue;
    }
    ptrs[pending] = p;
    lens[pending] = static_cast<uint32_t>(len);
    index[pending] = i;
    if (++pending == be.lanes) flush();
  }
  if (pending > 0) flush();
}

}  // namespace cep::blake3
