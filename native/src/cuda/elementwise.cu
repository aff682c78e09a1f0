// CUDA element-wise kernels (elementwise.cuh): one thread per element (grid-stride), each calling
// the same TUNER_HD formula as the CPU kernel, so the two differ only where the compiler
// contracts a multiply-add into an FMA or the CPU vectorises its exp (test_cuda_elementwise
// states the limits).
#include "cuda/cuda_check.cuh"
#include "cuda/grid_stride.cuh"
#include "cuda/elementwise.cuh"
#include "kernels/elementwise_math.h"

namespace tuner::cuda {

namespace {

__global__ void swiglu_forward_kernel(float* out, const float* gate, const float* up, int64_t n) {
  TUNER_GRID_STRIDE(i, n) out[i] = swiglu(gate[i], up[i]);
}

__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  TUNER_GRID_STRIDE(i, n) {
    float dg, du;
    swiglu_grad(dout[i], gate[i], up[i], &dg, &du);
    dgate[i] = dg;
    dup[i] = du;
  }
}

__global__ void gelu_forward_kernel(float* out, const float* x, int64_t n) {
  TUNER_GRID_STRIDE(i, n) out[i] = gelu_tanh(x[i]);
}

__global__ void gelu_backward_kernel(float* dx, const float* dout, const float* x, int64_t n) {
  TUNER_GRID_STRIDE(i, n) dx[i] = dout[i] * gelu_tanh_grad(x[i]);
}

__global__ void geglu_forward_kernel(float* out, const float* gate, const float* up, int64_t n) {
  TUNER_GRID_STRIDE(i, n) out[i] = gelu_tanh(gate[i]) * up[i];
}

__global__ void geglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  TUNER_GRID_STRIDE(i, n) {
    const float d = dout[i], g = gate[i], u = up[i];
    dup[i] = d * gelu_tanh(g);
    dgate[i] = d * u * gelu_tanh_grad(g);
  }
}

// One thread per (row, head, i < HD/2) pair.
template <bool Backward>
__global__ void rope_kernel(float* x, const float* cos, const float* sin, int64_t rows, int T, int nh, int HD, const int32_t* pos) {
  const int half = HD / 2;
  const int64_t pairs = rows * nh * half;
  TUNER_GRID_STRIDE(p, pairs) {
    const int i = static_cast<int>(p % half);
    const int64_t rh = p / half;  // row * nh + head
    const int64_t row = rh / nh;
    const int t = pos ? pos[row] : static_cast<int>(row % T);
    float* v = x + rh * HD;
    const float c = cos[(int64_t)t * half + i], s = sin[(int64_t)t * half + i];
    if (Backward) rope_pair_grad(&v[i], &v[i + half], c, s);
    else rope_pair(&v[i], &v[i + half], c, s);
  }
}

__global__ void softcap_forward_kernel(float* x, float* t, int64_t n, float cap) {
  TUNER_GRID_STRIDE(i, n) {
    const float ti = tanhf(x[i] / cap);
    t[i] = ti;
    x[i] = cap * ti;
  }
}

__global__ void softcap_backward_kernel(float* dx, const float* t, int64_t n) {
  TUNER_GRID_STRIDE(i, n) dx[i] *= 1.0f - t[i] * t[i];
}

// One block per row: the sum of squares by a block reduction, then the shared scale.
__global__ void rmsnorm_forward_kernel(float* out, float* rstd, const float* inp, const float* weight, int C, float eps) {
  __shared__ float shared[kElementThreads / 32];
  const int64_t row = blockIdx.x;
  const float* x = inp + row * C;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) ss += x[c] * x[c];
  const float scale = norm_rstd(block_reduce(ss, SumOp(), shared) / (float)C, eps);
  if (threadIdx.x == 0) rstd[row] = scale;
  float* y = out + row * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) y[c] = x[c] * scale * weight[c];
}

// One block per row: dx = r w dy - x r^3 dot(w dy, x) / C (the CPU's rmsnorm_backward_rows).
__global__ void rmsnorm_backward_kernel(float* dinp, const float* dout, const float* inp, const float* weight, const float* rstd,
                                        int C, bool accumulate) {
  __shared__ float shared[kElementThreads / 32];
  const int64_t row = blockIdx.x;
  const float* x = inp + row * C;
  const float* dy = dout + row * C;
  float* dx = dinp + row * C;
  float dot = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dot += weight[c] * dy[c] * x[c];
  const float r = rstd[row];
  const float k = r * r * r * block_reduce(dot, SumOp(), shared) / (float)C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float g = r * weight[c] * dy[c] - x[c] * k;
    dx[c] = accumulate ? dx[c] + g : g;
  }
}

// One thread per column, rows in order, then added once (as the CPU's column blocks):
// dweight[c] += sum_n dy x r.
__global__ void rmsnorm_dweight_kernel(float* dweight, const float* dout, const float* inp, const float* rstd, int N, int C) {
  TUNER_GRID_STRIDE(c, C) {
    float acc = 0.0f;
    for (int n = 0; n < N; ++n) acc += dout[(int64_t)n * C + c] * inp[(int64_t)n * C + c] * rstd[n];
    dweight[c] += acc;
  }
}

}  // namespace

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  swiglu_forward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(out, gate, up, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  swiglu_backward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(dgate, dup, dout, gate, up, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void gelu_forward(float* out, const float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  gelu_forward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(out, x, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void gelu_backward(float* dx, const float* dout, const float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  gelu_backward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(dx, dout, x, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void geglu_forward(float* out, const float* gate, const float* up, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  geglu_forward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(out, gate, up, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  geglu_backward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(dgate, dup, dout, gate, up, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos, cudaStream_t stream) {
  const int64_t pairs = (int64_t)B * T * nh * (HD / 2);
  if (pairs <= 0) return;
  rope_kernel<false><<<element_blocks(pairs), kElementThreads, 0, stream>>>(x, cos, sin, (int64_t)B * T, T, nh, HD, pos);
  TUNER_CUDA_CHECK_LAUNCH();
}

void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos, cudaStream_t stream) {
  const int64_t pairs = (int64_t)B * T * nh * (HD / 2);
  if (pairs <= 0) return;
  rope_kernel<true><<<element_blocks(pairs), kElementThreads, 0, stream>>>(dx, cos, sin, (int64_t)B * T, T, nh, HD, pos);
  TUNER_CUDA_CHECK_LAUNCH();
}

void softcap_forward(float* x, float* t, int64_t n, float cap, cudaStream_t stream) {
  if (n <= 0) return;
  softcap_forward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, t, n, cap);
  TUNER_CUDA_CHECK_LAUNCH();
}

void softcap_backward(float* dx, const float* t, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  softcap_backward_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(dx, t, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps, cudaStream_t stream) {
  if (N <= 0) return;
  rmsnorm_forward_kernel<<<N, kElementThreads, 0, stream>>>(out, rstd, inp, weight, C, eps);
  TUNER_CUDA_CHECK_LAUNCH();
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, const float* rstd,
                      int N, int C, bool accumulate, cudaStream_t stream) {
  if (N <= 0) return;
  rmsnorm_backward_kernel<<<N, kElementThreads, 0, stream>>>(dinp, dout, inp, weight, rstd, C, accumulate);
  TUNER_CUDA_CHECK_LAUNCH();
  if (!dweight) return;
  rmsnorm_dweight_kernel<<<element_blocks(C), kElementThreads, 0, stream>>>(dweight, dout, inp, rstd, N, C);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace tuner::cuda
