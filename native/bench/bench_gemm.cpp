// tuner-bench-gemm: GFLOP/s of Tuner's sgemm against OpenBLAS (loaded at run time, when the
// system has libopenblas.so.0) on the shapes a training step runs and on square sizes, with
// 1 and 2 threads (or --threads), plus this CPU's measured FMA peak for "% of peak".
//   tuner-bench-gemm [--threads 1,2] [--shapes train|square|all] [--seconds 0.3] [--json]
//                    [--filter TEXT] [--cold] [--blocks mc,kc,nc] [--cpu-time]   (the last two: tuning)
// --blocked turns the skinny path off (gemm_skinny.cpp), to compare it with the blocked one.
// --cold gives every call its own copy of A, B and C out of a rotation larger than the L3 cache,
// as in a training step where each layer's weights and activations were last touched long ago;
// the default reuses one set, which stays in cache.
// Both libraries multiply the same matrices; the largest difference between their results is
// printed too, so a fast but wrong kernel cannot pass unnoticed.
// The peer runs its own best kernels for this CPU: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (set on
// some machines for old OpenBLAS builds, which would make OpenBLAS run e.g. its Haswell kernels on
// an AVX-512 CPU) are removed from this process before OpenBLAS is loaded; --peer-env keeps them.
// The CPU (model, features) and the peer's kernel (openblas_get_corename) head the output.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/hardware_info.h"
#include "tuner/gemm.h"
#include "tuner/threadpool.h"

namespace tuner_bench {
float fma_loop_avx2(int64_t iterations);
float fma_loop_avx512(int64_t iterations);
}  // namespace tuner_bench

using namespace tuner;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  const char* what;
  Trans ta, tb;
  int M, N, K;
};

// A dim-512, hidden-1376, vocab-32000 Llama at batch x seq = 1024 tokens (weights stored
// [out, in] as in Hugging Face): forward X W^T (NT), input grads dY W (NN), weight grads
// dY^T X (TN); plus a dim-2048 layer.
const Shape kTrainShapes[] = {
    {"q/o proj fwd", Trans::N, Trans::T, 1024, 512, 512},
    {"gate/up fwd", Trans::N, Trans::T, 1024, 1376, 512},
    {"down fwd", Trans::N, Trans::T, 1024, 512, 1376},
    {"lm_head fwd", Trans::N, Trans::T, 1024, 32000, 512},
    {"gate/up dX", Trans::N, Trans::N, 1024, 512, 1376},
    {"lm_head dX", Trans::N, Trans::N, 1024, 512, 32000},
    {"gate/up dW", Trans::T, Trans::N, 1376, 512, 1024},
    {"lm_head dW", Trans::T, Trans::N, 32000, 512, 1024},
    {"dim2048 fwd", Trans::N, Trans::T, 1024, 2048, 2048},
    {"dim2048 dW", Trans::T, Trans::N, 2048, 2048, 1024},
    // One (batch, head) of attention at T = 256, head dim 64 (single-threaded inside a task).
    {"attn QK^T", Trans::N, Trans::T, 256, 256, 64},
    {"attn PV", Trans::N, Trans::N, 256, 64, 256},
    {"attn dV", Trans::T, Trans::N, 256, 64, 256},
    // LoRA rank 8 on a 512 x 512 projection (and 512 -> 1376 for the N = out shapes):
    // forward t = x A^T and y += s t B^T; backward dB += s dy^T t, dt = s dy B, dA += dt^T x,
    // dx += dt A.
    {"lora xA^T", Trans::N, Trans::T, 1024, 8, 512},
    {"lora tB^T", Trans::N, Trans::T, 1024, 1376, 8},
    {"lora dB", Trans::T, Trans::N, 1376, 8, 1024},
    {"lora dB", Trans::T, Trans::N, 512, 8, 1024},
    {"lora dt", Trans::N, Trans::N, 1024, 8, 1376},
    {"lora dA", Trans::T, Trans::N, 8, 512, 1024},
    {"lora dx", Trans::N, Trans::N, 1024, 512, 8},
};
const Shape kSquareShapes[] = {
    {"square", Trans::N, Trans::N, 256, 256, 256},
    {"square", Trans::N, Trans::N, 512, 512, 512},
    {"square", Trans::N, Trans::N, 1024, 1024, 1024},
    {"square", Trans::N, Trans::N, 2048, 2048, 2048},
};

// OpenBLAS's CBLAS interface, resolved with dlsym so the build needs no BLAS.
using CblasSgemm = void (*)(int order, int ta, int tb, int M, int N, int K, float alpha,
                            const float* A, int lda, const float* B, int ldb, float beta, float* C,
                            int ldc);
