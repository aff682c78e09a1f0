// Launch shape of the one-thread-per-element kernels (elementwise.cu, optim.cu): 256 threads a
// block, enough blocks for n elements up to a cap, each thread striding over the rest.
#pragma once
#include <cstdint>

namespace tuner::cuda {

constexpr int kElementThreads = 256;

inline int element_blocks(int64_t n) {
  const int64_t b = (n + kElementThreads - 1) / kElementThreads;
  return static_cast<int>(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

}  // namespace tuner::cuda

#define TUNER_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)
