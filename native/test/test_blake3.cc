// Standalone BLAKE3 tests, run for every dispatch tier:
//   - the official test vectors (hash, keyed_hash, derive_key; full extended output, the
//     32-byte default output, and XOF reads from an offset), one-shot and incremental;
//   - incremental updates in odd-sized pieces against one-shot hashing, on inputs up to
//     a few MiB (covers the wide tree code and the hasher's subtree path);
//   - hash_many_slices against per-slice hash().
// Usage: test_blake3 [path/to/blake3-test-vectors.json]. Exit status 0 when all pass.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../common/cpu.h"
#include "../hash/blake3.h"

namespace b3 = cep::blake3;
using Bytes = std::vector<uint8_t>;

namespace {

struct Tally {
  int passed = 0;
  int failed = 0;
  std::string tier;

  void expect(bool ok, const std::string& what) {
    if (ok) {
      ++passed;
      return;
    }
    ++failed;
    if (failed <= 50) std::printf("FAIL [%s] %s\n", tier.c_str(), what.c_str());
  }
};

// ---- Minimal reader for the test-vector JSON (flat objects, string and integer fields). ----

struct Case {
  size_t input_len = 0;
  std::string hash, keyed_hash, derive_key;
};

struct Vectors {
  std::string key, context;
  std::vector<Case> cases;
};

// Value of "name": "..." in s[from, to); empty when absent.
std::string string_field(const std::string& s, size_t from, size_t to, const char* name) {
  const std::string pat = std::string("\"") + name + "\"";
  size_t p = s.find(pat, from);
  if (p == std::string::npos || p >= to) return {};
  p = s.find(':', p + pat.size());
  const size_t open = s.find('"', p);
  const size_t close = s.find('"', open + 1);
  if (open == std::string::npos || close == std::string::npos || close > to) return {};
  return s.substr(open + 1, close - open - 1);
}

// Value of "name": 123 in s[from, to); -1 when absent.
long long number_field(const std::string& s, size_t from, size_t to, const char* name) {
  const std::string pat = std::string("\"") + name + "\"";
  size_t p = s.find(pat, from);
  if (p == std::string::npos || p >= to) return -1;
  p = s.find(':', p + pat.size()) + 1;
  while (p < to && (s[p] == ' ' || s[p] == '\n' || s[p] == '\t' || s[p] == '\r')) ++p;
  return std::strtoll(s.c_str() + p, nullptr, 10);
}

bool read_vectors(const char* path, Vectors& v) {
  FILE* f = std::fopen(path, "rb");
  if (!f) return false;
  std::string s;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) s.append(buf, n);
  std::fclose(f);
  const size_t cases = s.find("\"cases\"");
  if (cases == std::string::npos) return false;
  v.key = string_field(s, 0, cases, "key");
  v.context = string_field(s, 0, cases, "context_string");
  for (size_t pos = cases;;) {
    const size_t open = s.find('{', pos);
    if (open == std::string::npos) break;
    const size_t close = s.find('}', open);
    Case c;
    c.input_len = static_cast<size_t>(number_field(s, open, close, "input_len"));
    c.hash = string_field(s, open, close, "hash");
    c.keyed_hash = string_field(s, open, close, "keyed_hash");
    c.derive_key = string_field(s, open, close, "derive_key");
    v.cases.push_back(c);
    pos = close + 1;
  }
  return v.key.size() == b3::kKeyLen && !v.cases.empty();
}

Bytes unhex(const std::string& hex) {
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

// ---- Helpers --------------------------------------------------------------------------------

Bytes pattern(size_t len) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(i % 251);
  return b;
}

Bytes random_bytes(std::mt19937_64& rng, size_t len) {
  Bytes b(len);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

Bytes one_shot(const Bytes& in, const uint8_t* key, uint8_t flags, uint64_t seek, size_t out_len) {
  Bytes out(out_len);
  b3::hash(in.data(), in.size(), key, flags, seek, out.data(), out_len);
  return out;
}

// Feeds `in` to a hasher in pieces whose sizes cycle through `pieces`.
void update_in_pieces(b3::Hasher& h, const Bytes& in, const std::vector<size_t>& pieces) {
  size_t off = 0;
  for (size_t i = 0; off < in.size(); ++i) {
    const size_t n = std::min(pieces[i % pieces.size()], in.size() - off);
    b3::hasher_update(&h, in.data() + off, n);
    off += n;
  }
}

Bytes finalize(const b3::Hasher& h, uint64_t seek, size_t out_len) {
  Bytes out(out_len);
  b3::hasher_finalize(&h, seek, out.data(), out_len);
  return out;
}

Bytes tail(const Bytes& b, size_t from) { return Bytes(b.begin() + static_cast<long>(from), b.end()); }
Bytes head(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + static_cast<long>(n)); }

// ---- Test-vector checks ---------------------------------------------------------------------

