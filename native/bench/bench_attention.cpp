// tuner-bench-attention: one layer's attention forward + backward (the trainer's kernels) with a
// sliding window against the same call with plain causal attention, measured in the same run.
// The window skips whole key blocks, so its cost should follow the keys each 64-row block meets:
// the bench prints that ratio too, next to the measured one.
//   tuner-bench-attention [--T 1024] [--window 256] [--heads 9] [--kv-heads 3] [--head-dim 64]
//                         [--batch 1] [--threads 1] [--reps 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tuner/ops.h"
#include "tuner/rng.h"
#include "tuner/threadpool.h"

using namespace tuner;
using Clock = std::chrono::steady_clock;

namespace {

struct Buffers {
  std::vector<float> q, k, v, dy, y, lse, dq, dk, dv, scratch;
};

// Best wall time (ms) of forward + backward over `reps` runs.
double time_attention(Buffers& b, int B, int T, int NH, int NKV, int HD, int window, int reps, ThreadPool* pool) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    auto t0 = Clock::now();
    attention_forward(b.y.data(), b.lse.data(), b.q.data(), b.k.data(), b.v.data(), b.scratch.data(), B, T, NH, NKV, HD, window,
                      pool);
    attention_backward(b.dq.data(), b.dk.data(), b.dv.data(), b.dy.data(), b.y.data(), b.lse.data(), b.q.data(), b.k.data(),
                       b.v.data(), b.scratch.data(), B, T, NH, NKV, HD, window, pool);
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return best;
}

// Query-key pairs the 64-row blocks compute (products run over [k0, r1) per block).
double block_pairs(int T, int window) {
  double n = 0;
  for (int r0 = 0; r0 < T; r0 += 64) {
    const int r1 = std::min(T, r0 + 64), k0 = window > 0 ? std::max(0, r0 - window + 1) : 0;
    n += (double)(r1 - r0) * (r1 - k0);
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int T = 1024, window = 256, NH = 9, NKV = 3, HD = 64, B = 1, threads = 1, reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::stoi(argv[i + 1]);
    if (k == "--T") T = v;
    else if (k == "--window") window = v;
    else if (k == "--heads") NH = v;
    else if (k == "--kv-heads") NKV = v;
    else if (k == "--head-dim") HD = v;
    else if (k == "--batch") B = v;
    else if (k == "--threads") threads = v;
    else if (k == "--reps") reps = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (T < 1 || window < 0 || NH < 1 || NKV < 1 || NH % NKV || HD < 1 || B < 1 || threads < 1 || reps < 1) {
    std::fprintf(stderr, "need positive sizes, --window >= 0 and --heads a multiple of --kv-heads\n");
    return 2;
  }
  ThreadPool pool(threads);
  const size_t N = (size_t)B * T;
  Buffers b;
  Rng rng(1);
  auto fill = [&](std::vector<float>& x, size_t n) {
    x.resize(n);
    for (auto& e : x) e = (float)(rng.next_u64() >> 40) * (2.0f / (1 << 24)) - 1.0f;  // uniform [-1, 1)
  };
  fill(b.q, N * NH * HD);
  fill(b.k, N * NKV * HD);
  fill(b.v, N * NKV * HD);
  fill(b.dy, N * NH * HD);
  b.y.resize(N * NH * HD);
  b.lse.resize((size_t)B * NH * T);
  b.dq.resize(b.q.size());
  b.dk.resize(b.k.size());
  b.dv.resize(b.v.size());
  b.scratch.resize((size_t)attention_scratch_floats(T, threads));

  // Alternate the two so that both see the same machine load.
  double full = 1e30, windowed = 1e30;
  for (int round = 0; round < 3; round++) {
    full = std::min(full, time_attention(b, B, T, NH, NKV, HD, 0, reps, &pool));
    windowed = std::min(windowed, time_attention(b, B, T, NH, NKV, HD, window, reps, &pool));
  }
  std::printf("attention forward+backward, B=%d T=%d heads=%d/%d head_dim=%d, %d thread(s), best of %d\n", B, T, NH, NKV, HD,
              threads, 3 * reps);
  std::printf("  causal            %9.2f ms\n", full);
  std::printf("  sliding window %-4d%8.2f ms\n", window, windowed);
  std::printf("  ratio windowed / causal: %.3f (query-key pairs computed: %.3f)\n", windowed / full,
              block_pairs(T, window) / block_pairs(T, 0));
  return 0;
}
