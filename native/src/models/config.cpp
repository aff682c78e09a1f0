// config.json -> ModelConfig (the Llama family, Qwen3, Gemma 3, GPT-2, Bloom: each one's own
// config keys and defaults as transformers' *Config classes define them), and RoPE frequencies
// per rope_scaling type, following transformers' modeling_rope_utils so a model trains with the
// positions it was pretrained with.
#include <cmath>

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/model.h"

namespace tuner {

namespace {

const char* kSupported =
    "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, GPT2LMHeadModel, "
    "BloomForCausalLM";

struct Fields {
  const Json& j;
  const std::string& path;

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw TunerError("bad_config", path + ": field \"" + field + "\" " + what,
                     "Fix config.json (it should be the one published with the model).");
  }
  const Json* get(const std::string& k) const {
    const Json* v = j.find(k);
    return (v && !v->is_null()) ? v : nullptr;
  }
  int integer(const std::string& k, bool required, int def = 0, int min = 1) const {
    const Json* v = get(k);
    if (!v) {
      if (required) fail(k, "is missing");
      return def;
    }
    if (!v->is_number() || v->as_number() != std::floor(v->as_number()) || v->as_number() < min || v->as_number() > 1e9)
      fail(k, "must be an integer from " + std::to_string(min) + " to 1000000000" +
                  (v->is_number() ? " (found " + message_number(v->as_number()) + ")" : ""));
    return (int)v->as_number();
  }
  double number(const std::string& k, double def, double min_exclusive = 0) const {
    const Json* v = get(k);
    if (!v) return def;
    if (!v->is_number() || !(v->as_number() > min_exclusive))
      fail(k, "must be a number " + (min_exclusive < 0 && min_exclusive > -1e-20 ? std::string(">= 0") : "> " + message_number(min_exclusive)) +
                  (v->is_number() ? " (found " + message_number(v->as_number()) + ")" : ""));
    return v->as_number();
  }
  bool boolean(const std::string& k, bool def) const {
    const Json* v = get(k);
    if (!v) return def;
    if (!v->is_bool()) fail(k, "must be true or false");
    return v->as_bool();
  }
};

// Which layers attend within a sliding window, and how wide, following transformers'
// MistralConfig / Qwen2Config: a sliding_window key that is absent means their default 4096, an
// explicit null means none. Mistral windows every layer. Qwen2 windows only with
// use_sliding_window, and then the layers layer_types marks "sliding_attention", or without
// layer_types those from max_window_layers (default 28) on.
// Gemma 3 windows the layers layer_types marks "sliding_attention", by default all but every
// sliding_window_pattern-th (1-based), with sliding_window 4096 when absent.
void parse_sliding_window(ModelConfig& c, const Fields& f, const Json& j) {
  const bool mistral = c.architecture == "MistralForCausalLM", gemma3 = c.architecture == "Gemma3ForCausalLM";
  const bool qwen2 = c.architecture == "Qwen2ForCausalLM" || c.architecture == "Qwen3ForCausalLM";
  c.sliding_layers.assign(c.num_layers, 0);
  if (!mistral && !qwen2 && !gemma3) return;  // LlamaConfig has no sliding window
  if (gemma3 && !f.get("layer_types")) {
    c.sliding_window = f.integer("sliding_window", false, 4096, 1);
    const int pattern = f.integer("sliding_window_pattern", false, 6, 1);
    for (int l = 0; l < c.num_layers; l++) c.sliding_layers[l] = (l + 1) % pattern != 0;
    return;
  }
  const bool used = mistral || gemma3 || f.boolean("use_sliding_window", false);
  const Json* sw = j.find("sliding_window");
  if (used && !(sw && sw->is_null())) c.sliding_window = f.integer("sliding_window", false, 4096, 1);
  if (mistral) {
    if (c.sliding_window) c.sliding_layers.assign(c.num_layers, 1);
    return;
  }
  if (const Json* types = f.get("layer_types")) {
    if (!types->is_array() || (int)types->size() != c.num_layers)
      f.fail("layer_types", "must be an array with one entry per layer (num_hidden_layers = " + std::to_string(c.num_layers) + ")");
    for (int l = 0; l < c.num_layers; l++) {
      const Json& t = types->as_array()[l];
      const std::string name = t.is_string() ? t.as_string() : "";
      if (name != "full_attention" && name != "sliding_attention")
        f.fail("layer_types", "entry " + std::to_string(l) + " must be \"full_attention\" or \"sliding_attention\"");
      if (name == "sliding_attention" && !c.sliding_window)
        f.fail("layer_types", "entry " + std::to_string(l) +
                                  " is \"sliding_attention\" but the model has no sliding window (use_sliding_window is "
                                  "false or sliding_window is null)");
      c.sliding_layers[l] = name == "sliding_attention";
    }
    return;
  }
  const int first = f.integer("max_window_layers", false, 28, 0);
  if (c.sliding_window)
    for (int l = first; l < c.num_layers; l++) c.sliding_layers[l] = 1;
}

// GPT-2 (GPT2Config: n_embd, n_layer, n_head, n_positions, n_inner, layer_norm_epsilon,
// activation_function) and Bloom (BloomConfig: hidden_size or n_embed, n_layer, n_head,
// layer_norm_epsilon; ALiBi, so no position limit). Both: LayerNorm with bias, biases on every
// linear, a 4 x hidden GELU MLP (tanh approximation), fused q/k/v, tied head by default.
void parse_gpt2_bloom(ModelConfig& c, const Fields& f) {
  const bool gpt2 = c.architecture == "GPT2LMHeadModel";
  c.vocab_size = f.integer("vocab_size", true);
  if (gpt2) {
    c.hidden_size = f.integer("n_embd", false, 768);
    c.num_layers = f.integer("n_layer", false, 12);
    c.num_heads = f.integer("n_head", false, 12);
    c.max_position_embeddings = f.integer("n_positions", false, 1024);
    c.intermediate_size = f.integer("n_inner", false, 4 * c.hidden_size);
    if (const Json* act = f.get("activation_function");
        act && (!act->is_string() || (act->as_string() != "gelu_new" && act->as_string() != "gelu_pytorch_tanh")))
      f.fail("activation_function", "must be \"gelu_new\" (GELU, tanh approximation); other activations are not supported");
    for (const char* k : {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"})
      if (f.boolean(k, false)) f.fail(k, "is not supported (set it to false)");
    if (!f.boolean("scale_attn_weights", true)) f.fail("scale_attn_weights", "is not supported as false");
    c.positions = PositionKind::Learned;
    c.qkv = QkvLayout::FusedConcat;
    c.conv1d = true;
  } else {
    c.hidden_size = f.get("hidden_size") ? f.integer("hidden_size", true) : f.integer("n_embed", false, 64);
    c.num_layers = f.get("n_layer") ? f.integer("n_layer", true) : f.integer("num_hidden_layers", false, 2);
    c.num_heads = f.get("n_head") ? f.integer("n_head", true) : f.integer("num_attention_heads", false, 8);
    c.intermediate_size = 4 * c.hidden_size;
    c.max_position_embeddings = f.integer("seq_length", false, 2048);
    if (f.boolean("apply_residual_connection_post_layernorm", false))
      f.fail("apply_residual_connection_post_layernorm", "is not supported (set it to false)");
    if (f.boolean("slow_but_exact", false)) f.fail("slow_but_exact", "is not supported (set it to false)");
    c.positions = PositionKind::Alibi;
    c.qkv = QkvLayout::FusedPerHead;
    c.embed_norm = true;
  }
  if (c.hidden_size % c.num_heads) f.fail(gpt2 ? "n_head" : "n_head", "must divide the hidden size");
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  c.rms_norm_eps = (float)f.number("layer_norm_epsilon", 1e-5);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  if (!c.tie_word_embeddings) f.fail("tie_word_embeddings", "must be true (the head is the word embedding in this architecture)");
  c.attention_bias = c.o_proj_bias = c.mlp_bias = true;
  c.norm = NormKind::Layer;
  c.mlp = MlpKind::Gelu;
  c.weight_prefix = "transformer.";
  c.sliding_layers.assign(c.num_layers, 0);
}

}  // namespace

ModelConfig load_model_config(const std::string& dir) {
  std::string path = dir + "/config.json";
  Json j;
  try {
    j = Json::parse_file(path);
  } catch (const TunerError& e) {
    if (e.code() == "file_not_found")
      throw TunerError("missing_config", path + ": not found; a Hugging Face model folder needs config.json",
                       "Point the model path at the folder that holds config.json and *.safetensors.");
    throw;
  }
  if (!j.is_object()) throw TunerError("bad_config", path + ": must be a JSON object", "Fix config.json.");
  Fields f{j, path};
  ModelConfig c;
  const Json* archs = f.get("architectures");
  if (!archs || !archs->is_array() || archs->size() == 0 || !archs->as_array()[0].is_string())
    throw TunerError("unsupported_architecture", path + ": field \"architectures\" is missing; supported: " + kSupported,
                     "Use a model of a supported architecture.");
  c.architecture = archs->as_array()[0].as_string();
  const std::string& a = c.architecture;
  if (a == "Gemma3ForConditionalGeneration")
    throw TunerError("unsupported_architecture",
                     path + ": Gemma3ForConditionalGeneration (text and vision) is not supported; its text part is",
                     "Use a text-only Gemma 3 checkpoint (Gemma3ForCausalLM, e.g. gemma-3-1b).");
  if (a != "LlamaForCausalLM" && a != "MistralForCausalLM" && a != "Qwen2ForCausalLM" && a != "Qwen3ForCausalLM" &&
      a != "Gemma3ForCausalLM" && a != "GPT2LMHeadModel" && a != "BloomForCausalLM")
    throw TunerError("unsupported_architecture",
                     path + ": architecture \"" + c.architecture + "\" is not supported; supported: " + kSupported,
                     "Choose a model of a supported architecture (e.g. SmolLM, Qwen2.5, Qwen3, Gemma 3, GPT-2, Bloom).");
  if (const Json* mt = f.get("model_type"); mt && mt->is_string()) c.model_type = mt->as_string();
  if (const Json* dt = f.get("torch_dtype"); dt && dt->is_string()) c.torch_dtype = dt->as_string();
  if (a == "GPT2LMHeadModel" || a == "BloomForCausalLM") {
    parse_gpt2_bloom(c, f);
    return c;
  }
  c.vocab_size = f.integer("vocab_size", true);
  c.hidden_size = f.integer("hidden_size", true);
  c.intermediate_size = f.integer("intermediate_size", true);
  c.num_layers = f.integer("num_hidden_layers", true);
  c.num_heads = f.integer("num_attention_heads", true);
  c.num_kv_heads = f.integer("num_key_value_heads", false, c.num_heads);
  const bool gemma3 = a == "Gemma3ForCausalLM", qwen3 = a == "Qwen3ForCausalLM";
  c.head_dim = f.integer("head_dim", false, gemma3 ? 256 : 0);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_heads) f.fail("num_attention_heads", "must divide hidden_size when head_dim is absent");
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.head_dim % 2) f.fail("head_dim", "must be even for rotary embeddings");
  if (c.num_heads % c.num_kv_heads) f.fail("num_key_value_heads", "must divide num_attention_heads");
  c.max_position_embeddings = f.integer("max_position_embeddings", false, gemma3 ? 131072 : 2048);
  c.rms_norm_eps = (float)f.number("rms_norm_eps", 1e-6);
  c.rope_theta = (float)f.number("rope_theta", gemma3 ? 1000000.0 : 10000.0);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", gemma3);
  bool llama = a == "LlamaForCausalLM";
  bool qwen2 = a == "Qwen2ForCausalLM";
  bool attn_bias = (llama || qwen3 || gemma3) && f.boolean("attention_bias", false);
  c.attention_bias = qwen2 || attn_bias;
  c.o_proj_bias = attn_bias;
  c.mlp_bias = llama && f.boolean("mlp_bias", false);
  if (gemma3) {
    // transformers reads hidden_activation (hidden_act is an older alias).
    const Json* act = f.get("hidden_activation");
    if (!act) act = f.get("hidden_act");
    if (act && (!act->is_string() || (act->as_string() != "gelu_pytorch_tanh" && act->as_string() != "gelu_new")))
      f.fail("hidden_activation", "must be \"gelu_pytorch_tanh\" (GeGLU); other activations are not supported");
    c.norm = NormKind::RMSOnePlus;
    c.mlp = MlpKind::GeGLU;
    c.qk_norm = true;
    c.sandwich_norms = true;
    c.embed_scale = std::sqrt((float)c.hidden_size);
    c.attn_scale = 1.0f / std::sqrt((float)f.number("query_pre_attn_scalar", 256.0));
    c.attn_softcap = (float)f.number("attn_logit_softcapping", 0.0, -1e-30);
    c.final_softcap = (float)f.number("final_logit_softcapping", 0.0, -1e-30);
    c.rope_local_theta = (float)f.number("rope_local_base_freq", 10000.0);
  } else if (const Json* act = f.get("hidden_act"); act && (!act->is_string() || act->as_string() != "silu")) {
    f.fail("hidden_act", "must be \"silu\" (SwiGLU); other activations are not supported");
  }
  c.qk_norm = c.qk_norm || qwen3;
  parse_sliding_window(c, f, j);

