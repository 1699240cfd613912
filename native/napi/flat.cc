// N-API functions of the flat frame binding (src/native/binding.ts, FlatBinding): one call
// finishes a staged frame, one call validates a whole frame and returns its record index.
#include "flat.h"

#include <cstring>
#include <vector>

#include "../flat/flat.h"
#include "coded_error.h"

namespace {

void throw_type(Napi::Env env, const char* message) { cep::napi::throw_coded(env, "ERR_INVALID_ARG_TYPE", message); }

// A typed array of exactly the wanted element type (its data and element count), or false
// after throwing ERR_INVALID_ARG_TYPE.
template <typename T>
bool typed_of(Napi::Env env, Napi::Value value, napi_typedarray_type want, T*& data, size_t& count, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != want) {
    throw_type(env, what);
    return false;
  }
  Napi::TypedArrayOf<T> array = value.As<Napi::TypedArrayOf<T>>();
  data = array.Data();
  count = array.ElementLength();
  return true;
}

Napi::Value FlatFinish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *buf, *prev;
  size_t cap, prev_len, n_params;
  double* params;
  if (!typed_of(env, info[0], napi_uint8_array, buf, cap, "buf must be a Uint8Array") ||
      !typed_of(env, info[2], napi_float64_array, params, n_params, "params must be a Float64Array") ||
      !typed_of(env, info[3], napi_uint8_array, prev, prev_len, "prevRoot must be a Uint8Array"))
    return env.Undefined();
  if (!info[1].IsNumber() || n_params < 7 || prev_len < 32) {
    throw_type(env, "end must be a number, params 7 numbers, prevRoot 32 bytes");
    return env.Undefined();
  }
  const double end = info[1].As<Napi::Number>().DoubleValue();
  if (!(end >= 0) || end > static_cast<double>(cap)) return Napi::Number::New(env, -cep::flat::MALFORMED);
  cep::flat::FinishParams p;
  p.beat = static_cast<uint64_t>(params[0]);
  p.mode = static_cast<uint8_t>(params[1]);
  p.caps = static_cast<uint32_t>(params[2]);
  p.aead = static_cast<uint8_t>(params[3]);
  p.compression = static_cast<uint8_t>(params[4]);
  p.payload_history = static_cast<uint64_t>(params[5]);
  p.manifest_history = static_cast<uint64_t>(params[6]);
  p.prev_root = prev;
  return Napi::Number::New(env, static_cast<double>(cep::flat::finish(buf, static_cast<size_t>(end), cap, p)));
}

Napi::Value FlatValidate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* frame;
  size_t len, n_diag;
  double* diag;
  if (!typed_of(env, info[0], napi_uint8_array, frame, len, "frame must be a Uint8Array") ||
      !typed_of(env, info[1], napi_float64_array, diag, n_diag, "diag must be a Float64Array"))
    return env.Undefined();
  if (n_diag < 2) {
    throw_type(env, "diag must hold 2 numbers");
    return env.Undefined();
  }
  thread_local std::vector<uint32_t> index;  // reused: its pages stay mapped between frames
  size_t offset = 0;
  const cep::flat::Status status = cep::flat::validate(frame, len, index, &offset);
  diag[0] = status;
  diag[1] = static_cast<double>(offset);
  if (status != cep::flat::OK) return env.Null();
  Napi::Uint32Array out = Napi::Uint32Array::New(env, index.size());
  if (!index.empty()) std::memcpy(out.Data(), index.data(), index.size() * sizeof(uint32_t));
  return out;
}

}  // namespace

void register_flat(Napi::Env env, Napi::Object exports) {
  exports.Set("flatFinish", Napi::Function::New<FlatFinish>(env, "flatFinish"));
  exports.Set("flatValidate", Napi::Function::New<FlatValidate>(env, "flatValidate"));
}
