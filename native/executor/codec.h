// Codec jobs of the executor: deflate/inflate (zlib, raw and gzip framing) and AEAD seal/open
// (ChaCha20-Poly1305 IETF, XChaCha20-Poly1305). Inside the addon they call the zlib and
// OpenSSL that Node itself exports to addons, so deflate output is byte-identical to
// node:zlib on the same machine; the CMake build links the system's zlib and libcrypto when
// it finds them (CEP_HAVE_CODECS), and leaves these jobs out (status invalid) when not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "../common/completion.h"

namespace cep::executor {

struct Job;

// Called between slices of work with the input bytes consumed so far; returns 0 to go on,
// or the status that stops the job (cancelled, cpu-budget).
using SliceCheck = std::function<uint32_t(size_t done)>;

// Deflate framings (job param bits 4..5); the level (-1 .. 9) is param bits 0..3 plus one.
enum DeflateFormat : int { FMT_ZLIB = 0, FMT_RAW = 1, FMT_GZIP = 2 };
// AEAD ciphers (job param).
enum AeadCipher : int { AEAD_CHACHA20 = 0, AEAD_XCHACHA20 = 1 };

constexpr size_t kAeadKeyBytes = 32;
constexpr size_t kAeadTagBytes = 16;
constexpr size_t kZlibWindow = 16 * 1024;  // node:zlib's default chunk: output grows by this much per call

bool codecs_available();

// Each fills c (status in flags, value in result, output in data/length for deflate/inflate;
// AEAD writes into job.out). A failed inflate or open gives ST_FAILED and, for inflate, the
// zlib error code as the value.
void run_deflate(Job& job, const SliceCheck& check, Completion& c);
void run_inflate(Job& job, const SliceCheck& check, Completion& c);
void run_aead(Job& job, bool seal, const SliceCheck& check, Completion& c);

// HChaCha20 (the XChaCha20 subkey derivation): 32-byte key, 16-byte nonce -> 32-byte subkey.
void hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]);

}  // namespace cep::executor
