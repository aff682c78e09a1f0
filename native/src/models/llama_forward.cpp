// Forward pass of the Llama family over a micro-batch, keeping what backward needs (the list is
// in llama_model.h; activation_bytes() reports its size so the estimator can predict memory).
// The workspace is laid out once per (B, T, threads): no allocation inside a step afterwards.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

#include "models/llama_model.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "tuner/threadpool.h"

namespace tuner {

const char* Profile::name(int k) {
  static const char* names[kProfCount] = {"linear", "attention", "norm_rope", "elementwise", "lm_head", "loss", "embedding", "lora"};
  return names[k];
}

double Profile::cpu_now_ms() {
#if defined(_WIN32)
  FILETIME created, exited, kernel, user;
  if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) return 0.0;
  auto ticks = [](const FILETIME& f) { return (uint64_t(f.dwHighDateTime) << 32) | f.dwLowDateTime; };
  return double(ticks(kernel) + ticks(user)) / 1e4;  // 100 ns ticks
#else
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
#endif
}

size_t LlamaModel::plan(Workspace& ws, int B, int T, int threads, float* base) const {
  const int64_t N = (int64_t)B * T;
  const int64_t C = cfg_.hidden_size, F = cfg_.intermediate_size, V = cfg_.vocab_size;
  const int64_t QD = (int64_t)cfg_.num_heads * cfg_.head_dim, KD = (int64_t)cfg_.num_kv_heads * cfg_.head_dim;
  const int64_t NH = cfg_.num_heads;
  size_t off = 0;
  auto take = [&](int64_t n) -> float* {
    float* p = base ? base + off : nullptr;
    off += (size_t)((n + 15) & ~int64_t(15));  // 64-byte aligned slices
    return p;
  };
  int rmax = 0, inmax = (int)std::max({C, F, QD});
  if (lora_enabled_) rmax = lora_cfg_.rank;
  ws.layers.resize(cfg_.num_layers);
  for (int l = 0; l < cfg_.num_layers; l++) {
    LayerActs& a = ws.layers[l];
    if (checkpointing_ && l > 0) {
      // Activation checkpointing: every layer keeps its own input; the rest is one set shared
      // by all layers, which backward refills layer by layer (recompute_layer()).
      a = ws.layers[0];
      a.resid_in = take(N * C);
      continue;
    }
    a.resid_in = take(N * C);
    a.rstd1 = take(N);
    a.x1 = take(N * C);
    a.q = take(N * QD);
    a.k = take(N * KD);
    a.v = take(N * KD);
    a.lse = take((int64_t)B * NH * T);
    a.att = take(N * QD);
    a.mid = take(N * C);
    a.rstd2 = take(N);
    a.x2 = take(N * C);
    a.gate = take(N * F);
    a.up = take(N * F);
    for (int j = 0; j < 7; j++) {
      const Linear* lin = j < (int)layers_[l].linears.size() ? layers_[l].linears[j] : nullptr;
      a.lora_t[j] = lin && lin->lora_a ? take(N * rmax) : nullptr;
    }
  }
  ws.resid_final = take(N * C);
  ws.rstdf = take(N);
  ws.xf = take(N * C);
  ws.logits = take(N * V);
  ws.losses = take(N);
  ws.lse = take(N);
  ws.m = take(N * F);
  ws.dm = take(N * F);
  ws.dup = take(N * F);
  ws.dres = take(N * C);
  ws.dx = take(N * C);
  ws.dq = take(N * QD);
  ws.datt = take(N * QD);
  ws.dk = take(N * KD);
  ws.dv = take(N * KD);
  ws.lora_dt = rmax ? take(N * rmax) : nullptr;
  ws.lora_xd = rmax ? take(N * inmax) : nullptr;
  int64_t outmax = 0;
  for (const Layer& L : layers_)
    for (const Linear* lin : L.linears) outmax = std::max<int64_t>(outmax, lin->out);
  ws.lora_sb = rmax ? take(outmax * rmax) : nullptr;
  ws.attn_scratch = take(attention_scratch_floats(T, threads));
  ws.cos = take((int64_t)T * cfg_.head_dim / 2);
  ws.sin = take((int64_t)T * cfg_.head_dim / 2);
  return plan_arch(ws, B, T, base, off);
}

