// tuner-bench-cuda-train: whole training steps of a ~1B Llama made of random weights on the GPU
// (dev::DeviceModel on cuda_ops): a full fine-tune and LoRA (r 16 on every linear, PEFT names),
// each step forward + backward + the device optimizer (grad norm, AdamW, the bf16 copies remade
// for a full tune), as tuner-train runs it. Prints tokens/s and MFU against the GPU's published
// dense bf16 peak (tuner/cuda_device.h), then one separate profiled step's time per op family
// (TimedOps, src/device/timed_ops.h).
//
// Shape (TinyLlama-1.1B's): hidden 2048, 22 layers, 32 heads of 64, 4 KV heads (GQA),
// intermediate 5632, vocab 32000, untied lm_head; seq 2048; batch the largest of 8, 4, 2, 1 rows
// that fits the device's memory (--batch to set it). The weights are drawn in host memory
// (LlamaModel constructed directly from a config.json in a temporary folder, no weight files).
//
// Model FLOPs per trained token (printed with the numbers), N_mm = weights in matrix products
// (every decoder linear and the lm_head; embedding lookups and norms are not products):
//   full: 6 N_mm + 6 L T Cq            (forward 2, backward 4 per weight; Cq = heads x head_dim)
//   LoRA: 4 N_mm + 6 N_lora + 6 L T Cq (frozen weights: forward 2 + input gradient 2, no weight
//                                       gradient; the adapters' N_lora = r (in + out) per linear
//                                       train fully)
// The attention term counts the causal half of the score and value products: 2 T Cq each for
// QK^T and PV per token and layer in a full square, halved by the mask, times 3 for forward and
// backward. MFU = FLOPs per token x tokens/s / peak.
//
// --host-ops runs the same code on the CPU stand-in (host_ops) with --tiny's shape: a check of the
// benchmark's own logic on machines without a GPU; its numbers mean nothing and it says so.
//   tuner-bench-cuda-train [--host-ops] [--tiny] [--mode full|lora|both] [--batch B] [--seq T]
//                          [--layers L] [--steps 5 | --reps 5] [--warmup 2] [--no-profile]
// Exit 77 without a CUDA device (unless --host-ops), 1 when a step fails or a loss is not finite.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../test/tiny_model_fixture.h"
#include "device/device_model.h"
#include "device/device_optimizer.h"
#include "device/timed_ops.h"
#include "models/llama_model.h"
#include "tuner/cuda_device.h"
#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/optimizer.h"
#include "tuner/rng.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

struct Shape {
  int vocab = 32000, hidden = 2048, inter = 5632, layers = 22, heads = 32, kv_heads = 4;
  int seq = 2048;
};

struct Options {
  Shape shape;
  bool host_ops = false, profile = true;
  bool full = true, lora = true;
  int batch = 0;  // 0: the largest that fits
  int steps = 5, warmup = 2;
  int lora_rank = 16;
};

// config.json of the shape, through the tests' tiny-model writer (any size; no weight files here).
Json config_json(const Shape& s) {
  TinySpec spec;
  spec.vocab = s.vocab, spec.hidden = s.hidden, spec.inter = s.inter, spec.layers = s.layers;
  spec.heads = s.heads, spec.kv_heads = s.kv_heads, spec.max_positions = std::max(2048, s.seq);
  return tiny_config(spec);
}

// A LlamaModel of `s` with random weights: linears and embeddings uniform with std 0.02 (the
// usual initializer_range), norms 1. Blocks of 1M values each draw from their own seed, so the
// weights do not depend on the thread count.
std::unique_ptr<LlamaModel> random_model(const std::string& dir, const Shape& s, ThreadPool& pool) {
  Json cfg_json = config_json(s);
  std::ofstream(dir + "/config.json") << cfg_json.dump(2);
  auto model = std::make_unique<LlamaModel>(load_model_config(dir), cfg_json, dir, true);
  const float range = 0.02f * std::sqrt(3.0f);
  uint64_t seed = 1;
  for (Param* p : model->base_params()) {
    const int64_t n = p->numel();
    if (p->shape.size() == 1) {  // norm weights
      std::fill(p->data, p->data + n, 1.0f);
      continue;
    }
    const int64_t block = 1 << 20, blocks = (n + block - 1) / block;
    const uint64_t base = seed;
    seed += (uint64_t)blocks;
    pool.parallel_for(blocks, [&](int64_t b0, int64_t b1, int) {
      for (int64_t b = b0; b < b1; ++b) {
        Rng r(base + (uint64_t)b);
        for (int64_t i = b * block, end = std::min(n, i + block); i < end; ++i)
          p->data[i] = range * (float)((double)(r.next_u64() >> 11) / 4503599627370496.0 - 1.0);
      }
    });
  }
  return model;
}

