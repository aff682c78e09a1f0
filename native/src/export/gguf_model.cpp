// A Llama-family model -> GGUF for llama.cpp, as convert_hf_to_gguf.py maps it:
//   LlamaForCausalLM, MistralForCausalLM -> architecture "llama". llama.cpp rotates adjacent
//       pairs (GPT-J style) where transformers rotates halves (rotate_half), so q_proj and
//       k_proj rows (and biases) are permuted per head: new row 2j + s = old row s * HD/2 + j.
//   Qwen2ForCausalLM -> "qwen2" (NeoX-style rotation, rows kept; q/k/v biases).
// Names: model.embed_tokens -> token_embd, model.layers.N.{input_layernorm -> attn_norm,
// self_attn.{q,k,v,o}_proj -> attn_{q,k,v,output}, post_attention_layernorm -> ffn_norm,
// mlp.{gate,up,down}_proj -> ffn_{gate,up,down}}, model.norm -> output_norm, lm_head -> output
// (absent when tied: llama.cpp then reuses token_embd). llama3 rope scaling becomes the
// rope_freqs tensor (per-frequency divisors), linear and yarn become rope.scaling.* keys.
#include <cmath>
#include <cstring>
#include <map>

#include "tuner/dtype.h"
#include "tuner/error.h"
#include "tuner/gguf.h"
#include "tuner/model.h"
#include "tuner/quant.h"

namespace tuner {

namespace {

// llama_ftype of the file as a whole (general.file_type).
uint32_t file_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q8_0: return 7;
    case GgmlType::BF16: return 32;
  }
  return 0;
}

// rows [n_head * HD, cols]: per head, interleave the two halves (convert_hf_to_gguf's permute).
void permute_rows(float* dst, const float* src, int64_t rows, int64_t cols, int n_head) {
  const int64_t hd = rows / n_head, half = hd / 2;
  for (int h = 0; h < n_head; h++)
    for (int64_t j = 0; j < half; j++)
      for (int s = 0; s < 2; s++)
        std::memcpy(dst + (h * hd + 2 * j + s) * cols, src + (h * hd + s * half + j) * cols, (size_t)cols * sizeof(float));
}

