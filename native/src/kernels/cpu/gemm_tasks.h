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
// A thread that claims a task first calls prepare() once, and passes what it returns to each of
// its tasks: f(state, t). What a task computes never depends on the thread that runs it.
template <class Prepare, class F>
void parallel_tasks(ThreadPool* pool, int n, const Prepare& prepare, const F& f) {
  std::atomic<int> next{0};
  pool->parallel_for(pool->size(), [&](int64_t, int64_t, int) {
    int t = next.fetch_add(1, std::memory_order_relaxed);
    if (t >= n) return;
    auto state = prepare();
    for (; t < n; t = next.fetch_add(1, std::memory_order_relaxed)) f(state, t);
  });
}

template <class F>
void parallel_tasks(ThreadPool* pool, int n, const F& f) {
  parallel_tasks(pool, n, [] { return 0; }, [&](int, int t) { f(t); });
}

// A loop of `units` (slivers) dealt out as `tasks` tasks whose sizes differ by at most one, the
// larger ones first: threads of equal speed claiming tasks in turn then end within one unit of
// each other. (Tasks of a fixed size with a short last one left a thread up to a whole task
// behind: 74 slivers of M = 1024 as 10+10+...+4 gave the threads 40 and 34.)
struct TaskShares {
  int units, tasks;
  TaskShares(int units_, int tasks_) : units(units_), tasks(std::max(1, std::min(tasks_, units_))) {}
  int begin(int t) const { return t * (units / tasks) + std::min(t, units % tasks); }
  int end(int t) const { return begin(t + 1); }
};

// Tasks per thread when B's slivers are shared out: enough that a late thread's work is picked
// up by the others.
constexpr int kTasksPerThread = 4;

// At least this many row or column tasks per thread, so that a late thread's last task can be
// picked up by the others.
constexpr int kMinTasksPerThread = 2;

// Row tasks: as close to a whole A block (cap slivers) as an equal share per thread allows, and
// at least kMinTasksPerThread per thread. Each task streams the whole B panel once per A block
// it packs, so halving the rows of a task doubles the B traffic per flop (measured: 4-7% on
// M = 1024 products at two threads); a task count that is a multiple of the thread count keeps
// threads of equal speed finishing together.
inline TaskShares row_tasks(int m_slivers, int threads, int cap) {
  const int per_thread = std::max(kMinTasksPerThread, ceil_div(m_slivers, threads * cap));
  return TaskShares(m_slivers, threads * per_thread);
}

// The cache blocks and register tile of one product (sgemm's GemmKernel, gemm_bf16's plan).
struct GemmBlocking {
  int mr, nr;      // register tile
  int mc, kc, nc;  // A block mc x kc (L2), B panel kc x nc (L3)
};

// The loop nest of both drivers (BLIS / GotoBLAS), for a product with K > 0:
//   for jc over N by nc:          B panel (L3)
//     for pc over K by kc:        one rank-kc update of C (beta on the first, then 1)
//       panel(n_slivers, kc)      -> a panel buffer (the calling thread's scratch)
//       pack_b(bpack, pc, kc, jc, nc, s0, s1)      packs NR slivers [s0, s1) of the panel
//       compute(bpack, jc, nc, pc, kc, beta, m0, m1, s0, s1): rows [m0, m1) of C against B
//         slivers [s0, s1), packing its own A blocks.
// Threads take whole MR-row slivers or whole NR-column slivers, never K, so every element of C
// is summed in the same order for any thread count. What differs between the drivers (packed
// formats, micro-kernels) lives in the three callables, which inline here, so sharing the loop
// costs nothing.
//
// How threads share the nest, by the product's shape:
//   column tasks   B wide enough for a few panels per thread (the LM head's forward): each task
//                  runs the whole nest on its own columns, its B panels packed by itself, once.
//   own panel      B one panel (the decoder linears' forward and input gradients) and at least
//                  two A blocks of rows per thread: each thread packs the whole panel for
//                  itself, then takes row tasks.
//   shared panels  otherwise: per panel, the threads pack disjoint slivers of one copy, then
//                  take row (or, when M is small, column) tasks against it.
// A copy of B per thread costs a second packing of B, and buys each core reading B from its own
// caches: sharing one copy, a thread read half of each panel from the other core's caches,
// behind a barrier between packing and computing. Measured at two threads on a CPU whose two
// cores have separate L3 caches: 0-7% on the decoder's M = 1024, K = 512 products, 10-15% on
// the LM head's forward; an own panel for M = 512 (the weight gradients of 512 outputs) lost
// 4-7%, its second packing spread over too few rows, hence kOwnPanelBlocksPerThread.
constexpr int kOwnPanelBlocksPerThread = 2;

// The nest over columns [j0, j1): f(jc, nc, pc, kc, beta_k, cols) for every panel and k block in
// order, cols the panel's slivers (cols.units) dealt out as column tasks for `threads`.
template <class F>
void each_block(const GemmBlocking& g, int j0, int j1, int K, float beta, int threads, const F& f) {
  for (int jc = j0; jc < j1; jc += g.nc) {
    const int nc = std::min(g.nc, j1 - jc);
    const TaskShares cols(ceil_div(nc, g.nr), threads * kTasksPerThread);
    for (int pc = 0; pc < K; pc += g.kc) f(jc, nc, pc, std::min(g.kc, K - pc), pc == 0 ? beta : 1.0f, cols);
  }
}

