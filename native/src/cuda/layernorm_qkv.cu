// LayerNorm and the fused q/k/v permutation (layernorm_qkv.cuh).
#include "cuda/cuda_check.cuh"
#include "cuda/grid_stride.cuh"
#include "cuda/layernorm_qkv.cuh"
#include "kernels/elementwise_math.h"

namespace tuner::cuda {

namespace {

__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                         const float* bias, int C, float eps) {
  __shared__ float shared[kElementThreads / 32];
  const int64_t row = blockIdx.x;
  const float* x = inp + row * C;
  float s = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += x[c];
  const float m = block_reduce(s, SumOp(), shared) / (float)C;
  float sq = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sq += (x[c] - m) * (x[c] - m);
  const float r = norm_rstd(block_reduce(sq, SumOp(), shared) / (float)C, eps);
  if (threadIdx.x == 0) {
    if (mean) mean[row] = m;
    rstd[row] = r;
  }
  float* y = out + row * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) y[c] = (x[c] - m) * r * weight[c] + (bias ? bias[c] : 0.0f);
}

__global__ void layernorm_backward_kernel(float* dinp, const float* dout, const float* inp, const float* weight,
                                          const float* mean, const float* rstd, int C, bool accumulate) {
  __shared__ float shared[kElementThreads / 32];
  const int64_t row = blockIdx.x;
  const float* x = inp + row * C;
  const float* dy = dout + row * C;
  float* dx = dinp + row * C;
  const float m = mean[row], r = rstd[row];
  float sa = 0.0f, sb = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float g = dy[c] * weight[c];
    sa += g;
    sb += g * ((x[c] - m) * r);
  }
  const float a = block_reduce(sa, SumOp(), shared) / (float)C;
  const float b = block_reduce(sb, SumOp(), shared) / (float)C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float g = r * (dy[c] * weight[c] - a - (x[c] - m) * r * b);
    dx[c] = accumulate ? dx[c] + g : g;
  }
}

// One thread per column, rows in order (as the CPU's column blocks): dweight += dy xhat, dbias += dy.
__global__ void layernorm_dparams_kernel(float* dweight, float* dbias, const float* dout, const float* inp, const float* mean,
                                         const float* rstd, int N, int C) {
  TUNER_GRID_STRIDE(c, C) {
    float aw = 0.0f, ab = 0.0f;
    for (int n = 0; n < N; ++n) {
      const float dy = dout[(int64_t)n * C + c];
      aw += dy * ((inp[(int64_t)n * C + c] - mean[n]) * rstd[n]);
      ab += dy;
    }
    if (dweight) dweight[c] += aw;
    if (dbias) dbias[c] += ab;
  }
}

// One thread per element of q, k and v together (QD + 2 KD per row).
__global__ void permute_qkv_kernel(float* qkv, float* q, float* k, float* v, int64_t N, int NH, int NKV, int HD, bool per_head,
                                   bool split) {
  const int64_t QD = (int64_t)NH * HD, KD = (int64_t)NKV * HD, W = QD + 2 * KD;
  TUNER_GRID_STRIDE(i, N * W) {
    const int64_t n = i / W, j = i % W;  // j: the column in [q | k | v] order
    float* p;
    int64_t fused;
    if (j < QD) p = q + n * QD + j;
    else if (j < QD + KD) p = k + n * KD + (j - QD);
    else p = v + n * KD + (j - QD - KD);
    if (per_head) {
      const int64_t part = j < QD ? 0 : j < QD + KD ? 1 : 2, within = j - (part == 0 ? 0 : part == 1 ? QD : QD + KD);
      fused = (3 * (within / HD) + part) * HD + within % HD;
    } else {
      fused = j;
    }
    float* f = qkv + n * W + fused;
    if (split) *p = *f;
    else *f = *p;
  }
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C, float eps, cudaStream_t stream) {
  if (N <= 0) return;
  layernorm_forward_kernel<<<N, kElementThreads, 0, stream>>>(out, mean, rstd, inp, weight, bias, C, eps);
  TUNER_CUDA_CHECK_LAUNCH();
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                        const float* mean, const float* rstd, int N, int C, bool accumulate, cudaStream_t stream) {
  if (N <= 0) return;
  layernorm_backward_kernel<<<N, kElementThreads, 0, stream>>>(dinp, dout, inp, weight, mean, rstd, C, accumulate);
  TUNER_CUDA_CHECK_LAUNCH();
  if (!dweight && !dbias) return;
  layernorm_dparams_kernel<<<element_blocks(C), kElementThreads, 0, stream>>>(dweight, dbias, dout, inp, mean, rstd, N, C);
  TUNER_CUDA_CHECK_LAUNCH();
}

void permute_qkv(float* qkv, float* q, float* k, float* v, int N, int NH, int NKV, int HD, bool per_head, bool split,
                 cudaStream_t stream) {
  const int64_t n = (int64_t)N * (NH + 2 * NKV) * HD;
  if (n <= 0) return;
  permute_qkv_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(qkv, q, k, v, N, NH, NKV, HD, per_head, split);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace tuner::cuda
