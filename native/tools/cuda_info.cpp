// tuner-cuda-info: the CUDA devices this build of the engine can use (include/tuner/cuda_device.h),
// one line each with compute capability, SMs, memory and the dense bf16 peak (published or
// computed), and whether cuBLASLt was found for the GEMM dispatcher (src/cuda/cublaslt_loader.h).
// Exit status 0 with at least one device, 1 without (the reason is printed), so scripts
// (scripts/gpu-check.sh, npm run test:gpu) can require a GPU.
#include <cstdio>

#include "cuda/cublaslt_loader.h"
#include "tuner/cuda_device.h"

int main() {
  const tuner::CudaRuntimeInfo& info = tuner::cuda_runtime_info();
  std::printf("CUDA runtime %s (%s), driver supports CUDA %s\n", tuner::cuda_version_text(info.runtime_version).c_str(),
              info.built_with_cuda ? "static" : "built without CUDA", tuner::cuda_version_text(info.driver_version).c_str());
  if (info.built_with_cuda) std::printf("%s\n", tuner::cublaslt_status());
  if (info.devices.empty()) {
    std::printf("no CUDA device: %s\n", info.reason.c_str());
    return 1;
  }
  for (const tuner::CudaDevice& d : info.devices)
    std::printf("GPU %d: %s, compute %d.%d, %d SMs at %.2f GHz, %.1f GiB (%.1f GiB free), dense bf16 peak %.0f TFLOP/s (%s)\n",
                d.index, d.name.c_str(), d.cc_major, d.cc_minor, d.sm_count, d.clock_khz / 1e6, d.total_memory_bytes / 1073741824.0,
                d.free_memory_bytes / 1073741824.0, d.peak.bf16_tflops, d.peak.source.c_str());
  return 0;
}
