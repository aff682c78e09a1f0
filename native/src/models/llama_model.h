// Internal: the Llama-family model behind tuner::Model. Split over llama_load.cpp (folder ->
// weights, save), llama_forward.cpp, llama_backward.cpp, linear.cpp (linear layer + LoRA math)
// and lora.cpp (enable / save / load adapters).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tuner/gemm_bf16.h"
#include "tuner/json.h"
#include "tuner/model.h"
#include "tuner/quant.h"

namespace tuner {

class SafetensorsFile;
struct TensorInfo;

// One projection y = x W^T (+ b) (+ scaling * dropout(x) A^T B^T).
struct Linear {
  std::string name;    // Hugging Face module path, e.g. model.layers.0.self_attn.q_proj
  std::string module;  // short name matched by LoRA target_modules, e.g. q_proj
  int in = 0, out = 0;
  Param* w = nullptr;
  Param* b = nullptr;
  Param* lora_a = nullptr;  // [r, in]
  Param* lora_b = nullptr;  // [out, r]
  float scaling = 0.0f, dropout = 0.0f;
  uint64_t stream = 0;  // dropout stream id, unique per linear
  int lora_slot = -1;   // index of this linear's [N, r] activation in the workspace
  const QuantMatrix* qw = nullptr;  // QLoRA: the frozen weight, quantized (w->data is then null)
  bool in_out = false;  // weight stored [in, out] (GPT-2's Conv1D): products use W, not W^T
  const uint16_t* w16 = nullptr;  // bf16 compute: w rounded to bf16, as stored (set_bf16)
  // bf16 compute on a frozen base (LoRA) where the CPU has the bf16 kernel: w packed once as the
  // B of the forward's x W^T and of the backward's dy W, in place of w16 (bf16_weights.cpp).
  Bf16PackedB* w16_fwd = nullptr;
  Bf16PackedB* w16_bwd = nullptr;
  bool bf16() const { return w16 || w16_fwd; }
  int index = 0;        // position in Layer::linears, which indexes LayerActs::lora_t
};

struct Layer {
  Param* ln1 = nullptr;  // input norm
  Param* ln2 = nullptr;  // the norm before the MLP (Gemma 3: pre_feedforward_layernorm)
  // Other architectures (ModelConfig traits): LayerNorm biases, per-head q/k norms, Gemma 3's
  // norms of the attention and MLP outputs.
  Param *ln1_b = nullptr, *ln2_b = nullptr, *q_norm = nullptr, *k_norm = nullptr, *post_attn = nullptr, *post_ff = nullptr;
  // q, k, v separate, or qkv fused (GPT-2 c_attn, Bloom query_key_value); gate absent in the
  // plain GELU MLP (GPT-2 c_fc / c_proj, Bloom dense_h_to_4h / dense_4h_to_h as up / down).
  Linear q, k, v, qkv, o, gate, up, down;
  std::vector<Linear*> linears;  // the ones the architecture has (at most 7), load order
};

// Activations kept between forward and backward (N = B*T rows), per layer:
//   resid_in [N,C], rstd1 [N], x1 [N,C], q [N,NH*HD], k/v [N,NKV*HD] (after RoPE),
//   lse [B,NH,T] (attention probabilities are recomputed from it in backward), att [N,NH*HD], mid [N,C], rstd2 [N], x2 [N,C], gate/up [N,F],
//   and per LoRA-adapted linear t = dropout(x) A^T [N,r]
// plus resid_out of the last layer [N,C], rstdf [N], xf [N,C], logits [N,V] (reused for
// dlogits), losses [N], lse [N] (each logits row's log-sum-exp, so the loss backward is one
// pass), tokens/targets/mask copies. A training forward (and evaluate()) packs the rows with
// loss_mask = 1 to the front of xf, targets and logits (head_rows of them) and runs the lm_head
// on those alone.
// Scratch shared by all layers: m [N,F], dm [N,F], dup [N,F], dres/dx [N,C] x2,
// dq/datt [N,NH*HD] x2, dk/dv [N,NKV*HD] x2, lora dt [N,rmax], lora xd [N,max(C,F,NH*HD)],
// per-thread attention blocks 2 x [64,T], cos/sin [T,HD/2].
// The SwiGLU product m is recomputed in backward rather than kept per layer.
// In floats (QD = NH*HD, KD = NKV*HD, r = LoRA rank, A = number of LoRA-adapted linears per layer):
//   L * (N * (4C + 2QD + 2KD + 2F + 2 + A*r) + B*NH*T)
//   + N * (2C + V + 3) + N * (3F + 2C + 2QD + 2KD) + [LoRA: N*r + N*max(C, F, QD)]
//   + threads*2*64*T + T*HD,
// each buffer rounded up to 16 floats; activation_bytes() computes exactly this (plan()).
// With activation checkpointing (set_gradient_checkpointing) only resid_in stays per layer; the
// other per-layer buffers exist once and backward recomputes each layer into them, so the term
// L * (...) becomes L * N*C + one layer's buffers.
// Weights (4 bytes each), their gradients (full fine-tune: all; LoRA: adapters only) and the
// optimizer's state come on top.
struct LayerActs {
  float *resid_in, *rstd1, *x1, *q, *k, *v, *lse, *att, *mid, *rstd2, *x2, *gate, *up;
  float* lora_t[7];
  // Other architectures (arch_forward.cpp), null where unused: LayerNorm means [N] of the two
  // norms; q/k before their per-head norm [N,QD], [N,KD] and its rstd [N*NH], [N*NKV]; Gemma 3's
  // attention and MLP outputs before their norms [N,C] and those norms' rstd [N].
  float *mean1, *mean2, *q_pre, *k_pre, *q_rstd, *k_rstd, *attn_out, *rstd_pa, *ff_out, *rstd_pf;
};

struct Workspace {
  int B = 0, T = 0, threads = 0;
  std::vector<float> buf;
  std::vector<LayerActs> layers;
  float *resid_final, *rstdf, *xf, *logits, *losses, *lse;
  float *m, *dm, *dup, *dres, *dx, *dq, *datt, *dk, *dv, *lora_dt, *lora_xd, *attn_scratch, *cos, *sin;
  float* lora_sb;  // s * B of the LoRA linear being run [out, r]: the bf16 forward's tail operand
  // Other architectures, null where unused: final LayerNorm mean [N]; Bloom's embedding before
  // its LayerNorm [N,C] with mean, rstd [N]; fused q/k/v output (and its gradient) [N,QD+2KD];
  // d of q or k before the per-head norm [N,QD]; Gemma 3's local RoPE tables [T,HD/2]; the
  // soft-capped logits' tanh [N,V].
  float *meanf, *emb_raw, *emb_mean, *emb_rstd, *qkv, *dqk_pre, *cos_local, *sin_local, *cap_t;
  std::vector<uint32_t> tokens, targets;
  std::vector<uint8_t> mask;
  // Packed rows (Batch::sample_start): each position's record start and its place in that
  // record (the RoPE / learned-position row); both empty for one record per row.
  std::vector<int32_t> sample_start, positions;
  const int32_t* starts() const { return sample_start.empty() ? nullptr : sample_start.data(); }
  const int32_t* pos() const { return positions.empty() ? nullptr : positions.data(); }
  // xPos (rope_xpos.cpp): the keys' cos/sin [T, HD/2], scaled by zeta^(-t/γ) where cos/sin (the
  // queries') are scaled by zeta^(t/γ); empty without xPos, and the keys use cos/sin.
  std::vector<float> cos_k, sin_k;
  const float* kcos() const { return cos_k.empty() ? cos : cos_k.data(); }
  const float* ksin() const { return sin_k.empty() ? sin : sin_k.data(); }
  int rope_T = -1;
  // Rows of logits the last forward computed: B*T, or fewer when they are the loss rows packed
  // in order (head_packed()).
  int head_rows = 0;
  bool head_packed() const { return head_rows < B * T; }
};

// RoPE's cos/sin tables [T, HD/2] (llama_forward.cpp) from rope_inv_freq's frequencies and
// attention factor af; the device model uploads the same tables.
void rope_table(float* cos, float* sin, const std::vector<double>& inv, float af, int T, int half);

// Packed rows (packed_rows.cpp): checks Batch::sample_start (each record starts at or before its
// position and a row's records follow each other; bad_batch otherwise) and writes each
// position's place in its record [B*T], the RoPE row. The CPU model and the device model share it.
void record_positions(const Batch& batch, int32_t* positions);

// Gives the whole pages inside [data, data + bytes) back to the system (madvise MADV_DONTNEED;
// a page shared with a neighbour stays): a read file tensor's mapped pages, or a frozen weight's
// f32 values once packed (quantized_base.cpp).
void release_whole_pages(const void* data, size_t bytes);

// Time per kernel family, accumulated over forward/backward calls when TUNER_PROFILE=1
// (tuner-check --bench prints it), to see where a step's time goes. Both wall time and CPU
// time: the CPU time of all the process's threads (the caller and the pool's workers) while a
// kernel ran, which a busy machine does not inflate the way it inflates wall time (a thread
// that waits for a core accrues none), so the shares stay those of the work itself. Scopes nest:
// an inner scope's time (LoRA's rank-r products inside a linear) counts to its own kind only.
enum ProfKind { kProfLinear, kProfAttention, kProfNormRope, kProfElementwise, kProfHead, kProfLoss, kProfEmbed, kProfLora, kProfCount };
struct Profile {
  bool on = false;
  double fwd_ms[kProfCount] = {0}, bwd_ms[kProfCount] = {0};          // wall
  double fwd_cpu_ms[kProfCount] = {0}, bwd_cpu_ms[kProfCount] = {0};  // CPU, all threads
  bool in_backward = false;
  int open = -1;  // the kind of the innermost open scope
  static const char* name(int k);
  static double cpu_now_ms();  // CPU time of the whole process so far
};
struct ProfScope {
  Profile* p;
  int kind, outer = -1;
  std::chrono::steady_clock::time_point t0;
  double cpu0 = 0.0;
  ProfScope(Profile& prof, int k) : p(prof.on ? &prof : nullptr), kind(k) {
    if (!p) return;
    outer = p->open;
    p->open = kind;
    t0 = std::chrono::steady_clock::now();
    cpu0 = Profile::cpu_now_ms();
  }
  ~ProfScope() {
    if (!p) return;
    const double cpu = Profile::cpu_now_ms() - cpu0;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    double* wall = p->in_backward ? p->bwd_ms : p->fwd_ms;
    double* cpus = p->in_backward ? p->bwd_cpu_ms : p->fwd_cpu_ms;
    wall[kind] += ms;
    cpus[kind] += cpu;
    if (outer >= 0) {  // the outer scope will count this span again when it closes
      wall[outer] -= ms;
      cpus[outer] -= cpu;
    }
    p->open = outer;
  }
};

// Reads one checked base weight (present, shape as config.json implies) into storage of the
// caller's choosing and points p.data at it: the inference session (src/infer) keeps f32 or
// quantizes each tensor as it arrives instead of holding a second f32 copy of the model.
using WeightReader = std::function<void(Param& p, const SafetensorsFile& file, const TensorInfo& t)>;

class LlamaModel final : public Model {
 public:
  // allocate = false leaves every Param::data null for load_weights(reader) to set.
  LlamaModel(ModelConfig cfg, Json config_json, std::string dir, bool allocate = true);
  // The folder's config and weights (Model::load with reader == nullptr): each weight goes to
  // the model's own f32 storage, or to `reader`, which then owns it.
  static std::unique_ptr<LlamaModel> open(const std::string& dir, const WeightReader* reader);
  void load_weights(const WeightReader* reader = nullptr);

