// What every N-API seam of the addon shares: coded errors and typed-array element sizes.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstring>
#include <string>

namespace cep::napi {

// Throws an error with a stable `code`, of the class Node uses for that code: TypeError for
// invalid arguments, RangeError for out-of-range values, Error otherwise.
inline void throw_coded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = std::strncmp(code, "ERR_INVALID_ARG_", 16) == 0 ? Napi::Error(Napi::TypeError::New(env, message))
                      : std::strcmp(code, "ERR_OUT_OF_RANGE") == 0    ? Napi::Error(Napi::RangeError::New(env, message))
                                                                      : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

// Bytes per element of a typed array type.
inline size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:  // int8, uint8, uint8 clamped
      return 1;
  }
}

}  // namespace cep::napi
