// A fixed pool of worker threads for data-parallel loops. The engine creates one pool per
// process (sized by the run plan's `threads`, default: all cores) and passes it to kernels,
// so nothing spawns threads in a hot path.
#pragma once
#include <cstdint>
#include <functional>

namespace tuner {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  // Splits [0, n) into contiguous chunks, one per thread, and runs fn(begin, end, thread_index)
  // on each; returns when all are done. The calling thread works too. Deterministic split.
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

  static int hardware_threads();

 private:
  struct Impl;
  Impl* impl_;
};

// Runs fn(begin, end, thread) over [0, n) on the pool, or inline when pool is null (or has one
// thread, or n is 1): the split is the pool's, so results are the same either way.
template <class F>
void parallel_rows(ThreadPool* pool, int64_t n, F&& fn) {
  if (n <= 0) return;
  if (!pool || pool->size() <= 1 || n == 1) {
    fn((int64_t)0, n, 0);
    return;
  }
  pool->parallel_for(n, [&](int64_t b, int64_t e, int t) { fn(b, e, t); });
}

}  // namespace tuner
