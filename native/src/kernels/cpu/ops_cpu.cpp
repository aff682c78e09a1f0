// Fast CPU kernels: the reference math of ops.h, threaded over rows (attention: attention_cpu.cpp).
// Every reduction runs in a fixed order independent of the thread count, except where noted,
// so a run is reproducible bit for bit with the same threads.
#include "kernels/cpu/column_blocks.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

namespace tuner {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    k.rmsnorm_forward_rows(out + b * C, rstd + b, inp + b * C, weight, e - b, C, eps);
  });
}

void add_rmsnorm_forward(float* sum, float* out, float* rstd, const float* a, const float* b, const float* weight, int N,
                         int C, float eps, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t r0, int64_t r1, int) {
    k.add_rmsnorm_forward_rows(sum + r0 * C, out + r0 * C, rstd + r0, a + r0 * C, b + r0 * C, weight, r1 - r0, C, eps);
  });
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C, bool accumulate, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    k.rmsnorm_backward_rows(dinp + b * C, dout + b * C, inp + b * C, weight, rstd + b, e - b, C, accumulate);
  });
  if (!dweight) return;
  add_column_blocks(dweight, C, pool, [&](float* acc, int c0, int width) {
    k.rmsnorm_dweight_block(acc, dout + c0, inp + c0, rstd, N, C, width);
  });
}

// Element-wise kernels split into contiguous pieces per thread; every element's result is the
// same whatever piece it falls in, so the split never changes a bit.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) { k.swiglu_forward(out + b, gate + b, up + b, e - b); });
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n,
                     ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    k.swiglu_backward(dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

void swiglu_forward_backward(float* out, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                             int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    k.swiglu_forward_backward(out + b, dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

namespace {
// Rotates every head of every row by its position's angles; Pair is rope_pair (forward) or
// rope_pair_grad (backward, the inverse rotation), the only difference between the two passes.
template <void (*Pair)(float*, float*, float, float)>
void rope_rows(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
               const int32_t* pos) {
  const int half = HD / 2;
  parallel_rows(pool, (int64_t)B * T, [&](int64_t b, int64_t e, int) {
    for (int64_t row = b; row < e; row++) {
      int t = pos ? pos[row] : (int)(row % T);
      const float* c = cos + (int64_t)t * half;
      const float* s = sin + (int64_t)t * half;
      for (int h = 0; h < nh; h++) {
        float* v = x + (row * nh + h) * HD;
        for (int i = 0; i < half; i++) Pair(&v[i], &v[i + half], c[i], s[i]);
      }
    }
  });
}
}  // namespace

void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
                  const int32_t* pos) {
  rope_rows<rope_pair>(x, cos, sin, B, T, nh, HD, pool, pos);
}

void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
                   const int32_t* pos) {
  rope_rows<rope_pair_grad>(dx, cos, sin, B, T, nh, HD, pool, pos);
}

}  // namespace tuner