// One mode of one case: one-shot, default length, XOF suffixes, incremental (whole and pieces).
void check_mode(Tally& t, const Bytes& in, const uint8_t* key, uint8_t flags, const Bytes& expected,
                const std::string& name) {
  const size_t n = expected.size();
  t.expect(one_shot(in, key, flags, 0, n) == expected, name + " one-shot");
  t.expect(one_shot(in, key, flags, 0, b3::kOutLen) == head(expected, b3::kOutLen), name + " default length");
  const size_t seeks[] = {1, 31, 32, 63, 64, 65, 100, n - 1};
  for (size_t s : seeks)
    t.expect(one_shot(in, key, flags, s, n - s) == tail(expected, s), name + " seek " + std::to_string(s));

  b3::Hasher h;
  b3::hasher_init(&h, key, flags);
  b3::hasher_update(&h, in.data(), in.size());
  t.expect(finalize(h, 0, n) == expected, name + " hasher");
  t.expect(finalize(h, 0, b3::kOutLen) == head(expected, b3::kOutLen), name + " hasher default length");
  for (size_t s : seeks)
    t.expect(finalize(h, s, n - s) == tail(expected, s), name + " hasher seek " + std::to_string(s));

  b3::hasher_reset(&h);
  update_in_pieces(h, in, {1, 63, 64, 65, 7, 1023, 1024, 1025, 2047, 4096, 3});
  t.expect(finalize(h, 0, n) == expected, name + " hasher pieces");
}

void check_vectors(Tally& t, const Vectors& v) {
  const uint8_t* key = reinterpret_cast<const uint8_t*>(v.key.data());
  Bytes context_key(b3::kKeyLen);
  b3::hash(reinterpret_cast<const uint8_t*>(v.context.data()), v.context.size(), nullptr, b3::DERIVE_KEY_CONTEXT, 0,
           context_key.data(), context_key.size());
  for (const Case& c : v.cases) {
    const Bytes in = pattern(c.input_len);
    const std::string len = std::to_string(c.input_len);
    check_mode(t, in, nullptr, 0, unhex(c.hash), "hash len " + len);
    check_mode(t, in, key, b3::KEYED_HASH, unhex(c.keyed_hash), "keyed_hash len " + len);
    check_mode(t, in, context_key.data(), b3::DERIVE_KEY_MATERIAL, unhex(c.derive_key), "derive_key len " + len);
  }
}

// ---- Long inputs: wide tree and hasher subtree path -----------------------------------------

struct LongCase {
  Bytes input;
  Bytes key;     // empty: default mode
  Bytes digest;  // reference: 100 output bytes from the portable tier, fed in small pieces
};

std::vector<size_t> long_lengths(std::mt19937_64& rng) {
  std::vector<size_t> lens = {1025, 2048, 2049, 3 * 1024, 4 * 1024, 4 * 1024 + 1, 5 * 1024 - 1, 8 * 1024,
                              9 * 1024, 16 * 1024, 16 * 1024 + 1, 17 * 1024, 31 * 1024 + 5, 32 * 1024,
                              33 * 1024, 65535, 65536, 65537, 100000, 1 << 20, (1 << 20) + 1,
                              3 * (1 << 20) / 2 + 17};
  for (int i = 0; i < 8; ++i) lens.push_back(1025 + rng() % (300 * 1024));
  return lens;
}

std::vector<LongCase> make_long_cases(std::mt19937_64& rng) {
  const char* saved = cep::cpu::set_tier("portable");
  (void)saved;
  std::vector<LongCase> cases;
  const Bytes key = random_bytes(rng, b3::kKeyLen);
  bool keyed = false;
  for (size_t len : long_lengths(rng)) {
    LongCase c;
    c.input = random_bytes(rng, len);
    if (keyed) c.key = key;
    keyed = !keyed;
    b3::Hasher h;
    b3::hasher_init(&h, c.key.empty() ? nullptr : c.key.data(), c.key.empty() ? 0 : b3::KEYED_HASH);
    update_in_pieces(h, c.input, {1, 13, 64, 100, 511, 999});
    c.digest = finalize(h, 0, 100);
    cases.push_back(std::move(c));
  }
  cep::cpu::set_tier("auto");
  return cases;
}

