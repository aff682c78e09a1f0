// tuner-export: takes a tuned model out of Tuner (docs/export.md).
//
//   tuner-export merge --base DIR --adapter DIR --out DIR [--dtype auto|f32|f16|bf16] [--threads N]
//       LoRA merged into the base (PEFT merge_and_unload) -> a Hugging Face folder
//       (config.json, model.safetensors in the base's torch_dtype unless --dtype, tokenizer
//       files and chat template copied).
//   tuner-export gguf --model DIR [--adapter DIR] --type f32|f16|bf16|q8_0|q4_0 --out FILE.gguf
//                     [--embedding-type f32|f16|bf16|q8_0|q4_0] [--name NAME] [--threads N]
//       -> one GGUF file for llama.cpp / Ollama (the adapter, if any, merged first); every
//       matrix in --type, the token embedding in --embedding-type when given.
//   tuner-export quantize --model DIR [--adapter DIR] --quant f16|bf16|q8_0|q4_0|int8|nf4 --out DIR [--threads N]
//       -> a quantized folder the inference engine runs as stored (the adapter merged first):
//       the same weights as quantizing at load, without the f32 weights on disk.
//
// On success prints one JSON line to stdout ({"command", "out", "bytes", ..., "warnings"});
// on failure one JSON line {"code", "message", "hint"} to stderr and exit status 2.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tool_main.h"
#include "tuner/error.h"
#include "tuner/export.h"
#include "tuner/gguf.h"
#include "tuner/json.h"
#include "tuner/model.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

const char* kUsage =
    "usage: tuner-export merge --base DIR --adapter DIR --out DIR [--dtype auto|f32|f16|bf16] [--threads N]\n"
    "       tuner-export gguf --model DIR [--adapter DIR] --type f32|f16|bf16|q8_0|q4_0 --out FILE.gguf [--embedding-type TYPE]\n"
    "                         [--name NAME] [--threads N]\n"
    "       tuner-export quantize --model DIR [--adapter DIR] --quant f16|bf16|q8_0|q4_0|int8|nf4 --out DIR [--threads N]";

[[noreturn]] void usage(const std::string& why) { throw TunerError("bad_arguments", "tuner-export: " + why, kUsage); }

struct Args {
  std::string command, base, adapter, out, dtype = "auto", type, embedding_type, name, quant;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  if (argc < 2) usage("missing command (merge, gguf or quantize)");
  Args a;
  a.command = argv[1];
  if (a.command != "merge" && a.command != "gguf" && a.command != "quantize") usage("unknown command \"" + a.command + "\"");
  for (int i = 2; i < argc; i++) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage("missing value after " + k);
    std::string v = argv[++i];
    if (k == "--base" || k == "--model") a.base = v;
    else if (k == "--adapter") a.adapter = v;
    else if (k == "--out") a.out = v;
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--type") a.type = v;
    else if (k == "--embedding-type") a.embedding_type = v;
    else if (k == "--name") a.name = v;
    else if (k == "--quant") a.quant = v;
    else if (k == "--threads") a.threads = std::atoi(v.c_str());
    else usage("unknown option " + k);
  }
  if (a.base.empty()) usage(a.command == "merge" ? "--base is required" : "--model is required");
  if (a.out.empty()) usage("--out is required");
  if (a.command == "merge" && a.adapter.empty()) usage("merge needs --adapter (the PEFT adapter folder to merge)");
  return a;
}

std::string canonical(const std::string& p) {
  char buf[4096];
  return realpath(p.c_str(), buf) ? std::string(buf) : p;
}

long long file_bytes(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? (long long)st.st_size : -1;
}

bool gguf_type_from_name(const std::string& s, GgmlType* t) {
  if (s == "f32") *t = GgmlType::F32;
  else if (s == "f16") *t = GgmlType::F16;
  else if (s == "bf16") *t = GgmlType::BF16;
  else if (s == "q8_0") *t = GgmlType::Q8_0;
  else if (s == "q4_0") *t = GgmlType::Q4_0;
  else return false;
  return true;
}

