// Flash-attention 2 backward on tensor cores. First D = rowsum(dY o Y) per row (a row's
// rowsum(P o dP)). Then a CTA of 4 warps owns 64 keys of one (batch row, kv head), 16 keys per
// warp, keeps their dK and dV in registers and walks, for each of the G query heads sharing the
// kv head, the query blocks of 64 rows that query_tiles() keeps (attention_tiles.h), stopping
// at the first block past the keys' records. Per block, all products on tensor cores:
//   S^T = K Q^T, P^T = exp2(S^T - lse) (masked)   dV += P^T dY
//   dP^T = V dY^T, dS^T = P^T o (dP^T - D) * dscore/d(q.k)   dK += dS^T Q
//   dQ += dS K  (dS^T through shared memory; each warp 16 query rows, fp32 atomics)
// So dK / dV are summed over the group's query heads without atomics, in a fixed order. dQ has
// two paths (AttentionParams::deterministic): by default this kernel skips the dQ product
// (kAtomicDq off) and the query-major kernel of attention_dq.cu computes dQ with one writer per
// element; with kAtomicDq dQ is summed across key blocks into an fp32 accumulator with atomics
// (its last bits vary run to run) and converted to T at the end. The next block's Q and dY tiles
// load (cp.async) while the dQ product and its atomics run.
#include "cuda/attention_internal.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/attention_tiles.h"

