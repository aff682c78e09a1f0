// host_ops' "device memory": host allocations handed out at addresses shifted out of the
// process's address space, so that model code which dereferences one directly (instead of going
// through upload/download and the ops) crashes in the CPU tests as it would on a GPU. Each op
// shifts its arguments back (a subtraction, so callers' pointer arithmetic keeps working) and
// checks that the range it touches lies inside one live allocation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "device/device_ops.h"

namespace tuner {
namespace dev {

class HostMemory {
 public:
  // Bits 52-55: above every user address of x86-64 (47 bits, or 56 with 5-level paging, where
  // the kernel never maps that high unasked) and of AArch64 (48/52 bits), and below the top byte
  // that AArch64 ignores, so the shifted address faults on both.
  static constexpr uintptr_t kShift = 0x00F0000000000000ull;
  static bool is_device(const void* p) { return ((uintptr_t)p & kShift) == kShift; }

  HostMemory() = default;
  ~HostMemory();
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;

  // Zero bytes gives null. The contents start as 0xFF bytes (NaN as fp32 and bf16), so code that
  // reads memory it never wrote sees NaN here as it would see garbage on a GPU.
  void* alloc(size_t bytes);
  void release(void* p);  // null is ignored; anything but a live allocation's base throws

  // The host address of device range [p, p + bytes), which must lie in one live allocation;
  // otherwise TunerError internal naming op and arg. Null p passes only when bytes is 0.
  void* host(const void* p, size_t bytes, const char* op, const char* arg) const;
  // The same, and how many bytes the allocation holds from p on.
  void* host_span(const void* p, size_t bytes, const char* op, const char* arg, size_t* available) const;

  // Memory held outside alloc() that stands for device memory (uploaded quantized weights).
  void add_resident(size_t bytes);
  void remove_resident(size_t bytes);

  DeviceMemoryInfo info() const;

 private:
  mutable std::mutex mu_;
  std::map<uintptr_t, size_t> live_;  // host base -> requested bytes
  size_t in_use_ = 0, peak_ = 0;
};

}  // namespace dev
}  // namespace tuner
