// Run plan parsing. The plan comes from the extension (resolved ARGS) or from a person writing
// plan.json by hand, so every problem names the field, says what is wrong and what to write.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <set>

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/protocol.h"
#include "tuner/train.h"

namespace tuner {

namespace {

// LoRA target names of every supported architecture (PEFT's short module names); the model
// checks that its own architecture has the ones a plan names.
const char* const kLoraTargets[] = {"q_proj",  "k_proj", "v_proj",          "o_proj", "gate_proj",     "up_proj",       "down_proj",
                                    "c_attn",  "c_proj", "c_fc",            "query_key_value", "dense", "dense_h_to_4h",
                                    "dense_4h_to_h"};

class PlanReader {
 public:
  PlanReader(const std::string& source, const std::string& text) : source_(source), text_(text) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what, const std::string& fix) const {
    throw TunerError("bad_plan", source_ + line_of(field) + ": field \"" + field + "\" " + what, fix);
  }

  // ":LINE" of the first `"key":` for the field's last name in the plan text, so an editor can
  // jump there; "" when the text is unknown or the field is absent (a missing field).
  std::string line_of(const std::string& field) const {
    const size_t dot = field.rfind('.');
    const std::string key = "\"" + (dot == std::string::npos ? field : field.substr(dot + 1)) + "\"";
    for (size_t at = text_.find(key); at != std::string::npos; at = text_.find(key, at + 1)) {
      size_t k = at + key.size();
      while (k < text_.size() && (text_[k] == ' ' || text_[k] == '\t' || text_[k] == '\r' || text_[k] == '\n')) ++k;
      if (k < text_.size() && text_[k] == ':') {
        return ":" + std::to_string(1 + std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
      }
    }
    return "";
  }

  static std::string describe(const Json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }

  // Rejects keys this plan version does not define (a typo would otherwise silently become
  // a default).
  void only_known(const Json& obj, const std::string& prefix, const std::set<std::string>& known) const {
    for (const auto& kv : obj.as_object()) {
      if (!known.count(kv.first)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(prefix + kv.first, "is not a plan field", "Remove it or fix its spelling; known fields: " + list + ".");
      }
    }
  }

  std::string path(const Json& obj, const char* key, const std::string& base_dir, bool required) const {
    const Json* v = obj.find(key);
    if (!v || v->is_null()) {
      if (required) fail(key, "is missing", std::string("Set \"") + key + "\" to a folder path.");
      return "";
    }
    if (!v->is_string() || v->as_string().empty()) fail(key, "must be a non-empty string, got " + describe(*v), std::string("Set \"") + key + "\" to a folder path.");
    const std::string& p = v->as_string();
    return (p[0] == '/' || base_dir.empty()) ? p : base_dir + "/" + p;
  }

  double number(const Json& obj, const std::string& name, const char* key, double def, bool required,
                double lo, bool lo_open, double hi, const std::string& example) const {
    const Json* v = obj.find(key);
    if (!v || v->is_null()) {
      if (required) fail(name, "is missing", "Set \"" + name + "\" to a number such as " + example + ".");
      return def;
    }
    if (!v->is_number()) fail(name, "must be a number, got " + describe(*v), "Write a plain JSON number such as " + example + " (no quotes).");
    const double x = v->as_number();
    const bool below = lo_open ? x <= lo : x < lo;
    if (below || x > hi || !std::isfinite(x)) {
      char range[96];
      std::snprintf(range, sizeof range, "%s%g, %g]", lo_open ? "(" : "[", lo, hi);
      fail(name, "is " + format_double(x) + ", outside " + range, "Use a value such as " + example + ".");
    }
    return x;
  }

  int64_t integer(const Json& obj, const std::string& name, const char* key, int64_t def, bool required,
                  int64_t lo, int64_t hi, const std::string& example) const {
    const double x = number(obj, name, key, static_cast<double>(def), required, static_cast<double>(lo), false,
                            static_cast<double>(hi), example);
    if (x != std::floor(x)) fail(name, "must be a whole number, got " + format_double(x), "Use a value such as " + example + ".");
    return static_cast<int64_t>(x);
  }

  std::string string(const Json& obj, const std::string& name, const char* key, const std::string& def,
                     bool required, const std::vector<std::string>& allowed) const {
    const Json* v = obj.find(key);
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
    if (!v || v->is_null()) {
      if (required) fail(name, "is missing", "Set \"" + name + "\" to one of " + list + ".");
      return def;
    }
    if (!v->is_string()) fail(name, "must be a string, got " + describe(*v), "Set it to one of " + list + ".");
    for (const auto& a : allowed)
      if (v->as_string() == a) return a;
    fail(name, "is \"" + v->as_string() + "\", which is not supported", "Set it to one of " + list + ".");
  }

  const Json* object(const Json& obj, const char* key) const {
    const Json* v = obj.find(key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_object()) fail(key, "must be an object, got " + describe(*v), std::string("See docs/trainer-protocol.md for the shape of \"") + key + "\".");
    return v;
  }

 private:
  std::string source_;
  std::string text_;
};

// A list of token ids: non-negative integers below 2^32.
std::vector<uint32_t> id_list(const PlanReader& r, const Json& v, const std::string& name) {
  if (!v.is_array()) r.fail(name, "must be an array of token ids, got " + PlanReader::describe(v), "The extension writes token ids here; prepare the run again.");
  std::vector<uint32_t> out;
  for (const Json& x : v.as_array()) {
    const double d = x.is_number() ? x.as_number() : -1;
    if (!(d >= 0 && d < 4294967296.0 && d == std::floor(d)))
      r.fail(name, "contains " + PlanReader::describe(x) + ", which is not a token id", "Token ids are whole numbers from 0; prepare the run again.");
    out.push_back(static_cast<uint32_t>(d));
  }
  return out;
}

void parse_samples(const PlanReader& r, const Json& sm, SamplePlan* out) {
  // "texts" are the prompts as written, for the extension's display; the trainer reads the ids.
  r.only_known(sm, "samples.", {"interval", "max_new_tokens", "prompts", "stop_ids", "texts"});
  out->interval = r.integer(sm, "samples.interval", "interval", 0, true, 1, 1LL << 40, "50");
  out->max_new_tokens = static_cast<int>(r.integer(sm, "samples.max_new_tokens", "max_new_tokens", 32, false, 1, 4096, "32"));
  const Json* prompts = sm.find("prompts");
  if (!prompts || !prompts->is_array() || prompts->size() == 0 || prompts->size() > 16)
    r.fail("samples.prompts", "must be 1 to 16 prompts, each an array of token ids", "Set sample_prompts in ARGS.json (at most 16) and prepare the run again.");
  for (size_t i = 0; i < prompts->size(); ++i) {
    auto ids = id_list(r, prompts->as_array()[i], "samples.prompts[" + std::to_string(i) + "]");
    if (ids.empty()) r.fail("samples.prompts[" + std::to_string(i) + "]", "is empty", "Give every sample prompt some text.");
    out->prompts.push_back(std::move(ids));
  }
  if (const Json* stops = sm.find("stop_ids")) out->stop_ids = id_list(r, *stops, "samples.stop_ids");
}

}  // namespace

RunPlan parse_plan(const Json& j, const std::string& source, const std::string& base_dir, const std::string& text) {
  PlanReader r(source, text);
  if (!j.is_object()) throw TunerError("bad_plan", source + ": a plan is a JSON object", "See docs/trainer-protocol.md for an example plan.");
  r.only_known(j, "", {"version", "model_dir", "data_dir", "output_dir", "method", "lora", "optimizer", "schedule",
                       "warmup_steps", "max_steps", "epochs", "batch_size", "seq_len", "grad_accum", "max_grad_norm",
                       "seed", "threads", "save_interval", "eval_interval", "eval_data_dir", "eval_max_batches", "samples",
                       "base_quant", "gradient_checkpointing", "stage", "pref_beta", "rope_scaling", "eval_generate",
                       "precision", "device"});
  if (const Json* v = j.find("version")) {
    if (!v->is_number() || v->as_number() != 1)
      r.fail("version", "is " + PlanReader::describe(*v) + "; this trainer reads plan version 1", "Regenerate the plan with this version of Tuner.");
  }
  RunPlan p;
  p.model_dir = r.path(j, "model_dir", base_dir, true);
  p.data_dir = r.path(j, "data_dir", base_dir, true);
  p.output_dir = r.path(j, "output_dir", base_dir, true);
  p.eval_data_dir = r.path(j, "eval_data_dir", base_dir, false);
  p.method = r.string(j, "method", "method", "", true, {"full", "lora", "qlora", "lomo"});
  p.base_quant = r.string(j, "base_quant", "base_quant", "nf4", false, {"nf4", "int8", "int4"});
  p.stage = r.string(j, "stage", "stage", "sft", false, {"sft", "dpo"});
  p.pref_beta = r.number(j, "pref_beta", "pref_beta", 0.1, false, 0, true, 1000, "0.1");
  if (j.find("pref_beta") && !p.is_dpo())
    r.fail("pref_beta", "applies to stage \"dpo\" only (this plan's stage is \"" + p.stage + "\")", "Remove pref_beta, or set stage to \"dpo\".");
  if (const Json* pr = j.find("precision"); pr && pr->is_string() && pr->as_string() == "fp16")
    r.fail("precision", "is \"fp16\", which the CPU engine does not compute in (fp16 is for GPUs without bf16)",
           "Set precision to \"bf16\" (bf16 matmuls with fp32 master weights) or \"fp32\".");
  p.precision = r.string(j, "precision", "precision", "fp32", false, {"fp32", "bf16"});
  p.device = r.string(j, "device", "device", "auto", false, {"auto", "cpu", "cuda"});
  if (const Json* rs = j.find("rope_scaling"); rs && !rs->is_null()) {
    parse_rope_scaling(*rs, source, "rope_scaling", 1);  // checked here; llama3's default context comes from the model
    p.rope_scaling = rs->dump();
  }
  if (const Json* gc = j.find("gradient_checkpointing")) {
    if (!gc->is_bool()) r.fail("gradient_checkpointing", "must be true or false, got " + PlanReader::describe(*gc), "Write true or false.");
    p.gradient_checkpointing = gc->as_bool();
  }

  if (const Json* lora = r.object(j, "lora")) {
    r.only_known(*lora, "lora.", {"rank", "alpha", "dropout", "target_modules"});
    p.lora.rank = static_cast<int>(r.integer(*lora, "lora.rank", "rank", 8, false, 1, 4096, "8"));
    p.lora.alpha = static_cast<float>(r.number(*lora, "lora.alpha", "alpha", 16, false, 0, true, 1e6, "16"));
    p.lora.dropout = static_cast<float>(r.number(*lora, "lora.dropout", "dropout", 0, false, 0, false, 0.99, "0.05"));
    if (const Json* t = lora->find("target_modules")) {
      std::string allowed;
      for (const char* k : kLoraTargets) allowed += std::string(allowed.empty() ? "" : ",") + k;
      if (!t->is_array() || t->size() == 0)
        r.fail("lora.target_modules", "must be a non-empty array of module names", "Use e.g. [\"q_proj\",\"v_proj\"]; allowed: " + allowed + ".");
      for (const Json& m : t->as_array()) {
        bool ok = m.is_string();
        if (ok) {
          ok = false;
          for (const char* k : kLoraTargets) ok = ok || m.as_string() == k;
        }
        if (!ok) r.fail("lora.target_modules", "contains " + PlanReader::describe(m) + ", which is not a linear layer of a supported architecture", "Allowed names: " + allowed + ".");
        p.lora.target_modules.push_back(m.as_string());
      }
    }
  }
  if (p.lora.target_modules.empty()) p.lora.target_modules = {"q_proj", "v_proj"};

  const Json* opt = r.object(j, "optimizer");
  if (!opt) r.fail("optimizer", "is missing", "Add \"optimizer\": {\"lr\": 2e-4} (betas, eps and weight_decay are optional).");
  r.only_known(*opt, "optimizer.", {"name", "lr", "betas", "eps", "weight_decay", "momentum", "nesterov"});
  const std::string opt_name = r.string(*opt, "optimizer.name", "name", "adamw", false, {"adamw", "lion", "sgd"});
  parse_optimizer_kind(opt_name, &p.optimizer.kind);
  if (p.optimizer.kind == OptimizerKind::Lion) p.optimizer.beta2 = 0.99;  // the paper's default
  p.optimizer.momentum = r.number(*opt, "optimizer.momentum", "momentum", 0.0, false, 0, false, 0.9999, "0.9");
  if (const Json* n = opt->find("nesterov")) {
    if (!n->is_bool()) r.fail("optimizer.nesterov", "must be true or false, got " + PlanReader::describe(*n), "Write true or false.");
    p.optimizer.nesterov = n->as_bool();
  }
  if (p.optimizer.kind != OptimizerKind::Sgd && (p.optimizer.momentum != 0 || p.optimizer.nesterov))
    r.fail("optimizer.momentum", "applies to optimizer \"sgd\" only (this plan's optimizer is \"" + opt_name + "\")", "Remove momentum and nesterov, or set optimizer.name to \"sgd\".");
  if (p.optimizer.nesterov && p.optimizer.momentum <= 0)
    r.fail("optimizer.nesterov", "needs momentum above 0", "Set optimizer.momentum (e.g. 0.9) or nesterov false.");
  p.optimizer.lr = r.number(*opt, "optimizer.lr", "lr", 0, true, 0, true, 10, "2e-4");
  if (const Json* b = opt->find("betas")) {
    if (!b->is_array() || b->size() != 2 || !b->as_array()[0].is_number() || !b->as_array()[1].is_number())
      r.fail("optimizer.betas", "must be two numbers, got " + PlanReader::describe(*b), "Use [0.9, 0.999].");
    for (int i = 0; i < 2; ++i) {
      const double x = b->as_array()[i].as_number();
      if (!(x >= 0 && x < 1)) r.fail("optimizer.betas", "has " + format_double(x) + ", outside [0, 1)", "Use [0.9, 0.999].");
    }
    p.optimizer.beta1 = b->as_array()[0].as_number();
    p.optimizer.beta2 = b->as_array()[1].as_number();
  }
  p.optimizer.eps = r.number(*opt, "optimizer.eps", "eps", 1e-8, false, 0, true, 1, "1e-8");
  p.optimizer.weight_decay = r.number(*opt, "optimizer.weight_decay", "weight_decay", 0.0, false, 0, false, 10, "0.01");

  const std::string sched = r.string(j, "schedule", "schedule", "constant", false, {"constant", "linear", "cosine"});
  parse_schedule_kind(sched, &p.schedule);
  p.warmup_steps = r.integer(j, "warmup_steps", "warmup_steps", 0, false, 0, 1LL << 40, "10");
  const bool has_steps = j.find("max_steps") && !j.find("max_steps")->is_null();
  const bool has_epochs = j.find("epochs") && !j.find("epochs")->is_null();
  if (has_steps == has_epochs)
    r.fail(has_steps ? "epochs" : "max_steps", has_steps ? "is set together with max_steps" : "is missing (and so is epochs)",
           "Give exactly one of \"max_steps\" (optimizer steps) or \"epochs\" (passes over the data).");
  if (has_steps) p.max_steps = r.integer(j, "max_steps", "max_steps", 0, true, 1, 1LL << 40, "100");
  if (has_epochs) p.epochs = r.number(j, "epochs", "epochs", 0, true, 0, true, 1e6, "3");
  p.batch_size = static_cast<int>(r.integer(j, "batch_size", "batch_size", 0, true, 1, 1 << 16, "4"));
  p.seq_len = static_cast<int>(r.integer(j, "seq_len", "seq_len", 0, true, 2, 1 << 20, "512"));
  p.grad_accum = static_cast<int>(r.integer(j, "grad_accum", "grad_accum", 1, false, 1, 1 << 16, "1"));
  p.max_grad_norm = r.number(j, "max_grad_norm", "max_grad_norm", 1.0, false, 0, false, 1e9, "1.0");
  p.seed = static_cast<uint64_t>(r.integer(j, "seed", "seed", 42, false, 0, 1LL << 53, "42"));
  p.threads = static_cast<int>(r.integer(j, "threads", "threads", 0, false, 0, 4096, "0 (every core)"));
  p.save_interval = r.integer(j, "save_interval", "save_interval", 0, false, 0, 1LL << 40, "100");
  p.eval_interval = r.integer(j, "eval_interval", "eval_interval", 0, false, 0, 1LL << 40, "50");
  p.eval_max_batches = r.integer(j, "eval_max_batches", "eval_max_batches", 0, false, 0, 1LL << 40, "20");
  if (p.eval_interval > 0 && p.eval_data_dir.empty())
    r.fail("eval_data_dir", "is missing while eval_interval is " + std::to_string(p.eval_interval),
           "Set \"eval_data_dir\" to a prepared shard folder, or set eval_interval to 0.");
  if (const Json* sm = r.object(j, "samples")) parse_samples(r, *sm, &p.samples);
  if (const Json* eg = r.object(j, "eval_generate")) {
    r.only_known(*eg, "eval_generate.", {"every", "max_records", "max_new_tokens", "stop_ids"});
    p.eval_generate.every = r.integer(*eg, "eval_generate.every", "every", 0, true, 0, 1LL << 40, "1");
    p.eval_generate.max_records = static_cast<int>(r.integer(*eg, "eval_generate.max_records", "max_records", 8, false, 1, 256, "8"));
    p.eval_generate.max_new_tokens = static_cast<int>(r.integer(*eg, "eval_generate.max_new_tokens", "max_new_tokens", 64, false, 1, 4096, "64"));
    if (const Json* stops = eg->find("stop_ids")) p.eval_generate.stop_ids = id_list(r, *stops, "eval_generate.stop_ids");
  }
  if (p.is_lomo()) {
    // LOMO applies each gradient as soon as backward completes it: there is nothing to
    // accumulate across micro-batches into, and no state for another optimizer.
    if (p.grad_accum != 1)
      r.fail("grad_accum", "is " + std::to_string(p.grad_accum) + " but method \"lomo\" updates every weight during backward, so it cannot accumulate micro-batches", "Set grad_accum to 1 (raise batch_size instead), or use method \"full\".");
    if (p.optimizer.kind != OptimizerKind::Sgd || p.optimizer.momentum != 0)
      r.fail("optimizer.name", "must be \"sgd\" without momentum for method \"lomo\" (LOMO keeps no optimizer state)", "Set optimizer.name to \"sgd\" and leave out momentum, or use method \"full\".");
  }
  return p;
}

RunPlan load_plan(const std::string& path) {
  // Relative paths in a plan are relative to the plan file, reported as absolute paths so
  // events and checkpoints name folders that make sense from any working directory.
  std::string base = ".";
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) base = slash == 0 ? "/" : path.substr(0, slash);
  if (char* abs = ::realpath(base.c_str(), nullptr)) {
    base = abs;
    std::free(abs);
  }
  Json j;
  std::string text;
  try {
    text = read_text_file(path);
    j = Json::parse(text, path);
  } catch (const TunerError& e) {
    if (e.code() == "bad_json") throw TunerError("bad_plan", e.what(), "Fix the JSON syntax of the plan file.");
    throw TunerError("bad_plan", e.what(), "Pass the path of an existing plan file: tuner-train --plan plan.json");
  }
  return parse_plan(j, path, base, text);
}

