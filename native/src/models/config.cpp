// config.json -> ModelConfig for the Llama family, and RoPE frequencies per rope_scaling type,
// following transformers' modeling_rope_utils so a model trains with the positions it was
// pretrained with.
#include <cmath>

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/model.h"

namespace tuner {

namespace {

const char* kSupported = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM";

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
      fail(k, "must be an integer >= " + std::to_string(min));
    return (int)v->as_number();
  }
  double number(const std::string& k, double def, double min_exclusive = 0) const {
    const Json* v = get(k);
    if (!v) return def;
    if (!v->is_number() || !(v->as_number() > min_exclusive)) fail(k, "must be a number > " + std::to_string(min_exclusive));
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
void parse_sliding_window(ModelConfig& c, const Fields& f, const Json& j) {
  const bool mistral = c.architecture == "MistralForCausalLM", qwen2 = c.architecture == "Qwen2ForCausalLM";
  c.sliding_layers.assign(c.num_layers, 0);
  if (!mistral && !qwen2) return;  // LlamaConfig has no sliding window
  const bool used = mistral || f.boolean("use_sliding_window", false);
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
  if (c.architecture != "LlamaForCausalLM" && c.architecture != "MistralForCausalLM" && c.architecture != "Qwen2ForCausalLM")
    throw TunerError("unsupported_architecture",
                     path + ": architecture \"" + c.architecture + "\" is not supported; supported: " + kSupported,
                     "Choose a Llama, Mistral or Qwen2 model (e.g. SmolLM, TinyLlama, Qwen2.5).");
  if (const Json* mt = f.get("model_type"); mt && mt->is_string()) c.model_type = mt->as_string();
  c.vocab_size = f.integer("vocab_size", true);
  c.hidden_size = f.integer("hidden_size", true);
  c.intermediate_size = f.integer("intermediate_size", true);
  c.num_layers = f.integer("num_hidden_layers", true);
  c.num_heads = f.integer("num_attention_heads", true);
  c.num_kv_heads = f.integer("num_key_value_heads", false, c.num_heads);
  c.head_dim = f.integer("head_dim", false, 0);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_heads) f.fail("num_attention_heads", "must divide hidden_size when head_dim is absent");
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.head_dim % 2) f.fail("head_dim", "must be even for rotary embeddings");
  if (c.num_heads % c.num_kv_heads) f.fail("num_key_value_heads", "must divide num_attention_heads");
  c.max_position_embeddings = f.integer("max_position_embeddings", false, 2048);
  c.rms_norm_eps = (float)f.number("rms_norm_eps", 1e-6);
  c.rope_theta = (float)f.number("rope_theta", 10000.0);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  bool llama = c.architecture == "LlamaForCausalLM";
  bool qwen2 = c.architecture == "Qwen2ForCausalLM";
  bool attn_bias = llama && f.boolean("attention_bias", false);
  c.attention_bias = qwen2 || attn_bias;
  c.o_proj_bias = attn_bias;
  c.mlp_bias = llama && f.boolean("mlp_bias", false);
  if (const Json* act = f.get("hidden_act"); act && (!act->is_string() || act->as_string() != "silu"))
    f.fail("hidden_act", "must be \"silu\" (SwiGLU); other activations are not supported");
  if (const Json* dt = f.get("torch_dtype"); dt && dt->is_string()) c.torch_dtype = dt->as_string();
  parse_sliding_window(c, f, j);

  if (const Json* rs = f.get("rope_scaling")) {
    if (!rs->is_object()) f.fail("rope_scaling", "must be an object or null");
    Fields r{*rs, path};
    const Json* type = r.get("rope_type");
    if (!type) type = r.get("type");
    if (!type || !type->is_string()) f.fail("rope_scaling", "needs \"rope_type\" (or \"type\")");
    RopeScaling& s = c.rope_scaling;
    s.type = type->as_string();
    if (s.type == "default") {
      s.type = "none";
    } else if (s.type == "linear" || s.type == "dynamic" || s.type == "llama3" || s.type == "yarn") {
      if (!r.get("factor")) f.fail("rope_scaling.factor", "is missing");
      s.factor = (float)r.number("factor", 1.0);
      s.original_max_position_embeddings = r.integer("original_max_position_embeddings", false, 0);
      if (s.type == "llama3") {
        s.low_freq_factor = (float)r.number("low_freq_factor", 1.0);
        s.high_freq_factor = (float)r.number("high_freq_factor", 4.0);
        if (!s.original_max_position_embeddings) f.fail("rope_scaling.original_max_position_embeddings", "is required for llama3");
        if (s.high_freq_factor == s.low_freq_factor) f.fail("rope_scaling.high_freq_factor", "must differ from low_freq_factor");
      }
      if (s.type == "yarn") {
        s.beta_fast = (float)r.number("beta_fast", 32.0);
        s.beta_slow = (float)r.number("beta_slow", 1.0);
        s.attention_factor = (float)r.number("attention_factor", 0.0, -1e-30);
        s.mscale = (float)r.number("mscale", 0.0, -1e-30);
        s.mscale_all_dim = (float)r.number("mscale_all_dim", 0.0, -1e-30);
        s.truncate = r.boolean("truncate", true);
      }
    } else {
      f.fail("rope_scaling.rope_type", "\"" + s.type + "\" is not supported (supported: linear, dynamic, llama3, yarn)");
    }
  }
  return c;
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
  if (s.type == "none") {
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
