// Model folder -> LlamaModel: config.json, then every weight the config implies, each checked
// for presence, shape and dtype against the file it comes from. Also save_pretrained.
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "models/llama_model.h"
#include "tuner/error.h"
#include "tuner/safetensors.h"

namespace tuner {

void in_out_to_out_in(float* dst, const float* src, int64_t out, int64_t in) {
  for (int64_t i = 0; i < in; i++)
    for (int64_t o = 0; o < out; o++) dst[o * in + i] = src[i * out + o];
}

int64_t Param::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void make_dirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); i++) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        throw TunerError("io_error", cur + ": cannot create folder (" + std::strerror(errno) + ")",
                         "Check that the output path is writable.");
    }
    if (i < dir.size()) cur += dir[i];
  }
}

void check_config_against_weights(const ModelConfig& cfg, const std::string& dir);  // models/config_check.cpp

std::unique_ptr<Model> Model::load(const std::string& dir) { return LlamaModel::open(dir, nullptr); }

std::unique_ptr<LlamaModel> LlamaModel::open(const std::string& dir, const WeightReader* reader) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw TunerError("missing_model", dir + ": model folder not found",
                     "Set the model path to a Hugging Face model folder (config.json + *.safetensors).");
  ModelConfig cfg = load_model_config(dir);
  check_config_against_weights(cfg, dir);
  Json cj = Json::parse_file(dir + "/config.json");
  auto m = std::make_unique<LlamaModel>(cfg, cj, dir, reader == nullptr);
  m->load_weights(reader);
  return m;
}

Param* LlamaModel::add_param(const std::string& name, std::vector<int64_t> shape) {
  base_.push_back(std::make_unique<Param>());
  Param* p = base_.back().get();
  p->name = name;
  p->shape = std::move(shape);
  return p;
}

void LlamaModel::init_linear(Linear& l, const std::string& name, const std::string& module, int out, int in, bool bias) {
  l.name = name;
  l.module = module;
  l.in = in;
  l.out = out;
  l.w = add_param(name + ".weight", {out, in});
  if (bias) l.b = add_param(name + ".bias", {out});
}

LlamaModel::LlamaModel(ModelConfig cfg, Json config_json, std::string dir, bool allocate)
    : cfg_(std::move(cfg)), config_json_(std::move(config_json)), dir_(std::move(dir)) {
  const char* prof = std::getenv("TUNER_PROFILE");
  prof_.on = prof && std::string(prof) == "1";
  build_params();
  if (!allocate) return;
  int64_t total = 0;
  for (auto& p : base_) total += p->numel();
  weights_.assign((size_t)total, 0.0f);
  int64_t off = 0;
  for (auto& p : base_) {
    p->data = weights_.data() + off;
    off += p->numel();
  }
}

void LlamaModel::load_weights(const WeightReader* reader) {
  WeightFiles files = WeightFiles::open(dir_);
  std::string implied = "config.json (hidden_size=" + std::to_string(cfg_.hidden_size) +
                        ", intermediate_size=" + std::to_string(cfg_.intermediate_size) +
                        ", num_attention_heads=" + std::to_string(cfg_.num_heads) +
                        ", num_key_value_heads=" + std::to_string(cfg_.num_kv_heads) +
                        ", head_dim=" + std::to_string(cfg_.head_dim) + ", vocab_size=" + std::to_string(cfg_.vocab_size) + ")";
  for (auto& p : base_) {
    const SafetensorsFile* file = nullptr;
    const TensorInfo* t = files.find(p->name, &file);
    // GPT-2 and Bloom checkpoints are often saved from the bare model: "h.0.attn..." for
    // "transformer.h.0.attn...".
    if (!t && cfg_.weight_prefix == "transformer." && p->name.rfind("transformer.", 0) == 0)
      t = files.find(p->name.substr(12), &file);
    if (!t) {
      std::string hint = "The weights do not match config.json; download the complete model.";
      if (p->name == "lm_head.weight") hint = "If this model shares input and output embeddings, config.json should say \"tie_word_embeddings\": true.";
      throw TunerError("missing_tensor", files.describe() + ": tensor \"" + p->name + "\" is missing (expected shape " +
                                             shape_str(p->shape) + " from config.json)", hint);
    }
    // A matrix stored quantized (tuner/quant_io.h: its type in the file's metadata) has the
    // shape of its blocks; only a reader that decodes it (inference) checks it against p->shape.
    auto quant = file->metadata().find("tuner.quant." + p->name);
    if (quant != file->metadata().end() && !reader)
      throw TunerError("quantized_weights",
                       file->path() + ": tensor \"" + p->name + "\" is stored quantized (" + quant->second +
                           "); training needs f32, f16 or bf16 weights",
                       "Train from the original model folder; a quantized folder is for generating text.");
    if (t->shape != p->shape && quant == file->metadata().end())
      throw TunerError("shape_mismatch",
                       file->path() + ": tensor \"" + p->name + "\" has shape " + shape_str(t->shape) + " but " + implied +
                           " implies " + shape_str(p->shape),
                       "config.json does not belong to these weights; use the config.json published with them.");
    if (reader) (*reader)(*p, *file, *t);
    else file->read_f32(*t, p->data);
  }
}

std::vector<Param*> LlamaModel::base_params() {
  std::vector<Param*> out;
  for (auto& p : base_) out.push_back(p.get());
  return out;
}

int64_t LlamaModel::num_params() const {
  int64_t n = 0;  // weights_ is empty when a reader placed the weights (a quantized base)
  for (const auto& p : base_) n += p->numel();
  return n;
}

int64_t LlamaModel::num_trainable_params() const {
  return lora_enabled_ ? (int64_t)lora_weights_.size() : num_params();
}

void LlamaModel::ensure_grads() {
  if (lora_enabled_) {
    if (lora_grads_.size() != lora_weights_.size()) {
      lora_grads_.assign(lora_weights_.size(), 0.0f);
      int64_t off = 0;
      for (auto& p : lora_params_) { p->grad = lora_grads_.data() + off; off += p->numel(); }
    }
    return;
  }
  if (grad_hook_) return ensure_released_grads();
  if (base_grads_.size() != weights_.size()) {
    base_grads_.assign(weights_.size(), 0.0f);
    int64_t off = 0;
    for (auto& p : base_) { p->grad = base_grads_.data() + off; off += p->numel(); }
  }
}

std::vector<Param*> LlamaModel::trainable_params() {
  ensure_grads();
  std::vector<Param*> out;
  if (lora_enabled_)
    for (auto& p : lora_params_) out.push_back(p.get());
  else
    for (auto& p : base_) out.push_back(p.get());
  return out;
}

void LlamaModel::zero_grad() {
  ensure_grads();
  std::vector<float>& g = lora_enabled_ ? lora_grads_ : grad_hook_ ? outer_grads_ : base_grads_;
  std::fill(g.begin(), g.end(), 0.0f);
}

void LlamaModel::save_pretrained(const std::string& dir) const {
  make_dirs(dir);
  Json cj = config_json_;
  cj.set("torch_dtype", Json("float32"));
  write_file_atomic(dir + "/config.json", cj.dump(2) + "\n");
  SafetensorsWriter w;
  for (const auto& p : base_) {
    TUNER_CHECK(p->data, "save_pretrained: " + p->name + " has no f32 values (a frozen weight packed for bf16, or quantized)");
    w.add(p->name, p->shape, p->data);
  }
  w.write(dir + "/model.safetensors");
}

}  // namespace tuner