// llama3 rope scaling as llama.cpp applies it: one divisor per frequency (rope_freqs.weight).
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& r = c.rope_scaling;
  const int old_ctx = r.original_max_position_embeddings > 0 ? r.original_max_position_embeddings : 8192;
  const double low_wavelen = old_ctx / r.low_freq_factor, high_wavelen = old_ctx / r.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < c.head_dim; i += 2) {
    const float freq = 1.0f / std::pow(c.rope_theta, (float)i / (float)c.head_dim);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) out.push_back(1.0f);
    else if (wavelen > low_wavelen) out.push_back(r.factor);
    else {
      const double smooth = (old_ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      out.push_back((float)(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return out;
}

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; "" if not a model tensor.
std::string gguf_name(const std::string& hf) {
  static const std::map<std::string, std::string> kLayer = {
      {"input_layernorm", "attn_norm"},        {"post_attention_layernorm", "ffn_norm"},
      {"self_attn.q_proj", "attn_q"},          {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},          {"self_attn.o_proj", "attn_output"},
      {"mlp.gate_proj", "ffn_gate"},           {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"}};
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string pre = "model.layers.";
  if (hf.compare(0, pre.size(), pre) != 0) return "";
  const size_t dot = hf.find('.', pre.size());
  const size_t last = hf.rfind('.');
  if (dot == std::string::npos || last <= dot) return "";
  const std::string layer = hf.substr(pre.size(), dot - pre.size());
  const std::string module = hf.substr(dot + 1, last - dot - 1), suffix = hf.substr(last);
  auto it = kLayer.find(module);
  return it == kLayer.end() ? "" : "blk." + layer + "." + it->second + suffix;
}

}  // namespace

std::vector<std::string> export_gguf(const std::string& out_path, Model& model, const std::string& dir, const GgufExportOptions& opt,
                                     ThreadPool* pool) {
  const ModelConfig& c = model.config();
  std::string arch;
  bool permute = false;
  if (c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM") {
    arch = "llama";
    permute = true;
  } else if (c.architecture == "Qwen2ForCausalLM") {
    arch = "qwen2";
    if (c.num_heads * c.head_dim != c.hidden_size)
      throw TunerError("unsupported_model", dir + "/config.json: head_dim x num_attention_heads differs from hidden_size",
                       "llama.cpp's qwen2 architecture needs num_attention_heads x head_dim == hidden_size.");
  } else {
    throw TunerError("unsupported_model", dir + "/config.json: architecture " + c.architecture + " has no GGUF mapping",
                     "GGUF export supports LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM.");
  }
  std::string name = opt.name;
  if (name.empty()) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    name = d.substr(d.rfind('/') == std::string::npos ? 0 : d.rfind('/') + 1);
  }

  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_string("general.name", name);
  w.set_u32("general.alignment", kGgufAlignment);
  w.set_u32("general.file_type", file_type(opt.type));
  w.set_u32("general.quantization_version", 2);
  const std::string a = arch + ".";
  w.set_u32(a + "vocab_size", (uint32_t)c.vocab_size);
  w.set_u32(a + "context_length", (uint32_t)c.max_position_embeddings);
  w.set_u32(a + "embedding_length", (uint32_t)c.hidden_size);
  w.set_u32(a + "block_count", (uint32_t)c.num_layers);
  w.set_u32(a + "feed_forward_length", (uint32_t)c.intermediate_size);
  w.set_u32(a + "attention.head_count", (uint32_t)c.num_heads);
  w.set_u32(a + "attention.head_count_kv", (uint32_t)c.num_kv_heads);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.set_u32(a + "attention.key_length", (uint32_t)c.head_dim);
  w.set_u32(a + "attention.value_length", (uint32_t)c.head_dim);
  w.set_f32(a + "rope.freq_base", c.rope_theta);
  w.set_u32(a + "rope.dimension_count", (uint32_t)c.head_dim);
  std::vector<std::string> warnings;
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
  if (c.sliding_window > 0 && c.sliding_window < c.max_position_embeddings)
    warnings.push_back("sliding_window " + std::to_string(c.sliding_window) + " is not written: llama.cpp's " + arch +
                       " architecture attends to the whole context (identical for contexts up to the window)");
  for (auto& wn : add_gguf_tokenizer(w, dir, c.vocab_size)) warnings.push_back(wn);

  // Tensors, in the order llama.cpp's converter writes them (token_embd, per layer, output).
  std::vector<Param*> params = model.base_params();
  std::vector<float> rope_factors;
  if (rs.type == "llama3" && arch == "llama") {
    rope_factors = llama3_rope_factors(c);
    w.add_tensor("rope_freqs.weight", {(int64_t)rope_factors.size()}, GgmlType::F32,
                 [&rope_factors](uint8_t* dst) { std::memcpy(dst, rope_factors.data(), rope_factors.size() * 4); });
  }
  for (Param* p : params) {
    const std::string gname = gguf_name(p->name);
    TUNER_CHECK(!gname.empty(), "no GGUF name for tensor " + p->name);
    const bool matrix = p->shape.size() == 2;
    const int64_t rows = matrix ? p->shape[0] : 1, cols = matrix ? p->shape[1] : p->shape[0];
    const bool is_q = p->name.find("q_proj.") != std::string::npos, is_k = p->name.find("k_proj.") != std::string::npos;
    const int perm_heads = permute && is_q ? c.num_heads : permute && is_k ? c.num_kv_heads : 0;
    GgmlType t = GgmlType::F32;
    if (matrix) {
      t = gname == "token_embd.weight" && opt.embedding_type_set ? opt.embedding_type : opt.type;
      if ((t == GgmlType::Q8_0 || t == GgmlType::Q4_0) && cols % 32 != 0) t = GgmlType::F16;
    }
    std::vector<int64_t> ne = matrix ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
    w.add_tensor(gname, ne, t, [p, rows, cols, perm_heads, t, pool](uint8_t* dst) {
      const int64_t n = rows * cols;
      std::vector<float> tmp;
      const float* src = p->data;
      if (perm_heads > 0) {  // a bias is one "row" of n_head * HD values: permute its elements
        tmp.resize((size_t)n);
        if (rows == 1) permute_rows(tmp.data(), src, cols, 1, perm_heads);
        else permute_rows(tmp.data(), src, rows, cols, perm_heads);
        src = tmp.data();
      }
      switch (t) {
        case GgmlType::F32: std::memcpy(dst, src, (size_t)n * 4); break;
        case GgmlType::F16: convert_from_f32(dst, src, n, DType::F16); break;
        case GgmlType::BF16: convert_from_f32(dst, src, n, DType::BF16); break;
        case GgmlType::Q8_0:
        case GgmlType::Q4_0: {
          QuantMatrix q = quantize_matrix(src, (int)rows, (int)cols, t == GgmlType::Q8_0 ? QuantType::Q8_0 : QuantType::Q4_0, pool);
          TUNER_CHECK(q.data.size() == ggml_row_bytes(t, cols) * rows, "quantized size differs from the GGUF block layout");
          std::memcpy(dst, q.data.data(), q.data.size());
          break;
        }
      }
    });
  }
  w.write(out_path);
  return warnings;
}

}  // namespace tuner