  // Read access for the inference session, which runs the same weights through its own
  // KV-cached forward (src/infer).
  const std::vector<Layer>& layers() const { return layers_; }
  const Param* embed() const { return embed_; }
  const Param* final_norm() const { return norm_; }
  const Param* lm_head() const { return lm_head_; }  // == embed() when tied
  const Param* final_norm_bias() const { return norm_b_; }      // LayerNorm architectures
  const Param* position_embed() const { return pos_embed_; }    // GPT-2 wpe [P, C]
  const Param* embed_norm() const { return embed_norm_; }       // Bloom word_embeddings_layernorm
  const Param* embed_norm_bias() const { return embed_norm_b_; }
  const float* alibi() const { return alibi_.empty() ? nullptr : alibi_.data(); }  // [NH] slopes
  // The weight a norm multiplies by: its own, or 1 + w for Gemma's RMSNorm (refreshed into
  // `scratch`, which must hold p's size).
  const float* norm_weight(const Param* p, float* scratch) const;
  // The architecture's norm over N rows of C (arch_forward.cpp): RMSNorm (mean unused),
  // Gemma's (1 + w) RMSNorm or LayerNorm with bias.
  void norm_forward(float* out, float* mean, float* rstd, const float* inp, const Param* w, const Param* b, int N, int C,
                    ThreadPool* pool) const;

