// Forward pass of the architectures beyond the Llama family's own (Qwen3, Gemma 3, GPT-2,
// Bloom), as ModelConfig's traits describe them; the Llama family keeps llama_forward.cpp's
// fused path. One decoder layer, in transformers' order:
//   x1 = norm1(h)
//   q, k, v = split(qkv(x1)) or q(x1), k(x1), v(x1);  q, k = qk_norm per head;  RoPE (global or
//   Gemma's local base) unless positions are learned (GPT-2) or ALiBi (Bloom, in the scores)
//   att = softmax(scale q k^T (+ cap, + alibi)) v;  a = o(att)  (Gemma: a = post_attn(a))
//   mid = h + a;  x2 = norm2(mid);  m = act(gate(x2)) * up(x2) or gelu(up(x2))
//   f = down(m) (Gemma: f = post_ff(f));  h' = mid + f
// Embedding: wte[tok] (+ wpe[pos] for GPT-2) (* sqrt(C) for Gemma) (LayerNorm for Bloom).
// Head: norm(h) W_head^T, soft-capped by final_logit_softcapping where set.
// With activation checkpointing the layers keep only their inputs (plan(), plan_arch()) and
// backward_arch reruns arch_layer_forward per layer: the same kernels, so the same bits.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "models/llama_model.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "tuner/threadpool.h"

namespace tuner {

size_t LlamaModel::plan_arch(Workspace& ws, int B, int T, float* base, size_t off) const {
  const int64_t N = (int64_t)B * T, C = cfg_.hidden_size, V = cfg_.vocab_size;
  const int64_t QD = (int64_t)cfg_.num_heads * cfg_.head_dim, KD = (int64_t)cfg_.num_kv_heads * cfg_.head_dim;
  auto take = [&](bool used, int64_t n) -> float* {
    if (!used) return nullptr;
    float* p = base ? base + off : nullptr;
    off += (size_t)((n + 15) & ~int64_t(15));
    return p;
  };
  const bool ln = cfg_.norm == NormKind::Layer, qkn = cfg_.qk_norm, sw = cfg_.sandwich_norms;
  for (size_t l = 0; l < ws.layers.size(); l++) {
    LayerActs& a = ws.layers[l];
    if (checkpointing_ && l > 0) {  // as plan(): one set shared by every layer but the first
      float* own = a.resid_in;     // plan() already shared the rest; this shares the fields below
      a = ws.layers[0];
      a.resid_in = own;
      continue;
    }
    a.mean1 = take(ln, N);
    a.mean2 = take(ln, N);
    a.q_pre = take(qkn, N * QD);
    a.k_pre = take(qkn, N * KD);
    a.q_rstd = take(qkn, N * cfg_.num_heads);
    a.k_rstd = take(qkn, N * cfg_.num_kv_heads);
    a.attn_out = take(sw, N * C);
    a.rstd_pa = take(sw, N);
    a.ff_out = take(sw, N * C);
    a.rstd_pf = take(sw, N);
  }
  ws.meanf = take(ln, N);
  ws.emb_raw = take(cfg_.embed_norm, N * C);
  ws.emb_mean = take(cfg_.embed_norm, N);
  ws.emb_rstd = take(cfg_.embed_norm, N);
  ws.qkv = take(cfg_.qkv != QkvLayout::Separate, N * (QD + 2 * KD));
  ws.dqk_pre = take(qkn, N * QD);
  ws.cos_local = take(cfg_.rope_local_theta > 0, (int64_t)T * cfg_.head_dim / 2);
  ws.sin_local = take(cfg_.rope_local_theta > 0, (int64_t)T * cfg_.head_dim / 2);
  ws.cap_t = take(cfg_.final_softcap > 0, N * V);
  return off;
}

const float* LlamaModel::norm_weight(const Param* p, float* scratch) const {
  if (cfg_.norm != NormKind::RMSOnePlus) return p->data;
  const int64_t n = p->numel();
  for (int64_t i = 0; i < n; i++) scratch[i] = 1.0f + p->data[i];
  return scratch;
}

void LlamaModel::norm_forward(float* out, float* mean, float* rstd, const float* inp, const Param* w, const Param* b, int N,
                              int C, ThreadPool* pool) const {
  const float eps = cfg_.rms_norm_eps;
  if (cfg_.norm == NormKind::Layer) {
    layernorm_forward(out, mean, rstd, inp, w->data, b ? b->data : nullptr, N, C, eps, pool);
    return;
  }
  norm_scratch_.resize(std::max<size_t>(norm_scratch_.size(), (size_t)C));
  rmsnorm_forward(out, rstd, inp, norm_weight(w, norm_scratch_.data()), N, C, eps, pool);
}

void LlamaModel::split_qkv(float* q, float* k, float* v, const float* qkv, int N, ThreadPool* pool) const {
  const int NH = cfg_.num_heads, HD = cfg_.head_dim, QD = NH * HD, KD = cfg_.num_kv_heads * HD, W = QD + 2 * KD;
  const bool per_head = cfg_.qkv == QkvLayout::FusedPerHead;  // Bloom: NKV == NH
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      const float* src = qkv + n * W;
      if (per_head) {
        for (int h = 0; h < NH; h++) {
          std::memcpy(q + n * QD + h * HD, src + (3 * h + 0) * HD, sizeof(float) * HD);
          std::memcpy(k + n * KD + h * HD, src + (3 * h + 1) * HD, sizeof(float) * HD);
          std::memcpy(v + n * KD + h * HD, src + (3 * h + 2) * HD, sizeof(float) * HD);
        }
      } else {
        std::memcpy(q + n * QD, src, sizeof(float) * QD);
        std::memcpy(k + n * KD, src + QD, sizeof(float) * KD);
        std::memcpy(v + n * KD, src + QD + KD, sizeof(float) * KD);
      }
    }
  });
}

