// A decoder-only transformer loaded from a Hugging Face folder, with forward and backward
// passes written by us and optional LoRA adapters; fp32 master weights and activations on the
// CPU. One implementation covers the Llama family (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM) and the older GPT2LMHeadModel and
// BloomForCausalLM: ModelConfig's architecture traits say which norm, positions, MLP and
// projection layout a model uses.
//
// Size letters used throughout the engine:
//   B batch, T sequence length, C hidden size, L layers, NH query heads, NKV key/value heads,
//   HD head dim (C / NH unless config says otherwise), F intermediate (MLP) size, V vocab.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tuner {

class ThreadPool;
enum class QuantType : int;  // tuner/quant.h

struct RopeScaling {
  std::string type = "none";  // none | linear | dynamic | llama3 | yarn (as in config.json)
  float factor = 1.0f;
  float low_freq_factor = 1.0f;    // llama3
  float high_freq_factor = 4.0f;   // llama3
  int original_max_position_embeddings = 0;
  float beta_fast = 32.0f, beta_slow = 1.0f;  // yarn
  float attention_factor = 0.0f;  // yarn: 0 = derive from factor / mscale (as transformers does)
  float mscale = 0.0f, mscale_all_dim = 0.0f;  // yarn
  bool truncate = true;                        // yarn
  // xpos (rope_type "xpos", Sun et al. 2022): RoPE with queries scaled by zeta_i^(n / scale_base)
  // and keys by zeta_i^(-n / scale_base) per dimension pair i, zeta_i = (2i + 0.4 HD) / (1.4 HD),
  // so a score decays as zeta_i^((m - n) / scale_base) with the distance. Positions are not
  // centred (torchscale's centring changes q and k by reciprocal factors, not their products).
  float scale_base = 0.0f;
  // NTK-by-parts is YaRN's ramp without its attention factor: rope_type "yarn" with
  // attention_factor 1 (what ARGS.json's "ntk_by_parts" writes).
};

// How an architecture differs from Llama's pre-norm RMSNorm / RoPE / SwiGLU decoder.
enum class NormKind : uint8_t { RMS, RMSOnePlus /* Gemma: x * rstd * (1 + w) */, Layer /* LayerNorm with bias */ };
enum class PositionKind : uint8_t { Rope, Learned /* GPT-2 wpe */, Alibi /* Bloom */ };
enum class MlpKind : uint8_t { SwiGLU, GeGLU /* gelu_tanh(gate) * up */, Gelu /* down(gelu_tanh(up(x))) */ };
enum class QkvLayout : uint8_t {
  Separate,      // q_proj, k_proj, v_proj
  FusedConcat,   // GPT-2 c_attn: rows [q | k | v]
  FusedPerHead,  // Bloom query_key_value: rows [head][q, k, v][HD]
};

struct ModelConfig {
  std::string architecture;  // e.g. "LlamaForCausalLM"
  std::string model_type;    // e.g. "llama"
  int vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0, max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f, rope_theta = 10000.0f;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections have biases (Qwen2 always; Llama if set)
  bool o_proj_bias = false;     // Llama attention_bias also gives o_proj a bias
  bool mlp_bias = false;        // Llama mlp_bias: gate/up/down biases
  // Sliding-window attention as transformers applies it: a query sees only the last
  // sliding_window keys (itself included) in the layers marked in sliding_layers. Mistral: every
  // layer; Qwen2: only with use_sliding_window, the layers layer_types names "sliding_attention"
  // (default: layers >= max_window_layers). sliding_window 0 = no window anywhere.
  int sliding_window = 0;
  std::vector<uint8_t> sliding_layers;  // [L]
  // The attention window of one layer, as attention_forward takes it (0 = full causal).
  int attention_window(int layer) const {
    return sliding_window > 0 && (size_t)layer < sliding_layers.size() && sliding_layers[layer] ? sliding_window : 0;
  }
  std::string torch_dtype;      // dtype the checkpoint declares (f32, f16, bf16)
  RopeScaling rope_scaling;

