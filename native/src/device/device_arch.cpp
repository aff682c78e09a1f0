// DeviceModel's layers for the architectures beyond the Llama family (Qwen3, Gemma 3, GPT-2,
// Bloom): the CPU engine's arch_forward.cpp / arch_backward.cpp as device ops, in the precision
// of device_forward.cpp (fp32 residual stream, norms and element-wise math; bf16 operands for the
// products and attention). The traits of ModelConfig pick the steps:
//   norms      RMSNorm, Gemma's RMSNorm with (1 + w) (the sum made on the device before each use;
//              its gradient is w's), or LayerNorm with bias (GPT-2, Bloom), also per head on q/k
//              (qk_norm: Qwen3, Gemma 3) and around attention and the MLP (Gemma's sandwich norms);
//   q/k/v      separate, or one fused GEMM split by split_qkv ([q | k | v] for GPT-2's c_attn,
//              [head][q, k, v] for Bloom's query_key_value) and merged back for its gradient;
//   positions  RoPE (Gemma's sliding layers with their local base), learned (GPT-2's wpe, added to
//              the embedding) or ALiBi (Bloom: slopes in AttentionShape::alibi);
//   MLP        SwiGLU, GeGLU (Gemma) or GELU on up alone (GPT-2, Bloom);
//   embedding  scaled by sqrt(C) (Gemma), plus positions (GPT-2), then LayerNorm (Bloom).
// GPT-2's Conv1D weights sit on the device as [out, in] like every other linear (device_model.cpp
// transposes them on the way up and back), so the linears here are the Llama path's.
#include <cmath>

#include "device/device_model_internal.h"
#include "tuner/error.h"

