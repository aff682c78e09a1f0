// gemm_bf16 against our f32 sgemm and PyTorch's bf16 matmul (oneDNN), in the same run, on the
// products of a training step of the benchmark model (bench/train-bench.ts: C 512, F 1376,
// V 32000, B*T 1024 rows) in their three layouts (forward X W^T, dX = dY W, dW = dY^T X), plus a
// large square. Ours run alternately (bf16, f32, bf16, ...) so both see the same machine load;
// the best of --reps calls counts. PyTorch runs after ours in a child python3 (Debian's
// python3-torch), with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment so it
// picks its own best kernels for this CPU. Prints GFLOP/s and the ratios bf16 / f32 and
// bf16 / torch bf16; speeds on a shared machine mean something only as such ratios. Where B is a
// weight (forward X W^T, dX = dY W), also B packed once (pack_bf16_b, a LoRA run's frozen weights)
// against the same product packing B per call, both with f32 activations as training has them,
// alternating with the others.
// Beside those, each product of a step as the step calls it (`in a step`: f32 activations rounded
// while packed, bf16 weights, weight gradients added into f32 gradients; the LM head's backward on
// dlogits rounded to bf16 once) and the same call right after a sweep over a buffer larger than
// the caches (`from memory`), which is how a step meets most of its operands: a layer's
// activations were written long before its backward reads them, and each gradient was last
// touched by the optimizer. Their ratio is what the caches were worth to the product.
// --cpu-time times ours by the process's CPU time instead of wall time (with --threads 1, the
// work itself, which other programs on a busy machine do not stretch).
// Usage: tuner-bench-gemm-bf16 [--threads N] [--reps R] [--skip-torch] [--cpu-time]
#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "tuner/cpu_features.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

// The operands of a product as a training step passes them (llama_forward.cpp, linear.cpp,
// llama_backward.cpp): f32 activations and bf16 weights (forward, input gradients), f32
// activations added into an f32 gradient (weight gradients), or dlogits already rounded to bf16
// (the LM head's backward: bf16 weights for dX, f32 activations added into the gradient for dE).
enum class StepOperands { None, ActWeight, ActAct, LogitsWeight, LogitsAct };

struct Shape {
  const char* what;
  Trans ta, tb;
  int M, N, K;
  bool weight;  // B is a weight (what a LoRA run packs once)
  StepOperands step;
};

// Evicts the caches: writes a buffer of 256 MiB (beyond the last-level cache of the CPUs this
// runs on), so the next product reads its operands and C from memory.
void evict_caches() {
  static std::vector<char> sweep(size_t(256) << 20);
  for (size_t i = 0; i < sweep.size(); i += 64) sweep[i] = char(sweep[i] + 1);
}

bool g_cpu_time = false;

