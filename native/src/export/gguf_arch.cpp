// Hugging Face architectures -> llama.cpp's, as convert_hf_to_gguf.py maps them and
// llama-model.cpp loads them:
//   LlamaForCausalLM, MistralForCausalLM -> llama   (q/k rows permuted for GPT-J-style rotation)
//   Qwen2ForCausalLM -> qwen2;  Qwen3ForCausalLM -> qwen3 (+ attn_q_norm / attn_k_norm)
//   Gemma3ForCausalLM -> gemma3 (norm weights stored as 1 + w; post_attention_norm, ffn_norm for
//       pre_feedforward_layernorm, post_ffw_norm). llama.cpp fixes what transformers reads from
//       config.json: every 6th layer global, the others sliding with RoPE base 10000, queries
//       scaled by 1/sqrt(head_dim) (1/sqrt(hidden/heads) at 62 layers), no attention
//       soft-capping; a model that differs is refused rather than written to compute otherwise.
//   GPT2LMHeadModel -> gpt2 (Conv1D weights transposed to [out, in]; position_embd)
//   BloomForCausalLM -> bloom (query_key_value rows regrouped from per-head [q, k, v] to
//       [q | k | v]; token_embd_norm; ALiBi needs no tensor)
// Tied heads are written once (token_embd): llama.cpp reuses it when output.weight is absent.
#include "export/gguf_arch.h"

#include <cmath>
#include <map>

#include "tuner/error.h"

