// config.json against the weight files, before the model allocates anything: the layer count
// must be the one the tensor names show, and the weights the sizes imply must fit in the bytes
// the files hold. A config.json edited by hand or copied from another model (num_hidden_layers
// 1e9, a vocab_size of another tokenizer) is then a bad_config naming the field, not a bad_alloc
// or an out-of-memory kill while zeroing terabytes.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "tuner/error.h"
#include "tuner/model.h"
#include "tuner/safetensors.h"

namespace tuner {

namespace {

// The layer a tensor belongs to: its first all-digit name component ("model.layers.3.mlp…",
// "transformer.h.3.attn…", "model.layers.3.mlp.up_proj.weight.absmax"), or -1.
int64_t layer_index(const std::string& name) {
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    if (end > start && end - start <= 9) {
      bool digits = true;
      for (size_t i = start; i < end; ++i) digits = digits && std::isdigit(static_cast<unsigned char>(name[i]));
      if (digits) return std::stoll(name.substr(start, end - start));
    }
    start = end + 1;
  }
  return -1;
}

std::string whole_number(double v) {
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

}  // namespace

void check_config_against_weights(const ModelConfig& c, const std::string& dir) {
  const WeightFiles files = WeightFiles::open(dir);
  const std::string path = dir + "/config.json";
  int64_t layers = 0;
  uint64_t bytes = 0;
  for (const std::string& name : files.names()) {
    layers = std::max(layers, layer_index(name) + 1);
    const SafetensorsFile* file = nullptr;
    const TensorInfo* t = files.find(name, &file);
    bytes += t->end - t->begin;
  }
  // GPT-2 (and Bloom's own name for it) call the field n_layer.
  const bool n_layer = c.architecture == "GPT2LMHeadModel" || c.architecture == "BloomForCausalLM";
  const std::string field = n_layer ? "n_layer" : "num_hidden_layers";
  if (c.num_layers != layers)
    throw TunerError("bad_config",
                     path + ": field \"" + field + "\" is " + std::to_string(c.num_layers) + " but " + files.describe() +
                         " holds " + std::to_string(layers) + " layers",
                     "Set " + field + " to " + std::to_string(layers) +
                         ", or use the config.json published with these weights.");
  // Weights the sizes imply (an upper bound over the supported layouts), in doubles: each field
  // may be up to 1e9 and their products overflow 64 bits. No stored format takes less than
  // half a byte per weight, so a config implying over 4 weights per byte held is wrong.
  const double C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, L = c.num_layers;
  const double QD = (double)c.num_heads * c.head_dim, KD = (double)c.num_kv_heads * c.head_dim;
  const double implied = V * C * (c.tie_word_embeddings ? 1 : 2) + L * (2 * C * QD + 2 * C * KD + 3 * C * F + 4 * C) + C;
  if (implied > 4.0 * (double)bytes + (1 << 20))
    throw TunerError("bad_config",
                     path + ": its sizes (vocab_size=" + std::to_string(c.vocab_size) + ", hidden_size=" +
                         std::to_string(c.hidden_size) + ", intermediate_size=" + std::to_string(c.intermediate_size) +
                         ", num_attention_heads=" + std::to_string(c.num_heads) + ", num_key_value_heads=" +
                         std::to_string(c.num_kv_heads) + ", head_dim=" + std::to_string(c.head_dim) + ") imply " +
                         whole_number(implied) + " weights, more than " + files.describe() + " can hold (" +
                         std::to_string(bytes) + " bytes of tensors)",
                     "Use the config.json published with these weights.");
}

}  // namespace tuner
