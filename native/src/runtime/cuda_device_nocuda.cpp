// A CPU-only build's answer to include/tuner/cuda_device.h: no devices, "built without CUDA",
// and device memory that cannot be allocated (no_cuda_device). Replaced by src/cuda/device.cu
// when CMake finds the CUDA toolkit.
#include "tuner/cuda_device.h"
#include "tuner/error.h"

namespace tuner {

namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw TunerError("no_cuda_device", std::string(what) + ": this build of Tuner was made without CUDA",
                   "Set device to auto or cpu in ARGS.json, or build Tuner with the CUDA toolkit installed (docs/cuda.md).");
}
}  // namespace

const CudaRuntimeInfo& cuda_runtime_info() {
  static const CudaRuntimeInfo info = [] {
    CudaRuntimeInfo i;
    i.reason = "built without CUDA";
    return i;
  }();
  return info;
}

DeviceBuffer::DeviceBuffer(size_t, int) { no_cuda("device memory"); }
DeviceBuffer::~DeviceBuffer() = default;
DeviceBuffer::DeviceBuffer(DeviceBuffer&&) noexcept = default;
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&&) noexcept = default;
void DeviceBuffer::copy_from_host(const void*, size_t) { no_cuda("device memory"); }
void DeviceBuffer::copy_to_host(void*, size_t) const { no_cuda("device memory"); }

std::string cuda_gemm_choices() { return ""; }
int cuda_restore_gemm_choices(const std::string&) { return 0; }

PinnedHostBuffer::PinnedHostBuffer(size_t) { no_cuda("pinned host memory"); }
PinnedHostBuffer::~PinnedHostBuffer() = default;
PinnedHostBuffer::PinnedHostBuffer(PinnedHostBuffer&&) noexcept = default;
PinnedHostBuffer& PinnedHostBuffer::operator=(PinnedHostBuffer&&) noexcept = default;

}  // namespace tuner
