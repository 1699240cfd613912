// BLAKE3 timing program (single thread): one-shot hash() at several sizes, incremental
// hashing, and hash_many_slices, for every dispatch tier.
// Usage: bench_blake3 [tier ...]   (default: portable sse4.2 avx2 avx512)
// Each figure is the best of 200 runs of ~1 ms; GB/s means 1e9 bytes per second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../common/cpu.h"
#include "../hash/blake3.h"

namespace b3 = cep::blake3;

namespace {

volatile uint8_t g_sink;  // keeps results observable

// Seconds per call of fn: the best of many short runs. On a shared or virtual machine the
// minimum is the most reproducible figure (it filters out interference from other tenants).
template <class F>
double time_per_call(F&& fn) {
  using clock = std::chrono::steady_clock;
  size_t iters = 1;
  for (;;) {  // calibrate to ~1 ms per run
    const auto t0 = clock::now();
    for (size_t i = 0; i < iters; ++i) fn();
    if (std::chrono::duration<double>(clock::now() - t0).count() > 0.001) break;
    iters *= 2;
  }
  double best = 1e30;
  for (int run = 0; run < 200; ++run) {
    const auto t0 = clock::now();
    for (size_t i = 0; i < iters; ++i) fn();
    best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count() / static_cast<double>(iters));
  }
  return best;
}

void report(const char* what, size_t bytes, double secs) {
  std::printf("  %-34s %9.1f ns  %7.2f GB/s\n", what, secs * 1e9, static_cast<double>(bytes) / secs / 1e9);
}

void bench_one_shot(const std::vector<uint8_t>& data) {
  for (size_t len : {size_t{64}, size_t{1024}, size_t{4096}, size_t{16384}, size_t{65536}, size_t{1} << 20}) {
    uint8_t out[32];
    const double s = time_per_call([&] {
      b3::hash(data.data(), len, nullptr, 0, 0, out, sizeof(out));
      g_sink = out[0];
    });
    report(("hash " + std::to_string(len) + " B").c_str(), len, s);
  }
}

void bench_incremental(const std::vector<uint8_t>& data) {
  const size_t total = size_t{1} << 20;
  for (size_t piece : {size_t{64}, size_t{1024}, size_t{65536}}) {
    uint8_t out[32];
    const double s = time_per_call([&] {
      b3::Hasher h;
      b3::hasher_init(&h, nullptr, 0);
      for (size_t off = 0; off < total; off += piece) b3::hasher_update(&h, data.data() + off, piece);
      b3::hasher_finalize(&h, 0, out, sizeof(out));
      g_sink = out[0];
    });
    report(("hasher 1 MiB in " + std::to_string(piece) + " B pieces").c_str(), total, s);
  }
}

void bench_xof(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(65536);
  const double s = time_per_call([&] {
    b3::hash(data.data(), 64, nullptr, 0, 0, out.data(), out.size());
    g_sink = out[0];
  });
  report("xof 64 KiB output", out.size(), s);
}

void bench_slices(const std::vector<uint8_t>& data, size_t slice_len, bool with_lengths) {
  const size_t n = 4096;
  std::vector<uint32_t> offsets(n + 1), lengths(n, static_cast<uint32_t>(slice_len));
  for (size_t i = 0; i <= n; ++i) offsets[i] = static_cast<uint32_t>(i * slice_len);
  std::vector<uint8_t> out(n * 32);
  const double s = time_per_call([&] {
    b3::hash_many_slices(data.data(), offsets.data(), with_lengths ? lengths.data() : nullptr, n, out.data());
    g_sink = out[0];
  });
  const std::string what = "slices " + std::to_string(n) + " x " + std::to_string(slice_len) + " B" +
                           (with_lengths ? " (lengths)" : "");
  report(what.c_str(), n * slice_len, s);
  std::printf("  %-34s %9.1f ns per slice\n", "", s * 1e9 / n);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tiers;
  for (int i = 1; i < argc; ++i) tiers.push_back(argv[i]);
  if (tiers.empty()) tiers = {"portable", "sse4.2", "avx2", "avx512"};

  std::vector<uint8_t> data(size_t{1} << 21);
  std::mt19937 rng(1);
  for (auto& b : data) b = static_cast<uint8_t>(rng());

  for (const std::string& tier : tiers) {
    if (!cep::cpu::set_tier(tier)) {
      std::printf("unknown tier %s\n", tier.c_str());
      return 2;
    }
    std::printf("tier %s\n", tier.c_str());
    bench_one_shot(data);
    bench_incremental(data);
    bench_xof(data);
    bench_slices(data, 64, false);
    bench_slices(data, 64, true);
    bench_slices(data, 32, false);
  }
  return 0;
}
