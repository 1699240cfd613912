// Flat frame finisher and validator (docs/FORMAT.md). Mirrors src/native/fallback/flat.ts
// statement for statement where verdicts are concerned: same checks, same order, same status
// and offset for every failure, so both halves reject a bad frame with the same error.
#include "flat.h"

#include <cstring>

#include "../hash/blake3.h"
#include "../hash/crc32c.h"

namespace cep::flat {
namespace {

constexpr uint8_t kMagic[4] = {0x43, 0x45, 0x50, 0x46};  // "CEPF"
constexpr uint64_t kMaxSafe = 1ull << 53;
constexpr char kRootKey[] = "CEP flat frame v2: chained root.";
static_assert(sizeof kRootKey == 33, "root key is 32 bytes");

// Minimal LEB128, at most 8 bytes, value < 2^53. False (p unchanged) on a bad or short varint.
inline bool read_varint(const uint8_t* b, size_t end, size_t& p, uint64_t& v) {
  size_t q = p;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) {
    if (q >= end) return false;
    const uint8_t c = b[q++];
    x |= static_cast<uint64_t>(c & 0x7F) << (7 * i);
    if ((c & 0x80) == 0) {
      if (c == 0 && i > 0) return false;  // not minimal
      if (x >= kMaxSafe) return false;
      p = q;
      v = x;
      return true;
    }
  }
  return false;
}

inline bool varint_truncated(const uint8_t* b, size_t end, size_t p) {
  for (int i = 0; i < 8; i++) {
    if (p + i >= end) return true;
    if ((b[p + i] & 0x80) == 0) return false;
  }
  return false;
}

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 128) {
    v >>= 7;
    n++;
  }
  return n;
}

