// The CUDA devices this process can use, as plain C++ (no CUDA types), so the trainer, the addon
// and the hardware probe read them the same way in a CUDA build (src/cuda/device.cu) and in a
// CPU-only build (src/runtime/cuda_device_nocuda.cpp, which always reports "built without CUDA").
// Listing never throws: no driver, no device and a driver too old for the runtime all mean
// "no CUDA device", with the reason.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tuner {

// Dense bf16 tensor-core peak of one GPU, for MFU: NVIDIA's published figure when the GPU is in
// the table (cuda_peak.cpp), otherwise computed from SM count x clock x the per-SM rate of its
// architecture (published == false, and `source` says how it was computed).
struct GpuPeak {
  double bf16_tflops = 0;  // 0: unknown (an architecture without bf16 tensor cores)
  bool published = false;
  std::string source;      // "NVIDIA H100 datasheet" or "computed: 132 SMs x 1.98 GHz x 4096 FLOP/clock/SM"
};

GpuPeak gpu_bf16_peak(const std::string& name, int cc_major, int cc_minor, int sm_count, int clock_khz);

struct CudaDevice {
  int index = 0;
  std::string name;               // "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0; // compute capability, e.g. 9.0
  int sm_count = 0;
  int clock_khz = 0;              // peak SM clock
  uint64_t total_memory_bytes = 0;
  uint64_t free_memory_bytes = 0;
  GpuPeak peak;
};

struct CudaRuntimeInfo {
  bool built_with_cuda = false;
  int driver_version = 0;         // CUDA version the driver supports, 1000*major + 10*minor (0: no driver)
  int runtime_version = 0;        // CUDA runtime this build links, same encoding (0: built without CUDA)
  std::vector<CudaDevice> devices;
  std::string reason;             // why `devices` is empty ("built without CUDA", "no NVIDIA driver", ...)
};

// Lists the devices (queried once per process; cheap afterwards). Never throws.
const CudaRuntimeInfo& cuda_runtime_info();

// "13.0" from 13000.
std::string cuda_version_text(int version);

// The GEMM kernel chosen per product shape in this process (ours or cuBLASLt's, timed on first use:
// src/cuda/gemm_dispatch.cuh), as text, and its restoration in another process, so that a resumed
// training run multiplies with the same kernels and its losses stay the same bits. A build
// without CUDA gives "" and restores nothing (0).
std::string cuda_gemm_choices();
int cuda_restore_gemm_choices(const std::string& text);

// Device memory on device `device`, freed on destruction. Allocation failure throws TunerError
// cuda_out_of_memory; in a CPU-only build, no_cuda_device.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t bytes, int device = 0);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }
  void copy_from_host(const void* src, size_t bytes);
  void copy_to_host(void* dst, size_t bytes) const;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int device_ = 0;
};

// Page-locked host memory (fast, asynchronous copies to and from the GPU), freed on destruction.
class PinnedHostBuffer {
 public:
  PinnedHostBuffer() = default;
  explicit PinnedHostBuffer(size_t bytes);
  ~PinnedHostBuffer();
  PinnedHostBuffer(PinnedHostBuffer&& other) noexcept;
  PinnedHostBuffer& operator=(PinnedHostBuffer&& other) noexcept;
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace tuner
