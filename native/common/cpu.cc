#include "cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define CEP_X64 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#include <asm/hwcap.h>
#define CEP_ARM64 1
#endif

namespace cep::cpu {
namespace {

#if CEP_X64
unsigned long long read_xcr0() {
  unsigned int lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

Features probe() {
  Features f;
#if CEP_X64
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.sse41 = c & (1u << 19);
  f.sse42 = c & (1u << 20);
  f.pclmul = c & (1u << 1);
  const bool osxsave = c & (1u << 27);
  const bool avx = c & (1u << 28);
  const unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
  const bool ymm_ok = (xcr0 & 0x6) == 0x6;
  const bool zmm_ok = (xcr0 & 0xE6) == 0xE6;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = avx && ymm_ok && (b & (1u << 5));
    const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
    f.avx512 = f.avx2 && zmm_ok && avx512f && avx512bw && avx512vl;
    f.vpclmulqdq = f.avx512 && f.pclmul && (c & (1u << 10));
  }
#elif CEP_ARM64
  const unsigned long caps = getauxval(AT_HWCAP);
  f.neon = caps & HWCAP_ASIMD;
  f.armcrc = caps & HWCAP_CRC32;
#endif
  return f;
}

Features& active_mut() {
  static Features f = detected();
  return f;
}

const char* current_tier = "auto";

}  // namespace

const Features& detected() {
  static const Features f = probe();
  return f;
}

const Features& active() { return active_mut(); }

const char* set_tier(const std::string& tier) {
  Features f = detected();
  const char* name;
  if (tier == "auto") {
    name = "auto";
  } else if (tier == "avx512") {
    name = "avx512";
  } else if (tier == "avx2") {
    f.avx512 = f.vpclmulqdq = false;
    name = "avx2";
  } else if (tier == "sse4.2") {
    f.avx512 = f.vpclmulqdq = f.avx2 = false;
    name = "sse4.2";
  } else if (tier == "portable") {
    f = Features{};
    name = "portable";
  } else {
    return nullptr;
  }
  active_mut() = f;
  current_tier = name;
  return current_tier;
}

std::vector<std::string> active_names() {
  const Features& f = active();
  std::vector<std::string> out;
  if (f.sse41) out.push_back("sse4.1");
  if (f.sse42) out.push_back("sse4.2");
  if (f.pclmul) out.push_back("pclmul");
  if (f.avx2) out.push_back("avx2");
  if (f.avx512) out.push_back("avx512");
  if (f.vpclmulqdq) out.push_back("vpclmulqdq");
  if (f.neon) out.push_back("neon");
  if (f.armcrc) out.push_back("crc32");
  return out;
}

}  // namespace cep::cpu
