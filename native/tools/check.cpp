// tuner-check: runs one forward + backward of a model folder on a batch and writes the loss,
// the logits and every trainable gradient to a safetensors file, for comparison with the
// PyTorch reference (test/native/reference). With --bench it times forward + backward instead.
//
//   tuner-check --model DIR --batch batch.json --out result.safetensors
//               [--adapter DIR | --lora R,ALPHA,mod1+mod2] [--checkpointing 1] [--threads N]
//   tuner-check --model DIR --bench STEPS --B 4 --T 256 [--prompt-fraction F] [--lora ...] [--checkpointing 1] [--threads N]
//               [--precision bf16]
//
// batch.json: {"B": 2, "T": 8, "tokens": [...B*T], "targets": [...], "loss_mask": [...]}.
// Output tensors: "loss" [1], "logits" [B,T,V], "grad.<parameter name>" (Hugging Face / PEFT names).
// --prompt-fraction F masks the loss on the first F of each bench row, as a prompt is in
// instruction data (the lm_head then runs on the other rows only).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/vector_kernels.h"
#include "models/llama_model.h"
#include "tool_main.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/json.h"
#include "tuner/model.h"
#include "tuner/safetensors.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

double cpu_ms() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

struct Args {
  std::string model, batch, out, adapter, lora;
  int threads = 0, bench = 0, B = 4, T = 256, rope = 0;
  std::string rope_scaling;  // --rope-scaling JSON: a run plan's override
  bool checkpointing = false;
  bool bf16 = false;  // --precision bf16: the trainer's bf16 matmuls (Model::set_bf16)
  double prompt_fraction = 0;
};

[[noreturn]] void usage(const std::string& why) {
  throw TunerError("bad_arguments", "tuner-check: " + why,
                   "usage: tuner-check --model DIR (--batch FILE --out FILE | --bench STEPS [--B N --T N --prompt-fraction F]) "
                   "[--adapter DIR | --lora R,ALPHA,q_proj+v_proj] [--checkpointing 1] [--threads N] [--precision bf16]");
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage("missing value after " + k);
    std::string v = argv[++i];
    if (k == "--model") a.model = v;
    else if (k == "--batch") a.batch = v;
    else if (k == "--out") a.out = v;
    else if (k == "--adapter") a.adapter = v;
    else if (k == "--lora") a.lora = v;
    else if (k == "--checkpointing") a.checkpointing = v == "1";
    else if (k == "--precision") {
      if (v != "bf16" && v != "fp32") usage("--precision wants fp32 or bf16, got " + v);
      a.bf16 = v == "bf16";
    }
    else if (k == "--threads") a.threads = std::stoi(v);
    else if (k == "--bench") a.bench = std::stoi(v);
    else if (k == "--rope") a.rope = std::stoi(v);
    else if (k == "--rope-scaling") a.rope_scaling = v;
    else if (k == "--B") a.B = std::stoi(v);
    else if (k == "--T") a.T = std::stoi(v);
    else if (k == "--prompt-fraction") {
      a.prompt_fraction = std::stod(v);
      if (!(a.prompt_fraction >= 0 && a.prompt_fraction < 1)) usage("--prompt-fraction wants a number in [0, 1), got " + v);
    }
    else usage("unknown option " + k);
  }
  if (a.model.empty()) usage("--model is required");
  if (!a.bench && !a.rope && (a.batch.empty() || a.out.empty())) usage("--batch and --out are required");
  return a;
}

LoraConfig parse_lora(const std::string& s) {
  LoraConfig c;
  size_t p1 = s.find(','), p2 = s.find(',', p1 + 1);
  if (p1 == std::string::npos || p2 == std::string::npos) usage("--lora wants R,ALPHA,mod1+mod2");
  c.rank = std::stoi(s.substr(0, p1));
  c.alpha = std::stof(s.substr(p1 + 1, p2 - p1 - 1));
  std::string mods = s.substr(p2 + 1);
  size_t start = 0;
  while (start <= mods.size()) {
    size_t e = mods.find('+', start);
    if (e == std::string::npos) e = mods.size();
    if (e > start) c.target_modules.push_back(mods.substr(start, e - start));
    start = e + 1;
  }
  return c;
}