size_t LlamaModel::activation_bytes(int B, int T) const {
  Workspace tmp;
  size_t floats = plan(tmp, B, T, ThreadPool::hardware_threads(), nullptr);
  return floats * sizeof(float) + (size_t)B * T * (2 * sizeof(uint32_t) + 1);
}

void LlamaModel::ensure_workspace(int B, int T, ThreadPool* pool) {
  int threads = pool ? std::max(1, pool->size()) : 1;
  if (ws_.B == B && ws_.T == T && ws_.threads >= threads && !ws_.buf.empty()) return;
  // Keep the old allocation: a batch of another shape (a short last batch) reuses it when it fits.
  std::vector<float> keep = std::move(ws_.buf);
  ws_ = Workspace();
  ws_.buf = std::move(keep);
  size_t n = plan(ws_, B, T, threads, nullptr);
  ws_.buf.assign(n, 0.0f);
  plan(ws_, B, T, threads, ws_.buf.data());
  ws_.B = B;
  ws_.T = T;
  ws_.threads = threads;
  ws_.tokens.resize((size_t)B * T);
  ws_.targets.resize((size_t)B * T);
  ws_.mask.resize((size_t)B * T);
  ws_.rope_T = -1;
}

// cos/sin [T, HD/2] as transformers computes them: a float angle, its cosine in double, scaled.
void rope_table(float* cos, float* sin, const std::vector<double>& inv, float af, int T, int half) {
  for (int t = 0; t < T; t++)
    for (int i = 0; i < half; i++) {
      const float ang = (float)t * (float)inv[i];
      cos[t * half + i] = (float)std::cos((double)ang) * af;
      sin[t * half + i] = (float)std::sin((double)ang) * af;
    }
}

void LlamaModel::load_batch(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool* pool) {
  const int B = batch.B, T = batch.T, N = B * T, V = cfg_.vocab_size, HD = cfg_.head_dim;
  refresh_bf16(pool);
  if (B <= 0 || T <= 0) throw TunerError("bad_batch", "batch has B=" + std::to_string(B) + ", T=" + std::to_string(T), "B and T must be positive.");
  for (int i = 0; i < N; i++) {
    if (batch.tokens[i] >= (uint32_t)V || (batch.loss_mask[i] && batch.targets[i] >= (uint32_t)V))
      throw TunerError("bad_batch", "token id " + std::to_string(std::max(batch.tokens[i], batch.targets[i])) + " at position " +
                                        std::to_string(i) + " is outside the vocabulary (vocab_size=" + std::to_string(V) + ")",
                       "The data was tokenized with a different tokenizer; prepare it again for this model.");
  }
  if (cfg_.positions == PositionKind::Learned && T > cfg_.max_position_embeddings)
    throw TunerError("sequence_too_long",
                     "a sequence of " + std::to_string(T) + " tokens is longer than the " + std::to_string(cfg_.max_position_embeddings) +
                         " learned positions of " + cfg_.architecture + " (n_positions)",
                     "Set max_seq_length to at most " + std::to_string(cfg_.max_position_embeddings) + ".");
  ensure_workspace(B, T, pool);
  training_ = training;
  dropout_seed_ = dropout_seed;
  dropout_first_token_ = static_cast<uint64_t>(batch.first_row) * static_cast<uint64_t>(T);
  Workspace& ws = ws_;
  std::memcpy(ws.tokens.data(), batch.tokens, sizeof(uint32_t) * N);
  for (int i = 0; i < N; i++) ws.targets[i] = batch.loss_mask[i] ? batch.targets[i] : 0;
  std::memcpy(ws.mask.data(), batch.loss_mask, (size_t)N);
  load_sample_starts(batch);
  if (ws.rope_T != T && cfg_.positions == PositionKind::Rope) {
    float af = 1.0f;  // set by rope_inv_freq: a separate statement, before af is read
    const std::vector<double> inv = rope_inv_freq(cfg_, T, &af);
    rope_table(ws.cos, ws.sin, inv, af, T, HD / 2);
    xpos_tables(ws, T);
    if (cfg_.rope_local_theta > 0) rope_table(ws.cos_local, ws.sin_local, rope_local_inv_freq(cfg_), 1.0f, T, HD / 2);
    ws.rope_T = T;
  }
}

