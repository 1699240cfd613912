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

// Finishing, step by step (the TypeScript twin, flatFinish, has the same steps in the same order).
namespace {

inline void write_header(uint8_t* buf, uint8_t mode, uint32_t caps) {
  std::memcpy(buf, kMagic, 4);
  buf[4] = kVersion;
  buf[5] = mode;
  buf[6] = 0;
  buf[7] = 0;
  write_u32(buf, 8, caps);
  write_u32(buf, 12, crc32c::extend(0, buf, 12));
}

// The staged records of buf[16, end): bounds, strictly ascending keys; writes each CRC32C and
// collects each record's start and length without its CRC (its Merkle leaf's bytes).
inline Status seal_records(uint8_t* buf, size_t end, std::vector<uint32_t>& starts, std::vector<uint32_t>& lens) {
  starts.clear();
  lens.clear();
  size_t p = kHeaderSize;
  size_t prev_key = SIZE_MAX, prev_key_len = 0;
  while (p < end) {
    const size_t start = p;
    if (end - start < 4) return MALFORMED;
    p = start + 4;
    uint64_t klen, blen;
    if (!read_varint(buf, end, p, klen) || !read_varint(buf, end, p, blen)) return MALFORMED;
    const size_t key_off = p;
    if (klen > kKeyMax || blen > end) return MALFORMED;
    const size_t crc_at = key_off + klen + blen;
    if (crc_at + 4 > end) return MALFORMED;
    if (prev_key != SIZE_MAX && compare_bytes(buf, prev_key, prev_key_len, key_off, klen) >= 0) return MALFORMED;
    prev_key = key_off;
    prev_key_len = klen;
    write_u32(buf, crc_at, crc32c::extend(0, buf + start, crc_at - start));
    starts.push_back(static_cast<uint32_t>(start));
    lens.push_back(static_cast<uint32_t>(crc_at - start));
    p = crc_at + 4;
  }
  return OK;
}

// The trailer's body length: fields, roots, and the table of contents (type byte and start
// delta per record).
inline size_t trailer_body_size(const FinishParams& params, const std::vector<uint32_t>& starts) {
  const size_t count = starts.size();
  size_t body = varint_size(params.beat) + varint_size(count) + 9 + varint_size(params.payload_history) +
                varint_size(params.manifest_history) + 64 + varint_size(count);
  size_t last = kHeaderSize;
  for (size_t i = 0; i < count; i++) {
    body += 1 + varint_size(starts[i] - last);
    last = starts[i];
  }
  return body;
}

// Writes the trailer record at `end` (room checked); returns the frame length.
inline size_t write_trailer(uint8_t* buf, size_t end, size_t body, const FinishParams& params, const uint8_t rt[32],
                            const std::vector<uint32_t>& starts) {
  const size_t count = starts.size();
  size_t p = end;
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
  size_t last = kHeaderSize;
  for (size_t i = 0; i < count; i++) {
    buf[p++] = buf[starts[i]];
    p = write_varint(buf, p, starts[i] - last);
    last = starts[i];
  }
  write_u32(buf, p, crc32c::extend(0, buf + end, p - end));
  return p + 4;
}

}  // namespace

int64_t finish(uint8_t* buf, size_t end, size_t cap, const FinishParams& params) {
  if (end < kHeaderSize || end > cap) return -MALFORMED;
  write_header(buf, params.mode, params.caps);
  thread_local std::vector<uint32_t> starts, lens;
  if (const Status s = seal_records(buf, end, starts, lens)) return -s;
  thread_local std::vector<uint8_t> leaves;
  leaves_of(buf, starts, lens, leaves);
  uint8_t rt[32];
  root(leaves.data(), starts.size(), params.prev_root, params.beat, params.caps, params.mode, rt);
  const size_t body = trailer_body_size(params, starts);
  if (end + 5 + varint_size(body) + body + 4 > cap) return -CAPACITY;
  return static_cast<int64_t>(write_trailer(buf, end, body, params, rt, starts));
}

