// Persistent worker threads with a fork-join parallel_for. Workers spin briefly after each job
// (the model issues thousands of small parallel loops per step, and a futex wake-up costs more
// than most of them), then sleep on a condition variable so an idle trainer uses no CPU.
// The split of [0, n) depends only on n and the pool size, never on timing, so every run with
// the same thread count computes the same floats in the same order (bit-exact resume).
#include "tuner/threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TUNER_CPU_RELAX() _mm_pause()
#else
#define TUNER_CPU_RELAX() ((void)0)
#endif

namespace tuner {

namespace {

// How long an idle worker (or the waiting caller) polls before blocking. Long enough to bridge
// the serial code between two kernels of one layer, short enough not to steal a shared core.
constexpr auto kSpinTime = std::chrono::microseconds(200);

// Set while a thread runs a chunk for some pool: a nested parallel_for then runs inline.
thread_local const void* tls_active_pool = nullptr;

using Fn = std::function<void(int64_t, int64_t, int)>;

inline int64_t chunk_begin(int64_t n, int chunks, int i) {
  // n * i / chunks without overflow for any n < 2^62 and chunks <= 2^16.
  return (n / chunks) * i + (n % chunks) * i / chunks;
}

}  // namespace

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;

  // The current job; published by bumping `generation` (release), read after seeing it (acquire).
  const Fn* fn = nullptr;
  int64_t n = 0;
  int chunks = 0;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> busy{false};

  std::mutex mutex;
  std::condition_variable work_cv;
  std::condition_variable done_cv;

  std::mutex error_mutex;
  std::exception_ptr error;

  void run_chunk(int i) {
    const int64_t b = chunk_begin(n, chunks, i), e = chunk_begin(n, chunks, i + 1);
    if (b >= e) return;
    try {
      (*fn)(b, e, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }

  void worker_main(int index) {
    tls_active_pool = this;
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation.load(std::memory_order_acquire);
      if (g == seen) {
        const auto until = std::chrono::steady_clock::now() + kSpinTime;
        for (int spins = 0; g == seen; ++spins) {
          TUNER_CPU_RELAX();
          g = generation.load(std::memory_order_acquire);
          if ((spins & 255) == 255 && std::chrono::steady_clock::now() > until) break;
        }
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mutex);
        work_cv.wait(lock, [&] {
          g = generation.load(std::memory_order_acquire);
          return g != seen || stopping.load(std::memory_order_acquire);
        });
      }
      if (stopping.load(std::memory_order_acquire)) return;
      seen = g;
      run_chunk(index);
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex);
        done_cv.notify_one();
      }
    }
  }

  void wait_done() {
    if (pending.load(std::memory_order_acquire) == 0) return;
    const auto until = std::chrono::steady_clock::now() + kSpinTime;
    for (int spins = 0; pending.load(std::memory_order_acquire) != 0; ++spins) {
      TUNER_CPU_RELAX();
      if ((spins & 255) == 255 && std::chrono::steady_clock::now() > until) break;
    }
    if (pending.load(std::memory_order_acquire) == 0) return;
    std::unique_lock<std::mutex> lock(mutex);
    done_cv.wait(lock, [&] { return pending.load(std::memory_order_acquire) == 0; });
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl) {
  impl_->n_threads = n_threads > 0 ? n_threads : hardware_threads();
  impl_->workers.reserve(impl_->n_threads - 1);
  for (int i = 1; i < impl_->n_threads; ++i) impl_->workers.emplace_back([this, i] { impl_->worker_main(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping.store(true, std::memory_order_release);
  }
  impl_->work_cv.notify_all();
  for (auto& t : impl_->workers) t.join();
  delete impl_;
}

int ThreadPool::size() const { return impl_->n_threads; }

int ThreadPool::hardware_threads() {
#if defined(__linux__)
  // The affinity mask, not the machine's CPU count: containers and `taskset` narrow it.
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0 && CPU_COUNT(&mask) > 0) return CPU_COUNT(&mask);
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

void ThreadPool::parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  Impl& p = *impl_;
  const int chunks = p.n_threads;
  // One thread, a nested call from inside a chunk, or a second caller while the pool is busy:
  // run the same chunks in order on this thread. Same split, same thread indices, same floats.
  bool expected = false;
  if (chunks == 1 || tls_active_pool == &p ||
      !p.busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    for (int i = 0; i < chunks; ++i) {
      const int64_t b = chunk_begin(n, chunks, i), e = chunk_begin(n, chunks, i + 1);
      if (b < e) fn(b, e, i);
    }
    return;
  }
  p.fn = &fn;
  p.n = n;
  p.chunks = chunks;
  p.error = nullptr;
  p.pending.store(chunks - 1, std::memory_order_relaxed);
  p.generation.fetch_add(1, std::memory_order_release);
  {
    // Taking the lock orders this wake-up after any worker's check of its wait predicate.
    std::lock_guard<std::mutex> lock(p.mutex);
  }
  p.work_cv.notify_all();

  const void* outer = tls_active_pool;
  tls_active_pool = &p;
  p.run_chunk(0);
  tls_active_pool = outer;
  p.wait_done();

  std::exception_ptr error = p.error;
  p.fn = nullptr;
  p.busy.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

}  // namespace tuner