void LlamaModel::merge_qkv(float* qkv, const float* dq, const float* dk, const float* dv, int N, ThreadPool* pool) const {
  const int NH = cfg_.num_heads, HD = cfg_.head_dim, QD = NH * HD, KD = cfg_.num_kv_heads * HD, W = QD + 2 * KD;
  const bool per_head = cfg_.qkv == QkvLayout::FusedPerHead;
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      float* dst = qkv + n * W;
      if (per_head) {
        for (int h = 0; h < NH; h++) {
          std::memcpy(dst + (3 * h + 0) * HD, dq + n * QD + h * HD, sizeof(float) * HD);
          std::memcpy(dst + (3 * h + 1) * HD, dk + n * KD + h * HD, sizeof(float) * HD);
          std::memcpy(dst + (3 * h + 2) * HD, dv + n * KD + h * HD, sizeof(float) * HD);
        }
      } else {
        std::memcpy(dst, dq + n * QD, sizeof(float) * QD);
        std::memcpy(dst + QD, dk + n * KD, sizeof(float) * KD);
        std::memcpy(dst + QD + KD, dv + n * KD, sizeof(float) * KD);
      }
    }
  });
}

float LlamaModel::run_forward_arch(const Batch& batch, bool training, bool pack_head, uint64_t dropout_seed,
                                   ThreadPool* pool) {
  const int T = batch.T, N = batch.B * T, C = cfg_.hidden_size;
  load_batch(batch, training, dropout_seed, pool);
  Workspace& ws = ws_;

  prof_.in_backward = false;
  {
    ProfScope ps(prof_, kProfEmbed);
    float* h = ws.layers.empty() ? ws.resid_final : ws.layers[0].resid_in;
    float* e0 = cfg_.embed_norm ? ws.emb_raw : h;
    const float* E = embed_->data;
    const float* P = pos_embed_ ? pos_embed_->data : nullptr;
    const float scale = cfg_.embed_scale;
    parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; n++) {
        float* dst = e0 + n * C;
        const float* row = E + (int64_t)ws.tokens[n] * C;
        if (P) {
          const float* pr = P + (int64_t)(ws.pos() ? ws.pos()[n] : n % T) * C;
          for (int c = 0; c < C; c++) dst[c] = row[c] + pr[c];
        } else if (scale != 1.0f) {
          for (int c = 0; c < C; c++) dst[c] = row[c] * scale;
        } else {
          std::memcpy(dst, row, sizeof(float) * C);
        }
      }
    });
    if (cfg_.embed_norm) norm_forward(h, ws.emb_mean, ws.emb_rstd, ws.emb_raw, embed_norm_, embed_norm_b_, N, C, pool);
  }

  for (int l = 0; l < cfg_.num_layers; l++)
    arch_layer_forward(l, l + 1 == cfg_.num_layers ? ws.resid_final : ws.layers[l + 1].resid_in, false, pool);
  { ProfScope ps(prof_, kProfNormRope); norm_forward(ws.xf, ws.meanf, ws.rstdf, ws.resid_final, norm_, norm_b_, N, C, pool); }

  return head_forward(pack_head, pool);
}

