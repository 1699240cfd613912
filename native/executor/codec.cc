#include "codec.h"

#include <cstring>
#include <vector>

#include "executor.h"

#if CEP_HAVE_CODECS
#include <openssl/evp.h>
#include <zlib.h>
#endif

namespace cep::executor {
namespace {

inline uint32_t load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v), p[1] = static_cast<uint8_t>(v >> 8), p[2] = static_cast<uint8_t>(v >> 16),
  p[3] = static_cast<uint8_t>(v >> 24);
}
inline uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }
inline void quarter(uint32_t* x, int a, int b, int c, int d) {
  x[a] += x[b], x[d] = rotl(x[d] ^ x[a], 16);
  x[c] += x[d], x[b] = rotl(x[b] ^ x[c], 12);
  x[a] += x[b], x[d] = rotl(x[d] ^ x[a], 8);
  x[c] += x[d], x[b] = rotl(x[b] ^ x[c], 7);
}

}  // namespace

void hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]) {
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) x[4 + i] = load32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = load32(nonce + 4 * i);
  for (int round = 0; round < 10; round++) {
    quarter(x, 0, 4, 8, 12), quarter(x, 1, 5, 9, 13), quarter(x, 2, 6, 10, 14), quarter(x, 3, 7, 11, 15);
    quarter(x, 0, 5, 10, 15), quarter(x, 1, 6, 11, 12), quarter(x, 2, 7, 8, 13), quarter(x, 3, 4, 9, 14);
  }
  for (int i = 0; i < 4; i++) store32(out + 4 * i, x[i]);
  for (int i = 0; i < 4; i++) store32(out + 16 + 4 * i, x[12 + i]);
}

#if CEP_HAVE_CODECS

bool codecs_available() { return true; }

namespace {

int window_bits(int format) { return format == FMT_RAW ? -15 : format == FMT_GZIP ? 31 : 15; }

// The output of a zlib job, grown by one window per deflate()/inflate() call.
struct WindowedOutput {
  std::vector<uint8_t> bytes;
  size_t have = 0;

  void open(z_stream& z) {
    bytes.resize(have + kZlibWindow);
    z.next_out = bytes.data() + have;
    z.avail_out = kZlibWindow;
  }
  void close(const z_stream& z) { have += kZlibWindow - z.avail_out; }
  // Moves what was produced into the completion.
  void hand_over(Completion& c) const {
    c.length = static_cast<uint32_t>(have);
    c.data = std::make_unique<uint8_t[]>(have ? have : 1);
    if (have) std::memcpy(c.data.get(), bytes.data(), have);
    c.result = static_cast<int64_t>(have);
    c.flags = ST_OK;
  }
};

void feed(z_stream& z, const Job& job) {
  z.next_in = const_cast<Bytef*>(job.input);
  z.avail_in = static_cast<uInt>(job.length);
}

// Between windows: true (with c set) when a cancel or a spent CPU budget stops the job.
bool stopped(const Job& job, const SliceCheck& check, const z_stream& z, Completion& c) {
  const size_t done = job.length - z.avail_in;
  const uint32_t stop = check(done);
  if (stop == ST_OK) return false;
  c.flags = stop;
  c.result = static_cast<int64_t>(done);
  return true;
}

}  // namespace

// Feeds the whole input with Z_FINISH and lets the output grow one 16 KiB window per call,
// exactly as node:zlib's deflateSync does: stored blocks (level 0) are sized by the output
// space, so the same windows are what make the bytes identical.
void run_deflate(Job& job, const SliceCheck& check, Completion& c) {
  const int level = (job.param & 15) - 1, format = (job.param >> 4) & 3;
  if (level < -1 || level > 9 || format > FMT_GZIP || job.length > UINT32_MAX) {
    c.flags = ST_INVALID;
    return;
  }
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, window_bits(format), 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    c.flags = ST_INVALID;
    return;
  }
  WindowedOutput out;
  feed(z, job);
  for (;;) {
    if (out.have > 0 && stopped(job, check, z, c)) {
      deflateEnd(&z);
      return;
    }
    out.open(z);
    const int ret = deflate(&z, Z_FINISH);
    out.close(z);
    if (ret == Z_STREAM_END || z.avail_out != 0) break;
  }
  deflateEnd(&z);
  out.hand_over(c);
}

