// Backward of arch_forward.cpp's pass (Qwen3, Gemma 3, GPT-2, Bloom): the forward's steps in
// reverse with the activations it kept (with activation checkpointing, each layer's rerun from its
// kept input first). Accumulates into every trainable Param::grad; with a
// LOMO hook, each layer's gradients are handed over as soon as that layer is done.
#include <algorithm>
#include <cstring>

#include "models/llama_model.h"
#include "tuner/gemm.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "tuner/threadpool.h"

namespace tuner {

void LlamaModel::norm_backward(float* dinp, const float* dout, const float* inp, const float* mean, const float* rstd,
                               Param* w, Param* b, int N, int C, bool accumulate, ThreadPool* pool) {
  if (cfg_.norm == NormKind::Layer) {
    layernorm_backward(dinp, w->grad, b ? b->grad : nullptr, dout, inp, w->data, mean, rstd, N, C, accumulate, pool);
    return;
  }
  // Gemma's (1 + w): the gradient of the weight it multiplies by is the gradient of w.
  norm_scratch_.resize(std::max<size_t>(norm_scratch_.size(), (size_t)C));
  rmsnorm_backward(dinp, w->grad, dout, inp, norm_weight(w, norm_scratch_.data()), rstd, N, C, accumulate, pool);
}

void LlamaModel::backward_arch(float loss_scale, ThreadPool* pool) {
  Workspace& ws = ws_;
  const int B = ws.B, T = ws.T, N = B * T;
  const int C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  prof_.in_backward = true;

  head_backward(loss_scale, pool);  // d xf in ws.dx
  {
    ProfScope ps(prof_, kProfNormRope);
    norm_backward(ws.dres, ws.dx, ws.resid_final, ws.meanf, ws.rstdf, norm_, norm_b_, N, C, false, pool);
  }

  AttentionExtras ex;
  ex.scale = cfg_.attn_scale;
  ex.softcap = cfg_.attn_softcap;
  ex.alibi = alibi();
  ex.bf16 = bf16_;
  const bool fused = cfg_.qkv != QkvLayout::Separate;
  const int64_t NF = (int64_t)N * F;
  for (int l = cfg_.num_layers - 1; l >= 0; l--) {
    Layer& L = layers_[l];
    LayerActs& a = ws.layers[l];
    if (grad_hook_) bind_layer_grads(l);  // LOMO
    // Checkpointing: the shared activations hold the last layer's after forward; refill them.
    if (checkpointing_ && l + 1 < cfg_.num_layers) arch_layer_forward(l, nullptr, true, pool);
    // ---- MLP: out = mid + post_ff(down(m)); dres holds d out ----
    const float* dy_down = ws.dres;
    if (cfg_.sandwich_norms) {
      ProfScope ps(prof_, kProfNormRope);
      norm_backward(ws.dx, ws.dres, a.ff_out, nullptr, a.rstd_pf, L.post_ff, nullptr, N, C, false, pool);
      dy_down = ws.dx;
    }
    { ProfScope ps(prof_, kProfLinear); linear_backward_input(L.down, ws.dm, false, dy_down, a.lora_t[L.down.index], N, pool); }
    {
      ProfScope ps(prof_, kProfElementwise);
      if (cfg_.mlp == MlpKind::Gelu) gelu_forward_backward(ws.m, ws.dup, ws.dm, a.up, NF, pool);
      else if (cfg_.mlp == MlpKind::GeGLU) geglu_forward_backward(ws.m, ws.dm, ws.dup, ws.dm, a.gate, a.up, NF, pool);
      else swiglu_forward_backward(ws.m, ws.dm, ws.dup, ws.dm, a.gate, a.up, NF, pool);
    }
    { ProfScope ps(prof_, kProfLinear); linear_backward_weights(L.down, dy_down, ws.m, N, pool); }
    {
      ProfScope ps(prof_, kProfLinear);
      const bool gated = cfg_.mlp != MlpKind::Gelu;
      if (gated) linear_backward(L.gate, ws.dx, false, ws.dm, a.x2, a.lora_t[L.gate.index], N, pool);
      linear_backward(L.up, ws.dx, gated, ws.dup, a.x2, a.lora_t[L.up.index], N, pool);
    }
    {
      ProfScope ps(prof_, kProfNormRope);
      norm_backward(ws.dres, ws.dx, a.mid, a.mean2, a.rstd2, L.ln2, L.ln2_b, N, C, true, pool);  // dres = d mid
    }
    // ---- attention: mid = resid_in + post_attn(o(att)) ----
    const float* dy_o = ws.dres;
    if (cfg_.sandwich_norms) {
      ProfScope ps(prof_, kProfNormRope);
      norm_backward(ws.dx, ws.dres, a.attn_out, nullptr, a.rstd_pa, L.post_attn, nullptr, N, C, false, pool);
      dy_o = ws.dx;
    }
    { ProfScope ps(prof_, kProfLinear); linear_backward(L.o, ws.datt, false, dy_o, a.att, a.lora_t[L.o.index], N, pool); }
    {
      ProfScope ps(prof_, kProfAttention);
      attention_backward(ws.dq, ws.dk, ws.dv, ws.datt, a.att, a.lse, a.q, a.k, a.v, ws.attn_scratch, B, T, NH, NKV, HD,
                         cfg_.attention_window(l), pool, &ex, ws.starts());
    }
    if (cfg_.positions == PositionKind::Rope) {
      ProfScope ps(prof_, kProfNormRope);
      const bool local = cfg_.local_rope(l);
      const float* cs = local ? ws.cos_local : ws.cos;
      const float* sn = local ? ws.sin_local : ws.sin;
      rope_backward(ws.dq, cs, sn, B, T, NH, HD, pool, ws.pos());
      rope_backward(ws.dk, local ? cs : ws.kcos(), local ? sn : ws.ksin(), B, T, NKV, HD, pool, ws.pos());
    }
    const bool need_dx = l > 0 || embed_->grad || L.ln1->grad;
    float* dx1 = need_dx ? ws.dx : nullptr;
    {
      ProfScope ps(prof_, kProfLinear);
      if (fused) {
        merge_qkv(ws.qkv, ws.dq, ws.dk, ws.dv, N, pool);
        linear_backward(L.qkv, dx1, false, ws.qkv, a.x1, a.lora_t[L.qkv.index], N, pool);
      } else if (cfg_.qk_norm) {
        // d q_pre and d k_pre in turn through one scratch, each consumed by its linear at once.
        norm_backward(ws.dqk_pre, ws.dq, a.q_pre, nullptr, a.q_rstd, L.q_norm, nullptr, N * NH, HD, false, pool);
        linear_backward(L.q, dx1, false, ws.dqk_pre, a.x1, a.lora_t[L.q.index], N, pool);
        norm_backward(ws.dqk_pre, ws.dk, a.k_pre, nullptr, a.k_rstd, L.k_norm, nullptr, N * NKV, HD, false, pool);
        linear_backward(L.k, dx1, true, ws.dqk_pre, a.x1, a.lora_t[L.k.index], N, pool);
        linear_backward(L.v, dx1, true, ws.dv, a.x1, a.lora_t[L.v.index], N, pool);
      } else {
        linear_backward(L.q, dx1, false, ws.dq, a.x1, a.lora_t[L.q.index], N, pool);
        linear_backward(L.k, dx1, true, ws.dk, a.x1, a.lora_t[L.k.index], N, pool);
        linear_backward(L.v, dx1, true, ws.dv, a.x1, a.lora_t[L.v.index], N, pool);
      }
    }
    if (need_dx) {
      ProfScope ps(prof_, kProfNormRope);
      norm_backward(ws.dres, ws.dx, a.resid_in, a.mean1, a.rstd1, L.ln1, L.ln1_b, N, C, true, pool);
    }
    if (grad_hook_) release_layer_grads(l);
  }

  // Embedding (and Bloom's embedding LayerNorm, GPT-2's positions, Gemma's scale).
  {
    ProfScope ps(prof_, kProfEmbed);
    const float* d = ws.dres;
    if (cfg_.embed_norm && (embed_->grad || embed_norm_->grad)) {
      norm_backward(embed_->grad ? ws.dx : nullptr, ws.dres, ws.emb_raw, ws.emb_mean, ws.emb_rstd, embed_norm_, embed_norm_b_, N,
                    C, false, pool);
      d = ws.dx;
    }
    const float scale = cfg_.embed_scale;
    const int CB = 64;
    if (embed_->grad) {
      float* dE = embed_->grad;
      parallel_rows(pool, (C + CB - 1) / CB, [&](int64_t b, int64_t e, int) {
        int c0 = (int)b * CB, c1 = std::min(C, (int)e * CB);
        for (int n = 0; n < N; n++) {
          float* dst = dE + (int64_t)ws.tokens[n] * C;
          const float* src = d + (int64_t)n * C;
          for (int c = c0; c < c1; c++) dst[c] += src[c] * scale;
        }
      });
    }
    if (pos_embed_ && pos_embed_->grad) {
      float* dP = pos_embed_->grad;
      parallel_rows(pool, (C + CB - 1) / CB, [&](int64_t b, int64_t e, int) {
        int c0 = (int)b * CB, c1 = std::min(C, (int)e * CB);
        for (int n = 0; n < N; n++) {
          float* dst = dP + (int64_t)(ws.pos() ? ws.pos()[n] : n % T) * C;
          const float* src = d + (int64_t)n * C;
          for (int c = c0; c < c1; c++) dst[c] += src[c];
        }
      });
    }
  }
  if (grad_hook_) release_outer_grads();
}

}  // namespace tuner
