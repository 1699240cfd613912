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

// Structure-aware mode (first byte odd): the input is `1 | mode | caps u32 | aead | phist | mhist`
// then staged records; the finisher adds CRCs, root and trailer, so mutations reach the record
// rules behind the CRCs (keys, bodies, chunk trackers). The finished frame then goes through the
// same checks as raw input.
std::vector<uint8_t> finished(const uint8_t* data, size_t size) {
  constexpr size_t kParams = 9;
  if (size < kParams) return {};
  cep::flat::FinishParams params;
  params.beat = 7;
  params.mode = data[1] & 1;
  std::memcpy(&params.caps, data + 2, 4);
  params.aead = data[6];
  params.compression = 0;
  params.payload_history = data[7];
  params.manifest_history = data[8];
  static const uint8_t prev[32] = {1, 2, 3};
  params.prev_root = prev;
  const size_t records = size - kParams;
  std::vector<uint8_t> buf(cep::flat::kHeaderSize + records + 160 + records * 9);
  std::memcpy(buf.data() + cep::flat::kHeaderSize, data + kParams, records);
  const int64_t len = cep::flat::finish(buf.data(), cep::flat::kHeaderSize + records, buf.size(), params);
  if (len < 0) return {};
  buf.resize(static_cast<size_t>(len));
  return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame;
  if (size > 0 && (data[0] & 1) != 0) {
    frame = finished(data, size);
    if (frame.empty()) return 0;
    frame.shrink_to_fit();
    size = frame.size();
    std::vector<uint8_t> exact(frame);  // exact-size copy: ASan catches any overread
    frame.swap(exact);
  } else {
    frame.assign(data, data + size);  // exact-size copy: ASan catches any overread
  }
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
