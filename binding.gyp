{
  'includes': ['native/common.gypi'],
  'targets': [
    {
      # Instruction-set-specific kernels. Each static library is compiled with the flags of
      # one tier only; the dispatcher in the core calls into them after checking the CPU.
      'target_name': 'cep_isa_sse42',
      'type': 'static_library',
      'sources': ['native/hash/crc32c_sse42.cc', 'native/hash/blake3_sse41.cc'],
      'conditions': [['target_arch=="x64"', { 'cflags': ['-msse4.2', '-mpclmul'] }]],
    },
    {
      'target_name': 'cep_isa_avx2',
      'type': 'static_library',
      'sources': ['native/hash/blake3_avx2.cc'],
      'conditions': [['target_arch=="x64"', { 'cflags': ['-mavx2'] }]],
    },
    {
      'target_name': 'cep_isa_avx512',
      'type': 'static_library',
      'sources': ['native/hash/crc32c_avx512.cc', 'native/hash/blake3_avx512.cc'],
      'conditions': [['target_arch=="x64"', {
        'cflags': ['-mavx512f', '-mavx512vl', '-mavx512bw', '-mvpclmulqdq', '-mpclmul', '-msse4.2',
                   # GCC 12's own AVX-512 headers trip these on _mm512_undefined_*.
                   '-Wno-uninitialized', '-Wno-maybe-uninitialized'],
      }]],
    },
    {
      'target_name': 'cep_isa_arm64',
      'type': 'static_library',
      'sources': ['native/hash/crc32c_arm64.cc', 'native/hash/blake3_neon.cc'],
      'conditions': [['target_arch=="arm64"', { 'cflags': ['-march=armv8-a+crc'] }]],
    },
    {
      'target_name': 'cep',
      'sources': [
        'native/common/cpu.cc',
        'native/hash/crc32c.cc',
        'native/hash/blake3.cc',
        'native/flat/flat.cc',
        'native/napi/addon.cc',
        'native/napi/flat.cc',
        # async I/O: reactor backends, thread pools, their N-API seams
        'native/reactor/op.cc',
        'native/reactor/reactor.cc',
        'native/reactor/inline.cc',
        'native/reactor/uring.cc',
        'native/reactor/epoll.cc',
        'native/executor/thread_pool.cc',
        'native/executor/executor.cc',
        # deflate and AEAD jobs: zlib and OpenSSL come from the node binary itself (Node
        # exports both to addons and ships their headers), so nothing is linked here
        'native/executor/codec.cc',
        'native/napi/reactor.cc',
        'native/napi/executor.cc',
      ],
      'defines': ['CEP_HAVE_CODECS=1'],
      'libraries': ['-lpthread'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'dependencies': ['cep_isa_sse42', 'cep_isa_avx2', 'cep_isa_avx512', 'cep_isa_arm64'],
    },
  ],
}
