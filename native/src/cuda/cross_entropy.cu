// CUDA cross-entropy (elementwise.cuh): one block per row; the row's max and sum of exps by block
// reductions (in float, per thread then per warp; the CPU sums blocks of 256 in double, so the two
// differ in the last bits), then each logit's gradient through the same fast_expf as the CPU.
#include <cfloat>

#include "cuda/cuda_check.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/grid_stride.cuh"
#include "kernels/elementwise_math.h"

namespace tuner::cuda {

namespace {

__global__ void cross_entropy_forward_kernel(float* losses, float* lse, const float* logits, const uint32_t* targets,
                                             const uint8_t* mask, int V) {
  __shared__ float shared[kElementThreads / 32];
  const int64_t n = blockIdx.x;
  if (mask && !mask[n]) {
    if (threadIdx.x == 0) losses[n] = lse[n] = 0.0f;
    return;
  }
  const float* l = logits + n * V;
  float m = -FLT_MAX;
  for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, l[i]);
  m = block_reduce(m, MaxOp(), shared);
  float s = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) s += fast_expf(l[i] - m);
  s = block_reduce(s, SumOp(), shared);
  if (threadIdx.x == 0) {
    const float z = m + logf(s);
    lse[n] = z;
    losses[n] = z - l[targets[n]];
  }
}

__global__ void cross_entropy_backward_kernel(float* d, const float* lse, const uint32_t* targets, const uint8_t* mask, int V,
                                              float scale) {
  const int64_t n = blockIdx.x;
  float* row = d + n * V;
  const bool kept = !mask || mask[n];
  const float z = lse[n];
  const uint32_t target = targets[n];
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    row[i] = kept ? fast_expf(row[i] - z) * scale - (i == (int)target ? scale : 0.0f) : 0.0f;
}

}  // namespace

void cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets, const uint8_t* mask, int N,
                           int V, cudaStream_t stream) {
  if (N <= 0) return;
  cross_entropy_forward_kernel<<<N, kElementThreads, 0, stream>>>(losses, lse, logits, targets, mask, V);
  TUNER_CUDA_CHECK_LAUNCH();
}

void cross_entropy_backward_inplace(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N, int V,
                                    float scale, cudaStream_t stream) {
  if (N <= 0) return;
  cross_entropy_backward_kernel<<<N, kElementThreads, 0, stream>>>(logits, lse, targets, mask, V, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace tuner::cuda
