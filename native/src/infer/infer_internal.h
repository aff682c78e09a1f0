// Internal: the inference session behind tuner::InferSession. Split over session_load.cpp
// (model folder / adapter -> weights, KV cache), session_forward.cpp (the forward over the
// cache), attention_cache.cpp (the cached attention kernel), adapter_check.cpp (does a PEFT
// adapter fit this base model) and sampler.cpp.
//
// KV cache, per layer l: k[l], v[l] [ctx, NKV*HD], keys after RoPE, row = position. A forward
// over n new tokens at position p writes their k/v straight into rows p..p+n-1 (the linears'
// output goes there) and its queries attend to rows 0..p+n-1.
// Workspace for a chunk of up to kChunk rows (NB): h, x1, x2, mid [NB,C], q, att [NB,QD],
// gate, up [NB,F], lora t [NB,rmax], rstd [NB], cos/sin [NB,HD/2], logits [V], attention
// scratch threads x kAttnRowBlock x ctx.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/llama_model.h"
#include "tuner/infer.h"
#include "tuner/ops.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

namespace tuner {

// Prompt rows per forward: larger prompts run as several chunks (same results up to
// summation order; the GEMMs are already at full speed well below this).
constexpr int kChunk = 256;
// From this many rows an f32 linear runs through sgemm's blocked kernels; fewer rows (decode)
// stream the weights once through qgemm's matrix-vector kernel (qgemm's own switch point).
constexpr int kGemmRows = 8;
// Query x key x head-dim products from which cached attention is split over the pool (below,
// about 10-20 us of work, a fork-join costs as much as it saves).
constexpr int64_t kAttnForkWork = 1 << 17;
constexpr int kAttnRowBlock = 64;

// rope_scaling `dynamic` for a forward call that ends at seq_len (transformers'
// dynamic_rope_update, once per call): the frequencies inv and their factor af follow the
// longest sequence seen (len, max_position_embeddings at load) and return to the original once
// a call stays inside max_position_embeddings. The CPU and device sessions both keep this rule.
void dynamic_rope_update(const ModelConfig& c, int seq_len, std::vector<double>* inv, float* af, int* len);

// One projection as inference runs it: the LlamaModel's Linear (names, sizes, bias, LoRA A/B
// and scaling; null for the lm_head) and its weight [out, in] as a QuantMatrix, f32 included:
// decode runs every format through qgemm's matrix-vector kernels, prefill runs f32 through
// sgemm (the training forward's products) and the others through qgemm's decoded tiles.
struct InferLinear {
  const Linear* lin = nullptr;
  QuantMatrix q;
  const float* f32() const { return q.type == QuantType::F32 ? reinterpret_cast<const float*>(q.data.data()) : nullptr; }
};

// Cached causal attention with GQA and an optional sliding window (0 = none):
//   y[n, NH*HD] for queries q[n, NH*HD] at positions p..p+n-1 over the cache rows
//   kc/vc[0 .. p+n-1, NKV*HD]; query at position a sees keys max(0, a-W+1)..a.
// Threaded over (head, block of kAttnRowBlock query rows); softmax as the training kernel does
// it (row max, sum of exp, exp scaled), so its results match attention_forward's.
// scratch: attention_cache_scratch_floats(ctx, threads).
int64_t attention_cache_scratch_floats(int ctx, int threads);
// extras: scale, soft-capping and ALiBi as the training kernel applies them (null = none).
void attention_cache_forward(float* y, const float* q, const float* kc, const float* vc, float* scratch, int n, int p,
                             int NH, int NKV, int HD, int window, ThreadPool* pool, const AttentionExtras* extras = nullptr);
// The same by plain loops in double (the oracle for tests).
void attention_cache_reference(float* y, const float* q, const float* kc, const float* vc, int n, int p, int NH, int NKV,
                               int HD, int window);

// Checks adapter_config.json and adapter_model.safetensors against the base model before
// anything is loaded: PEFT LoRA, supported target modules and options, every tensor present
// with the shape this model implies. Throws bad_adapter (the folder / config) or
// adapter_mismatch (trained for another base: names base_model_name_or_path in the hint).
void check_adapter(const std::string& adapter_dir, const LlamaModel& model, const std::string& model_dir);

// The checks every session makes, with the errors they throw (one wording for the CPU and the
// device sessions): a model folder that exists (missing_model); the KV-cache length a session
// gets, opt.context_length or max_position_embeddings (context_too_long past what its positions
// support); truncate's position (bad_position); append's ids and room (bad_tokens, bad_token,
// context_full); logits to sample from (no_logits).
void check_model_folder(const std::string& dir);
int checked_context(const ModelConfig& c, const InferOptions& opt);
void check_truncate(int position, int held);
void check_append(const uint32_t* ids, int n, int position, int ctx, int vocab_size);
void check_can_sample(bool have_logits);

// A session's weights as load_infer_weights reads them (the model folder through the training
// loader, each linear quantized as it is read when a format is asked for, the adapter checked and
// loaded): the LlamaModel (config, Linear structure, LoRA A/B and scaling), the f32 tensors that
// are not linears (Params point into f32_store), every linear and the lm_head as a QuantMatrix
// (f32 included), and the format the linears run in. The device session uploads them.
struct InferWeights {
  std::unique_ptr<LlamaModel> model;
  std::vector<std::vector<float>> f32_store;
  std::vector<std::vector<InferLinear>> lin;  // [L][Layer::linears.size()]
  InferLinear head;                           // the lm_head (tied: also the embedding table)
  QuantType quant = QuantType::F32;
};
InferWeights load_infer_weights(const InferOptions& opt, ThreadPool* pool);

// What every inference session keeps of its sequence and does with it, whichever engine runs
// its forward (Session on the CPU, dev::DeviceInferSession on a device): the cached tokens, the
// last token's logits, the sampler, and appends checked and cut into chunks of at most
// chunk_rows() tokens, each run by forward_chunk (which appends its ids to tokens_ and, for the
// last chunk, leaves the last row's logits in logits_).
class CachedSession : public InferSession {
 public:
  const InferInfo& info() const override { return info_; }
  int position() const override { return (int)tokens_.size(); }
  const std::vector<uint32_t>& tokens() const override { return tokens_; }
  void truncate(int position) override;
  void append(const uint32_t* ids, int n, float* all_logits) override;
  const float* logits() const override { return logits_.data(); }
  Sampler& sampler() override { return sampler_; }
  uint32_t sample(const uint32_t* banned, int n_banned) override;

