// Registration of the flat frame N-API functions (native/napi/flat.cc).
#pragma once

#include <napi.h>

void register_flat(Napi::Env env, Napi::Object exports);