  const ModelConfig& config() const override { return cfg_; }
  // Every architecture but the Llama family's own (arch_forward.cpp, arch_backward.cpp).
  bool generic_arch() const;
  void enable_lora(const LoraConfig& cfg, uint64_t seed) override;
  bool has_lora() const override { return lora_enabled_; }
  std::vector<Param*> trainable_params() override;
  std::vector<Param*> base_params() override;
  int64_t num_params() const override;
  int64_t num_trainable_params() const override;
  float forward(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool* pool) override;
  float evaluate(const Batch& batch, ThreadPool* pool) override;
  const float* logits() const override { return ws_.logits; }
  void zero_grad() override;
  void backward(float loss_scale, ThreadPool* pool) override;
  size_t activation_bytes(int B, int T) const override;
  void sequence_logprobs(double* out) const override;
  void backward_rows(const float* row_weights, ThreadPool* pool) override;
  void set_adapter_enabled(bool on) override { adapter_off_ = !on; }
  Profile& profile() { return prof_; }
  void save_pretrained(const std::string& dir) const override;
  void save_adapter(const std::string& dir) const override;
  void load_adapter(const std::string& dir) override;
  void set_grad_ready_hook(GradReadyHook hook) override;
  void set_gradient_checkpointing(bool on) override;
  void set_bf16(bool on) override;
  size_t bf16_weight_bytes() const override;
  size_t f32_weight_bytes() const override;
  // A full fine-tune's optimizer step changed the base weights; LoRA's frozen base never does.
  void weights_changed() override { bf16_stale_ = bf16_ && !lora_enabled_; }
  std::vector<uint16_t*> bf16_copies(const std::vector<Param*>& params) override;
  // quantized_base.cpp: the folder with its decoder linears quantized at load (Model::load_quantized_base).
  static std::unique_ptr<LlamaModel> open_quantized_base(const std::string& dir, QuantType type, ThreadPool* pool);