// Column tasks no wider than a panel, a whole number per thread, where B is wide enough for a few
// panels per thread (the LM head's forward): each task runs serial(j0, j1), the whole nest on its
// columns. False, with nothing run, for a narrower B.
template <class Serial>
bool column_tasks(const GemmBlocking& g, int N, ThreadPool* pool, const Serial& serial) {
  const int threads = pool->size(), n_slivers = ceil_div(N, g.nr), panels = ceil_div(n_slivers, g.nc / g.nr);
  if (panels < threads * kMinTasksPerThread) return false;
  const TaskShares cols(n_slivers, ceil_div(panels, threads) * threads);
  parallel_tasks(pool, cols.tasks, [&](int t) { serial(cols.begin(t) * g.nr, std::min(N, cols.end(t) * g.nr)); });
  return true;
}

// One k block of one panel (cols.units slivers) shared out: row tasks f(m0, m1, 0, slivers), or
// column tasks f(0, M, s0, s1).
template <class F>
void share_block(ThreadPool* pool, bool split_rows, const TaskShares& rows, const TaskShares& cols, int M, int mr,
                 const F& f) {
  if (split_rows) parallel_tasks(pool, rows.tasks, [&](int t) { f(rows.begin(t) * mr, std::min(M, rows.end(t) * mr), 0, cols.units); });
  else parallel_tasks(pool, cols.tasks, [&](int t) { f(0, M, cols.begin(t), cols.end(t)); });
}

// How both nests deal a product out to threads: the whole nest on the calling thread when there
// is one, column tasks where B is wide enough (column_tasks), else threaded(split_rows, rows): per
// k block, row tasks of at most one A block where every thread gets a few slivers of A, column
// tasks of B otherwise (share_block).
template <class Serial, class Threaded>
void split_product(const GemmBlocking& g, int M, int N, ThreadPool* pool, const Serial& serial, const Threaded& threaded) {
  const int threads = pool ? pool->size() : 1;
  if (threads == 1) {
    serial(0, N);
    return;
  }
  if (column_tasks(g, N, pool, serial)) return;
  const int m_slivers = ceil_div(M, g.mr);
  threaded(m_slivers >= 4 * threads, row_tasks(m_slivers, threads, g.mc / g.mr));
}

template <class Panel, class PackB, class Compute>
void blocked_gemm(const GemmBlocking& g, int M, int N, int K, float beta, ThreadPool* pool, const Panel& panel,
                  const PackB& pack_b, const Compute& compute) {
  const int n_slivers = ceil_div(N, g.nr);
  // The whole nest over columns [j0, j1) on the calling thread.
  const auto serial = [&](int j0, int j1) {
    each_block(g, j0, j1, K, beta, 1, [&](int jc, int nc, int pc, int kc, float beta_k, const TaskShares& cols) {
      auto* bpack = panel(cols.units, kc);
      pack_b(bpack, pc, kc, jc, nc, 0, cols.units);
      compute(bpack, jc, nc, pc, kc, beta_k, 0, M, 0, cols.units);
    });
  };
  split_product(g, M, N, pool, serial, [&](bool split_rows, const TaskShares& rows) {
    const int threads = pool->size();
    if (rows.units >= threads * kOwnPanelBlocksPerThread * (g.mc / g.mr) && N <= g.nc && K <= g.kc) {
      parallel_tasks(
          pool, rows.tasks,
          [&] {
            auto* own = panel(n_slivers, K);
            pack_b(own, 0, K, 0, N, 0, n_slivers);
            return own;
          },
          [&](auto* own, int t) {
            compute(own, 0, N, 0, K, beta, rows.begin(t) * g.mr, std::min(M, rows.end(t) * g.mr), 0, n_slivers);
          });
      return;
    }
    each_block(g, 0, N, K, beta, threads, [&](int jc, int nc, int pc, int kc, float beta_k, const TaskShares& cols) {
      auto* bpack = panel(cols.units, kc);
      parallel_tasks(pool, cols.tasks, [&](int t) { pack_b(bpack, pc, kc, jc, nc, cols.begin(t), cols.end(t)); });
      share_block(pool, split_rows, rows, cols, M, g.mr,
                  [&](int m0, int m1, int s0, int s1) { compute(bpack, jc, nc, pc, kc, beta_k, m0, m1, s0, s1); });
    });
  });
}

// The loop nest for a B packed before the product (gemm_bf16's Bf16PackedB): nothing to pack or
// share, so per panel and k block the threads take row tasks (column tasks when M is small, or
// when B is wide enough for column tasks of whole panels), with compute(jc, nc, pc, kc, beta, m0,
// m1, s0, s1) as blocked_gemm's reading B where it lies. The same blocks in the same order as
// blocked_gemm, so the same bits. A k block is done by all threads before the next starts: a
// task running every k block of its rows would stream all of a deep B (the LM head's backward,
// K = 32000) once per task instead of sharing each k block while it is in the caches.
template <class Compute>
void prepacked_gemm(const GemmBlocking& g, int M, int N, int K, float beta, ThreadPool* pool, const Compute& compute) {
  const auto serial = [&](int j0, int j1) {
    each_block(g, j0, j1, K, beta, 1, [&](int jc, int nc, int pc, int kc, float beta_k, const TaskShares& cols) {
      compute(jc, nc, pc, kc, beta_k, 0, M, 0, cols.units);
    });
  };
  split_product(g, M, N, pool, serial, [&](bool split_rows, const TaskShares& rows) {
    each_block(g, 0, N, K, beta, pool->size(), [&](int jc, int nc, int pc, int kc, float beta_k, const TaskShares& cols) {
      share_block(pool, split_rows, rows, cols, M, g.mr,
                  [&](int m0, int m1, int s0, int s1) { compute(jc, nc, pc, kc, beta_k, m0, m1, s0, s1); });
    });
  });
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
