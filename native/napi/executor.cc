// N-API seam of the native executor (native/executor/): a NativeExecutor class taking batches
// of job descriptors and returning batches of (ticket, result, status) completions.
#include "../executor/executor.h"
#include "async_common.h"

namespace {

using cep::napi::throw_coded;

constexpr size_t kJobWidth = 4;  // kind, seq, cpu budget (ns), byte budget

class NativeExecutor : public Napi::ObjectWrap<NativeExecutor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeExecutor",
                       {InstanceMethod<&NativeExecutor::Submit>("submit"), InstanceMethod<&NativeExecutor::Drain>("drain"),
                        InstanceMethod<&NativeExecutor::Cancel>("cancel"), InstanceMethod<&NativeExecutor::Close>("close"),
                        InstanceMethod<&NativeExecutor::Threads>("threads")});
  }

  explicit NativeExecutor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeExecutor>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction()) {
      throw_coded(env, "ERR_INVALID_ARG_TYPE", "NativeExecutor(threads, wake)");
      return;
    }
    waker_.init(env, info[1].As<Napi::Function>(), "cep-executor");
    executor_ = std::make_unique<cep::executor::Executor>(info[0].As<Napi::Number>().Uint32Value(), [this] { waker_.wake(); });
    napi_add_env_cleanup_hook(env, Cleanup, this);
    hooked_ = true;
  }

  ~NativeExecutor() override {
    if (hooked_) napi_remove_env_cleanup_hook(Env(), Cleanup, this);
    shutdown();
  }

 private:
  static void Cleanup(void* self) {
    auto* e = static_cast<NativeExecutor*>(self);
    e->hooked_ = false;
    e->shutdown();
  }
  void shutdown() {
    if (executor_) executor_->close();
    waker_.release();
  }

  // submit(desc: Float64Array, count, inputs: (Uint8Array | undefined)[], outs: (Uint8Array | undefined)[])
  void Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      throw_coded(env, "ERR_EXECUTOR_CLOSED", "the executor is closed");
      return;
    }
    if (!info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsArray() || !info[3].IsArray()) {
      throw_coded(env, "ERR_INVALID_ARG_TYPE", "submit(desc, count, inputs, outs)");
      return;
    }
    Napi::Float64Array desc = info[0].As<Napi::Float64Array>();
    const size_t count = info[1].As<Napi::Number>().Uint32Value();
    if (count * kJobWidth > desc.ElementLength()) {
      throw_coded(env, "ERR_OUT_OF_RANGE", "count exceeds the descriptor array");
      return;
    }
    Napi::Array inputs = info[2].As<Napi::Array>(), outs = info[3].As<Napi::Array>();
    const double* d = desc.Data();
    waker_.track(env, static_cast<int64_t>(count));
    for (size_t i = 0; i < count; i++, d += kJobWidth) {
      auto job = std::make_unique<cep::executor::Job>();
      job->kind = static_cast<int>(d[0]);
      job->seq = static_cast<uint64_t>(d[1]);
      job->cpu_budget_ns = static_cast<uint64_t>(d[2]);
      job->byte_budget = static_cast<uint64_t>(d[3]);
      Napi::Value in = inputs.Get(static_cast<uint32_t>(i)), out = outs.Get(static_cast<uint32_t>(i));
      if (in.IsTypedArray()) {
        Napi::TypedArray t = in.As<Napi::TypedArray>();
        job->input = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
        job->length = t.ByteLength();
      }
      if (out.IsTypedArray()) {
        Napi::TypedArray t = out.As<Napi::TypedArray>();
        if (t.ByteLength() >= 32) job->out = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
      }
      if (job->kind == cep::executor::JOB_BLAKE3 && !job->out) job->kind = -1;  // reported as ST_INVALID
      executor_->submit(std::move(job));
    }
  }

  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!executor_) return env.Null();
    std::vector<cep::Completion> items = executor_->sink().take();
    if (items.empty()) return env.Null();
    waker_.track(env, -static_cast<int64_t>(items.size()));
    return cep::napi::completion_triples(env, items);
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    const bool ok = executor_ && info[0].IsNumber() && executor_->cancel(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
    return Napi::Boolean::New(info.Env(), ok);
  }

  // Cancels queued jobs, waits for running ones; their completions stay drainable.
  void Close(const Napi::CallbackInfo&) {
    if (closed_) return;
    closed_ = true;
    executor_->close();
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), executor_ ? executor_->threads() : 0);
  }

  std::unique_ptr<cep::executor::Executor> executor_;
  cep::napi::Waker waker_;
  bool closed_ = false;
  bool hooked_ = false;
};

}  // namespace

void register_executor(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeExecutor", NativeExecutor::Define(env));
}