 private:
  // Lays out the workspace for (B, T); with base == nullptr only counts floats.
  size_t plan(Workspace& ws, int B, int T, int threads, float* base) const;
  void ensure_workspace(int B, int T, ThreadPool* pool);
  // What every forward does first: the batch checked (token ids against the vocabulary, T
  // against learned positions), the workspace sized, tokens / targets / mask copied in,
  // training and dropout state set, the RoPE tables (and Gemma 3's local ones) made for T.
  void load_batch(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool* pool);
  // Copies Batch::sample_start (checked: each record starts at or before its position and a
  // row's records follow each other) and derives each position's place in its record.
  void load_sample_starts(const Batch& batch);
  // xPos: scales ws.cos/sin (the queries') by zeta^(t/γ) and fills ws.cos_k/sin_k (the keys'),
  // T positions; clears cos_k/sin_k without xPos (rope_xpos.cpp).
  void xpos_tables(Workspace& ws, int T) const;
  // rope_scaling from a run plan (ARGS.json's override), as parse_rope_scaling reads it; also
  // what save_pretrained writes into config.json.
  void set_rope_scaling(const Json& rope_scaling) override;
  // forward() and evaluate(): pack_head runs the lm_head on the loss rows only.
  float run_forward(const Batch& batch, bool training, bool pack_head, uint64_t dropout_seed, ThreadPool* pool);
  void ensure_grads();
  // Both forwards end in head_forward: the lm_head on the loss rows (pack_head) or every row,
  // final soft-capping where set, the loss. head_backward leaves d xf in ws_.dx.
  float head_forward(bool pack_head, ThreadPool* pool);
  void head_backward(float loss_scale, ThreadPool* pool);
  // backward_rows: the weight of each head row (row_weights_ of its batch row; 0 off the loss).
  std::vector<float> head_row_weights() const;
  // run_forward / backward for generic_arch(): the same contract, with ModelConfig's traits
  // (backward_arch is called by backward() once it has checked for a forward and set up grads).
  float run_forward_arch(const Batch& batch, bool training, bool pack_head, uint64_t dropout_seed, ThreadPool* pool);
  void backward_arch(float loss_scale, ThreadPool* pool);
  // Lays out the traits' extra activations after plan()'s (returns the new offset).
  size_t plan_arch(Workspace& ws, int B, int T, float* base, size_t off) const;
  // One decoder layer of those architectures from its kept input to `out` (run_forward_arch's
  // loop body); recompute = true is activation checkpointing's rerun in backward_arch: it stops
  // once every activation backward reads is back (no residual add, and the down projection only
  // where Gemma's post-feedforward norm reads its output; otherwise just its LoRA input t).
  void arch_layer_forward(int l, float* out, bool recompute, ThreadPool* pool);
  void norm_backward(float* dinp, const float* dout, const float* inp, const float* mean, const float* rstd, Param* w,
                     Param* b, int N, int C, bool accumulate, ThreadPool* pool);
  // Fused q/k/v rows <-> q, k, v (GPT-2: [q | k | v]; Bloom: per head [q, k, v]).
  void split_qkv(float* q, float* k, float* v, const float* qkv, int N, ThreadPool* pool) const;
  void merge_qkv(float* qkv, const float* dq, const float* dk, const float* dv, int N, ThreadPool* pool) const;
  // Parameters per architecture (arch_params.cpp), called by the constructor.
  void build_params();
  void linear_forward(const Linear& l, float* y, const float* x, float* lora_t, int N, ThreadPool* pool);
  void linear_backward(const Linear& l, float* dx, bool accumulate, const float* dy, const float* x,
                       const float* lora_t, int N, ThreadPool* pool);
  // linear_backward's two halves, in this order: the input gradient (no x needed), then the
  // weight gradients (same products, same bits).
  void linear_backward_input(const Linear& l, float* dx, bool accumulate, const float* dy, const float* lora_t, int N,
                             ThreadPool* pool);
  void linear_backward_weights(const Linear& l, const float* dy, const float* x, int N,
                               ThreadPool* pool);
  // PEFT's dropout on a LoRA input is active only in a training forward with dropout > 0.
  bool lora_dropout(const Linear& l) const { return training_ && l.dropout > 0.0f; }
  // The LoRA branch's input: x itself, or d(x) written to ws_.lora_xd (regenerated from the
  // dropout seed, so backward needs no stored mask).
  const float* lora_input(const Linear& l, const float* x, int N, ThreadPool* pool);
  // t = d(x) A^T [N, r]: the first LoRA product of linear_forward, also what checkpointing's
  // recompute keeps for backward (same call, same bits).
  void lora_a_forward(const Linear& l, float* t, const float* x, int N, ThreadPool* pool);
  // QLoRA backward: the linear's weight as f32 [out, in], dequantized into deq_ (one matrix at
  // a time: the largest linear's size is all the extra memory) or its own f32 data.
  const float* dense_weight(const Linear& l, ThreadPool* pool);
  // One layer's forward from x1 to the MLP's gate/up (run_forward's loop body), and its rerun in
  // backward from the kept layer input when checkpointing.
  void layer_forward_to_mlp(int l, ThreadPool* pool);
  void recompute_layer(int l, ThreadPool* pool);
  // LOMO (grad_hook_ set): point layer l's trainable grads at the shared layer buffer (zeroed),
  // and after its backward hand them to the hook and release them.
  void ensure_released_grads();
  void bind_layer_grads(int l);
  void release_layer_grads(int l);
  void release_outer_grads();  // the embedding, final norm and lm_head, after the last layer
  Param* add_param(const std::string& name, std::vector<int64_t> shape);
  void init_linear(Linear& l, const std::string& name, const std::string& module, int out, int in, bool bias);