  if (const Json* rs = f.get("rope_scaling")) c.rope_scaling = parse_rope_scaling(*rs, path, "rope_scaling", 0);
  return c;
}

RopeScaling parse_rope_scaling(const Json& rs, const std::string& path, const std::string& field, int default_original) {
  Fields f{rs, path};
  if (!rs.is_object()) f.fail(field, "must be an object or null");
  auto fail = [&](const std::string& key, const std::string& what) { f.fail(field + "." + key, what); };
  const Json* type = f.get("rope_type");
  if (!type) type = f.get("type");
  if (!type || !type->is_string()) f.fail(field, "needs \"rope_type\" (or \"type\")");
  RopeScaling s;
  s.type = type->as_string();
  if (s.type == "default") {
    s.type = "none";
  } else if (s.type == "xpos") {
    s.scale_base = (float)f.number("scale_base", 512.0);
  } else if (s.type == "linear" || s.type == "dynamic" || s.type == "llama3" || s.type == "yarn") {
    if (!f.get("factor")) fail("factor", "is missing");
    s.factor = (float)f.number("factor", 1.0);
    s.original_max_position_embeddings = f.integer("original_max_position_embeddings", false, 0);
    if (s.type == "llama3") {
      s.low_freq_factor = (float)f.number("low_freq_factor", 1.0);
      s.high_freq_factor = (float)f.number("high_freq_factor", 4.0);
      if (!s.original_max_position_embeddings) s.original_max_position_embeddings = default_original;
      if (!s.original_max_position_embeddings) fail("original_max_position_embeddings", "is required for llama3");
      if (s.high_freq_factor == s.low_freq_factor) fail("high_freq_factor", "must differ from low_freq_factor");
    }
    if (s.type == "yarn") {
      s.beta_fast = (float)f.number("beta_fast", 32.0);
      s.beta_slow = (float)f.number("beta_slow", 1.0);
      s.attention_factor = (float)f.number("attention_factor", 0.0, -1e-30);
      s.mscale = (float)f.number("mscale", 0.0, -1e-30);
      s.mscale_all_dim = (float)f.number("mscale_all_dim", 0.0, -1e-30);
      s.truncate = f.boolean("truncate", true);
    }
  } else {
    fail("rope_type", "\"" + s.type + "\" is not supported (supported: linear, dynamic, llama3, yarn, xpos)");
  }
  return s;
}

