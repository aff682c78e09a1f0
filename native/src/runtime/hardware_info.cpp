// Hardware probe. Linux reads /proc and /sys (the affinity mask and cgroup limits matter in
// containers, where the host's totals would overstate what a run may use); other systems fall
// back to portable calls.
#include "tuner/hardware_info.h"

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "cuda/cublaslt_loader.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

std::string cpu_brand() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned int regs[12] = {};
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    for (unsigned int i = 0; i < 3; ++i)
      __get_cpuid(0x80000002 + i, &regs[i * 4], &regs[i * 4 + 1], &regs[i * 4 + 2], &regs[i * 4 + 3]);
    char brand[49] = {};
    std::memcpy(brand, regs, 48);
    const std::string s = trim(brand);
    if (!s.empty()) return s;
  }
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  }
  return "unknown CPU";
}

// Physical cores among the CPUs in the affinity mask (SMT siblings share a core id).
int physical_cores(int threads) {
#if defined(__linux__)
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return threads;
  std::set<std::pair<int, int>> cores;
  std::ifstream cpuinfo("/proc/cpuinfo");
  int processor = -1, package = 0;
  for (std::string line; std::getline(cpuinfo, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "processor") processor = std::atoi(value.c_str());
    else if (key == "physical id") package = std::atoi(value.c_str());
    else if (key == "core id" && processor >= 0 && processor < CPU_SETSIZE && CPU_ISSET(processor, &mask))
      cores.insert({package, std::atoi(value.c_str())});
  }
  if (!cores.empty() && int(cores.size()) <= threads) return int(cores.size());
#endif
  return threads;
}

// A cgroup (v2 or v1) memory limit in bytes, or 0 when none is set.
uint64_t cgroup_memory_limit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(path);
    std::string value;
    if (f >> value && !value.empty() && value != "max") {
      const unsigned long long limit = std::strtoull(value.c_str(), nullptr, 10);
      if (limit > 0 && limit < (1ull << 60)) return limit;
    }
  }
  return 0;
}

void probe_memory(HardwareInfo& info) {
#if defined(__linux__)
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    std::istringstream fields(line);
    std::string key;
    unsigned long long kib = 0;
    fields >> key >> kib;
    if (key == "MemTotal:") info.ram_total_bytes = kib * 1024;
    if (key == "MemAvailable:") info.ram_available_bytes = kib * 1024;
  }
#elif defined(_SC_PHYS_PAGES)
  info.ram_total_bytes = uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE));
#endif
#if defined(_SC_AVPHYS_PAGES)
  if (info.ram_available_bytes == 0)
    info.ram_available_bytes = uint64_t(sysconf(_SC_AVPHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE));
#endif
  const uint64_t limit = cgroup_memory_limit();
  if (limit > 0 && (info.ram_total_bytes == 0 || limit < info.ram_total_bytes)) {
    info.ram_total_bytes = limit;
    if (info.ram_available_bytes > limit) info.ram_available_bytes = limit;
  }
}

}  // namespace

HardwareInfo probe_hardware() {
  HardwareInfo info;
  info.cpu_model = cpu_brand();
  info.threads = ThreadPool::hardware_threads();
  info.cores = physical_cores(info.threads);
  info.features = cpu_features();
  probe_memory(info);
  info.cuda = cuda_runtime_info();
  // Loaded only where a GPU could use it (the library is large, and the probe runs in the addon).
  info.cublaslt = !info.cuda.built_with_cuda ? "cuBLASLt not used: built without CUDA"
                  : info.cuda.devices.empty() ? "cuBLASLt not loaded: no CUDA device"
                                              : cublaslt_status();
  return info;
}

}  // namespace tuner
