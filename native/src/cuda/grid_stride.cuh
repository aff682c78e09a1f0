// Launch shape of the element-wise kernels (elementwise.cu, cross_entropy.cu, optim.cu): 256
// threads a block, enough blocks for n elements up to a cap, each thread striding over the rest;
// and the block reduction of the one-block-per-row kernels (norms, cross-entropy).
#pragma once
#include <cstdint>

namespace tuner::cuda {

constexpr int kElementThreads = 256;

inline int element_blocks(int64_t n) {
  const int64_t b = (n + kElementThreads - 1) / kElementThreads;
  return static_cast<int>(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

#ifdef __CUDACC__
// The reduction of v by op over the block (blockDim.x a multiple of 32, at most 1024); every
// thread gets the result. `shared` holds blockDim.x / 32 floats.
template <typename Op>
__device__ float block_reduce(float v, Op op, float* shared) {
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  if ((threadIdx.x & 31) == 0) shared[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    float w = threadIdx.x < (blockDim.x >> 5) ? shared[threadIdx.x] : shared[0];
    for (int off = 16; off > 0; off >>= 1) w = op(w, __shfl_xor_sync(0xffffffffu, w, off));
    if (threadIdx.x == 0) shared[0] = w;
  }
  __syncthreads();
  const float out = shared[0];
  __syncthreads();
  return out;
}

struct MaxOp {
  __device__ float operator()(float a, float b) const { return a > b ? a : b; }
};
struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
#endif

}  // namespace tuner::cuda

#define TUNER_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)
