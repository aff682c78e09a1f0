// The forward over the KV cache for Qwen3, Gemma 3, GPT-2 and Bloom: the training model's layer
// (arch_forward.cpp) for n new tokens at positions p..p+n-1, with keys and values written
// straight into the cache rows (after the per-head k norm and RoPE where the model has them).
#include <cmath>
#include <cstring>

#include "infer/infer_internal.h"
#include "quant/quant_internal.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"

namespace tuner {

namespace {
void add_rows(float* h, const float* d, int64_t n) {
  for (int64_t i = 0; i < n; i++) h[i] += d[i];
}
}  // namespace

void Session::forward_chunk_arch(const uint32_t* ids, int n, float* head_rows, bool last_chunk) {
  const ModelConfig& c = config();
  const LlamaModel& M = *model_;
  const int C = c.hidden_size, F = c.intermediate_size, NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int QD = NH * HD, KD = NKV * HD, p = position(), half = HD / 2;
  ThreadPool* pool = n >= kGemmRows ? pool_.get() : nullptr;
  if (c.positions == PositionKind::Rope) {
    rope_tables(p, n);
    if (!inv_local_.empty())
      for (int t = 0; t < n; t++)
        for (int i = 0; i < half; i++) {
          const float ang = (float)(p + t) * (float)inv_local_[i];
          cos_local_[t * half + i] = (float)std::cos((double)ang);
          sin_local_[t * half + i] = (float)std::sin((double)ang);
        }
  }
  // Embedding rows (a tied embedding held quantized is decoded row by row).
  float* e0 = c.embed_norm ? tmp_ : h_;
  if (const float* E = M.embed()->data) {
    for (int i = 0; i < n; i++) std::memcpy(e0 + (int64_t)i * C, E + (int64_t)ids[i] * C, sizeof(float) * C);
  } else {
    const QuantView view = quant_view(head_.q);
    const QDecodeRange decode = quant_decode_range(head_.q.type);
    for (int i = 0; i < n; i++) decode(e0 + (int64_t)i * C, view, (int)ids[i], 0, C);
  }
  if (const Param* P = M.position_embed())
    for (int i = 0; i < n; i++) add_rows(e0 + (int64_t)i * C, P->data + (int64_t)(p + i) * C, C);
  if (c.embed_scale != 1.0f)
    for (int64_t i = 0; i < (int64_t)n * C; i++) e0[i] *= c.embed_scale;
  if (c.embed_norm) M.norm_forward(h_, mean_, rstd_, tmp_, M.embed_norm(), M.embed_norm_bias(), n, C, pool);

  AttentionExtras ex;
  ex.scale = c.attn_scale;
  ex.softcap = c.attn_softcap;
  ex.alibi = M.alibi();
  const auto& layers = M.layers();
  for (int l = 0; l < c.num_layers; l++) {
    const Layer& L = layers[l];
    const std::vector<InferLinear>& lin = lin_[l];
    float* kc = k_cache(l) + (int64_t)p * KD;
    float* vc = v_cache(l) + (int64_t)p * KD;
    M.norm_forward(x1_, mean_, rstd_, h_, L.ln1, L.ln1_b, n, C, pool);
    if (c.qkv != QkvLayout::Separate) {
      linear(lin[L.qkv.index], qkv_, x1_, n);
      const int W = QD + 2 * KD;
      const bool per_head = c.qkv == QkvLayout::FusedPerHead;
      for (int i = 0; i < n; i++) {
        const float* src = qkv_ + (int64_t)i * W;
        for (int h = 0; h < NH; h++) {  // NKV == NH for both fused layouts
          std::memcpy(q_ + (int64_t)i * QD + h * HD, src + (per_head ? 3 * h * HD : h * HD), sizeof(float) * HD);
          std::memcpy(kc + (int64_t)i * KD + h * HD, src + (per_head ? (3 * h + 1) * HD : QD + h * HD), sizeof(float) * HD);
          std::memcpy(vc + (int64_t)i * KD + h * HD, src + (per_head ? (3 * h + 2) * HD : QD + KD + h * HD), sizeof(float) * HD);
        }
      }
    } else if (c.qk_norm) {
      linear(lin[L.q.index], tmp_, x1_, n);
      M.norm_forward(q_, nullptr, mean_, tmp_, L.q_norm, nullptr, n * NH, HD, pool);  // mean_ holds n * NH
      linear(lin[L.k.index], tmp_, x1_, n);
      M.norm_forward(kc, nullptr, mean_, tmp_, L.k_norm, nullptr, n * NKV, HD, pool);
      linear(lin[L.v.index], vc, x1_, n);
    } else {
      linear(lin[L.q.index], q_, x1_, n);
      linear(lin[L.k.index], kc, x1_, n);
      linear(lin[L.v.index], vc, x1_, n);
    }
    if (c.positions == PositionKind::Rope) {
      const bool local = c.local_rope(l);
      rope_forward(q_, local ? cos_local_ : cos_, local ? sin_local_ : sin_, 1, n, NH, HD, pool);
      rope_forward(kc, local ? cos_local_ : kcos(), local ? sin_local_ : ksin(), 1, n, NKV, HD, pool);
    }
    ThreadPool* attn_pool = (int64_t)n * (p + n) * NH * HD >= kAttnForkWork ? pool_.get() : nullptr;
    attention_cache_forward(att_, q_, k_cache(l), v_cache(l), attn_scratch_, n, p, NH, NKV, HD, c.attention_window(l), attn_pool,
                            &ex);
    linear(lin[L.o.index], mid_, att_, n);
    if (c.sandwich_norms) {
      M.norm_forward(tmp_, nullptr, rstd_, mid_, L.post_attn, nullptr, n, C, pool);
      add_rows(h_, tmp_, (int64_t)n * C);
    } else {
      add_rows(h_, mid_, (int64_t)n * C);
    }
    M.norm_forward(x2_, mean_, rstd_, h_, L.ln2, L.ln2_b, n, C, pool);
    linear(lin[L.up.index], up_, x2_, n);
    if (c.mlp == MlpKind::Gelu) {
      gelu_forward(gate_, up_, (int64_t)n * F, pool);
    } else {
      linear(lin[L.gate.index], gate_, x2_, n);
      if (c.mlp == MlpKind::GeGLU) geglu_forward(gate_, gate_, up_, (int64_t)n * F, pool);
      else swiglu_forward(gate_, gate_, up_, (int64_t)n * F, pool);
    }
    linear(lin[L.down.index], mid_, gate_, n);
    if (c.sandwich_norms) {
      M.norm_forward(tmp_, nullptr, rstd_, mid_, L.post_ff, nullptr, n, C, pool);
      add_rows(h_, tmp_, (int64_t)n * C);
    } else {
      add_rows(h_, mid_, (int64_t)n * C);
    }
  }
  M.norm_forward(x1_, mean_, rstd_, h_, M.final_norm(), M.final_norm_bias(), n, C, pool);
  tokens_.insert(tokens_.end(), ids, ids + n);
  const int V = c.vocab_size;
  const float cap = c.final_softcap;
  auto capped = [&](float* row, int64_t count) {
    if (cap > 0)
      for (int64_t i = 0; i < count; i++) row[i] = cap * std::tanh(row[i] / cap);
  };
  if (head_rows) {
    linear(head_, head_rows, x1_, n);
    capped(head_rows, (int64_t)n * V);
    if (last_chunk) std::memcpy(logits_.data(), head_rows + (int64_t)(n - 1) * V, sizeof(float) * V);
  } else if (last_chunk) {
    linear(head_, logits_.data(), x1_ + (int64_t)(n - 1) * C, 1);
    capped(logits_.data(), V);
  }
}

}  // namespace tuner