float LlamaModel::forward(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool* pool) {
  return run_forward(batch, training, training, dropout_seed, pool);
}

float LlamaModel::evaluate(const Batch& batch, ThreadPool* pool) { return run_forward(batch, false, true, 0, pool); }

float LlamaModel::run_forward(const Batch& batch, bool training, bool pack_head, uint64_t dropout_seed, ThreadPool* pool) {
  if (generic_arch()) return run_forward_arch(batch, training, pack_head, dropout_seed, pool);
  const int B = batch.B, T = batch.T, N = B * T;
  const int C = cfg_.hidden_size, F = cfg_.intermediate_size;
  load_batch(batch, training, dropout_seed, pool);
  Workspace& ws = ws_;

  prof_.in_backward = false;
  float* h = ws.layers.empty() ? ws.resid_final : ws.layers[0].resid_in;
  const float* E = embed_->data;
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) std::memcpy(h + n * C, E + (int64_t)ws.tokens[n] * C, sizeof(float) * C);
  });

  // Each residual add runs fused with the RMSNorm that reads its result (the next layer's ln1,
  // or the final norm), so the sum is normed while its row is still in cache.
  const float eps = cfg_.rms_norm_eps;
  if (cfg_.num_layers == 0) {
    ProfScope ps(prof_, kProfNormRope);
    rmsnorm_forward(ws.xf, ws.rstdf, ws.resid_final, norm_->data, N, C, eps, pool);
  } else {
    ProfScope ps(prof_, kProfNormRope);
    rmsnorm_forward(ws.layers[0].x1, ws.layers[0].rstd1, ws.layers[0].resid_in, layers_[0].ln1->data, N, C, eps, pool);
  }
  for (int l = 0; l < cfg_.num_layers; l++) {
    Layer& L = layers_[l];
    LayerActs& a = ws.layers[l];
    const bool last = l + 1 == cfg_.num_layers;
    float* out = last ? ws.resid_final : ws.layers[l + 1].resid_in;
    layer_forward_to_mlp(l, pool);
    { ProfScope ps(prof_, kProfElementwise); swiglu_forward(ws.m, a.gate, a.up, (int64_t)N * F, pool); }
    { ProfScope ps(prof_, kProfLinear); linear_forward(L.down, out, ws.m, a.lora_t[6], N, pool); }
    {
      ProfScope ps(prof_, kProfNormRope);
      if (last) add_rmsnorm_forward(out, ws.xf, ws.rstdf, out, a.mid, norm_->data, N, C, eps, pool);
      else add_rmsnorm_forward(out, ws.layers[l + 1].x1, ws.layers[l + 1].rstd1, out, a.mid, layers_[l + 1].ln1->data, N, C, eps, pool);
    }
  }
  return head_forward(pack_head, pool);
}

float LlamaModel::head_forward(bool pack_head, ThreadPool* pool) {
  Workspace& ws = ws_;
  const int N = ws.B * ws.T, C = cfg_.hidden_size, V = cfg_.vocab_size;
  // Training and evaluation need logits only where the loss counts (prompt and padding rows are
  // often half of instruction data): pack those rows of xf and targets to the front, in order,
  // and run the lm_head, the loss and (in backward) both head GEMMs on them alone. A forward
  // with training = false keeps every row's logits, which logits() returns.
  ws.head_rows = N;
  {
    ProfScope ps(prof_, kProfHead);
    if (pack_head) {
      int rows = 0;
      for (int n = 0; n < N; n++) {
        if (!ws.mask[n]) continue;
        if (rows != n) {
          std::memcpy(ws.xf + (int64_t)rows * C, ws.xf + (int64_t)n * C, sizeof(float) * C);
          ws.targets[rows] = ws.targets[n];
        }
        rows++;
      }
      ws.head_rows = rows;
    }
    if (ws.head_rows > 0) {
      if (lm_head16_fwd_) gemm_bf16(Trans::N, ws.head_rows, 1.0f, ws.xf, C, *lm_head16_fwd_, Bf16KTail{}, 0.0f, ws.logits, V, pool);
      else if (lm_head16_) gemm_bf16(Trans::N, Trans::T, ws.head_rows, V, C, 1.0f, ws.xf, C, lm_head16_, C, 0.0f, ws.logits, V, pool);
      else sgemm(Trans::N, Trans::T, ws.head_rows, V, C, 1.0f, ws.xf, C, lm_head_->data, C, 0.0f, ws.logits, V, pool);
      if (cfg_.final_softcap > 0) softcap_forward(ws.logits, ws.cap_t, (int64_t)ws.head_rows * V, cfg_.final_softcap, pool);
    }
  }
  have_forward_ = true;
  forward_adapter_off_ = adapter_off_;
  ProfScope ps(prof_, kProfLoss);
  return cross_entropy_forward(ws.losses, ws.lse, ws.logits, ws.targets.data(), ws.head_packed() ? nullptr : ws.mask.data(),
                               ws.head_rows, V, pool);
}

