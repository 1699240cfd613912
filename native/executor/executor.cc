#include "executor.h"

#include <time.h>

#include "../hash/blake3.h"
#include "../hash/crc32c.h"
#include "codec.h"

namespace cep::executor {
namespace {

uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Completion run_job(Job& job) {
  Completion c;
  c.seq = job.seq;
  if (job.cancelled.load(std::memory_order_acquire)) {
    c.flags = ST_CANCELLED;
    return c;
  }
  if (job.byte_budget && job.length > job.byte_budget) {
    c.flags = ST_BYTE_BUDGET;
    return c;
  }
  const uint64_t start = job.cpu_budget_ns ? thread_cpu_ns() : 0;
  // Between slices: a cancel or a spent CPU budget stops the job.
  const SliceCheck check = [&job, start](size_t) -> uint32_t {
    if (job.cancelled.load(std::memory_order_acquire)) return ST_CANCELLED;
    if (job.cpu_budget_ns && thread_cpu_ns() - start > job.cpu_budget_ns) return ST_CPU_BUDGET;
    return ST_OK;
  };
  switch (job.kind) {
    case JOB_DEFLATE: run_deflate(job, check, c); return c;
    case JOB_INFLATE: run_inflate(job, check, c); return c;
    case JOB_AEAD_SEAL: run_aead(job, true, check, c); return c;
    case JOB_AEAD_OPEN: run_aead(job, false, check, c); return c;
    default: break;
  }
  blake3::Hasher hasher;
  uint32_t crc = 0;
  if (job.kind == JOB_BLAKE3) blake3::hasher_init(&hasher, nullptr, 0);
  else if (job.kind != JOB_CRC32C && job.kind != JOB_NOOP) {
    c.flags = ST_INVALID;
    return c;
  }
  for (size_t at = 0; at < job.length || at == 0; at += kChunk) {
    if (at > 0) {
      if (uint32_t stop = check(at)) {
        c.flags = stop;
        c.result = static_cast<int64_t>(at);
        return c;
      }
    }
    const size_t n = job.length - at < kChunk ? job.length - at : kChunk;
    if (job.kind == JOB_BLAKE3) blake3::hasher_update(&hasher, job.input + at, n);
    else if (job.kind == JOB_CRC32C) crc = crc32c::extend(crc, job.input + at, n);
    if (job.length == 0) break;
  }
  if (job.kind == JOB_BLAKE3) blake3::hasher_finalize(&hasher, 0, job.out, blake3::kOutLen);
  c.result = job.kind == JOB_CRC32C ? static_cast<int64_t>(crc) : static_cast<int64_t>(job.length);
  c.flags = ST_OK;
  return c;
}

Executor::Executor(unsigned threads, std::function<void()> wake)
    : sink_(std::move(wake)), pool_(std::make_unique<ThreadPool>(threads)) {}

Executor::~Executor() { close(); }

void Executor::close() {
  if (!pool_) return;
  {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    for (auto& [seq, job] : jobs_) job->cancelled.store(true, std::memory_order_release);
  }
  pool_.reset();  // queued jobs run to their cancelled completion; running ones stop at a chunk
}

void Executor::submit(std::unique_ptr<Job> job) {
  Job* raw = job.release();
  {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    jobs_.emplace(raw->seq, raw);
  }
  pool_->post([this, raw] { run(*raw); });
}

void Executor::run(Job& job) {
  Completion c = run_job(job);
  {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    jobs_.erase(job.seq);
  }
  delete &job;
  sink_.push(std::move(c));
}

bool Executor::cancel(uint64_t seq) {
  std::lock_guard<std::mutex> lock(jobs_mutex_);
  auto it = jobs_.find(seq);
  if (it == jobs_.end()) return false;
  it->second->cancelled.store(true, std::memory_order_release);
  return true;
}

}  // namespace cep::executor