// Weights in the model's matrix products, and LoRA's adapter weights (r x (in + out) per linear).
struct FlopCounts {
  double matmul_params = 0, lora_params = 0;
};

FlopCounts count_params(const Shape& s, int rank) {
  const double C = s.hidden, HD = (double)s.hidden / s.heads, Cq = s.heads * HD, Ckv = s.kv_heads * HD, F = s.inter;
  const double per_layer = Cq * C + 2 * Ckv * C + C * Cq + 3 * F * C;
  const double lora_per_layer = rank * ((C + Cq) + 2 * (C + Ckv) + (Cq + C) + 2 * (C + F) + (F + C));
  return {s.layers * per_layer + (double)s.vocab * C, s.layers * lora_per_layer};
}

double flops_per_token(const Shape& s, const FlopCounts& c, bool lora) {
  const double Cq = (double)s.heads * (s.hidden / s.heads);
  const double attention = 6.0 * s.layers * s.seq * Cq;
  return (lora ? 4.0 * c.matmul_params + 6.0 * c.lora_params : 6.0 * c.matmul_params) + attention;
}

struct RandomBatch {
  std::vector<uint32_t> tokens, targets;
  std::vector<uint8_t> mask;
  Batch batch;
  RandomBatch(int B, int T, int V) : tokens((size_t)B * T), targets((size_t)B * T), mask((size_t)B * T, 1) {
    Rng r(7);
    for (auto& t : tokens) t = (uint32_t)r.below((uint64_t)V);
    for (size_t i = 0; i < tokens.size(); ++i) targets[i] = (i + 1) % T ? tokens[i + 1] : tokens[i];
    batch.tokens = tokens.data();
    batch.targets = targets.data();
    batch.loss_mask = mask.data();
    batch.B = B;
    batch.T = T;
  }
};

