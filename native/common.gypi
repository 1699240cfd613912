# Settings shared by every target of binding.gyp: pinned N-API version, -O3, no exceptions,
# hidden symbols, asserts only in Debug. Never -march=native: SIMD code lives in per-ISA
# targets whose flags name one instruction set each, chosen at run time (native/common/cpu.cc).
{
  'target_defaults': {
    'defines': ['NAPI_VERSION=8', 'NAPI_DISABLE_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
    'cflags!': ['-fno-omit-frame-pointer', '-O2', '-O0', '-Os'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=c++17'],
    'cflags': ['-O3', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers'],
    'cflags_cc': ['-std=c++20', '-fno-exceptions', '-fvisibility-inlines-hidden', '-fno-rtti'],
    'xcode_settings': {
      'GCC_OPTIMIZATION_LEVEL': '3',
      'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++20',
      'GCC_ENABLE_CPP_EXCEPTIONS': 'NO',
    },
    'configurations': {
      'Release': { 'defines': ['NDEBUG'] },
      'Debug': { 'defines!': ['NDEBUG'] },
    },
  },
}
