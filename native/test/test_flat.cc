// Native unit test for flat frames: finishing a staged frame gives the bytes the TypeScript
// twin gives (a golden frame made by src/native/fallback/flat.ts), the frame validates with
// the right index, and every single-bit flip and every truncation is refused.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../flat/flat.h"

namespace {

int passed = 0, failed = 0;

void expect(bool ok, const char* what, size_t detail = 0) {
  if (ok) {
    passed++;
  } else {
    failed++;
    std::printf("FAIL: %s (%zu)\n", what, detail);
  }
}

std::vector<uint8_t> from_hex(const char* hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
}

// Staged records (finish rewrites the header and CRCs): a cell_desc run of one (u16 count 1, then
// three stand-in bytes) and one payload chunk of "hello".
const char* kStaged =
    "4345504602000000220000002660890601010000050500000000010100010203137e5fa4020100000928000000000200000000020500ea"
    "8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f68656c6c6f22eed419";
// The same frame finished by the TypeScript twin: beat 7, delta, caps 0x22, prev root 0xab * 32.
const char* kGolden =
    "4345504602000000220000002660890601010000050500000000010100010203137e5fa4020100000928000000000200000000020500ea"
    "8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f68656c6c6f22eed419ff0100000052070200010100002200"
    "00000000ababababababababababababababababababababababababababababababababab1719180c722b71add510638ac34b1bf14297"
    "3d9ce6463dc6e222e9fc307b660201000214f11a688a";

void golden() {
  std::vector<uint8_t> staged = from_hex(kStaged), want = from_hex(kGolden);
  // blank what finish writes: the header and the record CRCs
  std::memset(staged.data(), 0, 16);
  std::memset(staged.data() + 32, 0, 4);
  std::memset(staged.data() + staged.size() - 4, 0, 4);
  std::vector<uint8_t> buf(staged);
  buf.resize(512);
  uint8_t prev[32];
  std::memset(prev, 0xab, 32);
  cep::flat::FinishParams p{7, 0, 0x22, 0, 0, 0, 0, prev};
  const int64_t len = cep::flat::finish(buf.data(), staged.size(), buf.size(), p);
  expect(len == static_cast<int64_t>(want.size()), "finished length", static_cast<size_t>(len));
  expect(len > 0 && std::memcmp(buf.data(), want.data(), want.size()) == 0, "byte-identical to the TypeScript twin");
  std::vector<uint32_t> index;
  size_t at = 0;
  expect(cep::flat::validate(want.data(), want.size(), index, &at) == cep::flat::OK, "golden frame validates");
  expect(index.size() == 3 * cep::flat::kIndexStride, "index: 2 records + trailer", index.size());
  expect(index.size() >= 5 && index[0] == 16 && index[5] == 36, "record offsets");
  // too small a buffer is refused, not overrun
  std::vector<uint8_t> tight(staged.begin(), staged.end());
  expect(cep::flat::finish(tight.data(), tight.size(), tight.size(), p) == -cep::flat::CAPACITY, "no room for the trailer");
}

void hostile() {
  const std::vector<uint8_t> frame = from_hex(kGolden);
  std::vector<uint32_t> index;
  size_t at = 0;
  for (size_t bit = 0; bit < frame.size() * 8; bit++) {
    std::vector<uint8_t> bad(frame);
    bad[bit >> 3] ^= static_cast<uint8_t>(1u << (bit & 7));
    expect(cep::flat::validate(bad.data(), bad.size(), index, &at) != cep::flat::OK, "bit flip refused", bit);
  }
  for (size_t n = 0; n < frame.size(); n++) {
    std::vector<uint8_t> cut(frame.begin(), frame.begin() + n);  // own allocation: ASan sees overreads
    expect(cep::flat::validate(cut.data(), cut.size(), index, &at) != cep::flat::OK, "truncation refused", n);
  }
}

}  // namespace

int main() {
  golden();
  hostile();
  std::printf("flat: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
