// LoRA merge (PEFT merge_and_unload) and the merged Hugging Face folder (tuner/export.h).
// The adapter is read from its files rather than through Model::load_adapter so that every
// PEFT LoRA merges: rsLoRA scaling, adapters saved with the ".default" adapter name, and any
// subset of the seven projections; each tensor is checked against the base weight it changes.
#include <cmath>
#include <map>

#include "tuner/error.h"
#include "tuner/export.h"
#include "tuner/gemm.h"
#include "tuner/json.h"
#include "tuner/model.h"
#include "tuner/safetensors.h"

namespace tuner {

void make_dirs(const std::string& dir);  // models/llama_load.cpp

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// A non-empty object / list / true value in adapter_config.json (the features merge refuses).
bool is_set(const Json* v) {
  if (!v || v->is_null()) return false;
  if (v->is_bool()) return v->as_bool();
  if (v->is_object() || v->is_array()) return v->size() > 0;
  if (v->is_string()) return !v->as_string().empty() && v->as_string() != "none";
  return true;
}

}  // namespace

MergeReport merge_lora(Model& model, const std::string& dir, ThreadPool* pool) {
  if (model.has_lora())
    throw TunerError("internal", "merge_lora on a model with LoRA enabled", "This is a bug in Tuner; please report it.");
  const std::string cpath = dir + "/adapter_config.json", wpath = dir + "/adapter_model.safetensors";
  if (!is_regular_file(cpath))
    throw TunerError("bad_adapter", cpath + ": not found", "Point --adapter at a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), e.g. a run's checkpoint.");
  Json c = Json::parse_file(cpath);
  auto fail = [&](const std::string& what, const std::string& hint) { throw TunerError("bad_adapter", cpath + ": " + what, hint); };
  if (!c.is_object()) fail("must be a JSON object", "Point --adapter at a PEFT adapter folder.");
  if (const Json* pt = c.find("peft_type"); pt && (!pt->is_string() || pt->as_string() != "LORA"))
    fail("peft_type must be \"LORA\"", "Only LoRA adapters can be merged.");
  const int rank = adapter_config_rank(c, cpath);
  const Json* alpha = c.find("lora_alpha");
  if (!alpha || !alpha->is_number()) fail("field \"lora_alpha\" is missing", "A PEFT adapter_config.json has r, lora_alpha and target_modules.");
  if (is_set(c.find("use_dora"))) fail("use_dora: DoRA adapters are not supported", "Merge DoRA adapters with PEFT's merge_and_unload.");
  if (is_set(c.find("rank_pattern")) || is_set(c.find("alpha_pattern")))
    fail("rank_pattern / alpha_pattern (per-module ranks) are not supported", "Train with one rank and alpha for every module.");
  // fan_in_fan_out marks LoRA on GPT-2's Conv1D layers, whose weights are stored [in, out].
  if (is_set(c.find("fan_in_fan_out")) && !model.config().conv1d)
    fail("fan_in_fan_out is for GPT-2 style Conv1D layers", "Llama-family adapters have fan_in_fan_out false.");
  if (is_set(c.find("bias"))) fail("bias \"" + c.find("bias")->as_string() + "\": trained biases are not supported", "Train with bias \"none\".");
  if (is_set(c.find("modules_to_save"))) fail("modules_to_save: fully trained modules are not supported", "Train with LoRA only (modules_to_save null).");

  MergeReport rep;
  rep.rank = rank;
  rep.rslora = is_set(c.find("use_rslora"));
  rep.scaling = (float)(alpha->as_number() / (rep.rslora ? std::sqrt((double)rep.rank) : (double)rep.rank));

  std::map<std::string, Param*> base;
  for (Param* p : model.base_params()) base[p->name] = p;
  auto file = SafetensorsFile::open(wpath);
  // module path ("model.layers.0.self_attn.q_proj") -> its A and B tensors.
  std::map<std::string, std::pair<const TensorInfo*, const TensorInfo*>> mods;
  for (const TensorInfo& t : file->tensors()) {
    std::string n = t.name;
    const std::string prefix = "base_model.model.";
    if (n.compare(0, prefix.size(), prefix) == 0) n = n.substr(prefix.size());
    bool is_a = false;
    std::string mod;
    for (const char* suf : {".lora_A.weight", ".lora_A.default.weight", ".lora_B.weight", ".lora_B.default.weight"}) {
      if (ends_with(n, suf)) {
        mod = n.substr(0, n.size() - std::string(suf).size());
        is_a = std::string(suf).find("lora_A") != std::string::npos;
        break;
      }
    }
    if (mod.empty())
      throw TunerError("bad_adapter", wpath + ": tensor \"" + t.name + "\" is not a LoRA A/B weight",
                       "Only LoRA weights of Linear layers can be merged (no embedding adapters, DoRA magnitudes or saved modules).");
    (is_a ? mods[mod].first : mods[mod].second) = &t;
  }
  if (mods.empty()) throw TunerError("bad_adapter", wpath + ": no LoRA tensors", "The adapter file is empty; point --adapter at a trained checkpoint.");

  std::vector<float> A, B;
  for (const auto& [mod, ab] : mods) {
    if (!ab.first || !ab.second)
      throw TunerError("bad_adapter", wpath + ": module " + mod + " has lora_" + (ab.first ? "A" : "B") + " but not lora_" + (ab.first ? "B" : "A"),
                       "The adapter file is incomplete; save it again.");
    auto it = base.find(mod + ".weight");
    if (it == base.end())
      throw TunerError("adapter_mismatch", wpath + ": module " + mod + " does not exist in the base model",
                       "The adapter was trained on another model; merge it into the base named in adapter_config.json (base_model_name_or_path).");
    Param* w = it->second;
    const int64_t out = w->shape[w->in_out ? 1 : 0], in = w->shape[w->in_out ? 0 : 1], rank = rep.rank;
    const std::vector<int64_t> want_a{rank, in}, want_b{out, rank};
    for (auto [t, want] : {std::make_pair(ab.first, want_a), std::make_pair(ab.second, want_b)})
      if (t->shape != want)
        throw TunerError("adapter_mismatch", wpath + ": tensor \"" + t->name + "\" has shape " + shape_str(t->shape) + ", expected " + shape_str(want) +
                                                 " (r = " + std::to_string(rank) + ", base " + shape_str(w->shape) + ")",
                         "The adapter does not match this base model or its adapter_config.json r.");
    A.resize((size_t)(rank * in));
    B.resize((size_t)(out * rank));
    file->read_f32(*ab.first, A.data());
    file->read_f32(*ab.second, B.data());
    // W[out, in] += s * B[out, r] @ A[r, in]; a Conv1D's W[in, out] += s * A^T B^T.
    if (w->in_out)
      sgemm(Trans::T, Trans::T, (int)in, (int)out, (int)rank, rep.scaling, A.data(), (int)in, B.data(), (int)rank, 1.0f, w->data, (int)out, pool);
    else
      sgemm(Trans::N, Trans::N, (int)out, (int)in, (int)rank, rep.scaling, B.data(), (int)rank, A.data(), (int)in, 1.0f, w->data, (int)in, pool);
    rep.modules++;
  }
  return rep;
}

