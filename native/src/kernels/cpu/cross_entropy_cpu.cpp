// Cross-entropy over [N, V] logits, the engine's largest memory sweep after the GEMMs (V is
// 32k-150k). The forward sweeps each row once for its log-sum-exp (max and sum of exps block by
// block) and keeps it, so the backward is a single pass that turns each logit into its gradient
// in place. Rows are independent and the mean is summed in row order, so every result is the
// same for any thread count.
#include <cmath>
#include <cstring>

#include "kernels/cpu/vector_kernels.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

namespace tuner {

float cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets, const uint8_t* mask,
                            int N, int V, ThreadPool* pool) {
  const VectorKernels& vk = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      if (mask && !mask[n]) {
        losses[n] = 0.0f;
        lse[n] = 0.0f;
        continue;
      }
      const float* l = logits + n * V;
      const double z = vk.log_sum_exp(l, V);
      lse[n] = (float)z;
      losses[n] = (float)(z - l[targets[n]]);
    }
  });
  double total = 0;
  int count = 0;
  for (int n = 0; n < N; n++)
    if (!mask || mask[n]) {
      total += losses[n];
      count++;
    }
  return count ? (float)(total / count) : 0.0f;
}

namespace {

// The one backward sweep: row n's weight is row_scale[n] when given, else w; a kept row becomes
// w * softmax - w * onehot(target), a masked-out row (or one whose row_scale is 0) zeros.
void backward_rows(float* d, const float* lse, const uint32_t* targets, const uint8_t* mask, const float* row_scale, float w,
                   int N, int V, ThreadPool* pool) {
  const VectorKernels& vk = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      float* l = d + n * V;
      const float wn = row_scale ? row_scale[n] : w;
      if ((mask && !mask[n]) || (row_scale && wn == 0.0f)) {
        std::memset(l, 0, sizeof(float) * V);
        continue;
      }
      vk.exp_scale(l, V, lse[n], wn);  // wn * softmax
      l[targets[n]] -= wn;
    }
  });
}

}  // namespace

void cross_entropy_backward_inplace(float* d, const float* lse, const uint32_t* targets, const uint8_t* mask, int N, int V,
                                    float scale, ThreadPool* pool) {
  int count = N;
  if (mask) {
    count = 0;
    for (int n = 0; n < N; n++) count += mask[n] ? 1 : 0;
  }
  backward_rows(d, lse, targets, mask, nullptr, count ? scale / count : 0.0f, N, V, pool);
}

void cross_entropy_backward_rows_inplace(float* d, const float* lse, const uint32_t* targets, const float* row_scale, int N,
                                         int V, ThreadPool* pool) {
  backward_rows(d, lse, targets, nullptr, row_scale, 0.0f, N, V, pool);
}

}  // namespace tuner