  // Architecture traits (config.cpp sets them per architecture).
  NormKind norm = NormKind::RMS;
  PositionKind positions = PositionKind::Rope;
  MlpKind mlp = MlpKind::SwiGLU;
  QkvLayout qkv = QkvLayout::Separate;
  std::string weight_prefix = "model.";  // "transformer." for GPT-2 and Bloom
  bool conv1d = false;            // GPT-2: linear weights stored [in, out] (transformers' Conv1D)
  bool qk_norm = false;           // Qwen3, Gemma 3: per-head norm of q and k before RoPE
  bool sandwich_norms = false;    // Gemma 3: norms after attention and after the MLP too
  bool embed_norm = false;        // Bloom: word_embeddings_layernorm
  float embed_scale = 1.0f;       // Gemma 3: sqrt(hidden_size)
  float attn_scale = 0.0f;        // 0: 1/sqrt(head_dim); Gemma 3: query_pre_attn_scalar^-0.5
  float attn_softcap = 0.0f;      // attn_logit_softcapping (0 = none)
  float final_softcap = 0.0f;     // final_logit_softcapping (0 = none)
  float rope_local_theta = 0.0f;  // Gemma 3: RoPE base of the sliding layers (no scaling there)
  // A RoPE layer's frequencies: the local base (rope_local_theta) in a sliding layer of Gemma 3.
  bool local_rope(int layer) const { return rope_local_theta > 0 && attention_window(layer) > 0; }
};

// Attention slopes of ALiBi per head, as Bloom's build_alibi_tensor computes them.
std::vector<float> alibi_slopes(int num_heads);

// A named tensor with its Hugging Face name ("model.layers.0.self_attn.q_proj.weight",
// LoRA: "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").
struct Param {
  std::string name;
  std::vector<int64_t> shape;
  float* data = nullptr;
  float* grad = nullptr;  // null when frozen
  bool linear = false;     // a projection's weight (quantizable for inference)
  bool embedding = false;  // the token embedding
  bool in_out = false;     // a linear weight stored [in, out] (GPT-2's Conv1D), shape as stored
  int64_t numel() const;
};

// dst[o, i] = src[i, o]: a weight stored [in, out] (GPT-2's Conv1D) as the [out, in] matrix
// every other linear is, for quantizing, exporting or running it like the others.
void in_out_to_out_in(float* dst, const float* src, int64_t out, int64_t in);

struct LoraConfig {
  int rank = 8;
  float alpha = 16.0f;
  float dropout = 0.0f;
  // Module names as PEFT matches them: q_proj ... down_proj (Llama family), c_attn, c_proj, c_fc
  // (GPT-2), query_key_value, dense, dense_h_to_4h, dense_4h_to_h (Bloom).
  std::vector<std::string> target_modules;
};

class Json;
// adapter_config.json's LoRA rank "r" (config read from cpath): a whole number from 1 to 65536,
// else TunerError("bad_adapter"). One check for resuming (load_adapter), merging and inference.
int adapter_config_rank(const Json& config, const std::string& cpath);

// One micro-batch: B rows of T tokens. targets[i] is the token to predict at position i;
// loss_mask[i] = 1 where the loss counts (assistant tokens), 0 for prompt and padding.
struct Batch {
  const uint32_t* tokens = nullptr;
  const uint32_t* targets = nullptr;
  const uint8_t* loss_mask = nullptr;
  int B = 0, T = 0;
  // Packed rows (several records in one row): [B*T] the position in its row where each token's
  // record begins. Attention stays within a record and positions restart at 0 there, so each
  // record computes what it would alone. Null: one record per row.
  const int32_t* sample_start = nullptr;
  // The global row of row 0 (data parallel: a rank's rows are part of a bigger batch). LoRA
  // dropout draws its mask per global position, so the ranks drop what one process would.
  int64_t first_row = 0;
};

