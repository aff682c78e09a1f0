// CUDA element-wise kernels of the training step, each the CPU engine's kernel of the same name
// (tuner/ops.h, tuner/ops_arch.h) computing every element with the same shared formula
// (kernels/elementwise_math.h): SwiGLU, tanh GELU and GeGLU forward/backward, RoPE, logit
// soft-capping, RMSNorm forward / backward and cross-entropy (cross_entropy.cu). Pointers are device memory; work is queued on `stream`.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace tuner::cuda {

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, cudaStream_t stream = 0);
// dgate may be dout.
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n,
                     cudaStream_t stream = 0);
void gelu_forward(float* out, const float* x, int64_t n, cudaStream_t stream = 0);
// dx = dout * gelu_tanh'(x); dx may be dout.
void gelu_backward(float* dx, const float* dout, const float* x, int64_t n, cudaStream_t stream = 0);
void geglu_forward(float* out, const float* gate, const float* up, int64_t n, cudaStream_t stream = 0);
void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n,
                    cudaStream_t stream = 0);
// x [B, T, nh, HD] rotated in place by position pos[row] (or row % T when pos is null); cos/sin [positions, HD/2].
void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos,
                  cudaStream_t stream = 0);
void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos,
                   cudaStream_t stream = 0);
// x = cap * tanh(x / cap) in place, t = tanh(x / cap) kept for backward; backward dx *= 1 - t^2.
void softcap_forward(float* x, float* t, int64_t n, float cap, cudaStream_t stream = 0);
void softcap_backward(float* dx, const float* t, int64_t n, cudaStream_t stream = 0);
// out = inp * rstd * weight per row of C, rstd = 1 / sqrt(mean(inp^2) + eps) (one block per row).
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps,
                     cudaStream_t stream = 0);
// dinp = (or += when accumulate) the input gradient; dweight (may be null) += the weight gradient,
// each column summed over the rows in order.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, const float* rstd,
                      int N, int C, bool accumulate, cudaStream_t stream = 0);

// Cross-entropy over [N, V] logits (one block per row), as the CPU's cross_entropy_forward:
// losses[n] = lse[n] - logits[n, target] and lse[n] for rows with mask 1 (or every row when mask
// is null), 0 elsewhere; the mean over counted rows is the caller's (the losses come back to the host).
void cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets, const uint8_t* mask,
                           int N, int V, cudaStream_t stream = 0);
// logits become dlogits = scale * (softmax - onehot(target)) in place; rows with mask 0 become 0
// (the CPU's cross_entropy_backward_inplace with scale already divided by the counted rows).
void cross_entropy_backward_inplace(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N,
                                    int V, float scale, cudaStream_t stream = 0);

}  // namespace tuner::cuda