namespace tuner::cuda {

namespace {
using namespace attn_mma;
using attn::TileRange;

constexpr int kBwdBM = 64, kBwdBN = 64, kBwdWarps = 4, kBwdThreads = kBwdWarps * 32;
constexpr int kDsStride = kBwdBM + 8;  // dS^T rows [key][query], padded as the other tiles

template <int kHD, typename T>
constexpr size_t backward_smem_bytes() {
  return (size_t)(2 * kBwdBN + 2 * kBwdBM) * kRowStride<kHD> * sizeof(T) + (size_t)kBwdBN * kDsStride * sizeof(T) +
         (size_t)kBwdBM * (2 * sizeof(float) + sizeof(int));
}

// kAtomicDq: also add this key block's dQ share into dq_acc (off: dQ is attention_dq.cu's).
template <typename T, int kHD, bool kExtras, bool kAtomicDq>
__global__ void __launch_bounds__(kBwdThreads)
    attention_backward_tc(float* __restrict__ dq_acc, T* __restrict__ dk, T* __restrict__ dv, const T* __restrict__ dy,
                          const float* __restrict__ D, const float* __restrict__ lse, const T* __restrict__ q,
                          const T* __restrict__ k, const T* __restrict__ v, AttentionParams p, float scale) {
  constexpr int S = kRowStride<kHD>;
  constexpr int kQT = kBwdBM / 8;  // 8-query tiles of S^T per warp
  constexpr int kDT = kHD / 8;     // 8-wide head-dim tiles
  using E = Elem<T>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sK = reinterpret_cast<T*>(smem_raw);
  T* sV = sK + kBwdBN * S;
  T* sQ = sV + kBwdBN * S;
  T* sdO = sQ + kBwdBM * S;
  T* sdS = sdO + kBwdBM * S;
  float* sLse = reinterpret_cast<float*>(sdS + kBwdBN * kDsStride);
  float* sD = sLse + kBwdBM;
  int* sRs = reinterpret_cast<int*>(sD + kBwdBM);

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  // This lane's accumulator rows g, g + 8 and columns 2c, 2c + 1 of every 16x8 tile.
  const int g = attn::c_frag(lane, 0).row, c = attn::c_frag(lane, 0).col / 2;
  const int n_block = gridDim.x - 1 - blockIdx.x;
  const int kh = blockIdx.y, b = blockIdx.z;
  const int T_ = p.T, G = p.NH / p.NKV, QD = p.NH * p.HD, KD = p.NKV * p.HD;
  const int n0 = n_block * kBwdBN, n_last = min(T_, n0 + kBwdBN) - 1;
  const int32_t* ss = p.sample_start ? p.sample_start + (int64_t)b * T_ : nullptr;
  const TileRange range = attn::query_tiles(n0, kBwdBN, kBwdBM, T_, p.window);
  int q_end = range.end;
  if (ss)
    for (int qt = range.begin; qt < range.end; qt++)
      if (attn::records_past_keys(ss[qt * kBwdBM], n_last)) {
        q_end = qt;
        break;
      }
  const int n_q = q_end - range.begin, total = G * n_q;  // n_q >= 1: query n0 sees key n0
  const int keys[2] = {n0 + warp * 16 + g, n0 + warp * 16 + g + 8};
  const float scale_log2 = scale * attn::kLog2e;

  const T* kb = k + (int64_t)b * T_ * KD + kh * p.HD;
  const T* vb = v + (int64_t)b * T_ * KD + kh * p.HD;
  auto q_ptr = [&](const T* base, int it) { return base + (int64_t)b * T_ * QD + (kh * G + it / n_q) * p.HD; };
  auto q_row0 = [&](int it) { return (range.begin + it % n_q) * kBwdBM; };

  load_tile_async<kBwdBN, kHD, kBwdThreads>(sK, kb, KD, n0, T_, p.HD, tid);
  load_tile_async<kBwdBN, kHD, kBwdThreads>(sV, vb, KD, n0, T_, p.HD, tid);
  load_tile_async<kBwdBM, kHD, kBwdThreads>(sQ, q_ptr(q, 0), QD, q_row0(0), T_, p.HD, tid);
  load_tile_async<kBwdBM, kHD, kBwdThreads>(sdO, q_ptr(dy, 0), QD, q_row0(0), T_, p.HD, tid);
  cp_async_commit();

  float dk_acc[kDT][4], dv_acc[kDT][4];
  zero_acc(dk_acc);
  zero_acc(dv_acc);

  for (int it = 0; it < total; it++) {
    const int h = kh * G + it / n_q, m0 = q_row0(it), last = min(T_, m0 + kBwdBM) - 1;
    const float slope = kExtras && p.alibi ? p.alibi[h] : 0.0f;
    // Per query row: lse (+inf past T, so P = 0 there), D, record start. Every warp finished
    // reading the previous block's values before the barrier in the middle of that iteration.
    for (int r = tid; r < kBwdBM; r += kBwdThreads) {
      const int i = m0 + r;
      const int64_t row = ((int64_t)b * p.NH + h) * T_ + i;
      sLse[r] = i < T_ ? lse[row] : INFINITY;
      sD[r] = i < T_ ? D[row] : 0.0f;
      sRs[r] = ss && i < T_ ? ss[i] : 0;
    }
    cp_async_wait_all();
    __syncthreads();  // Q, dY (and K, V) landed; the row values are visible

    // 1. S^T = K Q^T: this warp's 16 keys x 64 queries.
    float st[kQT][4];
    zero_acc(st);
    mma_smem_nk<T, kHD>(st, sK, warp * 16, sQ, S, lane);

    // 2. P^T from the saved lse; under soft-capping st keeps d score / d(q.k) for step 5.
    const bool unmasked = attn::tile_unmasked(m0, last, n0, kBwdBN, p.window, sRs[last - m0]);
    float pt[kQT][4];
#pragma unroll
    for (int nt = 0; nt < kQT; nt++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int il = nt * 8 + 2 * c + (e & 1), i = m0 + il, j = keys[e >> 1];
        const float qk = st[nt][e];
        const float t = kExtras ? attn::score_log2(qk, scale, p.softcap, slope, i, j) : qk * scale_log2;
        pt[nt][e] = unmasked || attn::visible(i, j, T_, p.window, sRs[il]) ? attn::prob_from_lse(t, sLse[il]) : 0.0f;
        if (kExtras) st[nt][e] = attn::score_grad_factor(qk, scale, p.softcap);
      }

    // 3. dV += P^T dY (P^T's C fragments are the A fragments over 16 queries).
    mma_acc_kn<T>(dv_acc, pt, sdO, S, lane);

    // 4. dP^T = V dY^T.
    float ds[kQT][4];
    zero_acc(ds);
    mma_smem_nk<T, kHD>(ds, sV, warp * 16, sdO, S, lane);

    // 5. dS^T = P^T o (dP^T - D) times d score / d(q.k), the scale unless soft-capped.
#pragma unroll
    for (int nt = 0; nt < kQT; nt++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int il = nt * 8 + 2 * c + (e & 1);
        ds[nt][e] = pt[nt][e] * (ds[nt][e] - sD[il]) * (kExtras ? st[nt][e] : scale);
      }

    // 6. dK += dS^T Q.
    mma_acc_kn<T>(dk_acc, ds, sQ, S, lane);

    // 7. dS^T into shared memory [key][query] for the dQ product, which mixes the warps' keys.
    if constexpr (kAtomicDq) {
#pragma unroll
      for (int nt = 0; nt < kQT; nt++) {
        *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + g) * kDsStride + nt * 8 + 2 * c) = E::pack(ds[nt][0], ds[nt][1]);
        *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + g + 8) * kDsStride + nt * 8 + 2 * c) = E::pack(ds[nt][2], ds[nt][3]);
      }
    }
    __syncthreads();  // dS^T complete; Q and dY are no longer read in this iteration

    if (it + 1 < total) {  // the next block's Q and dY load under the dQ product
      load_tile_async<kBwdBM, kHD, kBwdThreads>(sQ, q_ptr(q, it + 1), QD, q_row0(it + 1), T_, p.HD, tid);
      load_tile_async<kBwdBM, kHD, kBwdThreads>(sdO, q_ptr(dy, it + 1), QD, q_row0(it + 1), T_, p.HD, tid);
      cp_async_commit();
    }

    // 8. dQ += dS K for this warp's 16 query rows, added to the fp32 accumulator.
    if constexpr (kAtomicDq) {
      float dq[kDT][4];
      zero_acc(dq);
#pragma unroll
      for (int ks = 0; ks < kBwdBN / 16; ks++) {
        uint32_t a[4];
        ldmatrix_x4_trans(a, a_frag_addr_km(sdS, kDsStride, ks * 16, warp * 16, lane));
        mma_frag_kn<T>(dq, a, sK, S, ks * 16, lane);
      }
      float* dqb = dq_acc + (int64_t)b * T_ * QD + h * p.HD;
#pragma unroll
      for (int dt = 0; dt < kDT; dt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
          const int i = m0 + warp * 16 + g + 8 * (e >> 1), col = dt * 8 + 2 * c + (e & 1);
          if (i < T_ && col < p.HD) atomicAdd(dqb + (int64_t)i * QD + col, dq[dt][e]);
        }
    }
  }

  // dK, dV of this warp's keys (summed over the group's query heads).
  T* dkb = dk + (int64_t)b * T_ * KD + kh * p.HD;
  T* dvb = dv + (int64_t)b * T_ * KD + kh * p.HD;
