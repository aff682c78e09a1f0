// What the attention sources share: argument checks, the choice of kernel family and tile
// head dim, the SIMT kernels' launchers (attention_simt.cu) for the dispatchers in
// attention_forward.cu / attention_backward.cu, and the small element-wise kernels.
#pragma once
#include <cmath>
#include <string>

#include "cuda/attention.cuh"
#include "cuda/cuda_check.cuh"
#include "tuner/error.h"

namespace tuner::cuda {

// The SIMT kernels keep a row's head dim in registers, 32 lanes x up to 8 values.
constexpr int kSimtMaxHeadDim = 256;

inline void check_attention_params(const AttentionParams& p, const char* what) {
  if (p.B < 1 || p.T < 1 || p.NH < 1 || p.NKV < 1 || p.HD < 1 || p.NH % p.NKV != 0 || p.window < 0)
    throw TunerError("internal",
                     std::string(what) + ": bad sizes B=" + std::to_string(p.B) + " T=" + std::to_string(p.T) +
                         " heads=" + std::to_string(p.NH) + "/" + std::to_string(p.NKV) + " head_dim=" + std::to_string(p.HD) +
                         " window=" + std::to_string(p.window),
                     "This is a bug in Tuner; please report it with the log.");
  if (p.HD > kSimtMaxHeadDim)
    throw TunerError("unsupported_option",
                     std::string(what) + ": head_dim " + std::to_string(p.HD) + " is more than the CUDA attention's " +
                         std::to_string(kSimtMaxHeadDim),
                     "Set device to cpu in ARGS.json for this model.");
}

inline float attention_scale(float scale, int HD) { return scale > 0 ? scale : 1.0f / std::sqrt((float)HD); }

// The tensor-core tile's head dim for a real head dim (0: none fits, use SIMT).
inline int tensor_core_head_dim(int HD) {
  if (HD % 8 != 0) return 0;  // 16-byte cp.async chunks
  for (int tile : {64, 80, 96, 128})
    if (HD <= tile) return tile;
  return 0;
}

inline bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

// fp32 -> T, n elements (the dQ / dK / dV accumulators into the caller's buffers).
template <typename T>
void convert_from_f32(T* dst, const float* src, int64_t n, cudaStream_t stream);

// D[b, h, i] = dY_i . Y_i over head h (flash-attention 2's rowsum(dO o O), read as a row's
// rowsum(P o dP) in backward).
template <typename T>
void attention_row_dots(float* D, const T* dy, const T* y, const AttentionParams& p, cudaStream_t stream);

template <typename T>
void attention_forward_simt(T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p,
                            cudaStream_t stream);
// D already computed; dq is written (one warp per row), dk_acc, dv_acc are zeroed fp32
// accumulators.
template <typename T>
void attention_backward_simt(T* dq, float* dk_acc, float* dv_acc, const T* dy, const float* D, const float* lse, const T* q,
                             const T* k, const T* v, const AttentionParams& p, cudaStream_t stream);

// The deterministic dQ on tensor cores (attention_dq.cu): D already computed; dq written once.
template <typename T>
void attention_dq_deterministic(T* dq, const T* dy, const float* D, const float* lse, const T* q, const T* k, const T* v,
                                const AttentionParams& p, float scale, cudaStream_t stream);

}  // namespace tuner::cuda