namespace tuner::dev {

const float* DeviceModel::Impl::norm_weight(const Param* w, int n) {
  if (cfg().norm != NormKind::RMSOnePlus) return t(w).w.get();
  ops.add(act.norm_w, t(w).w.get(), act.ones, n);  // in queue order, so one buffer serves every norm
  return act.norm_w;
}

void DeviceModel::Impl::norm_forward(float* out, float* mean, float* rstd, const float* inp, const Param* w, const Param* b,
                                     int rows, int width) {
  const float eps = cfg().rms_norm_eps;
  if (cfg().norm == NormKind::Layer) ops.layernorm_forward(out, mean, rstd, inp, t(w).w.get(), b ? t(b).w.get() : nullptr, rows, width, eps);
  else ops.rmsnorm_forward(out, rstd, inp, norm_weight(w, width), rows, width, eps);
}

void DeviceModel::Impl::norm_backward(float* dinp, const float* dout, const float* inp, const float* mean, const float* rstd,
                                      const Param* w, const Param* b, int rows, int width, bool accumulate) {
  if (cfg().norm == NormKind::Layer) {
    ops.layernorm_backward(dinp, t(w).g.get(), b ? t(b).g.get() : nullptr, dout, inp, t(w).w.get(), mean, rstd, rows, width,
                           accumulate);
    return;
  }
  ops.rmsnorm_backward(dinp, t(w).g.get(), dout, inp, norm_weight(w, width), rstd, rows, width, accumulate);
}

void DeviceModel::Impl::embed_forward(float* h) {
  const ModelConfig& c = cfg();
  const int N = act.B * act.T, C = c.hidden_size;
  float* e0 = c.embed_norm ? act.emb_raw : h;
  ops.embedding_forward(e0, t(host.embed()).w.get(), act.tokens, N, C, c.embed_scale);
  if (const Param* wpe = host.position_embed()) {
    ops.embedding_forward(act.x32, t(wpe).w.get(), act.pos_ids, N, C, 1.0f);
    ops.add(e0, e0, act.x32, (int64_t)N * C);
  }
  if (c.embed_norm) norm_forward(h, act.emb_mean, act.emb_rstd, act.emb_raw, host.embed_norm(), host.embed_norm_bias(), N, C);
}

// act.dres holds d h (the first layer's input).
void DeviceModel::Impl::embed_backward() {
  const ModelConfig& c = cfg();
  const int N = act.B * act.T, C = c.hidden_size;
  DeviceTensor& embed = t(host.embed());
  const Param* wpe = host.position_embed();
  const bool pos_trains = wpe && t(wpe).g.get();
  const float* d = act.dres;
  if (c.embed_norm && (embed.g.get() || t(host.embed_norm()).g.get())) {
    norm_backward(act.dx, act.dres, act.emb_raw, act.emb_mean, act.emb_rstd, host.embed_norm(), host.embed_norm_bias(), N, C,
                  false);
    d = act.dx;
  }
  if (embed.g.get()) ops.embedding_backward(embed.g.get(), d, act.tokens, N, C, c.embed_scale);
  if (pos_trains) ops.embedding_backward(t(wpe).g.get(), d, act.pos_ids, N, C, 1.0f);
}

bool DeviceModel::Impl::input_grad_needed(int l) {
  if (l > 0) return true;
  const Param* wpe = host.position_embed();
  return t(host.embed()).g.get() || t(host.layers()[0].ln1).g.get() || (wpe && t(wpe).g.get()) ||
         (host.embed_norm() && t(host.embed_norm()).g.get());
}

void DeviceModel::Impl::arch_layer_forward(int l, float* out, bool recompute) {
  const ModelConfig& c = cfg();
  const int B = act.B, T = act.T, N = B * T, C = c.hidden_size, F = c.intermediate_size;
  const int NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int64_t QD = (int64_t)NH * HD, KD = (int64_t)NKV * HD, NC = (int64_t)N * C, NF = (int64_t)N * F;
  const Layer& L = host.layers()[l];
  LayerBufs& a = act.layers[l];
  const int32_t* pos = packed ? act.positions : nullptr;
  norm_forward(act.x32, a.mean1, a.rstd1, a.resid_in, L.ln1, L.ln1_b, N, C);
  ops.to_bf16(a.x1, act.x32, NC);
  float* q = c.qk_norm ? a.q_pre : act.q32;
  float* k = c.qk_norm ? a.k_pre : act.k32;
  if (c.qkv != QkvLayout::Separate) {
    linear_forward(L.qkv, act.qkv32, a.x1, a.t[L.qkv.index], N, false);
    ops.split_qkv(q, k, act.v32, act.qkv32, N, NH, NKV, HD, c.qkv == QkvLayout::FusedPerHead);
  } else {
    linear_forward(L.q, q, a.x1, a.t[L.q.index], N, false);
    linear_forward(L.k, k, a.x1, a.t[L.k.index], N, false);
    linear_forward(L.v, act.v32, a.x1, a.t[L.v.index], N, false);
  }
  if (c.qk_norm) {
    norm_forward(act.q32, nullptr, a.q_rstd, a.q_pre, L.q_norm, nullptr, N * NH, HD);
    norm_forward(act.k32, nullptr, a.k_rstd, a.k_pre, L.k_norm, nullptr, N * NKV, HD);
  }
  if (c.positions == PositionKind::Rope) {
    const bool local = c.local_rope(l);
    ops.rope_forward(act.q32, local ? act.cos_local : act.cos, local ? act.sin_local : act.sin, B, T, NH, HD, pos);
    ops.rope_forward(act.k32, local ? act.cos_local : act.cos, local ? act.sin_local : act.sin, B, T, NKV, HD, pos);
  }
  ops.to_bf16(a.q, act.q32, N * QD);
  ops.to_bf16(a.k, act.k32, N * KD);
  ops.to_bf16(a.v, act.v32, N * KD);
  ops.attention_forward(a.y, a.lse, a.q, a.k, a.v, attention_shape(l));
  if (c.sandwich_norms) {
    linear_forward(L.o, a.attn_out, a.y, a.t[L.o.index], N, false);
    norm_forward(act.x32, nullptr, a.rstd_pa, a.attn_out, L.post_attn, nullptr, N, C);
    ops.add(a.mid, a.resid_in, act.x32, NC);
  } else {
    ops.copy(a.mid, a.resid_in, sizeof(float) * NC);
    linear_forward(L.o, a.mid, a.y, a.t[L.o.index], N, true);
  }
  norm_forward(act.x32, a.mean2, a.rstd2, a.mid, L.ln2, L.ln2_b, N, C);
  ops.to_bf16(a.x2, act.x32, NC);
  if (c.mlp != MlpKind::Gelu) linear_forward(L.gate, a.gate, a.x2, a.t[L.gate.index], N, false);
  linear_forward(L.up, a.up, a.x2, a.t[L.up.index], N, false);
  const bool down_lora = L.down.lora_a && !adapter_off;
  // A rerun without the post-feedforward norm needs only the down projection's LoRA product t.
  if (recompute && !c.sandwich_norms && !down_lora) return;
  mlp_activation(a);
  ops.to_bf16(act.m16, act.m32, NF);
  if (recompute && !c.sandwich_norms) {
    lora_a_forward(L.down, a.t[L.down.index], act.m16, N);
    return;
  }
  if (c.sandwich_norms) {
    linear_forward(L.down, a.ff_out, act.m16, a.t[L.down.index], N, false);
    norm_forward(act.x32, nullptr, a.rstd_pf, a.ff_out, L.post_ff, nullptr, N, C);
    if (recompute) return;  // backward has what it reads: ff_out and its norm's rstd
    ops.add(out, a.mid, act.x32, NC);
    return;
  }
  ops.copy(out, a.mid, sizeof(float) * NC);
  linear_forward(L.down, out, act.m16, a.t[L.down.index], N, true);
}

// m = act(gate, up) of layer buffers `a` into act.m32 (recomputed in backward, as on the Llama path).
void DeviceModel::Impl::mlp_activation(const LayerBufs& a) {
  const int64_t NF = (int64_t)act.B * act.T * cfg().intermediate_size;
  switch (cfg().mlp) {
    case MlpKind::Gelu: ops.gelu_forward(act.m32, a.up, NF); break;
    case MlpKind::GeGLU: ops.geglu_forward(act.m32, a.gate, a.up, NF); break;
    default: ops.swiglu_forward(act.m32, a.gate, a.up, NF); break;
  }
}

// act.dres holds d out on entry and d resid_in on return (accumulated into by the residual).
void DeviceModel::Impl::arch_layer_backward(int l) {
  const ModelConfig& c = cfg();
  const int B = act.B, T = act.T, N = B * T, C = c.hidden_size, F = c.intermediate_size;
  const int NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int64_t QD = (int64_t)NH * HD, KD = (int64_t)NKV * HD, NC = (int64_t)N * C, NF = (int64_t)N * F;
  const Layer& L = host.layers()[l];
  LayerBufs& a = act.layers[l];
  const int32_t* pos = packed ? act.positions : nullptr;
  // ---- MLP: out = mid + post_ff(down(m)); dres holds d out ----
  const float* dy_down = act.dres;
  if (c.sandwich_norms) {
    norm_backward(act.x32, act.dres, a.ff_out, nullptr, a.rstd_pf, L.post_ff, nullptr, N, C, false);
    dy_down = act.x32;
  }
  ops.to_bf16(act.dres16, dy_down, NC);
  linear_backward_input(L.down, act.dm, false, act.dres16, N);
  mlp_activation(a);
  ops.to_bf16(act.m16, act.m32, NF);
  const bool gated = c.mlp != MlpKind::Gelu;
  if (c.mlp == MlpKind::Gelu) ops.gelu_backward(act.dup, act.dm, a.up, NF);
  else if (c.mlp == MlpKind::GeGLU) ops.geglu_backward(act.dgate, act.dup, act.dm, a.gate, a.up, NF);
  else ops.swiglu_backward(act.dgate, act.dup, act.dm, a.gate, a.up, NF);
  linear_backward_weights(L.down, act.dres16, dy_down, act.m16, a.t[L.down.index], N);
  if (gated) {
    ops.to_bf16(act.dgate16, act.dgate, NF);
    linear_backward(L.gate, act.dx, false, act.dgate16, act.dgate, a.x2, a.t[L.gate.index], N);
  }
  ops.to_bf16(act.dup16, act.dup, NF);
  linear_backward(L.up, act.dx, gated, act.dup16, act.dup, a.x2, a.t[L.up.index], N);
  norm_backward(act.dres, act.dx, a.mid, a.mean2, a.rstd2, L.ln2, L.ln2_b, N, C, true);  // dres = d mid
  // ---- attention: mid = resid_in + post_attn(o(att)) ----
  const float* dy_o = act.dres;
  if (c.sandwich_norms) {
    norm_backward(act.x32, act.dres, a.attn_out, nullptr, a.rstd_pa, L.post_attn, nullptr, N, C, false);
    dy_o = act.x32;
  }
  ops.to_bf16(act.dres16, dy_o, NC);
  linear_backward(L.o, act.datt, false, act.dres16, dy_o, a.y, a.t[L.o.index], N);
  ops.to_bf16(act.datt16, act.datt, N * QD);
  ops.attention_backward(act.dq16, act.dk16, act.dv16, act.datt16, a.y, a.lse, a.q, a.k, a.v, act.attn_ws, attention_shape(l));
  ops.to_f32(act.q32, act.dq16, N * QD);
  ops.to_f32(act.k32, act.dk16, N * KD);
  ops.to_f32(act.v32, act.dv16, N * KD);
  if (c.positions == PositionKind::Rope) {
    const bool local = c.local_rope(l);
    ops.rope_backward(act.q32, local ? act.cos_local : act.cos, local ? act.sin_local : act.sin, B, T, NH, HD, pos);
    ops.rope_backward(act.k32, local ? act.cos_local : act.cos, local ? act.sin_local : act.sin, B, T, NKV, HD, pos);
  }
  const bool need_dx = input_grad_needed(l);
  float* dx1 = need_dx ? act.dx : nullptr;
  if (c.qkv != QkvLayout::Separate) {
    ops.merge_qkv(act.qkv32, act.q32, act.k32, act.v32, N, NH, NKV, HD, c.qkv == QkvLayout::FusedPerHead);
    ops.to_bf16(act.qkv16, act.qkv32, N * (QD + 2 * KD));
    linear_backward(L.qkv, dx1, false, act.qkv16, act.qkv32, a.x1, a.t[L.qkv.index], N);
  } else {
    if (c.qk_norm) {
      // d q_pre, then d k_pre, through the per-head norms into one buffer, each consumed by its
      // linear at once (as the CPU engine).
      norm_backward(act.dqk, act.q32, a.q_pre, nullptr, a.q_rstd, L.q_norm, nullptr, N * NH, HD, false);
      ops.to_bf16(act.dq16, act.dqk, N * QD);
      linear_backward(L.q, dx1, false, act.dq16, act.dqk, a.x1, a.t[L.q.index], N);
      norm_backward(act.dqk, act.k32, a.k_pre, nullptr, a.k_rstd, L.k_norm, nullptr, N * NKV, HD, false);
      ops.to_bf16(act.dk16, act.dqk, N * KD);
      linear_backward(L.k, dx1, true, act.dk16, act.dqk, a.x1, a.t[L.k.index], N);
    } else {
      ops.to_bf16(act.dq16, act.q32, N * QD);
      ops.to_bf16(act.dk16, act.k32, N * KD);
      linear_backward(L.q, dx1, false, act.dq16, act.q32, a.x1, a.t[L.q.index], N);
      linear_backward(L.k, dx1, true, act.dk16, act.k32, a.x1, a.t[L.k.index], N);
    }
    linear_backward(L.v, dx1, true, act.dv16, act.v32, a.x1, a.t[L.v.index], N);
  }
  if (need_dx) norm_backward(act.dres, act.dx, a.resid_in, a.mean1, a.rstd1, L.ln1, L.ln1_b, N, C, true);
}

}  // namespace tuner::dev
