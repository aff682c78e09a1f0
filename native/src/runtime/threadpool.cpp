// Persistent worker threads with a fork-join parallel_for. Workers spin briefly after each job
// (the model issues thousands of small parallel loops per step, and a futex wake-up costs more
// than most of them), then sleep on a condition variable so an idle trainer uses no CPU.
//
// Determinism: [0, n) is cut into one chunk per pool thread by a split that depends only on n
// and the pool size, and chunk i is always called as fn(begin_i, end_i, i). Which OS thread runs
// a chunk is decided at run time: the caller and the workers claim chunks from a shared counter,
// so a worker that the OS has not scheduled yet (a busy machine, more threads than cores) never
// holds the caller up: the caller runs that chunk itself. Results are the same either way,
// because each chunk does the same work in the same order wherever it runs.
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
constexpr auto kSpinTime = std::chrono::microseconds(100);

// Set while a thread runs a chunk for some pool: a nested parallel_for then runs inline.
thread_local const void* tls_active_pool = nullptr;

using Fn = std::function<void(int64_t, int64_t, int)>;

inline int64_t chunk_begin(int64_t n, int chunks, int i) {
  // n * i / chunks without overflow for any n < 2^62 and chunks <= 2^16.
  return (n / chunks) * i + (n % chunks) * i / chunks;
}

// Polls `done` with pause instructions for up to kSpinTime; true if it became true.
template <class Pred>
bool spin_until(Pred done) {
  if (done()) return true;
  const auto until = std::chrono::steady_clock::now() + kSpinTime;
  for (int spins = 1;; ++spins) {
    TUNER_CPU_RELAX();
    if (done()) return true;
    if ((spins & 127) == 0 && std::chrono::steady_clock::now() > until) return false;
  }
}

}  // namespace

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;

  // The current job. Its fields are written before `job` is published (release) and only read
  // by a thread holding an unfinished chunk of it, so they cannot change under a reader.
  const Fn* fn = nullptr;
  int64_t n = 0;
  std::atomic<uint32_t> job{0};
  // (job << 32) | next unclaimed chunk: claiming checks the job and takes an index in one step,
  // so a worker that wakes late can never claim a chunk of a job it has not seen published.
  std::atomic<uint64_t> claim{0};
  std::atomic<int> completed{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> busy{false};
  // Threads blocked (or about to block) on a condition variable. The publisher only takes the
  // mutex to wake them when this is non-zero, so a preempted thread holding the mutex cannot
  // stall a job that nobody sleeps through. Sequentially consistent on both sides: either the
  // sleeper's increment is seen, or the sleeper's predicate check sees the published state.
  std::atomic<int> sleeping_workers{0};
  std::atomic<int> sleeping_caller{0};

  std::mutex mutex;
  std::condition_variable work_cv;
  std::condition_variable done_cv;

  std::mutex error_mutex;
  std::exception_ptr error;

  void run_chunk(int i) {
    const int64_t b = chunk_begin(n, n_threads, i), e = chunk_begin(n, n_threads, i + 1);
    if (b < e) {
      try {
        (*fn)(b, e, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
    if (completed.fetch_add(1, std::memory_order_seq_cst) + 1 == n_threads &&
        sleeping_caller.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(mutex); }
      done_cv.notify_one();
    }
  }

  // Claims and runs chunks of job `j` until none are left (or a newer job has started).
  void work_on(uint32_t j) {
    for (;;) {
      uint64_t v = claim.load(std::memory_order_acquire);
      if (uint32_t(v >> 32) != j || int(uint32_t(v)) >= n_threads) return;
      if (claim.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        run_chunk(int(uint32_t(v)));
    }
  }

  void worker_main() {
    tls_active_pool = this;
    uint32_t seen = 0;
    for (;;) {
      uint32_t j = job.load(std::memory_order_acquire);
      auto fresh = [&] {
        j = job.load(std::memory_order_seq_cst);
        return j != seen || stopping.load(std::memory_order_acquire);
      };
      if (!spin_until(fresh)) {
        std::unique_lock<std::mutex> lock(mutex);
        sleeping_workers.fetch_add(1, std::memory_order_seq_cst);
        work_cv.wait(lock, fresh);
        sleeping_workers.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stopping.load(std::memory_order_acquire)) return;
      seen = j;
      work_on(j);
    }
  }

  void wait_done() {
    auto done = [&] { return completed.load(std::memory_order_seq_cst) == n_threads; };
    if (spin_until(done)) return;
    std::unique_lock<std::mutex> lock(mutex);
    sleeping_caller.fetch_add(1, std::memory_order_seq_cst);
    done_cv.wait(lock, done);
    sleeping_caller.fetch_sub(1, std::memory_order_relaxed);
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl) {
  impl_->n_threads = n_threads > 0 ? n_threads : hardware_threads();
  impl_->workers.reserve(impl_->n_threads - 1);
  for (int i = 1; i < impl_->n_threads; ++i) impl_->workers.emplace_back([this] { impl_->worker_main(); });
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
  p.error = nullptr;
  p.completed.store(0, std::memory_order_relaxed);
  const uint32_t j = p.job.load(std::memory_order_relaxed) + 1;
  p.claim.store(uint64_t(j) << 32, std::memory_order_release);
  p.job.store(j, std::memory_order_seq_cst);
  if (p.sleeping_workers.load(std::memory_order_seq_cst) > 0) {
    // Taking the lock orders this wake-up after a sleeper's check of its wait predicate.
    { std::lock_guard<std::mutex> lock(p.mutex); }
    p.work_cv.notify_all();
  }

  const void* outer = tls_active_pool;
  tls_active_pool = &p;
  p.work_on(j);
  tls_active_pool = outer;
  p.wait_done();

  std::exception_ptr error = p.error;
  p.fn = nullptr;
  p.busy.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

}  // namespace tuner