std::vector<uint32_t> ints(const Json& j, const char* key, size_t n, const std::string& path) {
  const Json* a = j.find(key);
  if (!a || !a->is_array() || a->size() != n)
    throw TunerError("bad_batch", path + ": \"" + key + "\" must be an array of B*T=" + std::to_string(n) + " integers", "");
  std::vector<uint32_t> out;
  for (const auto& v : a->as_array()) {
    if (!v.is_number() || v.as_number() < 0) throw TunerError("bad_batch", path + ": \"" + key + "\" holds a non-integer", "");
    out.push_back((uint32_t)v.as_number());
  }
  return out;
}

// --rope T: the model's RoPE as the engine computes it for a forward of T positions (after
// --rope-scaling's override, as tuner-train applies a plan's): inverse frequencies, the attention
// factor, and xPos's query factor per position and pair. For the reference formulas' test.
int rope_report(const Args& a) {
  ModelConfig c = load_model_config(a.model);
  if (!a.rope_scaling.empty())
    c.rope_scaling = parse_rope_scaling(Json::parse(a.rope_scaling, "--rope-scaling"), "--rope-scaling", "rope_scaling",
                                        c.max_position_embeddings);
  float af = 1.0f;
  const std::vector<double> inv = rope_inv_freq(c, a.rope, &af);
  Json r = Json::object(), jinv = Json::array(), jx = Json::array();
  for (double x : inv) jinv.push(Json(x));
  for (int t = 0; t < a.rope; t++) {
    Json row = Json::array();
    for (int i = 0; i < c.head_dim / 2; i++) row.push(Json((double)xpos_scale(c, i, t)));
    jx.push(row);
  }
  r.set("inv_freq", jinv);
  r.set("attention_factor", Json((double)af));
  r.set("xpos_q", jx);
  std::printf("%s\n", r.dump().c_str());
  return 0;
}

