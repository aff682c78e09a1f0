// The trainer's optimizers, each with the semantics of its PyTorch reference:
//   adamw  torch.optim.AdamW (decoupled weight decay, bias correction, amsgrad off)
//   lion   the update rule of Chen et al. 2023 ("Symbolic Discovery of Optimization Algorithms",
//          as lion-pytorch writes it): c = b1 m + (1 - b1) g; w = w (1 - lr wd) - lr sign(c);
//          m = b2 m + (1 - b2) g. One moment instead of AdamW's two.
//   sgd    torch.optim.SGD (weight decay added to the gradient, momentum buffer, Nesterov,
//          dampening 0); with momentum 0 it keeps no state.
// and gradient clipping by global norm as torch.nn.utils.clip_grad_norm_. States are fp32 and
// held per parameter in the order of Model::trainable_params(), which is stable, so a checkpoint
// names them after the parameters (state_name(slot) + "." + parameter name).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/model.h"

namespace tuner {

class ThreadPool;

enum class OptimizerKind { AdamW, Lion, Sgd };

// "adamw" | "lion" | "sgd"; false for other names.
bool parse_optimizer_kind(const std::string& name, OptimizerKind* out);
const char* optimizer_kind_name(OptimizerKind k);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::AdamW;
  double lr = 1e-3;  // base lr; each step gets the scheduled lr
  double beta1 = 0.9, beta2 = 0.999;  // adamw and lion (lion's usual betas are 0.9, 0.99)
  double eps = 1e-8;                  // adamw
  double weight_decay = 0.01;
  double momentum = 0.0;  // sgd
  bool nesterov = false;  // sgd; needs momentum > 0
};

// What Optimizer::step() also writes, chunk by chunk, right after updating a chunk (while its
// weights and gradients are still in cache), instead of a pass of its own over every weight or
// gradient.
struct OptimizerWrites {
  // Per parameter (Optimizer::params() order): where the new values go rounded to bf16
  // (round_to_bf16, Model::bf16_copies), or null.
  const std::vector<uint16_t*>* bf16 = nullptr;
  bool zero_grads = false;  // the gradients set to zero, ready for the next step's accumulation
};

class Optimizer {
 public:
  // states_only: the host copy of a device optimizer's states (device/device_optimizer.h), read
  // and written around checkpoints; its params need no host gradients, step() is refused, and
  // its states exist only between allocate_states() and release_states(), so a GPU run does not
  // hold a second copy of them in host memory between checkpoints.
  Optimizer(const OptimizerConfig& cfg, const std::vector<Param*>& params, bool states_only = false);
  void allocate_states();  // zeros where a state is not allocated (done at once unless states_only)
  void release_states();   // states_only: frees the host copy

  // One update of every parameter from grad * grad_scale with learning rate lr. Increments
  // step(). grad_scale is clip_coefficient(): the update sees exactly the gradients
  // clip_grad_norm_ would have scaled in place, without a pass that rewrites them (the grads
  // themselves are left as they were unless writes.zero_grads).
  void step(double lr, ThreadPool* pool, double grad_scale = 1.0, const OptimizerWrites& writes = {});

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  const OptimizerConfig& config() const { return cfg_; }
  const std::vector<Param*>& params() const { return params_; }

  // State slots per parameter: adamw 2 (exp_avg, exp_avg_sq), lion 1 (exp_avg), sgd 1
  // (momentum_buffer) with momentum, else 0. state(slot, i) holds params()[i]->numel() floats.
  int state_slots() const { return static_cast<int>(state_.size()); }
  const char* state_name(int slot) const;
  std::vector<float>& state(int slot, size_t i) { return state_[slot][i]; }
  const std::vector<float>& state(int slot, size_t i) const { return state_[slot][i]; }

 private:
  OptimizerConfig cfg_;
  std::vector<Param*> params_;
  std::vector<std::vector<std::vector<float>>> state_;  // [slot][param][element]
  int64_t step_ = 0;
  bool states_only_ = false;
};

// L2 norm over all grads together (as one concatenated vector), accumulated in double so the
// result does not depend on the thread count. Returns NaN/Inf if any grad is non-finite.
double global_grad_norm(const std::vector<Param*>& params, ThreadPool* pool);

// The factor clip_grad_norm_ scales every grad by: min(1, max_norm / (norm + 1e-6)); 1 when
// max_norm <= 0 (clipping off). Pass it to Optimizer::step.
double clip_coefficient(double norm, double max_norm);

// LOMO (Lv et al. 2023, "Full Parameter Fine-tuning for Large Language Models with Limited
// Resources"): plain SGD applied to one tensor as soon as its gradient is complete, inside
// backward, so no optimizer state and no gradient of the whole model is ever held:
// w = w * (1 - lr wd) - lr * g * grad_scale, over fixed chunks (the result does not depend on
// the thread count).
void lomo_update(Param* p, double lr, double weight_decay, double grad_scale, ThreadPool* pool);

}  // namespace tuner
