// Decode attention (flash-decoding): a few query rows against a long KV cache is too little work
// for one CTA per head, so the keys are cut into chunks (split-K). A CTA takes one chunk for one
// kv head and up to 8 query rows of it (the G query heads sharing it times the n new
// positions), so each cached key and value row is read once for the whole group: its 4 warps
// take 32 keys at a time, a lane per key for the scores of all 8 rows (its key row read in
// 16-byte pieces), then a lane per head-dim column for the weighted sum. The warps' and then
// the chunks' partial softmaxes (m, l, unnormalised output) combine with split_weight
// (attention_tiles.h).
#include <algorithm>

#include "cuda/attention_internal.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/attention_tiles.h"

namespace tuner::cuda {

namespace {
using attn_mma::Elem;
using attn_mma::warp_max;
using attn_mma::warp_sum;

constexpr int kDecodeRows = 8, kDecodeWarps = 4, kDecodeThreads = kDecodeWarps * 32;
constexpr int kDecodeKeyStep = kDecodeWarps * 32;  // a chunk is a multiple of this
constexpr int kDecodeMaxSplits = 64;

struct DecodeGrid {
  int k_lo, keys, chunk, splits, row_groups;
  bool vector_keys;  // key rows read 16 bytes at a time (head dim a multiple of 8, cache aligned)
};

// Partial results: m, l [splits][n*NH], acc [splits][n*NH][HD], row index i*NH + h.
template <typename T, int kR>
__global__ void __launch_bounds__(kDecodeThreads)
    attention_decode_split(float* __restrict__ part_m, float* __restrict__ part_l, float* __restrict__ part_acc,
                           const T* __restrict__ q, const T* __restrict__ kc, const T* __restrict__ vc, DecodeParams p,
                           float scale, DecodeGrid grid) {
  constexpr int kW = kR * 32;  // head-dim capacity
  __shared__ float sq[kDecodeRows][kW];
  __shared__ float s_m[kDecodeWarps][kDecodeRows], s_l[kDecodeWarps][kDecodeRows];
  __shared__ float s_acc[kDecodeWarps][kDecodeRows][kW];
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int split = blockIdx.x, kh = blockIdx.y, rg = blockIdx.z;
  const int G = p.NH / p.NKV, R = p.n * G, HD = p.HD, QD = p.NH * HD, KD = p.NKV * HD, ctx = p.pos + p.n;

  // Row r of this CTA is rr = rg * 8 + r = query * G + head-in-group (rows past R are idle).
  for (int idx = tid; idx < kDecodeRows * kW; idx += kDecodeThreads) {
    const int r = idx / kW, e = idx % kW, rr = rg * kDecodeRows + r;
    sq[r][e] = rr < R && e < HD ? Elem<T>::to_float(q[(int64_t)(rr / G) * QD + (kh * G + rr % G) * HD + e]) : 0.0f;
  }
  __syncthreads();

  const int start = grid.k_lo + split * grid.chunk, end = min(ctx, start + grid.chunk);
  float m[kDecodeRows], l[kDecodeRows], acc[kDecodeRows][kR];
#pragma unroll
  for (int r = 0; r < kDecodeRows; r++) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int x = 0; x < kR; x++) acc[r][x] = 0.0f;
  }
  const T* kb = kc + kh * HD;
  const T* vb = vc + kh * HD;
  for (int j0 = start + warp * 32; j0 < end; j0 += kDecodeKeyStep) {
    const int j = j0 + lane;
    float dots[kDecodeRows];
#pragma unroll
    for (int r = 0; r < kDecodeRows; r++) dots[r] = 0.0f;
    if (j < end) {
      const T* kj = kb + (int64_t)j * KD;
      if (grid.vector_keys) {
        for (int e = 0; e < HD; e += 8) {
          const uint4 raw = *reinterpret_cast<const uint4*>(kj + e);
          const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
          for (int w = 0; w < 4; w++) {
            const float2 kf = Elem<T>::unpack(words[w]);
#pragma unroll
            for (int r = 0; r < kDecodeRows; r++) dots[r] += sq[r][e + 2 * w] * kf.x + sq[r][e + 2 * w + 1] * kf.y;
          }
        }
      } else {
        for (int e = 0; e < HD; e++) {
          const float ke = Elem<T>::to_float(kj[e]);
#pragma unroll
          for (int r = 0; r < kDecodeRows; r++) dots[r] += sq[r][e] * ke;
        }
      }
    }
    float pj[kDecodeRows];
#pragma unroll
    for (int r = 0; r < kDecodeRows; r++) {
      const int rr = rg * kDecodeRows + r, a = p.pos + rr / G;
      const bool vis = rr < R && j < end && attn::visible(a, j, ctx, p.window, 0);
      const float slope = vis && p.alibi ? p.alibi[kh * G + rr % G] : 0.0f;
      const float t = vis ? attn::score_log2(dots[r], scale, p.softcap, slope, a, j) : -INFINITY;
      const float m_new = attn::online_max(m[r], warp_max(t)), shift = attn::online_shift(m_new);
      const float corr = attn::online_correction(m[r], shift);
      pj[r] = attn::exp2_fast(t - shift);
      l[r] = l[r] * corr + warp_sum(pj[r]);
      m[r] = m_new;
#pragma unroll
      for (int x = 0; x < kR; x++) acc[r][x] *= corr;
    }
    const int n = min(32, end - j0);
    for (int cc = 0; cc < n; cc++) {
      const T* vj = vb + (int64_t)(j0 + cc) * KD;
      float ve[kR];
#pragma unroll
      for (int x = 0; x < kR; x++) ve[x] = lane + 32 * x < HD ? Elem<T>::to_float(vj[lane + 32 * x]) : 0.0f;
#pragma unroll
      for (int r = 0; r < kDecodeRows; r++) {
        const float pc = __shfl_sync(0xffffffffu, pj[r], cc);
#pragma unroll
        for (int x = 0; x < kR; x++) acc[r][x] += pc * ve[x];
      }
    }
  }

