// tuner-bench-qgemm: the quantized matmul qgemm for every weight format against f32 sgemm on the
// same shapes, measured alternately in one run (each keeps its best of --reps):
//   decode  M = 1: batch-1 matvec, bound by memory bandwidth. Prints the weight bytes streamed
//           per second against this machine's copy bandwidth (memcpy of a 512 MiB buffer over
//           the same threads, read + written bytes per second; a plain read stream is printed
//           too), and the speed-up over sgemm's f32 matvec. Every call reads a different copy
//           of the matrix out of a rotation of at least --cold-mib (256) MiB, so the weights
//           come from memory, as in a model's decode step, not from the last call's cache.
//   prefill M = 512: GFLOP/s (2 M R K per call) against sgemm's.
// Shapes (rows x cols = out x in): a 7B Llama's 4096x4096 and 11008x4096 / 4096x11008, and the
// 41.7M bench model of bench/train-bench.ts (dim 512, ffn 1376, vocab 32000): 512x512,
// 1376x512, 512x1376 and the 32000x512 lm_head.
// --tables instead: every kernel table this CPU runs, one thread, a 256 x 4096 matrix that stays
// in L2, timed by thread CPU time (best of 200): the compute ceiling of each kernel in GB/s of
// weights, which a busy machine disturbs much less than wall-clock bandwidth.
//   tuner-bench-qgemm [--threads N] [--reps 5] [--shapes llama|bench|all] [--m 1,512] [--cold-mib 256]
//   tuner-bench-qgemm --tables
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <ctime>

#include "quant/quant_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/gemm.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

using namespace tuner;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Copy bandwidth in bytes read + written per second, and read-only bandwidth, best of a few
// passes over 512 MiB split over the pool.
void memory_bandwidth(ThreadPool* pool, double* copy, double* read) {
  const size_t n = (size_t)512 << 20;
  std::vector<char> a(n, 1), b(n, 2);
  const size_t per = n / pool->size();
  std::vector<uint64_t> sums(pool->size());
  double best_copy = 1e30, best_read = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    auto t0 = Clock::now();
    parallel_rows(pool, pool->size(), [&](int64_t t0i, int64_t t1i, int) {
      for (int64_t t = t0i; t < t1i; t++) std::memcpy(b.data() + t * per, a.data() + t * per, per);
    });
    best_copy = std::min(best_copy, seconds_since(t0));
    t0 = Clock::now();
    parallel_rows(pool, pool->size(), [&](int64_t t0i, int64_t t1i, int) {
      for (int64_t t = t0i; t < t1i; t++) {
        const uint64_t* p = reinterpret_cast<const uint64_t*>(a.data() + t * per);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i + 4 <= per / 8; i += 4) {
          s0 += p[i];
          s1 += p[i + 1];
          s2 += p[i + 2];
          s3 += p[i + 3];
        }
        sums[t] = s0 + s1 + s2 + s3;
      }
    });
    best_read = std::min(best_read, seconds_since(t0));
  }
  *copy = 2.0 * n / best_copy;
  *read = sums[0] ? n / best_read : 0.0;
}

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int run_tables() {
  const int R = 256, K = 4096;
  const CpuFeatures& f = cpu_features();
  std::vector<const QgemmKernels*> tables = {&qgemm_kernels_generic()};
  const bool avx2 = f.avx2 && f.fma && f.f16c, avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
  if (avx2) tables.push_back(&qgemm_kernels_avx2());
  if (avx512) tables.push_back(&qgemm_kernels_avx512());
  if (avx512 && f.avx512_vnni) tables.push_back(&qgemm_kernels_avx512_vnni());
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> w((size_t)R * K), x(K), y(R);
  for (auto& v : w) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  std::printf("decode kernels, 1 thread, %dx%d weights in L2, GB/s of weights (thread CPU time, best of 200)\n%-5s", R, K, "fmt");
  for (const auto* k : tables) std::printf(" %12s", k->isa);
  std::printf("\n");
  for (int t = 0; t < kQuantTypes; t++) {
    const QuantMatrix q = quantize_matrix(w.data(), R, K, (QuantType)t, nullptr);
    std::printf("%-5s", quant_type_name((QuantType)t));
    for (const auto* k : tables) {
      double best = 1e30;
      for (int rep = 0; rep < 200; rep++) {
        const double t0 = thread_seconds();
        qgemm_with_kernels(*k, y.data(), x.data(), q, 1, false, nullptr);
        best = std::min(best, thread_seconds() - t0);
      }
      std::printf(" %12.1f", q.bytes() / best / 1e9);
    }
    std::printf("\n");
  }
  return 0;
}

struct Shape {
  const char* what;
  int rows, cols;
};

