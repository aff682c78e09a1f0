// Flash-attention 2 forward on tensor cores. A CTA of 4 warps takes 64 query rows of one
// (batch row, head), 16 rows per warp, and walks the key tiles of 64 keys that key_tiles()
// keeps (attention_tiles.h: nothing above the causal diagonal, left of the window or before
// the first row's record), from the diagonal tile down. Per tile: S = Q K^T (mma m16n8k16,
// fp32), scores masked per element only on tiles tile_unmasked() rejects, the online softmax
// in log2 units, O += P V with P taken straight from the S registers. K and V tiles stream in
// with cp.async: V's load overlaps Q K^T, the next K's overlaps P V. The epilogue writes O / l
// through shared memory in 16-byte rows and the row's logsumexp for backward.
#include "cuda/attention_internal.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/attention_tiles.h"

namespace tuner::cuda {

namespace {
using namespace attn_mma;
using attn::TileRange;

constexpr int kFwdBM = 64, kFwdBN = 64, kFwdWarps = 4, kFwdThreads = kFwdWarps * 32;

template <int kHD, typename T>
constexpr size_t forward_smem_bytes() {
  return (size_t)(kFwdBM + 2 * kFwdBN) * kRowStride<kHD> * sizeof(T);
}

// kHD: the tile's head dim (the real one, p.HD, may be smaller: its columns are zero-padded).
// kExtras: soft-capping or ALiBi present (off: the score is one multiply).
template <typename T, int kHD, bool kExtras>
__global__ void __launch_bounds__(kFwdThreads) attention_forward_tc(T* __restrict__ y, float* __restrict__ lse,
                                                                    const T* __restrict__ q, const T* __restrict__ k,
                                                                    const T* __restrict__ v, AttentionParams p, float scale) {
  constexpr int S = kRowStride<kHD>;
  constexpr int kNT = kFwdBN / 8;  // 8-key score tiles per warp row
  constexpr int kDT = kHD / 8;     // 8-wide output tiles
  constexpr int kKS = kHD / 16;    // k steps of Q K^T
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);
  T* sK = sQ + kFwdBM * S;
  T* sV = sK + kFwdBN * S;

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  // This lane's accumulator rows g, g + 8 and columns 2c, 2c + 1 of every 16x8 tile.
  const int g = attn::c_frag(lane, 0).row, c = attn::c_frag(lane, 0).col / 2;
  const int m_block = gridDim.x - 1 - blockIdx.x;  // the longest rows first
  const int h = blockIdx.y, b = blockIdx.z;
  const int T_ = p.T, G = p.NH / p.NKV, kh = h / G, QD = p.NH * p.HD, KD = p.NKV * p.HD;
  const int m0 = m_block * kFwdBM, last = min(T_, m0 + kFwdBM) - 1;
  const int32_t* ss = p.sample_start ? p.sample_start + (int64_t)b * T_ : nullptr;
  const TileRange tiles = attn::key_tiles(m0, kFwdBM, kFwdBN, T_, p.window, ss ? ss[m0] : 0);
  const int rs_last = ss ? ss[last] : 0;
  const int rows[2] = {m0 + warp * 16 + g, m0 + warp * 16 + g + 8};
  const int rs[2] = {ss && rows[0] < T_ ? ss[rows[0]] : 0, ss && rows[1] < T_ ? ss[rows[1]] : 0};
  const float slope = kExtras && p.alibi ? p.alibi[h] : 0.0f;
  const float scale_log2 = scale * attn::kLog2e;

  const T* qb = q + (int64_t)b * T_ * QD + h * p.HD;
  const T* kb = k + (int64_t)b * T_ * KD + kh * p.HD;
  const T* vb = v + (int64_t)b * T_ * KD + kh * p.HD;
  load_tile_async<kFwdBM, kHD, kFwdThreads>(sQ, qb, QD, m0, T_, p.HD, tid);
  load_tile_async<kFwdBN, kHD, kFwdThreads>(sK, kb, KD, (tiles.end - 1) * kFwdBN, T_, p.HD, tid);
  cp_async_commit();

  uint32_t qf[kKS][4];
  float o[kDT][4];
  zero_acc(o);
  float m_r[2] = {-INFINITY, -INFINITY}, l_r[2] = {0.0f, 0.0f};  // l: this thread's columns only

