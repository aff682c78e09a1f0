// How the GEMM drivers (sgemm's gemm_driver.cpp and gemm_bf16.cpp) share out a product's
// blocks among threads, and scale C when there is nothing to multiply. Both drivers are
// compiled without ISA flags; this header is for them only, not for the per-ISA micro-kernels
// (an inline function instantiated in an AVX-512 object could be the copy the linker keeps).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/threadpool.h"

namespace tuner {

// Runs f(t) for every task t in [0, n) on all of the pool's threads, each claiming the next
// task as it finishes one, so a thread that the OS deschedules (a busy machine, the editor
// running beside the trainer) holds up one task rather than a fixed share of the product.
// What a task computes never depends on the thread that runs it.
template <class F>
void parallel_tasks(ThreadPool* pool, int n, const F& f) {
  std::atomic<int> next{0};
  pool->parallel_for(pool->size(), [&](int64_t, int64_t, int) {
    for (int t = next.fetch_add(1, std::memory_order_relaxed); t < n;
         t = next.fetch_add(1, std::memory_order_relaxed))
      f(t);
  });
}

// Tasks per thread when a loop of `units` (slivers) is shared out: enough that a late thread's
// work is picked up by the others, few enough that each task still packs a sizeable A block.
constexpr int kTasksPerThread = 4;

inline int units_per_task(int units, int threads, int cap) {
  return std::max(1, std::min(cap, ceil_div(units, threads * kTasksPerThread)));
}

// C = beta * C for M rows of N (beta 0 writes zeros, so NaN in C does not survive).
inline void scale_c(float* C, int64_t ldc, int M, int N, float beta) {
  for (int i = 0; i < M; ++i) {
    float* row = C + int64_t(i) * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + N, 0.0f);
    } else if (beta != 1.0f) {
      for (int j = 0; j < N; ++j) row[j] *= beta;
    }
  }
}

}  // namespace tuner
