// libFuzzer target for the flat frame validator: arbitrary bytes must never crash, overread
// (ASan) or hang it, and a frame it accepts must survive a round trip through the finisher:
// re-finishing its records (CRCs blanked) with its own trailer fields gives the same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../flat/flat.h"

namespace {

uint64_t varint(const uint8_t* b, size_t& p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    const uint8_t c = b[p++];
    v |= static_cast<uint64_t>(c & 0x7F) << (7 * i);
    if ((c & 0x80) == 0) break;
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame(data, data + size);  // exact-size copy: ASan catches any overread
  std::vector<uint32_t> index;
  size_t at = 0;
  if (cep::flat::validate(frame.data(), frame.size(), index, &at) != cep::flat::OK) {
    if (at > size) std::abort();
    return 0;
  }
  // accepted: rebuild it from its records and trailer fields
  const size_t n = index.size();
  const size_t trailer = index[n - cep::flat::kIndexStride];
  size_t p = index[n - 2];
  cep::flat::FinishParams params;
  params.beat = varint(frame.data(), p);
  varint(frame.data(), p);  // record count
  params.mode = frame[p];
  params.compression = frame[p + 3];
  params.aead = frame[p + 4];
  std::memcpy(&params.caps, frame.data() + p + 5, 4);
  p += 9;
  params.payload_history = varint(frame.data(), p);
  params.manifest_history = varint(frame.data(), p);
  params.prev_root = frame.data() + p;
  std::vector<uint8_t> buf(frame.begin(), frame.begin() + trailer);
  std::memset(buf.data(), 0, cep::flat::kHeaderSize);
  buf.resize(frame.size());
  const int64_t len = cep::flat::finish(buf.data(), trailer, buf.size(), params);
  if (len != static_cast<int64_t>(frame.size()) || std::memcmp(buf.data(), frame.data(), frame.size()) != 0) std::abort();
  return 0;
}
