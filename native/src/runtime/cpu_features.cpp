// Run-time CPU feature detection. cpuid says what the core implements; xgetbv says whether the
// OS saves the wide registers on context switch. Both must agree before a kernel may use AVX2 or
// AVX-512, otherwise the first context switch would corrupt its registers.
#include "tuner/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TUNER_X86 1
#endif

namespace tuner {

namespace {

#ifdef TUNER_X86
unsigned long long read_xcr0() {
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

// TUNER_CPU_LIMIT=generic|avx2 caps the level (tests and benchmarks compare kernels with it,
// and a user can work around a miscompiled kernel without rebuilding).
void apply_limit(CpuFeatures& f) {
  const char* limit = std::getenv("TUNER_CPU_LIMIT");
  if (!limit) return;
  if (std::strcmp(limit, "generic") == 0) f = CpuFeatures{};
  if (std::strcmp(limit, "avx2") == 0) {
    f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512_bf16 = f.avx512_vnni = false;
  }
}

CpuFeatures detect() {
  CpuFeatures f;
#ifdef TUNER_X86
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool fma = ecx & (1u << 12);
  const bool f16c = ecx & (1u << 29);
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = read_xcr0();
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;           // SSE + AVX state
  const bool zmm_saved = (xcr0 & 0xe6) == 0xe6;         // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymm_saved) return f;
  f.fma = fma;
  f.f16c = f16c;
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned max_subleaf = eax;
    f.avx2 = ebx & (1u << 5);
    if (zmm_saved) {
      f.avx512f = ebx & (1u << 16);
      f.avx512bw = ebx & (1u << 30);
      f.avx512dq = ebx & (1u << 17);
      f.avx512vl = ebx & (1u << 31);
      f.avx512_vnni = f.avx512f && (ecx & (1u << 11));
    }
    if (max_subleaf < 1) eax = 0;
    else __cpuid_count(7, 1, eax, ebx, ecx, edx);
    f.avx_vnni = f.avx2 && (eax & (1u << 4));
    f.avx512_bf16 = zmm_saved && f.avx512f && (eax & (1u << 5));
  }
#endif
  apply_limit(f);
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace tuner