int run(const Args& a) {
  if (a.rope > 0) return rope_report(a);
  auto model = Model::load(a.model);
  if (!a.adapter.empty()) model->load_adapter(a.adapter);
  else if (!a.lora.empty()) model->enable_lora(parse_lora(a.lora), 1234);
  if (a.checkpointing) model->set_gradient_checkpointing(true);
  if (a.bf16) model->set_bf16(true);
  ThreadPool pool(a.threads);

  if (a.bench) {
    const int N = a.B * a.T, V = model->config().vocab_size;
    std::vector<uint32_t> tok(N), tgt(N);
    std::vector<uint8_t> mask(N, 1);
    const int prompt = (int)(a.T * a.prompt_fraction + 0.5);
    for (int i = 0; i < N; i++) mask[i] = i % a.T >= prompt;
    uint64_t s = 42;
    for (int i = 0; i < N; i++) { s = s * 6364136223846793005ull + 1442695040888963407ull; tok[i] = (uint32_t)((s >> 33) % V); }
    for (int i = 0; i < N; i++) tgt[i] = tok[(i + 1) % N];
    Batch b{tok.data(), tgt.data(), mask.data(), a.B, a.T};
    model->zero_grad();
    double fwd = 0, bwd = 0, cpu = 0;
    for (int step = 0; step <= a.bench; step++) {  // step 0 warms up (workspace allocation)
      double c0 = cpu_ms();
      auto t0 = std::chrono::steady_clock::now();
      float loss = model->forward(b, true, step, &pool);
      auto t1 = std::chrono::steady_clock::now();
      model->backward(1.0f, &pool);
      auto t2 = std::chrono::steady_clock::now();
      if (step == 0)
        if (auto* lm = dynamic_cast<LlamaModel*>(model.get())) {
          bool on = lm->profile().on;
          lm->profile() = Profile();
          lm->profile().on = on;
        }
      if (step > 0) {
        cpu += cpu_ms() - c0;
        fwd += std::chrono::duration<double, std::milli>(t1 - t0).count();
        bwd += std::chrono::duration<double, std::milli>(t2 - t1).count();
      }
      if (step == a.bench) std::fprintf(stderr, "loss %.4f\n", loss);
    }
    Json r = Json::object();
    r.set("params", Json(model->num_params()));
    r.set("trainable", Json(model->num_trainable_params()));
    r.set("threads", Json(pool.size()));
    r.set("B", Json(a.B));
    r.set("T", Json(a.T));
    r.set("forward_ms", Json(fwd / a.bench));
    r.set("backward_ms", Json(bwd / a.bench));
    r.set("step_ms", Json((fwd + bwd) / a.bench));
    // Process CPU time (all threads): with --threads 1 it measures the work itself, robust to
    // other processes competing for the cores.
    r.set("cpu_ms", Json(cpu / a.bench));
    r.set("tokens_per_s", Json(N / ((fwd + bwd) / a.bench / 1000.0)));
    if (auto* lm = dynamic_cast<LlamaModel*>(model.get()); lm && lm->profile().on) {
      Json prof = Json::object();
      for (int k = 0; k < kProfCount; k++) {
        Json e = Json::object();
        e.set("fwd_ms", Json(lm->profile().fwd_ms[k] / a.bench));
        e.set("bwd_ms", Json(lm->profile().bwd_ms[k] / a.bench));
        // CPU time of all threads while the kernel ran: the shares a busy machine leaves intact.
        e.set("fwd_cpu_ms", Json(lm->profile().fwd_cpu_ms[k] / a.bench));
        e.set("bwd_cpu_ms", Json(lm->profile().bwd_cpu_ms[k] / a.bench));
        prof.set(Profile::name(k), e);
      }
      r.set("profile_ms_per_step", prof);
    }
    r.set("activation_mib", Json((double)model->activation_bytes(a.B, a.T) / (1 << 20)));
    // Exact, for the estimator's layout test; the layout sizes attention scratch per hardware thread.
    r.set("activation_bytes", Json((double)model->activation_bytes(a.B, a.T)));
    r.set("hardware_threads", Json((double)ThreadPool::hardware_threads()));
    if (a.bf16) {
      r.set("bf16_weight_bytes", Json((double)model->bf16_weight_bytes()));
      r.set("f32_weight_bytes", Json((double)model->f32_weight_bytes()));
      r.set("bf16_kernel", Json(gemm_bf16_kernel_name()));
    }
    std::printf("%s\n", r.dump().c_str());
    return 0;
  }

  Json bj = Json::parse_file(a.batch);
  const Json* Bj = bj.find("B");
  const Json* Tj = bj.find("T");
  if (!Bj || !Tj || !Bj->is_number() || !Tj->is_number()) throw TunerError("bad_batch", a.batch + ": needs numbers B and T", "");
  int B = (int)Bj->as_number(), T = (int)Tj->as_number();
  size_t N = (size_t)B * T;
  auto tok = ints(bj, "tokens", N, a.batch), tgt = ints(bj, "targets", N, a.batch), m32 = ints(bj, "loss_mask", N, a.batch);
  std::vector<uint8_t> mask(m32.begin(), m32.end());
  Batch batch{tok.data(), tgt.data(), mask.data(), B, T};
  model->zero_grad();
  float loss = model->forward(batch, false, 0, &pool);
  const int V = model->config().vocab_size;
  std::vector<float> logits(model->logits(), model->logits() + N * V);
  model->backward(1.0f, &pool);
  SafetensorsWriter w;
  w.add("loss", {1}, &loss);
  w.add("logits", {B, T, V}, logits.data());
  for (Param* p : model->trainable_params()) w.add("grad." + p->name, p->shape, p->grad);
  w.write(a.out);
  // The kernels that ran (TUNER_CPU_LIMIT picks lower ones), so a test can tell which it checked.
  std::printf("{\"loss\":%.9g,\"trainable\":%lld,\"sgemm_kernel\":\"%s\",\"vector_kernels\":\"%s\"}\n", loss,
              (long long)model->num_trainable_params(), sgemm_kernel_name(), vector_kernels().name);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tuner::run_tool([&] { return run(parse_args(argc, argv)); });
}
