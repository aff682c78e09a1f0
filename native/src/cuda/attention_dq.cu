// The deterministic dQ of the tensor-core backward (flash-attention 2/3's "dQ separate" scheme):
// a query-major kernel shaped as the forward. A CTA of 4 warps owns 64 query rows of one (batch
// row, query head), 16 rows per warp, and walks the key tiles of 64 keys that key_tiles() keeps
// (attention_tiles.h, the forward's walk: nothing above the causal diagonal, left of the window
// or before the first row's record) in increasing order. Per tile, all products on tensor cores:
//   S = Q K^T, P = exp2(S - lse) (masked as the forward)      (the forward's Q K^T)
//   dP = dY V^T                                                (the same product with dY, V)
//   dS = P o (dP - D) * d score / d(q.k)                       (as the backward kernel's step 5)
//   dQ += dS K                                                 (the forward's P V with V := K)
// Each dQ element has one writer and its sum runs in the same order every time, so dQ repeats
// bit for bit; the price is recomputing S and dP, which the key-major kernel also computes.
// K tiles are double-buffered: the next K loads under dP and dS K, each V under Q K^T.
#include "cuda/attention_internal.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/attention_tiles.h"

namespace tuner::cuda {

namespace {
using namespace attn_mma;
using attn::TileRange;

constexpr int kDqBM = 64, kDqBN = 64, kDqWarps = 4, kDqThreads = kDqWarps * 32;

// Q, dY, two K tiles and one V tile.
template <int kHD, typename T>
constexpr size_t dq_smem_bytes() {
  return (size_t)(2 * kDqBM + 3 * kDqBN) * kRowStride<kHD> * sizeof(T);
}

// kHD: the tile's head dim (p.HD may be smaller: its columns are zero-padded).
// kExtras: soft-capping or ALiBi present (off: the score is one multiply, d score / d(q.k) the scale).
template <typename T, int kHD, bool kExtras>
__global__ void __launch_bounds__(kDqThreads)
    attention_dq_tc(T* __restrict__ dq, const T* __restrict__ dy, const float* __restrict__ D, const float* __restrict__ lse,
                    const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, AttentionParams p, float scale) {
  constexpr int S = kRowStride<kHD>;
  constexpr int kNT = kDqBN / 8;  // 8-key score tiles per warp row
  constexpr int kDT = kHD / 8;    // 8-wide dQ tiles
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);
  T* sdO = sQ + kDqBM * S;
  T* sK0 = sdO + kDqBM * S;  // two K buffers, the tile walk alternating between them
  T* sV = sK0 + 2 * kDqBN * S;

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  // This lane's accumulator rows g, g + 8 and columns 2c, 2c + 1 of every 16x8 tile.
  const int g = attn::c_frag(lane, 0).row, c = attn::c_frag(lane, 0).col / 2;
  const int m_block = gridDim.x - 1 - blockIdx.x;  // the longest rows first
  const int h = blockIdx.y, b = blockIdx.z;
  const int T_ = p.T, G = p.NH / p.NKV, kh = h / G, QD = p.NH * p.HD, KD = p.NKV * p.HD;
  const int m0 = m_block * kDqBM, last = min(T_, m0 + kDqBM) - 1;
  const int32_t* ss = p.sample_start ? p.sample_start + (int64_t)b * T_ : nullptr;
  const TileRange tiles = attn::key_tiles(m0, kDqBM, kDqBN, T_, p.window, ss ? ss[m0] : 0);
  auto k_buffer = [&](int kt) { return sK0 + ((kt - tiles.begin) & 1) * (kDqBN * S); };
  const int rs_last = ss ? ss[last] : 0;
  const int rows[2] = {m0 + warp * 16 + g, m0 + warp * 16 + g + 8};
  const int rs[2] = {ss && rows[0] < T_ ? ss[rows[0]] : 0, ss && rows[1] < T_ ? ss[rows[1]] : 0};
  // Rows past T: lse +inf (P = 0) and D 0, as the key-major kernel's padding rows.
  float lse_r[2], D_r[2];
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int64_t row = ((int64_t)b * p.NH + h) * T_ + rows[r];
    lse_r[r] = rows[r] < T_ ? lse[row] : INFINITY;
    D_r[r] = rows[r] < T_ ? D[row] : 0.0f;
  }
  const float slope = kExtras && p.alibi ? p.alibi[h] : 0.0f;
  const float scale_log2 = scale * attn::kLog2e;

  const T* qb = q + (int64_t)b * T_ * QD + h * p.HD;
  const T* dyb = dy + (int64_t)b * T_ * QD + h * p.HD;
  const T* kb = k + (int64_t)b * T_ * KD + kh * p.HD;
  const T* vb = v + (int64_t)b * T_ * KD + kh * p.HD;
  load_tile_async<kDqBM, kHD, kDqThreads>(sQ, qb, QD, m0, T_, p.HD, tid);
  load_tile_async<kDqBM, kHD, kDqThreads>(sdO, dyb, QD, m0, T_, p.HD, tid);
  load_tile_async<kDqBN, kHD, kDqThreads>(k_buffer(tiles.begin), kb, KD, tiles.begin * kDqBN, T_, p.HD, tid);
  cp_async_commit();

  float dq_acc[kDT][4];
  zero_acc(dq_acc);

