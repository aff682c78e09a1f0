// The device session's forward over the KV cache (device_infer.h): the device model's layer
// (device_forward.cpp) for n new tokens at positions p..p+n-1, with k and v rounded into the
// cache rows and the queries attending to every cached row their window allows.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "device/device_infer_internal.h"

namespace tuner::dev {

void DeviceInferSession::truncate(int position) {
  check_truncate(position, (int)tokens_.size());
  if (position < (int)tokens_.size()) have_logits_ = false;
  tokens_.resize(position);
}

void DeviceInferSession::append(const uint32_t* ids, int n, float* all_logits) {
  const ModelConfig& c = config();
  check_append(ids, n, position(), ctx_, c.vocab_size);
  for (int c0 = 0; c0 < n; c0 += nb_) {
    const int m = std::min(nb_, n - c0);
    forward_chunk(ids + c0, m, all_logits ? all_logits + (size_t)c0 * c.vocab_size : nullptr, c0 + m == n);
  }
  have_logits_ = true;
}

uint32_t DeviceInferSession::sample(const uint32_t* banned, int n_banned) {
  check_can_sample(have_logits_);
  return sampler_.sample(logits_.data(), config().vocab_size, tokens_.data(), (int)tokens_.size(), banned, n_banned);
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
  const float eps = c.rms_norm_eps;
  std::vector<int32_t> positions(n);
  std::iota(positions.begin(), positions.end(), p);
  ops.upload(tok_, ids, sizeof(uint32_t) * n);
  ops.upload(pos_, positions.data(), sizeof(int32_t) * n);
  ops.embedding_forward(h_, embed_.get(), tok_, n, C, 1.0f);
  for (int l = 0; l < c.num_layers; l++) {
    const std::vector<DeviceLinear>& L = lin_[l];  // q k v o gate up down
    bf16* kc = k_cache(l);
    bf16* vc = v_cache(l);
    ops.rmsnorm_forward(x32_, rstd_, h_, ln1_[l].get(), n, C, eps);
    const bf16* x16 = product_input(x32_, n, C);
    linear(L[0], q32_, x32_, x16, n, false);
    linear(L[1], k32_, x32_, x16, n, false);
    linear(L[2], v32_, x32_, x16, n, false);
    ops.rope_forward(q32_, cos_.get(), sin_.get(), 1, n, NH, HD, pos_);
    ops.rope_forward(k32_, cos_.get(), sin_.get(), 1, n, NKV, HD, pos_);
    ops.to_bf16(q16_, q32_, (int64_t)n * QD);
    ops.to_bf16(kc + (int64_t)p * KD, k32_, (int64_t)n * KD);
    ops.to_bf16(vc + (int64_t)p * KD, v32_, (int64_t)n * KD);
    DecodeShape s;
    s.n = n, s.pos = p, s.NH = NH, s.NKV = NKV, s.HD = HD;
    s.window = c.attention_window(l);
    ops.attention_decode(y16_, q16_, kc, vc, s);
    if (n <= kGemvMaxRows) ops.to_f32(y32_, y16_, (int64_t)n * QD);
    linear(L[3], h_, y32_, y16_, n, true);  // h += attention
    ops.rmsnorm_forward(x32_, rstd_, h_, ln2_[l].get(), n, C, eps);
    const bf16* x2 = product_input(x32_, n, C);
    linear(L[4], gate_, x32_, x2, n, false);
    linear(L[5], up_, x32_, x2, n, false);
    ops.swiglu_forward(m32_, gate_, up_, (int64_t)n * F);
    linear(L[6], h_, m32_, product_input(m32_, n, F), n, true);  // h += MLP
  }
  tokens_.insert(tokens_.end(), ids, ids + n);
  if (head_rows) {
    ops.rmsnorm_forward(x32_, rstd_, h_, final_norm_.get(), n, C, eps);
    linear(head_, logits_dev_, x32_, product_input(x32_, n, C), n, false);
    ops.download(head_rows, logits_dev_, sizeof(float) * (size_t)n * V);
    if (last_chunk) std::memcpy(logits_.data(), head_rows + (size_t)(n - 1) * V, sizeof(float) * V);
  } else if (last_chunk) {
    ops.rmsnorm_forward(x32_, rstd_, h_ + (int64_t)(n - 1) * C, final_norm_.get(), 1, C, eps);
    linear(head_, logits_dev_, x32_, nullptr, 1, false);
    ops.download(logits_.data(), logits_dev_, sizeof(float) * V);
  }
}

}  // namespace tuner::dev
