// CUDA optimizer updates (optim.cuh): one thread per element, grid-stride, scalars by value.
#include "cuda/cuda_check.cuh"
#include "cuda/optim.cuh"
#include "kernels/elementwise_math.h"

namespace tuner::cuda {

namespace {

constexpr int kThreads = 256;

int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

__global__ void adamw_kernel(float* w, float* m, float* v, const float* g, int64_t n, AdamWScalars s) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    adamw_element(w[i], m[i], v[i], g[i], s);
}

__global__ void lion_kernel(float* w, float* m, const float* g, int64_t n, LionScalars s) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    lion_element(w[i], m[i], g[i], s);
}

__global__ void sgd_kernel(float* w, float* buf, const float* g, int64_t n, SgdScalars s) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    if (buf) sgd_momentum_element(w[i], buf[i], g[i], s);
    else sgd_element(w[i], g[i], s);
  }
}

}  // namespace

void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s, cudaStream_t stream) {
  if (n <= 0) return;
  adamw_kernel<<<blocks_for(n), kThreads, 0, stream>>>(w, m, v, g, n, s);
  TUNER_CUDA_CHECK_LAUNCH();
}

void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s, cudaStream_t stream) {
  if (n <= 0) return;
  lion_kernel<<<blocks_for(n), kThreads, 0, stream>>>(w, m, g, n, s);
  TUNER_CUDA_CHECK_LAUNCH();
}

void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s, cudaStream_t stream) {
  if (n <= 0) return;
  sgd_kernel<<<blocks_for(n), kThreads, 0, stream>>>(w, buf, g, n, s);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace tuner::cuda
