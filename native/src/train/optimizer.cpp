// AdamW, Lion and SGD (global-norm clipping folded into each update), LOMO's per-tensor step,
// and the global grad norm. Work is split
// into fixed-size chunks (not per thread) so every result, including the reduction order of the
// grad norm, is the same for any thread count; that keeps resumed runs bit-identical and makes
// thread count a pure speed knob. The element loops are vector kernels (vk_optimizer.inc,
// vk_reduce.inc) picked for this CPU. A step can also write each chunk's bf16 copy and zero its
// gradients right after updating it (OptimizerWrites), while the chunk is still in cache.
#include "tuner/optimizer.h"

#include <cmath>
#include <cstring>

#include "kernels/cpu/vector_kernels.h"
#include "train/optimizer_scalars.h"
#include "tuner/error.h"
#include "tuner/gemm_bf16.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

constexpr int64_t kChunk = 1 << 16;

// Calls fn(param_index, begin, end) for every fixed-size chunk of every parameter.
struct Chunk {
  size_t param;
  int64_t begin, end;
};

std::vector<Chunk> make_chunks(const std::vector<Param*>& params) {
  std::vector<Chunk> chunks;
  for (size_t p = 0; p < params.size(); ++p) {
    const int64_t n = params[p]->numel();
    for (int64_t b = 0; b < n; b += kChunk) chunks.push_back({p, b, std::min(n, b + kChunk)});
  }
  return chunks;
}

template <typename Fn>
void for_each_chunk(const std::vector<Chunk>& chunks, ThreadPool* pool, Fn&& fn) {
  if (!pool || pool->size() <= 1 || chunks.size() <= 1) {
    for (size_t c = 0; c < chunks.size(); ++c) fn(c);
    return;
  }
  pool->parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t b, int64_t e, int) {
    for (int64_t c = b; c < e; ++c) fn(static_cast<size_t>(c));
  });
}

}  // namespace

bool parse_optimizer_kind(const std::string& name, OptimizerKind* out) {
  if (name == "adamw") *out = OptimizerKind::AdamW;
  else if (name == "lion") *out = OptimizerKind::Lion;
  else if (name == "sgd") *out = OptimizerKind::Sgd;
  else return false;
  return true;
}

const char* optimizer_kind_name(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::AdamW: return "adamw";
    case OptimizerKind::Lion: return "lion";
    case OptimizerKind::Sgd: return "sgd";
  }
  return "?";
}

Optimizer::Optimizer(const OptimizerConfig& cfg, const std::vector<Param*>& params, bool states_only)
    : cfg_(cfg), params_(params), states_only_(states_only) {
  const int slots = optimizer_state_slots(cfg);
  TUNER_CHECK(!cfg.nesterov || (cfg.kind == OptimizerKind::Sgd && cfg.momentum > 0.0), "Nesterov needs SGD with momentum");
  state_.assign(static_cast<size_t>(slots), std::vector<std::vector<float>>(params.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    // Stateless SGD also stands for LOMO, whose gradients exist only inside backward.
    TUNER_CHECK(params[i]->grad != nullptr || slots == 0 || states_only, "optimizer given a frozen parameter: " + params[i]->name);
  }
  if (!states_only) allocate_states();
}

void Optimizer::allocate_states() {
  for (auto& slot : state_)
    for (size_t i = 0; i < params_.size(); ++i)
      if (slot[i].size() != static_cast<size_t>(params_[i]->numel())) slot[i].assign(static_cast<size_t>(params_[i]->numel()), 0.0f);
}

void Optimizer::release_states() {
  TUNER_CHECK(states_only_, "release_states() on an optimizer that updates on the host");
  for (auto& slot : state_)
    for (auto& v : slot) std::vector<float>().swap(v);
}

int optimizer_state_slots(const OptimizerConfig& cfg) {
  switch (cfg.kind) {
    case OptimizerKind::AdamW: return 2;
    case OptimizerKind::Lion: return 1;
    case OptimizerKind::Sgd: return cfg.momentum != 0.0 ? 1 : 0;
  }
  return 0;
}

AdamWScalars adamw_scalars(const OptimizerConfig& cfg, int64_t step, double lr, double grad_scale) {
  const double bc1 = 1.0 - std::pow(cfg.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(cfg.beta2, static_cast<double>(step));
  AdamWScalars s;
  s.grad_scale = static_cast<float>(grad_scale);
  s.decay = static_cast<float>(1.0 - lr * cfg.weight_decay);
  s.beta1 = static_cast<float>(cfg.beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - cfg.beta1);
  s.beta2 = static_cast<float>(cfg.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - cfg.beta2);
  s.step_size = static_cast<float>(lr / bc1);
  s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bc2));
  s.eps = static_cast<float>(cfg.eps);
  return s;
}

LionScalars lion_scalars(const OptimizerConfig& cfg, double lr, double grad_scale) {
  LionScalars s;
  s.grad_scale = static_cast<float>(grad_scale);
  s.decay = static_cast<float>(1.0 - lr * cfg.weight_decay);
  s.lr = static_cast<float>(lr);
  s.beta1 = static_cast<float>(cfg.beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - cfg.beta1);
  s.beta2 = static_cast<float>(cfg.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - cfg.beta2);
  return s;
}

