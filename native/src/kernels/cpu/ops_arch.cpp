// The kernels of tuner/ops_arch.h, threaded over rows or contiguous element ranges: LayerNorm rows,
// GELU and GeGLU through the vector-kernel table (AVX2 or the baseline, chosen at run time; the
// scalar tanh GELU was half of a GPT-2 or Bloom step), soft-capping and column sums as plain loops.
#include "tuner/ops_arch.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/column_blocks.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/threadpool.h"

namespace tuner {

void add_column_sums(float* dst, const float* src, int N, int C, ThreadPool* pool) {
  add_column_blocks(dst, C, pool, [&](float* acc, int c0, int width) {
    for (int n = 0; n < N; n++) {
      const float* row = src + (int64_t)n * C + c0;
      for (int j = 0; j < width; j++) acc[j] += row[j];
    }
  });
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C, float eps, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    k.layernorm_forward_rows(out + b * C, mean ? mean + b : nullptr, rstd + b, inp + b * C, weight, bias, e - b, C, eps);
  });
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                        const float* mean, const float* rstd, int N, int C, bool accumulate, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  if (dinp)
    parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
      k.layernorm_backward_rows(dinp + b * C, dout + b * C, inp + b * C, weight, mean + b, rstd + b, e - b, C, accumulate);
    });
  if (dbias) add_column_sums(dbias, dout, N, C, pool);
  if (!dweight) return;
  add_column_blocks(dweight, C, pool, [&](float* acc, int c0, int width) {
    for (int n = 0; n < N; n++) {
      const float* x = inp + (int64_t)n * C + c0;
      const float* dy = dout + (int64_t)n * C + c0;
      for (int j = 0; j < width; j++) acc[j] += dy[j] * (x[j] - mean[n]) * rstd[n];
    }
  });
}

// GELU and GeGLU through the vector-kernel table (AVX2 or the baseline, chosen at run time), in
// contiguous pieces per thread: every element's result is the same whatever piece it falls in.
void gelu_forward(float* out, const float* x, int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) { k.gelu_forward(out + b, x + b, e - b); });
}

void gelu_forward_backward(float* out, float* dx, const float* dout, const float* x, int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) { k.gelu_forward_backward(out + b, dx + b, dout + b, x + b, e - b); });
}

void geglu_forward(float* out, const float* gate, const float* up, int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) { k.geglu_forward(out + b, gate + b, up + b, e - b); });
}

void geglu_forward_backward(float* out, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    k.geglu_forward_backward(out + b, dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

void softcap_forward(float* x, float* t, int64_t n, float cap, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) {
      t[i] = std::tanh(x[i] / cap);
      x[i] = cap * t[i];
    }
  });
}

void softcap_backward(float* dx, const float* t, int64_t n, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) dx[i] *= 1.0f - t[i] * t[i];
  });
}

}  // namespace tuner