  for (int kt = tiles.end - 1; kt >= tiles.begin; --kt) {
    const int n0 = kt * kFwdBN;
    cp_async_wait_all();
    __syncthreads();  // K tile (and Q) landed; every warp is done with the previous V
    if (kt == tiles.end - 1) {
#pragma unroll
      for (int ks = 0; ks < kKS; ks++) ldmatrix_x4(qf[ks], a_frag_addr(sQ, S, warp * 16, ks * 16, lane));
    }
    load_tile_async<kFwdBN, kHD, kFwdThreads>(sV, vb, KD, n0, T_, p.HD, tid);
    cp_async_commit();

    float s[kNT][4];
    zero_acc(s);
#pragma unroll
    for (int ks = 0; ks < kKS; ks++)
#pragma unroll
      for (int np = 0; np < kNT / 2; np++) {
        uint32_t bk[4];
        ldmatrix_x4(bk, b_frag_addr_nk(sK, S, np * 16, ks * 16, lane));
        mma_16816<T>(s[2 * np], qf[ks], bk[0], bk[1]);
        mma_16816<T>(s[2 * np + 1], qf[ks], bk[2], bk[3]);
      }

    // Scores in log2 units; masked pairs -inf (only on tiles that hold some).
    const bool unmasked = attn::tile_unmasked(m0, last, n0, kFwdBN, p.window, rs_last);
#pragma unroll
    for (int nt = 0; nt < kNT; nt++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int i = rows[e >> 1], j = n0 + nt * 8 + 2 * c + (e & 1);
        float t = kExtras ? attn::score_log2(s[nt][e], scale, p.softcap, slope, i, j) : s[nt][e] * scale_log2;
        if (!unmasked && !attn::visible(i, j, T_, p.window, rs[e >> 1])) t = -INFINITY;
        s[nt][e] = t;
      }

    // Online softmax per row (attention_tiles.h); P replaces S.
#pragma unroll
    for (int r = 0; r < 2; r++) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kNT; nt++) mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
      mx = quad_max(mx);
      const float m_new = attn::online_max(m_r[r], mx), shift = attn::online_shift(m_new);
      const float corr = attn::online_correction(m_r[r], shift);
      m_r[r] = m_new;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < kNT; nt++) {
        s[nt][2 * r] = attn::exp2_fast(s[nt][2 * r] - shift);
        s[nt][2 * r + 1] = attn::exp2_fast(s[nt][2 * r + 1] - shift);
        sum += s[nt][2 * r] + s[nt][2 * r + 1];
      }
      l_r[r] = l_r[r] * corr + sum;
#pragma unroll
      for (int dt = 0; dt < kDT; dt++) {
        o[dt][2 * r] *= corr;
        o[dt][2 * r + 1] *= corr;
      }
    }

    cp_async_wait_all();
    __syncthreads();  // V landed; every warp is done reading this K tile
    if (kt > tiles.begin) {
      load_tile_async<kFwdBN, kHD, kFwdThreads>(sK, kb, KD, n0 - kFwdBN, T_, p.HD, tid);
      cp_async_commit();
    }

    // O += P V: two 8-key score tiles form one A fragment over 16 keys.
    mma_acc_kn<T>(o, s, sV, S, lane);
  }

  // Epilogue: lse per real row; O / l staged in this warp's own rows of sQ (no warp reads Q from
  // shared memory after the first tile), then written as 16-byte row pieces.
  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const float l = quad_sum(l_r[r]);
    inv[r] = attn::row_inv_sum(l);
    if (c == 0 && rows[r] < T_) lse[((int64_t)b * p.NH + h) * T_ + rows[r]] = attn::row_lse(m_r[r], l);
  }
  store_warp_rows<T, kHD>(y + (int64_t)b * T_ * QD + h * p.HD, QD, m0 + warp * 16, T_, p.HD, sQ + warp * 16 * S, o, inv, lane);
}

template <typename T, int kHD, bool kExtras>
void launch_forward_tc(T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p, float scale,
                       cudaStream_t stream) {
  constexpr size_t smem = forward_smem_bytes<kHD, T>();
  auto kernel = attention_forward_tc<T, kHD, kExtras>;
  TUNER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  const dim3 grid((p.T + kFwdBM - 1) / kFwdBM, p.NH, p.B);
  kernel<<<grid, kFwdThreads, smem, stream>>>(y, lse, q, k, v, p, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

template <typename T, bool kExtras>
void forward_tc_for_head_dim(int tile_hd, T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p,
                             float scale, cudaStream_t stream) {
  switch (tile_hd) {
    case 64: return launch_forward_tc<T, 64, kExtras>(y, lse, q, k, v, p, scale, stream);
    case 80: return launch_forward_tc<T, 80, kExtras>(y, lse, q, k, v, p, scale, stream);
    case 96: return launch_forward_tc<T, 96, kExtras>(y, lse, q, k, v, p, scale, stream);
    default: return launch_forward_tc<T, 128, kExtras>(y, lse, q, k, v, p, scale, stream);
  }
}

}  // namespace

AttentionPath attention_path(const AttentionParams& p, const void* q, const void* k, const void* v) {
  return tensor_core_head_dim(p.HD) && aligned16(q) && aligned16(k) && aligned16(v) ? AttentionPath::tensor_cores
                                                                                    : AttentionPath::simt;
}

template <typename T>
void attention_forward(T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p, cudaStream_t stream,
                       AttentionPath path) {
  check_attention_params(p, "attention_forward");
  const AttentionPath auto_path = attention_path(p, q, k, v);
  if (path == AttentionPath::automatic || (path == AttentionPath::tensor_cores && auto_path == AttentionPath::simt))
    path = auto_path;  // tensor cores only where they fit
  if (path == AttentionPath::simt || !aligned16(y)) return attention_forward_simt(y, lse, q, k, v, p, stream);
  const float scale = attention_scale(p.scale, p.HD);
  const int tile_hd = tensor_core_head_dim(p.HD);
  if (p.softcap > 0 || p.alibi)
    forward_tc_for_head_dim<T, true>(tile_hd, y, lse, q, k, v, p, scale, stream);
  else
    forward_tc_for_head_dim<T, false>(tile_hd, y, lse, q, k, v, p, scale, stream);
}

template void attention_forward<__nv_bfloat16>(__nv_bfloat16*, float*, const __nv_bfloat16*, const __nv_bfloat16*,
                                               const __nv_bfloat16*, const AttentionParams&, cudaStream_t, AttentionPath);
template void attention_forward<__half>(__half*, float*, const __half*, const __half*, const __half*, const AttentionParams&,
                                        cudaStream_t, AttentionPath);

}  // namespace tuner::cuda
