// The device model's reference cases, shared by test_device_model (CPU: host_ops) and
// test/cuda/test_cuda_device_model.cu (GPU: cuda_ops), so both run the same checks: a tiny random
// Llama-family folder loaded twice, once by the CPU engine in fp32 (checked against PyTorch
// elsewhere) and once as a DeviceModel on the given ops, and the same batch through both:
// logits, loss and every trainable gradient compared within bf16 tolerances (docs/cuda.md).
#pragma once
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "device/device_model.h"
#include "models/llama_model.h"
#include "tiny_model_fixture.h"
#include "tuner/json.h"
#include "tuner/quant.h"
#include "tuner/safetensors.h"

namespace device_cases {

using tuner::dev::DeviceModel;
using tuner::dev::DeviceOps;

// Limits about twice what host_ops measured (docs/cuda.md has the numbers): bf16 keeps about 3
// significant digits. On these models host_ops measured at most 7.7e-4 (loss), 1.15e-2 (logits)
// and 2.5e-2 (a gradient), and the CPU engine's own bf16 mode is 2.5e-2 off its fp32 gradients.
struct Limits {
  double loss = 3e-3;     // relative
  double logits = 2.5e-2; // largest |difference| over the largest |logit|
  double grad = 5e-2;     // relative L2 error of each gradient tensor
  bool checkpoint_exact = true;  // checkpointing on vs off: the same bits (host_ops), else within 1e-5
};

// Which positions the loss counts: the first 3 of each row are prompt (the lm_head packs the
// rest, one run per row), every position (it runs on all rows), or every other one (many runs).
enum class Mask { Prompt, All, Alternate };

// B rows of T tokens with a Mask. packed: several records per row (Batch::sample_start).
struct TestBatch {
  int B = 2, T = 16;
  std::vector<uint32_t> tokens, targets;
  std::vector<uint8_t> mask;
  std::vector<int32_t> starts;
  int64_t first_row = 0;
  TestBatch(int vocab, bool packed, Mask m = Mask::Prompt) {
    std::mt19937 rng(5);
    const int N = B * T;
    tokens.resize(N), targets.resize(N), mask.resize(N);
    for (int i = 0; i < N; i++) {
      tokens[i] = rng() % vocab;
      targets[i] = rng() % vocab;
      mask[i] = m == Mask::All ? 1 : m == Mask::Alternate ? i % 2 : i % T >= 3;
    }
    if (!packed) return;
    const int cuts[2][3] = {{0, 5, 11}, {0, 9, 9}};  // row 0: three records, row 1: two
    starts.resize(N);
    for (int b = 0; b < B; b++)
      for (int t = 0; t < T; t++) {
        int s = 0;
        for (int c : cuts[b])
          if (c <= t) s = c;
        starts[b * T + t] = s;
      }
  }
  tuner::Batch batch() const {
    tuner::Batch b;
    b.tokens = tokens.data(), b.targets = targets.data(), b.loss_mask = mask.data(), b.B = B, b.T = T;
    b.sample_start = starts.empty() ? nullptr : starts.data();
    b.first_row = first_row;
    return b;
  }
};

enum class Method { Full, Lora, Qlora, QloraInt8 };
inline bool quantized(Method m) { return m == Method::Qlora || m == Method::QloraInt8; }
inline tuner::QuantType quant_type(Method m) { return m == Method::QloraInt8 ? tuner::QuantType::INT8 : tuner::QuantType::NF4; }

struct Case {
  std::string name;
  TinySpec spec;
  Method method = Method::Full;
  float dropout = 0.0f;
  bool packed = false;
  const char* rope_scaling = nullptr;  // a run plan's override (JSON), set on both models
  int64_t first_row = 0;               // data parallel: where the batch sits (LoRA dropout's index)
  Mask mask = Mask::Prompt;
  const char* config = nullptr;  // another architecture's config.json (write_arch_model); spec then gives only vocab
};

// hidden 64 and intermediate 128: multiples of NF4's block, so QLoRA quantizes every linear;
// 4 heads of 16 over 2 key/value heads (GQA).
inline TinySpec base_spec() {
  TinySpec s;
  s.vocab = 64, s.hidden = 64, s.inter = 128, s.layers = 2, s.heads = 4, s.kv_heads = 2;
  return s;
}

// The fixture's weights (std 0.3) make a sharp random model whose bf16 errors dwarf those of a
// trained one (the CPU engine's own bf16 mode is 5-7% off its fp32 gradients there): the
// matrices are scaled to std 0.1, about 1/sqrt(hidden), so the comparison can be tight.
inline std::string write_case_model(const std::string& name, const TinySpec& spec) {
  const std::string dir = write_tiny_model(fresh_dir("devmodel_" + name), spec);
  std::vector<std::vector<float>> store;
  tuner::SafetensorsWriter w;
  {
    auto f = tuner::SafetensorsFile::open(dir + "/model.safetensors");
    for (const tuner::TensorInfo& t : f->tensors()) {
      int64_t n = 1;
      for (int64_t d : t.shape) n *= d;
      store.emplace_back((size_t)n);
      f->read_f32(t, store.back().data());
      if (t.name.find("norm") == std::string::npos)
        for (float& x : store.back()) x *= 1.0f / 3.0f;
      w.add(t.name, t.shape, store.back().data());
    }
  }
  w.write(dir + "/model.safetensors");
  return dir;
}

// A tiny random folder of another architecture (Qwen3, Gemma 3, GPT-2, Bloom) from its
// config.json, with the weights the CPU engine's parameter list names (GPT-2's Conv1D ones
// [in, out] as stored): matrices, embeddings and biases std 0.1 as write_case_model's, norm
// weights about 1 (Gemma's, which multiply by 1 + w, about 0).
inline std::string write_arch_model(const std::string& name, const char* config) {
  const std::string dir = fresh_dir("devmodel_" + name);
  tuner::write_file_atomic(dir + "/config.json", config);
  tuner::ModelConfig cfg = tuner::load_model_config(dir);
  const bool one_plus = cfg.norm == tuner::NormKind::RMSOnePlus;
  tuner::LlamaModel m(cfg, tuner::Json::parse(config, "config.json"), dir, true);
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  tuner::SafetensorsWriter w;
  for (tuner::Param* p : m.base_params()) {
    const bool norm = p->name.find("norm") != std::string::npos || p->name.find("ln_") != std::string::npos;
    const bool bias = p->name.size() > 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0;
    const float base = norm && !bias && !one_plus ? 1.0f : 0.0f, sd = norm && !bias ? 0.3f : 0.1f;
    for (int64_t i = 0; i < p->numel(); i++) p->data[i] = base + sd * nd(rng);
    w.add(p->name, p->shape, p->data);
  }
  w.write(dir + "/model.safetensors");
  return dir;
}

inline std::string case_model(const std::string& prefix, const Case& c) {
  return c.config ? write_arch_model(prefix + c.name, c.config) : write_case_model(prefix + c.name, c.spec);
}

inline double rel_l2(const std::vector<float>& got, const float* want) {
  double d = 0, r = 0;
  for (size_t i = 0; i < got.size(); i++) {
    d += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    r += (double)want[i] * want[i];
  }
  return r > 0 ? std::sqrt(d / r) : std::sqrt(d);
}

inline double rel_max(const float* got, const float* want, size_t n) {
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    d = std::fmax(d, std::fabs((double)got[i] - want[i]));
    r = std::fmax(r, std::fabs((double)want[i]));
  }
  return r > 0 ? d / r : d;
}

