// bf16 compute (Model::set_bf16): the weights the bf16 matmuls read. The f32 weights stay the
// master copy that the optimizer updates, checkpoints save and norms, embeddings and LoRA read;
// the decoder linears' weights and the lm_head go to bf16 before the first forward and the first
// after weights_changed() (LOMO's in-backward update):
//   trainable (full fine-tune, LOMO)  rounded into one store, which a full fine-tune's optimizer
//       step then keeps current chunk by chunk (bf16_copies(), while each chunk is in cache);
//   frozen (LoRA, QLoRA's unquantized linears) where the CPU has the bf16 kernel: packed once as
//       the products read them (pack_frozen_bf16), so no step packs a weight again, and the
//       decoder linears' f32 masters given back to the system: nothing reads them after packing;
//   frozen elsewhere: rounded once into the store.
// The forwards of gradient accumulation and evaluation between two steps share them. Rounding is
// deterministic, so a resumed run rebuilds the same bits from the same master weights and exact
// resume holds.
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
  // The packed frozen weights are the only copy once their masters are gone (pack_frozen_bf16).
  TUNER_CHECK(on || !masters_dropped_, "set_bf16(false) after the frozen weights' f32 masters were dropped");
  if (masters_dropped_) return;
  bf16_ = on;
  bf16_stale_ = on;
  if (on) return;
  release_bf16();
  std::vector<uint16_t>().swap(bf16_store_);
}

// Drops the pointers to both representations, and the packed weights; the plain store stays
// for round_bf16_copy to reuse (LOMO remakes it every step) until set_bf16(false) or packing.
void LlamaModel::release_bf16() {
  for (Layer& L : layers_)
    for (Linear* l : L.linears) l->w16 = nullptr, l->w16_fwd = l->w16_bwd = nullptr;
  lm_head16_ = nullptr;
  lm_head16_fwd_ = lm_head16_bwd_ = nullptr;
  std::vector<Bf16PackedB>().swap(bf16_packed_);
}

namespace {
// QLoRA's quantized linears keep their own matmul; every f32 weight of a linear goes to bf16.
bool rounds(const Linear& l) { return !l.qw && l.w && l.w->data; }

// Gives a weight's f32 values back to the system (its whole pages), and data null, so a reader
// that should not exist fails at once instead of reading zeros.
void drop_master(Param& p) {
  release_whole_pages(p.data, sizeof(float) * size_t(p.numel()));
  p.data = nullptr;
}
}  // namespace

void LlamaModel::refresh_bf16(ThreadPool* pool) {
  if (!bf16_ || !bf16_stale_) return;
  TUNER_CHECK(!masters_dropped_, "the packed frozen weights cannot be remade: their f32 masters were dropped");
  bf16_stale_ = false;
  // Each builder sets every pointer its products read; the other's store goes.
  release_bf16();
  if (lora_enabled_ && gemm_bf16_native()) pack_frozen_bf16(pool);
  else round_bf16_copy(pool);
}

void LlamaModel::round_bf16_copy(ThreadPool* pool) {
  const bool head = lm_head_ && lm_head_->data;
  size_t total = head ? (size_t)lm_head_->numel() : 0;
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
  if (head) {
    round_to_bf16(bf16_store_.data() + off, lm_head_->data, lm_head_->numel(), pool);
    lm_head16_ = bf16_store_.data() + off;
  }
}

// Each frozen weight packed twice from its f32 values: as the B of the forward's x W^T (k along
// the weight's inputs) and of the backward's dy W (k along its outputs), each with room for the
// LoRA tail that joins that product (linear.cpp; an odd K takes none). 4 bytes per weight where
// the plain copy takes 2, for no packing of the weights in any step. A decoder linear's f32
// master goes as soon as it is packed: a LoRA run trains and saves only the adapters, and reads a
// frozen weight through these products only, so the run holds 4 bytes per frozen weight instead
// of 8 (f32 and the packed copies), and its peak while packing stays one linear above that. The
// lm_head keeps its master: tied to the embedding, the forward's lookup reads it. (The estimator
// counts all of this: src/core/args/estimate.ts.)
void LlamaModel::pack_frozen_bf16(ThreadPool* pool) {
  std::vector<uint16_t>().swap(bf16_store_);
  const bool head = lm_head_ && lm_head_->data;
  size_t count = head ? 2 : 0;
  for (const Layer& L : layers_)
    for (const Linear* l : L.linears) count += rounds(*l) ? 2 : 0;
  bf16_packed_.resize(count);
  size_t next = 0;
  // op(B) = W^T (forward) or W (backward); a Conv1D weight is stored [in, out], so transposed.
  auto pack = [&](int K, int N, bool transposed, const float* w, int ldw, int tail) {
    Bf16PackedB* out = &bf16_packed_[next++];
    pack_bf16_b(*out, transposed ? Trans::T : Trans::N, K, N, w, ldw, tail, pool);
    return out;
  };
  for (Layer& L : layers_)
    for (Linear* l : L.linears) {
      if (!rounds(*l)) continue;
      const int r = l->lora_a ? (int)l->lora_a->shape[0] : 0, ldw = l->in_out ? l->out : l->in;
      l->w16_fwd = pack(l->in, l->out, !l->in_out, l->w->data, ldw, l->in % 2 == 0 ? r : 0);
      l->w16_bwd = pack(l->out, l->in, l->in_out, l->w->data, ldw, l->out % 2 == 0 ? r : 0);
      drop_master(*l->w);
      masters_dropped_ = true;
    }
  if (head) {
    const int V = (int)lm_head_->shape[0], C = (int)lm_head_->shape[1];
    lm_head16_fwd_ = pack(C, V, true, lm_head_->data, C, 0);
    lm_head16_bwd_ = pack(V, C, false, lm_head_->data, C, 0);
  }
}

size_t LlamaModel::bf16_weight_bytes() const {
  size_t bytes = bf16_store_.size() * sizeof(uint16_t);
  for (const Bf16PackedB& p : bf16_packed_) bytes += p.bytes();
  return bytes;
}

size_t LlamaModel::f32_weight_bytes() const {
  size_t bytes = 0;
  for (const auto& p : base_)
    if (p->data) bytes += sizeof(float) * size_t(p->numel());
  return bytes;
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