Json merge_report_json(const MergeReport& r) {
  Json j = Json::object();
  j.set("modules", Json(r.modules));
  j.set("rank", Json(r.rank));
  j.set("scaling", Json((double)r.scaling));
  j.set("rslora", Json(r.rslora));
  return j;
}

int run(const Args& a) {
  const auto t0 = std::chrono::steady_clock::now();
  ThreadPool pool(a.threads);
  Json res = Json::object();
  res.set("command", Json(a.command));
  res.set("out", Json(a.out));
  Json warnings = Json::array();

  if (a.command == "merge") {
    DType dt;
    if (a.dtype == "f32") dt = DType::F32;
    else if (a.dtype == "f16") dt = DType::F16;
    else if (a.dtype == "bf16") dt = DType::BF16;
    else if (a.dtype != "auto") usage("--dtype must be auto, f32, f16 or bf16 (got " + a.dtype + ")");
    if (canonical(a.out) == canonical(a.base))
      throw TunerError("bad_arguments", "tuner-export: --out is the base model folder " + a.base, "Write the merged model to a new folder.");
    auto model = Model::load(a.base);
    if (a.dtype == "auto") dt = base_storage_dtype(*model);
    MergeReport rep = merge_lora(*model, a.adapter, &pool);
    std::vector<std::string> files = write_model_folder(a.out, *model, a.base, dt);
    Json fl = Json::array();
    for (const auto& f : files) fl.push(Json(f));
    res.set("files", fl);
    res.set("dtype", Json(dtype_safetensors_name(dt)));
    res.set("merge", merge_report_json(rep));
    res.set("bytes", Json((int64_t)file_bytes(a.out + "/model.safetensors")));
  } else if (a.command == "quantize") {
    QuantType qt;
    if (!quant_type_from_name(a.quant, &qt) || qt == QuantType::F32)
      usage("--quant must be f16, q8_0, q4_0, int8 or nf4 (got \"" + a.quant + "\")");
    if (canonical(a.out) == canonical(a.base))
      throw TunerError("bad_arguments", "tuner-export: --out is the model folder " + a.base, "Write the quantized model to a new folder.");
    auto model = Model::load(a.base);
    if (!a.adapter.empty()) res.set("merge", merge_report_json(merge_lora(*model, a.adapter, &pool)));
    Json fl = Json::array();
    for (const auto& f : write_quantized_folder(a.out, *model, a.base, qt, &pool)) fl.push(Json(f));
    res.set("files", fl);
    res.set("quant", Json(a.quant));
    res.set("bytes", Json((int64_t)file_bytes(a.out + "/model.safetensors")));
  } else {
    GgufExportOptions opt;
    opt.name = a.name;
    if (!gguf_type_from_name(a.type, &opt.type)) usage("--type must be f32, f16, bf16, q8_0 or q4_0 (got \"" + a.type + "\")");
    if (!a.embedding_type.empty()) {
      if (!gguf_type_from_name(a.embedding_type, &opt.embedding_type))
        usage("--embedding-type must be f32, f16, bf16, q8_0 or q4_0 (got \"" + a.embedding_type + "\")");
      opt.embedding_type_set = true;
    }
    auto model = Model::load(a.base);
    if (!a.adapter.empty()) res.set("merge", merge_report_json(merge_lora(*model, a.adapter, &pool)));
    for (const auto& w : export_gguf(a.out, *model, a.base, opt, &pool)) warnings.push(Json(w));
    res.set("type", Json(a.type));
    res.set("bytes", Json((int64_t)file_bytes(a.out)));
  }
  res.set("seconds", Json(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  res.set("warnings", warnings);
  std::printf("%s\n", res.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tuner::run_tool([&] { return run(parse(argc, argv)); });
}
