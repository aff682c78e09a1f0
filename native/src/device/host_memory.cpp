#include "device/host_memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "tuner/error.h"

namespace tuner {
namespace dev {

namespace {
constexpr size_t kAlign = 64;  // what the CPU kernels' vector loads like best

std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

[[noreturn]] void refuse(const char* op, const char* arg, const std::string& why) {
  throw TunerError("internal", std::string("host_ops ") + op + ": " + arg + " " + why);
}
}  // namespace

HostMemory::~HostMemory() {
  for (auto& [base, bytes] : live_) std::free((void*)base);
}

void* HostMemory::alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0xFF, rounded);
  std::lock_guard<std::mutex> lock(mu_);
  live_[(uintptr_t)p] = bytes;
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  return (void*)((uintptr_t)p + kShift);
}

void HostMemory::release(void* p) {
  if (!p) return;
  void* real = (void*)((uintptr_t)p - kShift);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = is_device(p) ? live_.find((uintptr_t)real) : live_.end();
    if (it == live_.end()) refuse("release", "pointer", address(p) + " is not the start of a live allocation");
    in_use_ -= it->second;
    live_.erase(it);
  }
  std::free(real);
}

void* HostMemory::host_span(const void* p, size_t bytes, const char* op, const char* arg, size_t* available) const {
  if (!p) {
    if (bytes == 0) {
      if (available) *available = 0;
      return nullptr;
    }
    refuse(op, arg, "is null");
  }
  if (!is_device(p)) refuse(op, arg, address(p) + " is host memory, not device memory from alloc()");
  const uintptr_t real = (uintptr_t)p - kShift;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.upper_bound(real);
  if (it == live_.begin()) refuse(op, arg, address(p) + " is not inside a live allocation");
  --it;
  const uintptr_t base = it->first, size = it->second;
  if (real > base + size) refuse(op, arg, address(p) + " is not inside a live allocation");
  const size_t offset = real - base;
  if (bytes > size - offset)
    refuse(op, arg,
           "runs past its allocation: " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
               " of an allocation of " + std::to_string(size) + " bytes");
  if (available) *available = size - offset;
  return (void*)real;
}

void* HostMemory::host(const void* p, size_t bytes, const char* op, const char* arg) const {
  return host_span(p, bytes, op, arg, nullptr);
}

void HostMemory::add_resident(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
}

void HostMemory::remove_resident(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ -= bytes;
}

DeviceMemoryInfo HostMemory::info() const {
  std::lock_guard<std::mutex> lock(mu_);
  DeviceMemoryInfo m;
  m.in_use = in_use_;
  m.peak = peak_;
  return m;
}

}  // namespace dev
}  // namespace tuner