using SetThreads = void (*)(int);
using GetName = char* (*)();
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

struct OpenBlas {
  CblasSgemm sgemm = nullptr;
  SetThreads set_threads = nullptr;
  std::string corename = "?", config = "?";
  bool load() {
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return false;
    sgemm = reinterpret_cast<CblasSgemm>(dlsym(lib, "cblas_sgemm"));
    set_threads = reinterpret_cast<SetThreads>(dlsym(lib, "openblas_set_num_threads"));
    if (auto name = reinterpret_cast<GetName>(dlsym(lib, "openblas_get_corename"))) corename = name();
    if (auto conf = reinterpret_cast<GetName>(dlsym(lib, "openblas_get_config"))) config = conf();
    return sgemm != nullptr;
  }
};

// The instruction sets the kernels choose between, as detected (TUNER_CPU_LIMIT applies).
std::string cpu_feature_list() {
  const CpuFeatures& f = cpu_features();
  std::string s;
  auto add = [&](bool has, const char* name) {
    if (has) s += std::string(s.empty() ? "" : " ") + name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.avx512f, "avx512f");
  add(f.avx512bw && f.avx512dq && f.avx512vl, "avx512bw/dq/vl");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx512_bf16, "avx512_bf16");
  return s.empty() ? "no AVX2" : s;
}

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return buf;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// --cpu-time (1 thread only): time calls by this thread's CPU time, so time slices given to
// other processes on a busy machine do not count. For tuning; reported figures use wall time.
bool g_cpu_time = false;

double timer_s() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// Best-of time per call: repeat until `budget` seconds are spent (at least 3 calls), after one
// warm-up call; the minimum is the least disturbed by other processes on a shared machine.
template <class F>
double best_seconds(F&& call, double budget) {
  call();
  double best = 1e30;
  const auto start = Clock::now();
  for (int rep = 0; rep < 3 || seconds_since(start) < budget; ++rep) {
    const double t0 = timer_s();
    call();
    best = std::min(best, timer_s() - t0);
    if (rep > 500) break;
  }
  return best;
}

// Best-of times of two calls run alternately, so both see the same background load and the
// ratio stays fair on a busy machine.
template <class F, class G>
void best_seconds_pair(F&& first, G&& second, double budget, double& best_first, double& best_second) {
  first();
  second();
  best_first = best_second = 1e30;
  const auto start = Clock::now();
  for (int rep = 0; rep < 3 || seconds_since(start) < budget; ++rep) {
    double t0 = timer_s();
    first();
    best_first = std::min(best_first, timer_s() - t0);
    t0 = timer_s();
    second();
    best_second = std::min(best_second, timer_s() - t0);
    if (rep > 500) break;
  }
}

// Measured FMA peak of `threads` cores running the FMA loop at once, in GFLOP/s.
double fma_peak_gflops(ThreadPool& pool) {
  const CpuFeatures& f = cpu_features();
  const bool wide = f.avx512f;
  if (!wide && !(f.avx2 && f.fma)) return 0.0;
  // Short rounds (a few ms): the best of many is the unloaded rate even on a busy machine.
  const int64_t iterations = 1'000'000;
  const double flops_per_thread = double(iterations) * 12 * (wide ? 16 : 8) * 2;
  volatile float sink = 0;
  const double t = best_seconds(
      [&] {
        pool.parallel_for(pool.size(), [&](int64_t, int64_t, int) {
          sink = wide ? tuner_bench::fma_loop_avx512(iterations) : tuner_bench::fma_loop_avx2(iterations);
        });
      },
      0.3);
  return flops_per_thread * pool.size() / t / 1e9;
}

