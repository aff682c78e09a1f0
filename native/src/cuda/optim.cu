// CUDA optimizer updates (optim.cuh): one thread per element, grid-stride, scalars by value.
#include "cuda/cuda_check.cuh"
#include "cuda/grid_stride.cuh"
#include "cuda/optim.cuh"
#include "kernels/elementwise_math.h"

namespace tuner::cuda {

namespace {

__global__ void adamw_kernel(float* w, float* m, float* v, const float* g, int64_t n, AdamWScalars s) {
  TUNER_GRID_STRIDE(i, n)
    adamw_element(w[i], m[i], v[i], g[i], s);
}

__global__ void lion_kernel(float* w, float* m, const float* g, int64_t n, LionScalars s) {
  TUNER_GRID_STRIDE(i, n)
    lion_element(w[i], m[i], g[i], s);
}

__global__ void sgd_kernel(float* w, float* buf, const float* g, int64_t n, SgdScalars s) {
  TUNER_GRID_STRIDE(i, n) {
    if (buf) sgd_momentum_element(w[i], buf[i], g[i], s);
    else sgd_element(w[i], g[i], s);
  }
}

}  // namespace

void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s, cudaStream_t stream) {
  if (n <= 0) return;
  adamw_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(w, m, v, g, n, s);
  TUNER_CUDA_CHECK_LAUNCH();
}

void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s, cudaStream_t stream) {
  if (n <= 0) return;
  lion_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(w, m, g, n, s);
  TUNER_CUDA_CHECK_LAUNCH();
}

void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s, cudaStream_t stream) {
  if (n <= 0) return;
  sgd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(w, buf, g, n, s);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace tuner::cuda
