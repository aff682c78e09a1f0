// LoRA adapters as PEFT defines them: for each target Linear, A [r, in] ~ kaiming_uniform(a=√5)
// (i.e. U(-1/√in, 1/√in)), B [out, r] = 0, output += (alpha / r) · dropout(x) Aᵀ Bᵀ. Saved and
// loaded in PEFT's layout (adapter_config.json + adapter_model.safetensors, tensors named
// base_model.model.<module>.lora_A.weight / lora_B.weight) so PEFT and llama.cpp read them.
#include <algorithm>
#include <cmath>

#include "models/llama_model.h"
#include "tuner/error.h"
#include "tuner/ops.h"
#include "tuner/safetensors.h"

namespace tuner {

void make_dirs(const std::string& dir);  // llama_load.cpp

int adapter_config_rank(const Json& c, const std::string& cpath) {
  const Json* r = c.find("r");
  auto fail = [&](const std::string& what) {
    throw TunerError("bad_adapter", cpath + ": " + what,
                     "Use the adapter_config.json saved with the adapter (PEFT writes r, lora_alpha and target_modules).");
  };
  if (!r || !r->is_number()) fail("field \"r\" is missing");
  // Checked before the cast to int, which is undefined for a double beyond int's range.
  if (r->as_number() < 1 || r->as_number() > 65536 || r->as_number() != (double)(int)r->as_number())
    fail("field \"r\" must be a whole number from 1 to 65536 (found " + message_number(r->as_number()) + ")");
  return (int)r->as_number();
}

namespace {
const char* kPrefix = "base_model.model.";

// The module names LoRA can target in this model (PEFT's short names), in layer order.
std::vector<std::string> lora_modules(const std::vector<Layer>& layers) {
  std::vector<std::string> out;
  if (!layers.empty())
    for (const Linear* l : layers[0].linears)
      if (std::find(out.begin(), out.end(), l->module) == out.end()) out.push_back(l->module);
  return out;
}

std::string module_list(const std::vector<Layer>& layers) {
  std::string s;
  for (const std::string& m : lora_modules(layers)) s += (s.empty() ? "" : ", ") + m;
  return s;
}
}  // namespace

void LlamaModel::enable_lora(const LoraConfig& cfg, uint64_t seed) {
  if (lora_enabled_) throw TunerError("internal", "enable_lora called twice", "This is a bug in Tuner; please report it.");
  if (cfg.rank <= 0) throw TunerError("bad_lora", "lora rank must be >= 1 (got " + std::to_string(cfg.rank) + ")", "Set lora.r to e.g. 8 or 16.");
  if (!(cfg.alpha > 0)) throw TunerError("bad_lora", "lora alpha must be > 0", "Set lora.alpha to e.g. 2 x rank.");
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw TunerError("bad_lora", "lora dropout must be in [0, 1)", "Use e.g. 0.05.");
  if (cfg.target_modules.empty())
    throw TunerError("bad_lora", "lora target_modules is empty", "Name at least one of: " + module_list(layers_) + ".");
  const std::vector<std::string> modules = lora_modules(layers_);
  for (const auto& t : cfg.target_modules)
    if (std::find(modules.begin(), modules.end(), t) == modules.end())
      throw TunerError("bad_lora", "lora target module \"" + t + "\" does not exist in " + cfg_.architecture,
                       "Use Hugging Face module names: " + module_list(layers_) + ".");
  lora_cfg_ = cfg;
  lora_enabled_ = true;
  base_grads_.clear();
  base_grads_.shrink_to_fit();
  for (auto& p : base_) p->grad = nullptr;

  std::vector<Linear*> targets;
  for (auto& L : layers_)
    for (Linear* lin : L.linears)
      if (std::find(cfg.target_modules.begin(), cfg.target_modules.end(), lin->module) != cfg.target_modules.end())
        targets.push_back(lin);
  const int r = cfg.rank;
  int64_t total = 0;
  for (Linear* lin : targets) total += (int64_t)r * lin->in + (int64_t)lin->out * r;
  lora_weights_.assign((size_t)total, 0.0f);
  int64_t off = 0;
  auto make = [&](const std::string& name, std::vector<int64_t> shape) {
    lora_params_.push_back(std::make_unique<Param>());
    Param* p = lora_params_.back().get();
    p->name = name;
    p->shape = std::move(shape);
    p->data = lora_weights_.data() + off;
    off += p->numel();
    return p;
  };
  for (Linear* lin : targets) {
    lin->lora_a = make(kPrefix + lin->name + ".lora_A.weight", {r, lin->in});
    lin->lora_b = make(kPrefix + lin->name + ".lora_B.weight", {lin->out, r});
    lin->scaling = cfg.alpha / (float)r;
    lin->dropout = cfg.dropout;
    const float bound = 1.0f / std::sqrt((float)lin->in);
    for (int64_t i = 0; i < lin->lora_a->numel(); i++) {
      float u = (float)hash_u32(seed, lin->stream, (uint64_t)i) * 2.3283064365386963e-10f;
      lin->lora_a->data[i] = (2.0f * u - 1.0f) * bound;
    }
  }
  lora_linears_ = (int)targets.size();
  ws_ = Workspace();  // the layout gains LoRA activations
  have_forward_ = false;
  bf16_stale_ = bf16_;  // the base is frozen from here: packed once (bf16_weights.cpp)
}

void LlamaModel::save_adapter(const std::string& dir) const {
  if (!lora_enabled_) throw TunerError("internal", "save_adapter without LoRA", "This is a bug in Tuner; please report it.");
  make_dirs(dir);
  Json targets = Json::array();
  for (const auto& t : lora_cfg_.target_modules) targets.push(Json(t));
  Json c = Json::object();
  c.set("peft_type", Json("LORA"));
  c.set("task_type", Json("CAUSAL_LM"));
  c.set("base_model_name_or_path", Json(dir_));
  c.set("r", Json(lora_cfg_.rank));
  c.set("lora_alpha", Json((double)lora_cfg_.alpha));
  c.set("lora_dropout", Json((double)lora_cfg_.dropout));
  c.set("target_modules", targets);
  c.set("bias", Json("none"));
  c.set("fan_in_fan_out", Json(cfg_.conv1d));  // PEFT sets it for GPT-2's Conv1D layers
  c.set("use_rslora", Json(false));
  c.set("inference_mode", Json(true));
  c.set("init_lora_weights", Json(true));
  c.set("modules_to_save", Json(nullptr));
  SafetensorsWriter w;
  for (const auto& p : lora_params_) w.add(p->name, p->shape, p->data);
  w.write(dir + "/adapter_model.safetensors");
  write_file_atomic(dir + "/adapter_config.json", c.dump(2) + "\n");
}

void LlamaModel::load_adapter(const std::string& dir) {
  std::string cpath = dir + "/adapter_config.json";
  Json c = Json::parse_file(cpath);
  auto fail = [&](const std::string& what, const std::string& hint) {
    throw TunerError("bad_adapter", cpath + ": " + what, hint);
  };
  if (!c.is_object()) fail("must be a JSON object", "Point at a PEFT adapter folder.");
  if (const Json* pt = c.find("peft_type"); pt && (!pt->is_string() || pt->as_string() != "LORA"))
    fail("peft_type must be \"LORA\"", "Only LoRA adapters are supported.");
  if (const Json* rs = c.find("use_rslora"); rs && rs->is_bool() && rs->as_bool())
    fail("use_rslora is not supported", "Train the adapter without rsLoRA.");
  const int rank = adapter_config_rank(c, cpath);
  const Json* alpha = c.find("lora_alpha");
  const Json* tm = c.find("target_modules");
  if (!alpha || !alpha->is_number()) fail("field \"lora_alpha\" is missing", "");
  if (!tm || !tm->is_array()) fail("field \"target_modules\" must be a list of module names", "Use e.g. [\"q_proj\", \"v_proj\"].");
  LoraConfig lc;
  lc.rank = rank;
  lc.alpha = (float)alpha->as_number();
  if (const Json* d = c.find("lora_dropout"); d && d->is_number()) lc.dropout = (float)d->as_number();
  for (const auto& t : tm->as_array()) {
    if (!t.is_string()) fail("target_modules entries must be strings", "");
    lc.target_modules.push_back(t.as_string());
  }
  if (!lora_enabled_) {
    enable_lora(lc, 0);
  } else {
    auto a = lc.target_modules, b = lora_cfg_.target_modules;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (lc.rank != lora_cfg_.rank || a != b || lc.alpha != lora_cfg_.alpha)
      fail("rank / alpha / target_modules differ from the run's LoRA settings",
           "Resume with the same lora settings the adapter was trained with.");
  }
  std::string wpath = dir + "/adapter_model.safetensors";
  auto file = SafetensorsFile::open(wpath);
  for (auto& p : lora_params_) {
    const TensorInfo* t = file->find(p->name);
    if (!t) throw TunerError("missing_tensor", wpath + ": tensor \"" + p->name + "\" is missing", "The adapter does not match its adapter_config.json.");
    if (t->shape != p->shape)
      throw TunerError("shape_mismatch", wpath + ": tensor \"" + p->name + "\" has shape " + shape_str(t->shape) + ", expected " + shape_str(p->shape),
                       "The adapter was trained for a different model.");
    file->read_f32(*t, p->data);
  }
}

}  // namespace tuner
