// tuner-bench-optimizer: one optimizer step of the trainer (global grad norm, clip, AdamW) over
// as many parameters as a full fine-tune of the bench model (41.7M) or its LoRA adapters,
// against the step as it was before the vector kernels (measured in the same run): a separate
// pass scaling every grad in place, then a plain AdamW loop compiled for the baseline ISA.
// Reports the best wall time per step in ms of each and the ratio.
//   tuner-bench-optimizer [--params 41689600] [--threads 1] [--reps 5]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tuner/optimizer.h"
#include "tuner/rng.h"
#include "tuner/threadpool.h"

using namespace tuner;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kChunk = 1 << 16;  // the optimizer's work chunk

// The peer: clip_grads_by_norm's in-place pass, then AdamW's element loop, chunked as the
// optimizer chunks its work.
void peer_step(float* w, float* m, float* v, float* g, int64_t n, int64_t step, double lr, double coef,
               const OptimizerConfig& c, ThreadPool* pool) {
  const float c32 = static_cast<float>(coef);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  pool->parallel_for(chunks, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b * kChunk; i < std::min(n, e * kChunk); ++i) g[i] *= c32;
  });
  const float decay = static_cast<float>(1.0 - lr * c.weight_decay);
  const float b1 = static_cast<float>(c.beta1), b2 = static_cast<float>(c.beta2);
  const float omb1 = static_cast<float>(1.0 - c.beta1), omb2 = static_cast<float>(1.0 - c.beta2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(c.beta1, static_cast<double>(step))));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(c.beta2, static_cast<double>(step))));
  const float eps = static_cast<float>(c.eps);
  pool->parallel_for(chunks, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b * kChunk; i < std::min(n, e * kChunk); ++i) {
      w[i] *= decay;
      m[i] = m[i] * b1 + g[i] * omb1;
      v[i] = v[i] * b2 + g[i] * g[i] * omb2;
      const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
      w[i] -= step_size * (m[i] / denom);
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 41689600;
  int threads = 1, reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--params") n = std::stoll(argv[i + 1]);
    else if (k == "--threads") threads = std::stoi(argv[i + 1]);
    else if (k == "--reps") reps = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: tuner-bench-optimizer [--params N] [--threads N] [--reps N]\n");
      return 2;
    }
  }
  ThreadPool pool(threads);
  std::vector<float> w(n), g(n), g_saved(n), pm(n, 0.0f), pv(n, 0.0f);
  Rng r(1);
  for (int64_t i = 0; i < n; ++i) {
    w[i] = static_cast<float>(static_cast<double>(r.next_u64() >> 11) / 9007199254740992.0 - 0.5);
    g_saved[i] = static_cast<float>(static_cast<double>(r.next_u64() >> 11) / 9007199254740992.0 - 0.5);
  }
  Param p;
  p.name = "w";
  p.shape = {n};
  p.data = w.data();
  p.grad = g.data();
  OptimizerConfig cfg;
  Optimizer opt(cfg, {&p});
  const double max_norm = 1.0, lr = 1e-4;

  double best_ours = 1e30, best_peer = 1e30;
  for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up (page faults of the moments)
    std::memcpy(g.data(), g_saved.data(), sizeof(float) * n);
    auto t0 = Clock::now();
    const double norm = global_grad_norm({&p}, &pool);
    opt.step(lr, &pool, clip_coefficient(norm, max_norm));
    const double ours = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

    std::memcpy(g.data(), g_saved.data(), sizeof(float) * n);
    t0 = Clock::now();
    const double norm2 = global_grad_norm({&p}, &pool);
    peer_step(w.data(), pm.data(), pv.data(), g.data(), n, rep + 1, lr, clip_coefficient(norm2, max_norm), cfg, &pool);
    const double peer = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (rep > 0) {
      best_ours = std::min(best_ours, ours);
      best_peer = std::min(best_peer, peer);
    }
  }
  std::printf("{\"params\":%lld,\"threads\":%d,\"fused_step_ms\":%.2f,\"separate_clip_step_ms\":%.2f,\"speedup\":%.3f}\n",
              static_cast<long long>(n), threads, best_ours, best_peer, best_peer / best_ours);
  return 0;
}