// Inflates in 16 KiB output windows; a gzip input holding more members after the first goes
// on with the next one (a non-zero byte after a member starts one), as node:zlib's gunzip does.
void run_inflate(Job& job, const SliceCheck& check, Completion& c) {
  const int format = (job.param >> 4) & 3;
  z_stream z{};
  if (format > FMT_GZIP || job.length > UINT32_MAX || inflateInit2(&z, window_bits(format)) != Z_OK) {
    c.flags = ST_INVALID;
    return;
  }
  WindowedOutput out;
  feed(z, job);
  for (;;) {
    if (job.max_out && out.have > job.max_out) {
      c.flags = ST_BYTE_BUDGET;
      break;
    }
    if (out.have > 0 && stopped(job, check, z, c)) break;
    out.open(z);
    int ret = inflate(&z, Z_FINISH);
    while (z.avail_in > 0 && format == FMT_GZIP && ret == Z_STREAM_END && z.next_in[0] != 0) {
      inflateReset(&z);
      ret = inflate(&z, Z_FINISH);
    }
    out.close(z);
    if (ret == Z_STREAM_END) {
      if (job.max_out && out.have > job.max_out) c.flags = ST_BYTE_BUDGET;
      else out.hand_over(c);
      break;
    }
    if ((ret == Z_OK || ret == Z_BUF_ERROR) && z.avail_out == 0) continue;  // out of room only
    c.flags = ST_FAILED;  // corrupt, truncated or wanting a dictionary: the zlib error code
    c.result = ret == Z_OK ? Z_BUF_ERROR : ret;
    break;
  }
  inflateEnd(&z);
}

// seal: out = ciphertext || 16-byte tag; open: input = ciphertext || tag, out = plaintext.
// XChaCha20 derives a subkey with HChaCha20 from the first 16 nonce bytes and runs the IETF
// construction with nonce 0^4 || the last 8 bytes (libsodium's construction).
void run_aead(Job& job, bool seal, const SliceCheck& check, Completion& c) {
  const bool x = job.param == AEAD_XCHACHA20;
  const size_t nonce_bytes = x ? 24 : 12;
  if ((job.param != AEAD_CHACHA20 && !x) || job.aux_length < kAeadKeyBytes + nonce_bytes) {
    c.flags = ST_INVALID;
    return;
  }
  if (!seal && job.length < kAeadTagBytes) {
    c.flags = ST_FAILED;
    return;
  }
  const size_t body = seal ? job.length : job.length - kAeadTagBytes;
  if (job.out_length < (seal ? body + kAeadTagBytes : body) || (!job.out && body > 0)) {
    c.flags = ST_INVALID;
    return;
  }
  const uint8_t* key = job.aux;
  const uint8_t* nonce = job.aux + kAeadKeyBytes;
  const uint8_t* ad = nonce + nonce_bytes;
  const int ad_length = static_cast<int>(job.aux_length - kAeadKeyBytes - nonce_bytes);
  uint8_t subkey[32], iv[12];
  if (x) {
    hchacha20(key, nonce, subkey);
    std::memset(iv, 0, 4);
    std::memcpy(iv + 4, nonce + 16, 8);
    key = subkey;
  } else {
    std::memcpy(iv, nonce, 12);
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok = ctx && (seal ? EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, iv)
                         : EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, iv)) == 1;
  if (ok && ad_length > 0) ok = (seal ? EVP_EncryptUpdate(ctx, nullptr, &n, ad, ad_length) : EVP_DecryptUpdate(ctx, nullptr, &n, ad, ad_length)) == 1;
  if (ok && !seal)
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kAeadTagBytes, const_cast<uint8_t*>(job.input + body)) == 1;
  uint32_t stop = 0;
  for (size_t at = 0; ok && at < body; at += kChunk) {
    if (at > 0 && (stop = check(at))) {
      c.result = static_cast<int64_t>(at);
      break;
    }
    const int len = static_cast<int>(body - at < kChunk ? body - at : kChunk);
    ok = (seal ? EVP_EncryptUpdate(ctx, job.out + at, &n, job.input + at, len) : EVP_DecryptUpdate(ctx, job.out + at, &n, job.input + at, len)) == 1;
  }
  if (ok && !stop) ok = (seal ? EVP_EncryptFinal_ex(ctx, job.out ? job.out + body : nullptr, &n) : EVP_DecryptFinal_ex(ctx, job.out ? job.out + body : nullptr, &n)) == 1;
  if (ok && !stop && seal) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kAeadTagBytes, job.out + body) == 1;
  if (ctx) EVP_CIPHER_CTX_free(ctx);
  std::memset(subkey, 0, sizeof subkey);
  if (stop) {
    c.flags = stop;
  } else if (!ok) {
    if (job.out && body) std::memset(job.out, 0, body);  // never hand out unauthenticated plaintext
    c.flags = ST_FAILED;
  } else {
    c.flags = ST_OK;
    c.result = static_cast<int64_t>(seal ? body + kAeadTagBytes : body);
  }
}

#else  // built without zlib/libcrypto (the CMake core on a machine lacking them)

bool codecs_available() { return false; }
void run_deflate(Job&, const SliceCheck&, Completion& c) { c.flags = ST_INVALID; }
void run_inflate(Job&, const SliceCheck&, Completion& c) { c.flags = ST_INVALID; }
void run_aead(Job&, bool, const SliceCheck&, Completion& c) { c.flags = ST_INVALID; }

#endif

}  // namespace cep::executor