// In the host Param's layout (GPT-2's Conv1D gradients are [out, in] on the device).
inline std::vector<float> device_grad(DeviceOps& ops, const tuner::dev::DeviceParam& p) {
  std::vector<float> g((size_t)p.n);
  tuner::dev::download_values(ops, *p.host, g.data(), p.g);
  return g;
}

// Every linear of the architecture.
inline tuner::LoraConfig lora_config(float dropout, const std::string& arch) {
  tuner::LoraConfig lc;
  lc.rank = 4, lc.alpha = 8.0f, lc.dropout = dropout;
  if (arch == "GPT2LMHeadModel") lc.target_modules = {"c_attn", "c_proj", "c_fc"};
  else if (arch == "BloomForCausalLM") lc.target_modules = {"query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"};
  else lc.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return lc;
}

// PEFT starts B at 0, which leaves A's gradient 0: both models get the same random B.
inline void randomize_lora_b(std::vector<tuner::Param*> params, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.2f);
  for (tuner::Param* p : params)
    if (p->name.find("lora_B") != std::string::npos)
      for (int64_t i = 0; i < p->numel(); i++) p->data[i] = nd(rng);
}

inline std::unique_ptr<DeviceModel> make_device_model(const std::string& dir, Method m, DeviceOps& ops, float dropout) {
  auto host = quantized(m) ? tuner::LlamaModel::open_quantized_base(dir, quant_type(m), nullptr)
                                 : tuner::LlamaModel::open(dir, nullptr);
  auto dm = std::make_unique<DeviceModel>(std::move(host), ops);
  if (m != Method::Full) {
    dm->enable_lora(lora_config(dropout, dm->config().architecture), 11);
    randomize_lora_b(dm->host().trainable_params(), 3);
    dm->push_from_host();
  }
  return dm;
}

