// measure_gemm_throughput (include/tuner/gemm_throughput.h): times sgemm as training calls it
// for one linear of a small decoder, so the figure includes the threading and packing the
// trainer pays, not a kernel's peak.
#include "tuner/gemm_throughput.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "tuner/gemm.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {
// A micro-batch of 512 tokens through a 1024 x 1024 projection (a 0.5B-class decoder's
// attention): 1.07 GFLOP per product, 5-30 ms a round of three on current CPUs, so a 200 ms
// budget times several rounds, and large enough that every thread of the pool gets whole
// kernel tiles.
constexpr int kTokens = 512, kOut = 1024, kIn = 1024;
}  // namespace

GemmThroughput measure_gemm_throughput(int threads, double budget_ms) {
  ThreadPool pool(threads);
  // x[T, in], w[out, in], y[T, out], dx[T, in], dw[out, in]: small values, no denormals.
  std::vector<float> x((size_t)kTokens * kIn), w((size_t)kOut * kIn), y((size_t)kTokens * kOut), dx(x.size()), dw(w.size());
  for (size_t i = 0; i < x.size(); i++) x[i] = (float)((i * 7919) % 251) / 251.0f - 0.5f;
  for (size_t i = 0; i < w.size(); i++) w[i] = (float)((i * 104729) % 241) / 2410.0f - 0.05f;
  auto round = [&] {
    // forward y = x W^T; backward dx = dy W (dy stands in as y) and dW = dy^T x.
    sgemm(Trans::N, Trans::T, kTokens, kOut, kIn, 1.0f, x.data(), kIn, w.data(), kIn, 0.0f, y.data(), kOut, &pool);
    sgemm(Trans::N, Trans::N, kTokens, kIn, kOut, 1.0f, y.data(), kOut, w.data(), kIn, 0.0f, dx.data(), kIn, &pool);
    sgemm(Trans::T, Trans::N, kOut, kIn, kTokens, 1.0f, y.data(), kOut, x.data(), kIn, 0.0f, dw.data(), kIn, &pool);
  };
  const double flops_per_round = 3.0 * 2.0 * kTokens * kOut * kIn;
  round();  // warm-up: pages touched, pool threads started, packing buffers allocated
  std::vector<double> seconds;
  const auto start = std::chrono::steady_clock::now();
  double elapsed_ms = 0;
  while (seconds.size() < 2 || elapsed_ms < budget_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    round();
    const auto t1 = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
    elapsed_ms = std::chrono::duration<double, std::milli>(t1 - start).count();
    if (seconds.size() >= 1000) break;
  }
  GemmThroughput r;
  r.threads = pool.size();
  r.rounds = (int)seconds.size();
  r.ms = elapsed_ms;
  r.kernel = sgemm_kernel_name();
  r.shape = std::to_string(kTokens) + "x" + std::to_string(kOut) + "x" + std::to_string(kIn);
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  r.gflops = flops_per_round / sorted[sorted.size() / 2] / 1e9;
  r.best_gflops = flops_per_round / sorted.front() / 1e9;
  return r;
}

}  // namespace tuner