  ModelConfig cfg_;
  Json config_json_;
  std::string dir_;
  std::vector<std::unique_ptr<Param>> base_;
  std::vector<float> weights_, base_grads_;
  std::vector<std::unique_ptr<Param>> lora_params_;
  std::vector<float> lora_weights_, lora_grads_;
  LoraConfig lora_cfg_;
  bool lora_enabled_ = false;
  int lora_linears_ = 0;
  Param* embed_ = nullptr;
  Param* norm_ = nullptr;
  Param* lm_head_ = nullptr;  // == embed_ when tied
  Param *norm_b_ = nullptr, *pos_embed_ = nullptr, *embed_norm_ = nullptr, *embed_norm_b_ = nullptr;
  std::vector<float> alibi_;                // Bloom: [NH]
  mutable std::vector<float> norm_scratch_;  // Gemma: 1 + w of the norm in use
  std::vector<Layer> layers_;
  Workspace ws_;
  // QLoRA: the quantized decoder linears and the f32 storage of every other weight.
  std::vector<std::unique_ptr<QuantMatrix>> qweights_;
  std::vector<std::vector<float>> f32_store_;
  std::vector<float> deq_;
  // LOMO: gradients of one layer (reused layer by layer) and of the weights outside the layers.
  GradReadyHook grad_hook_;
  std::vector<float> layer_grads_, outer_grads_;
  // bf16 compute (bf16_weights.cpp): the decoder linears' and the lm_head's weights rounded to
  // bf16 in one store, or packed for the products that read them when frozen (LoRA), made before
  // a forward when stale: after set_bf16, enable_lora, weights_changed() or LOMO's hook (which
  // updates weights inside backward).
  void refresh_bf16(ThreadPool* pool);
  void round_bf16_copy(ThreadPool* pool);
  void pack_frozen_bf16(ThreadPool* pool);
  void release_bf16();
  bool bf16_ = false, bf16_stale_ = false;
  // pack_frozen_bf16 gave the frozen linears' f32 masters back: their packed copies are the only
  // ones, so they are never released or remade.
  bool masters_dropped_ = false;
  std::vector<uint16_t> bf16_store_;
  std::vector<Bf16PackedB> bf16_packed_;
  const uint16_t* lm_head16_ = nullptr;
  Bf16PackedB *lm_head16_fwd_ = nullptr, *lm_head16_bwd_ = nullptr;
  bool checkpointing_ = false;  // set_gradient_checkpointing: plan() shares all but resid_in
  bool training_ = false;
  uint64_t dropout_seed_ = 0;
  uint64_t dropout_first_token_ = 0;  // Batch::first_row * T: where this batch's tokens sit in the global batch
  bool have_forward_ = false;
  // DPO: the adapters are skipped (set_adapter_enabled(false)); the last forward ran so and has
  // no backward; backward_rows' weight per row [B], empty for the mean loss.
  bool adapter_off_ = false, forward_adapter_off_ = false;
  std::vector<float> row_weights_;
  Profile prof_;
};

}  // namespace tuner