// Layer l from its normed input x1 up to the MLP's gate and up projections: everything backward
// reads of the layer (the SwiGLU product is recomputed there anyway).
void LlamaModel::layer_forward_to_mlp(int l, ThreadPool* pool) {
  Workspace& ws = ws_;
  const int B = ws.B, T = ws.T, N = B * T;
  const int C = cfg_.hidden_size;
  const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;
  const float eps = cfg_.rms_norm_eps;
  Layer& L = layers_[l];
  LayerActs& a = ws.layers[l];
  {
    ProfScope ps(prof_, kProfLinear);
    linear_forward(L.q, a.q, a.x1, a.lora_t[0], N, pool);
    linear_forward(L.k, a.k, a.x1, a.lora_t[1], N, pool);
    linear_forward(L.v, a.v, a.x1, a.lora_t[2], N, pool);
  }
  {
    ProfScope ps(prof_, kProfNormRope);
    rope_forward(a.q, ws.cos, ws.sin, B, T, NH, HD, pool, ws.pos());
    rope_forward(a.k, ws.kcos(), ws.ksin(), B, T, NKV, HD, pool, ws.pos());
  }
  {
    ProfScope ps(prof_, kProfAttention);
    AttentionExtras ex;
    ex.bf16 = bf16_;
    attention_forward(a.att, a.lse, a.q, a.k, a.v, ws.attn_scratch, B, T, NH, NKV, HD, cfg_.attention_window(l), pool,
                      &ex, ws.starts());
  }
  { ProfScope ps(prof_, kProfLinear); linear_forward(L.o, a.mid, a.att, a.lora_t[3], N, pool); }
  { ProfScope ps(prof_, kProfNormRope); add_rmsnorm_forward(a.mid, a.x2, a.rstd2, a.mid, a.resid_in, L.ln2->data, N, C, eps, pool); }
  {
    ProfScope ps(prof_, kProfLinear);
    linear_forward(L.gate, a.gate, a.x2, a.lora_t[4], N, pool);
    linear_forward(L.up, a.up, a.x2, a.lora_t[5], N, pool);
  }
}

// Activation checkpointing: refills the shared activations with layer l's, from its kept input,
// by the same kernels in the same order as the forward (RMSNorm alone gives the same bits as
// the fused add + RMSNorm that produced x1 there), so backward computes the same gradients.
void LlamaModel::recompute_layer(int l, ThreadPool* pool) {
  LayerActs& a = ws_.layers[l];
  const int N = ws_.B * ws_.T, C = cfg_.hidden_size;
  {
    ProfScope ps(prof_, kProfNormRope);
    rmsnorm_forward(a.x1, a.rstd1, a.resid_in, layers_[l].ln1->data, N, C, cfg_.rms_norm_eps, pool);
  }
  layer_forward_to_mlp(l, pool);
  // The down projection's LoRA input t = d(m) A^T, as linear_forward computed it (m itself is
  // recomputed by backward).
  const Linear& down = layers_[l].down;
  if (down.lora_a) {
    ProfScope ps(prof_, kProfLinear);
    swiglu_forward(ws_.m, a.gate, a.up, (int64_t)N * cfg_.intermediate_size, pool);
    lora_a_forward(down, a.lora_t[6], ws_.m, N, pool);
  }
}

void LlamaModel::set_gradient_checkpointing(bool on) {
  if (on == checkpointing_) return;
  checkpointing_ = on;
  ws_ = Workspace();  // the next forward lays the workspace out for the new mode
  have_forward_ = false;
}

}  // namespace tuner
