// What the GEMM drivers (sgemm's gemm_driver.cpp and gemm_bf16.cpp) share: the blocked loop
// nest, how it deals a product's blocks out to threads, and scaling C when there is nothing to
// multiply. Both drivers are compiled without ISA flags; this header is for them only, not for
// the per-ISA micro-kernels (an inline function instantiated in an AVX-512 object could be the
// copy the linker keeps).
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

// MR-row slivers per row task: tasks as close to a whole A block (cap slivers) as an equal share
// per thread allows, and at least kMinRowTasksPerThread per thread. Each task streams the whole B
// panel once per A block it packs, so halving the rows of a task doubles the B traffic per
// flop (measured: 4-7% on M = 1024 products at two threads); a task count that is a multiple of
// the thread count keeps threads of equal speed finishing together.
constexpr int kMinRowTasksPerThread = 2;
inline int row_task_slivers(int m_slivers, int threads, int cap) {
  const int per_thread = std::max(kMinRowTasksPerThread, ceil_div(m_slivers, threads * cap));
  return std::max(1, ceil_div(m_slivers, threads * per_thread));
}

// The cache blocks and register tile of one product (sgemm's GemmKernel, gemm_bf16's plan).
struct GemmBlocking {
  int mr, nr;      // register tile
  int mc, kc, nc;  // A block mc x kc (L2), B panel kc x nc (L3)
};

// The loop nest of both drivers (BLIS / GotoBLAS), for a product with K > 0:
//   for jc over N by nc:          B panel, shared by all threads (L3)
//     for pc over K by kc:        one rank-kc update of C (beta on the first, then 1)
//       panel(n_slivers, kc)      -> the panel's buffer (this thread's scratch)
//       pack_b(bpack, pc, kc, jc, nc, s0, s1)      threads pack disjoint NR slivers
//       compute(bpack, jc, nc, pc, kc, beta, m0, m1, s0, s1): rows [m0, m1) of C against B
//         slivers [s0, s1), packing its own A blocks.
// Threads take whole MR-row slivers (or, when M is small, whole NR-column slivers), never K,
// so every element of C is summed in the same order for any thread count. What differs
// between the drivers (packed formats, micro-kernels) lives in the three callables, which
// inline here, so sharing the loop costs nothing.
template <class Panel, class PackB, class Compute>
void blocked_gemm(const GemmBlocking& g, int M, int N, int K, float beta, ThreadPool* pool, const Panel& panel,
                  const PackB& pack_b, const Compute& compute) {
  const int threads = pool ? pool->size() : 1;
  const int m_slivers = ceil_div(M, g.mr);
  // Split rows when every thread gets a few slivers of A; else split columns of B.
  const bool split_rows = threads == 1 || m_slivers >= 4 * threads;
  for (int jc = 0; jc < N; jc += g.nc) {
    const int nc = std::min(g.nc, N - jc);
    const int n_slivers = ceil_div(nc, g.nr);
    for (int pc = 0; pc < K; pc += g.kc) {
      const int kc = std::min(g.kc, K - pc);
      const float beta_k = pc == 0 ? beta : 1.0f;
      auto* bpack = panel(n_slivers, kc);
      if (threads == 1) {
        pack_b(bpack, pc, kc, jc, nc, 0, n_slivers);
        compute(bpack, jc, nc, pc, kc, beta_k, 0, M, 0, n_slivers);
        continue;
      }
      const int b_step = units_per_task(n_slivers, threads, n_slivers);
      parallel_tasks(pool, ceil_div(n_slivers, b_step), [&](int t) {
        pack_b(bpack, pc, kc, jc, nc, t * b_step, std::min(n_slivers, (t + 1) * b_step));
      });
      if (split_rows) {
        // Row tasks of at most one A block (mc rows).
        const int step = row_task_slivers(m_slivers, threads, g.mc / g.mr);
        parallel_tasks(pool, ceil_div(m_slivers, step), [&](int t) {
          compute(bpack, jc, nc, pc, kc, beta_k, t * step * g.mr, std::min(M, (t + 1) * step * g.mr), 0, n_slivers);
        });
      } else {
        parallel_tasks(pool, ceil_div(n_slivers, b_step), [&](int t) {
          compute(bpack, jc, nc, pc, kc, beta_k, 0, M, t * b_step, std::min(n_slivers, (t + 1) * b_step));
        });
      }
    }
  }
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
