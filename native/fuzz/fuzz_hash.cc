// libFuzzer target: every dispatch tier of CRC32C and BLAKE3 must agree with the portable
// code on arbitrary input, and incremental BLAKE3 in arbitrary pieces must equal one-shot.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../common/cpu.h"
#include "../hash/blake3.h"
#include "../hash/crc32c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kTiers[] = {"sse4.2", "avx2", "avx512", "auto"};
  cep::cpu::set_tier("portable");
  const uint32_t crc = cep::crc32c::extend(0, data, size);
  uint8_t want[64], got[64];
  cep::blake3::hash(data, size, nullptr, 0, 0, want, sizeof want);
  for (const char* tier : kTiers) {
    cep::cpu::set_tier(tier);
    if (cep::crc32c::extend(0, data, size) != crc) std::abort();
    cep::blake3::hash(data, size, nullptr, 0, 0, got, sizeof got);
    if (std::memcmp(want, got, sizeof want) != 0) std::abort();
    // Feed the input in pieces whose sizes come from the input itself.
    cep::blake3::Hasher h;
    cep::blake3::hasher_init(&h, nullptr, 0);
    for (size_t at = 0; at < size;) {
      const size_t piece = 1 + data[at] * 7 % (size - at);
      cep::blake3::hasher_update(&h, data + at, piece);
      at += piece;
    }
    cep::blake3::hasher_finalize(&h, 0, got, sizeof got);
    if (std::memcmp(want, got, sizeof want) != 0) std::abort();
  }
  return 0;
}
