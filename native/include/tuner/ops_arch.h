// Per-element math and kernels that GPT-2, Bloom and Gemma 3 add to the Llama family's:
// LayerNorm (with bias), GELU with the tanh approximation (GPT-2's gelu_new, Bloom's
// bloom_gelu, Gemma's gelu_pytorch_tanh: one formula), GeGLU, and tanh soft-capping of logits.
// Shapes: N rows, C channels. Threaded over rows; column sums (norm weight gradients) in
// column blocks, so every result is independent of the thread count.
#pragma once
#include <cmath>
#include <cstdint>

#include "tuner/ops.h"

namespace tuner {

// gelu(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as the equal
// x * sigmoid(2u) through fast_expf: libm's tanhf is a scalar call (it was half of a GPT-2 or Bloom
// training step on the CPU), and the sigmoid form loses no bits where 1 + tanh(u) cancels (x << 0).
// d gelu / dx = s (1 + x (1 - s) 2u'), s = sigmoid(2u), 2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2).
// The vector kernels (vk_elementwise.inc) use the same operations in the same order.
// e = exp(-2u), so s = sigmoid(2u) = 1 / (1 + e) and 1 - s = e s, which the gradient takes
// instead of 1 - s (that subtraction cancels where s is near 1 and cost the gradient 3x accuracy).
TUNER_HD float gelu_tanh_e(float x) { return fast_expf(-1.5957691216057308f * (x + 0.044715f * x * x * x)); }
TUNER_HD float gelu_tanh_s(float x) { return 1.0f / (1.0f + gelu_tanh_e(x)); }
TUNER_HD float gelu_tanh(float x) { return x * gelu_tanh_s(x); }
TUNER_HD float gelu_tanh_grad(float x) {
  const float e = gelu_tanh_e(x), s = 1.0f / (1.0f + e);
  return s * (1.0f + x * (e * s) * 1.5957691216057308f * (1.0f + 0.134145f * x * x));
}

// out, mean, rstd = LayerNorm(inp) * weight + bias; rstd = 1 / sqrt(var + eps) (biased var).
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C, float eps, ThreadPool* pool);
// dinp = (or += when accumulate) d/dinp; dweight, dbias += their gradients (either may be null).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                        const float* mean, const float* rstd, int N, int C, bool accumulate, ThreadPool* pool);
// dst[c] += sum_n src[n, c] in column blocks (a fixed order per column).
void add_column_sums(float* dst, const float* src, int N, int C, ThreadPool* pool);

// out = gelu_tanh(x); the fused backward also recomputes out (for the next linear's gradient).
void gelu_forward(float* out, const float* x, int64_t n, ThreadPool* pool);
void gelu_forward_backward(float* out, float* dx, const float* dout, const float* x, int64_t n, ThreadPool* pool);
// GeGLU: out = gelu_tanh(gate) * up; dgate may be dout.
void geglu_forward(float* out, const float* gate, const float* up, int64_t n, ThreadPool* pool);
void geglu_forward_backward(float* out, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t n, ThreadPool* pool);

// x = cap * tanh(x / cap) in place, keeping t = tanh(x / cap) for the backward, which scales
// d x by (1 - t^2) in place.
void softcap_forward(float* x, float* t, int64_t n, float cap, ThreadPool* pool);
void softcap_backward(float* dx, const float* t, int64_t n, ThreadPool* pool);

}  // namespace tuner