namespace tuner {

namespace {

TunerError refuse(const std::string& dir, const std::string& field, const std::string& what, const std::string& hint) {
  return TunerError("unsupported_model", dir + "/config.json: " + field + " " + what, hint);
}

// Gemma 3 as llama.cpp's gemma3 architecture computes it (llama-model.cpp, LLM_ARCH_GEMMA3).
void check_gemma3(const ModelConfig& c, const std::string& dir) {
  const std::string hint = "llama.cpp's gemma3 architecture computes released Gemma 3 layouts only; export a merged "
                           "Hugging Face folder (tuner-export merge) for this model instead.";
  if (c.attn_softcap > 0) throw refuse(dir, "attn_logit_softcapping", "is set; llama.cpp's gemma3 does not soft-cap attention", hint);
  if (c.rope_local_theta != 10000.0f)
    throw refuse(dir, "rope_local_base_freq", std::to_string(c.rope_local_theta) + " differs from llama.cpp's fixed 10000", hint);
  const float theirs = 1.0f / std::sqrt((float)(c.num_layers == 62 ? c.hidden_size / c.num_heads : c.head_dim));
  if (std::fabs(c.attn_scale - theirs) > 1e-6f * theirs)
    throw refuse(dir, "query_pre_attn_scalar", "scales queries by " + std::to_string(c.attn_scale) + "; llama.cpp uses " +
                                                   std::to_string(theirs) + " (1/sqrt(head_dim))", hint);
  for (int l = 0; l < c.num_layers; l++)
    if ((l % 6 < 5) != (c.attention_window(l) > 0))
      throw refuse(dir, "sliding_window_pattern / layer_types",
                   "makes layer " + std::to_string(l) + (c.attention_window(l) > 0 ? " sliding" : " global") +
                       "; llama.cpp makes every 6th layer global and the others sliding",
                   hint);
}

}  // namespace

GgufArch gguf_arch_of(const ModelConfig& c, const std::string& dir) {
  const std::string& hf = c.architecture;
  GgufArch a;
  if (hf == "LlamaForCausalLM" || hf == "MistralForCausalLM") {
    a.name = "llama";
    a.permute_qk = true;
  } else if (hf == "Qwen2ForCausalLM") {
    a.name = "qwen2";
    if (c.num_heads * c.head_dim != c.hidden_size)
      throw TunerError("unsupported_model", dir + "/config.json: head_dim x num_attention_heads differs from hidden_size",
                       "llama.cpp's qwen2 architecture needs num_attention_heads x head_dim == hidden_size.");
  } else if (hf == "Qwen3ForCausalLM") {
    a.name = "qwen3";
  } else if (hf == "Gemma3ForCausalLM") {
    a.name = "gemma3";
    a.norm_plus_one = true;
    check_gemma3(c, dir);
  } else if (hf == "GPT2LMHeadModel") {
    a.name = "gpt2";
  } else if (hf == "BloomForCausalLM") {
    a.name = "bloom";
    a.bloom_qkv = true;
  } else {
    throw TunerError("unsupported_model", dir + "/config.json: architecture " + hf + " has no GGUF mapping",
                     "GGUF export supports LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
                     "Gemma3ForCausalLM, GPT2LMHeadModel and BloomForCausalLM.");
  }
  return a;
}

std::string gguf_tensor_name(const GgufArch& a, const std::string& hf) {
  static const std::map<std::string, std::string> kGlobal = {
      {"model.embed_tokens", "token_embd"},   {"transformer.wte", "token_embd"},
      {"transformer.word_embeddings", "token_embd"},
      {"transformer.word_embeddings_layernorm", "token_embd_norm"},
      {"transformer.wpe", "position_embd"},   {"model.norm", "output_norm"},
      {"transformer.ln_f", "output_norm"},    {"lm_head", "output"}};
  static const std::map<std::string, std::string> kLayer = {
      // Llama family, Qwen3, Gemma 3
      {"input_layernorm", "attn_norm"},       {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},         {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"},    {"self_attn.q_norm", "attn_q_norm"},
      {"self_attn.k_norm", "attn_k_norm"},    {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},              {"mlp.down_proj", "ffn_down"},
      {"pre_feedforward_layernorm", "ffn_norm"}, {"post_feedforward_layernorm", "post_ffw_norm"},
      // GPT-2
      {"ln_1", "attn_norm"},                  {"attn.c_attn", "attn_qkv"},
      {"attn.c_proj", "attn_output"},         {"ln_2", "ffn_norm"},
      {"mlp.c_fc", "ffn_up"},                 {"mlp.c_proj", "ffn_down"},
      // Bloom
      {"self_attention.query_key_value", "attn_qkv"}, {"self_attention.dense", "attn_output"},
      {"mlp.dense_h_to_4h", "ffn_up"},        {"mlp.dense_4h_to_h", "ffn_down"}};
  const size_t last = hf.rfind('.');
  if (last == std::string::npos) return "";
  const std::string base = hf.substr(0, last), suffix = hf.substr(last);
  if (auto it = kGlobal.find(base); it != kGlobal.end()) return it->second + suffix;
  std::string pre;
  for (const char* p : {"model.layers.", "transformer.h."})
    if (hf.compare(0, std::char_traits<char>::length(p), p) == 0) pre = p;
  if (pre.empty()) return "";
  const size_t dot = hf.find('.', pre.size());
  if (dot == std::string::npos || last <= dot) return "";
  const std::string layer = hf.substr(pre.size(), dot - pre.size()), module = hf.substr(dot + 1, last - dot - 1);
  std::string name;
  if (module == "post_attention_layernorm") name = a.name == "gemma3" ? "post_attention_norm" : "ffn_norm";
  else if (auto it = kLayer.find(module); it != kLayer.end()) name = it->second;
  return name.empty() ? "" : "blk." + layer + "." + name + suffix;
}

std::vector<std::string> write_gguf_arch_keys(GgufWriter& w, const GgufArch& g, const ModelConfig& c) {
  const std::string a = g.name + ".";
  std::vector<std::string> warnings;
  w.set_u32(a + "vocab_size", (uint32_t)c.vocab_size);
  w.set_u32(a + "context_length", (uint32_t)c.max_position_embeddings);
  w.set_u32(a + "embedding_length", (uint32_t)c.hidden_size);
  w.set_u32(a + "block_count", (uint32_t)c.num_layers);
  w.set_u32(a + "feed_forward_length", (uint32_t)c.intermediate_size);
  w.set_u32(a + "attention.head_count", (uint32_t)c.num_heads);
  w.set_u32(a + "attention.head_count_kv", (uint32_t)c.num_kv_heads);
  if (c.norm == NormKind::Layer) w.set_f32(a + "attention.layer_norm_epsilon", c.rms_norm_eps);
  else w.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  if (c.final_softcap > 0) w.set_f32(a + "final_logit_softcapping", c.final_softcap);
  if (c.positions != PositionKind::Rope) return warnings;  // GPT-2's learned positions, Bloom's ALiBi

  w.set_u32(a + "attention.key_length", (uint32_t)c.head_dim);
  w.set_u32(a + "attention.value_length", (uint32_t)c.head_dim);
  w.set_f32(a + "rope.freq_base", c.rope_theta);
  w.set_u32(a + "rope.dimension_count", (uint32_t)c.head_dim);
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "linear") {
    w.set_string(a + "rope.scaling.type", "linear");
    w.set_f32(a + "rope.scaling.factor", rs.factor);
  } else if (rs.type == "yarn") {
    w.set_string(a + "rope.scaling.type", "yarn");
    w.set_f32(a + "rope.scaling.factor", rs.factor);
    w.set_u32(a + "rope.scaling.original_context_length",
              (uint32_t)(rs.original_max_position_embeddings > 0 ? rs.original_max_position_embeddings : c.max_position_embeddings));
    w.set_f32(a + "rope.scaling.yarn_beta_fast", rs.beta_fast);
    w.set_f32(a + "rope.scaling.yarn_beta_slow", rs.beta_slow);
    if (rs.attention_factor > 0) w.set_f32(a + "rope.scaling.yarn_attn_factor", rs.attention_factor);
  } else if (rs.type == "dynamic") {
    warnings.push_back("rope_scaling \"dynamic\" has no llama.cpp equivalent: written without scaling (identical up to max_position_embeddings)");
  }
  if (g.name == "gemma3") {
    w.set_u32(a + "attention.sliding_window", (uint32_t)c.sliding_window);
  } else if (c.sliding_window > 0 && c.sliding_window < c.max_position_embeddings) {
    warnings.push_back("sliding_window " + std::to_string(c.sliding_window) + " is not written: llama.cpp's " + g.name +
                       " architecture attends to the whole context (identical for contexts up to the window)");
  }
  return warnings;
}

}  // namespace tuner