void LlamaModel::arch_layer_forward(int l, float* out, bool recompute, ThreadPool* pool) {
  Workspace& ws = ws_;
  const int B = ws.B, T = ws.T, N = B * T;
  const int C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  AttentionExtras ex;
  ex.scale = cfg_.attn_scale;
  ex.softcap = cfg_.attn_softcap;
  ex.alibi = alibi();
  ex.bf16 = bf16_;
  const bool fused = cfg_.qkv != QkvLayout::Separate;
  Layer& L = layers_[l];
  LayerActs& a = ws.layers[l];
  { ProfScope ps(prof_, kProfNormRope); norm_forward(a.x1, a.mean1, a.rstd1, a.resid_in, L.ln1, L.ln1_b, N, C, pool); }
  float* q = cfg_.qk_norm ? a.q_pre : a.q;
  float* k = cfg_.qk_norm ? a.k_pre : a.k;
  {
    ProfScope ps(prof_, kProfLinear);
    if (fused) {
      linear_forward(L.qkv, ws.qkv, a.x1, a.lora_t[L.qkv.index], N, pool);
      split_qkv(q, k, a.v, ws.qkv, N, pool);
    } else {
      linear_forward(L.q, q, a.x1, a.lora_t[L.q.index], N, pool);
      linear_forward(L.k, k, a.x1, a.lora_t[L.k.index], N, pool);
      linear_forward(L.v, a.v, a.x1, a.lora_t[L.v.index], N, pool);
    }
  }
  {
    ProfScope ps(prof_, kProfNormRope);
    if (cfg_.qk_norm) {
      norm_forward(a.q, nullptr, a.q_rstd, a.q_pre, L.q_norm, nullptr, N * NH, HD, pool);
      norm_forward(a.k, nullptr, a.k_rstd, a.k_pre, L.k_norm, nullptr, N * NKV, HD, pool);
    }
    if (cfg_.positions == PositionKind::Rope) {
      const bool local = cfg_.local_rope(l);
      const float* cs = local ? ws.cos_local : ws.cos;
      const float* sn = local ? ws.sin_local : ws.sin;
      rope_forward(a.q, cs, sn, B, T, NH, HD, pool, ws.pos());
      rope_forward(a.k, local ? cs : ws.kcos(), local ? sn : ws.ksin(), B, T, NKV, HD, pool, ws.pos());
    }
  }
  {
    ProfScope ps(prof_, kProfAttention);
    attention_forward(a.att, a.lse, a.q, a.k, a.v, ws.attn_scratch, B, T, NH, NKV, HD, cfg_.attention_window(l), pool, &ex,
                      ws.starts());
  }
  {
    ProfScope ps(prof_, kProfLinear);
    linear_forward(L.o, cfg_.sandwich_norms ? a.attn_out : a.mid, a.att, a.lora_t[L.o.index], N, pool);
  }
  const int64_t NC = (int64_t)N * C;
  {
    ProfScope ps(prof_, kProfNormRope);
    float* add = a.mid;
    if (cfg_.sandwich_norms) {
      norm_forward(ws.dx, nullptr, a.rstd_pa, a.attn_out, L.post_attn, nullptr, N, C, pool);
      add = ws.dx;
    }
    parallel_rows(pool, NC, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; i++) a.mid[i] = a.resid_in[i] + add[i];
    });
    norm_forward(a.x2, a.mean2, a.rstd2, a.mid, L.ln2, L.ln2_b, N, C, pool);
  }
  {
    ProfScope ps(prof_, kProfLinear);
    if (cfg_.mlp != MlpKind::Gelu) linear_forward(L.gate, a.gate, a.x2, a.lora_t[L.gate.index], N, pool);
    linear_forward(L.up, a.up, a.x2, a.lora_t[L.up.index], N, pool);
  }
  const Linear& down = L.down;
  // A rerun without post-feedforward norm needs only the down projection's LoRA input t.
  if (recompute && !cfg_.sandwich_norms && !down.lora_a) return;
  {
    ProfScope ps(prof_, kProfElementwise);
    if (cfg_.mlp == MlpKind::Gelu) gelu_forward(ws.m, a.up, (int64_t)N * F, pool);
    else if (cfg_.mlp == MlpKind::GeGLU) geglu_forward(ws.m, a.gate, a.up, (int64_t)N * F, pool);
    else swiglu_forward(ws.m, a.gate, a.up, (int64_t)N * F, pool);
  }
  if (recompute && !cfg_.sandwich_norms) {
    // t = d(m) A^T, the product linear_forward makes first (same call, same bits).
    ProfScope ps(prof_, kProfLinear);
    lora_a_forward(down, a.lora_t[down.index], ws.m, N, pool);
    return;
  }
  {
    ProfScope ps(prof_, kProfLinear);
    linear_forward(down, cfg_.sandwich_norms ? a.ff_out : out, ws.m, a.lora_t[down.index], N, pool);
  }
  {
    ProfScope ps(prof_, kProfNormRope);
    const float* add = out;
    if (cfg_.sandwich_norms) {
      norm_forward(ws.dx, nullptr, a.rstd_pf, a.ff_out, L.post_ff, nullptr, N, C, pool);
      add = ws.dx;
    }
    if (recompute) return;  // backward has what it reads: ff_out and its norm's rstd
    parallel_rows(pool, NC, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; i++) out[i] = a.mid[i] + add[i];
    });
  }
}

}  // namespace tuner
