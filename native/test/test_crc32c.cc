// Native unit test for CRC32C: known answers, and every dispatch tier against the portable
// tables over many lengths, offsets and seeds, one-shot and batched.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../common/cpu.h"
#include "../hash/crc32c.h"

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

void known_answers() {
  const char* digits = "123456789";
  expect(cep::crc32c::extend(0, reinterpret_cast<const uint8_t*>(digits), 9) == 0xE3069283, "123456789");
  uint8_t b[32];
  std::memset(b, 0, 32);
  expect(cep::crc32c::extend(0, b, 32) == 0x8A9136AA, "32 zeros");
  std::memset(b, 0xFF, 32);
  expect(cep::crc32c::extend(0, b, 32) == 0x62A8AB43, "32 0xFF");
  for (int i = 0; i < 32; i++) b[i] = static_cast<uint8_t>(i);
  expect(cep::crc32c::extend(0, b, 32) == 0x46DD794E, "0..31");
  for (int i = 0; i < 32; i++) b[i] = static_cast<uint8_t>(31 - i);
  expect(cep::crc32c::extend(0, b, 32) == 0x113FDB5C, "31..0");
}

void tiers_agree() {
  std::mt19937 rng(42);
  std::vector<uint8_t> buf(1 << 20 | 4096);
  for (auto& x : buf) x = static_cast<uint8_t>(rng());
  const char* tiers[] = {"sse4.2", "avx2", "avx512", "auto"};
  for (int i = 0; i < 600; i++) {
    const size_t offset = rng() % 64;
    const size_t len = i < 400 ? static_cast<size_t>(i) : rng() % (1 << 20);
    const uint32_t seed = (i & 1) ? rng() : 0;
    cep::cpu::set_tier("portable");
    const uint32_t want = cep::crc32c::extend(seed, buf.data() + offset, len);
    for (const char* tier : tiers) {
      cep::cpu::set_tier(tier);
      expect(cep::crc32c::extend(seed, buf.data() + offset, len) == want, tier, len);
    }
    // A running CRC split anywhere equals the one-shot CRC.
    const size_t cut = len ? rng() % len : 0;
    const uint32_t first = cep::crc32c::extend(seed, buf.data() + offset, cut);
    expect(cep::crc32c::extend(first, buf.data() + offset + cut, len - cut) == want, "split", len);
  }
  cep::cpu::set_tier("auto");
}

void batched() {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(70000);
  for (auto& x : buf) x = static_cast<uint8_t>(rng());
  std::vector<uint32_t> offsets, lengths, out(500), bounds;
  for (int i = 0; i < 500; i++) {
    offsets.push_back(rng() % 60000);
    lengths.push_back(rng() % 9000);
  }
  cep::crc32c::many(buf.data(), offsets.data(), lengths.data(), 500, 5, out.data());
  for (int i = 0; i < 500; i++)
    expect(out[i] == cep::crc32c::extend(5, buf.data() + offsets[i], lengths[i]), "many", i);
  for (uint32_t b = 0; b <= 64000; b += 640) bounds.push_back(b);
  cep::crc32c::many(buf.data(), bounds.data(), nullptr, bounds.size() - 1, 0, out.data());
  for (size_t i = 0; i + 1 < bounds.size(); i++)
    expect(out[i] == cep::crc32c::extend(0, buf.data() + bounds[i], 640), "many contiguous", i);
}

}  // namespace

int main() {
  known_answers();
  tiers_agree();
  batched();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
