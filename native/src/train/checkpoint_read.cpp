// Reading a checkpoint before a resume trusts it: trainer_state.json, and every weight file the
// folder must hold checked whole (header, sizes) before any of them is loaded, so a missing
// folder says "checkpoint not found" and a truncated file is a bad_checkpoint pointing at the
// checkpoint, not a model-download hint. Kept apart from the writer (checkpoint.cpp) so the
// checkpoint fuzzer (native/fuzz) links only the readers.
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "tuner/checkpoint.h"
#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/safetensors.h"

namespace tuner {

bool path_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

bool is_directory(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

bool exists(const std::string& p) { return path_exists(p); }
bool is_dir(const std::string& p) { return is_directory(p); }

[[noreturn]] void bad_checkpoint(const std::string& dir, const std::string& what,
                                 const std::string& hint = "Resume from a complete checkpoint folder (output_dir/checkpoints/step-*) of the same plan.") {
  throw TunerError("bad_checkpoint", dir + ": " + what, hint);
}

}  // namespace

TrainerState read_trainer_state(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  if (!is_dir(dir)) bad_checkpoint(dir, "checkpoint not found (no such folder)");
  if (!exists(path)) bad_checkpoint(dir, "trainer_state.json is missing (not a checkpoint, or an incomplete one)");
  Json j;
  try {
    j = Json::parse_file(path);
  } catch (const TunerError& e) {
    bad_checkpoint(dir, e.what());
  }
  auto num = [&](const char* k) -> int64_t {
    const Json* v = j.find(k);
    // Whole and below 2^53 before the cast: a double beyond int64's range makes the cast undefined.
    if (!v || !v->is_number() || v->as_number() < 0 || v->as_number() >= 9007199254740992.0 ||
        v->as_number() != std::floor(v->as_number()))
      bad_checkpoint(path, std::string("field \"") + k + "\" is missing or not a whole number");
    return static_cast<int64_t>(v->as_number());
  };
  auto str = [&](const char* k) -> std::string {
    const Json* v = j.find(k);
    if (!v || !v->is_string()) bad_checkpoint(path, std::string("field \"") + k + "\" is missing or invalid");
    return v->as_string();
  };
  if (!j.is_object() || num("version") != 1) bad_checkpoint(path, "unsupported trainer_state version");
  TrainerState s;
  s.step = num("step");
  s.cursor.epoch = static_cast<uint64_t>(num("epoch"));
  s.cursor.index = static_cast<uint64_t>(num("index"));
  const std::string rng = str("rng_state");
  char* end = nullptr;
  s.rng_state = std::strtoull(rng.c_str(), &end, 16);
  if (rng.size() != 16 || *end != '\0') bad_checkpoint(path, "field \"rng_state\" is not 16 hex digits");
  s.plan_fingerprint = str("plan_fingerprint");
  s.data_fingerprint = str("data_fingerprint");
  s.method = str("method");
  // Absent in checkpoints written before the `set` command existed: the plan's lr then.
  if (const Json* v = j.find("lr_scale")) {
    if (!v->is_number() || !std::isfinite(v->as_number()) || v->as_number() <= 0)
      bad_checkpoint(path, "field \"lr_scale\" must be a positive number");
    s.lr_scale = v->as_number();
  }
  // Absent before data parallel: one process.
  if (const Json* v = j.find("world_size")) {
    if (!v->is_number() || v->as_number() < 1 || v->as_number() != std::floor(v->as_number()))
      bad_checkpoint(path, "field \"world_size\" must be a whole number of ranks, at least 1");
    s.world_size = static_cast<int>(v->as_number());
  }
  if (const Json* v = j.find("gemm_choices")) {  // a GPU run's; absent elsewhere
    if (!v->is_string()) bad_checkpoint(path, "field \"gemm_choices\" must be a string");
    s.gemm_choices = v->as_string();
  }
  return s;
}

void check_checkpoint(const std::string& dir, bool lora) {
  read_trainer_state(dir);
  for (const char* name : {lora ? "adapter_model.safetensors" : "model.safetensors", "optimizer.safetensors"}) {
    const std::string path = dir + "/" + name;
    if (!exists(path)) bad_checkpoint(dir, std::string(name) + " is missing (not a " + (lora ? "LoRA" : "full") + " checkpoint, or an incomplete one)");
    try {
      SafetensorsFile::open(path);
    } catch (const TunerError& e) {
      bad_checkpoint(dir, std::string(e.what()) + " [" + e.code() + "]",
                     "This checkpoint is damaged (an interrupted copy, a full disk); resume from another checkpoint folder "
                     "(output_dir/checkpoints/step-*) of the same plan.");
    }
  }
}

}  // namespace tuner