double now_seconds() {
  if (!g_cpu_time) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double seconds_of(const std::function<void()>& f) {
  const double t0 = now_seconds();
  f();
  return now_seconds() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = ThreadPool::hardware_threads(), reps = 10;
  bool torch = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--skip-torch")) torch = false;
    else if (!std::strcmp(argv[i], "--cpu-time")) g_cpu_time = true;
    else {
      std::fprintf(stderr, "usage: tuner-bench-gemm-bf16 [--threads N] [--reps R] [--skip-torch] [--cpu-time]\n");
      return 2;
    }
  }
  const Trans N = Trans::N, T = Trans::T;
  const int rows = 1024, C = 512, F = 1376, V = 32000;
  const StepOperands AW = StepOperands::ActWeight, AA = StepOperands::ActAct;
  const Shape shapes[] = {
      {"q/k/v/o fwd   X W^T", N, T, rows, C, C, true, AW},   {"q/k/v/o dX    dY W", N, N, rows, C, C, true, AW},
      {"q/k/v/o dW    dY^T X", T, N, C, C, rows, false, AA}, {"gate/up fwd   X W^T", N, T, rows, F, C, true, AW},
      {"gate/up dX    dY W", N, N, rows, C, F, true, AW},    {"gate/up dW    dY^T X", T, N, F, C, rows, false, AA},
      {"down fwd      X W^T", N, T, rows, C, F, true, AW},   {"down dX       dY W", N, N, rows, F, C, true, AW},
      {"down dW       dY^T X", T, N, C, F, rows, false, AA}, {"lm_head fwd   X E^T", N, T, rows, V, C, true, AW},
      {"lm_head dX    dL E", N, N, rows, C, V, true, StepOperands::LogitsWeight},
      {"lm_head dE    dL^T X", T, N, V, C, rows, false, StepOperands::LogitsAct},
      {"square 2048", N, N, 2048, 2048, 2048, false, StepOperands::None},
  };
  ThreadPool pool(threads);
  const CpuFeatures& f = cpu_features();
  std::printf("CPU: avx2 %d avx512f %d avx512_bf16 %d; threads %d; gemm_bf16 kernel %s, sgemm kernel %s; timed by %s\n", f.avx2,
              f.avx512f, f.avx512_bf16, threads, gemm_bf16_kernel_name(), sgemm_kernel_name(), g_cpu_time ? "process CPU time" : "wall time");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<double> ours_bf16, ours_f32, per_call, packed_once, in_step, from_memory;
  for (const Shape& s : shapes) {
    const int64_t na = int64_t(s.M) * s.K, nb = int64_t(s.K) * s.N;
    std::vector<float> A(na), B(nb), Cf(int64_t(s.M) * s.N), Cb(Cf.size());
    for (auto& x : A) x = dist(rng);
    for (auto& x : B) x = dist(rng);
    std::vector<uint16_t> Ab(na), Bb(nb);
    round_to_bf16(Ab.data(), A.data(), na, &pool);
    round_to_bf16(Bb.data(), B.data(), nb, &pool);
    const int lda = s.ta == N ? s.K : s.M, ldb = s.tb == N ? s.N : s.K;
    Bf16PackedB packed;
    const bool pack = s.weight && pack_bf16_b(packed, s.tb, s.K, s.N, B.data(), ldb, 0, &pool);
    // The call a step makes (StepOperands); gradients accumulate (beta 1).
    const auto step_call = [&] {
      switch (s.step) {
        case StepOperands::ActWeight:
          return gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, Bb.data(), ldb, 0.0f, Cb.data(), s.N, &pool);
        case StepOperands::ActAct:
          return gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 1.0f, Cb.data(), s.N, &pool);
        case StepOperands::LogitsWeight:
          return gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.0f, Ab.data(), lda, Bb.data(), ldb, 0.0f, Cb.data(), s.N, &pool);
        case StepOperands::LogitsAct:
          return gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.0f, Ab.data(), lda, B.data(), ldb, 1.0f, Cb.data(), s.N, &pool);
        case StepOperands::None: return;
      }
    };
    double best_b = 1e30, best_f = 1e30, best_call = 1e30, best_once = 1e30, best_step = 1e30, best_memory = 1e30;
    const int r = s.M >= 2048 || s.N > 4096 || s.K > 4096 ? std::max(2, reps / 3) : reps;
    for (int i = 0; i <= r; ++i) {  // the first call of each warms up
      const double tb = seconds_of([&] { gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.0f, Ab.data(), lda, Bb.data(), ldb, 0.0f, Cb.data(), s.N, &pool); });
      const double tf = seconds_of([&] { sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, Cf.data(), s.N, &pool); });
      if (i > 0) best_b = std::min(best_b, tb), best_f = std::min(best_f, tf);
      if (s.step != StepOperands::None) {
        const double ts = seconds_of(step_call);
        evict_caches();
        const double tm = seconds_of(step_call);
        if (i > 0) best_step = std::min(best_step, ts), best_memory = std::min(best_memory, tm);
      }
      if (!pack) continue;
      const Bf16KTail none{};
      const double tc = seconds_of([&] { gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), lda, Bb.data(), ldb, none, 0.0f, Cb.data(), s.N, &pool); });
      const double to = seconds_of([&] { gemm_bf16(s.ta, s.M, 1.0f, A.data(), lda, packed, none, 0.0f, Cb.data(), s.N, &pool); });
      if (i > 0) best_call = std::min(best_call, tc), best_once = std::min(best_once, to);
    }
    const double flops = 2.0 * s.M * s.N * s.K;
    ours_bf16.push_back(flops / best_b / 1e9);
    ours_f32.push_back(flops / best_f / 1e9);
    per_call.push_back(pack ? flops / best_call / 1e9 : 0.0);
    packed_once.push_back(pack ? flops / best_once / 1e9 : 0.0);
    in_step.push_back(s.step != StepOperands::None ? flops / best_step / 1e9 : 0.0);
    from_memory.push_back(s.step != StepOperands::None ? flops / best_memory / 1e9 : 0.0);
  }
  std::vector<double> torch_bf16(sizeof(shapes) / sizeof(shapes[0]), 0.0), torch_f32 = torch_bf16;
  std::string torch_name = "skipped";
  if (torch) {
    std::string cmd = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=" + std::to_string(threads) +
                      " OMP_NUM_THREADS=" + std::to_string(threads) + " /usr/bin/python3 " TUNER_BENCH_DIR "/gemm_bf16_torch.py " +
                      std::to_string(threads) + " " + std::to_string(reps);
    for (const Shape& s : shapes)
      cmd += std::string(" ") + (s.ta == N ? "N" : "T") + "," + (s.tb == N ? "N" : "T") + "," + std::to_string(s.M) + "," +
             std::to_string(s.N) + "," + std::to_string(s.K);
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char line[256];
      size_t i = 0;
      if (std::fgets(line, sizeof line, p)) torch_name = std::string(line, strcspn(line, "\n"));
      while (i < torch_bf16.size() && std::fgets(line, sizeof line, p))
        if (std::sscanf(line, "%lf %lf", &torch_bf16[i], &torch_f32[i]) == 2) ++i;
      if (pclose(p) != 0 || i < torch_bf16.size()) torch_name = "failed (python3 with torch needed: apt-get install python3-torch)";
    }
  }
  std::printf("peer: %s\n\n", torch_name.c_str());
  std::printf("%-22s %5s %5s %5s | %9s %9s %7s | %10s %9s %9s | %9s %9s %7s | %9s %9s %7s\n", "product", "M", "N", "K", "bf16",
              "f32", "bf16/f32", "torch bf16", "torch f32", "bf16/torch", "B packed", "B packed", "once/", "in a step",
              "from", "memory/");
  std::printf("%-22s %5s %5s %5s | %9s %9s %7s | %10s %9s %9s | %9s %9s %7s | %9s %9s %7s\n", "", "", "", "", "GFLOP/s",
              "GFLOP/s", "", "GFLOP/s", "GFLOP/s", "bf16", "per call", "once", "call", "GFLOP/s", "memory", "cache");
  for (size_t i = 0; i < ours_bf16.size(); ++i) {
    const Shape& s = shapes[i];
    std::printf("%-22s %5d %5d %5d | %9.1f %9.1f %6.2fx", s.what, s.M, s.N, s.K, ours_bf16[i], ours_f32[i], ours_bf16[i] / ours_f32[i]);
    if (torch_bf16[i] > 0) std::printf(" | %10.1f %9.1f %8.2fx", torch_bf16[i], torch_f32[i], ours_bf16[i] / torch_bf16[i]);
    else std::printf(" | %10s %9s %9s", "-", "-", "-");
    if (packed_once[i] > 0) std::printf(" | %9.1f %9.1f %6.2fx", per_call[i], packed_once[i], packed_once[i] / per_call[i]);
    else std::printf(" | %9s %9s %7s", "-", "-", "-");
    if (in_step[i] > 0) std::printf(" | %9.1f %9.1f %6.2fx\n", in_step[i], from_memory[i], from_memory[i] / in_step[i]);
    else std::printf(" | %9s %9s %7s\n", "-", "-", "-");
  }
  return 0;
}