// Parses dir/config.json (errors name the file and field; unsupported architectures list the
// supported ones).
ModelConfig load_model_config(const std::string& dir);
class Json;
// A rope_scaling object (config.json's, or a run plan's override) checked field by field; errors
// name `path` and `field`. default_original: llama3's original_max_position_embeddings when the
// object leaves it out (0: required).
RopeScaling parse_rope_scaling(const Json& rs, const std::string& path, const std::string& field, int default_original);
// xPos: the factor zeta_i^(position / scale_base) of dimension pair i (queries; keys take its
// reciprocal). 1 without xpos.
float xpos_scale(const ModelConfig& cfg, int pair, int position);
// The longest position xPos's key factors stay finite in float at (about 64 scale_base).
int xpos_max_positions(const ModelConfig& cfg);
// RoPE inverse frequencies [HD/2] for a forward over T positions (rope_scaling as in
// transformers' modeling_rope_utils; `dynamic` depends on T) and the factor cos/sin are scaled by.
std::vector<double> rope_inv_freq(const ModelConfig& cfg, int T, float* attention_factor);
// The same for a Gemma 3 sliding layer: base rope_local_theta, no scaling.
std::vector<double> rope_local_inv_freq(const ModelConfig& cfg);

class Model {
 public:
  // Reads config.json and model.safetensors (or the sharded index) from dir. Throws TunerError
  // naming the file / tensor for unsupported architectures, missing or truncated files, bad
  // headers and shape mismatches.
  static std::unique_ptr<Model> load(const std::string& dir);
  // QLoRA's frozen base: the decoder layers' linear weights are quantized as they are read
  // (nf4 or int8, tuner/quant.h; a width that is not a multiple of the format's block stays
  // f32), so the f32 model is never held whole; everything else stays f32. Forward runs the
  // quantized matmul, backward the input gradient through the dequantized weights. Only LoRA
  // trains on such a model.
  static std::unique_ptr<Model> load_quantized_base(const std::string& dir, QuantType type, ThreadPool* pool);
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;

  // Adds LoRA A/B to the target modules (A ~ kaiming-uniform from seed, B = 0, as PEFT does)
  // and freezes every base weight. Without this call all weights are trainable (full tune).
  virtual void enable_lora(const LoraConfig& cfg, uint64_t seed) = 0;
  virtual bool has_lora() const = 0;

  virtual std::vector<Param*> trainable_params() = 0;  // stable order: the optimizer relies on it
  virtual std::vector<Param*> base_params() = 0;       // the Hugging Face weights, load order
  virtual int64_t num_params() const = 0;              // base weights
  virtual int64_t num_trainable_params() const = 0;

  // Mean cross-entropy over tokens with loss_mask = 1 (0 if none). training enables dropout,
  // drawn deterministically from dropout_seed. Keeps activations for backward.
  virtual float forward(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool* pool) = 0;
  // The same mean loss as forward(batch, false, ...), for evaluation: no dropout, and like a
  // training forward the lm_head runs on the loss rows only, so logits() is not filled.
  virtual float evaluate(const Batch& batch, ThreadPool* pool) = 0;
  // Logits of the last forward with training = false, [B, T, V]. A training forward computes
  // only the rows with loss_mask = 1, packed in order (the rest of the buffer is stale). Valid
  // until backward(), which reuses the buffer for d(loss)/d(logits) so a large vocabulary costs
  // one [B*T, V] buffer, not two.
  virtual const float* logits() const = 0;
  virtual void zero_grad() = 0;
  // Accumulates d(loss_scale * loss)/d(param) into every trainable Param::grad.
  virtual void backward(float loss_scale, ThreadPool* pool) = 0;

