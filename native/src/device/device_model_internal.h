// Internal: DeviceModel's state, shared by device_model.cpp (upload, parameters, memory plan),
// device_forward.cpp and device_backward.cpp. Every pointer here is device memory (the ops').
#pragma once
#include <memory>
#include <unordered_map>
#include <vector>

#include "device/device_model.h"
#include "models/llama_model.h"

namespace tuner::dev {

// The device copy of one host Param: fp32 (masters, or frozen norms / embedding / biases the
// ops read in fp32), bf16 for the weights matrix products read, a gradient where it trains, or
// the quantized weight of QLoRA's base.
struct DeviceTensor {
  DeviceArray<float> w, g;
  DeviceArray<bf16> w16;
  std::unique_ptr<DeviceQuantWeight> q;
};

// One decoder layer's activations kept from forward for backward (N = B*T rows):
//   resid_in [N,C] the layer's input; rstd1, rstd2 [N]; x1, x2 [N,C] bf16 (the normed inputs
//   the projections and their weight gradients read); q, k (after RoPE), v, y [N,QD|KD] bf16;
//   lse [B,NH,T]; mid [N,C] the residual after attention; gate, up [N,F] fp32; t[j] [N,r] bf16
//   the LoRA product d(x) A^T of linear j.
// With activation checkpointing every layer keeps resid_in only and shares one set of the rest,
// which backward refills layer by layer (as the CPU engine).
struct LayerBufs {
  float *resid_in = nullptr, *rstd1 = nullptr, *lse = nullptr, *mid = nullptr, *rstd2 = nullptr, *gate = nullptr, *up = nullptr;
  bf16 *x1 = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *y = nullptr, *x2 = nullptr;
  bf16* t[7] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  // Other architectures (device_arch.cpp), null where unused: LayerNorm means [N] of the two
  // norms; qk_norm's inputs q_pre, k_pre [N,QD|KD] with their rstd [N*NH|N*NKV]; Gemma's
  // attention and MLP outputs before their sandwich norms attn_out, ff_out [N,C] with rstd [N].
  float *mean1 = nullptr, *mean2 = nullptr, *q_pre = nullptr, *k_pre = nullptr, *q_rstd = nullptr, *k_rstd = nullptr;
  float *attn_out = nullptr, *rstd_pa = nullptr, *ff_out = nullptr, *rstd_pf = nullptr;
};

// Everything a (B, T) batch needs on the device, in one allocation (plan() lays it out).
struct Activations {
  int B = 0, T = 0;
  size_t bytes = 0;
  DeviceArray<uint8_t> mem;
  std::vector<LayerBufs> layers;
  // Kept: the last residual, its norm (fp32 rstd, bf16 output for the lm_head's gradient),
  // logits [N,V] (dlogits after backward), per-row losses and log-sum-exp.
  float *resid_final, *rstdf, *logits, *losses, *lse;
  bf16 *xf, *xf_packed;  // xf_packed: the loss rows of xf, in order (the lm_head's input)
  // Scratch, shared by all layers: fp32 products before RoPE / rounding (q32 k32 v32, reused
  // for their gradients), a norm's fp32 output, the SwiGLU product, gradients.
  float *x32, *q32, *k32, *v32, *m32, *dm, *dgate, *dup, *dres, *dx, *datt;
  bf16 *m16, *dgate16, *dup16, *dres16, *datt16, *dq16, *dk16, *dv16, *logits16;
  // LoRA: dt [N,r] (fp32 and bf16), two fp32 [N, max in] buffers for dropout and its bf16 result.
  float *lora_dt, *lora_tmp, *lora_tmp2;
  bf16 *lora_dt16, *lora_x16;
  void* attn_ws;
  uint32_t *tokens, *targets;
  uint8_t* mask;
  int32_t *sample_start, *positions;  // packed rows
  float *cos, *sin;                   // RoPE tables [T, HD/2]
  // Other architectures (device_arch.cpp), null where unused: the final LayerNorm's mean [N];
  // Bloom's embedding before its LayerNorm [N,C] with mean, rstd [N]; a fused q/k/v output
  // [N,QD+2KD] (fp32, and its gradient as bf16); qk_norm's input gradient [N,max(QD,KD)]; GPT-2's
  // position ids [N]; Bloom's ALiBi slopes [NH]; Gemma's local RoPE tables [T,HD/2], the
  // soft-capped logits' tanh [N,V], and ones and the (1 + w) norm weight [max(C,HD)].
  float *meanf = nullptr, *emb_raw = nullptr, *emb_mean = nullptr, *emb_rstd = nullptr, *qkv32 = nullptr, *dqk = nullptr;
  float *alibi = nullptr, *cos_local = nullptr, *sin_local = nullptr, *cap_t = nullptr, *ones = nullptr, *norm_w = nullptr;
  bf16* qkv16 = nullptr;
  uint32_t* pos_ids = nullptr;
};

struct DeviceModel::Impl {
  Impl(LlamaModel& h, DeviceOps& o) : host(h), ops(o) {}
  LlamaModel& host;
  DeviceOps& ops;
  std::unordered_map<const Param*, DeviceTensor> tensors;
  std::vector<DeviceParam> params;
  DeviceArray<bf16> deq;  // QLoRA: one dequantized base weight at a time (input gradients)
  Activations act;
  bool checkpointing = false, lora_uploaded = false;
  // The last forward: training (dropout on), its seed and global first token, whether it was
  // packed, how many rows the loss counted, whether backward may follow.
  bool training = false, packed = false, have_forward = false, adapter_off = false, forward_adapter_off = false;
  uint64_t dropout_seed = 0, dropout_first_token = 0;
  int loss_rows = 0;
  // The lm_head's rows: every row, or (training and evaluate(), as on the CPU) the loss rows
  // packed to the front; head_runs are their [first row, count) runs, copied one op each.
  int head_rows = 0;
  std::vector<std::pair<int, int>> head_runs;
  bool head_packed() const { return head_rows < act.B * act.T; }
  int rope_T = -1;  // T of the RoPE tables on the device (-1: stale)
  mutable std::vector<float> logits_host;
  mutable bool logits_downloaded = false;
  bool logits_valid = false;

