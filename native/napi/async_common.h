// Shared by the reactor and executor N-API classes: a thread-safe function that wakes the
// event loop (it calls a JS function on the JS thread; no JS ever runs on native threads),
// referenced only while work is outstanding so an idle reactor never keeps the process alive.
#pragma once

#include <napi.h>

#include <vector>

#include "../common/completion.h"

namespace cep::napi {

class Waker {
 public:
  void init(Napi::Env env, Napi::Function fn, const char* name) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, fn, name, 0, 1);
    tsfn_.Unref(env);
    live_ = true;
  }
  // From any thread.
  void wake() {
    if (live_) tsfn_.NonBlockingCall();
  }
  // JS thread: keep the loop alive while `outstanding` > 0.
  void track(Napi::Env env, int64_t delta) {
    const bool was = outstanding_ > 0;
    outstanding_ += delta;
    const bool is = outstanding_ > 0;
    if (!live_ || was == is) return;
    if (is) tsfn_.Ref(env);
    else tsfn_.Unref(env);
  }
  // After the producing threads were joined.
  void release() {
    if (!live_) return;
    live_ = false;
    tsfn_.Release();
  }
  int64_t outstanding() const { return outstanding_; }

 private:
  Napi::ThreadSafeFunction tsfn_;
  bool live_ = false;
  int64_t outstanding_ = 0;
};

inline void throw_coded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

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

}  // namespace cep::napi