  // Preference tuning (DPO, native/src/models/sequence_logprob.cpp). After a forward or
  // evaluate(): each row's log-probability of its loss_mask = 1 targets, summed in double, [B].
  virtual void sequence_logprobs(double* out) const = 0;
  // backward() for a loss that weighs row b's token losses (-log p of each target) by
  // row_weights[b]: accumulates d(sum_b row_weights[b] * sum_t loss_bt)/d(param).
  virtual void backward_rows(const float* row_weights, ThreadPool* pool) = 0;
  // false: forwards skip every LoRA branch, so the model is its frozen base (DPO's reference
  // model without a second copy of the weights). Such a forward has no backward.
  virtual void set_adapter_enabled(bool on) = 0;

  // Replaces config.json's rope_scaling (a run plan's override; parse_rope_scaling's object):
  // positions and frequencies follow it from the next forward on, and save_pretrained writes it.
  // Throws bad_plan for a model without RoPE (GPT-2, Bloom).
  virtual void set_rope_scaling(const Json& rope_scaling) = 0;

  // Bytes of activations and workspace held for a batch of this shape (for memory reports).
  virtual size_t activation_bytes(int B, int T) const = 0;

  // LOMO: with a hook set (before the first trainable_params()), backward hands each trainable
  // tensor to it as soon as its gradient is complete and then releases that gradient, so no
  // gradient of the whole model is held: a layer's gradients live in one buffer reused by every
  // layer. Param::grad is valid only inside the call.
  using GradReadyHook = std::function<void(Param* p)>;
  virtual void set_grad_ready_hook(GradReadyHook hook);
  // Activation checkpointing: forward keeps each layer's input only and backward recomputes one
  // layer at a time; losses and gradients are the same bit for bit.
  virtual void set_gradient_checkpointing(bool on);
  // bf16 compute (ARGS precision "bf16"): the linear layers' and the lm_head's matmuls take the
  // weights rounded to bf16 (a copy of the f32 master weights, remade before the first forward
  // after they change: weights_changed(), LOMO's in-backward updates) and activations and gradients rounded to bf16, and accumulate in f32
  // (tuner/gemm_bf16.h: vdpbf16ps where the CPU has AVX512_BF16, the same values through the f32
  // kernels elsewhere). Norms, attention, softmax, the loss, LoRA's rank-r products, gradients
  // and the optimizer stay f32. Deterministic like f32, so exact resume holds.
  virtual void set_bf16(bool on);
  // Bytes of the bf16 weights set_bf16 keeps beside the f32 masters (made by the first forward;
  // 0 before it): what the memory estimate counts for them (src/core/args/estimate.ts).
  virtual size_t bf16_weight_bytes() const { return 0; }
  // Bytes of the f32 weights the model holds: every base parameter's, less those it keeps in
  // another form only (a quantized base's linears; a LoRA run's frozen linears once packed for
  // the bf16 kernel).
  virtual size_t f32_weight_bytes() const { return 0; }
  // The trainable weights were written outside forward/backward (the trainer calls it after an
  // optimizer step): copies made from them, such as set_bf16's bf16 weights, are remade before
  // the next forward rather than before every forward.
  virtual void weights_changed() {}
  // Where an update of `params` may write each one's new values rounded to bf16 (round_to_bf16,
  // same element order as Param::data) to keep those copies current without weights_changed()'s
  // pass over every weight: one pointer per param, null where it has no copy; empty when the
  // model holds no current copies (then call weights_changed() after the update, as before).
  virtual std::vector<uint16_t*> bf16_copies(const std::vector<Param*>& params) { (void)params; return {}; }

  // Writes a Hugging Face folder (config.json + model.safetensors, tied weights once) or a PEFT
  // adapter folder (adapter_config.json + adapter_model.safetensors). Atomic: temp + rename.
  virtual void save_pretrained(const std::string& dir) const = 0;
  virtual void save_adapter(const std::string& dir) const = 0;
  // Loads LoRA weights saved by save_adapter (after enable_lora with the same config).
  virtual void load_adapter(const std::string& dir) = 0;
};

}  // namespace tuner
