// LOMO's gradient handling (Model::set_grad_ready_hook): instead of a gradient per weight held
// until the optimizer step (4 bytes per parameter, as much as the weights), backward writes a
// layer's gradients into one buffer shared by all layers, hands each finished tensor to the hook
// (which updates the weight) and reuses the buffer for the next layer down. The embedding, final
// norm and lm_head keep their own gradients: the tied embedding's is complete only at the end.
// Peak gradient memory: one layer + the weights outside the layers, instead of the whole model.
#include <algorithm>
#include <cctype>

#include "models/llama_model.h"
#include "tuner/error.h"

namespace tuner {

namespace {

// The decoder layer a weight belongs to: the first all-digit component of its name
// ("model.layers.3.mlp.up_proj.weight" -> 3, "transformer.h.0.attn.c_attn.weight" -> 0), or -1.
int layer_of(const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    bool digits = end > start;
    for (size_t i = start; i < end && digits; i++) digits = std::isdigit(static_cast<unsigned char>(name[i])) != 0;
    if (digits) return std::stoi(name.substr(start, end - start));
    start = end + 1;
  }
  return -1;
}

}  // namespace

void LlamaModel::set_grad_ready_hook(GradReadyHook hook) {
  if (lora_enabled_)
    throw TunerError("unsupported_method", "LOMO updates every weight during backward; it does not combine with LoRA",
                     "Use method \"lomo\" without lora, or method \"lora\".");
  TUNER_CHECK(base_grads_.empty(), "set_grad_ready_hook() after gradients were allocated");
  grad_hook_ = std::move(hook);
}

// In LOMO mode ensure_grads() calls this instead of allocating a gradient per weight.
void LlamaModel::ensure_released_grads() {
  if (!layer_grads_.empty() || base_.empty()) return;
  int64_t outer = 0;
  std::vector<int64_t> per_layer(cfg_.num_layers, 0);
  for (auto& p : base_) {
    const int l = layer_of(p->name);
    if (l >= 0 && l < cfg_.num_layers) per_layer[l] += p->numel();
    else outer += p->numel();
  }
  int64_t widest = 1;
  for (int64_t n : per_layer) widest = std::max(widest, n);
  layer_grads_.assign((size_t)widest, 0.0f);
  outer_grads_.assign((size_t)std::max<int64_t>(outer, 1), 0.0f);
  int64_t off = 0;
  for (auto& p : base_) {
    const int l = layer_of(p->name);
    if (l >= 0 && l < cfg_.num_layers) continue;
    p->grad = outer_grads_.data() + off;
    off += p->numel();
  }
}

void LlamaModel::bind_layer_grads(int l) {
  int64_t off = 0;
  for (auto& p : base_) {
    if (layer_of(p->name) != l) continue;
    p->grad = layer_grads_.data() + off;
    off += p->numel();
  }
  std::fill(layer_grads_.begin(), layer_grads_.begin() + off, 0.0f);
}

void LlamaModel::release_layer_grads(int l) {
  bf16_stale_ = bf16_;  // the hook may update these weights (LOMO): the bf16 copy is remade
  for (auto& p : base_) {
    if (layer_of(p->name) != l) continue;
    grad_hook_(p.get());
    p->grad = nullptr;
  }
}

void LlamaModel::release_outer_grads() {
  bf16_stale_ = bf16_;
  for (auto& p : base_)
    if (p->grad && layer_of(p->name) < 0) grad_hook_(p.get());
}

}  // namespace tuner