std::string plan_fingerprint(const RunPlan& p) {
  std::string s = "method=" + p.method + ";sched=" + schedule_kind_name(p.schedule);
  if (p.method == "qlora") s += ";base_quant=" + p.base_quant;
  if (p.precision != "fp32") s += ";precision=" + p.precision;
  if (p.is_dpo()) s += ";stage=dpo,beta=" + format_double(p.pref_beta);
  if (!p.rope_scaling.empty()) s += ";rope=" + p.rope_scaling;
  // Checkpointing changes memory, not numbers; another optimizer changes both.
  if (p.optimizer.kind != OptimizerKind::AdamW)
    s += ";optim=" + std::string(optimizer_kind_name(p.optimizer.kind)) + "," + format_double(p.optimizer.momentum) + "," +
         (p.optimizer.nesterov ? "nesterov" : "");
  if (p.is_lora()) {
    s += ";lora=" + std::to_string(p.lora.rank) + "," + format_float(p.lora.alpha) + "," + format_float(p.lora.dropout);
    for (const auto& t : p.lora.target_modules) s += "," + t;
  }
  s += ";opt=" + format_double(p.optimizer.lr) + "," + format_double(p.optimizer.beta1) + "," +
       format_double(p.optimizer.beta2) + "," + format_double(p.optimizer.eps) + "," + format_double(p.optimizer.weight_decay);
  s += ";warmup=" + std::to_string(p.warmup_steps) + ";steps=" + std::to_string(p.max_steps) + ";epochs=" + format_double(p.epochs);
  s += ";B=" + std::to_string(p.batch_size) + ";T=" + std::to_string(p.seq_len) + ";accum=" + std::to_string(p.grad_accum);
  s += ";clip=" + format_double(p.max_grad_norm) + ";seed=" + std::to_string(p.seed);
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

int64_t steps_for_epochs(double epochs, uint64_t batches_per_epoch, int grad_accum) {
  const double micro = epochs * static_cast<double>(batches_per_epoch);
  return static_cast<int64_t>(std::floor(micro / grad_accum));
}

}  // namespace tuner
