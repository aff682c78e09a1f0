// CUDA kernels the architectures beyond the Llama family add to the device model (cuda_ops'
// "other architectures" ops): LayerNorm with bias forward / backward (GPT-2, Bloom), the CPU
// engine's layernorm_forward / layernorm_backward (tuner/ops_arch.h) with the same per-row scale
// (norm_rstd, kernels/elementwise_math.h), and the split / merge of a fused q/k/v projection's
// rows. Pointers are device memory; work is queued on `stream`.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace tuner::cuda {

// One block per row: mean, rstd = 1 / sqrt(biased variance + eps) from two sweeps (the mean,
// then the squares about it, as the CPU); out = (x - mean) rstd weight (+ bias when not null).
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C, float eps, cudaStream_t stream = 0);
// dinp = (or += when accumulate) rstd (g - mean(g) - xhat mean(g xhat)), g = dout weight,
// xhat = (x - mean) rstd; dweight += sum_n dout xhat and dbias += sum_n dout (either may be null),
// one thread per column summing the rows in order, so they are the same bits on every run.
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                        const float* mean, const float* rstd, int N, int C, bool accumulate, cudaStream_t stream = 0);
// qkv [N, QD + 2 KD] <-> q [N, QD], k, v [N, KD]: per_head rows are [head][q, k, v][HD] (NKV == NH),
// otherwise [q | k | v]. split: qkv -> q, k, v; merge: q, k, v -> qkv.
void permute_qkv(float* qkv, float* q, float* k, float* v, int N, int NH, int NKV, int HD, bool per_head, bool split,
                 cudaStream_t stream = 0);

}  // namespace tuner::cuda
