// tuner-bench-pool: the cost of one ThreadPool::parallel_for against an OpenMP `parallel for`
// (libgomp, measured in the same run) with the same threads, on loops as small as the model's
// per-row kernels. Reports the mean wall time per call in microseconds and the ratio.
//   tuner-bench-pool [--threads 2] [--calls 20000]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tuner/threadpool.h"

using Clock = std::chrono::steady_clock;

namespace {

// A row kernel's worth of work: scale `n` floats. Small enough that the fork-join dominates.
void touch(float* x, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) x[i] = x[i] * 0.999f + 0.001f;
}

template <class F>
double us_per_call(F&& call, int calls) {
  call();
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) call();
    best = std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / calls);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, calls = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--calls") calls = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: tuner-bench-pool [--threads 2] [--calls 20000]\n");
      return 2;
    }
  }
  tuner::ThreadPool pool(threads);
  omp_set_num_threads(threads);
  std::printf("threads=%d, best of 5 rounds of %d back-to-back calls\n", threads, calls);
  std::printf("%10s %14s %14s %7s\n", "elements", "pool us/call", "openmp us/call", "ratio");
  for (int64_t n : {int64_t(2), int64_t(1024), int64_t(16384), int64_t(262144)}) {
    std::vector<float> x(n, 1.0f);
    float* p = x.data();
    const double ours = us_per_call([&] { pool.parallel_for(n, [&](int64_t b, int64_t e, int) { touch(p, b, e); }); }, calls);
    const double omp = us_per_call([&] {
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < threads; ++t) touch(p, n * t / threads, n * (t + 1) / threads);
    }, calls);
    std::printf("%10lld %14.3f %14.3f %7.2f\n", (long long)n, ours, omp, omp / ours);
  }
  return 0;
}
