// A completion sink shared by the reactor and the executor: worker threads push finished work,
// the JS thread takes everything waiting in one swap. The wake callback fires once per
// empty -> non-empty transition (until the next take), so the event loop is woken once per
// batch rather than once per completion.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cep {

struct Completion {
  uint64_t seq = 0;
  int64_t result = 0;   // bytes, fd or value (>= 0), or -errno
  uint32_t flags = 0;   // op-specific (COMPLETION_EOF, executor status)
  std::unique_ptr<uint8_t[]> data;  // a received frame body, when any
  uint32_t length = 0;
};

constexpr uint32_t COMPLETION_EOF = 1;  // the peer closed cleanly at a frame boundary

class CompletionSink {
 public:
  explicit CompletionSink(std::function<void()> wake) : wake_(std::move(wake)) {}

  void push(Completion&& c) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back(std::move(c));
    }
    signal();
  }

  void push_all(std::vector<Completion>& batch) {
    if (batch.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& c : batch) items_.push_back(std::move(c));
    }
    batch.clear();
    signal();
  }

  // Everything waiting, oldest first; re-arms the wake.
  std::vector<Completion> take() {
    armed_.store(false, std::memory_order_release);
    std::vector<Completion> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(items_);
    return out;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_.size();
  }

 private:
  void signal() {
    if (!armed_.exchange(true, std::memory_order_acq_rel) && wake_) wake_();
  }

  std::function<void()> wake_;
  std::atomic<bool> armed_{false};
  std::mutex mutex_;
  std::vector<Completion> items_;
};

}  // namespace cep