SgdScalars sgd_scalars(const OptimizerConfig& cfg, double lr, double grad_scale) {
  SgdScalars s;
  s.grad_scale = static_cast<float>(grad_scale);
  s.weight_decay = static_cast<float>(cfg.weight_decay);
  s.momentum = static_cast<float>(cfg.momentum);
  s.lr = static_cast<float>(lr);
  s.nesterov = cfg.nesterov;
  return s;
}

const char* Optimizer::state_name(int slot) const {
  switch (cfg_.kind) {
    case OptimizerKind::AdamW: return slot == 0 ? "exp_avg" : "exp_avg_sq";
    case OptimizerKind::Lion: return "exp_avg";
    case OptimizerKind::Sgd: return "momentum_buffer";
  }
  return "?";
}

void Optimizer::step(double lr, ThreadPool* pool, double grad_scale, const OptimizerWrites& writes) {
  TUNER_CHECK(!states_only_, "step() on the host copy of a device optimizer's states");
  TUNER_CHECK(!writes.bf16 || writes.bf16->size() == params_.size(), "Optimizer::step: one bf16 copy per parameter");
  ++step_;
  // The scalar factors (optimizer_scalars.h) are computed in double and rounded once; the element
  // loops run in fp32 in the reference's order of operations.
  const VectorKernels& k = vector_kernels();
  const std::vector<Chunk> chunks = make_chunks(params_);
  auto write_chunk = [&](const Chunk& ch, Param* p) {
    const int64_t n = ch.end - ch.begin;
    if (uint16_t* copy = writes.bf16 ? (*writes.bf16)[ch.param] : nullptr) round_to_bf16(copy + ch.begin, p->data + ch.begin, n, nullptr);
    if (writes.zero_grads) std::memset(p->grad + ch.begin, 0, sizeof(float) * n);
  };
  if (cfg_.kind == OptimizerKind::AdamW) {
    const AdamWScalars s = adamw_scalars(cfg_, step_, lr, grad_scale);
    for_each_chunk(chunks, pool, [&](size_t c) {
      const Chunk& ch = chunks[c];
      Param* p = params_[ch.param];
      k.adamw_update(p->data + ch.begin, state_[0][ch.param].data() + ch.begin, state_[1][ch.param].data() + ch.begin,
                     p->grad + ch.begin, ch.end - ch.begin, s);
      write_chunk(ch, p);
    });
  } else if (cfg_.kind == OptimizerKind::Lion) {
    const LionScalars s = lion_scalars(cfg_, lr, grad_scale);
    for_each_chunk(chunks, pool, [&](size_t c) {
      const Chunk& ch = chunks[c];
      Param* p = params_[ch.param];
      k.lion_update(p->data + ch.begin, state_[0][ch.param].data() + ch.begin, p->grad + ch.begin, ch.end - ch.begin, s);
      write_chunk(ch, p);
    });
  } else {
    const SgdScalars s = sgd_scalars(cfg_, lr, grad_scale);
    const bool has_buf = !state_.empty();
    for_each_chunk(chunks, pool, [&](size_t c) {
      const Chunk& ch = chunks[c];
      Param* p = params_[ch.param];
      k.sgd_update(p->data + ch.begin, has_buf ? state_[0][ch.param].data() + ch.begin : nullptr, p->grad + ch.begin,
                   ch.end - ch.begin, s);
      write_chunk(ch, p);
    });
  }
}

void lomo_update(Param* p, double lr, double weight_decay, double grad_scale, ThreadPool* pool) {
  // SGD without momentum, decay decoupled as the LOMO paper writes it (w (1 - lr wd) - lr g).
  SgdScalars s;
  s.grad_scale = static_cast<float>(grad_scale);
  s.weight_decay = 0.0f;
  s.momentum = 0.0f;
  s.lr = static_cast<float>(lr);
  s.nesterov = false;
  const float decay = static_cast<float>(1.0 - lr * weight_decay);
  const std::vector<Chunk> chunks = make_chunks({p});
  const VectorKernels& k = vector_kernels();
  for_each_chunk(chunks, pool, [&](size_t c) {
    const Chunk& ch = chunks[c];
    float* w = p->data + ch.begin;
    const int64_t n = ch.end - ch.begin;
    if (decay != 1.0f)
      for (int64_t i = 0; i < n; ++i) w[i] *= decay;
    k.sgd_update(w, nullptr, p->grad + ch.begin, n, s);
  });
}

double global_grad_norm(const std::vector<Param*>& params, ThreadPool* pool) {
  const std::vector<Chunk> chunks = make_chunks(params);
  std::vector<double> partial(chunks.size(), 0.0);
  for_each_chunk(chunks, pool, [&](size_t c) {
    const Chunk& ch = chunks[c];
    partial[c] = vector_kernels().sum_squares(params[ch.param]->grad + ch.begin, ch.end - ch.begin);
  });
  double total = 0.0;
  for (double s : partial) total += s;  // fixed order: independent of the thread count
  return std::sqrt(total);
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0;
  const double coef = max_norm / (norm + 1e-6);
  return coef < 1.0 ? coef : 1.0;
}

}  // namespace tuner