// One case: logits and loss of an evaluation forward, then loss and gradients of a training
// forward + backward (with dropout where the case has it), device against CPU.
inline void run_case(const Case& c, DeviceOps& ops, const Limits& lim) {
  const std::string dir = case_model("", c);
  std::unique_ptr<tuner::Model> cpu = quantized(c.method)
                                          ? tuner::Model::load_quantized_base(dir, quant_type(c.method), nullptr)
                                          : tuner::Model::load(dir);
  if (c.method != Method::Full) {
    cpu->enable_lora(lora_config(c.dropout, cpu->config().architecture), 11);
    randomize_lora_b(cpu->trainable_params(), 3);
  }
  auto dm = make_device_model(dir, c.method, ops, c.dropout);
  if (c.rope_scaling) {
    const tuner::Json rs = tuner::Json::parse(c.rope_scaling, "rope_scaling");
    cpu->set_rope_scaling(rs);
    dm->set_rope_scaling(rs);
  }
  if (quantized(c.method)) EXPECT(dm->host().layers()[0].linears.front()->qw && dm->host().layers()[1].down.qw);
  if (c.spec.sliding_window) EXPECT(dm->config().attention_window(0) == c.spec.sliding_window);
  TestBatch tb(c.spec.vocab, c.packed, c.mask);
  tb.first_row = c.first_row;
  const tuner::Batch batch = tb.batch();
  const int N = tb.B * tb.T, V = c.spec.vocab;

  // Evaluation forward: logits of every row.
  dm->device_params();  // weights on the device: what the forward adds is its activations
  const size_t before = ops.memory().in_use;
  const float lc0 = cpu->forward(batch, false, 0, nullptr);
  const float ld0 = dm->forward(batch, false, 0, nullptr);
  EXPECT(ops.memory().in_use - before == dm->activation_bytes(tb.B, tb.T));
  const double logit_err = rel_max(dm->logits(), cpu->logits(), (size_t)N * V);
  EXPECT(logit_err <= lim.logits);
  EXPECT(std::fabs(ld0 - lc0) <= lim.loss * std::fabs(lc0));

  // Training forward and backward.
  const uint64_t seed = 77;
  cpu->zero_grad();
  const float lc = cpu->forward(batch, true, seed, nullptr);
  cpu->backward(1.0f, nullptr);
  dm->zero_grad();
  const float ld = dm->forward(batch, true, seed, nullptr);
  dm->backward(1.0f, nullptr);
  EXPECT(std::fabs(ld - lc) <= lim.loss * std::fabs(lc));
  const std::vector<tuner::Param*> cp = cpu->trainable_params();
  const auto& dp = dm->device_params();
  EXPECT(cp.size() == dp.size() && !dp.empty());
  double worst = 0;
  std::string worst_name;
  for (size_t i = 0; i < cp.size() && i < dp.size(); i++) {
    EXPECT(cp[i]->name == dp[i].host->name);
    const double e = rel_l2(device_grad(ops, dp[i]), cp[i]->grad);
    if (e > lim.grad) std::fprintf(stderr, "  %s: %s gradient error %.3g\n", c.name.c_str(), cp[i]->name.c_str(), e);
    EXPECT(e <= lim.grad);
    if (e > worst) worst = e, worst_name = cp[i]->name;
  }
  std::printf("%-14s loss %.6f vs %.6f  logits %.2e  worst gradient %.2e (%s, %zu tensors)\n", c.name.c_str(), ld, lc, logit_err,
              worst, worst_name.c_str(), dp.size());

  // Gradient accumulation (micro-batches): a second backward without zero_grad adds the same
  // gradients again, in every op that writes one (GEMMs with beta 1, norms, biases, embedding).
  std::vector<std::vector<float>> once;
  for (const auto& p : dp) once.push_back(device_grad(ops, p));
  dm->forward(batch, true, seed, nullptr);
  dm->backward(1.0f, nullptr);
  double acc_err = 0;
  for (size_t i = 0; i < dp.size(); i++) {
    std::vector<float> twice = once[i];
    for (float& x : twice) x *= 2.0f;
    acc_err = std::fmax(acc_err, rel_l2(device_grad(ops, dp[i]), twice.data()));
  }
  EXPECT(acc_err <= 1e-5);

  // Weights written on the host (a resumed checkpoint) reach the device with push_from_host, and
  // pull_to_host brings back exactly what is there; the next forward uses them (bf16 copies remade).
  for (size_t i = 0; i < cp.size() && i < dp.size(); i++)
    for (int64_t j = 0; j < cp[i]->numel(); j++) {
      const float w = 0.05f - 2.0f * cp[i]->data[j];  // not sign-symmetric (LoRA's B A, per-head norms)
      cp[i]->data[j] = w, dp[i].host->data[j] = w;
    }
  cpu->weights_changed();
  dm->push_from_host();
  std::vector<float> pushed(dp[0].host->data, dp[0].host->data + dp[0].n);
  std::fill(dp[0].host->data, dp[0].host->data + dp[0].n, -1.0f);
  dm->pull_to_host();
  EXPECT(std::equal(pushed.begin(), pushed.end(), dp[0].host->data));
  const float lc2 = cpu->evaluate(batch, nullptr), ld2 = dm->evaluate(batch, nullptr);
  EXPECT(std::fabs(ld2 - lc2) <= lim.loss * std::fabs(lc2));
  if (std::fabs(lc2 - lc0) <= 2 * lim.loss * std::fabs(lc0)) std::fprintf(stderr, "  %s: loss %.6f before, %.6f with the new weights\n", c.name.c_str(), lc0, lc2);
  EXPECT(std::fabs(lc2 - lc0) > 2 * lim.loss * std::fabs(lc0));  // the new weights do change the loss
}

