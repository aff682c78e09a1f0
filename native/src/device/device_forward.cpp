// DeviceModel's forward: the CPU engine's Llama forward (llama_forward.cpp) as a sequence of
// device ops in mixed precision. The residual stream stays fp32: o_proj and down_proj add their
// products into it (gemm with beta = 1). Each RMSNorm writes fp32 and keeps a bf16 copy, which
// the projections and (in backward) their weight gradients read; q/k/v come out of their GEMMs
// in fp32, take RoPE in fp32 and go to attention as bf16. As on the CPU, a training forward and
// evaluate() run the lm_head on the loss rows only, packed to the front (one device copy per run
// of loss rows); a forward with training = false runs it on every row for logits(). The loss is
// the mean over the loss rows, summed on the host from their per-row losses.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "device/device_model_internal.h"
#include "tuner/error.h"

namespace tuner::dev {

namespace {
constexpr size_t kMaxHeadRuns = 256;
}  // namespace


// The batch checked as the CPU engine checks it (token ids, packed records), copied to the device
// with the RoPE tables for its T.
void DeviceModel::Impl::load_batch(const Batch& batch, bool training_on, bool pack_head, uint64_t seed) {
  const int B = batch.B, T = batch.T, N = B * T, V = cfg().vocab_size;
  if (B <= 0 || T <= 0) throw TunerError("bad_batch", "batch has B=" + std::to_string(B) + ", T=" + std::to_string(T), "B and T must be positive.");
  std::vector<uint32_t> targets(N);
  loss_rows = 0;
  for (int i = 0; i < N; i++) {
    if (batch.tokens[i] >= (uint32_t)V || (batch.loss_mask[i] && batch.targets[i] >= (uint32_t)V))
      throw TunerError("bad_batch", "token id " + std::to_string(std::max(batch.tokens[i], batch.targets[i])) + " at position " +
                                        std::to_string(i) + " is outside the vocabulary (vocab_size=" + std::to_string(V) + ")",
                       "The data was tokenized with a different tokenizer; prepare it again for this model.");
    targets[i] = batch.loss_mask[i] ? batch.targets[i] : 0;
    loss_rows += batch.loss_mask[i] ? 1 : 0;
  }
  ensure_activations(B, T);
  // The head packs the loss rows when there are fewer than N and they come in few runs (one per
  // record's answer in chat data); many short runs would cost more copies than the rows save.
  head_runs.clear();
  for (int i = 0; i < N; i++)
    if (batch.loss_mask[i] && (i == 0 || !batch.loss_mask[i - 1])) head_runs.push_back({i, 0});
    else if (!batch.loss_mask[i] && i > 0 && batch.loss_mask[i - 1]) head_runs.back().second = i - head_runs.back().first;
  if (!head_runs.empty() && head_runs.back().second == 0) head_runs.back().second = N - head_runs.back().first;
  head_rows = N;
  if (pack_head && loss_rows < N && head_runs.size() <= kMaxHeadRuns) {
    head_rows = 0;
    for (auto [first, count] : head_runs)
      for (int i = first; i < first + count; i++) targets[head_rows++] = targets[i];
  }
  ops.upload(act.tokens, batch.tokens, sizeof(uint32_t) * N);
  ops.upload(act.targets, targets.data(), sizeof(uint32_t) * N);
  ops.upload(act.mask, batch.loss_mask, (size_t)N);
  packed = batch.sample_start != nullptr;
  if (packed) {
    std::vector<int32_t> positions(N);
    record_positions(batch, positions.data());  // checked as the CPU engine checks them
    ops.upload(act.sample_start, batch.sample_start, sizeof(int32_t) * N);
    ops.upload(act.positions, positions.data(), sizeof(int32_t) * N);
  }
  if (rope_T != T) {
    float af = 1.0f;  // set by rope_inv_freq: a separate statement, before af is read
    const std::vector<double> inv = rope_inv_freq(cfg(), T, &af);
    std::vector<float> cos((size_t)T * cfg().head_dim / 2), sin(cos.size());
    rope_table(cos.data(), sin.data(), inv, af, T, cfg().head_dim / 2);
    ops.upload(act.cos, cos.data(), cos.size() * sizeof(float));
    ops.upload(act.sin, sin.data(), sin.size() * sizeof(float));
    if (act.cos_local) {  // Gemma 3's sliding layers: their own base, no scaling
      rope_table(cos.data(), sin.data(), rope_local_inv_freq(cfg()), 1.0f, T, cfg().head_dim / 2);
      ops.upload(act.cos_local, cos.data(), cos.size() * sizeof(float));
      ops.upload(act.sin_local, sin.data(), sin.size() * sizeof(float));
    }
    rope_T = T;
  }
  if (act.pos_ids) {  // GPT-2's learned positions: each token's place in its record
    if (T > cfg().max_position_embeddings)
      throw TunerError("sequence_too_long",
                       "a sequence of " + std::to_string(T) + " tokens is longer than the " +
                           std::to_string(cfg().max_position_embeddings) + " positions this model has (n_positions)",
                       "Set max_seq_length to at most " + std::to_string(cfg().max_position_embeddings) + ".");
    std::vector<uint32_t> ids(N);
    std::vector<int32_t> record(packed ? N : 0);
    if (packed) record_positions(batch, record.data());
    for (int i = 0; i < N; i++) ids[i] = packed ? (uint32_t)record[i] : (uint32_t)(i % T);
    ops.upload(act.pos_ids, ids.data(), sizeof(uint32_t) * N);
  }
  training = training_on;
  dropout_seed = seed;
  dropout_first_token = static_cast<uint64_t>(batch.first_row) * static_cast<uint64_t>(T);
}

const bf16* DeviceModel::Impl::lora_input(const Linear& l, const bf16* x, int N) {
  if (!lora_dropout(l)) return x;
  const int64_t n = (int64_t)N * l.in;
  ops.to_f32(act.lora_tmp, x, n);
  ops.dropout(act.lora_tmp2, act.lora_tmp, n, l.dropout, dropout_seed, l.stream, dropout_first_token * l.in, false);
  ops.to_bf16(act.lora_x16, act.lora_tmp2, n);
  return act.lora_x16;
}

void DeviceModel::Impl::lora_a_forward(const Linear& l, bf16* t16, const bf16* x, int N) {
  const int r = (int)l.lora_a->shape[0];
  ops.gemm(Trans::N, Trans::T, N, r, l.in, 1.0f, lora_input(l, x, N), l.in, t(l.lora_a).w16.get(), l.in, 0.0f, act.lora_dt, r);
  ops.to_bf16(t16, act.lora_dt, (int64_t)N * r);
}

void DeviceModel::Impl::linear_forward(const Linear& l, float* y, const bf16* x, bf16* t16, int N, bool accumulate) {
  const DeviceTensor& w = t(l.w);
  if (w.q) ops.qgemm(y, l.out, x, l.in, *w.q, N, accumulate);
  else ops.gemm(Trans::N, Trans::T, N, l.out, l.in, 1.0f, x, l.in, w.w16.get(), l.in, accumulate ? 1.0f : 0.0f, y, l.out);
  if (l.b) ops.bias_forward(y, t(l.b).w.get(), N, l.out);
  if (!l.lora_a || adapter_off) return;
  const int r = (int)l.lora_a->shape[0];
  lora_a_forward(l, t16, x, N);
  ops.gemm(Trans::N, Trans::T, N, l.out, r, l.scaling, t16, r, t(l.lora_b).w16.get(), r, 1.0f, y, l.out);
}

void DeviceModel::Impl::layer_forward(int l, float* out, bool recompute) {
  const ModelConfig& c = cfg();
  const int B = act.B, T = act.T, N = B * T, C = c.hidden_size, F = c.intermediate_size;
  const int NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int64_t QD = (int64_t)NH * HD, KD = (int64_t)NKV * HD;
  if (generic()) {  // Qwen3, Gemma 3, GPT-2, Bloom
    arch_layer_forward(l, out, recompute);
    return;
  }
  const Layer& L = host.layers()[l];
  LayerBufs& a = act.layers[l];
  const int32_t* pos = packed ? act.positions : nullptr;
  ops.rmsnorm_forward(act.x32, a.rstd1, a.resid_in, t(L.ln1).w.get(), N, C, c.rms_norm_eps);
  ops.to_bf16(a.x1, act.x32, (int64_t)N * C);
  linear_forward(L.q, act.q32, a.x1, a.t[L.q.index], N, false);
  linear_forward(L.k, act.k32, a.x1, a.t[L.k.index], N, false);
  linear_forward(L.v, act.v32, a.x1, a.t[L.v.index], N, false);
  ops.rope_forward(act.q32, act.cos, act.sin, B, T, NH, HD, pos);
  ops.rope_forward(act.k32, act.cos, act.sin, B, T, NKV, HD, pos);
  ops.to_bf16(a.q, act.q32, N * QD);
  ops.to_bf16(a.k, act.k32, N * KD);
  ops.to_bf16(a.v, act.v32, N * KD);
  ops.attention_forward(a.y, a.lse, a.q, a.k, a.v, attention_shape(l));
  ops.copy(a.mid, a.resid_in, sizeof(float) * N * C);
  linear_forward(L.o, a.mid, a.y, a.t[L.o.index], N, true);
  ops.rmsnorm_forward(act.x32, a.rstd2, a.mid, t(L.ln2).w.get(), N, C, c.rms_norm_eps);
  ops.to_bf16(a.x2, act.x32, (int64_t)N * C);
  linear_forward(L.gate, a.gate, a.x2, a.t[L.gate.index], N, false);
  linear_forward(L.up, a.up, a.x2, a.t[L.up.index], N, false);
  if (recompute && !(L.down.lora_a && !adapter_off)) return;
  ops.swiglu_forward(act.m32, a.gate, a.up, (int64_t)N * F);
  ops.to_bf16(act.m16, act.m32, (int64_t)N * F);
  if (recompute) {  // backward reads the down projection's LoRA product t, not its output
    lora_a_forward(L.down, a.t[L.down.index], act.m16, N);
    return;
  }
  ops.copy(out, a.mid, sizeof(float) * N * C);
  linear_forward(L.down, out, act.m16, a.t[L.down.index], N, true);
}

float DeviceModel::Impl::run_forward(const Batch& batch, bool training_on, bool pack_head, uint64_t seed) {
  if (tensors.empty()) {
    upload_base();
  }
  load_batch(batch, training_on, pack_head, seed);
  const ModelConfig& c = cfg();
  const int N = act.B * act.T, C = c.hidden_size, V = c.vocab_size, nl = c.num_layers;
  float* h = nl ? act.layers[0].resid_in : act.resid_final;
  embed_forward(h);
  for (int l = 0; l < nl; l++) layer_forward(l, l + 1 < nl ? act.layers[l + 1].resid_in : act.resid_final, false);
  norm_forward(act.x32, act.meanf, act.rstdf, act.resid_final, host.final_norm(), host.final_norm_bias(), N, C);
  ops.to_bf16(act.xf, act.x32, (int64_t)N * C);
  const bf16* xh = act.xf;
  if (head_packed()) {
    int row = 0;
    for (auto [first, count] : head_runs) {
      ops.copy(act.xf_packed + (int64_t)row * C, act.xf + (int64_t)first * C, sizeof(bf16) * count * C);
      row += count;
    }
    xh = act.xf_packed;
  }
  std::vector<float> losses(head_rows);
  if (head_rows > 0) {
    ops.gemm(Trans::N, Trans::T, head_rows, V, C, 1.0f, xh, C, t(host.lm_head()).w16.get(), C, 0.0f, act.logits, V);
    if (c.final_softcap > 0) ops.softcap_forward(act.logits, act.cap_t, (int64_t)head_rows * V, c.final_softcap);
    ops.cross_entropy_forward(act.losses, act.lse, act.logits, act.targets, head_packed() ? nullptr : act.mask, head_rows, V);
    ops.download(losses.data(), act.losses, sizeof(float) * head_rows);
  }
  double sum = 0.0;
  for (float x : losses) sum += x;  // rows outside the loss hold 0
  have_forward = true;
  forward_adapter_off = adapter_off;
  logits_valid = true;
  logits_downloaded = false;
  return loss_rows ? (float)(sum / loss_rows) : 0.0f;
}

float DeviceModel::forward(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool*) {
  return impl_->run_forward(batch, training, training, dropout_seed);
}

float DeviceModel::evaluate(const Batch& batch, ThreadPool*) { return impl_->run_forward(batch, false, true, 0); }

const float* DeviceModel::logits() const {
  Impl& m = *impl_;
  if (!m.logits_valid) return nullptr;
  if (!m.logits_downloaded) {
    m.logits_host.resize((size_t)m.act.B * m.act.T * config().vocab_size);
    ops_.download(m.logits_host.data(), m.act.logits, m.logits_host.size() * sizeof(float));
    m.logits_downloaded = true;
  }
  return m.logits_host.data();
}

}  // namespace tuner::dev
