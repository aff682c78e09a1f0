// CUDA device listing and RAII memory (include/tuner/cuda_device.h). Listing goes through the
// runtime API with the runtime linked statically: with no driver, an old driver or no GPU,
// cudaGetDeviceCount fails or returns 0 and we report why instead of failing.
#include <cuda_runtime.h>

#include <mutex>
#include <utility>

#include "cuda/cuda_check.cuh"
#include "tuner/cuda_device.h"
#include "tuner/error.h"

namespace tuner {

namespace {

std::string no_device_reason(cudaError_t err) {
  switch (err) {
    case cudaErrorNoDevice: return "no CUDA-capable GPU found";
    case cudaErrorInsufficientDriver:
      return "no NVIDIA driver, or one older than this build's CUDA runtime (" +
             cuda_version_text(CUDART_VERSION) + "): install or update the NVIDIA driver";
    case cudaErrorInitializationError: return "the NVIDIA driver failed to initialise";
    default: return std::string("CUDA is unavailable: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
  }
}

CudaRuntimeInfo probe() {
  CudaRuntimeInfo info;
  info.built_with_cuda = true;
  cudaRuntimeGetVersion(&info.runtime_version);
  if (cudaDriverGetVersion(&info.driver_version) != cudaSuccess) info.driver_version = 0;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    info.reason = info.driver_version == 0 && err == cudaErrorInsufficientDriver ? "no NVIDIA driver found" : no_device_reason(err);
    return info;
  }
  if (count == 0) {
    info.reason = "no CUDA-capable GPU found";
    return info;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    CudaDevice d;
    d.index = i;
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.sm_count = prop.multiProcessorCount;
    d.total_memory_bytes = prop.totalGlobalMem;
    // cudaDeviceProp::clockRate is gone in CUDA 13; the attribute is the same peak SM clock.
    cudaDeviceGetAttribute(&d.clock_khz, cudaDevAttrClockRate, i);
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
      d.free_memory_bytes = free_bytes;
    else
      cudaGetLastError();
    d.peak = gpu_bf16_peak(d.name, d.cc_major, d.cc_minor, d.sm_count, d.clock_khz);
    info.devices.push_back(std::move(d));
  }
  if (info.devices.empty()) info.reason = "the CUDA devices could not be queried";
  else cudaSetDevice(0);
  return info;
}

}  // namespace

const CudaRuntimeInfo& cuda_runtime_info() {
  static std::once_flag once;
  static CudaRuntimeInfo info;
  std::call_once(once, [] { info = probe(); });
  return info;
}

DeviceBuffer::DeviceBuffer(size_t bytes, int device) : bytes_(bytes), device_(device) {
  TUNER_CUDA_CHECK(cudaSetDevice(device));
  if (bytes > 0) TUNER_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)), device_(other.device_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    device_ = other.device_;
  }
  return *this;
}

void DeviceBuffer::copy_from_host(const void* src, size_t bytes) {
  if (bytes > bytes_) throw TunerError("internal", "copy of " + std::to_string(bytes) + " bytes into a device buffer of " + std::to_string(bytes_));
  TUNER_CUDA_CHECK(cudaMemcpy(ptr_, src, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::copy_to_host(void* dst, size_t bytes) const {
  if (bytes > bytes_) throw TunerError("internal", "copy of " + std::to_string(bytes) + " bytes out of a device buffer of " + std::to_string(bytes_));
  TUNER_CUDA_CHECK(cudaMemcpy(dst, ptr_, bytes, cudaMemcpyDeviceToHost));
}

PinnedHostBuffer::PinnedHostBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) TUNER_CUDA_CHECK(cudaMallocHost(&ptr_, bytes));
}

PinnedHostBuffer::~PinnedHostBuffer() {
  if (ptr_) cudaFreeHost(ptr_);
}

PinnedHostBuffer::PinnedHostBuffer(PinnedHostBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

PinnedHostBuffer& PinnedHostBuffer::operator=(PinnedHostBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

}  // namespace tuner
