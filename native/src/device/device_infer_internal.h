// Internal: the device inference session behind device_infer.h, split over device_infer.cpp
// (device choice, upload, memory) and device_infer_forward.cpp (append over the KV cache).
// Every pointer below is the ops' device memory.
//
// Workspace for a chunk of up to NB = min(kChunk, ctx) rows: tokens, positions [NB]; h (the fp32
// residual), x32 (a norm's output) [NB,C]; x16 [NB, max(C,QD,F)] the bf16 input of a prompt's
// products; q32 [NB,QD], k32, v32 [NB,KD] (before RoPE and rounding into q16 and the cache);
// q16, y16 (attention's output), y32 [NB,QD]; gate, up, m32 [NB,F]; mean, rstd [NB*NH] (the
// per-head q/k norms' rows too); LoRA t [NB,r] (fp32 and bf16); logits [NB,V]; and for the other
// architectures t32 [NB, max(C,QD,KD)] (k before its norm, a sandwich norm's input, GPT-2's
// position rows), qkv32 [NB, QD+2KD] (a fused projection), cap_t [NB,V] (final soft-capping).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "device/device_infer.h"
#include "infer/infer_internal.h"

namespace tuner::dev {

// One projection on the device: its weight bf16 (w16) or quantized (q), bias fp32, LoRA A [r,in]
// and B [out,r] bf16 with PEFT's scaling. lin is null for the lm_head.
struct DeviceLinear {
  const Linear* lin = nullptr;
  int in = 0, out = 0, rank = 0;
  float scaling = 0.0f;
  DeviceArray<bf16> w16;
  std::unique_ptr<DeviceQuantWeight> q;
  DeviceArray<float> bias;
  DeviceArray<bf16> lora_a, lora_b;
  size_t bytes() const { return w16.bytes() + (q ? q->bytes() : 0) + bias.bytes() + lora_a.bytes() + lora_b.bytes(); }
};

// A norm's weight fp32 (Gemma's 1 + w summed at upload, as the CPU sums it before each use) and
// LayerNorm's bias (null for RMSNorm).
struct DeviceNorm {
  DeviceArray<float> w, b;
  size_t bytes() const { return w.bytes() + b.bytes(); }
};

// One layer's norms; the ones the architecture lacks stay empty.
struct DeviceLayerNorms {
  DeviceNorm ln1, ln2, q, k, post_attn, post_ff;
  size_t bytes() const {
    return ln1.bytes() + ln2.bytes() + q.bytes() + k.bytes() + post_attn.bytes() + post_ff.bytes();
  }
};

class DeviceInferSession final : public CachedSession {
 public:
  DeviceInferSession(const InferOptions& opt, std::unique_ptr<DeviceOps> ops, const std::string& device,
                     const std::string& reason);
  const ModelConfig& config() const override { return model_->config(); }

 private:
  void upload(InferWeights& w, ThreadPool* pool);
  void allocate();
  void begin_append(int n) override {
    if (config().rope_scaling.type == "dynamic") dynamic_rope(position(), n);
  }
  int chunk_rows() const override { return nb_; }
  // n <= NB tokens at position(), as Session::forward_chunk.
  void forward_chunk(const uint32_t* ids, int n, float* head_rows, bool last_chunk) override;
  // y (= or += when accumulate) x W^T + b + scaling (x A^T) B^T for n rows: matrix-vector
  // products on x32 when n <= kGemvMaxRows, else products on x16 (x32 rounded by the caller).
  void linear(const DeviceLinear& l, float* y, const float* x32, const bf16* x16, int n, bool accumulate);
  // x16 = bf16(x32) for a prompt chunk's products (decode reads x32).
  const bf16* product_input(const float* x32, int n, int width);
  // out = norm(in) over rows of `width`: RMSNorm or LayerNorm as the architecture has it.
  void norm(float* out, const DeviceNorm& w, const float* in, int rows, int width);
  // rope_scaling dynamic: the base for the longest sequence this append reaches, and the table
  // rows of positions p..p+n-1 from it (the rows already cached keep their rotation).
  void dynamic_rope(int p, int n);
  bf16* k_cache(int layer) const { return kv_.get() + (size_t)layer * 2 * cache_stride_; }
  bf16* v_cache(int layer) const { return k_cache(layer) + cache_stride_; }

  std::unique_ptr<DeviceOps> ops_;  // first: the device arrays below release through it
  std::unique_ptr<LlamaModel> model_;
  std::vector<std::vector<DeviceLinear>> lin_;  // [L][Layer::linears.size()] in Layer::linears order
  DeviceLinear head_;
  DeviceArray<float> embed_;
  DeviceArray<float> wpe_;         // GPT-2's learned positions [P, C]
  DeviceArray<float> alibi_;       // Bloom's slopes [NH]
  DeviceNorm final_norm_, embed_norm_;
  std::vector<DeviceLayerNorms> norms_;
  DeviceArray<bf16> kv_;           // [L][k, v][ctx, KD]
  DeviceArray<float> cos_, sin_;   // RoPE tables [ctx, HD/2]
  DeviceArray<float> cos_local_, sin_local_;  // Gemma's sliding layers' base
  std::vector<double> inv_freq_;   // rope_scaling dynamic: the frequencies now, their length
  float rope_af_ = 1.0f;
  int dyn_len_ = 0;
  DeviceArray<uint8_t> ws_;
  uint32_t* tok_ = nullptr;
  int32_t* pos_ = nullptr;
  float *h_ = nullptr, *x32_ = nullptr, *q32_ = nullptr, *k32_ = nullptr, *v32_ = nullptr, *y32_ = nullptr;
  float *gate_ = nullptr, *up_ = nullptr, *m32_ = nullptr, *rstd_ = nullptr, *lora_t32_ = nullptr, *logits_dev_ = nullptr;
  float *mean_ = nullptr, *t32_ = nullptr, *qkv32_ = nullptr, *cap_t_ = nullptr;
  bf16 *x16_ = nullptr, *q16_ = nullptr, *y16_ = nullptr, *lora_t16_ = nullptr;

  int nb_ = 0;
  size_t cache_stride_ = 0;  // ctx * NKV*HD elements
};

}  // namespace tuner::dev
