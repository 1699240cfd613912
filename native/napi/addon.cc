// The N-API seam: one function per binding member of src/native/binding.ts. Arguments were
// validated by the TypeScript layer; these checks only keep a direct caller from crashing
// the process, and throw the same coded errors.
#include <napi.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>

#include "../common/cpu.h"
#include "../hash/blake3.h"
#include "../hash/crc32c.h"
#include "coded_error.h"
#include "flat.h"

// Async I/O (native/napi/reactor.cc, executor.cc).
void register_reactor(Napi::Env env, Napi::Object exports);
void register_executor(Napi::Env env, Napi::Object exports);

namespace {

using cep::napi::element_size;
using cep::napi::throw_coded;

struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

// A typed array's bytes (any element type), or false after throwing ERR_INVALID_ARG_TYPE.
// One napi_get_typedarray_info call: it fails (without throwing) on anything else.
bool bytes_of(Napi::Env env, napi_value value, Bytes& out, const char* what) {
  napi_typedarray_type type;
  size_t count;
  void* data;
  if (napi_get_typedarray_info(env, value, &type, &count, &data, nullptr, nullptr) != napi_ok) {
    throw_coded(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  out.data = static_cast<uint8_t*>(data);
  out.length = count * element_size(type);
  return true;
}

bool u32_array(Napi::Env env, Napi::Value value, uint32_t*& data, size_t& count, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw_coded(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  Napi::Uint32Array array = value.As<Napi::Uint32Array>();
  data = array.Data();
  count = array.ElementLength();
  return true;
}

// Offsets/lengths describing `slices` slices of a buffer of `size` bytes, checked for bounds.
bool slices_of(Napi::Env env, const Napi::CallbackInfo& info, size_t size, size_t slices, uint32_t*& offsets,
               uint32_t*& lengths) {
  size_t n_offsets = 0, n_lengths = 0;
  if (!u32_array(env, info[1], offsets, n_offsets, "offsets must be a Uint32Array")) return false;
  lengths = nullptr;
  if (!info[2].IsNull() && !info[2].IsUndefined() &&
      !u32_array(env, info[2], lengths, n_lengths, "lengths must be a Uint32Array or null"))
    return false;
  const bool counts_ok =
      slices == 0 || (lengths ? (n_offsets >= slices && n_lengths >= slices) : n_offsets >= slices + 1);
  if (!counts_ok) {
    throw_coded(env, "ERR_OUT_OF_RANGE", "not enough offsets/lengths for the output");
    return false;
  }
  for (size_t i = 0; i < slices; i++) {
    const uint64_t start = offsets[i];
    const uint64_t end = lengths ? start + lengths[i] : offsets[i + 1];
    if (end < start || end > size) {
      throw_coded(env, "ERR_OUT_OF_RANGE", "slice out of bounds");
      return false;
    }
  }
  return true;
}

const uint8_t* key_of(Napi::Env env, Napi::Value value, bool& ok) {
  ok = true;
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  Bytes key;
  if (!bytes_of(env, value, key, "key must be a Uint8Array or null")) {
    ok = false;
    return nullptr;
  }
  if (key.length != cep::blake3::kKeyLen) {
    throw_coded(env, "ERR_OUT_OF_RANGE", "key must be 32 bytes");
    ok = false;
  }
  return key.data;
}

// The small-input hot path, on plain N-API: node-addon-api's CallbackInfo wrapper costs a
// measurable share of a 64-byte call.
napi_value Crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Bytes data;
  if (argc < 1 || !bytes_of(env, argv[0], data, "data must be a Uint8Array")) return nullptr;
  uint32_t crc = 0;
  if (argc > 1) napi_get_value_uint32(env, argv[1], &crc);
  napi_value result;
  napi_create_uint32(env, cep::crc32c::extend(crc, data.data, data.length), &result);
  return result;
}

void Crc32cMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes data;
  uint32_t *out = nullptr, *offsets = nullptr, *lengths = nullptr;
  size_t count = 0;
  if (!bytes_of(env, info[0], data, "data must be a Uint8Array") ||
      !u32_array(env, info[3], out, count, "out must be a Uint32Array") ||
      !slices_of(env, info, data.length, count, offsets, lengths))
    return;
  const uint32_t seed = info[4].IsNumber() ? info[4].As<Napi::Number>().Uint32Value() : 0;
  cep::crc32c::many(data.data, offsets, lengths, count, seed, out);
}

uint64_t seek_of(Napi::Value value) {
  if (!value.IsNumber()) return 0;
  const double seek = value.As<Napi::Number>().DoubleValue();
  return seek > 0 ? static_cast<uint64_t>(seek) : 0;
}

// Small inputs are common (Merkle parents, 64-byte records): plain N-API here too.
napi_value Blake3(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Bytes data, out;
  bool key_ok;
  if (!bytes_of(env, argv[0], data, "data must be a Uint8Array")) return nullptr;
  const uint8_t* key = key_of(env, Napi::Value(env, argv[1]), key_ok);
  if (!key_ok || !bytes_of(env, argv[3], out, "out must be a Uint8Array")) return nullptr;
  uint32_t flags = 0;
  napi_get_value_uint32(env, argv[2], &flags);
  double seek = 0;
  napi_get_value_double(env, argv[4], &seek);
  cep::blake3::hash(data.data, data.length, key, static_cast<uint8_t>(flags), seek > 0 ? static_cast<uint64_t>(seek) : 0,
                    out.data, out.length);
  return nullptr;
}

void Blake3Many(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes data, out;
  uint32_t *offsets = nullptr, *lengths = nullptr;
  if (!bytes_of(env, info[0], data, "data must be a Uint8Array") ||
      !bytes_of(env, info[3], out, "out must be a Uint8Array"))
    return;
  const size_t count = out.length / cep::blake3::kOutLen;
  if (!slices_of(env, info, data.length, count, offsets, lengths)) return;
  cep::blake3::hash_many_slices(data.data, offsets, lengths, count, out.data);
}

// An incremental BLAKE3 state owned by a JS object.
class Blake3Hasher : public Napi::ObjectWrap<Blake3Hasher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Blake3State",
                       {InstanceMethod<&Blake3Hasher::Update>("update"),
                        InstanceMethod<&Blake3Hasher::Finalize>("finalize"),
                        InstanceMethod<&Blake3Hasher::Reset>("reset")});
  }

  explicit Blake3Hasher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Blake3Hasher>(info) {
    bool key_ok;
    const uint8_t* key = key_of(info.Env(), info[0], key_ok);
    const uint8_t flags = info[1].IsNumber() ? static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value()) : 0;
    cep::blake3::hasher_init(&state_, key_ok ? key : nullptr, flags);
  }

 private:
  void Update(const Napi::CallbackInfo& info) {
    Bytes data;
    if (bytes_of(info.Env(), info[0], data, "data must be a Uint8Array"))
      cep::blake3::hasher_update(&state_, data.data, data.length);
  }
  void Finalize(const Napi::CallbackInfo& info) {
    Bytes out;
    if (bytes_of(info.Env(), info[0], out, "out must be a Uint8Array"))
      cep::blake3::hasher_finalize(&state_, seek_of(info[1]), out.data, out.length);
  }
  void Reset(const Napi::CallbackInfo&) { cep::blake3::hasher_reset(&state_); }

  cep::blake3::Hasher state_;
};

