// tuner-bench-cuda-attention: TFLOP/s of the CUDA flash-attention forward and backward
// (src/cuda/attention.cuh) on the ~1B Llama shapes (32 heads x 64 dims with 8 kv heads, Llama
// 3.2 1B; 16 x 128 with 4) at sequence 2048 and 4096, bf16, plus a sliding window. FLOPs are
// counted as the engine counts them (src/core/args/estimate.ts, trainingFlopsPerToken): 2 *
// keys * head_dim per head and query for each product, keys per row from 64-row causal blocks;
// forward 2 products (Q K^T, P V), backward 5 (Q K^T again, dY V^T, dQ, dK, dV). The peer
// measured in the same run is the SIMT forward (no tensor cores) on the same inputs. The backward
// runs both ways (AttentionParams::deterministic): the default deterministic dQ (a query-major
// kernel that recomputes Q K^T and dY V^T) and the fp32-atomic dQ; "det/atomic" is their time ratio.
//   tuner-bench-cuda-attention [--tokens 16384] [--reps 20]
#include <cuda_bf16.h>

#include <algorithm>
#include <functional>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/attention.cuh"
#include "cuda/attention_tiles.h"
#include "cuda/cuda_check.cuh"
#include "cuda_event_timer.cuh"

using namespace tuner::cuda;
using bf16 = __nv_bfloat16;

namespace {

// Query-key pairs the engine counts per batch row: 64-row blocks [r0, r1), each over the keys
// from its first row's first key to r1 (estimate.ts causalKeysPerRow).
double block_pairs(int T, int window) {
  double n = 0;
  for (int r0 = 0; r0 < T; r0 += 64) {
    const int r1 = std::min(T, r0 + 64);
    n += (double)(r1 - r0) * (r1 - tuner::attn::first_key(r0, window, 0));
  }
  return n;
}

struct Buffers {
  bf16 *q, *k, *v, *y, *dy, *dq, *dk, *dv;
  float* lse;
  void* ws;
};

__global__ void fill_kernel(bf16* x, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    unsigned s = (unsigned)i * 2654435761u ^ seed;
    s ^= s << 13, s ^= s >> 17, s ^= s << 5;
    x[i] = __float2bfloat16((float)(s >> 8) / 8388608.0f - 1.0f);
  }
}

double time_ms(const std::function<void()>& fn, int reps) { return median_event_ms(fn, reps, 2); }

void run_shape(int T, int NH, int NKV, int HD, int window, int tokens, int reps) {
  AttentionParams p;
  p.B = std::max(1, tokens / T), p.T = T, p.NH = NH, p.NKV = NKV, p.HD = HD, p.window = window;
  const size_t nq = (size_t)p.B * T * NH * HD, nk = (size_t)p.B * T * NKV * HD;
  Buffers b{};
  for (bf16** x : {&b.q, &b.y, &b.dy, &b.dq}) TUNER_CUDA_CHECK(cudaMalloc(x, nq * sizeof(bf16)));
  for (bf16** x : {&b.k, &b.v, &b.dk, &b.dv}) TUNER_CUDA_CHECK(cudaMalloc(x, nk * sizeof(bf16)));
  TUNER_CUDA_CHECK(cudaMalloc(&b.lse, (size_t)p.B * NH * T * sizeof(float)));
  AttentionParams atomic = p;
  atomic.deterministic = false;  // the larger workspace (its fp32 dQ accumulator) serves both
  TUNER_CUDA_CHECK(cudaMalloc(&b.ws, attention_backward_workspace_bytes(atomic)));
  fill_kernel<<<1024, 256>>>(b.q, nq, 1);
  fill_kernel<<<1024, 256>>>(b.k, nk, 2);
  fill_kernel<<<1024, 256>>>(b.v, nk, 3);
  fill_kernel<<<1024, 256>>>(b.dy, nq, 4);
  TUNER_CUDA_CHECK_LAUNCH();

  const double product = 2.0 * block_pairs(T, window) * NH * HD * p.B;  // FLOPs of one product
  const double fwd = time_ms([&] { attention_forward(b.y, b.lse, b.q, b.k, b.v, p, nullptr); }, reps);
  const double bwd = time_ms(
      [&] { attention_backward(b.dq, b.dk, b.dv, b.dy, b.y, b.lse, b.q, b.k, b.v, b.ws, p, nullptr); }, reps);
  const double bwd_atomic = time_ms(
      [&] { attention_backward(b.dq, b.dk, b.dv, b.dy, b.y, b.lse, b.q, b.k, b.v, b.ws, atomic, nullptr); }, reps);
  const double simt =
      time_ms([&] { attention_forward(b.y, b.lse, b.q, b.k, b.v, p, nullptr, AttentionPath::simt); }, std::max(1, reps / 4));
  const double tf_fwd = 2 * product / (fwd * 1e9), tf_bwd = 5 * product / (bwd * 1e9);
  std::printf("B=%-2d T=%-5d heads %2d/%-2d x %3d  window %-5s  forward %7.3f ms %6.1f TFLOP/s (%5.1fx the SIMT kernel)"
              "  backward %7.3f ms %6.1f TFLOP/s (atomic dQ %7.3f ms, det/atomic %4.2fx)  fwd+bwd %6.1f TFLOP/s\n",
              p.B, T, NH, NKV, HD, window ? std::to_string(window).c_str() : "none", fwd, tf_fwd, simt / fwd, bwd, tf_bwd,
              bwd_atomic, bwd / bwd_atomic, 7 * product / ((fwd + bwd) * 1e9));
  for (void* x : {(void*)b.q, (void*)b.k, (void*)b.v, (void*)b.y, (void*)b.dy, (void*)b.dq, (void*)b.dk, (void*)b.dv,
                  (void*)b.lse, b.ws})
    cudaFree(x);
}

}  // namespace

int main(int argc, char** argv) {
  int tokens = 16384, reps = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--tokens") tokens = std::stoi(argv[i + 1]);
    else if (key == "--reps") reps = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s (options: --tokens N, --reps N)\n", argv[i]);
      return 2;
    }
  }
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::printf("no CUDA device: nothing to measure\n");
    return 77;
  }
  cudaDeviceProp prop{};
  TUNER_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("CUDA attention, bf16, %s (sm_%d%d), %d tokens per call, median of %d\n", prop.name, prop.major, prop.minor,
              tokens, reps);
  for (int T : {2048, 4096}) {
    run_shape(T, 32, 8, 64, 0, tokens, reps);
    run_shape(T, 16, 4, 128, 0, tokens, reps);
  }
  run_shape(4096, 32, 8, 64, 1024, tokens, reps);
  return 0;
}
