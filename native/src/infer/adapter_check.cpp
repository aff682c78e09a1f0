// Does a PEFT adapter belong to this base model? Checked before any weight is applied, so a
// mismatch is one clear error instead of wrong text: the adapter must be plain LoRA on the
// projections the engine knows, and every lora_A [r, in] / lora_B [out, r] must fit the linear
// it names. base_model_name_or_path is quoted in the hint (the shapes, not the name, decide: a
// copied or renamed base folder is still the same model).
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "infer/infer_internal.h"
#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/safetensors.h"

namespace tuner {

namespace {

const char* kPrefix = "base_model.model.";

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

void check_adapter(const std::string& dir, const LlamaModel& model, const std::string& model_dir) {
  const std::string cpath = dir + "/adapter_config.json", wpath = dir + "/adapter_model.safetensors";
  if (!file_exists(cpath))
    throw TunerError("bad_adapter", dir + ": no adapter_config.json; not a PEFT adapter folder",
                     "Point the adapter at a folder with adapter_config.json and adapter_model.safetensors (a Tuner "
                     "checkpoint's adapter/ folder, or one saved by PEFT).");
  Json c = Json::parse_file(cpath);
  auto fail = [&](const std::string& what, const std::string& hint) { throw TunerError("bad_adapter", cpath + ": " + what, hint); };
  if (!c.is_object()) fail("must be a JSON object", "Use the adapter_config.json PEFT wrote.");
  auto nonempty = [&](const char* k) {
    const Json* v = c.find(k);
    return v && !v->is_null() && !(v->is_object() && v->as_object().empty()) && !(v->is_array() && v->size() == 0) &&
           !(v->is_bool() && !v->as_bool());
  };
  if (const Json* pt = c.find("peft_type"); pt && (!pt->is_string() || pt->as_string() != "LORA"))
    fail("peft_type must be \"LORA\"", "Only LoRA adapters can be applied.");
  const Json* tm = c.find("target_modules");
  if (!tm || !tm->is_array())
    fail("target_modules must be a list of module names (a regular expression is not supported)",
         "Save the adapter with target_modules as a list, e.g. [\"q_proj\", \"v_proj\"].");
  // fan_in_fan_out is how PEFT marks LoRA on GPT-2's Conv1D layers (same A / B shapes); on a
  // model with plain linears it would mean transposed weights the engine does not apply.
  for (const char* k : {"use_dora", "fan_in_fan_out", "layers_to_transform", "modules_to_save", "rank_pattern", "alpha_pattern"})
    if (nonempty(k) && !(std::string(k) == "fan_in_fan_out" && model.config().conv1d))
      fail(std::string("\"") + k + "\" is set; the engine applies plain LoRA with one rank and alpha for every module",
           "Merge this adapter with PEFT (merge_and_unload) and load the merged folder instead.");
  std::set<std::string> targets, modules;
  std::string module_list;
  if (!model.layers().empty())
    for (const Linear* l : model.layers()[0].linears)
      if (modules.insert(l->module).second) module_list += (module_list.empty() ? "" : ", ") + l->module;
  for (const Json& t : tm->as_array()) {
    if (!t.is_string()) fail("target_modules entries must be strings", "");
    const std::string& name = t.as_string();
    if (!modules.count(name))
      fail("target module \"" + name + "\" cannot carry LoRA in " + model.config().architecture,
           "LoRA applies to " + module_list + "; merge other adapters with PEFT.");
    targets.insert(name);
  }
  const int rank = adapter_config_rank(c, cpath);
  std::string base = "an unnamed base model";
  if (const Json* b = c.find("base_model_name_or_path"); b && b->is_string() && !b->as_string().empty())
    base = "\"" + b->as_string() + "\"";
  const std::string hint = "This adapter was trained on " + base + "; load it with that model (this one is " + model_dir + ").";

  auto file = SafetensorsFile::open(wpath);
  std::set<std::string> expected;
  for (const Layer& L : model.layers())
    for (const Linear* lin : L.linears) {
      if (!targets.count(lin->module)) continue;
      const std::pair<const char*, std::vector<int64_t>> parts[] = {{".lora_A.weight", {rank, lin->in}},
                                                                    {".lora_B.weight", {lin->out, rank}}};
      for (const auto& [suffix, shape] : parts) {
        const std::string name = kPrefix + lin->name + suffix;
        expected.insert(name);
        const TensorInfo* t = file->find(name);
        if (!t)
          throw TunerError("adapter_mismatch", wpath + ": tensor \"" + name + "\" is missing (target_modules lists " + lin->module + ")",
                           hint);
        if (t->shape != shape)
          throw TunerError("adapter_mismatch",
                           wpath + ": tensor \"" + name + "\" has shape " + shape_str(t->shape) + " but this model's " +
                               lin->name + " (" + std::to_string(lin->out) + " x " + std::to_string(lin->in) + ", r = " +
                               std::to_string(rank) + ") needs " + shape_str(shape),
                           hint);
      }
    }
  for (const TensorInfo& t : file->tensors())
    if (!expected.count(t.name))
      throw TunerError("adapter_mismatch", wpath + ": tensor \"" + t.name + "\" does not belong to any LoRA module of this model", hint);
}

}  // namespace tuner
