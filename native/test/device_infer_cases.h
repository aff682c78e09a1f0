// The device inference session's reference cases, shared by test_device_infer (CPU: host_ops) and
// test/cuda/test_cuda_device_infer.cu (GPU: cuda_ops): tiny folders of every architecture the
// session runs (the Llama family; Qwen3, Gemma 3, GPT-2 and Bloom as device_model_cases.h writes
// them; Llama with rope_scaling dynamic past max_position_embeddings) loaded by the CPU
// InferSession (fp32, the reference) and by a device session on the given ops, the same prompt
// and then 24 tokens (the CPU's greedy choices, fed to both) through both:
//   - the logits of every prompt row and of every decode step within bf16 tolerance;
//   - the greedy token equal wherever the CPU's top-2 margin exceeds twice the step's measured
//     logits error (the only steps where bf16 rounding cannot flip the choice), with a count of
//     such steps required so the check cannot pass empty;
//   - prompts longer than kGemvMaxRows (prefill through gemm / qgemm) and shorter (gemv / qgemv);
//   - int8, nf4 and q4_0 against the CPU session with the same quantization (Qwen3 nf4, Bloom
//     int8 too); a LoRA adapter on the fly (Qwen2: biases too; GPT-2: fused c_attn and Conv1D
//     weights); a sliding window (Mistral, Gemma 3's local layers); a tied embedding;
//   - truncate() then one multi-row append at a non-zero position gives the first pass's logits
//     (rope_scaling dynamic, whose base has grown since: the CPU's for the same calls);
//   - context_full, bad_token, bad_tokens, bad_position and no_logits as the CPU throws them.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "device/device_infer.h"
#include "device_model_cases.h"
#include "infer_test_util.h"
#include "tuner/infer.h"
#include "tuner/safetensors.h"