void check_long(Tally& t, const std::vector<LongCase>& cases, std::mt19937_64& rng) {
  for (const LongCase& c : cases) {
    const uint8_t* key = c.key.empty() ? nullptr : c.key.data();
    const uint8_t flags = c.key.empty() ? 0 : b3::KEYED_HASH;
    const std::string name = "long len " + std::to_string(c.input.size()) + (key ? " keyed" : "");
    t.expect(one_shot(c.input, key, flags, 0, 100) == c.digest, name + " one-shot");
    t.expect(one_shot(c.input, key, flags, 37, 63) == tail(c.digest, 37), name + " one-shot seek");

    b3::Hasher h;
    b3::hasher_init(&h, key, flags);
    b3::hasher_update(&h, c.input.data(), c.input.size());
    t.expect(finalize(h, 0, 100) == c.digest, name + " hasher whole");

    // Random large pieces (the subtree path), with a finalize in the middle that must not
    // disturb the state.
    b3::hasher_reset(&h);
    size_t off = 0;
    bool finalized = false;
    while (off < c.input.size()) {
      const size_t n = std::min<size_t>(1 + rng() % 70000, c.input.size() - off);
      b3::hasher_update(&h, c.input.data() + off, n);
      off += n;
      if (!finalized && off >= c.input.size() / 2) {
        finalize(h, 0, 32);
        finalized = true;
      }
    }
    t.expect(finalize(h, 0, 100) == c.digest, name + " hasher random pieces");

    // Chunk-aligned pieces, so that update() repeatedly ends on whole subtrees.
    b3::hasher_reset(&h);
    update_in_pieces(h, c.input, {1024, 2048, 4096, 3072, 65536});
    t.expect(finalize(h, 0, 100) == c.digest, name + " hasher chunk pieces");
  }
}

// XOF counters beyond 32 bits: block i of the output stream has counter i.
void check_far_seek(Tally& t) {
  const Bytes in = pattern(3000);
  const uint64_t far = (uint64_t{1} << 32) * b3::kBlockLen + 5;  // counter 2^32
  const Bytes wide = one_shot(in, nullptr, 0, far - 70, 140);
  t.expect(one_shot(in, nullptr, 0, far, 70) == tail(wide, 70), "far seek");
  t.expect(one_shot(in, nullptr, 0, far, 70) != one_shot(in, nullptr, 0, 5, 70), "far seek differs from near");
}

// ---- hash_many_slices -----------------------------------------------------------------------

size_t random_slice_len(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return 64;
    case 1: return 0;
    case 2:
    case 3:
    case 4: return rng() % 65;
    case 5: return 65 + rng() % 960;
    default: return rng() % 3001;
  }
}

void expect_slices(Tally& t, const Bytes& base, const std::vector<uint32_t>& offsets, const std::vector<uint32_t>& lens,
                   size_t n, bool with_lengths, const std::string& name) {
  Bytes out(n * b3::kOutLen + 1, 0xAA);  // one guard byte
  b3::hash_many_slices(base.data(), offsets.data(), with_lengths ? lens.data() : nullptr, n, out.data());
  bool ok = out[n * b3::kOutLen] == 0xAA;
  for (size_t i = 0; i < n && ok; ++i) {
    uint8_t want[b3::kOutLen];
    b3::hash(base.data() + offsets[i], lens[i], nullptr, 0, 0, want, b3::kOutLen);
    ok = std::memcmp(out.data() + i * b3::kOutLen, want, b3::kOutLen) == 0;
  }
  t.expect(ok, name);
}

void check_slices(Tally& t, std::mt19937_64& rng) {
  const Bytes base = random_bytes(rng, 1 << 20);
  for (int round = 0; round < 60; ++round) {
    const size_t n = round == 0 ? 0 : (round < 20 ? round : rng() % 300);
    const bool uniform = round % 3 == 0;  // all 64-byte slices: every lane count
    std::vector<uint32_t> lens(n), offsets(n + 1);
    // Scattered slices, described by offsets + lengths.
    for (size_t i = 0; i < n; ++i) {
      lens[i] = static_cast<uint32_t>(uniform ? 64 : random_slice_len(rng));
      offsets[i] = static_cast<uint32_t>(rng() % (base.size() - lens[i] + 1));
    }
    // A slice ending exactly at the end of the buffer.
    if (n > 0) offsets[n - 1] = static_cast<uint32_t>(base.size() - lens[n - 1]);
    expect_slices(t, base, offsets, lens, n, true, "slices with lengths, n=" + std::to_string(n));
    // Back-to-back slices, described by offsets alone.
    uint32_t off = static_cast<uint32_t>(rng() % 1000);
    for (size_t i = 0; i < n; ++i) {
      offsets[i] = off;
      off += lens[i];
    }
    offsets[n] = off;
    expect_slices(t, base, offsets, lens, n, false, "slices from offsets, n=" + std::to_string(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "test/vectors/blake3-test-vectors.json";
  Vectors vectors;
  if (!read_vectors(path, vectors)) {
    std::printf("cannot read test vectors from %s\n", path);
    return 2;
  }
  std::mt19937_64 rng(20240607);
  const std::vector<LongCase> long_cases = make_long_cases(rng);

  Tally t;
  for (const char* tier : {"portable", "sse4.2", "avx2", "avx512", "auto"}) {
    if (!cep::cpu::set_tier(tier)) {
      std::printf("unknown tier %s\n", tier);
      return 2;
    }
    std::string features;
    for (const std::string& f : cep::cpu::active_names()) features += " " + f;
    std::printf("tier %s:%s\n", tier, features.c_str());
    t.tier = tier;
    check_vectors(t, vectors);
    check_long(t, long_cases, rng);
    check_far_seek(t);
    check_slices(t, rng);
  }
  cep::cpu::set_tier("auto");
  std::printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : 1;
}
