// The forward over the KV cache: the training forward's layer (llama_forward.cpp) for n new
// tokens at positions p..p+n-1. Linears write k and v straight into the cache rows, RoPE rotates
// them there, and the queries attend to every cached row their window allows. Only the last
// row's logits are computed unless the caller asks for all of them.
#include <cmath>
#include <cstring>
#include <string>

#include "infer/infer_internal.h"
#include "quant/quant_internal.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/ops.h"

namespace tuner {

void check_truncate(int position, int held) {
  if (position < 0 || position > held)
    throw TunerError("bad_position", "truncate(" + std::to_string(position) + "): the cache holds " + std::to_string(held) + " tokens",
                     "Truncate to a position between 0 and the current one.");
}

void check_append(const uint32_t* ids, int n, int position, int ctx, int vocab_size) {
  if (n <= 0) throw TunerError("bad_tokens", "append: no tokens given", "Pass at least one token id.");
  for (int i = 0; i < n; i++)
    if (ids[i] >= (uint32_t)vocab_size)
      throw TunerError("bad_token", "token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                                        " is outside the vocabulary (vocab_size=" + std::to_string(vocab_size) + ")",
                       "Tokenize with this model's tokenizer.");
  if (position + n > ctx)
    throw TunerError("context_full",
                     std::to_string(position) + " cached + " + std::to_string(n) + " new tokens exceed the context of " +
                         std::to_string(ctx) + " tokens",
                     "Shorten the prompt or the generation, or load the model with a longer context.");
}

void check_can_sample(bool have_logits) {
  if (!have_logits)
    throw TunerError("no_logits", "sample: no logits to sample from (nothing appended since the last truncate)",
                     "Append the prompt first.");
}

void CachedSession::truncate(int position) {
  check_truncate(position, (int)tokens_.size());
  if (position < (int)tokens_.size()) have_logits_ = false;
  tokens_.resize(position);
}

void CachedSession::append(const uint32_t* ids, int n, float* all_logits) {
  const int V = config().vocab_size, rows = chunk_rows();
  check_append(ids, n, position(), ctx_, V);
  begin_append(n);
  for (int c0 = 0; c0 < n; c0 += rows) {
    const int m = std::min(rows, n - c0);
    forward_chunk(ids + c0, m, all_logits ? all_logits + (size_t)c0 * V : nullptr, c0 + m == n);
  }
  have_logits_ = true;
}

uint32_t CachedSession::sample(const uint32_t* banned, int n_banned) {
  check_can_sample(have_logits_);
  return sampler_.sample(logits_.data(), config().vocab_size, tokens_.data(), (int)tokens_.size(), banned, n_banned);
}

void dynamic_rope_update(const ModelConfig& c, int seq_len, std::vector<double>* inv, float* af, int* len) {
  if (c.rope_scaling.type != "dynamic") return;
  const int orig = c.max_position_embeddings;
  if (seq_len > *len) {
    *inv = rope_inv_freq(c, seq_len, af);
    *len = seq_len;
  }
  if (seq_len < orig && *len > orig) {
    *inv = rope_inv_freq(c, orig, af);
    *len = orig;
  }
}

void Session::update_dynamic_rope(int seq_len) { dynamic_rope_update(config(), seq_len, &inv_freq_, &rope_af_, &dyn_len_); }

void Session::rope_tables(int p, int n) {
  const ModelConfig& c = config();
  // As the training forward computes them: a float angle, its cosine in double, then the factor.
  const int half = c.head_dim / 2;
  for (int t = 0; t < n; t++)
    for (int i = 0; i < half; i++) {
      const float ang = (float)(p + t) * (float)inv_freq_[i];
      cos_[t * half + i] = (float)std::cos((double)ang) * rope_af_;
      sin_[t * half + i] = (float)std::sin((double)ang) * rope_af_;
    }
  if (c.rope_scaling.type != "xpos") return;
  // xPos: queries' rows times zeta^(pos/γ), keys' rows divided by it (as the training forward).
  cos_k_.resize((size_t)n * half);
  sin_k_.resize((size_t)n * half);
  for (int t = 0; t < n; t++)
    for (int i = 0; i < half; i++) {
      const size_t at = (size_t)t * half + i;
      const float z = xpos_scale(c, i, p + t);
      cos_k_[at] = cos_[at] / z;
      sin_k_[at] = sin_[at] / z;
      cos_[at] *= z;
      sin_[at] *= z;
    }
}

void Session::linear(const InferLinear& il, float* y, const float* x, int n) {
  const Linear* l = il.lin;
  const int in = l ? l->in : config().hidden_size, out = l ? l->out : config().vocab_size;
  bool acc = false;
  if (l && l->b) {
    for (int r = 0; r < n; r++) std::memcpy(y + (int64_t)r * out, l->b->data, sizeof(float) * out);
    acc = true;
  }
  if (il.f32() && n >= kGemmRows) sgemm(Trans::N, Trans::T, n, out, in, 1.0f, x, in, il.f32(), in, acc ? 1.0f : 0.0f, y, out, pool_.get());
  else qgemm(y, x, il.q, n, acc, pool_.get());
  if (!l || !l->lora_a) return;
  // LoRA on the fly, PEFT's formula: y += scaling * (x A^T) B^T.
  const int r = (int)l->lora_a->shape[0];
  sgemm(Trans::N, Trans::T, n, r, in, 1.0f, x, in, l->lora_a->data, in, 0.0f, lora_t_, r, pool_.get());
  sgemm(Trans::N, Trans::T, n, out, r, l->scaling, lora_t_, r, l->lora_b->data, r, 1.0f, y, out, pool_.get());
}

void Session::forward_chunk(const uint32_t* ids, int n, float* head_rows, bool last_chunk) {
  if (model_->generic_arch()) return forward_chunk_arch(ids, n, head_rows, last_chunk);
  const ModelConfig& c = config();
  const int C = c.hidden_size, F = c.intermediate_size, NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int KD = NKV * HD, p = position();
  const float eps = c.rms_norm_eps;
  // A decode step's element-wise work (a few thousand floats) costs less than waking the
  // pool, so it runs on the calling thread; attention forks once its keys make it worth it.
  ThreadPool* pool = n >= kGemmRows ? pool_.get() : nullptr;
  rope_tables(p, n);
  if (const float* E = model_->embed()->data) {
    for (int i = 0; i < n; i++) std::memcpy(h_ + (int64_t)i * C, E + (int64_t)ids[i] * C, sizeof(float) * C);
  } else {  // a tied embedding held quantized: decode the rows (the format's own decoder)
    const QuantView view = quant_view(head_.q);
    const QDecodeRange decode = quant_decode_range(head_.q.type);
    for (int i = 0; i < n; i++) decode(h_ + (int64_t)i * C, view, (int)ids[i], 0, C);
  }
  const auto& layers = model_->layers();
  const float* first_norm = layers.empty() ? model_->final_norm()->data : layers[0].ln1->data;
  rmsnorm_forward(x1_, rstd_, h_, first_norm, n, C, eps, pool);
  for (int l = 0; l < c.num_layers; l++) {
    const std::vector<InferLinear>& L = lin_[l];
    float* kc = k_cache(l) + (int64_t)p * KD;
    float* vc = v_cache(l) + (int64_t)p * KD;
    linear(L[0], q_, x1_, n);
    linear(L[1], kc, x1_, n);
    linear(L[2], vc, x1_, n);
    rope_forward(q_, cos_, sin_, 1, n, NH, HD, pool);
    rope_forward(kc, kcos(), ksin(), 1, n, NKV, HD, pool);
    ThreadPool* attn_pool = (int64_t)n * (p + n) * NH * HD >= kAttnForkWork ? pool_.get() : nullptr;
    attention_cache_forward(att_, q_, k_cache(l), v_cache(l), attn_scratch_, n, p, NH, NKV, HD, c.attention_window(l), attn_pool);
    linear(L[3], mid_, att_, n);
    add_rmsnorm_forward(h_, x2_, rstd_, mid_, h_, layers[l].ln2->data, n, C, eps, pool);  // h += attention
    linear(L[4], gate_, x2_, n);
    linear(L[5], up_, x2_, n);
    swiglu_forward(gate_, gate_, up_, (int64_t)n * F, pool);
    linear(L[6], mid_, gate_, n);
    const float* next_norm = l + 1 < c.num_layers ? layers[l + 1].ln1->data : model_->final_norm()->data;
    add_rmsnorm_forward(h_, x1_, rstd_, mid_, h_, next_norm, n, C, eps, pool);  // h += MLP, normed for what follows
  }
  tokens_.insert(tokens_.end(), ids, ids + n);
  const int V = c.vocab_size;
  if (head_rows) {
    linear(head_, head_rows, x1_, n);
    if (last_chunk) std::memcpy(logits_.data(), head_rows + (int64_t)(n - 1) * V, sizeof(float) * V);
  } else if (last_chunk) {
    linear(head_, logits_.data(), x1_ + (int64_t)(n - 1) * C, 1);
  }
}

}  // namespace tuner