  for (int kt = tiles.begin; kt < tiles.end; ++kt) {
    const int n0 = kt * kDqBN;
    const T* sK = k_buffer(kt);
    cp_async_wait_all();
    __syncthreads();  // this K tile (and Q, dY) landed; every warp is done with the previous V
    load_tile_async<kDqBN, kHD, kDqThreads>(sV, vb, KD, n0, T_, p.HD, tid);
    cp_async_commit();

    // S = Q K^T: this warp's 16 rows x 64 keys.
    float s[kNT][4];
    zero_acc(s);
    mma_smem_nk<T, kHD>(s, sQ, warp * 16, sK, S, lane);

    // P from the saved lse (masked pairs 0, only on tiles that hold some); under soft-capping
    // s keeps d score / d(q.k) for dS.
    const bool unmasked = attn::tile_unmasked(m0, last, n0, kDqBN, p.window, rs_last);
    float pr[kNT][4];
#pragma unroll
    for (int nt = 0; nt < kNT; nt++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int i = rows[e >> 1], j = n0 + nt * 8 + 2 * c + (e & 1);
        const float qk = s[nt][e];
        const float t = kExtras ? attn::score_log2(qk, scale, p.softcap, slope, i, j) : qk * scale_log2;
        pr[nt][e] = unmasked || attn::visible(i, j, T_, p.window, rs[e >> 1]) ? attn::prob_from_lse(t, lse_r[e >> 1]) : 0.0f;
        if (kExtras) s[nt][e] = attn::score_grad_factor(qk, scale, p.softcap);
      }

    cp_async_wait_all();
    __syncthreads();  // V landed; every warp is done with the previous K buffer (its dS K ended before the first barrier)
    if (kt + 1 < tiles.end) {
      load_tile_async<kDqBN, kHD, kDqThreads>(k_buffer(kt + 1), kb, KD, n0 + kDqBN, T_, p.HD, tid);
      cp_async_commit();
    }

    // dP = dY V^T, then dS = P o (dP - D) times d score / d(q.k), the scale unless soft-capped.
    float ds[kNT][4];
    zero_acc(ds);
    mma_smem_nk<T, kHD>(ds, sdO, warp * 16, sV, S, lane);
#pragma unroll
    for (int nt = 0; nt < kNT; nt++)
#pragma unroll
      for (int e = 0; e < 4; e++)
        ds[nt][e] = pr[nt][e] * (ds[nt][e] - D_r[e >> 1]) * (kExtras ? s[nt][e] : scale);

    // dQ += dS K: two 8-key dS tiles form one A fragment over 16 keys (the forward's P V).
    mma_acc_kn<T>(dq_acc, ds, sK, S, lane);
  }

  // Epilogue: dQ staged in this warp's own rows of sQ (each warp reads only its own 16 rows of
  // sQ), then written as 16-byte row pieces, as the forward writes O.
  const float unscaled[2] = {1.0f, 1.0f};
  store_warp_rows<T, kHD>(dq + (int64_t)b * T_ * QD + h * p.HD, QD, m0 + warp * 16, T_, p.HD, sQ + warp * 16 * S, dq_acc,
                          unscaled, lane);
}

template <typename T, int kHD, bool kExtras>
void launch_dq_tc(T* dq, const T* dy, const float* D, const float* lse, const T* q, const T* k, const T* v,
                  const AttentionParams& p, float scale, cudaStream_t stream) {
  constexpr size_t smem = dq_smem_bytes<kHD, T>();
  auto kernel = attention_dq_tc<T, kHD, kExtras>;
  TUNER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  const dim3 grid((p.T + kDqBM - 1) / kDqBM, p.NH, p.B);
  kernel<<<grid, kDqThreads, smem, stream>>>(dq, dy, D, lse, q, k, v, p, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

template <typename T, bool kExtras>
void dq_tc_for_head_dim(int tile_hd, T* dq, const T* dy, const float* D, const float* lse, const T* q, const T* k, const T* v,
                        const AttentionParams& p, float scale, cudaStream_t stream) {
  switch (tile_hd) {
    case 64: return launch_dq_tc<T, 64, kExtras>(dq, dy, D, lse, q, k, v, p, scale, stream);
    case 80: return launch_dq_tc<T, 80, kExtras>(dq, dy, D, lse, q, k, v, p, scale, stream);
    case 96: return launch_dq_tc<T, 96, kExtras>(dq, dy, D, lse, q, k, v, p, scale, stream);
    default: return launch_dq_tc<T, 128, kExtras>(dq, dy, D, lse, q, k, v, p, scale, stream);
  }
}

}  // namespace

template <typename T>
void attention_dq_deterministic(T* dq, const T* dy, const float* D, const float* lse, const T* q, const T* k, const T* v,
                                const AttentionParams& p, float scale, cudaStream_t stream) {
  const int tile_hd = tensor_core_head_dim(p.HD);
  if (p.softcap > 0 || p.alibi)
    dq_tc_for_head_dim<T, true>(tile_hd, dq, dy, D, lse, q, k, v, p, scale, stream);
  else
    dq_tc_for_head_dim<T, false>(tile_hd, dq, dy, D, lse, q, k, v, p, scale, stream);
}

template void attention_dq_deterministic<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, const float*, const float*,
                                                        const __nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*,
                                                        const AttentionParams&, float, cudaStream_t);
template void attention_dq_deterministic<__half>(__half*, const __half*, const float*, const float*, const __half*, const __half*,
                                                 const __half*, const AttentionParams&, float, cudaStream_t);

}  // namespace tuner::cuda