// Device memory of the weights per method (docs/cuda.md): a full fine-tune keeps fp32 masters
// and gradients of everything and bf16 copies of the matrices; LoRA keeps the frozen matrices
// as bf16 only (QLoRA: quantized, plus one dequantized bf16 matrix), the other frozen tensors in
// fp32, and each adapter as master + gradient + bf16 copy.
inline void check_weight_memory(const Case& c, DeviceOps& ops) {
  const std::string dir = write_case_model("mem_" + c.name, c.spec);
  const size_t before = ops.memory().in_use;
  auto dm = make_device_model(dir, c.method, ops, 0.0f);
  dm->device_params();
  const size_t got = ops.memory().in_use - before;
  const tuner::LlamaModel& h = dm->host();
  size_t want = 0, deq = 0;
  for (tuner::Param* p : dm->base_params()) {
    const size_t n = (size_t)p->numel();
    bool matrix = p == h.lm_head(), quant = false;
    for (const tuner::Layer& L : h.layers())
      for (const tuner::Linear* lin : L.linears)
        if (lin->w == p) {
          matrix = true;
          if (lin->qw) quant = true, want += ops.upload_quant(*lin->qw)->bytes(), deq = std::max(deq, n * 2);
        }
    if (quant) continue;
    if (c.method == Method::Full) want += n * 8 + (matrix ? n * 2 : 0);
    else want += matrix ? (p == h.embed() ? n * 6 : n * 2) : n * 4;
  }
  for (tuner::Param* p : dm->trainable_params())
    if (c.method != Method::Full) want += (size_t)p->numel() * 10;
  EXPECT(got == want + deq);
  std::printf("%-14s weights on the device: %zu bytes (expected %zu)\n", c.name.c_str(), got, want + deq);
}