inline size_t write_varint(uint8_t* b, size_t p, uint64_t v) {
  while (v >= 128) {
    b[p++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  b[p++] = static_cast<uint8_t>(v);
  return p;
}

inline void write_u32(uint8_t* b, size_t p, uint32_t v) {
  b[p] = static_cast<uint8_t>(v);
  b[p + 1] = static_cast<uint8_t>(v >> 8);
  b[p + 2] = static_cast<uint8_t>(v >> 16);
  b[p + 3] = static_cast<uint8_t>(v >> 24);
}

inline uint32_t read_u32(const uint8_t* b, size_t p) {
  return static_cast<uint32_t>(b[p]) | static_cast<uint32_t>(b[p + 1]) << 8 | static_cast<uint32_t>(b[p + 2]) << 16 |
         static_cast<uint32_t>(b[p + 3]) << 24;
}

inline uint32_t read_u32_be(const uint8_t* b, size_t p) {
  return static_cast<uint32_t>(b[p]) << 24 | static_cast<uint32_t>(b[p + 1]) << 16 |
         static_cast<uint32_t>(b[p + 2]) << 8 | static_cast<uint32_t>(b[p + 3]);
}

inline int compare_bytes(const uint8_t* b, size_t ao, size_t al, size_t bo, size_t bl) {
  // every key but the trailer's starts with a u32 BE ordinal: most neighbours differ there
  if (al >= 4 && bl >= 4) {
    const uint32_t x = read_u32_be(b, ao), y = read_u32_be(b, bo);
    if (x != y) return x < y ? -1 : 1;
  }
  const size_t n = al < bl ? al : bl;
  const int d = std::memcmp(b + ao, b + bo, n);
  if (d != 0) return d;
  return al < bl ? -1 : al > bl ? 1 : 0;
}

int key_length_of(uint8_t type) {
  switch (type) {
    case T_CELL:
    case T_MANIFEST:
    case T_ORDER:
    case T_MANIFEST_HISTORY:
      return 5;
    case T_CHUNK:
      return 9;
    case T_NAMEPOOL:
    case T_HISTORY:
      return 13;
    default:
      return -1;
  }
}

uint32_t cap_of(uint8_t type) {
  switch (type) {
    case T_CHUNK:
      return CAP_CHUNKS;
    case T_MANIFEST:
      return CAP_MANIFEST;
    case T_ORDER:
      return CAP_ORDER;
    case T_NAMEPOOL:
      return CAP_NAMEPOOL;
    case T_HISTORY:
      return CAP_PAYLOAD_HISTORY;
    case T_MANIFEST_HISTORY:
      return CAP_MANIFEST_HISTORY;
    default:
      return 0;
  }
}

size_t nonce_length(uint8_t aead) { return aead == 2 ? 12 : aead == 3 ? 24 : 0; }

void leaves_of(const uint8_t* b, const std::vector<uint32_t>& starts, const std::vector<uint32_t>& lens,
               std::vector<uint8_t>& leaves) {
  leaves.resize(lens.size() * 32);
  if (!lens.empty()) blake3::hash_many_slices(b, starts.data(), lens.data(), lens.size(), leaves.data());
}

}  // namespace

void root(const uint8_t* leaves, size_t count, const uint8_t* prev_root, uint64_t beat, uint32_t caps, uint8_t mode,
          uint8_t out[32]) {
  uint8_t block[81] = {0};
  if (count == 1) {
    std::memcpy(block, leaves, 32);
  } else if (count > 1) {
    // scratch kept per thread: repeated frames reuse the pages instead of faulting new ones
    thread_local std::vector<uint8_t> level, next;
    thread_local std::vector<uint32_t> offs;
    const uint8_t* cur = leaves;  // the first level is read straight from the leaves (no copy)
    size_t n = count;
    offs.resize((n >> 1) + 1);
    for (size_t i = 0; i <= (n >> 1); i++) offs[i] = static_cast<uint32_t>(i * 64);
    while (n > 1) {
      const size_t pairs = n >> 1;
      next.resize(((n + 1) >> 1) * 32);
      blake3::hash_many_slices(cur, offs.data(), nullptr, pairs, next.data());
      if (n & 1) std::memcpy(next.data() + pairs * 32, cur + (n - 1) * 32, 32);
      level.swap(next);
      cur = level.data();
      n = (n + 1) >> 1;
    }
    std::memcpy(block, cur, 32);
  }
  std::memcpy(block + 32, prev_root, 32);
  write_u32(block, 64, static_cast<uint32_t>(beat));
  write_u32(block, 68, static_cast<uint32_t>(beat >> 32));
  write_u32(block, 72, static_cast<uint32_t>(count));
  write_u32(block, 76, caps);
  block[80] = mode;
  blake3::hash(block, sizeof block, reinterpret_cast<const uint8_t*>(kRootKey), blake3::KEYED_HASH, 0, out, 32);
}

int64_t finish(uint8_t* buf, size_t end, size_t cap, const FinishParams& params) {
  if (end < kHeaderSize || end > cap) return -MALFORMED;
  std::memcpy(buf, kMagic, 4);
  buf[4] = kVersion;
  buf[5] = params.mode;
  buf[6] = 0;
  buf[7] = 0;
  write_u32(buf, 8, params.caps);
  write_u32(buf, 12, crc32c::extend(0, buf, 12));
  thread_local std::vector<uint32_t> starts, lens;
  starts.clear();
  lens.clear();
  size_t p = kHeaderSize;
  size_t prev_key = SIZE_MAX, prev_key_len = 0;
  while (p < end) {
    const size_t start = p;
    if (end - start < 4) return -MALFORMED;
    p = start + 4;
    uint64_t klen, blen;
    if (!read_varint(buf, end, p, klen) || !read_varint(buf, end, p, blen)) return -MALFORMED;
    const size_t key_off = p;
    if (klen > kKeyMax || blen > end) return -MALFORMED;
    const size_t crc_at = key_off + klen + blen;
    if (crc_at + 4 > end) return -MALFORMED;
    if (prev_key != SIZE_MAX && compare_bytes(buf, prev_key, prev_key_len, key_off, klen) >= 0) return -MALFORMED;
    prev_key = key_off;
    prev_key_len = klen;
    write_u32(buf, crc_at, crc32c::extend(0, buf + start, crc_at - start));
    starts.push_back(static_cast<uint32_t>(start));
    lens.push_back(static_cast<uint32_t>(crc_at - start));
    p = crc_at + 4;
  }
  const size_t count = starts.size();
  thread_local std::vector<uint8_t> leaves;
  leaves_of(buf, starts, lens, leaves);
  uint8_t rt[32];
  root(leaves.data(), count, params.prev_root, params.beat, params.caps, params.mode, rt);
  size_t body = varint_size(params.beat) + varint_size(count) + 9 + varint_size(params.payload_history) +
                varint_size(params.manifest_history) + 64 + varint_size(count);
  size_t last = kHeaderSize;
  for (size_t i = 0; i < count; i++) {
    body += 1 + varint_size(starts[i] - last);
    last = starts[i];
  }
  const size_t total = end + 5 + varint_size(body) + body + 4;
  if (total > cap) return -CAPACITY;
  p = end;
  buf[p++] = T_TRAILER;
  buf[p++] = 1;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0;  // key length
  p = write_varint(buf, p, body);
  p = write_varint(buf, p, params.beat);
  p = write_varint(buf, p, count);
  buf[p++] = params.mode;
  buf[p++] = 1;  // BLAKE3-256
  buf[p++] = 1;  // standard CRC32C
  buf[p++] = params.compression;
  buf[p++] = params.aead;
  write_u32(buf, p, params.caps);
  p += 4;
  p = write_varint(buf, p, params.payload_history);
  p = write_varint(buf, p, params.manifest_history);
  std::memcpy(buf + p, params.prev_root, 32);
  p += 32;
  std::memcpy(buf + p, rt, 32);
  p += 32;
  p = write_varint(buf, p, count);
  last = kHeaderSize;
  for (size_t i = 0; i < count; i++) {
    buf[p++] = buf[starts[i]];
    p = write_varint(buf, p, starts[i] - last);
    last = starts[i];
  }
  write_u32(buf, p, crc32c::extend(0, buf + end, p - end));
  return static_cast<int64_t>(p + 4);
}

Status validate(const uint8_t* b, size_t len, std::vector<uint32_t>& idx, size_t* offset) {
  auto fail = [offset](Status s, size_t at) {
    *offset = at;
    return s;
  };
  *offset = 0;
  idx.clear();
  for (size_t i = 0; i < 4 && i < len; i++)
    if (b[i] != kMagic[i]) return fail(FORMAT, i);
  if (len < kHeaderSize) return fail(TRUNCATED, len);
  if (read_u32(b, 12) != crc32c::extend(0, b, 12)) return fail(CRC, 12);
  if (b[4] != kVersion) return fail(UNSUPPORTED, 4);
  const uint8_t mode = b[5];
  if (mode > 1 || b[6] != 0 || b[7] != 0) return fail(UNSUPPORTED, 5);
  const uint32_t caps = read_u32(b, 8);
  if ((caps & ~kCapsSupported) != 0) return fail(UNSUPPORTED, 8);
  if ((caps & CAP_TOC) == 0) return fail(UNSUPPORTED, 8);

  // pass 1: records (at least 11 bytes each: reserve for the most a frame this long can hold)
  idx.reserve(kIndexStride * (len / 11 + 1));
  size_t p = kHeaderSize;
  size_t prev_key = SIZE_MAX, prev_key_len = 0;
  uint64_t next_cell = 0;
  size_t trailer_at = SIZE_MAX;
  while (p < len) {
    const size_t start = p;
    if (len - start < 4) return fail(TRUNCATED, len);
    const uint8_t type = b[start];
    const uint16_t flags = static_cast<uint16_t>(b[start + 2] | b[start + 3] << 8);
    if (b[start + 1] != 1) return fail(UNSUPPORTED, start + 1);
    p = start + 4;
    uint64_t klen, blen;
    if (!read_varint(b, len, p, klen)) return fail(varint_truncated(b, len, p) ? TRUNCATED : MALFORMED, p);
    if (!read_varint(b, len, p, blen)) return fail(varint_truncated(b, len, p) ? TRUNCATED : MALFORMED, p);
    const size_t key_off = p;
    if (klen > kKeyMax) return fail(MALFORMED, start + 4);
    if (blen > len) return fail(TRUNCATED, len);
    const size_t crc_at = key_off + klen + blen;
    if (crc_at + 4 > len) return fail(TRUNCATED, len);
    if (read_u32(b, crc_at) != crc32c::extend(0, b + start, crc_at - start)) return fail(CRC, crc_at);
    idx.push_back(static_cast<uint32_t>(start));
    idx.push_back(static_cast<uint32_t>(key_off));
    idx.push_back(static_cast<uint32_t>(klen));
    idx.push_back(static_cast<uint32_t>(key_off + klen));
    idx.push_back(static_cast<uint32_t>(blen));
    p = crc_at + 4;
    if (type == T_TRAILER) {
      if (klen != 0 || flags != 0) return fail(MALFORMED, start);
      if (p != len) return fail(MALFORMED, p);
      trailer_at = start;
      break;
    }
    const int want = key_length_of(type);
    if (want < 0) return fail(UNSUPPORTED, start);
    if ((caps & cap_of(type)) != cap_of(type)) return fail(CAPS, start);
    if (klen != static_cast<uint64_t>(want) || b[key_off + 4] != type) return fail(MALFORMED, key_off);
    const bool sealable = type == T_CHUNK || type == T_HISTORY;
    if ((flags & ~(sealable ? 1 : 0)) != 0) return fail(MALFORMED, start + 2);
    if ((flags & 1) != 0 && (caps & CAP_AEAD) == 0) return fail(CAPS, start);
    if (prev_key != SIZE_MAX && compare_bytes(b, prev_key, prev_key_len, key_off, klen) >= 0)
      return fail(MALFORMED, key_off);
    prev_key = key_off;
    prev_key_len = klen;
    const uint32_t ord = read_u32_be(b, key_off);
    if (type == T_CELL) {
      // a run of descriptions: u16 count, then the cells next_cell .. next_cell + count - 1
      if (ord != next_cell) return fail(MALFORMED, key_off);
      const size_t bo = key_off + klen;
      const uint32_t run = blen < 2 ? 0 : static_cast<uint32_t>(b[bo] | b[bo + 1] << 8);
      if (run == 0 || run > kRunMax || blen < 2 + kRootDescMin + kDescMin * (run - 1)) return fail(MALFORMED, bo);
      next_cell += run;
    } else if (type == T_NAMEPOOL) {
      if (ord != 0xFFFFFFFFu) return fail(MALFORMED, key_off);
    } else if (static_cast<uint64_t>(ord) + 1 != next_cell) {
      return fail(MALFORMED, key_off);  // a cell's records follow its description
    }
  }
  if (trailer_at == SIZE_MAX) return fail(TRUNCATED, len);
  const size_t n = idx.size();
  const size_t count = n / kIndexStride - 1;

  // trailer
  const size_t tb = idx[n - 2];
  const size_t te = tb + idx[n - 1];
  p = tb;
  uint64_t beat, v;
  if (!read_varint(b, te, p, beat)) return fail(MALFORMED, p);
  if (!read_varint(b, te, p, v) || v != count) return fail(MALFORMED, p);
  if (te - p < 9) return fail(MALFORMED, p);
  const size_t tp = p;
  if (b[tp] != mode) return fail(MALFORMED, tp);
  if (b[tp + 1] != 1 || b[tp + 2] != 1) return fail(UNSUPPORTED, tp + 1);
  const uint8_t compression = b[tp + 3];
  const uint8_t aead = b[tp + 4];
  if (compression > 1 || (compression == 1) != ((caps & CAP_DEFLATE) != 0)) return fail(MALFORMED, tp + 3);
  if ((aead != 0 && aead != 2 && aead != 3) || (aead != 0) != ((caps & CAP_AEAD) != 0)) return fail(MALFORMED, tp + 4);
  if (read_u32(b, tp + 5) != caps) return fail(MALFORMED, tp + 5);
  p = tp + 9;
  if (!read_varint(b, te, p, v)) return fail(MALFORMED, p);
  if (!read_varint(b, te, p, v)) return fail(MALFORMED, p);
  if (te - p < 64) return fail(MALFORMED, p);
  const size_t prev_at = p, root_at = p + 32;
  p += 64;
  if (!read_varint(b, te, p, v) || v != count) return fail(MALFORMED, p);
  size_t last = kHeaderSize;
  for (size_t i = 0; i < count; i++) {
    const size_t s = idx[i * kIndexStride];
    if (p >= te || b[p] != b[s]) return fail(MALFORMED, p);
    p++;
    if (!read_varint(b, te, p, v) || v != s - last) return fail(MALFORMED, p);
    last = s;
  }
  if (p != te) return fail(MALFORMED, p);

  // pass 2: payload chunk trackers, one run per base key (the key without its chunk ordinal)
  const size_t nonce_len = nonce_length(aead);
  bool in_run = false, sealed_run = false;
  size_t base_at = 0, base_len = 0, fp_at = 0;
  uint64_t expect_ord = 0, total = 0, done = 0;
  uint8_t kind = 0;
  blake3::Hasher hasher;
  auto close_run = [&](size_t at) -> size_t {
    if (!in_run) return 0;
    if (done != total) return at;
    if (!sealed_run) {
      uint8_t fp[32];
      blake3::hasher_finalize(&hasher, 0, fp, 32);
      if (std::memcmp(fp, b + fp_at, 32) != 0) return fp_at;
    }
    in_run = false;
    return 0;
  };
  for (size_t i = 0; i < count; i++) {
    const uint32_t* r = idx.data() + i * kIndexStride;
    const size_t start = r[0];
    const uint8_t type = b[start];
    if (type != T_CHUNK && type != T_HISTORY) {
      if (const size_t bad = close_run(start)) return fail(CHUNK, bad);
      continue;
    }
    const size_t key_off = r[1], klen = r[2], bo = r[3], be = bo + r[4];
    const bool sealed = (b[start + 2] & 1) != 0;
    const uint32_t ord = read_u32_be(b, key_off + klen - 4);
    const bool same_base = in_run && compare_bytes(b, base_at, base_len, key_off, klen - 4) == 0;
    if (!same_base) {
      if (const size_t bad = close_run(start)) return fail(CHUNK, bad);
    }
    if (be - bo < 1) return fail(MALFORMED, bo);
    const uint8_t k = b[bo];
    p = bo + 1;
    uint64_t tot, off;
    if (!read_varint(b, be, p, tot)) return fail(MALFORMED, p);
    if (!read_varint(b, be, p, off)) return fail(MALFORMED, p);
    if (be - p < 32) return fail(MALFORMED, p);
    const size_t fp = p;
    p += 32;
    if (sealed) {
      if (be - p < nonce_len + 16) return fail(MALFORMED, p);
      p += nonce_len;
    }
    const size_t size = be - p - (sealed ? 16 : 0);
    if (k > 2) return fail(MALFORMED, bo);
    if (!same_base) {
      if (ord != 0 || off != 0) return fail(CHUNK, key_off);
      in_run = true;
      base_at = key_off;
      base_len = klen - 4;
      expect_ord = 0;
      total = tot;
      done = 0;
      kind = k;
      fp_at = fp;
      sealed_run = sealed;
      if (!sealed) blake3::hasher_init(&hasher, nullptr, 0);
    } else {
      if (sealed != sealed_run || k != kind || tot != total) return fail(CHUNK, bo);
      if (std::memcmp(b + fp, b + fp_at, 32) != 0) {
        return fail(CHUNK, fp);
      }
    }
    if (ord != expect_ord || off != done) return fail(CHUNK, key_off);
    if (size == 0 ? (tot != 0 || ord != 0) : off + size > tot) return fail(CHUNK, bo);
    if (!sealed) blake3::hasher_update(&hasher, b + p, size);
    done += size;
    expect_ord++;
  }
  if (const size_t bad = close_run(trailer_at)) return fail(CHUNK, bad);

  // Merkle root
  thread_local std::vector<uint32_t> starts, lens;
  starts.resize(count);
  lens.resize(count);
  for (size_t i = 0; i < count; i++) {
    const uint32_t* r = idx.data() + i * kIndexStride;
    starts[i] = r[0];
    lens[i] = r[3] + r[4] - r[0];
  }
  thread_local std::vector<uint8_t> leaves;
  leaves_of(b, starts, lens, leaves);
  uint8_t rt[32];
  root(leaves.data(), count, b + prev_at, beat, caps, mode, rt);
  if (std::memcmp(rt, b + root_at, 32) != 0) return fail(MERKLE, root_at);
  return OK;
}

}  // namespace cep::flat