  // The 4 warps' states -> one partial per row for this chunk.
#pragma unroll
  for (int r = 0; r < kDecodeRows; r++) {
    if (lane == 0) {
      s_m[warp][r] = m[r];
      s_l[warp][r] = l[r];
    }
#pragma unroll
    for (int x = 0; x < kR; x++) s_acc[warp][r][lane + 32 * x] = acc[r][x];
  }
  __syncthreads();
  for (int idx = tid; idx < kDecodeRows * kW; idx += kDecodeThreads) {
    const int r = idx / kW, e = idx % kW, rr = rg * kDecodeRows + r;
    if (rr >= R || e >= HD) continue;
    float M = -INFINITY;
    for (int w = 0; w < kDecodeWarps; w++) M = attn::online_max(M, s_m[w][r]);
    float L = 0.0f, A = 0.0f;
    for (int w = 0; w < kDecodeWarps; w++) {
      const float wt = attn::split_weight(s_m[w][r], M);
      L += wt * s_l[w][r];
      A += wt * s_acc[w][r][e];
    }
    const int64_t row = (int64_t)split * p.n * p.NH + (int64_t)(rr / G) * p.NH + kh * G + rr % G;
    part_acc[row * HD + e] = A;
    if (e == 0) {
      part_m[row] = M;
      part_l[row] = L;
    }
  }
}

// One warp per (query row, head): the chunks' partials combined into y.
template <typename T>
__global__ void attention_decode_combine(T* __restrict__ y, const float* __restrict__ part_m, const float* __restrict__ part_l,
                                         const float* __restrict__ part_acc, DecodeParams p, int splits) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t rows = (int64_t)p.n * p.NH, row = (int64_t)blockIdx.x * (blockDim.x >> 5) + warp;
  if (row >= rows) return;
  float M = -INFINITY;
  for (int s = 0; s < splits; s++) M = attn::online_max(M, part_m[s * rows + row]);
  float L = 0.0f;
  for (int s = 0; s < splits; s++) L += attn::split_weight(part_m[s * rows + row], M) * part_l[s * rows + row];
  const float inv = attn::row_inv_sum(L);
  for (int e = lane; e < p.HD; e += 32) {
    float a = 0.0f;
    for (int s = 0; s < splits; s++) a += attn::split_weight(part_m[s * rows + row], M) * part_acc[(s * rows + row) * p.HD + e];
    y[row * p.HD + e] = Elem<T>::from_float(a * inv);
  }
}

