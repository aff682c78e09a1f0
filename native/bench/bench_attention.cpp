// tuner-bench-attention: one layer's attention forward + backward (the trainer's kernels) with a
// sliding window against the same call with plain causal attention, measured in the same run.
// The window skips whole key blocks, so its cost should follow the keys each 64-row block meets:
// the bench prints that ratio too, next to the measured one. On CPUs with AVX512_BF16 it also
// times bf16 training's attention on its packed products against a gemm_bf16 call per product
// (attention_products.h), alternating the two.
//   tuner-bench-attention [--T 1024] [--window 256] [--heads 9] [--kv-heads 3] [--head-dim 64]
//                         [--batch 1] [--threads 1] [--reps 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cpu/attention_products.h"
#include "tuner/ops.h"
#include "tuner/rng.h"
#include "tuner/threadpool.h"

using namespace tuner;
using Clock = std::chrono::steady_clock;

namespace {

struct Buffers {
  std::vector<float> q, k, v, dy, y, lse, dq, dk, dv, scratch;
};

// Best wall time (ms) of forward + backward over `reps` runs, and of each in fwd_ms / bwd_ms.
// packed / ex as attention_forward_on takes them (the trainer's choice without them).
double time_attention(Buffers& b, int B, int T, int NH, int NKV, int HD, int window, int reps, ThreadPool* pool,
                      const GemmBf16Kernel* packed = nullptr, const AttentionExtras* ex = nullptr,
                      double* fwd_ms = nullptr, double* bwd_ms = nullptr) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    auto t0 = Clock::now();
    attention_forward_on(packed, b.y.data(), b.lse.data(), b.q.data(), b.k.data(), b.v.data(), b.scratch.data(), B, T, NH,
                         NKV, HD, window, pool, ex, nullptr);
    auto t1 = Clock::now();
    attention_backward_on(packed, b.dq.data(), b.dk.data(), b.dv.data(), b.dy.data(), b.y.data(), b.lse.data(), b.q.data(),
                          b.k.data(), b.v.data(), b.scratch.data(), B, T, NH, NKV, HD, window, pool, ex, nullptr);
    auto t2 = Clock::now();
    const double f = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double g = std::chrono::duration<double, std::milli>(t2 - t1).count();
    best = std::min(best, f + g);
    if (fwd_ms) *fwd_ms = std::min(*fwd_ms, f);
    if (bwd_ms) *bwd_ms = std::min(*bwd_ms, g);
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

  const GemmBf16Kernel* packed = gemm_bf16_native_kernel();
  if (!packed) {
    std::printf("bf16 products: this CPU has no AVX512_BF16, so bf16 attention makes a gemm_bf16 call per product\n");
    return 0;
  }
  AttentionExtras bf16;
  bf16.bf16 = true;
  double fwd[2] = {1e30, 1e30}, bwd[2] = {1e30, 1e30};
  for (int round = 0; round < 3; round++)
    for (int path = 0; path < 2; path++)
      time_attention(b, B, T, NH, NKV, HD, 0, reps, &pool, path ? packed : nullptr, &bf16, &fwd[path], &bwd[path]);
  // Causal products over the 64-row blocks: Q K^T and P V forward, five backward, 2 flops a term.
  const double gflop = 2.0 * block_pairs(T, 0) * HD * B * NH / 1e9;
  std::printf("causal attention in bf16 (bf16 training), best of %d, forward / backward:\n", 3 * reps);
  std::printf("  a gemm_bf16 call per product %8.2f / %8.2f ms (%5.0f / %5.0f GFLOP/s)\n", fwd[0], bwd[0],
              2 * gflop / fwd[0] * 1e3, 5 * gflop / bwd[0] * 1e3);
  std::printf("  packed products              %8.2f / %8.2f ms (%5.0f / %5.0f GFLOP/s)\n", fwd[1], bwd[1],
              2 * gflop / fwd[1] * 1e3, 5 * gflop / bwd[1] * 1e3);
  std::printf("  speed-up packed / per product: %.2fx forward, %.2fx backward\n", fwd[0] / fwd[1], bwd[0] / bwd[1]);
  return 0;
}