DType base_storage_dtype(const Model& model) {
  const std::string& t = model.config().torch_dtype;
  if (t == "float16" || t == "f16" || t == "half") return DType::F16;
  if (t == "bfloat16" || t == "bf16") return DType::BF16;
  return DType::F32;
}

std::vector<std::string> write_model_folder(const std::string& out_dir, Model& model, const std::string& base_dir, DType dtype) {
  TUNER_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16, "merged folders are f32, f16 or bf16");
  make_dirs(out_dir);
  std::vector<std::string> written;
  Json cj = Json::parse_file(base_dir + "/config.json");
  cj.set("torch_dtype", Json(dtype == DType::F16 ? "float16" : dtype == DType::BF16 ? "bfloat16" : "float32"));
  SafetensorsWriter sw;
  for (Param* p : model.base_params()) sw.add(p->name, p->shape, p->data, dtype);
  sw.write(out_dir + "/model.safetensors");
  written.push_back("model.safetensors");
  write_file_atomic(out_dir + "/config.json", cj.dump(2) + "\n");
  written.push_back("config.json");
  for (const auto& f : copy_tokenizer_files(out_dir, base_dir)) written.push_back(f);
  return written;
}

std::vector<std::string> copy_tokenizer_files(const std::string& out_dir, const std::string& base_dir) {
  std::vector<std::string> copied;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "chat_template.jinja",
                        "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json"}) {
    if (!is_regular_file(base_dir + "/" + f)) continue;
    write_file_atomic(out_dir + "/" + f, read_text_file(base_dir + "/" + f));
    copied.push_back(f);
  }
  return copied;
}

}  // namespace tuner