// Validation, step by step (the TypeScript twin, flatValidate, has the same steps in the same
// order). Each step returns OK or the first problem's status with its offset set.
namespace {

// One validation: the frame, its index, what the header and trailer said.
struct Validation {
  const uint8_t* b;
  size_t len;
  std::vector<uint32_t>& idx;  // kIndexStride u32 per record, the trailer last
  size_t* offset;              // where the first problem is
  uint8_t mode = 0;            // header
  uint32_t caps = 0;
  size_t count = 0;  // records before the trailer
  size_t trailer_at = 0;
  uint64_t beat = 0;  // trailer
  uint8_t aead = 0;
  size_t prev_at = 0, root_at = 0;  // where the trailer holds the previous root and this frame's
};

inline Status fail(Validation& v, Status s, size_t at) {
  *v.offset = at;
  return s;
}

// The record pass 1 is at.
struct Record {
  size_t start, key_off, klen, blen;
  uint8_t type;
  uint16_t flags;
};

// What pass 1 carries from record to record.
struct KeyWalk {
  size_t prev_key = SIZE_MAX, prev_key_len = 0;
  uint64_t next_cell = 0;  // cell ordinals are dense from 0
};

// Magic, length, header CRC, version, mode and reserved bytes, capability bits.
inline Status check_header(Validation& v) {
  const uint8_t* b = v.b;
  for (size_t i = 0; i < 4 && i < v.len; i++)
    if (b[i] != kMagic[i]) return fail(v, FORMAT, i);
  if (v.len < kHeaderSize) return fail(v, TRUNCATED, v.len);
  if (read_u32(b, 12) != crc32c::extend(0, b, 12)) return fail(v, CRC, 12);
  if (b[4] != kVersion) return fail(v, UNSUPPORTED, 4);
  v.mode = b[5];
  if (v.mode > 1 || b[6] != 0 || b[7] != 0) return fail(v, UNSUPPORTED, 5);
  v.caps = read_u32(b, 8);
  if ((v.caps & ~kCapsSupported) != 0) return fail(v, UNSUPPORTED, 8);
  if ((v.caps & CAP_TOC) == 0) return fail(v, UNSUPPORTED, 8);
  return OK;
}

// A varint of a record's lengths that failed at p: cut short by the frame's end, or bad.
inline Status fail_varint(Validation& v, size_t p) {
  return fail(v, varint_truncated(v.b, v.len, p) ? TRUNCATED : MALFORMED, p);
}

// The record at p: version byte, key and body lengths within the frame, CRC32C; appends its
// index entry and moves p past it.
inline Status read_record(Validation& v, size_t& p, Record& r) {
  const uint8_t* b = v.b;
  const size_t len = v.len;
  const size_t start = p;
  if (len - start < 4) return fail(v, TRUNCATED, len);
  r.start = start;
  r.type = b[start];
  r.flags = static_cast<uint16_t>(b[start + 2] | b[start + 3] << 8);
  if (b[start + 1] != 1) return fail(v, UNSUPPORTED, start + 1);
  p = start + 4;
  uint64_t klen, blen;
  if (!read_varint(b, len, p, klen)) return fail_varint(v, p);
  if (!read_varint(b, len, p, blen)) return fail_varint(v, p);
  const size_t key_off = p;
  if (klen > kKeyMax) return fail(v, MALFORMED, start + 4);
  if (blen > len) return fail(v, TRUNCATED, len);
  const size_t crc_at = key_off + klen + blen;
  if (crc_at + 4 > len) return fail(v, TRUNCATED, len);
  if (read_u32(b, crc_at) != crc32c::extend(0, b + start, crc_at - start)) return fail(v, CRC, crc_at);
  r.key_off = key_off;
  r.klen = klen;
  r.blen = blen;
  v.idx.push_back(static_cast<uint32_t>(start));
  v.idx.push_back(static_cast<uint32_t>(key_off));
  v.idx.push_back(static_cast<uint32_t>(klen));
  v.idx.push_back(static_cast<uint32_t>(key_off + klen));
  v.idx.push_back(static_cast<uint32_t>(blen));
  p = crc_at + 4;
  return OK;
}

// The trailer record (p just past it): empty key, no flags, the frame's last bytes.
inline Status check_trailer_record(Validation& v, const Record& r, size_t p) {
  if (r.klen != 0 || r.flags != 0) return fail(v, MALFORMED, r.start);
  if (p != v.len) return fail(v, MALFORMED, p);
  v.trailer_at = r.start;
  v.count = v.idx.size() / kIndexStride - 1;
  return OK;
}

// A known type the capability bits allow, its key length with the type byte after the u32 BE
// ordinal, and the sealed flag only on payload chunks of an AEAD frame.
inline Status check_key_shape(Validation& v, const Record& r) {
  const int want = key_length_of(r.type);
  if (want < 0) return fail(v, UNSUPPORTED, r.start);
  const uint32_t cap = cap_of(r.type);
  if ((v.caps & cap) != cap) return fail(v, CAPS, r.start);
  if (r.klen != static_cast<size_t>(want) || v.b[r.key_off + 4] != r.type) return fail(v, MALFORMED, r.key_off);
  const bool sealable = r.type == T_CHUNK || r.type == T_HISTORY;
  if ((r.flags & ~(sealable ? 1 : 0)) != 0) return fail(v, MALFORMED, r.start + 2);
  if ((r.flags & 1) != 0 && (v.caps & CAP_AEAD) == 0) return fail(v, CAPS, r.start);
  return OK;
}

// Keys strictly ascending.
inline Status check_key_order(Validation& v, KeyWalk& w, const Record& r) {
  if (w.prev_key != SIZE_MAX && compare_bytes(v.b, w.prev_key, w.prev_key_len, r.key_off, r.klen) >= 0)
    return fail(v, MALFORMED, r.key_off);
  w.prev_key = r.key_off;
  w.prev_key_len = r.klen;
  return OK;
}

// Ordinals: description runs cover the cells densely from 0, the name pool sits at 0xFFFFFFFF,
// and any other record belongs to the cell described last.
inline Status check_cell_ordinal(Validation& v, KeyWalk& w, const Record& r) {
  const uint8_t* b = v.b;
  const uint32_t ord = read_u32_be(b, r.key_off);
  if (r.type == T_CELL) {
    // a run of descriptions: u16 count, then the cells next_cell .. next_cell + count - 1
    if (ord != w.next_cell) return fail(v, MALFORMED, r.key_off);
    const size_t bo = r.key_off + r.klen;
    const uint32_t run = r.blen < 2 ? 0 : static_cast<uint32_t>(b[bo] | b[bo + 1] << 8);
    if (run == 0 || run > kRunMax || r.blen < 2 + kRootDescMin + kDescMin * (run - 1)) return fail(v, MALFORMED, bo);
    w.next_cell += run;
  } else if (r.type == T_NAMEPOOL) {
    if (ord != 0xFFFFFFFFu) return fail(v, MALFORMED, r.key_off);
  } else if (static_cast<uint64_t>(ord) + 1 != w.next_cell) {
    return fail(v, MALFORMED, r.key_off);  // a cell's records follow its description
  }
  return OK;
}

// Pass 1: every record in frame order, up to the trailer.
inline Status walk_records(Validation& v) {
  v.idx.reserve(kIndexStride * (v.len / 11 + 1));  // a record takes at least 11 bytes
  KeyWalk w;
  Record r;
  size_t p = kHeaderSize;
  while (p < v.len) {
    if (const Status s = read_record(v, p, r)) return s;
    if (r.type == T_TRAILER) return check_trailer_record(v, r, p);
    if (const Status s = check_key_shape(v, r)) return s;
    if (const Status s = check_key_order(v, w, r)) return s;
    if (const Status s = check_cell_ordinal(v, w, r)) return s;
  }
  return fail(v, TRUNCATED, v.len);  // no trailer
}

// The trailer's fields up to its table of contents (p from the body's start to past the roots):
// beat, record count, selectors matching the header's mode and capability bits, history depths.
inline Status check_trailer_fields(Validation& v, size_t& p, size_t te) {
  const uint8_t* b = v.b;
  uint64_t x;
  if (!read_varint(b, te, p, v.beat)) return fail(v, MALFORMED, p);
  if (!read_varint(b, te, p, x) || x != v.count) return fail(v, MALFORMED, p);
  if (te - p < 9) return fail(v, MALFORMED, p);
  const size_t tp = p;
  if (b[tp] != v.mode) return fail(v, MALFORMED, tp);
  if (b[tp + 1] != 1 || b[tp + 2] != 1) return fail(v, UNSUPPORTED, tp + 1);
  const uint8_t compression = b[tp + 3];
  const uint8_t aead = b[tp + 4];
  if (compression > 1 || (compression == 1) != ((v.caps & CAP_DEFLATE) != 0)) return fail(v, MALFORMED, tp + 3);
  if ((aead != 0 && aead != 2 && aead != 3) || (aead != 0) != ((v.caps & CAP_AEAD) != 0)) return fail(v, MALFORMED, tp + 4);
  if (read_u32(b, tp + 5) != v.caps) return fail(v, MALFORMED, tp + 5);
  v.aead = aead;
  p = tp + 9;
  if (!read_varint(b, te, p, x)) return fail(v, MALFORMED, p);  // payload history
  if (!read_varint(b, te, p, x)) return fail(v, MALFORMED, p);  // manifest history
  if (te - p < 64) return fail(v, MALFORMED, p);
  v.prev_at = p;
  v.root_at = p + 32;
  p += 64;
  return OK;
}

// The table of contents, up to the body's end te: the record count, then per record its type
// byte and its start's distance from the previous one.
inline Status check_toc(Validation& v, size_t p, size_t te) {
  const uint8_t* b = v.b;
  uint64_t x;
  if (!read_varint(b, te, p, x) || x != v.count) return fail(v, MALFORMED, p);
  size_t last = kHeaderSize;
  for (size_t i = 0; i < v.count; i++) {
    const size_t s = v.idx[i * kIndexStride];
    if (p >= te || b[p] != b[s]) return fail(v, MALFORMED, p);
    p++;
    if (!read_varint(b, te, p, x) || x != s - last) return fail(v, MALFORMED, p);
    last = s;
  }
  if (p != te) return fail(v, MALFORMED, p);
  return OK;
}

// The trailer's body: its fields, then the table of contents, filling it exactly.
inline Status check_trailer(Validation& v) {
  const size_t n = v.idx.size();
  const size_t tb = v.idx[n - 2];
  const size_t te = tb + v.idx[n - 1];
  size_t p = tb;
  if (const Status s = check_trailer_fields(v, p, te)) return s;
  return check_toc(v, p, te);
}

// Pass 2's open payload: the chunks of one base key (the key without its chunk ordinal).
struct ChunkRun {
  bool open = false, sealed = false;
  size_t base_at = 0, base_len = 0, fp_at = 0;
  uint64_t expect_ord = 0, total = 0, done = 0;
  uint8_t kind = 0;
  size_t nonce_len = 0;
  blake3::Hasher hasher;
};

// One chunk's body: payload kind, total, offset, fingerprint, nonce (sealed); then its data.
struct Chunk {
  uint8_t kind;
  uint64_t total, off;
  size_t fp, data, size;
};

// The open run ends at `at` (the next record): all its bytes came, and a plaintext payload
// hashes to its fingerprint.
inline Status close_run(Validation& v, ChunkRun& run, size_t at) {
  if (!run.open) return OK;
  if (run.done != run.total) return fail(v, CHUNK, at);
  if (!run.sealed) {
    uint8_t fp[32];
    blake3::hasher_finalize(&run.hasher, 0, fp, 32);
    if (std::memcmp(fp, v.b + run.fp_at, 32) != 0) return fail(v, CHUNK, run.fp_at);
  }
  run.open = false;
  return OK;
}

// The chunk body b[bo, be): its fields fit, its kind is known.
inline Status read_chunk(Validation& v, size_t bo, size_t be, bool sealed, size_t nonce_len, Chunk& c) {
  const uint8_t* b = v.b;
  if (be - bo < 1) return fail(v, MALFORMED, bo);
  c.kind = b[bo];
  size_t p = bo + 1;
  if (!read_varint(b, be, p, c.total)) return fail(v, MALFORMED, p);
  if (!read_varint(b, be, p, c.off)) return fail(v, MALFORMED, p);
  if (be - p < 32) return fail(v, MALFORMED, p);
  c.fp = p;
  p += 32;
  if (sealed) {
    if (be - p < nonce_len + 16) return fail(v, MALFORMED, p);
    p += nonce_len;
  }
  c.data = p;
  c.size = be - p - (sealed ? 16 : 0);
  if (c.kind > 2) return fail(v, MALFORMED, bo);
  return OK;
}

// Index entry r, a payload chunk: it opens a run (ordinal 0, offset 0) or continues the open one
// (same seal, kind, total and fingerprint) at the next ordinal and offset, within the total.
inline Status check_chunk(Validation& v, ChunkRun& run, const uint32_t* r) {
  const uint8_t* b = v.b;
  const size_t start = r[0], key_off = r[1], klen = r[2], bo = r[3], be = bo + r[4];
  const bool sealed = (b[start + 2] & 1) != 0;
  const uint32_t ord = read_u32_be(b, key_off + klen - 4);
  const bool same_base = run.open && compare_bytes(b, run.base_at, run.base_len, key_off, klen - 4) == 0;
  if (!same_base)
    if (const Status s = close_run(v, run, start)) return s;
  Chunk c;
  if (const Status s = read_chunk(v, bo, be, sealed, run.nonce_len, c)) return s;
  if (!same_base) {
    if (ord != 0 || c.off != 0) return fail(v, CHUNK, key_off);
    run.open = true;
    run.sealed = sealed;
    run.base_at = key_off;
    run.base_len = klen - 4;
    run.fp_at = c.fp;
    run.expect_ord = 0;
    run.total = c.total;
    run.done = 0;
    run.kind = c.kind;
    if (!sealed) blake3::hasher_init(&run.hasher, nullptr, 0);
  } else {
    if (sealed != run.sealed || c.kind != run.kind || c.total != run.total) return fail(v, CHUNK, bo);
    if (std::memcmp(b + c.fp, b + run.fp_at, 32) != 0) return fail(v, CHUNK, c.fp);
  }
  if (ord != run.expect_ord || c.off != run.done) return fail(v, CHUNK, key_off);
  // a zero-length chunk is only the one chunk of an empty payload
  if (c.size == 0 ? (c.total != 0 || ord != 0) : c.off + c.size > c.total) return fail(v, CHUNK, bo);
  if (!sealed) blake3::hasher_update(&run.hasher, b + c.data, c.size);
  run.done += c.size;
  run.expect_ord++;
  return OK;
}

// Pass 2: the payload chunk trackers, one run per base key; any other record ends a run.
inline Status check_chunk_runs(Validation& v) {
  ChunkRun run;
  run.nonce_len = nonce_length(v.aead);
  for (size_t i = 0; i < v.count; i++) {
    const uint32_t* r = v.idx.data() + i * kIndexStride;
    const uint8_t type = v.b[r[0]];
    const Status s = type == T_CHUNK || type == T_HISTORY ? check_chunk(v, run, r) : close_run(v, run, r[0]);
    if (s) return s;
  }
  return close_run(v, run, v.trailer_at);
}

// The root of the records' leaves, bound to the trailer's fields, is the one the trailer holds.
inline Status check_merkle_root(Validation& v) {
  thread_local std::vector<uint32_t> starts, lens;
  starts.resize(v.count);
  lens.resize(v.count);
  for (size_t i = 0; i < v.count; i++) {
    const uint32_t* r = v.idx.data() + i * kIndexStride;
    starts[i] = r[0];
    lens[i] = r[3] + r[4] - r[0];
  }
  thread_local std::vector<uint8_t> leaves;
  leaves_of(v.b, starts, lens, leaves);
  uint8_t rt[32];
  root(leaves.data(), v.count, v.b + v.prev_at, v.beat, v.caps, v.mode, rt);
  if (std::memcmp(rt, v.b + v.root_at, 32) != 0) return fail(v, MERKLE, v.root_at);
  return OK;
}

}  // namespace

Status validate(const uint8_t* b, size_t len, std::vector<uint32_t>& idx, size_t* offset) {
  *offset = 0;
  idx.clear();
  Validation v{b, len, idx, offset};
  if (const Status s = check_header(v)) return s;
  if (const Status s = walk_records(v)) return s;
  if (const Status s = check_trailer(v)) return s;
  if (const Status s = check_chunk_runs(v)) return s;
  return check_merkle_root(v);
}

}  // namespace cep::flat
