// The per-element math that the CPU kernels and the CUDA kernels (src/cuda/elementwise.cu,
// optim.cu) share, so both compute each element with the same formula in the same order of
// operations. TUNER_HD (tuner/ops.h) is __host__ __device__ under nvcc and plain inline
// otherwise. The activations and rotations live with the ops they belong to and are already
// TUNER_HD: silu / silu_grad / swiglu / swiglu_grad / rope_pair / rope_pair_grad / fast_expf in
// tuner/ops.h, gelu_tanh / gelu_tanh_grad (the only GELU the engine computes: GPT-2's gelu_new,
// Bloom's and Gemma's tanh form) in tuner/ops_arch.h. This file adds the optimizer updates and the
// normalisation scales.
#pragma once
#include <cmath>

#include "kernels/cpu/vector_kernels.h"  // AdamWScalars, LionScalars, SgdScalars (plain structs)
#include "tuner/ops.h"
#include "tuner/ops_arch.h"

namespace tuner {

// One AdamW element in torch.optim.AdamW's order (see vk_optimizer.inc).
TUNER_HD void adamw_element(float& w, float& m, float& v, float g, const AdamWScalars& s) {
  const float gi = g * s.grad_scale;
  const float wi = w * s.decay;
  const float mi = m * s.beta1 + gi * s.one_minus_beta1;
  const float vi = v * s.beta2 + gi * gi * s.one_minus_beta2;
  m = mi;
  v = vi;
  const float denom = std::sqrt(vi) / s.bias_correction2_sqrt + s.eps;
  w = wi - s.step_size * (mi / denom);
}

// One Lion element (lion-pytorch's order): decay, step by the sign of the interpolation, move m.
TUNER_HD void lion_element(float& w, float& m, float g, const LionScalars& s) {
  const float gi = g * s.grad_scale;
  const float c = m * s.beta1 + gi * s.one_minus_beta1;
  const float sign = static_cast<float>((c > 0.0f) - (c < 0.0f));
  w = w * s.decay - s.lr * sign;
  m = m * s.beta2 + gi * s.one_minus_beta2;
}

// One SGD element without a momentum buffer: w -= lr (g + wd w).
TUNER_HD void sgd_element(float& w, float g, const SgdScalars& s) {
  const float d = g * s.grad_scale + s.weight_decay * w;
  w = w - s.lr * d;
}

// One SGD element with momentum (torch.optim.SGD, dampening 0; Nesterov when s.nesterov).
TUNER_HD void sgd_momentum_element(float& w, float& buf, float g, const SgdScalars& s) {
  const float d = g * s.grad_scale + s.weight_decay * w;
  const float b = buf * s.momentum + d;
  buf = b;
  w = s.nesterov ? w - s.lr * (d + s.momentum * b) : w - s.lr * b;
}

// A norm's per-row scale 1 / sqrt(x + eps): x is the mean of squares (RMSNorm) or the biased
// variance (LayerNorm).
TUNER_HD float norm_rstd(float x, float eps) { return 1.0f / std::sqrt(x + eps); }

}  // namespace tuner