std::vector<double> rope_local_inv_freq(const ModelConfig& cfg) {
  ModelConfig local = cfg;
  local.rope_theta = cfg.rope_local_theta;
  local.rope_scaling = RopeScaling();
  float af = 1.0f;
  return rope_inv_freq(local, 1, &af);
}

std::vector<float> alibi_slopes(int n) {
  // The largest power of two <= n gets slopes 2^(-8 i / p), i = 1..p; the remaining heads take
  // every other slope of the next power of two.
  int p = 1;
  while (p * 2 <= n) p *= 2;
  std::vector<float> out;
  const double base = std::pow(2.0, -std::pow(2.0, -(std::log2((double)p) - 3)));
  for (int i = 1; i <= p; i++) out.push_back((float)std::pow(base, i));
  if (p != n) {
    const double extra = std::pow(2.0, -std::pow(2.0, -(std::log2(2.0 * p) - 3)));
    const int rest = std::min(p, n - p);
    for (int i = 0; i < rest; i++) out.push_back((float)std::pow(extra, 1 + 2 * i));
  }
  return out;
}

std::vector<double> rope_inv_freq(const ModelConfig& cfg, int T, float* attention_factor) {
  const int dim = cfg.head_dim, half = dim / 2;
  double base = cfg.rope_theta;
  const RopeScaling& s = cfg.rope_scaling;
  const double max_pos = cfg.max_position_embeddings;
  std::vector<double> inv(half);
  *attention_factor = 1.0f;
  auto fill_default = [&](double b) {
    for (int i = 0; i < half; i++) inv[i] = 1.0 / std::pow(b, (2.0 * i) / dim);
  };
  if (s.type == "none" || s.type == "xpos") {  // xPos scales the tables, not the frequencies
    fill_default(base);
  } else if (s.type == "linear") {
    fill_default(base);
    for (auto& x : inv) x /= s.factor;
  } else if (s.type == "dynamic") {
    // NTK-aware: the base grows once the sequence outgrows the pretrained context.
    double sl = T > max_pos ? T : max_pos;
    fill_default(base * std::pow(s.factor * sl / max_pos - (s.factor - 1), (double)dim / (dim - 2)));
  } else if (s.type == "llama3") {
    fill_default(base);
    double old = s.original_max_position_embeddings, lo = s.low_freq_factor, hi = s.high_freq_factor;
    double low_wl = old / lo, high_wl = old / hi;
    for (auto& x : inv) {
      double wl = 2 * M_PI / x;
      double scaled = wl > low_wl ? x / s.factor : x;
      if (!(wl < high_wl) && !(wl > low_wl)) {
        double smooth = (old / wl - lo) / (hi - lo);
        scaled = (1 - smooth) * scaled / s.factor + smooth * scaled;
      }
      x = scaled;
    }
  } else if (s.type == "yarn") {
    double factor = s.factor, orig = max_pos;
    if (s.original_max_position_embeddings) {
      orig = s.original_max_position_embeddings;
      factor = max_pos / orig;  // transformers derives the factor from the two context sizes
    }
    auto get_mscale = [](double sc, double m) { return sc <= 1 ? 1.0 : 0.1 * m * std::log(sc) + 1.0; };
    double af = s.attention_factor;
    if (af <= 0) af = (s.mscale > 0 && s.mscale_all_dim > 0) ? get_mscale(factor, s.mscale) / get_mscale(factor, s.mscale_all_dim)
                                                            : get_mscale(factor, 1.0);
    *attention_factor = (float)af;
    auto corr_dim = [&](double rot) { return (dim * std::log(orig / (rot * 2 * M_PI))) / (2 * std::log(base)); };
    double low = corr_dim(s.beta_fast), high = corr_dim(s.beta_slow);
    if (s.truncate) { low = std::floor(low); high = std::ceil(high); }
    low = std::max(low, 0.0);
    high = std::min(high, (double)dim - 1);
    if (low == high) high += 0.001;
    for (int i = 0; i < half; i++) {
      double ramp = std::min(1.0, std::max(0.0, (i - low) / (high - low)));
      double extra = 1 - ramp;
      double pos = std::pow(base, (2.0 * i) / dim);
      inv[i] = (1.0 / (factor * pos)) * (1 - extra) + (1.0 / pos) * extra;
    }
  }
  return inv;
}

}  // namespace tuner
