// Native unit test for the executor: results match the hash functions, tickets cancel,
// budgets stop jobs, and the pool runs jobs from many submissions.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "../executor/codec.h"
#include "../executor/executor.h"
#include "../hash/blake3.h"
#include "../hash/crc32c.h"

using namespace cep::executor;

namespace {

int passed = 0, failed = 0;

void expect(bool ok, const char* what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    std::printf("FAIL: %s\n", what);
  }
}

std::vector<cep::Completion> wait_for(Executor& ex, size_t n) {
  std::vector<cep::Completion> out;
  for (int i = 0; i < 5000 && out.size() < n; i++) {
    for (auto& c : ex.sink().take()) out.push_back(std::move(c));
    if (out.size() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return out;
}

}  // namespace

int main() {
  std::vector<uint8_t> data(300000);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7);
  uint8_t want[32];
  cep::blake3::hash(data.data(), data.size(), nullptr, 0, 0, want, 32);

  {  // run_job matches the direct functions
    Job j;
    uint8_t out[32];
    j.kind = JOB_BLAKE3, j.input = data.data(), j.length = data.size(), j.out = out;
    cep::Completion c = run_job(j);
    expect(c.flags == ST_OK && std::memcmp(out, want, 32) == 0, "blake3 job");
    Job k;
    k.kind = JOB_CRC32C, k.input = data.data(), k.length = data.size();
    expect(run_job(k).result == cep::crc32c::extend(0, data.data(), data.size()), "crc32c job");
    Job b;
    b.kind = JOB_CRC32C, b.input = data.data(), b.length = data.size(), b.byte_budget = 1000;
    expect(run_job(b).flags == ST_BYTE_BUDGET, "byte budget");
    Job bad;
    bad.kind = 42;
    expect(run_job(bad).flags == ST_INVALID, "unknown kind");
  }
  {  // the pool: many jobs, cancellation, CPU budget
    std::atomic<int> wakes{0};
    Executor ex(2, [&] { wakes++; });
    std::vector<uint8_t> big(64 << 20, 1);
    uint8_t out[32];
    auto job = std::make_unique<Job>();
    job->seq = 1, job->kind = JOB_BLAKE3, job->input = big.data(), job->length = big.size(), job->out = out;
    job->cpu_budget_ns = 1000000;  // 1 ms
    ex.submit(std::move(job));
    for (uint64_t s = 2; s < 1002; s++) {
      auto n = std::make_unique<Job>();
      n->seq = s;
      ex.submit(std::move(n));
    }
    auto slow = std::make_unique<Job>();
    slow->seq = 1002, slow->kind = JOB_CRC32C, slow->input = big.data(), slow->length = big.size();
    ex.submit(std::move(slow));
    expect(ex.cancel(1002), "cancel a queued/running job");
    auto got = wait_for(ex, 1002);
    expect(got.size() == 1002, "every job completes");
    int ok = 0;
    for (auto& c : got) {
      if (c.seq == 1) expect(c.flags == ST_CPU_BUDGET, "cpu budget stops the big job");
      else if (c.seq == 1002) expect(c.flags == ST_CANCELLED, "cancelled");
      else ok += c.flags == ST_OK;
    }
    expect(ok == 1000, "no-op jobs all ok");
    expect(wakes.load() >= 1, "woken");
    expect(!ex.cancel(5), "finished tickets cannot be cancelled");
  }
  {  // HChaCha20: the test vector of draft-irtf-cfrg-xchacha, section 2.2.1
    uint8_t key[32], sub[32];
    for (int i = 0; i < 32; i++) key[i] = static_cast<uint8_t>(i);
    const uint8_t nonce[16] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0, 0x31, 0x41, 0x59, 0x27};
    const uint8_t want_sub[32] = {0x82, 0x41, 0x3b, 0x42, 0x27, 0xb2, 0x7b, 0xfe, 0xd3, 0x0e, 0x42, 0x50, 0x8a, 0x87, 0x7d, 0x73,
                                  0xa0, 0xf9, 0xe4, 0xd5, 0x8a, 0x74, 0xa8, 0x53, 0xc1, 0x2e, 0xc4, 0x13, 0x26, 0xd3, 0xec, 0xdc};
    hchacha20(key, nonce, sub);
    expect(std::memcmp(sub, want_sub, 32) == 0, "hchacha20 test vector");
  }
  if (codecs_available()) {  // codec jobs: deflate/inflate and AEAD round trips, failures
    for (int format = FMT_ZLIB; format <= FMT_GZIP; format++) {
      Job d;
      d.kind = JOB_DEFLATE, d.input = data.data(), d.length = data.size(), d.param = (6 + 1) | (format << 4);
      cep::Completion packed = run_job(d);
      expect(packed.flags == ST_OK && packed.length > 0 && packed.length < data.size(), "deflate packs");
      Job i;
      i.kind = JOB_INFLATE, i.input = packed.data.get(), i.length = packed.length, i.param = format << 4;
      cep::Completion back = run_job(i);
      expect(back.flags == ST_OK && back.length == data.size() && std::memcmp(back.data.get(), data.data(), data.size()) == 0,
             "inflate restores");
      i.max_out = 1000;
      expect(run_job(i).flags == ST_BYTE_BUDGET, "inflate output cap");
      if (format != FMT_RAW) {  // a raw stream has no checksum: a flipped byte may still decode
        packed.data[packed.length / 2] ^= 0x55;
        i.max_out = 0;
        expect(run_job(i).flags == ST_FAILED, "corrupt stream fails");
      }
    }
    for (int cipher = AEAD_CHACHA20; cipher <= AEAD_XCHACHA20; cipher++) {
      std::vector<uint8_t> aux(32 + 24 + 5, 3), sealed(data.size() + 16), opened(data.size());
      Job s;
      s.kind = JOB_AEAD_SEAL, s.input = data.data(), s.length = data.size(), s.param = cipher;
      s.aux = aux.data(), s.aux_length = 32 + (cipher ? 24 : 12) + 5, s.out = sealed.data(), s.out_length = sealed.size();
      expect(run_job(s).flags == ST_OK, "seal");
      Job o;
      o.kind = JOB_AEAD_OPEN, o.input = sealed.data(), o.length = sealed.size(), o.param = cipher;
      o.aux = s.aux, o.aux_length = s.aux_length, o.out = opened.data(), o.out_length = opened.size();
      expect(run_job(o).flags == ST_OK && opened == data, "open restores");
      sealed[100] ^= 1;
      expect(run_job(o).flags == ST_FAILED, "tampered ciphertext fails");
      o.out_length = 10;
      expect(run_job(o).flags == ST_INVALID, "short output buffer is refused");
    }
  } else {
    std::printf("executor: built without zlib/libcrypto, codec jobs not compiled in\n");
  }
  std::printf("executor: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