// Checkpointing on vs off on the same device: the same loss and gradients (recomputation runs
// the same ops in the same order).
inline void run_checkpointing(const Case& c, DeviceOps& ops, const Limits& lim) {
  const std::string dir = case_model("ckpt_", c);
  const TestBatch tb(c.spec.vocab, c.packed);
  float loss[2];
  std::vector<std::vector<float>> grads[2];
  for (int on = 0; on < 2; on++) {
    auto dm = make_device_model(dir, c.method, ops, c.dropout);
    dm->set_gradient_checkpointing(on == 1);
    dm->zero_grad();
    loss[on] = dm->forward(tb.batch(), true, 77, nullptr);
    dm->backward(1.0f, nullptr);
    for (const auto& p : dm->device_params()) grads[on].push_back(device_grad(ops, p));
  }
  EXPECT(loss[0] == loss[1]);
  double worst = 0;
  for (size_t i = 0; i < grads[0].size(); i++) {
    const double e = rel_l2(grads[1][i], grads[0][i].data());
    worst = std::fmax(worst, e);
    if (lim.checkpoint_exact) EXPECT(grads[1][i] == grads[0][i]);
    else EXPECT(e <= 1e-5);
  }
  std::printf("%-14s checkpointing on vs off: loss %.9g vs %.9g, worst gradient difference %.2e\n", c.name.c_str(), loss[1],
              loss[0], worst);
}

// What the device path refuses, before anything is uploaded: an architecture the engine does
// not know, and xPos positions; a plain Llama config passes.
inline void check_refusals() {
  tuner::ModelConfig llama;
  llama.architecture = "LlamaForCausalLM";
  llama.head_dim = 64;
  EXPECT(tuner::dev::device_model_unsupported(llama).empty());
  tuner::ModelConfig xpos = llama;
  xpos.rope_scaling.type = "xpos";
  EXPECT(tuner::dev::device_model_unsupported(xpos).find("xPos") != std::string::npos);
  tuner::ModelConfig other = llama;
  other.architecture = "FalconForCausalLM";
  EXPECT(tuner::dev::device_model_unsupported(other).find("FalconForCausalLM") != std::string::npos);
}

// The other architectures at the same size (hidden 64, so QLoRA quantizes every linear):
//   Qwen3: per-head q/k RMSNorm on GQA;
//   Gemma 3: (1 + w) norms, sandwich norms, GeGLU, sqrt(C) embedding scale, attention scale
//     1/sqrt(24) and soft-cap 3, final logits soft-capped at 4 (caps low enough to bend these
//     logits), layer 0 sliding (window 5) with the local RoPE base, layer 1 global;
//   GPT-2: LayerNorm with bias, learned positions, fused c_attn [q|k|v], Conv1D weights, GELU;
//   Bloom: embedding LayerNorm, ALiBi, fused per-head query_key_value, GELU.
constexpr const char* kQwen3Config = R"({"architectures": ["Qwen3ForCausalLM"], "vocab_size": 64, "hidden_size": 64,
  "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
  "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "tie_word_embeddings": false})";
constexpr const char* kGemma3Config = R"({"architectures": ["Gemma3ForCausalLM"], "vocab_size": 64, "hidden_size": 64,
  "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
  "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 24, "attn_logit_softcapping": 3.0,
  "final_logit_softcapping": 4.0, "sliding_window": 5, "sliding_window_pattern": 2, "rope_theta": 1000000.0,
  "rope_local_base_freq": 10000.0, "hidden_activation": "gelu_pytorch_tanh"})";
constexpr const char* kGpt2Config = R"({"architectures": ["GPT2LMHeadModel"], "vocab_size": 64, "n_embd": 64, "n_layer": 2,
  "n_head": 4, "n_positions": 32, "n_inner": 128, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"})";
constexpr const char* kBloomConfig = R"({"architectures": ["BloomForCausalLM"], "vocab_size": 64, "hidden_size": 64,
  "n_layer": 2, "n_head": 4, "layer_norm_epsilon": 1e-5})";

inline Case arch_case(const char* name, const char* config, Method m, float dropout = 0.0f, bool packed = false) {
  Case c{name, base_spec(), m, dropout, packed};
  c.config = config;
  return c;
}

