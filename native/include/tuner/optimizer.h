// AdamW with the semantics of torch.optim.AdamW (decoupled weight decay, bias correction,
// amsgrad off), and gradient clipping by global norm as torch.nn.utils.clip_grad_norm_.
// Moments are fp32 and held per parameter in the order of Model::trainable_params(), which is
// stable, so a checkpoint can name them after the parameters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/model.h"

namespace tuner {

class ThreadPool;

struct AdamWConfig {
  double lr = 1e-3;  // base lr; each step gets the scheduled lr
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  AdamW(const AdamWConfig& cfg, const std::vector<Param*>& params);

  // One update of every parameter from grad * grad_scale with learning rate lr. Increments
  // step(). grad_scale is clip_coefficient(): the update sees exactly the gradients
  // clip_grad_norm_ would have scaled in place, without a pass that rewrites them (the grads
  // themselves are left as they were).
  void step(double lr, ThreadPool* pool, double grad_scale = 1.0);

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  const AdamWConfig& config() const { return cfg_; }
  const std::vector<Param*>& params() const { return params_; }
  // First and second moments of params()[i], numel() floats each.
  std::vector<float>& exp_avg(size_t i) { return m_[i]; }
  std::vector<float>& exp_avg_sq(size_t i) { return v_[i]; }
  const std::vector<float>& exp_avg(size_t i) const { return m_[i]; }
  const std::vector<float>& exp_avg_sq(size_t i) const { return v_[i]; }

 private:
  AdamWConfig cfg_;
  std::vector<Param*> params_;
  std::vector<std::vector<float>> m_, v_;
  int64_t step_ = 0;
};

// L2 norm over all grads together (as one concatenated vector), accumulated in double so the
// result does not depend on the thread count. Returns NaN/Inf if any grad is non-finite.
double global_grad_norm(const std::vector<Param*>& params, ThreadPool* pool);

// The factor clip_grad_norm_ scales every grad by: min(1, max_norm / (norm + 1e-6)); 1 when
// max_norm <= 0 (clipping off). Pass it to AdamW::step.
double clip_coefficient(double norm, double max_norm);

}  // namespace tuner
