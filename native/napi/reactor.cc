// N-API seam of the reactor (native/reactor/): a NativeReactor class taking batches of op
// descriptors and returning batches of completions. Arguments were validated in
// src/async/; the checks here only keep a direct caller from crashing the process.
#include <cstring>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "../reactor/reactor.h"
#include "async_common.h"

namespace {

using cep::napi::element_size;
using cep::napi::throw_coded;
using cep::reactor::Op;

constexpr size_t kDescWidth = 6;  // code, seq, fd, offset, arg, arg2

class NativeReactor : public Napi::ObjectWrap<NativeReactor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeReactor",
                       {InstanceMethod<&NativeReactor::Submit>("submit"), InstanceMethod<&NativeReactor::Drain>("drain"),
                        InstanceMethod<&NativeReactor::Fault>("fault"), InstanceMethod<&NativeReactor::Close>("close"),
                        InstanceMethod<&NativeReactor::Port>("port"), InstanceMethod<&NativeReactor::Name>("name"),
                        InstanceMethod<&NativeReactor::Stats>("stats")});
  }

  explicit NativeReactor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeReactor>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsFunction()) {
      throw_coded(env, "ERR_INVALID_ARG_TYPE", "NativeReactor(kind, depth, wake)");
      return;
    }
    const std::string kind = info[0].As<Napi::String>().Utf8Value();
    const unsigned depth = info[1].As<Napi::Number>().Uint32Value();
    inline_ = !info[3].IsBoolean() || info[3].As<Napi::Boolean>().Value();  // frame ops on the JS thread when they can
    waker_.init(env, info[2].As<Napi::Function>(), "cep-reactor");
    std::string why;
    reactor_ = cep::reactor::create(kind == "uring" ? cep::reactor::Kind::Uring : cep::reactor::Kind::Epoll,
                                    depth ? depth : 256, [this] { waker_.wake(); }, why);
    if (!reactor_) {
      waker_.release();
      throw_coded(env, "ERR_REACTOR_UNAVAILABLE", kind + " reactor unavailable: " + why);
      return;
    }
    napi_add_env_cleanup_hook(env, Cleanup, this);
    hooked_ = true;
  }

  ~NativeReactor() override {
    if (hooked_) napi_remove_env_cleanup_hook(Env(), Cleanup, this);
    shutdown();
  }

 private:
  static void Cleanup(void* self) {
    auto* r = static_cast<NativeReactor*>(self);
    r->hooked_ = false;
    r->shutdown();
  }

  void shutdown() {
    if (reactor_) reactor_->close();
    waker_.release();
  }

  // submit(desc: Float64Array, count, objects: unknown[]) -> the batch of ops that finished
  // inline (drain()'s format), or null
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!reactor_ || closed_) {
      throw_coded(env, "ERR_REACTOR_CLOSED", "the reactor is closed");
      return env.Null();
    }
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        !info[1].IsNumber() || !info[2].IsArray()) {
      throw_coded(env, "ERR_INVALID_ARG_TYPE", "submit(desc: Float64Array, count, objects: Array)");
      return env.Null();
    }
    Napi::Float64Array desc = info[0].As<Napi::Float64Array>();
    const size_t count = info[1].As<Napi::Number>().Uint32Value();
    Napi::Array objects = info[2].As<Napi::Array>();
    if (count * kDescWidth > desc.ElementLength()) {
      throw_coded(env, "ERR_OUT_OF_RANGE", "count exceeds the descriptor array");
      return env.Null();
    }
    std::vector<Op*> ops;
    ops.reserve(count);
    const double* d = desc.Data();
    for (size_t i = 0; i < count; i++, d += kDescWidth) {
      Op* op = new Op();
      op->code = static_cast<int>(d[0]);
      op->seq = static_cast<uint64_t>(d[1]);
      op->fd = static_cast<int>(d[2]);
      op->offset = static_cast<int64_t>(d[3]);
      op->arg = static_cast<int>(d[4]);
      op->arg2 = static_cast<int>(d[5]);
      if (op->code == cep::reactor::OP_SEND_FRAME) op->iov.reserve(2);  // the body, and the header begin() puts first
      if (needs_object(op->code)) attach(env, op, objects.Get(static_cast<uint32_t>(i)));
      ops.push_back(op);
    }
    std::vector<cep::Completion> here;
    if (inline_) here.reserve(count);
    reactor_->submit(ops, inline_ ? &here : nullptr);
    waker_.track(env, static_cast<int64_t>(count - here.size()));  // only what the reactor thread holds
    if (here.empty()) return env.Null();
    return cep::napi::completion_batch(env, here);
  }

  // { handoffs (eventfd writes to the reactor thread), wakes (of the event loop), inline (ops
  // finished on the JS thread) } so far.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("handoffs", static_cast<double>(reactor_ ? reactor_->handoffs() : 0));
    out.Set("wakes", static_cast<double>(waker_.wakes()));
    out.Set("inline", static_cast<double>(reactor_ ? reactor_->inline_done() : 0));
    return out;
  }

  static bool needs_object(int code) {
    using namespace cep::reactor;
    return code == OP_OPEN || code == OP_READ || code == OP_WRITE || code == OP_WRITE_SYNC || code == OP_LISTEN ||
           code == OP_CONNECT || code == OP_SEND_FRAME;
  }

  // Buffers (one or an array, for vectored writes) or the path / host text of an op.
  static void attach(Napi::Env env, Op* op, Napi::Value v) {
    if (v.IsString()) {
      op->path = v.As<Napi::String>().Utf8Value();
    } else if (v.IsTypedArray()) {
      push_view(env, op, v);
    } else if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); j++) {
        Napi::Value e = a.Get(j);
        if (e.IsTypedArray()) push_view(env, op, e);
      }
    }
  }

  // One call for the bytes of a typed array (its data pointer already includes the offset).
  static void push_view(Napi::Env env, Op* op, Napi::Value v) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) return;
    op->iov.push_back(iovec{data, length * element_size(type)});
  }

  // drain() -> null | [Float64Array triples, frames: (Buffer | undefined)[] | undefined]
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!reactor_) return env.Null();
    std::vector<cep::Completion> items = reactor_->take();
    if (items.empty()) return env.Null();
    waker_.track(env, -static_cast<int64_t>(items.size()));
    return cep::napi::completion_batch(env, items);
  }

  void Fault(const Napi::CallbackInfo& info) {
    if (reactor_)
      reactor_->inject_fault(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                             info[2].As<Napi::Number>().Int32Value());
  }

  // Blocks until every op in flight finished (peer waits are cancelled); completions remain
  // drainable afterwards.
  void Close(const Napi::CallbackInfo&) {
    if (closed_ || !reactor_) return;
    closed_ = true;
    reactor_->close();
  }

  // The local port of a bound socket (0 for unix sockets), or -errno.
  Napi::Value Port(const Napi::CallbackInfo& info) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = info[0].As<Napi::Number>().Int32Value();
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Napi::Number::New(info.Env(), -errno);
    int port = 0;
    if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return Napi::Number::New(info.Env(), port);
  }

  Napi::Value Name(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), reactor_ ? reactor_->name() : "closed");
  }

  std::unique_ptr<cep::reactor::Reactor> reactor_;
  cep::napi::Waker waker_;
  bool closed_ = false;
  bool hooked_ = false;
  bool inline_ = true;
};

// [{ name, available, reason }] for the native backends.
Napi::Value ReactorProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 2);
  std::string why;
  const bool uring = cep::reactor::uring_available(why);
  Napi::Object u = Napi::Object::New(env);
  u.Set("name", "uring");
  u.Set("available", uring);
  u.Set("reason", uring ? std::string("io_uring_setup succeeded") : why);
  Napi::Object e = Napi::Object::New(env);
  e.Set("name", "epoll");
  e.Set("available", true);
  e.Set("reason", "epoll is always present on Linux");
  out.Set(0u, u);
  out.Set(1u, e);
  return out;
}

}  // namespace

void register_reactor(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeReactor", NativeReactor::Define(env));
  exports.Set("reactorProbe", Napi::Function::New<ReactorProbe>(env, "reactorProbe"));
}
