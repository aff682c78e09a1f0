// ThreadPool::parallel_for: every index exactly once, a split that depends only on n and the
// pool size, sizes below / at / above the thread count, n = 0, nested calls, exceptions carried
// back to the caller, many back-to-back jobs (the pattern of a training step), and slow workers.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tuner/threadpool.h"

using namespace tuner;

namespace {

int g_failures = 0;

#define EXPECT(cond, ...)                                \
  do {                                                   \
    if (!(cond)) {                                       \
      std::printf("FAIL line %d: ", __LINE__);           \
      std::printf(__VA_ARGS__);                          \
      std::printf("\n");                                 \
      ++g_failures;                                      \
    }                                                    \
  } while (0)

struct Chunk {
  int64_t begin = -1, end = -1;
};

// Runs parallel_for(n) and checks coverage; returns the chunk each thread index received.
std::vector<Chunk> run_and_check_coverage(ThreadPool& pool, int64_t n) {
  std::vector<std::atomic<int>> hits(n > 0 ? n : 1);
  for (auto& h : hits) h = 0;
  std::vector<Chunk> chunks(pool.size());
  std::atomic<int> calls{0};
  pool.parallel_for(n, [&](int64_t b, int64_t e, int t) {
    calls++;
    EXPECT(t >= 0 && t < pool.size(), "thread index %d out of range", t);
    EXPECT(b < e, "empty chunk [%lld, %lld) was run", (long long)b, (long long)e);
    chunks[t] = {b, e};
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (int64_t i = 0; i < n; ++i) EXPECT(hits[i] == 1, "n=%lld index %lld ran %d times", (long long)n, (long long)i, hits[i].load());
  if (n == 0) EXPECT(calls == 0, "n=0 called fn %d times", calls.load());
  EXPECT(calls <= pool.size(), "more calls (%d) than threads", calls.load());
  if (n >= pool.size()) EXPECT(calls == pool.size(), "n=%lld used %d of %d threads", (long long)n, calls.load(), pool.size());
  return chunks;
}

void test_coverage_and_split() {
  for (int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    EXPECT(pool.size() == threads, "size %d != %d", pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 5, 6, 7, 8, 13, 64, 1000, 100003}) {
      const std::vector<Chunk> first = run_and_check_coverage(pool, n);
      // Contiguous chunks in thread order, sizes differing by at most one.
      int64_t expect_begin = 0;
      for (int t = 0; t < threads; ++t) {
        if (first[t].begin < 0) continue;
        EXPECT(first[t].begin == expect_begin, "threads=%d n=%lld chunk %d starts at %lld", threads, (long long)n, t, (long long)first[t].begin);
        const int64_t len = first[t].end - first[t].begin;
        EXPECT(len == n / threads || len == n / threads + 1, "unbalanced chunk of %lld", (long long)len);
        expect_begin = first[t].end;
      }
      // Same n, same pool: same split.
      const std::vector<Chunk> again = run_and_check_coverage(pool, n);
      for (int t = 0; t < threads; ++t)
        EXPECT(first[t].begin == again[t].begin && first[t].end == again[t].end, "split changed between runs");
    }
  }
  ThreadPool automatic(0);
  EXPECT(automatic.size() == ThreadPool::hardware_threads() && automatic.size() >= 1, "size(0) = %d", automatic.size());
}

void test_nested() {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(40 * 17);
  for (auto& h : hits) h = 0;
  pool.parallel_for(40, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i)
      pool.parallel_for(17, [&](int64_t b2, int64_t e2, int t2) {
        EXPECT(t2 >= 0 && t2 < 3, "nested thread index %d", t2);
        for (int64_t j = b2; j < e2; ++j) hits[i * 17 + j]++;
      });
  });
  for (size_t i = 0; i < hits.size(); ++i) EXPECT(hits[i] == 1, "nested index %zu ran %d times", i, hits[i].load());

  // A nested call with a different pool runs on that pool's threads.
  ThreadPool inner(2);
  std::atomic<int> total{0};
  pool.parallel_for(6, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) inner.parallel_for(10, [&](int64_t b2, int64_t e2, int) { total += int(e2 - b2); });
  });
  EXPECT(total == 60, "nested across pools covered %d of 60", total.load());
}

void test_exceptions() {
  ThreadPool pool(4);
  bool caught = false;
  try {
    pool.parallel_for(100, [&](int64_t b, int64_t, int) {
      if (b >= 50) throw std::runtime_error("chunk failed");
    });
  } catch (const std::runtime_error& e) {
    caught = true;
  }
  EXPECT(caught, "an exception in a worker did not reach the caller");
  // The pool still works afterwards.
  run_and_check_coverage(pool, 77);
}

void test_many_jobs() {
  ThreadPool pool(2);
  std::vector<int64_t> data(1024, 0);
  for (int round = 0; round < 20000; ++round)
    pool.parallel_for(int64_t(data.size()), [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) data[i] += i;
    });
  for (size_t i = 0; i < data.size(); ++i) EXPECT(data[i] == int64_t(i) * 20000, "index %zu = %lld", i, (long long)data[i]);
}

// Chunks may run on any OS thread (the caller takes over chunks of workers that are slow to
// start), but each chunk index runs exactly once per call and gets the same range every time.
void test_slow_workers() {
  ThreadPool pool(4);
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> calls[4] = {};
    std::vector<Chunk> seen(4);
    pool.parallel_for(1000, [&](int64_t b, int64_t e, int t) {
      calls[t]++;
      seen[t] = {b, e};
      if ((round + t) % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
    for (int t = 0; t < 4; ++t) {
      EXPECT(calls[t] == 1, "round %d: chunk %d ran %d times", round, t, calls[t].load());
      EXPECT(seen[t].begin == 250 * t && seen[t].end == 250 * (t + 1), "round %d: chunk %d got [%lld, %lld)", round, t,
             (long long)seen[t].begin, (long long)seen[t].end);
    }
  }
}

}  // namespace

int main() {
  test_coverage_and_split();
  test_nested();
  test_exceptions();
  test_many_jobs();
  test_slow_workers();
  std::printf("%s (%d failures)\n", g_failures ? "FAILED" : "ok", g_failures);
  return g_failures == 0 ? 0 : 1;
}
