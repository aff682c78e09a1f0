// Error handling shared by the CUDA sources: a failed CUDA call becomes a TunerError naming the
// call, the file and line, and CUDA's own message; out of device memory gets its own code
// (cuda_out_of_memory) so the trainer can answer it with the estimator's suggestions.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "tuner/error.h"

namespace tuner::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  const std::string where = std::string(file) + ":" + std::to_string(line) + ": " + what + ": ";
  if (err == cudaErrorMemoryAllocation)
    throw TunerError("cuda_out_of_memory", where + cudaGetErrorString(err),
                     "The GPU ran out of memory: lower batch_size or max_length, turn on "
                     "gradient_checkpointing, or use method qlora.");
  throw TunerError("cuda_error", where + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")",
                   "A CUDA call failed; update the NVIDIA driver, or set device to cpu in ARGS.json.");
}

}  // namespace tuner::cuda

#define TUNER_CUDA_CHECK(expr)                                                     \
  do {                                                                             \
    cudaError_t tuner_cuda_err_ = (expr);                                          \
    if (tuner_cuda_err_ != cudaSuccess)                                            \
      ::tuner::cuda::throw_cuda_error(tuner_cuda_err_, #expr, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: launch errors (bad configuration) are reported where they happen.
#define TUNER_CUDA_CHECK_LAUNCH() TUNER_CUDA_CHECK(cudaGetLastError())