 protected:
  // Before the chunks of an append of n tokens at position(): rope_scaling `dynamic`'s
  // frequencies (one append is one forward call, however it is chunked).
  virtual void begin_append(int n) = 0;
  virtual int chunk_rows() const = 0;
  // n <= chunk_rows() tokens at position(); head_rows: every row's logits [n, V] there.
  virtual void forward_chunk(const uint32_t* ids, int n, float* head_rows, bool last_chunk) = 0;

  InferInfo info_;
  Sampler sampler_;
  int ctx_ = 0;                 // KV-cache positions
  std::vector<uint32_t> tokens_;
  std::vector<float> logits_;  // [V]
  bool have_logits_ = false;   // logits_ belong to the last cached token
};

class Session final : public CachedSession {
 public:
  explicit Session(const InferOptions& opt);
  const ModelConfig& config() const override { return model_->config(); }
  void set_device_reason(std::string reason) { info_.device_reason = std::move(reason); }

 private:
  void load_weights(const InferOptions& opt);
  void allocate(int ctx);
  void begin_append(int n) override { update_dynamic_rope(position() + n); }
  int chunk_rows() const override { return kChunk; }
  void forward_chunk(const uint32_t* ids, int n, float* head_rows, bool last_chunk) override;
  // The same for the architectures beyond the Llama family's own (session_forward_arch.cpp:
  // Qwen3, Gemma 3, GPT-2, Bloom), following the training model's arch_forward.cpp.
  void forward_chunk_arch(const uint32_t* ids, int n, float* head_rows, bool last_chunk);
  // rope_scaling `dynamic`: the frequencies for a forward call that ends at seq_len.
  void update_dynamic_rope(int seq_len);
  // cos/sin rows for positions p..p+n-1 into cos_/sin_.
  void rope_tables(int p, int n);
  void linear(const InferLinear& l, float* y, const float* x, int n);
  float* k_cache(int layer) { return kv_.data() + (size_t)layer * 2 * cache_stride_; }
  float* v_cache(int layer) { return k_cache(layer) + cache_stride_; }

  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<LlamaModel> model_;          // config, Linear structure, LoRA weights
  std::vector<std::vector<float>> f32_store_;  // f32 tensors that are not linears (norms, biases, embeddings)
  std::vector<std::vector<InferLinear>> lin_;  // [L][Layer::linears.size()] in Layer::linears order
  InferLinear head_;                           // the lm_head (f32 and tied: also the embedding table)

  size_t cache_stride_ = 0;  // ctx * NKV*HD floats
  std::vector<float> kv_;

  // rope_scaling: inverse frequencies and the factor cos/sin are scaled by. For `dynamic`,
  // dyn_len_ is transformers' max_seq_len_cached (frequencies follow the longest position seen
  // since the last reset).
  std::vector<double> inv_freq_;
  float rope_af_ = 1.0f;
  int dyn_len_ = 0;

  std::vector<float> ws_;
  float *h_, *x1_, *x2_, *mid_, *q_, *att_, *gate_, *up_, *lora_t_, *rstd_, *cos_, *sin_, *attn_scratch_;
  float *qkv_, *tmp_, *mean_, *cos_local_, *sin_local_;
  std::vector<double> inv_local_;  // Gemma 3's sliding layers: base rope_local_theta
  // xPos: the keys' cos/sin rows for the positions of rope_tables (cos_/sin_ are the queries');
  // empty without xPos.
  std::vector<float> cos_k_, sin_k_;
  const float* kcos() const { return cos_k_.empty() ? cos_ : cos_k_.data(); }
  const float* ksin() const { return sin_k_.empty() ? sin_ : sin_k_.data(); }
};

}  // namespace tuner
