// Flat frames (docs/FORMAT.md): finishing a staged frame in place and validating a whole
// frame, one call each. The pure-TypeScript twin is src/native/fallback/flat.ts; both give
// the same bytes and the same verdicts. Frame bytes are hostile input: every length is bounded
// before use, nothing is read past the buffer, nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cep::flat {

constexpr size_t kHeaderSize = 16;
constexpr size_t kKeyMax = 64;
constexpr size_t kIndexStride = 5;
constexpr uint8_t kVersion = 2;    // header byte 4
constexpr uint32_t kRunMax = 4096;  // most cell descriptions in one cell_desc record
// Shortest descriptions: the branch root's anchor (flags, parent, empty path) and any other
// cell's anchor (flags, parent, 16-byte name, dup). A run's body (u16 count first) must hold
// at least 2 + kRootDescMin + kDescMin * (count - 1) bytes, so the cells a frame can claim
// (and what a reader allocates for them) stay proportional to its size.
constexpr size_t kRootDescMin = 3;
constexpr size_t kDescMin = 19;

enum RecordType : uint8_t {
  T_CELL = 0x01,
  T_CHUNK = 0x02,
  T_MANIFEST = 0x03,
  T_ORDER = 0x04,
  T_NAMEPOOL = 0x05,
  T_HISTORY = 0x06,
  T_MANIFEST_HISTORY = 0x07,
  T_TRAILER = 0xFF,
};

enum Cap : uint32_t {
  CAP_NAMEPOOL = 1u << 0,
  CAP_CHUNKS = 1u << 1,
  CAP_PAYLOAD_HISTORY = 1u << 2,
  CAP_AEAD = 1u << 3,
  CAP_DEFLATE = 1u << 4,
  CAP_TOC = 1u << 5,
  CAP_MANIFEST = 1u << 6,
  CAP_ORDER = 1u << 7,
  CAP_MANIFEST_HISTORY = 1u << 8,
};
constexpr uint32_t kCapsSupported = 0x1FF;

enum Status : int {
  OK = 0,
  TRUNCATED = 1,
  CRC = 2,
  MERKLE = 3,
  FORMAT = 4,
  UNSUPPORTED = 5,
  MALFORMED = 6,
  CHUNK = 7,
  CAPACITY = 8,
  CAPS = 9,
};

struct FinishParams {
  uint64_t beat;  // < 2^53
  uint8_t mode;
  uint32_t caps;
  uint8_t aead;
  uint8_t compression;
  uint64_t payload_history;
  uint64_t manifest_history;
  const uint8_t* prev_root;  // 32 bytes
};

// Finishes buf[16, end) in place (capacity `cap`); returns the frame length, or -Status.
int64_t finish(uint8_t* buf, size_t end, size_t cap, const FinishParams& params);

// Validates frame[0, len). On success fills `index` (kIndexStride u32 per record, the trailer
// last) and returns OK; otherwise returns the status and sets *offset to the bad byte.
Status validate(const uint8_t* frame, size_t len, std::vector<uint32_t>& index, size_t* offset);

// The frame root from `count` 32-byte leaves (docs/FORMAT.md, "Merkle root").
void root(const uint8_t* leaves, size_t count, const uint8_t* prev_root, uint64_t beat, uint32_t caps, uint8_t mode,
          uint8_t out[32]);

}  // namespace cep::flat
