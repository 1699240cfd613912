// The native executor: a thread pool running native jobs (hashing, checksums, deflate,
// AEAD; see codec.h) off the JS thread. Each job has a ticket (its sequence number), may be cancelled while queued or
// between chunks, and may carry a CPU-time and an input-byte budget; results go to a
// completion sink with a status in `flags`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "../common/completion.h"
#include "thread_pool.h"

namespace cep::executor {

// Job kinds (src/async/executor.ts mirrors these numbers).
enum JobKind : int {
  JOB_NOOP = 0, JOB_BLAKE3 = 1, JOB_CRC32C = 2,
  JOB_DEFLATE = 3, JOB_INFLATE = 4, JOB_AEAD_SEAL = 5, JOB_AEAD_OPEN = 6,
};
// Completion statuses (in Completion::flags).
// ST_FAILED: the input itself is bad (corrupt deflate stream, AEAD authentication failure).
enum JobStatus : uint32_t { ST_OK = 0, ST_CANCELLED = 1, ST_CPU_BUDGET = 2, ST_BYTE_BUDGET = 3, ST_INVALID = 4, ST_FAILED = 5 };

constexpr size_t kChunk = 64 * 1024;  // cancellation and budgets are checked between chunks

struct Job {
  uint64_t seq = 0;
  int kind = JOB_NOOP;
  const uint8_t* input = nullptr;  // kept alive by the JS side until the result is released
  size_t length = 0;
  uint8_t* out = nullptr;          // 32 bytes for JOB_BLAKE3; the sealed/opened bytes for AEAD
  size_t out_length = 0;
  const uint8_t* aux = nullptr;    // AEAD: key || nonce || associated data (kept alive like input)
  size_t aux_length = 0;
  int param = 0;                   // deflate: level and format; AEAD: the cipher
  uint64_t max_out = 0;            // inflate: most output bytes (0: none)
  uint64_t cpu_budget_ns = 0;      // 0: none
  uint64_t byte_budget = 0;        // 0: none
  std::atomic<bool> cancelled{false};
};

class Executor {
 public:
  Executor(unsigned threads, std::function<void()> wake);
  ~Executor();  // cancels what is queued, waits for what runs
  void submit(std::unique_ptr<Job> job);
  // Cancels a queued or running job; false when the ticket is unknown (already finished).
  bool cancel(uint64_t seq);
  CompletionSink& sink() { return sink_; }
  unsigned threads() const { return pool_ ? pool_->size() : 0; }
  void close();

 private:
  void run(Job& job);

  CompletionSink sink_;
  std::mutex jobs_mutex_;
  std::unordered_map<uint64_t, Job*> jobs_;
  std::unique_ptr<ThreadPool> pool_;
};

// Runs one job on the calling thread; returns the completion (used by the pool and tests).
Completion run_job(Job& job);

}  // namespace cep::executor