// "6.76 GFLOP" / "2.36 MFLOP"; with per_s "412.3 TFLOP/s" / "1.2 GFLOP/s".
std::string flop_text(double flop, bool per_s = false) {
  const char* unit = flop >= 1e12 ? "T" : flop >= 1e9 ? "G" : "M";
  const double scale = flop >= 1e12 ? 1e12 : flop >= 1e9 ? 1e9 : 1e6;
  char buf[48];
  std::snprintf(buf, sizeof buf, per_s ? "%.1f %sFLOP/s" : "%.3g %sFLOP", flop / scale, unit);
  return buf;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Trainer {
  dev::DeviceModel& model;
  dev::DeviceOptimizer opt;
  const Batch& batch;
  uint64_t step = 0;
  float loss = 0;
  Trainer(dev::DeviceModel& m, dev::DeviceOps& ops, const OptimizerConfig& cfg, const Batch& b)
      : model(m), opt(ops, cfg, m.device_params()), batch(b) {}
  // One optimizer step as tuner-train takes it: zero grads, forward, backward, global-norm
  // clipping folded into the update, the update, the bf16 copies remade; ends synchronized.
  void run() {
    model.zero_grad();
    loss = model.forward(batch, true, ++step, nullptr);
    model.backward(1.0f, nullptr);
    const double scale = clip_coefficient(opt.grad_norm(), 1.0);
    opt.step(1e-5, scale);
    model.weights_changed();
    model.ops().synchronize();
  }
};

// One mode (full or LoRA) at batch B; false on a non-finite loss. Throws TunerError (out of memory).
bool run_mode(const Options& o, dev::TimedOps& ops, ThreadPool& pool, const std::string& dir, bool lora, int B, double peak) {
  const Shape& s = o.shape;
  const double t_init = now_ms();
  dev::DeviceModel model(random_model(dir, s, pool), ops);
  if (lora) {
    LoraConfig lc;
    lc.rank = o.lora_rank;
    lc.alpha = 2.0f * o.lora_rank;
    lc.dropout = 0.0f;
    lc.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    model.enable_lora(lc, 1);
  }
  model.set_gradient_checkpointing(false);
  OptimizerConfig oc;
  oc.lr = 1e-5;
  RandomBatch data(B, s.seq, s.vocab);
  Trainer t(model, ops, oc, data.batch);
  const char* name = lora ? "lora" : "full";
  std::printf("%s: %lld trainable of %lld weights, batch %d x %d = %d tokens per step; set up in %.1f s\n", name,
              (long long)model.num_trainable_params(), (long long)model.num_params(), B, s.seq, B * s.seq,
              (now_ms() - t_init) / 1000.0);
  std::fflush(stdout);

  for (int i = 0; i < o.warmup; ++i) t.run();
  const float first_loss = t.loss;
  std::vector<double> ms;
  for (int i = 0; i < o.steps; ++i) {
    const double t0 = now_ms();
    t.run();
    ms.push_back(now_ms() - t0);
    if (!std::isfinite(t.loss)) break;
  }
  if (!std::isfinite(t.loss) || !std::isfinite(first_loss)) {
    std::printf("%s: FAILED: loss %g after warm-up, %g at the end (not finite)\n", name, first_loss, t.loss);
    return false;
  }
  double total = 0;
  for (double m : ms) total += m;
  std::sort(ms.begin(), ms.end());
  const double mean_ms = total / ms.size();
  const double tokens_s = (double)B * s.seq / (mean_ms / 1000.0);
  const double fpt = flops_per_token(s, count_params(s, o.lora_rank), lora);
  const dev::DeviceMemoryInfo mem = ops.memory();
  std::printf("%s: step %.1f ms (mean of %zu; min %.1f, median %.1f), %.0f tokens/s, %s per token, %s", name, mean_ms,
              ms.size(), ms.front(), ms[ms.size() / 2], tokens_s, flop_text(fpt).c_str(), flop_text(fpt * tokens_s, true).c_str());
  if (peak > 0) std::printf(", MFU %.1f%%\n", 100.0 * fpt * tokens_s / (peak * 1e12));
  else std::printf(", MFU n/a (no published peak for this device)\n");
  std::printf("%s: loss %.4f after warm-up, %.4f after %zu timed steps; device memory peak so far %.2f GiB\n", name, first_loss,
              t.loss, ms.size(), mem.peak / 1073741824.0);
  std::fflush(stdout);

  if (o.profile) {
    ops.reset();
    ops.set_timing(true);
    const double t0 = now_ms();
    t.run();
    const double wall = now_ms() - t0;
    ops.set_timing(false);
    std::printf("%s: one profiled step (each op synchronized, so slower than the timed steps): %.1f ms, %.1f ms in ops\n%s",
                name, wall, ops.total_ms(), ops.shares_table().c_str());
  }
  return true;
}

// Largest batch of 8, 4, 2, 1 whose activations fit beside the full fine-tune's weights and
// gradients (uploaded here to measure them) and its two AdamW states, leaving 10% of the device
// free. LoRA, which holds less, runs at the same batch.
int fit_batch(const Options& o, dev::TimedOps& ops, ThreadPool& pool, const std::string& dir) {
  if (o.batch > 0) return o.batch;
  const dev::DeviceMemoryInfo before = ops.memory();
  if (before.total == 0) return 2;  // host_ops: no device size
  dev::DeviceModel model(random_model(dir, o.shape, pool), ops);
  model.device_params();  // uploads the weights in the full fine-tune's layout
  const size_t resident = ops.memory().in_use - before.in_use + (size_t)model.num_trainable_params() * 4 * 2;
  const size_t budget = (size_t)(0.9 * (double)(before.free + before.in_use));
  for (int B : {8, 4, 2}) {
    const size_t need = resident + model.activation_bytes(B, o.shape.seq);
    if (need <= budget) return B;
  }
  return 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: tuner-bench-cuda-train [--host-ops] [--tiny] [--mode full|lora|both] [--batch B] [--seq T] "
               "[--layers L] [--steps 5 | --reps 5] [--warmup 2] [--no-profile]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool tiny = false;
  int seq = 0, layers = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--host-ops") o.host_ops = true;
    else if (a == "--tiny") tiny = true;
    else if (a == "--no-profile") o.profile = false;
    else if (a == "--mode" && has_value) {
      const std::string m = argv[++i];
      if (m != "full" && m != "lora" && m != "both") return usage();
      o.full = m != "lora";
      o.lora = m != "full";
    } else if (a == "--batch" && has_value) o.batch = std::atoi(argv[++i]);
    else if (a == "--seq" && has_value) seq = std::atoi(argv[++i]);
    else if (a == "--layers" && has_value) layers = std::atoi(argv[++i]);
    else if ((a == "--steps" || a == "--reps") && has_value) o.steps = std::max(1, std::atoi(argv[++i]));  // --reps: bench:gpu's
    else if (a == "--warmup" && has_value) o.warmup = std::max(1, std::atoi(argv[++i]));
    else return usage();
  }
  // The CPU stand-in always takes the tiny shape (heads of 64, as the real one): a 1B step would
  // take minutes there and prove nothing more.
  if (tiny || o.host_ops) o.shape = Shape{512, 128, 256, 2, 2, 1, 128};
  if (seq) o.shape.seq = seq;
  if (layers) o.shape.layers = layers;
  if (o.batch < 0 || o.shape.seq < 2 || o.shape.layers < 1) return usage();

  double peak = 0;
  std::unique_ptr<dev::DeviceOps> inner;
  try {
    if (o.host_ops) {
      inner = dev::make_host_ops();
      std::printf("host_ops (the CPU stand-in): checks this benchmark's code path only; its numbers say nothing about a GPU\n");
    } else {
      const CudaRuntimeInfo& info = cuda_runtime_info();
      if (info.devices.empty()) {
        std::printf("no CUDA device: %s (--host-ops runs the benchmark's code on the CPU stand-in)\n", info.reason.c_str());
        return 77;
      }
      const CudaDevice& d = info.devices[0];
      peak = d.peak.bf16_tflops;
      std::printf("%s (sm_%d%d, %d SMs, %.0f GiB), dense bf16 peak %.0f TFLOP/s (%s)\n", d.name.c_str(), d.cc_major,
                  d.cc_minor, d.sm_count, d.total_memory_bytes / 1073741824.0, peak, d.peak.source.c_str());
      inner = dev::make_cuda_ops(0);
    }
  } catch (const TunerError& e) {
    std::printf("FAILED: %s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
  dev::TimedOps ops(*inner);

  const Shape& s = o.shape;
  const FlopCounts fc = count_params(s, o.lora_rank);
  std::printf("shape: hidden %d, %d layers, %d heads x %d, %d KV heads, intermediate %d, vocab %d, seq %d; %.2f M weights in "
              "products (N_mm), LoRA r %d on q,k,v,o,gate,up,down: %.2f M adapter weights (N_lora)\n",
              s.hidden, s.layers, s.heads, s.hidden / s.heads, s.kv_heads, s.inter, s.vocab, s.seq, fc.matmul_params / 1e6,
              o.lora_rank, fc.lora_params / 1e6);
  std::printf("FLOPs per token: full 6*N_mm + 6*L*T*Cq = %s; LoRA 4*N_mm + 6*N_lora + 6*L*T*Cq = %s "
              "(attention causal: half of the square)\n",
              flop_text(flops_per_token(s, fc, false)).c_str(), flop_text(flops_per_token(s, fc, true)).c_str());
  std::fflush(stdout);

  char dir_template[] = "/tmp/tuner-bench-train-XXXXXX";
  if (!mkdtemp(dir_template)) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = dir_template;
  ThreadPool pool(0);
  bool ok = true;
  try {
    int B = fit_batch(o, ops, pool, dir);
    for (bool lora : {false, true}) {
      if (lora ? !o.lora : !o.full) continue;
      for (;;) {
        try {
          ok = run_mode(o, ops, pool, dir, lora, B, peak) && ok;
          break;
        } catch (const TunerError& e) {
          if (e.code() != "cuda_out_of_memory" || B == 1) throw;
          std::printf("%s: batch %d does not fit (%s); trying %d\n", lora ? "lora" : "full", B, e.what(), B / 2);
          B /= 2;
        }
      }
    }
  } catch (const TunerError& e) {
    std::printf("FAILED: %s: %s\n", e.code().c_str(), e.what());
    ok = false;
  }
  std::remove((dir + "/config.json").c_str());
  rmdir(dir.c_str());
  return ok ? 0 : 1;
}
