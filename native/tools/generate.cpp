// tuner-generate: token ids in, generated token ids out, from a model folder (optionally with a
// PEFT adapter applied on the fly, optionally quantized at load time), for tests, benchmarks and
// anyone without Node. There is no tokenizer here: tokenization is TypeScript by design.
//
//   tuner-generate MODEL_DIR [--adapter DIR] [--quant f32|f16|q8_0|q4_0|int8|nf4] [--context N] [--device cpu|cuda|auto]
//       [--threads N] (--ids 1,2,3 | --prompt-len N [--prompt-seed S]) [--max-new N]
//       [--greedy | --temperature T [--top-k K] [--top-p P] [--min-p M]] [--repetition-penalty R]
//       [--no-repeat-ngram N] [--seed S] [--stop 2,7] [--ban 0,1] [--logits-out FILE]
//
// Prints one JSON line: {"prompt": n, "ids": [...], "stop": "stop_id" | "max_new" | "context",
// timings (load, prefill and decode ms, tokens/s), weight / KV-cache / resident bytes, kernel,
// device, device_name, device_reason}. --device: where the model runs (docs/inference.md).
// --logits-out writes a safetensors file with "logits" [steps, V]: the logits each generated
// token was drawn from. --prompt-len makes a seeded random prompt (benchmarks). Errors: one JSON
// line {code, message, hint} on stderr, exit 2.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tool_main.h"
#include "tuner/error.h"
#include "tuner/infer.h"
#include "tuner/json.h"
#include "tuner/rng.h"
#include "tuner/safetensors.h"

using namespace tuner;

