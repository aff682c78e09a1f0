// The device session's forward over the KV cache (device_infer.h): the device model's layer
// (device_forward.cpp, device_arch.cpp for Qwen3, Gemma 3, GPT-2 and Bloom) for n new tokens at
// positions p..p+n-1, with k and v rounded into the cache rows and the queries attending to every
// cached row their window allows. The traits of ModelConfig pick the steps, as the CPU session's
// forward_chunk_arch (session_forward_arch.cpp) does.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "device/device_infer_internal.h"

namespace tuner::dev {

void DeviceInferSession::dynamic_rope(int p, int n) {
  const ModelConfig& c = config();
  const int seq_len = p + n, half = c.head_dim / 2;
  dynamic_rope_update(c, seq_len, &inv_freq_, &rope_af_, &dyn_len_);  // the CPU session's rule
  // Rows p..p+n-1 (Session::rope_tables): rope_table's rows 0..p+n-1, the first p dropped.
  std::vector<float> cos((size_t)seq_len * half), sin(cos.size());
  rope_table(cos.data(), sin.data(), inv_freq_, rope_af_, seq_len, half);
  const size_t at = (size_t)p * half, bytes = sizeof(float) * (size_t)n * half;
  ops_->upload(cos_.get() + at, cos.data() + at, bytes);
  ops_->upload(sin_.get() + at, sin.data() + at, bytes);
}

void DeviceInferSession::norm(float* out, const DeviceNorm& w, const float* in, int rows, int width) {
  const float eps = config().rms_norm_eps;
  if (config().norm == NormKind::Layer) ops_->layernorm_forward(out, mean_, rstd_, in, w.w.get(), w.b.get(), rows, width, eps);
  else ops_->rmsnorm_forward(out, rstd_, in, w.w.get(), rows, width, eps);
}

const bf16* DeviceInferSession::product_input(const float* x32, int n, int width) {
  if (n <= kGemvMaxRows) return nullptr;  // decode's products read x32
  ops_->to_bf16(x16_, x32, (int64_t)n * width);
  return x16_;
}

void DeviceInferSession::linear(const DeviceLinear& l, float* y, const float* x32, const bf16* x16, int n, bool accumulate) {
  DeviceOps& ops = *ops_;
  const bool gemv = n <= kGemvMaxRows;
  if (gemv && l.q) ops.qgemv(y, x32, *l.q, n, accumulate);
  else if (gemv) ops.gemv_bf16(y, x32, l.w16.get(), l.out, l.in, n, accumulate);
  else if (l.q) ops.qgemm(y, l.out, x16, l.in, *l.q, n, accumulate);
  else ops.gemm(Trans::N, Trans::T, n, l.out, l.in, 1.0f, x16, l.in, l.w16.get(), l.in, accumulate ? 1.0f : 0.0f, y, l.out);
  if (l.bias.get()) ops.bias_forward(y, l.bias.get(), n, l.out);
  if (!l.rank) return;
  // LoRA on the fly, PEFT's formula: y += scaling * (x A^T) B^T.
  const int r = l.rank;
  if (gemv) {
    ops.gemv_bf16(lora_t32_, x32, l.lora_a.get(), r, l.in, n, false);
    ops.scale(lora_t32_, l.scaling, (int64_t)n * r);
    ops.gemv_bf16(y, lora_t32_, l.lora_b.get(), l.out, r, n, true);
    return;
  }
  ops.gemm(Trans::N, Trans::T, n, r, l.in, 1.0f, x16, l.in, l.lora_a.get(), l.in, 0.0f, lora_t32_, r);
  ops.to_bf16(lora_t16_, lora_t32_, (int64_t)n * r);
  ops.gemm(Trans::N, Trans::T, n, l.out, r, l.scaling, lora_t16_, r, l.lora_b.get(), r, 1.0f, y, l.out);
}

void DeviceInferSession::forward_chunk(const uint32_t* ids, int n, float* head_rows, bool last_chunk) {
  DeviceOps& ops = *ops_;
  const ModelConfig& c = config();
  const int C = c.hidden_size, F = c.intermediate_size, NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int QD = NH * HD, KD = NKV * HD, V = c.vocab_size, p = position();
  const int64_t NC = (int64_t)n * C, NF = (int64_t)n * F;
  std::vector<int32_t> positions(n);
  std::iota(positions.begin(), positions.end(), p);
  ops.upload(tok_, ids, sizeof(uint32_t) * n);
  ops.upload(pos_, positions.data(), sizeof(int32_t) * n);
  // Embedding: scaled (Gemma), plus the learned position rows (GPT-2), then LayerNorm (Bloom).
  float* e0 = c.embed_norm ? x32_ : h_;
  ops.embedding_forward(e0, embed_.get(), tok_, n, C, c.embed_scale);
  if (wpe_.get()) {
    ops.embedding_forward(t32_, wpe_.get(), reinterpret_cast<const uint32_t*>(pos_), n, C, 1.0f);
    ops.add(e0, e0, t32_, NC);
  }
  if (c.embed_norm) norm(h_, embed_norm_, x32_, n, C);
  const auto& layers = model_->layers();
  for (int l = 0; l < c.num_layers; l++) {
    const Layer& L = layers[l];
    const std::vector<DeviceLinear>& lin = lin_[l];  // in Layer::linears order
    const DeviceLayerNorms& N = norms_[l];
    bf16* kc = k_cache(l);
    bf16* vc = v_cache(l);
    norm(x32_, N.ln1, h_, n, C);
    const bf16* x16 = product_input(x32_, n, C);
    if (c.qkv != QkvLayout::Separate) {  // GPT-2's c_attn, Bloom's query_key_value
      linear(lin[L.qkv.index], qkv32_, x32_, x16, n, false);
      ops.split_qkv(q32_, k32_, v32_, qkv32_, n, NH, NKV, HD, c.qkv == QkvLayout::FusedPerHead);
    } else if (c.qk_norm) {  // Qwen3, Gemma 3: per-head norms before RoPE
      linear(lin[L.q.index], y32_, x32_, x16, n, false);
      linear(lin[L.k.index], t32_, x32_, x16, n, false);
      linear(lin[L.v.index], v32_, x32_, x16, n, false);
      norm(q32_, N.q, y32_, n * NH, HD);
      norm(k32_, N.k, t32_, n * NKV, HD);
    } else {
      linear(lin[L.q.index], q32_, x32_, x16, n, false);
      linear(lin[L.k.index], k32_, x32_, x16, n, false);
      linear(lin[L.v.index], v32_, x32_, x16, n, false);
    }
    if (c.positions == PositionKind::Rope) {
      const bool local = c.local_rope(l);  // Gemma's sliding layers: their own base
      const float* cs = local ? cos_local_.get() : cos_.get();
      const float* sn = local ? sin_local_.get() : sin_.get();
      ops.rope_forward(q32_, cs, sn, 1, n, NH, HD, pos_);
      ops.rope_forward(k32_, cs, sn, 1, n, NKV, HD, pos_);
    }
    ops.to_bf16(q16_, q32_, (int64_t)n * QD);
    ops.to_bf16(kc + (int64_t)p * KD, k32_, (int64_t)n * KD);
    ops.to_bf16(vc + (int64_t)p * KD, v32_, (int64_t)n * KD);
    DecodeShape s;
    s.n = n, s.pos = p, s.NH = NH, s.NKV = NKV, s.HD = HD;
    s.window = c.attention_window(l);
    s.scale = c.attn_scale, s.softcap = c.attn_softcap, s.alibi = alibi_.get();
    ops.attention_decode(y16_, q16_, kc, vc, s);
    if (n <= kGemvMaxRows) ops.to_f32(y32_, y16_, (int64_t)n * QD);
    if (c.sandwich_norms) {  // Gemma: h += norm(o(att))
      linear(lin[L.o.index], t32_, y32_, y16_, n, false);
      norm(x32_, N.post_attn, t32_, n, C);
      ops.add(h_, h_, x32_, NC);
    } else {
      linear(lin[L.o.index], h_, y32_, y16_, n, true);  // h += attention
    }
    norm(x32_, N.ln2, h_, n, C);
    const bf16* x2 = product_input(x32_, n, C);
    if (c.mlp != MlpKind::Gelu) linear(lin[L.gate.index], gate_, x32_, x2, n, false);
    linear(lin[L.up.index], up_, x32_, x2, n, false);
    switch (c.mlp) {
      case MlpKind::Gelu: ops.gelu_forward(m32_, up_, NF); break;
      case MlpKind::GeGLU: ops.geglu_forward(m32_, gate_, up_, NF); break;
      default: ops.swiglu_forward(m32_, gate_, up_, NF); break;
    }
    const bf16* m16 = product_input(m32_, n, F);
    if (c.sandwich_norms) {
      linear(lin[L.down.index], t32_, m32_, m16, n, false);
      norm(x32_, N.post_ff, t32_, n, C);
      ops.add(h_, h_, x32_, NC);
    } else {
      linear(lin[L.down.index], h_, m32_, m16, n, true);  // h += MLP
    }
  }
  tokens_.insert(tokens_.end(), ids, ids + n);
  const float cap = c.final_softcap;  // Gemma's final logits: cap tanh(x / cap)
  if (head_rows) {
    norm(x32_, final_norm_, h_, n, C);
    linear(head_, logits_dev_, x32_, product_input(x32_, n, C), n, false);
    if (cap > 0) ops.softcap_forward(logits_dev_, cap_t_, (int64_t)n * V, cap);
    ops.download(head_rows, logits_dev_, sizeof(float) * (size_t)n * V);
    if (last_chunk) std::memcpy(logits_.data(), head_rows + (size_t)(n - 1) * V, sizeof(float) * V);
  } else if (last_chunk) {
    norm(x32_, final_norm_, h_ + (int64_t)(n - 1) * C, 1, C);
    linear(head_, logits_dev_, x32_, nullptr, 1, false);
    if (cap > 0) ops.softcap_forward(logits_dev_, cap_t_, V, cap);
    ops.download(logits_.data(), logits_dev_, sizeof(float) * V);
  }
}

}  // namespace tuner::dev
