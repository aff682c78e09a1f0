// bf16 compute (Model::set_bf16): the weights the bf16 matmuls read. The f32 weights stay the
// master copy that the optimizer updates, checkpoints save and norms, embeddings and LoRA read;
// the decoder linears' weights and the lm_head are rounded to bf16 into one store: whole, before
// the first forward and the first after weights_changed() (LOMO's in-backward update), so once
// for a frozen base (LoRA, QLoRA); chunk by chunk inside a full fine-tune's optimizer step, which
// writes each updated chunk's copy through bf16_copies() while the chunk is in cache. The
// forwards of gradient accumulation and evaluation between two steps share one copy. Rounding is deterministic, so a resumed run rebuilds the
// same copy from the same master weights and exact resume holds.
#include <cstring>
#include <unordered_map>

#include "models/llama_model.h"
#include "tuner/error.h"
#include "tuner/gemm_bf16.h"

namespace tuner {

void Model::set_bf16(bool on) {
  if (on) throw TunerError("bad_plan", "this model has no bf16 compute", "Set precision to \"fp32\" in ARGS.json.");
}

void LlamaModel::set_bf16(bool on) {
  bf16_ = on;
  bf16_stale_ = on;
  if (on) return;
  for (Layer& L : layers_)
    for (Linear* l : L.linears) l->w16 = nullptr;
  lm_head16_ = nullptr;
  std::vector<uint16_t>().swap(bf16_store_);
}

void LlamaModel::refresh_bf16(ThreadPool* pool) {
  if (!bf16_ || !bf16_stale_) return;
  // QLoRA's quantized linears keep their own matmul; every f32 weight of a linear goes to bf16.
  auto rounds = [](const Linear& l) { return !l.qw && l.w && l.w->data; };
  size_t total = lm_head_ && lm_head_->data ? (size_t)lm_head_->numel() : 0;
  for (const Layer& L : layers_)
    for (const Linear* l : L.linears)
      if (rounds(*l)) total += (size_t)l->w->numel();
  if (bf16_store_.size() != total) bf16_store_.assign(total, 0);
  size_t off = 0;
  for (Layer& L : layers_)
    for (Linear* l : L.linears) {
      if (!rounds(*l)) continue;
      round_to_bf16(bf16_store_.data() + off, l->w->data, l->w->numel(), pool);
      l->w16 = bf16_store_.data() + off;
      off += (size_t)l->w->numel();
    }
  if (lm_head_ && lm_head_->data) {
    round_to_bf16(bf16_store_.data() + off, lm_head_->data, lm_head_->numel(), pool);
    lm_head16_ = bf16_store_.data() + off;
  }
  bf16_stale_ = false;
}

std::vector<uint16_t*> LlamaModel::bf16_copies(const std::vector<Param*>& params) {
  // Stale copies are remade whole before the next forward: nothing to keep current until then.
  if (!bf16_ || bf16_stale_) return {};
  // The products read the copies through const pointers; the store they point into is ours.
  std::unordered_map<const Param*, uint16_t*> copy_of;
  for (const Layer& L : layers_)
    for (const Linear* l : L.linears)
      if (l->w16) copy_of[l->w] = const_cast<uint16_t*>(l->w16);
  if (lm_head16_) copy_of[lm_head_] = const_cast<uint16_t*>(lm_head16_);
  std::vector<uint16_t*> out(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i)
    if (auto it = copy_of.find(params[i]); it != copy_of.end()) out[i] = it->second;
  return out;
}

}  // namespace tuner
