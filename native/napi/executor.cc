// N-API seam of the native executor (native/executor/): a NativeExecutor class taking batches
// of job descriptors and returning batches of (ticket, result, status) completions, with the
// output bytes of deflate/inflate jobs.
#include "../executor/executor.h"
#include "async_common.h"

namespace {

using cep::napi::throw_coded;

constexpr size_t kJobWidth = 6;  // kind, seq, cpu budget (ns), byte budget, param, most output bytes

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

  // submit(desc: Float64Array, count, inputs, outs, aux: (Uint8Array | undefined)[])
  void Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      throw_coded(env, "ERR_EXECUTOR_CLOSED", "the executor is closed");
      return;
    }
    if (!info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsArray() || !info[3].IsArray() || !info[4].IsArray()) {
      throw_coded(env, "ERR_INVALID_ARG_TYPE", "submit(desc, count, inputs, outs, aux)");
      return;
    }
    Napi::Float64Array desc = info[0].As<Napi::Float64Array>();
    const size_t count = info[1].As<Napi::Number>().Uint32Value();
    if (count * kJobWidth > desc.ElementLength()) {
      throw_coded(env, "ERR_OUT_OF_RANGE", "count exceeds the descriptor array");
      return;
    }
    Napi::Array inputs = info[2].As<Napi::Array>(), outs = info[3].As<Napi::Array>(), aux = info[4].As<Napi::Array>();
    const double* d = desc.Data();
    waker_.track(env, static_cast<int64_t>(count));
    for (size_t i = 0; i < count; i++, d += kJobWidth) {
      auto job = std::make_unique<cep::executor::Job>();
      job->kind = static_cast<int>(d[0]);
      job->seq = static_cast<uint64_t>(d[1]);
      job->cpu_budget_ns = static_cast<uint64_t>(d[2]);
      job->byte_budget = static_cast<uint64_t>(d[3]);
      job->param = static_cast<int>(d[4]);
      job->max_out = static_cast<uint64_t>(d[5]);
      const uint32_t k = static_cast<uint32_t>(i);
      bytes_of(inputs.Get(k), job->input, job->length);
      uint8_t* out = nullptr;
      bytes_of(outs.Get(k), out, job->out_length);
      job->out = out;
      bytes_of(aux.Get(k), job->aux, job->aux_length);
      if (job->kind == cep::executor::JOB_BLAKE3 && job->out_length < 32) job->kind = -1;  // reported as ST_INVALID
      executor_->submit(std::move(job));
    }
  }

  // The bytes of a typed array (left as they are for anything else); the JS side keeps the
  // array alive until the job's result is released.
  template <typename T>
  static void bytes_of(Napi::Value v, T*& data, size_t& length) {
    if (!v.IsTypedArray()) return;
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    length = t.ByteLength();
  }

  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!executor_) return env.Null();
    std::vector<cep::Completion> items = executor_->sink().take();
    if (items.empty()) return env.Null();
    waker_.track(env, -static_cast<int64_t>(items.size()));
    return cep::napi::completion_batch(env, items);
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
