// Attention without tensor cores, for head dims the tiles do not take (not a multiple of 8, or
// over 128: Gemma's 256) and unaligned buffers: one warp per (batch row, head, query row), 32
// keys at a time (a lane per key for the scores, a lane per head-dim column for the sums), the
// same online softmax and masks as the tensor-core kernels (attention_tiles.h). Backward: the
// warp owns its dQ row and writes it once (deterministic with or without
// AttentionParams::deterministic); dK and dV go to fp32 accumulators with atomics, so on this
// path their last bits may vary run to run. Also the small element-wise kernels the backward
// shares: D = rowsum(dY o Y) and fp32 -> T conversion.
#include "cuda/attention_internal.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/attention_tiles.h"

namespace tuner::cuda {

namespace {
using attn_mma::Elem;
using attn_mma::warp_max;
using attn_mma::warp_sum;

constexpr int kSimtWarps = 4;

template <typename T>
__device__ __forceinline__ float dot_row(const float* a, const T* b, int n) {
  float s = 0.0f;
  for (int e = 0; e < n; e++) s += a[e] * Elem<T>::to_float(b[e]);
  return s;
}

// The warp's query row: index decomposition shared by forward and backward.
struct RowTask {
  int b, h, i;
  __device__ RowTask(int64_t w, const AttentionParams& p)
      : b((int)(w / ((int64_t)p.NH * p.T))), h((int)(w / p.T % p.NH)), i((int)(w % p.T)) {}
};

// kR: head-dim values per lane (HD <= 32 kR).
template <typename T, int kR>
__global__ void __launch_bounds__(kSimtWarps * 32)
    attention_forward_simt_kernel(T* __restrict__ y, float* __restrict__ lse, const T* __restrict__ q, const T* __restrict__ k,
                                  const T* __restrict__ v, AttentionParams p, float scale) {
  __shared__ float sq[kSimtWarps][kR * 32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t w = (int64_t)blockIdx.x * kSimtWarps + warp;
  if (w >= (int64_t)p.B * p.NH * p.T) return;  // whole warps only: no barrier below
  const RowTask task(w, p);
  const int b = task.b, h = task.h, i = task.i, HD = p.HD, T_ = p.T;
  const int QD = p.NH * HD, KD = p.NKV * HD, kh = h / (p.NH / p.NKV);
  const T* qi = q + ((int64_t)b * T_ + i) * QD + h * HD;
  for (int e = lane; e < HD; e += 32) sq[warp][e] = Elem<T>::to_float(qi[e]);
  __syncwarp();
  const T* kb = k + (int64_t)b * T_ * KD + kh * HD;
  const T* vb = v + (int64_t)b * T_ * KD + kh * HD;
  const int rs = p.sample_start ? p.sample_start[(int64_t)b * T_ + i] : 0;
  const float slope = p.alibi ? p.alibi[h] : 0.0f;
  float m = -INFINITY, l = 0.0f, acc[kR];
#pragma unroll
  for (int r = 0; r < kR; r++) acc[r] = 0.0f;
  for (int j0 = attn::first_key(i, p.window, rs); j0 <= i; j0 += 32) {
    const int j = j0 + lane;  // keys [first, i] are exactly the visible ones
    const float t = j <= i ? attn::score_log2(dot_row(sq[warp], kb + (int64_t)j * KD, HD), scale, p.softcap, slope, i, j)
                           : -INFINITY;
    const float m_new = attn::online_max(m, warp_max(t)), shift = attn::online_shift(m_new);
    const float corr = attn::online_correction(m, shift), pj = attn::exp2_fast(t - shift);
    l = l * corr + warp_sum(pj);
    m = m_new;
#pragma unroll
    for (int r = 0; r < kR; r++) acc[r] *= corr;
    const int n = min(32, i + 1 - j0);
    for (int cc = 0; cc < n; cc++) {
      const float pc = __shfl_sync(0xffffffffu, pj, cc);
      const T* vj = vb + (int64_t)(j0 + cc) * KD;
#pragma unroll
      for (int r = 0; r < kR; r++)
        if (lane + 32 * r < HD) acc[r] += pc * Elem<T>::to_float(vj[lane + 32 * r]);
    }
  }
  T* yi = y + ((int64_t)b * T_ + i) * QD + h * HD;
  const float inv = attn::row_inv_sum(l);
#pragma unroll
  for (int r = 0; r < kR; r++)
    if (lane + 32 * r < HD) yi[lane + 32 * r] = Elem<T>::from_float(acc[r] * inv);
  if (lane == 0) lse[((int64_t)b * p.NH + h) * T_ + i] = attn::row_lse(m, l);
}

template <typename T, int kR>
__global__ void __launch_bounds__(kSimtWarps * 32)
    attention_backward_simt_kernel(T* __restrict__ dq, float* __restrict__ dk_acc, float* __restrict__ dv_acc,
                                   const T* __restrict__ dy, const float* __restrict__ D, const float* __restrict__ lse,
                                   const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, AttentionParams p,
                                   float scale) {
  __shared__ float sq[kSimtWarps][kR * 32], sdo[kSimtWarps][kR * 32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t w = (int64_t)blockIdx.x * kSimtWarps + warp;
  if (w >= (int64_t)p.B * p.NH * p.T) return;
  const RowTask task(w, p);
  const int b = task.b, h = task.h, i = task.i, HD = p.HD, T_ = p.T;
  const int QD = p.NH * HD, KD = p.NKV * HD, kh = h / (p.NH / p.NKV);
  const int64_t qrow = ((int64_t)b * T_ + i) * QD + h * HD;
  for (int e = lane; e < HD; e += 32) {
    sq[warp][e] = Elem<T>::to_float(q[qrow + e]);
    sdo[warp][e] = Elem<T>::to_float(dy[qrow + e]);
  }
  __syncwarp();
  const int64_t kv0 = (int64_t)b * T_ * KD + kh * HD;
  const int rs = p.sample_start ? p.sample_start[(int64_t)b * T_ + i] : 0;
  const float slope = p.alibi ? p.alibi[h] : 0.0f;
  const float lse_i = lse[((int64_t)b * p.NH + h) * T_ + i], D_i = D[((int64_t)b * p.NH + h) * T_ + i];
  float dq_row[kR];
#pragma unroll
  for (int r = 0; r < kR; r++) dq_row[r] = 0.0f;
  for (int j0 = attn::first_key(i, p.window, rs); j0 <= i; j0 += 32) {
    const int j = j0 + lane;
    float P = 0.0f, dS = 0.0f;
    if (j <= i) {
      const float qk = dot_row(sq[warp], k + kv0 + (int64_t)j * KD, HD);
      P = attn::prob_from_lse(attn::score_log2(qk, scale, p.softcap, slope, i, j), lse_i);
      const float dP = dot_row(sdo[warp], v + kv0 + (int64_t)j * KD, HD);
      dS = P * (dP - D_i) * attn::score_grad_factor(qk, scale, p.softcap);
    }
    const int n = min(32, i + 1 - j0);
    for (int cc = 0; cc < n; cc++) {
      const float dSc = __shfl_sync(0xffffffffu, dS, cc), Pc = __shfl_sync(0xffffffffu, P, cc);
      const int64_t row = kv0 + (int64_t)(j0 + cc) * KD;
#pragma unroll
      for (int r = 0; r < kR; r++) {
        const int e = lane + 32 * r;
        if (e >= HD) continue;
        dq_row[r] += dSc * Elem<T>::to_float(k[row + e]);
        atomicAdd(dk_acc + row + e, dSc * sq[warp][e]);
        atomicAdd(dv_acc + row + e, Pc * sdo[warp][e]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kR; r++)
    if (lane + 32 * r < HD) dq[qrow + lane + 32 * r] = Elem<T>::from_float(dq_row[r]);
}

template <typename T>
__global__ void row_dots_kernel(float* __restrict__ D, const T* __restrict__ dy, const T* __restrict__ y, AttentionParams p) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t w = (int64_t)blockIdx.x * kSimtWarps + warp;
  if (w >= (int64_t)p.B * p.NH * p.T) return;
  const RowTask task(w, p);
  const int64_t row = ((int64_t)task.b * p.T + task.i) * p.NH * p.HD + task.h * p.HD;
  float s = 0.0f;
  for (int e = lane; e < p.HD; e += 32) s += Elem<T>::to_float(dy[row + e]) * Elem<T>::to_float(y[row + e]);
  s = warp_sum(s);
  if (lane == 0) D[((int64_t)task.b * p.NH + task.h) * p.T + task.i] = s;
}

template <typename T>
__global__ void convert_kernel(T* __restrict__ dst, const float* __restrict__ src, int64_t n) {
  for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x)
    dst[idx] = Elem<T>::from_float(src[idx]);
}

unsigned row_blocks(const AttentionParams& p) {
  return (unsigned)(((int64_t)p.B * p.NH * p.T + kSimtWarps - 1) / kSimtWarps);
}

template <typename T, int kR>
void launch_forward_simt(T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p, float scale,
                         cudaStream_t stream) {
  attention_forward_simt_kernel<T, kR><<<row_blocks(p), kSimtWarps * 32, 0, stream>>>(y, lse, q, k, v, p, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

template <typename T, int kR>
void launch_backward_simt(T* dq, float* dk_acc, float* dv_acc, const T* dy, const float* D, const float* lse, const T* q,
                          const T* k, const T* v, const AttentionParams& p, float scale, cudaStream_t stream) {
  attention_backward_simt_kernel<T, kR>
      <<<row_blocks(p), kSimtWarps * 32, 0, stream>>>(dq, dk_acc, dv_acc, dy, D, lse, q, k, v, p, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace

template <typename T>
void attention_forward_simt(T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p,
                            cudaStream_t stream) {
  const float scale = attention_scale(p.scale, p.HD);
  if (p.HD <= 32) return launch_forward_simt<T, 1>(y, lse, q, k, v, p, scale, stream);
  if (p.HD <= 64) return launch_forward_simt<T, 2>(y, lse, q, k, v, p, scale, stream);
  if (p.HD <= 128) return launch_forward_simt<T, 4>(y, lse, q, k, v, p, scale, stream);
  launch_forward_simt<T, 8>(y, lse, q, k, v, p, scale, stream);
}

template <typename T>
void attention_backward_simt(T* dq, float* dk_acc, float* dv_acc, const T* dy, const float* D, const float* lse, const T* q,
                             const T* k, const T* v, const AttentionParams& p, cudaStream_t stream) {
  const float scale = attention_scale(p.scale, p.HD);
  if (p.HD <= 32) return launch_backward_simt<T, 1>(dq, dk_acc, dv_acc, dy, D, lse, q, k, v, p, scale, stream);
  if (p.HD <= 64) return launch_backward_simt<T, 2>(dq, dk_acc, dv_acc, dy, D, lse, q, k, v, p, scale, stream);
  if (p.HD <= 128) return launch_backward_simt<T, 4>(dq, dk_acc, dv_acc, dy, D, lse, q, k, v, p, scale, stream);
  launch_backward_simt<T, 8>(dq, dk_acc, dv_acc, dy, D, lse, q, k, v, p, scale, stream);
}

template <typename T>
void attention_row_dots(float* D, const T* dy, const T* y, const AttentionParams& p, cudaStream_t stream) {
  row_dots_kernel<T><<<row_blocks(p), kSimtWarps * 32, 0, stream>>>(D, dy, y, p);
  TUNER_CUDA_CHECK_LAUNCH();
}

template <typename T>
void convert_from_f32(T* dst, const float* src, int64_t n, cudaStream_t stream) {
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, 65535);
  convert_kernel<T><<<(unsigned)std::max<int64_t>(blocks, 1), 256, 0, stream>>>(dst, src, n);
  TUNER_CUDA_CHECK_LAUNCH();
}

#define TUNER_ATTENTION_SIMT_INSTANTIATE(T)                                                                           \
  template void attention_forward_simt<T>(T*, float*, const T*, const T*, const T*, const AttentionParams&, cudaStream_t); \
  template void attention_backward_simt<T>(T*, float*, float*, const T*, const float*, const float*, const T*, const T*,      \
                                           const T*, const AttentionParams&, cudaStream_t);                                  \
  template void attention_row_dots<T>(float*, const T*, const T*, const AttentionParams&, cudaStream_t);                     \
  template void convert_from_f32<T>(T*, const float*, int64_t, cudaStream_t);
TUNER_ATTENTION_SIMT_INSTANTIATE(__nv_bfloat16)
TUNER_ATTENTION_SIMT_INSTANTIATE(__half)
#undef TUNER_ATTENTION_SIMT_INSTANTIATE

}  // namespace tuner::cuda