struct InstanceData {
  Napi::FunctionReference hasher;
};

Napi::Value NewBlake3Hasher(const Napi::CallbackInfo& info) {
  InstanceData* data = info.Env().GetInstanceData<InstanceData>();
  return data->hasher.New({info[0], info[1]});
}

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  const auto names = cep::cpu::active_names();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Value SetCpuTier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    throw_coded(env, "ERR_INVALID_ARG_TYPE", "tier must be a string");
    return env.Undefined();
  }
  const char* tier = cep::cpu::set_tier(info[0].As<Napi::String>().Utf8Value());
  if (!tier) {
    throw_coded(env, "ERR_INVALID_ARG_VALUE", "unknown CPU tier (portable, sse4.2, avx2, avx512, auto)");
    return env.Undefined();
  }
  return Napi::String::New(env, tier);
}

// CPU time the calling thread has run, in milliseconds (episode CPU budgets: a slice is charged
// for its own thread's work, not for the time it waited for a core).
Napi::Value ThreadCpuMs(const Napi::CallbackInfo& info) {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return Napi::Number::New(info.Env(), -1);
  return Napi::Number::New(info.Env(), static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6);
}

// The store lock (src/persistence/flatfile/lock.ts): opens `path` (created if missing, never
// inherited by children) and takes flock(LOCK_EX|LOCK_NB) on it. The kernel drops the lock when
// the last descriptor closes, so a killed owner cannot leave it held. Returns the descriptor,
// or -1 when another open file description holds the lock (this process or another).
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    throw_coded(env, "ERR_INVALID_ARG_TYPE", "path must be a string");
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd;
  do fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    throw_coded(env, "ERR_STORE_IO", "cannot open the lock file " + path + ": " + std::strerror(errno));
    return env.Undefined();
  }
  int rc;
  do rc = flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Napi::Number::New(env, -1);
    throw_coded(env, "ERR_STORE_IO", "cannot lock " + path + ": " + std::strerror(err));
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new InstanceData();
  data->hasher = Napi::Persistent(Blake3Hasher::Define(env));
  env.SetInstanceData(data);
  napi_value crc;
  napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, Crc32c, nullptr, &crc);
  exports.Set("crc32c", crc);
  exports.Set("crc32cMany", Napi::Function::New<Crc32cMany>(env, "crc32cMany"));
  napi_value blake3;
  napi_create_function(env, "blake3", NAPI_AUTO_LENGTH, Blake3, nullptr, &blake3);
  exports.Set("blake3", blake3);
  exports.Set("blake3Many", Napi::Function::New<Blake3Many>(env, "blake3Many"));
  exports.Set("blake3Hasher", Napi::Function::New<NewBlake3Hasher>(env, "blake3Hasher"));
  exports.Set("cpuFeatures", Napi::Function::New<CpuFeatures>(env, "cpuFeatures"));
  exports.Set("setCpuTier", Napi::Function::New<SetCpuTier>(env, "setCpuTier"));
  exports.Set("threadCpuMs", Napi::Function::New<ThreadCpuMs>(env, "threadCpuMs"));
  exports.Set("lockFile", Napi::Function::New<LockFile>(env, "lockFile"));
  register_flat(env, exports);
  register_reactor(env, exports);
  register_executor(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(cep, Init)