struct Options {
  std::vector<int> threads = {1, 2};
  std::string shapes = "all";
  double seconds = 0.3;
  bool json = false;
  std::string filter;            // only shapes whose label contains this
  bool cold = false;             // operands out of cache on every call
  bool blocked = false;          // no skinny path
  bool peer_env = false;         // keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the peer
  int mc = 0, kc = 0, nc = 0;    // override the kernel's cache blocks (tuning)
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tuner-bench-gemm: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") {
      o.threads.clear();
      const std::string v = value();
      for (size_t p = 0; p < v.size();) {
        const size_t comma = v.find(',', p);
        o.threads.push_back(std::max(1, std::atoi(v.substr(p, comma - p).c_str())));
        p = comma == std::string::npos ? v.size() : comma + 1;
      }
    } else if (a == "--shapes") {
      o.shapes = value();
    } else if (a == "--seconds") {
      o.seconds = std::atof(value().c_str());
    } else if (a == "--filter") {
      o.filter = value();
    } else if (a == "--blocks") {
      if (std::sscanf(value().c_str(), "%d,%d,%d", &o.mc, &o.kc, &o.nc) != 3) {
        std::fprintf(stderr, "tuner-bench-gemm: --blocks wants mc,kc,nc\n");
        std::exit(2);
      }
    } else if (a == "--blocked") {
      o.blocked = true;
    } else if (a == "--peer-env") {
      o.peer_env = true;
    } else if (a == "--cold") {
      o.cold = true;
    } else if (a == "--cpu-time") {
      g_cpu_time = true;
    } else if (a == "--json") {
      o.json = true;
    } else {
      std::fprintf(stderr,
                   "usage: tuner-bench-gemm [--threads 1,2] [--shapes train|square|all] "
                   "[--seconds 0.3] [--filter TEXT] [--cold] [--blocked] [--blocks mc,kc,nc] [--cpu-time] "
                   "[--peer-env] [--json]\n");
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  if (g_cpu_time && opt.threads != std::vector<int>{1}) {
    std::fprintf(stderr, "tuner-bench-gemm: --cpu-time measures one thread; use it with --threads 1\n");
    return 2;
  }
  // OpenBLAS reads these when it is loaded: without them it picks its kernels from cpuid.
  std::string peer_env_note = "";
  for (const char* var : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}) {
    if (const char* v = std::getenv(var)) {
      peer_env_note += std::string(peer_env_note.empty() ? "" : ", ") + var + "=" + v;
      if (!opt.peer_env) unsetenv(var);
    }
  }
  if (!peer_env_note.empty()) peer_env_note = (opt.peer_env ? "kept " : "removed for the peer: ") + peer_env_note;
  OpenBlas blas;
  const bool have_blas = blas.load();
  std::vector<Shape> shapes;
  if (opt.shapes == "train" || opt.shapes == "all") shapes.insert(shapes.end(), std::begin(kTrainShapes), std::end(kTrainShapes));
  if (opt.shapes == "square" || opt.shapes == "all") shapes.insert(shapes.end(), std::begin(kSquareShapes), std::end(kSquareShapes));

  GemmKernel kernel = gemm_kernel_best();
  if (opt.mc > 0) {
    kernel.mc = (opt.mc + kernel.mr - 1) / kernel.mr * kernel.mr;
    kernel.kc = opt.kc;
    kernel.nc = (opt.nc + kernel.nr - 1) / kernel.nr * kernel.nr;
  }
  if (opt.blocked) kernel.skinny = nullptr;
  if (!opt.filter.empty()) {
    std::vector<Shape> kept;
    for (const Shape& s : shapes) {
      char label[96];
      std::snprintf(label, sizeof label, "%s %dx%dx%d", s.what, s.M, s.N, s.K);
      if (std::strstr(label, opt.filter.c_str())) kept.push_back(s);
    }
    shapes = kept;
  }
  if (!opt.json) {
    std::printf("sgemm kernel: %s (mc=%d kc=%d nc=%d)%s", kernel.name, kernel.mc, kernel.kc, kernel.nc,
                opt.cold ? ", operands cold (a new copy per call)" : "");
    if (opt.blocked) std::printf("; skinny path off");
    const CacheSizes& caches = cpu_cache_sizes();
    std::printf("\ncpu: %s; %s; L1d %lld KiB, L2 %lld KiB, L3 %lld KiB\n", probe_hardware().cpu_model.c_str(),
                cpu_feature_list().c_str(), (long long)(caches.l1d >> 10), (long long)(caches.l2 >> 10),
                (long long)(caches.l3 >> 10));
    if (have_blas)
      std::printf("peer: OpenBLAS cblas_sgemm, kernel %s (%s)%s%s\n", blas.corename.c_str(), blas.config.c_str(),
                  peer_env_note.empty() ? "" : "; ", peer_env_note.c_str());
    else
      std::printf("peer: none (libopenblas.so.0 not found)\n");
    std::printf("load average: %s\n", load_average().c_str());
  }
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int threads : opt.threads) {
    ThreadPool pool(threads);
    if (have_blas && blas.set_threads) blas.set_threads(threads);
    const double peak = fma_peak_gflops(pool);
    if (opt.json) {
      std::printf("{\"type\":\"peak\",\"threads\":%d,\"fma_peak_gflops\":%.2f,\"kernel\":\"%s\",\"peer_kernel\":\"%s\","
                  "\"cpu\":\"%s\",\"features\":\"%s\"}\n",
                  threads, peak, sgemm_kernel_name(), have_blas ? blas.corename.c_str() : "", probe_hardware().cpu_model.c_str(),
                  cpu_feature_list().c_str());
    } else {
      std::printf("\nthreads=%d  measured FMA peak %.1f GFLOP/s  (load average %s)\n", threads, peak,
                  load_average().c_str());
      std::printf("%-14s %2s %6s %6s %6s %10s %10s %7s %7s %9s\n", "shape", "op", "M", "N", "K",
                  "ours GF/s", "oblas GF/s", "ratio", "%peak", "max diff");
    }
    for (const Shape& s : shapes) {
      const int a_rows = s.ta == Trans::N ? s.M : s.K, a_cols = s.ta == Trans::N ? s.K : s.M;
      const int b_rows = s.tb == Trans::N ? s.K : s.N, b_cols = s.tb == Trans::N ? s.N : s.K;
      // One operand set, or (--cold) enough copies that cycling through them evicts each one
      // from a 64 MiB cache before its next use. Ours and the peer each get their own C.
      const size_t a_size = size_t(a_rows) * a_cols, b_size = size_t(b_rows) * b_cols;
      const size_t c_size = size_t(s.M) * s.N;
      const size_t set_bytes = sizeof(float) * (a_size + b_size + 2 * c_size);
      const size_t sets = opt.cold ? std::max<size_t>(2, (size_t(128) << 20) / set_bytes + 1) : 1;
      std::vector<float> A(a_size * sets), B(b_size * sets), C(c_size * sets), C_peer(c_size * sets);
      for (size_t i = 0; i < a_size; ++i) A[i] = dist(rng);
      for (size_t i = 0; i < b_size; ++i) B[i] = dist(rng);
      for (size_t k = 1; k < sets; ++k) {
        std::copy(A.begin(), A.begin() + a_size, A.begin() + k * a_size);
        std::copy(B.begin(), B.begin() + b_size, B.begin() + k * b_size);
      }
      size_t set_ours = 0, set_peer = 0;
      const double flops = 2.0 * s.M * s.N * s.K;
      auto run_ours = [&] {
        const size_t k = set_ours++ % sets;
        sgemm_with_kernel(kernel, s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data() + k * a_size, a_cols,
                          B.data() + k * b_size, b_cols, 0.0f, C.data() + k * c_size, s.N, &pool);
      };
      double ours = 0, peer = 0, max_diff = 0;
      if (have_blas) {
        auto run_peer = [&] {
          const size_t k = set_peer++ % sets;
          blas.sgemm(kCblasRowMajor, s.ta == Trans::N ? kCblasNoTrans : kCblasTrans,
                     s.tb == Trans::N ? kCblasNoTrans : kCblasTrans, s.M, s.N, s.K, 1.0f,
                     A.data() + k * a_size, a_cols, B.data() + k * b_size, b_cols, 0.0f,
                     C_peer.data() + k * c_size, s.N);
        };
        double t_ours, t_peer;
        best_seconds_pair(run_ours, run_peer, opt.seconds, t_ours, t_peer);
        ours = flops / t_ours / 1e9;
        peer = flops / t_peer / 1e9;
        for (size_t i = 0; i < c_size; ++i) max_diff = std::max(max_diff, double(std::fabs(C[i] - C_peer[i])));
      } else {
        ours = flops / best_seconds(run_ours, opt.seconds) / 1e9;
      }
      const char* op = s.ta == Trans::N ? (s.tb == Trans::N ? "NN" : "NT") : (s.tb == Trans::N ? "TN" : "TT");
      if (opt.json) {
        std::printf("{\"type\":\"gemm\",\"threads\":%d,\"shape\":\"%s\",\"op\":\"%s\",\"M\":%d,\"N\":%d,\"K\":%d,"
                    "\"ours_gflops\":%.2f,\"openblas_gflops\":%.2f,\"fma_peak_gflops\":%.2f}\n",
                    threads, s.what, op, s.M, s.N, s.K, ours, peer, peak);
      } else {
        std::printf("%-14s %2s %6d %6d %6d %10.1f %10.1f %7.2f %6.0f%% %9.2g\n", s.what, op, s.M, s.N,
                    s.K, ours, peer, have_blas ? ours / peer : 0.0, peak > 0 ? 100 * ours / peak : 0.0, max_diff);
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