#pragma unroll
  for (int r = 0; r < 2; r++) {
    if (keys[r] >= T_) continue;
#pragma unroll
    for (int dt = 0; dt < kDT; dt++) {
      const int col = dt * 8 + 2 * c;
      if (col >= p.HD) continue;
      *reinterpret_cast<uint32_t*>(dkb + (int64_t)keys[r] * KD + col) = E::pack(dk_acc[dt][2 * r], dk_acc[dt][2 * r + 1]);
      *reinterpret_cast<uint32_t*>(dvb + (int64_t)keys[r] * KD + col) = E::pack(dv_acc[dt][2 * r], dv_acc[dt][2 * r + 1]);
    }
  }
}

template <typename T, int kHD, bool kExtras>
void launch_backward_tc(float* dq_acc, T* dk, T* dv, const T* dy, const float* D, const float* lse, const T* q, const T* k,
                        const T* v, const AttentionParams& p, float scale, cudaStream_t stream) {
  constexpr size_t smem = backward_smem_bytes<kHD, T>();
  auto kernel = dq_acc ? attention_backward_tc<T, kHD, kExtras, true> : attention_backward_tc<T, kHD, kExtras, false>;
  TUNER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  const dim3 grid((p.T + kBwdBN - 1) / kBwdBN, p.NKV, p.B);
  kernel<<<grid, kBwdThreads, smem, stream>>>(dq_acc, dk, dv, dy, D, lse, q, k, v, p, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

template <typename T, bool kExtras>
void backward_tc_for_head_dim(int tile_hd, float* dq_acc, T* dk, T* dv, const T* dy, const float* D, const float* lse,
                              const T* q, const T* k, const T* v, const AttentionParams& p, float scale, cudaStream_t stream) {
  switch (tile_hd) {
    case 64: return launch_backward_tc<T, 64, kExtras>(dq_acc, dk, dv, dy, D, lse, q, k, v, p, scale, stream);
    case 80: return launch_backward_tc<T, 80, kExtras>(dq_acc, dk, dv, dy, D, lse, q, k, v, p, scale, stream);
    case 96: return launch_backward_tc<T, 96, kExtras>(dq_acc, dk, dv, dy, D, lse, q, k, v, p, scale, stream);
    default: return launch_backward_tc<T, 128, kExtras>(dq_acc, dk, dv, dy, D, lse, q, k, v, p, scale, stream);
  }
}

// Workspace pieces, each starting on a 256-byte boundary: D, the SIMT path's dK / dV
// accumulators and, for the atomic dQ only (p.deterministic off), the fp32 dQ accumulator.
struct BackwardWorkspace {
  float *D, *dk_acc, *dv_acc, *dq_acc;
  size_t bytes;
};
BackwardWorkspace carve_workspace(void* base, const AttentionParams& p) {
  auto round = [](size_t floats) { return (floats + 63) / 64 * 64; };
  const size_t nd = round((size_t)p.B * p.NH * p.T), nk = round((size_t)p.B * p.T * p.NKV * p.HD);
  const size_t nq = p.deterministic ? 0 : round((size_t)p.B * p.T * p.NH * p.HD);
  float* f = static_cast<float*>(base);
  return {f, f ? f + nd : nullptr, f ? f + nd + nk : nullptr, f && nq ? f + nd + 2 * nk : nullptr,
          (nd + 2 * nk + nq) * sizeof(float)};
}

}  // namespace

size_t attention_backward_workspace_bytes(const AttentionParams& p) { return carve_workspace(nullptr, p).bytes; }

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dy, const T* y, const float* lse, const T* q, const T* k, const T* v,
                        void* workspace, const AttentionParams& p, cudaStream_t stream, AttentionPath path) {
  check_attention_params(p, "attention_backward");
  AttentionPath auto_path = attention_path(p, q, k, v);
  if (!aligned16(dy) || !aligned16(dq)) auto_path = AttentionPath::simt;  // dQ's 16-byte row stores
  if (path == AttentionPath::automatic || (path == AttentionPath::tensor_cores && auto_path == AttentionPath::simt))
    path = auto_path;
  const BackwardWorkspace ws = carve_workspace(workspace, p);
  const int64_t nq = (int64_t)p.B * p.T * p.NH * p.HD, nk = (int64_t)p.B * p.T * p.NKV * p.HD;
  const float scale = attention_scale(p.scale, p.HD);
  attention_row_dots(ws.D, dy, y, p, stream);
  if (path == AttentionPath::tensor_cores) {
    // dK, dV (and with the atomic dQ, dQ's shares) from the key-major kernel; the deterministic
    // dQ from the query-major one (attention_dq.cu), which reads the same D.
    if (ws.dq_acc) TUNER_CUDA_CHECK(cudaMemsetAsync(ws.dq_acc, 0, nq * sizeof(float), stream));
    const int tile_hd = tensor_core_head_dim(p.HD);
    if (p.softcap > 0 || p.alibi)
      backward_tc_for_head_dim<T, true>(tile_hd, ws.dq_acc, dk, dv, dy, ws.D, lse, q, k, v, p, scale, stream);
    else
      backward_tc_for_head_dim<T, false>(tile_hd, ws.dq_acc, dk, dv, dy, ws.D, lse, q, k, v, p, scale, stream);
    if (ws.dq_acc)
      convert_from_f32(dq, ws.dq_acc, nq, stream);
    else
      attention_dq_deterministic(dq, dy, ws.D, lse, q, k, v, p, scale, stream);
  } else {
    // The SIMT kernel gives each dQ row one warp (deterministic either way) and writes it as T;
    // dK and dV go through fp32 atomics.
    TUNER_CUDA_CHECK(cudaMemsetAsync(ws.dk_acc, 0, nk * sizeof(float), stream));
    TUNER_CUDA_CHECK(cudaMemsetAsync(ws.dv_acc, 0, nk * sizeof(float), stream));
    attention_backward_simt(dq, ws.dk_acc, ws.dv_acc, dy, ws.D, lse, q, k, v, p, stream);
    convert_from_f32(dk, ws.dk_acc, nk, stream);
    convert_from_f32(dv, ws.dv_acc, nk, stream);
  }
}

template void attention_backward<__nv_bfloat16>(__nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*, const __nv_bfloat16*,
                                                const __nv_bfloat16*, const float*, const __nv_bfloat16*, const __nv_bfloat16*,
                                                const __nv_bfloat16*, void*, const AttentionParams&, cudaStream_t, AttentionPath);
template void attention_backward<__half>(__half*, __half*, __half*, const __half*, const __half*, const float*, const __half*,
                                         const __half*, const __half*, void*, const AttentionParams&, cudaStream_t,
                                         AttentionPath);

}  // namespace tuner::cuda