void check_decode_params(const DecodeParams& p) {
  AttentionParams a;
  a.T = p.pos + p.n;
  a.NH = p.NH;
  a.NKV = p.NKV;
  a.HD = p.HD;
  a.window = p.window;
  check_attention_params(a, "attention_decode");
  if (p.n < 1 || p.pos < 0)
    throw TunerError("internal", "attention_decode: bad rows n=" + std::to_string(p.n) + " pos=" + std::to_string(p.pos),
                     "This is a bug in Tuner; please report it with the log.");
}

int max_splits(const DecodeParams& p, int keys) {
  return std::min(kDecodeMaxSplits, attn::split_count(keys, kDecodeKeyStep));
}

// Enough chunks for about two CTAs per SM, each a multiple of the 128 keys a pass takes.
DecodeGrid plan_decode(const DecodeParams& p) {
  DecodeGrid g{};
  g.k_lo = attn::first_key(p.pos, p.window, 0);
  g.keys = p.pos + p.n - g.k_lo;
  g.row_groups = (p.n * (p.NH / p.NKV) + kDecodeRows - 1) / kDecodeRows;
  int device = 0, sms = 0;
  TUNER_CUDA_CHECK(cudaGetDevice(&device));
  TUNER_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int base = p.NKV * g.row_groups;
  const int wanted = std::max(1, std::min(max_splits(p, g.keys), (2 * sms + base - 1) / base));
  const int per = (g.keys + wanted - 1) / wanted;
  g.chunk = (per + kDecodeKeyStep - 1) / kDecodeKeyStep * kDecodeKeyStep;
  g.splits = attn::split_count(g.keys, g.chunk);
  return g;
}

template <typename T, int kR>
void launch_decode(T* y, const T* q, const T* kc, const T* vc, float* ws, const DecodeParams& p, const DecodeGrid& g,
                   cudaStream_t stream) {
  const int64_t rows = (int64_t)p.n * p.NH;
  float* part_m = ws;
  float* part_l = part_m + (int64_t)g.splits * rows;
  float* part_acc = part_l + (int64_t)g.splits * rows;
  const float scale = attention_scale(p.scale, p.HD);
  attention_decode_split<T, kR><<<dim3(g.splits, p.NKV, g.row_groups), kDecodeThreads, 0, stream>>>(part_m, part_l, part_acc, q,
                                                                                                   kc, vc, p, scale, g);
  TUNER_CUDA_CHECK_LAUNCH();
  attention_decode_combine<T><<<(unsigned)((rows + 3) / 4), 128, 0, stream>>>(y, part_m, part_l, part_acc, p, g.splits);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace

size_t attention_decode_workspace_bytes(const DecodeParams& p) {
  const int keys = p.pos + p.n - attn::first_key(p.pos, p.window, 0);
  return (size_t)max_splits(p, keys) * p.n * p.NH * (p.HD + 2) * sizeof(float);
}

template <typename T>
void attention_decode(T* y, const T* q, const T* k_cache, const T* v_cache, void* workspace, const DecodeParams& p,
                      cudaStream_t stream) {
  check_decode_params(p);
  DecodeGrid g = plan_decode(p);
  g.vector_keys = p.HD % 8 == 0 && aligned16(k_cache);
  float* ws = static_cast<float*>(workspace);
  if (p.HD <= 32) return launch_decode<T, 1>(y, q, k_cache, v_cache, ws, p, g, stream);
  if (p.HD <= 64) return launch_decode<T, 2>(y, q, k_cache, v_cache, ws, p, g, stream);
  if (p.HD <= 128) return launch_decode<T, 4>(y, q, k_cache, v_cache, ws, p, g, stream);
  launch_decode<T, 8>(y, q, k_cache, v_cache, ws, p, g, stream);
}

template void attention_decode<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*,
                                              const __nv_bfloat16*, void*, const DecodeParams&, cudaStream_t);
template void attention_decode<__half>(__half*, const __half*, const __half*, const __half*, void*, const DecodeParams&,
                                       cudaStream_t);

}  // namespace tuner::cuda