// Full, LoRA and QLoRA (nf4) of each, with LoRA dropout and packed rows on some.
inline std::vector<Case> arch_cases() {
  return {arch_case("qwen3_full", kQwen3Config, Method::Full),
          arch_case("qwen3_lora", kQwen3Config, Method::Lora, 0.1f),
          arch_case("qwen3_qlora", kQwen3Config, Method::Qlora),
          arch_case("gemma3_full", kGemma3Config, Method::Full),
          arch_case("gemma3_lora", kGemma3Config, Method::Lora, 0.1f, true),
          arch_case("gemma3_qlora", kGemma3Config, Method::Qlora),
          arch_case("gpt2_full", kGpt2Config, Method::Full),
          arch_case("gpt2_lora", kGpt2Config, Method::Lora, 0.1f, true),
          arch_case("gpt2_qlora", kGpt2Config, Method::Qlora),
          arch_case("bloom_full", kBloomConfig, Method::Full, 0.0f, true),
          arch_case("bloom_lora", kBloomConfig, Method::Lora, 0.1f),
          arch_case("bloom_qlora", kBloomConfig, Method::Qlora)};
}

inline std::vector<Case> all_cases() {
  std::vector<Case> cs;
  cs.push_back({"full", base_spec(), Method::Full, 0.0f, false});
  cs.push_back({"lora", base_spec(), Method::Lora, 0.0f, false});
  cs.push_back({"lora_dropout", base_spec(), Method::Lora, 0.1f, false, nullptr, 3});
  cs.push_back({"qlora_nf4", base_spec(), Method::Qlora, 0.0f, false});
  cs.push_back({"qlora_int8", base_spec(), Method::QloraInt8, 0.1f, false});
  TinySpec qwen = base_spec();
  qwen.arch = "Qwen2ForCausalLM";
  cs.push_back({"qwen2_bias", qwen, Method::Full, 0.0f, false});
  TinySpec mistral = base_spec();
  mistral.arch = "MistralForCausalLM";
  mistral.sliding_window = 5;
  cs.push_back({"window", mistral, Method::Full, 0.0f, false});
  cs.push_back({"packed", base_spec(), Method::Full, 0.0f, true});
  TinySpec tied = base_spec();
  tied.tied = true;
  cs.push_back({"tied", tied, Method::Full, 0.0f, false});
  // rope_scaling: YaRN scales cos/sin by its attention factor; dynamic NTK depends on T.
  cs.push_back({"yarn", base_spec(), Method::Full, 0.0f, false,
                R"({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8})"});
  cs.push_back({"dynamic", base_spec(), Method::Lora, 0.0f, true,
                R"({"rope_type": "dynamic", "factor": 2.0, "original_max_position_embeddings": 8})"});
  // The lm_head on every row (no prompt to skip) and on 16 runs of one loss row each.
  cs.push_back({"mask_all", base_spec(), Method::Full, 0.0f, false, nullptr, 0, Mask::All});
  cs.push_back({"mask_alternate", tied, Method::Full, 0.0f, false, nullptr, 0, Mask::Alternate});
  for (const Case& c : arch_cases()) cs.push_back(c);
  return cs;
}

// Every case on ops from `make_ops` (a fresh ops object per case, so memory counts start clean).
inline void run_all(const std::function<std::unique_ptr<DeviceOps>()>& make_ops, const Limits& lim) {
  check_refusals();
  for (const Case& c : all_cases()) {
    auto ops = make_ops();
    run_case(c, *ops, lim);
  }
  for (Method m : {Method::Full, Method::Lora, Method::Qlora}) {
    auto ops = make_ops();
    TinySpec tied = base_spec();
    tied.tied = true;
    check_weight_memory({m == Method::Full ? "full" : m == Method::Lora ? "lora" : "qlora", m == Method::Lora ? tied : base_spec(), m},
                        *ops);
  }
  auto ops = make_ops();
  run_checkpointing({"full", base_spec(), Method::Full, 0.0f, false}, *ops, lim);
  run_checkpointing({"lora_dropout", base_spec(), Method::Lora, 0.1f, true}, *ops, lim);
  // The other architectures' reruns: Gemma's sandwich norms, GPT-2's fused q/k/v and positions.
  run_checkpointing(arch_case("gemma3_lora", kGemma3Config, Method::Lora, 0.1f, true), *ops, lim);
  run_checkpointing(arch_case("gpt2_full", kGpt2Config, Method::Full), *ops, lim);
  run_checkpointing(arch_case("bloom_qlora", kBloomConfig, Method::Qlora), *ops, lim);
}

}  // namespace device_cases
