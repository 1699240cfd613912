// Shared by the reactor and executor N-API classes: a thread-safe function that wakes the
// event loop (it calls a JS function on the JS thread; no JS ever runs on native threads),
// referenced only while work is outstanding so an idle reactor never keeps the process alive.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "../common/completion.h"
#include "coded_error.h"

namespace cep::napi {

class Waker {
 public:
  void init(Napi::Env env, Napi::Function fn, const char* name) {
    napi_value resource_name;
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
    if (napi_create_threadsafe_function(env, fn, nullptr, resource_name, 0, 1, nullptr, nullptr, nullptr, CallJs, &tsfn_) != napi_ok)
      return;
    napi_unref_threadsafe_function(env, tsfn_);
    live_ = true;
  }
  // From any thread.
  void wake() {
    if (!live_) return;
    wakes_.fetch_add(1, std::memory_order_relaxed);
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
  }
  // Wakes of the event loop so far (the bench counts them per echo window).
  uint64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }
  // JS thread: keep the loop alive while `outstanding` > 0.
  void track(Napi::Env env, int64_t delta) {
    const bool was = outstanding_ > 0;
    outstanding_ += delta;
    const bool is = outstanding_ > 0;
    if (!live_ || was == is) return;
    if (is) napi_ref_threadsafe_function(env, tsfn_);
    else napi_unref_threadsafe_function(env, tsfn_);
  }
  // After the producing threads were joined.
  void release() {
    if (!live_) return;
    live_ = false;
    napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  }
  int64_t outstanding() const { return outstanding_; }

 private:
  // Runs on the JS thread. During environment teardown (env or callback null, or JS no longer
  // allowed to run) the call is dropped: nothing is waiting for it any more.
  static void CallJs(napi_env env, napi_value callback, void*, void*) {
    if (env == nullptr || callback == nullptr) return;
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 0, nullptr, nullptr);
  }

  napi_threadsafe_function tsfn_ = nullptr;
  bool live_ = false;
  int64_t outstanding_ = 0;
  std::atomic<uint64_t> wakes_{0};
};

// Completions as (seq, result, flags) triples in one Float64Array.
inline Napi::Float64Array completion_triples(Napi::Env env, const std::vector<Completion>& items) {
  Napi::Float64Array out = Napi::Float64Array::New(env, items.size() * 3);
  double* d = out.Data();
  for (size_t i = 0; i < items.size(); i++) {
    d[i * 3] = static_cast<double>(items[i].seq);
    d[i * 3 + 1] = static_cast<double>(items[i].result);
    d[i * 3 + 2] = static_cast<double>(items[i].flags);
  }
  return out;
}

// A drained batch as [triples, data?]: data[i] holds the bytes completion i carries (a received
// frame, an executor job's output), when any. Small ones are copied into one ArrayBuffer and
// handed out as views of it (one allocation per batch rather than per item).
inline Napi::Array completion_batch(Napi::Env env, const std::vector<Completion>& items) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, completion_triples(env, items));
  constexpr size_t kShared = 4096;
  size_t shared = 0;
  for (const auto& c : items)
    if (c.data && c.length <= kShared) shared += c.length;
  Napi::ArrayBuffer pool;
  size_t at = 0;
  if (shared > 0) pool = Napi::ArrayBuffer::New(env, shared);
  Napi::Array data;
  for (size_t i = 0; i < items.size(); i++) {
    if (!items[i].data) continue;
    if (data.IsEmpty()) data = Napi::Array::New(env, items.size());
    const size_t n = items[i].length;
    if (n <= kShared) {
      if (n) std::memcpy(static_cast<uint8_t*>(pool.Data()) + at, items[i].data.get(), n);
      data.Set(static_cast<uint32_t>(i), Napi::Uint8Array::New(env, n, pool.IsEmpty() ? Napi::ArrayBuffer::New(env, 0) : pool, at));
      at += n;
    } else {
      data.Set(static_cast<uint32_t>(i), Napi::Buffer<uint8_t>::Copy(env, items[i].data.get(), n));
    }
  }
  if (!data.IsEmpty()) out.Set(1u, data);
  return out;
}

}  // namespace cep::napi