  const ModelConfig& cfg() const { return host.config(); }
  DeviceTensor& t(const Param* p) { return tensors.at(p); }
  const Param* lm_head() const { return host.lm_head(); }

  // ---- device_model.cpp ----
  void upload_base();
  void setup_lora();
  void rebuild_params();
  // Lays out the activations of a (B, T) batch from `base` (null: only counts bytes).
  size_t plan(Activations& a, int B, int T, uint8_t* base) const;
  void ensure_activations(int B, int T);
  AttentionShape attention_shape(int layer) const;

  // ---- device_forward.cpp ----
  void load_batch(const Batch& batch, bool training_on, bool pack_head, uint64_t seed);
  float run_forward(const Batch& batch, bool training_on, bool pack_head, uint64_t seed);
  // Layer l from its kept input to `out` (the next residual); recompute: activation
  // checkpointing's rerun, which stops once everything backward reads is back.
  void layer_forward(int l, float* out, bool recompute);
  // y (= or += when accumulate) x W^T + b + s (d(x) A^T) B^T, x bf16; t16 keeps d(x) A^T.
  void linear_forward(const Linear& l, float* y, const bf16* x, bf16* t16, int N, bool accumulate);
  void lora_a_forward(const Linear& l, bf16* t16, const bf16* x, int N);
  // The LoRA branch's input: x, or PEFT's dropout of it (the CPU engine's mask) as bf16.
  const bf16* lora_input(const Linear& l, const bf16* x, int N);
  bool lora_dropout(const Linear& l) const { return training && l.dropout > 0.0f; }

  // ---- device_arch.cpp: Qwen3, Gemma 3, GPT-2, Bloom (device_model.cpp's generic()) ----
  bool generic() const { return host.generic_arch(); }
  // The weight a norm multiplies by: w, or Gemma's 1 + w (made in act.norm_w).
  const float* norm_weight(const Param* w, int n);
  // RMSNorm or LayerNorm (with bias b) as the architecture has it; mean only for LayerNorm.
  void norm_forward(float* out, float* mean, float* rstd, const float* inp, const Param* w, const Param* b, int rows, int width);
  void norm_backward(float* dinp, const float* dout, const float* inp, const float* mean, const float* rstd, const Param* w,
                     const Param* b, int rows, int width, bool accumulate);
  // The embedding into h (every architecture) and its gradients from act.dres.
  void embed_forward(float* h);
  void embed_backward();
  // Whether layer l's input gradient is needed (something below it trains).
  bool input_grad_needed(int l);
  void arch_layer_forward(int l, float* out, bool recompute);
  void arch_layer_backward(int l);
  void mlp_activation(const LayerBufs& a);

  // ---- device_backward.cpp ----
  void backward(float loss_scale);
  void linear_backward_input(const Linear& l, float* dx, bool accumulate, const bf16* dy16, int N);
  void linear_backward_weights(const Linear& l, const bf16* dy16, const float* dy, const bf16* x, const bf16* t16, int N);
  void linear_backward(const Linear& l, float* dx, bool accumulate, const bf16* dy16, const float* dy, const bf16* x,
                       const bf16* t16, int N) {
    linear_backward_input(l, dx, accumulate, dy16, N);
    linear_backward_weights(l, dy16, dy, x, t16, N);
  }
};

}  // namespace tuner::dev