namespace {

struct Args {
  InferOptions load;
  SamplerSettings sampler;
  std::vector<uint32_t> ids, stop, ban;
  int prompt_len = 0, max_new = 32;
  uint64_t prompt_seed = 1;
  std::string logits_out;
};

[[noreturn]] void usage(const std::string& why) {
  throw TunerError("bad_arguments", "tuner-generate: " + why,
                   "usage: tuner-generate MODEL_DIR [--adapter DIR] [--quant q] [--context N] [--device cpu|cuda|auto] [--threads N] "
                   "(--ids 1,2,3 | --prompt-len N) [--max-new N] [--greedy | --temperature T --top-k K --top-p P --min-p M] "
                   "[--repetition-penalty R] [--no-repeat-ngram N] [--seed S] [--stop ids] [--ban ids] [--logits-out FILE]");
}

double number(const std::string& k, const std::string& v) {
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  usage(k + " wants a number, got \"" + v + "\"");
}

std::vector<uint32_t> id_list(const std::string& k, const std::string& v) {
  std::vector<uint32_t> out;
  size_t p = 0;
  while (p <= v.size()) {
    size_t q = v.find(',', p);
    if (q == std::string::npos) q = v.size();
    double d = number(k, v.substr(p, q - p));
    if (d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) usage(k + " wants token ids (whole numbers >= 0)");
    out.push_back((uint32_t)d);
    p = q + 1;
  }
  return out;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string k = argv[i];
    if (k == "--greedy") {
      a.sampler.temperature = 0;
      continue;
    }
    if (k.rfind("--", 0) != 0) {
      if (!a.load.model.empty()) usage("unexpected argument " + k);
      a.load.model = k;
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + k);
    std::string v = argv[++i];
    if (k == "--model") a.load.model = v;
    else if (k == "--adapter") a.load.adapter = v;
    else if (k == "--quant") {
      if (!quant_type_from_name(v, &a.load.quant)) usage("--quant \"" + v + "\" is not one of f32, f16, bf16, q8_0, q4_0, int8, nf4");
    } else if (k == "--context") a.load.context_length = (int)number(k, v);
    else if (k == "--threads") a.load.threads = (int)number(k, v);
    else if (k == "--device") a.load.device = v;
    else if (k == "--ids") a.ids = id_list(k, v);
    else if (k == "--prompt-len") a.prompt_len = (int)number(k, v);
    else if (k == "--prompt-seed") a.prompt_seed = (uint64_t)number(k, v);
    else if (k == "--max-new") a.max_new = (int)number(k, v);
    else if (k == "--temperature") a.sampler.temperature = (float)number(k, v);
    else if (k == "--top-k") a.sampler.top_k = (int)number(k, v);
    else if (k == "--top-p") a.sampler.top_p = (float)number(k, v);
    else if (k == "--min-p") a.sampler.min_p = (float)number(k, v);
    else if (k == "--repetition-penalty") a.sampler.repetition_penalty = (float)number(k, v);
    else if (k == "--no-repeat-ngram") a.sampler.no_repeat_ngram_size = (int)number(k, v);
    else if (k == "--seed") a.sampler.seed = (uint64_t)number(k, v);
    else if (k == "--stop") a.stop = id_list(k, v);
    else if (k == "--ban") a.ban = id_list(k, v);
    else if (k == "--logits-out") a.logits_out = v;
    else usage("unknown option " + k);
  }
  if (a.load.model.empty()) usage("the model folder is required");
  if (a.ids.empty() == (a.prompt_len <= 0)) usage("give the prompt as --ids or --prompt-len (one of them)");
  if (a.max_new < 0) usage("--max-new must be >= 0");
  return a;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int run(Args a) {
  auto session = InferSession::load(a.load);
  const InferInfo& info = session->info();
  const int V = info.vocab_size;
  if (a.ids.empty()) {
    Rng rng(a.prompt_seed);
    for (int i = 0; i < a.prompt_len; i++) a.ids.push_back((uint32_t)rng.below((uint64_t)V));
  }
  session->sampler().reset(a.sampler);
  auto t0 = std::chrono::steady_clock::now();
  session->append(a.ids.data(), (int)a.ids.size());
  const double prefill_ms = ms_since(t0);
  std::vector<float> logits;
  std::vector<uint32_t> out;
  std::string stop = "max_new";
  t0 = std::chrono::steady_clock::now();
  double first_token_ms = 0;
  for (int step = 0; step < a.max_new; step++) {
    if (!a.logits_out.empty()) logits.insert(logits.end(), session->logits(), session->logits() + V);
    const uint32_t next = session->sample(a.ban.data(), (int)a.ban.size());
    out.push_back(next);
    if (step == 0) first_token_ms = prefill_ms + ms_since(t0);
    bool is_stop = false;
    for (uint32_t s : a.stop) is_stop = is_stop || s == next;
    if (is_stop) { stop = "stop_id"; break; }
    if (step + 1 == a.max_new) break;
    if (session->position() >= info.context_length) { stop = "context"; break; }
    session->append(&next, 1);
  }
  const double decode_ms = ms_since(t0);
  // Decode steps run = tokens appended after the prompt (the last sampled token is not appended).
  const int steps = (int)session->position() - (int)a.ids.size();
  Json ids = Json::array();
  for (uint32_t id : out) ids.push(Json((int64_t)id));
  Json r = Json::object();
  r.set("prompt", Json((int)a.ids.size()));
  r.set("ids", ids);
  r.set("stop", Json(stop));
  r.set("load_ms", Json(info.load_ms));
  r.set("prefill_ms", Json(prefill_ms));
  r.set("prefill_tokens_per_s", Json(a.ids.size() * 1000.0 / std::max(prefill_ms, 1e-9)));
  r.set("first_token_ms", Json(first_token_ms));
  r.set("decode_ms", Json(decode_ms));
  r.set("decode_tokens_per_s", Json(steps > 0 ? steps * 1000.0 / std::max(decode_ms, 1e-9) : 0.0));
  r.set("weight_bytes", Json((double)info.weight_bytes));
  r.set("kv_cache_bytes", Json((double)info.kv_cache_bytes));
  r.set("rss_bytes", Json((double)process_resident_bytes()));
  r.set("kernel", Json(info.kernel));
  r.set("device", Json(info.device));
  r.set("device_name", Json(info.device_name));
  r.set("device_reason", Json(info.device_reason));
  r.set("quant", Json(quant_type_name(info.quant)));
  r.set("lora", Json(info.lora));
  std::printf("%s\n", r.dump().c_str());
  if (!a.logits_out.empty() && !out.empty()) {
    SafetensorsWriter w;
    w.add("logits", {(int64_t)(logits.size() / V), V}, logits.data());
    w.write(a.logits_out);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tuner::run_tool([&] { return run(parse_args(argc, argv)); });
}
