// Cache sizes of the CPU this process runs on, and the AVX-512 sgemm kernel's cache blocks
// derived from them (here, in code compiled without ISA flags, so the function-local static and
// its guard stay out of the AVX-512 object). Sizes come from Linux's sysfs
// (/sys/devices/system/cpu/cpu0/cache) when it lists them, else cpuid's deterministic cache
// parameters (leaf 4 on Intel, 0x8000001D on AMD), else AMD's older leaves 0x80000005/6, for
// virtual machines and sandboxes that hide sysfs or zero some leaves. Read once per process.
// A hypervisor may report an L3 of the whole host (hundreds of MiB): the blocks cap what they
// take from it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cpu/gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TUNER_X86 1
#endif

namespace tuner {

namespace {

// "48K", "1024K", "32M" -> bytes (sysfs's format); 0 when unreadable.
int64_t parse_size(const char* text) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (v <= 0 || end == text) return 0;
  if (*end == 'K') return v << 10;
  if (*end == 'M') return v << 20;
  if (*end == 'G') return v << 30;
  return v;
}

bool read_line(const std::string& path, char* buf, int n) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return false;
  const bool ok = std::fgets(buf, n, f) != nullptr;
  std::fclose(f);
  return ok;
}

void from_sysfs(CacheSizes& c) {
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    char level[16], type[32], size[32];
    if (!read_line(dir + "level", level, sizeof level) || !read_line(dir + "type", type, sizeof type) ||
        !read_line(dir + "size", size, sizeof size))
      break;
    const int64_t bytes = parse_size(size);
    const bool data = std::strncmp(type, "Data", 4) == 0 || std::strncmp(type, "Unified", 7) == 0;
    if (!data) continue;
    switch (std::atoi(level)) {
      case 1: c.l1d = bytes; break;
      case 2: c.l2 = bytes; break;
      case 3: c.l3 = bytes; break;
      default: break;
    }
  }
}

#ifdef TUNER_X86
// Intel's leaf 4 and AMD's 0x8000001D share a layout: type in eax[4:0] (1 data, 3 unified),
// level in eax[7:5]; ways, partitions, line size and sets minus one in ebx and ecx.
void from_cpuid_leaf(unsigned leaf, CacheSizes& c) {
  for (unsigned i = 0; i < 16; ++i) {
    unsigned eax, ebx, ecx, edx;
    __cpuid_count(leaf, i, eax, ebx, ecx, edx);
    const unsigned type = eax & 0x1f;
    if (type == 0) break;
    if (type != 1 && type != 3) continue;
    const int64_t bytes = int64_t((ebx >> 22) + 1) * (((ebx >> 12) & 0x3ff) + 1) * ((ebx & 0xfff) + 1) *
                          (int64_t(ecx) + 1);
    switch ((eax >> 5) & 7) {
      case 1: c.l1d = bytes; break;
      case 2: c.l2 = bytes; break;
      case 3: c.l3 = bytes; break;
      default: break;
    }
  }
}

// The older AMD leaves (0x80000005: L1d KiB in ecx[31:24]; 0x80000006: L2 KiB in ecx[31:16],
// L3 in 512 KiB units in edx[31:18]), which some hypervisors fill in while zeroing the ones above.
void from_cpuid_legacy(CacheSizes& c) {
  const unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  unsigned eax, ebx, ecx, edx;
  if (max_ext >= 0x80000005 && __get_cpuid(0x80000005, &eax, &ebx, &ecx, &edx))
    c.l1d = int64_t(ecx >> 24) << 10;
  if (max_ext >= 0x80000006 && __get_cpuid(0x80000006, &eax, &ebx, &ecx, &edx)) {
    c.l2 = int64_t(ecx >> 16) << 10;
    c.l3 = int64_t(edx >> 18) << 19;
  }
}

void from_cpuid(CacheSizes& c) {
  if (__get_cpuid_max(0, nullptr) >= 4) from_cpuid_leaf(4, c);
  if (c.l1d == 0 && c.l2 == 0 && __get_cpuid_max(0x80000000, nullptr) >= 0x8000001D)
    from_cpuid_leaf(0x8000001D, c);
  if (c.l1d == 0 && c.l2 == 0) from_cpuid_legacy(c);
}
#endif

CacheSizes detect() {
  CacheSizes c;
  from_sysfs(c);
#ifdef TUNER_X86
  if (c.l1d == 0 || c.l2 == 0) {
    CacheSizes id;
    from_cpuid(id);
    if (c.l1d == 0) c.l1d = id.l1d;
    if (c.l2 == 0) c.l2 = id.l2;
    if (c.l3 == 0) c.l3 = id.l3;
  }
#endif
  return c;
}

// With an L2 of 1 MiB or more, kc 512 and an A block of about 55% of L2 (mc 280 x kc 512 =
// 560 KiB on 1 MiB): measured on an AMD EPYC (Zen 5, 48 KiB L1d, 1 MiB L2) with
// tuner-bench-gemm --cpu-time against OpenBLAS, 3-10% faster than 140 x 256 on K >= 1024 (half
// the passes over C) and on K = 512 (one pass instead of two); the 64 KiB B sliver outgrows L1
// but streams from L2 beside A. The B panel (kc x nc) keeps to a quarter of L3.
GemmKernel avx512_blocks(GemmKernel k, const CacheSizes& caches) {
  if (caches.l2 >= (int64_t(1) << 20)) {
    k.kc = 512;
    const int64_t mc = caches.l2 * 55 / 100 / (int64_t(k.kc) * 4) / k.mr * k.mr;
    k.mc = int(std::min<int64_t>(std::max<int64_t>(mc, 2 * k.mr), 40 * k.mr));
  }
  if (caches.l3 > 0) {
    const int64_t nc = caches.l3 / 4 / (int64_t(k.kc) * 4) / k.nr * k.nr;
    k.nc = int(std::min<int64_t>(std::max<int64_t>(nc, 16 * k.nr), 4096));
  }
  return k;
}

}  // namespace

const CacheSizes& cpu_cache_sizes() {
  static const CacheSizes sizes = detect();
  return sizes;
}

const GemmKernel& gemm_kernel_avx512() {
  static const GemmKernel kernel = avx512_blocks(gemm_kernel_avx512_base(), cpu_cache_sizes());
  return kernel;
}

}  // namespace tuner
