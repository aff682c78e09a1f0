// Text generation from a model of the Llama family: an inference session loads a model once
// (a Hugging Face folder, optionally a PEFT adapter applied on the fly, optionally linears
// quantized at load time) with a KV cache allocated for its whole context, then appends tokens
// (prompt prefill through the blocked GEMMs, batch-1 decode) and samples the next token.
// Token ids in, token ids out: tokenization is TypeScript (docs/inference.md).
//
// The forward is the training forward's math (llama_forward.cpp) over the cache: same RoPE
// tables, GQA and sliding windows, so cached decode logits equal a full forward's at every
// position (test_infer_cache). One exception, as in transformers: rope_scaling `dynamic` picks
// its NTK base from the longest position seen so far at each call, and keys already in the cache
// keep the rotation they were computed with.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tuner/model.h"
#include "tuner/quant.h"
#include "tuner/rng.h"

namespace tuner {

struct InferOptions {
  std::string model;    // Hugging Face folder (or a merged one)
  std::string adapter;  // PEFT adapter folder applied on the fly ("" = none)
  QuantType quant = QuantType::F32;  // linears quantized at load time
  int context_length = 0;            // KV-cache positions; <= 0: max_position_embeddings
  int threads = 0;                   // <= 0: all cores
  // Where the model runs: "cpu" (the default), "cuda" (the first NVIDIA GPU; refused with the
  // reason when there is none or the model / format does not run there) or "auto" (the GPU when
  // it can, else the CPU, with the reason in InferInfo::device_reason). docs/inference.md.
  std::string device = "cpu";
};

struct InferInfo {
  std::string architecture;
  int vocab_size = 0, context_length = 0;
  QuantType quant = QuantType::F32;  // the format the linears run in
  size_t weight_bytes = 0;           // every weight held: linears, embeddings, norms, LoRA
  size_t kv_cache_bytes = 0;
  double load_ms = 0;
  std::string kernel;  // the matmul kernel the linears run
  bool lora = false;
  std::string device = "cpu";  // "cpu", "cuda", or "host_ops" (the GPU path on the CPU stand-in, a test hook)
  std::string device_name;     // the GPU's name, "CPU (host_ops)", or "" on the CPU
  std::string device_reason;   // why this device ("device is \"cpu\"", "no CUDA device (...)", ...)
};

// Hugging Face generate() sampling (transformers' LogitsProcessors, in its order): banned ids,
// repetition penalty and no-repeat n-grams over the whole sequence (prompt included), then
// temperature, top-k, top-p, min-p, and a draw from the softmax. temperature 0 = greedy
// (argmax after the penalties, first index on ties). 0 / 1 turn a filter off.
struct SamplerSettings {
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  int no_repeat_ngram_size = 0;
  uint64_t seed = 0;
};

// Draws tokens from logits; seeded (the engine's Rng), so the same seed, settings and logits
// give the same tokens on every machine.
class Sampler {
 public:
  // Throws TunerError bad_sampler for out-of-range settings (named, with the valid range).
  void reset(const SamplerSettings& s);
  const SamplerSettings& settings() const { return s_; }
  // The next token for logits[V] after `seq` (prompt + generated so far). `banned` ids get
  // -inf first. Throws sampler_no_token when every id is excluded.
  uint32_t sample(const float* logits, int V, const uint32_t* seq, int n_seq, const uint32_t* banned, int n_banned);
  // The filters alone: scores[V] (a copy of the logits) processed in place, -inf where removed,
  // as transformers' processors and warpers leave them before the draw (for tests).
  void process(float* scores, int V, const uint32_t* seq, int n_seq, const uint32_t* banned, int n_banned);

 private:
  SamplerSettings s_;
  Rng rng_;
  std::vector<float> scores_;    // scratch: the processed logits
  std::vector<uint32_t> order_;  // scratch: candidate ids
};

class InferSession {
 public:
  // Loads the model (and adapter) and allocates the KV cache, on the CPU or on the device that
  // opt.device picks. Throws TunerError: missing or bad model files, context_too_long,
  // bad_adapter / adapter_mismatch with a hint, bad_device, no_cuda_device or
  // cuda_inference_unavailable (device "cuda" that cannot be honoured).
  static std::unique_ptr<InferSession> load(const InferOptions& opt);
  virtual ~InferSession() = default;

  virtual const InferInfo& info() const = 0;
  virtual const ModelConfig& config() const = 0;
  // Tokens held in the cache (and the sequence the sampler's penalties see).
  virtual int position() const = 0;
  virtual const std::vector<uint32_t>& tokens() const = 0;
  // Drops cached tokens from `position` on (0 = empty).
  virtual void truncate(int position) = 0;
  // Runs ids[n] through the model at positions position()..position()+n-1 and keeps the logits
  // of the last one. all_logits, when given, receives every row's logits [n, V]. Throws
  // context_full when the cache cannot hold them, bad_token for ids >= vocab_size.
  virtual void append(const uint32_t* ids, int n, float* all_logits = nullptr) = 0;
  virtual const float* logits() const = 0;  // [V] of the last appended token
  virtual Sampler& sampler() = 0;
  // Samples the next token from logits() after tokens() (does not append it).
  virtual uint32_t sample(const uint32_t* banned, int n_banned) = 0;
};

// The process's resident memory (VmRSS), for memory reports.
size_t process_resident_bytes();

}  // namespace tuner