namespace device_infer_cases {

using tuner::InferOptions;
using tuner::InferSession;
using tuner::QuantType;
using OpsFactory = std::function<std::unique_ptr<tuner::dev::DeviceOps>()>;

constexpr int kPrompt = 12, kShortPrompt = 5, kDecode = 24, kContext = 48;

// Largest |device - cpu| over the largest |cpu logit|, per format: bf16 rounding of the products'
// inputs and of the KV cache (the device model's logits limit, docs/cuda.md), the quantized
// formats a little wider (the CPU's decode kernels round activations their own way).
struct Limits {
  double bf16 = 2.5e-2;
  double quant = 5e-2;
};

struct Case {
  std::string name;
  TinySpec spec;
  QuantType quant = QuantType::F32;
  bool lora = false;
  int prompt = kPrompt;
  const char* config = nullptr;  // another architecture's config.json (device_cases::write_arch_model)
  std::string rope_scaling;      // a rope_scaling object written into config.json, or ""
};

// GPT-2 as device_cases::kGpt2Config with room for the context (learned positions end at n_positions).
constexpr const char* kGpt2Config = R"({"architectures": ["GPT2LMHeadModel"], "vocab_size": 64, "n_embd": 64, "n_layer": 2,
  "n_head": 4, "n_positions": 64, "n_inner": 128, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"})";

inline TinySpec base_spec() {
  TinySpec s;
  s.vocab = 64, s.hidden = 64, s.inter = 128, s.layers = 2, s.heads = 4, s.kv_heads = 2;  // NF4 blocks fit, GQA
  return s;
}

// A trained-looking adapter (B != 0) on every projection of the model in dir.
inline std::string write_adapter(const std::string& dir, const std::string& name) {
  const std::string out = fresh_dir(name);
  auto m = tuner::Model::load(dir);
  m->enable_lora(device_cases::lora_config(0.0f, m->config().architecture), 11);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  for (tuner::Param* p : m->trainable_params())
    if (p->name.find("lora_B") != std::string::npos)
      for (int64_t i = 0; i < p->numel(); i++) p->data[i] = nd(rng);
  m->save_adapter(out);
  return out;
}

inline InferOptions options(const std::string& model, const std::string& adapter, QuantType q) {
  InferOptions o;
  o.model = model;
  o.adapter = adapter;
  o.quant = q;
  o.context_length = kContext;
  o.threads = 2;
  return o;
}

// The CPU's greedy token and its margin over the runner-up.
inline void top2(const float* x, int V, int* best, double* margin) {
  int b = 0;
  for (int i = 1; i < V; i++)
    if (x[i] > x[b]) b = i;
  double second = -INFINITY;
  for (int i = 0; i < V; i++)
    if (i != b) second = std::max(second, (double)x[i]);
  *best = b;
  *margin = x[b] - second;
}

struct Measured {
  double prompt = 0, decode = 0, retruncate = 0;
  int greedy_checked = 0;
};

inline Measured run_case(const Case& k, const OpsFactory& make_ops, double limit) {
  const std::string dir = k.config ? device_cases::write_arch_model("devinfer_" + k.name, k.config)
                                   : write_scaled_model(fresh_dir("devinfer_" + k.name), k.spec);
  if (!k.rope_scaling.empty()) edit_config(dir, "rope_scaling", tuner::Json::parse(k.rope_scaling, "test"));
  const std::string adapter = k.lora ? write_adapter(dir, "devinfer_adapter_" + k.name) : "";
  const InferOptions opt = options(dir, adapter, k.quant);
  auto cpu = InferSession::load(opt);
  auto dev = tuner::dev::make_device_infer_session(opt, make_ops(), "test", "a device case");
  const int V = cpu->config().vocab_size, T = k.prompt + kDecode;
  EXPECT(dev->info().quant == cpu->info().quant);
  EXPECT(dev->info().lora == k.lora);
  const auto& c = cpu->config();
  EXPECT(dev->info().kv_cache_bytes == (size_t)c.num_layers * 2 * kContext * c.num_kv_heads * c.head_dim * 2);
  std::vector<uint32_t> seq = test_tokens(k.prompt, V, 3);
  std::vector<float> want((size_t)T * V), got((size_t)T * V);
  cpu->append(seq.data(), k.prompt, want.data());
  dev->append(seq.data(), k.prompt, got.data());
  Measured m;
  m.prompt = rel_err(got.data(), want.data(), (size_t)k.prompt * V);
  EXPECT(std::equal(dev->logits(), dev->logits() + V, got.begin() + (size_t)(k.prompt - 1) * V));
  for (int t = k.prompt; t < T; t++) {
    const float* cl = cpu->logits();
    const float* dl = dev->logits();
    const double err = rel_err(dl, cl, V);
    m.decode = std::max(m.decode, err);
    int best = 0;
    double margin = 0, abs_err = 0, scale = 0;
    top2(cl, V, &best, &margin);
    for (int i = 0; i < V; i++) {
      abs_err = std::max(abs_err, (double)std::fabs(dl[i] - cl[i]));
      scale = std::max(scale, (double)std::fabs(cl[i]));
    }
    const uint32_t cpu_token = cpu->sample(nullptr, 0), dev_token = dev->sample(nullptr, 0);
    EXPECT(cpu_token == (uint32_t)best);
    if (margin > 2 * abs_err) {
      m.greedy_checked++;
      if (dev_token != cpu_token) {
        std::fprintf(stderr, "%s: step %d: device greedy %u, cpu %u (margin %.4g, error %.4g)\n", k.name.c_str(), t,
                     dev_token, cpu_token, margin, abs_err);
        g_failures++;
      }
    }
    seq.push_back(cpu_token);
    cpu->append(&seq.back(), 1);
    dev->append(&seq.back(), 1);
    std::copy(cpu->logits(), cpu->logits() + V, want.begin() + (size_t)t * V);
    std::copy(dev->logits(), dev->logits() + V, got.begin() + (size_t)t * V);
  }
  // Back to position 8, then the next 10 tokens as one chunk (the prefill path at p > 0).
  const int cut = 8, again = 10;
  dev->truncate(cut);
  EXPECT(dev->position() == cut);
  std::vector<float> rows((size_t)again * V);
  dev->append(seq.data() + cut, again, rows.data());
  // Row i of the chunk sits at position cut + i: the first pass's logits there, unless a dynamic
  // base has grown since; then the CPU's for the same calls.
  std::vector<float> cpu_rows;
  if (!k.rope_scaling.empty()) {
    cpu_rows.resize(rows.size());
    cpu->truncate(cut);
    cpu->append(seq.data() + cut, again, cpu_rows.data());
  }
  const float* ref = cpu_rows.empty() ? want.data() + (size_t)cut * V : cpu_rows.data();
  m.retruncate = rel_err(rows.data(), ref, (size_t)again * V);
  std::printf("%-14s %-5s prompt %.2e  decode %.2e  re-append %.2e  greedy checked %d/%d  (%s)\n", k.name.c_str(),
              tuner::quant_type_name(k.quant), m.prompt, m.decode, m.retruncate, m.greedy_checked, kDecode,
              dev->info().kernel.c_str());
  EXPECT(m.prompt < limit);
  EXPECT(m.decode < limit);
  EXPECT(m.retruncate < limit);
  EXPECT(m.greedy_checked >= kDecode / 2);
  return m;
}

// The same error (code and message) from both sessions.
inline void same_error(const char* what, const std::function<void(InferSession&)>& fn, InferSession& cpu, InferSession& dev) {
  std::string cpu_err, dev_err;
  try {
    fn(cpu);
  } catch (const tuner::TunerError& e) {
    cpu_err = e.code() + ": " + e.what();
  }
  try {
    fn(dev);
  } catch (const tuner::TunerError& e) {
    dev_err = e.code() + ": " + e.what();
  }
  if (cpu_err.empty() || cpu_err != dev_err) {
    std::fprintf(stderr, "%s: cpu \"%s\", device \"%s\"\n", what, cpu_err.c_str(), dev_err.c_str());
    g_failures++;
  }
}

inline void errors_match(const OpsFactory& make_ops) {
  const std::string dir = write_scaled_model(fresh_dir("devinfer_errors"), base_spec());
  InferOptions opt = options(dir, "", QuantType::F32);
  opt.context_length = 10;
  auto cpu = InferSession::load(opt);
  auto dev = tuner::dev::make_device_infer_session(opt, make_ops(), "test", "errors");
  const std::vector<uint32_t> ids = test_tokens(11, 64);
  const uint32_t bad[3] = {1, 64, 2};
  same_error("no_logits", [](InferSession& s) { s.sample(nullptr, 0); }, *cpu, *dev);
  same_error("bad_token", [&](InferSession& s) { s.append(bad, 3); }, *cpu, *dev);
  same_error("bad_tokens", [&](InferSession& s) { s.append(ids.data(), 0); }, *cpu, *dev);
  same_error("context_full", [&](InferSession& s) { s.append(ids.data(), 11); }, *cpu, *dev);
  EXPECT(dev->position() == 0);  // nothing was appended by the refused calls
  cpu->append(ids.data(), 7);
  dev->append(ids.data(), 7);
  same_error("context_full after 7", [&](InferSession& s) { s.append(ids.data(), 4); }, *cpu, *dev);
  same_error("bad_position", [](InferSession& s) { s.truncate(8); }, *cpu, *dev);
  same_error("no_logits after truncate", [](InferSession& s) { s.truncate(3), s.sample(nullptr, 0); }, *cpu, *dev);
}

inline std::vector<Case> cases() {
  std::vector<Case> out;
  Case c;
  c.name = "llama-bf16", c.spec = base_spec();
  out.push_back(c);
  c.name = "llama-short", c.prompt = kShortPrompt;  // the prompt through gemv
  out.push_back(c);
  c.prompt = kPrompt;
  c.name = "mistral-window", c.spec.arch = "MistralForCausalLM", c.spec.sliding_window = 6;
  out.push_back(c);
  c.spec = base_spec();
  c.name = "llama-int8", c.quant = QuantType::INT8, c.spec.tied = true;  // the embedding decoded from the head
  out.push_back(c);
  c.spec = base_spec();
  c.name = "llama-nf4", c.quant = QuantType::NF4;
  out.push_back(c);
  c.name = "llama-q4_0", c.quant = QuantType::Q4_0;
  out.push_back(c);
  c.name = "llama-as-bf16", c.quant = QuantType::BF16;  // quant bf16: uploaded as stored, not through qgemm
  out.push_back(c);
  c.name = "qwen2-lora", c.quant = QuantType::F32, c.lora = true, c.spec.arch = "Qwen2ForCausalLM";
  out.push_back(c);
  // rope_scaling dynamic: the sequence passes max_position_embeddings (16) at step 4, so the base
  // grows with every decode step after it while the cached keys keep their rotation.
  c = Case();
  c.name = "llama-dynamic", c.spec = base_spec(), c.spec.max_positions = 16;
  c.rope_scaling = R"({"type": "dynamic", "factor": 4.0})";
  out.push_back(c);
  // The other architectures (device_model_cases.h's configs: Gemma 3 with a window of 5 on its
  // local layer, attention and final soft-capping).
  auto arch = [&](const char* name, const char* config, QuantType q, bool lora) {
    Case a;
    a.name = name, a.spec = base_spec(), a.config = config, a.quant = q, a.lora = lora;
    out.push_back(a);
  };
  arch("qwen3-bf16", device_cases::kQwen3Config, QuantType::F32, false);
  arch("qwen3-nf4", device_cases::kQwen3Config, QuantType::NF4, false);
  arch("gemma3-bf16", device_cases::kGemma3Config, QuantType::F32, false);
  arch("gpt2-bf16", kGpt2Config, QuantType::F32, false);
  arch("gpt2-lora", kGpt2Config, QuantType::F32, true);
  arch("bloom-bf16", device_cases::kBloomConfig, QuantType::F32, false);
  arch("bloom-int8", device_cases::kBloomConfig, QuantType::INT8, false);
  out.back().prompt = kShortPrompt;  // a prompt through qgemv
  return out;
}

inline void run_all(const OpsFactory& make_ops, const Limits& lim) {
  for (const Case& k : cases())
    run_case(k, make_ops, k.quant == QuantType::F32 || k.quant == QuantType::BF16 ? lim.bf16 : lim.quant);
  errors_match(make_ops);
}

}  // namespace device_infer_cases