struct Entry {
  std::string name;
  std::vector<QuantMatrix> copies;  // identical matrices, called in turn so that none is cached
  double best = 1e30;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = ThreadPool::hardware_threads(), reps = 5;
  double cold_bytes = 256.0 * (1 << 20);
  std::string shapes = "all";
  std::vector<int> Ms = {1, 512};
  if (argc == 2 && std::string(argv[1]) == "--tables") return run_tables();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads") threads = std::stoi(v);
    else if (k == "--reps") reps = std::stoi(v);
    else if (k == "--shapes") shapes = v;
    else if (k == "--cold-mib") cold_bytes = std::stod(v) * (1 << 20);
    else if (k == "--m") {
      Ms.clear();
      for (size_t p = 0; p < v.size();) {
        const size_t e = v.find(',', p);
        Ms.push_back(std::stoi(v.substr(p, e - p)));
        p = e == std::string::npos ? v.size() : e + 1;
      }
    } else {
      std::fprintf(stderr, "usage: tuner-bench-qgemm [--threads N] [--reps N] [--shapes llama|bench|all] [--m 1,512] [--cold-mib 256] | --tables\n");
      return 2;
    }
  }
  ThreadPool pool(threads);
  double bw = 0, read_bw = 0;
  memory_bandwidth(&pool, &bw, &read_bw);
  std::printf("tuner-bench-qgemm: %d threads, memcpy %.1f GB/s (read + written), read %.1f GB/s, sgemm %s\n", threads,
              bw / 1e9, read_bw / 1e9, sgemm_kernel_name());
  const QuantType types[] = {QuantType::F32, QuantType::F16, QuantType::BF16, QuantType::Q8_0, QuantType::INT8, QuantType::Q4_0, QuantType::NF4};
  for (QuantType t : types) std::printf("  %s\n", qgemm_kernel_name(t).c_str());

  std::vector<Shape> list;
  if (shapes != "bench") list.insert(list.end(), {{"7B attn", 4096, 4096}, {"7B gate/up", 11008, 4096}, {"7B down", 4096, 11008}});
  if (shapes != "llama")
    list.insert(list.end(), {{"41.7M attn", 512, 512}, {"41.7M gate/up", 1376, 512}, {"41.7M down", 512, 1376}, {"41.7M lm_head", 32000, 512}});

  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::printf("\n%-14s %-11s %5s %-5s %9s %8s %7s %8s %8s\n", "shape", "rows x cols", "M", "fmt", "ms", "GB/s", "% copy", "GFLOP/s",
              "vs f32");
  for (const Shape& s : list) {
    std::vector<float> w((size_t)s.rows * s.cols);
    for (auto& v : w) v = dist(rng);
    std::vector<Entry> entries;  // entries[0] is f32: its copies are sgemm's operands too
    for (QuantType t : types) {
      if (s.cols % quant_block_size(t) != 0) continue;  // nf4 needs cols % 64 == 0
      Entry e{quant_type_name(t), {quantize_matrix(w.data(), s.rows, s.cols, t, &pool)}};
      const int n_copies = (int)std::min(4096.0, std::ceil(cold_bytes / (double)e.copies[0].bytes()));
      for (int c = 1; c < n_copies; c++) e.copies.push_back(e.copies[0]);
      entries.push_back(std::move(e));
    }
    const double f32_bytes = 4.0 * s.rows * s.cols;
    for (int M : Ms) {
      std::vector<float> x((size_t)M * s.cols), y((size_t)M * s.rows);
      for (auto& v : x) v = dist(rng) * 50.0f;
      double sgemm_best = 1e30;
      for (auto& e : entries) e.best = 1e30;
      for (int rep = 0; rep < reps; rep++) {
        const auto& f32 = entries[0].copies;
        const float* wf = reinterpret_cast<const float*>(f32[rep % f32.size()].data.data());
        auto t0 = Clock::now();
        sgemm(Trans::N, Trans::T, M, s.rows, s.cols, 1.0f, x.data(), s.cols, wf, s.cols, 0.0f, y.data(), s.rows, &pool);
        sgemm_best = std::min(sgemm_best, seconds_since(t0));
        for (auto& e : entries) {
          const QuantMatrix& q = e.copies[rep % e.copies.size()];
          t0 = Clock::now();
          qgemm(y.data(), x.data(), q, M, false, &pool);
          e.best = std::min(e.best, seconds_since(t0));
        }
      }
      const double flops = 2.0 * M * s.rows * s.cols;
      char dims[32];
      std::snprintf(dims, sizeof dims, "%dx%d", s.rows, s.cols);
      std::printf("%-14s %-11s %5d %-5s %9.3f %8.1f %7.0f %8.1f %8s%s\n", s.what, dims, M, "sgemm", sgemm_best * 1e3,
                  f32_bytes / sgemm_best / 1e9, 100.0 * f32_bytes / sgemm_best / bw, flops / sgemm_best / 1e9, "1.00x", "");
      for (const auto& e : entries) {
        const double bytes = (double)e.copies[0].bytes();
        std::printf("%-14s %-11s %5d %-5s %9.3f %8.1f %7.0f %8.1f %7.2fx\n", "", "", M, e.name.c_str(), e.best * 1e3,
                    bytes / e.best / 1e9, 100.0 * bytes / e.best / bw, flops / e.best / 1e9, sgemm_best / e.best);
      }
    }
  }
  return 0;
}
