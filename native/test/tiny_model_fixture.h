// Writes a tiny random Llama-family model folder from C++ (config.json + model.safetensors), so
// the model tests need neither Python nor files checked into the repository.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "tuner/json.h"
#include "tuner/safetensors.h"

struct TinySpec {
  std::string arch = "LlamaForCausalLM";
  int vocab = 40, hidden = 16, inter = 24, layers = 2, heads = 4, kv_heads = 2;
  bool tied = false;
  int sliding_window = 0;
  int max_positions = 64;
};

inline tuner::Json tiny_config(const TinySpec& s) {
  using tuner::Json;
  Json c = Json::object();
  c.set("architectures", Json::array({Json(s.arch)}));
  c.set("vocab_size", Json(s.vocab));
  c.set("hidden_size", Json(s.hidden));
  c.set("intermediate_size", Json(s.inter));
  c.set("num_hidden_layers", Json(s.layers));
  c.set("num_attention_heads", Json(s.heads));
  c.set("num_key_value_heads", Json(s.kv_heads));
  c.set("max_position_embeddings", Json(s.max_positions));
  c.set("rms_norm_eps", Json(1e-5));
  c.set("hidden_act", Json("silu"));
  c.set("tie_word_embeddings", Json(s.tied));
  if (s.sliding_window) c.set("sliding_window", Json(s.sliding_window));
  return c;
}

// (name, shape) of every weight the spec implies, in Hugging Face order.
inline std::vector<std::pair<std::string, std::vector<int64_t>>> tiny_shapes(const TinySpec& s) {
  int hd = s.hidden / s.heads;
  std::vector<std::pair<std::string, std::vector<int64_t>>> out = {{"model.embed_tokens.weight", {s.vocab, s.hidden}}};
  bool qwen = s.arch == "Qwen2ForCausalLM";
  for (int l = 0; l < s.layers; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {s.hidden}});
    out.push_back({p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden}});
    if (qwen) out.push_back({p + "self_attn.q_proj.bias", {s.heads * hd}});
    out.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden}});
    if (qwen) out.push_back({p + "self_attn.k_proj.bias", {s.kv_heads * hd}});
    out.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden}});
    if (qwen) out.push_back({p + "self_attn.v_proj.bias", {s.kv_heads * hd}});
    out.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd}});
    out.push_back({p + "post_attention_layernorm.weight", {s.hidden}});
    out.push_back({p + "mlp.gate_proj.weight", {s.inter, s.hidden}});
    out.push_back({p + "mlp.up_proj.weight", {s.inter, s.hidden}});
    out.push_back({p + "mlp.down_proj.weight", {s.hidden, s.inter}});
  }
  out.push_back({"model.norm.weight", {s.hidden}});
  if (!s.tied) out.push_back({"lm_head.weight", {s.vocab, s.hidden}});
  return out;
}

// Writes the folder; `skip` names a tensor to leave out, `override_shape` changes one tensor.
inline std::string write_tiny_model(const std::string& dir, const TinySpec& s, const std::string& skip = "",
                                    const std::string& reshape = "", std::vector<int64_t> new_shape = {}) {
  mkdir(dir.c_str(), 0755);
  tuner::write_file_atomic(dir + "/config.json", tiny_config(s).dump(2));
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  std::vector<std::vector<float>> store;
  tuner::SafetensorsWriter w;
  for (auto& [name, shape0] : tiny_shapes(s)) {
    if (name == skip) continue;
    auto shape = name == reshape ? new_shape : shape0;
    int64_t n = 1;
    for (auto d : shape) n *= d;
    store.emplace_back((size_t)n);
    bool norm = name.find("norm") != std::string::npos;
    for (auto& x : store.back()) x = (norm ? 1.0f : 0.0f) + nd(rng);
    w.add(name, shape, store.back().data());
  }
  w.write(dir + "/model.safetensors");
  return dir;
}

inline std::string fresh_dir(const std::string& name) {
  std::string d = "/tmp/tuner_test_" + std::to_string(getpid()) + "_" + name;
  mkdir(d.c_str(), 0755);
  return d;
}
