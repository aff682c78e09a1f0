// Skinny sgemm tiles for AVX2 + FMA (the contract is in gemm_internal.h, GemmSkinnyKernel):
// rows x cols of C over the whole K in one pass, with no packing of the large operand. Each k
// step loads ceil(cols / 8) vectors of b and broadcasts one value of a per row, so a row block
// of 8 with one vector (a rank-8 LoRA product) keeps 8 FMA chains in flight, and smaller row
// counts widen the tile to up to 4 vectors (12 accumulators) instead.
// Compiled with -mavx2 -mfma; like gemm_avx2.cpp it uses no standard-library inline code.
#include <immintrin.h>

#include "kernels/cpu/gemm_internal.h"

namespace tuner {

namespace {

// Lanes [0, n) set, n in [0, 8].
inline __m256i lane_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// R rows x NV vectors. MASKED: the last vector of b has fewer than 8 readable columns.
template <int R, int NV, bool MASKED>
void tile(int cols, int K, const float* a, int64_t ars, int64_t aks, const float* b, int64_t bks,
          float* c, int64_t ldc, float alpha, float beta) {
  const __m256i tail = lane_mask(cols - (NV - 1) * 8);
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  // One shared offset into every row of a: a single add per k step, whatever R is.
  const float* ar[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) ar[r] = a + r * ars;
  int64_t off = 0;
  for (int k = 0; k < K; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = MASKED && v == NV - 1 ? _mm256_maskload_ps(b + v * 8, tail) : _mm256_loadu_ps(b + v * 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(ar[r] + off);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(x, bv[v], acc[r][v]);
    }
    off += aks;
    b += bks;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const bool partial = cols < NV * 8;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m256 t = _mm256_mul_ps(acc[r][v], va);
      if (partial && v == NV - 1) {
        if (beta != 0.0f) t = _mm256_fmadd_ps(_mm256_maskload_ps(row + v * 8, tail), vb, t);
        _mm256_maskstore_ps(row + v * 8, tail, t);
      } else {
        if (beta != 0.0f) t = _mm256_fmadd_ps(_mm256_loadu_ps(row + v * 8), vb, t);
        _mm256_storeu_ps(row + v * 8, t);
      }
    }
  }
}

using TileFn = void (*)(int, int, const float*, int64_t, int64_t, const float*, int64_t, float*,
                        int64_t, float, float);

template <int R, bool MASKED>
TileFn pick_nv(int nv) {
  switch (nv) {
    case 1: return tile<R, 1, MASKED>;
    case 2: return tile<R, 2, MASKED>;
    case 3: return tile<R, 3, MASKED>;
    default: return tile<R, 4, MASKED>;
  }
}

template <bool MASKED>
TileFn pick(int rows, int nv) {
  switch (rows) {
    case 1: return pick_nv<1, MASKED>(nv);
    case 2: return pick_nv<2, MASKED>(nv);
    case 3: return pick_nv<3, MASKED>(nv);
    case 4: return pick_nv<4, MASKED>(nv);
    case 5: return pick_nv<5, MASKED>(nv);
    case 6: return pick_nv<6, MASKED>(nv);
    case 7: return pick_nv<7, MASKED>(nv);
    default: return pick_nv<8, MASKED>(nv);
  }
}

// GemmLoraDyKernel for R rows: lanes run along r, so each dy value is broadcast once for both
// products (dt's row sum and dB's column of partial sums), 2 R FMAs per column of dy.
template <int R>
void lora_dy_tile(int out, int r, const float* dy, int64_t ldy, const float* b8, const float* t, int64_t ldt,
                  float alpha, float* dt, int64_t lddt, float* dbp, bool first) {
  const __m256i lanes = lane_mask(r);
  __m256 acc[R], tv[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    acc[i] = _mm256_setzero_ps();
    tv[i] = _mm256_maskload_ps(t + i * ldt, lanes);
  }
  for (int j = 0; j < out; ++j) {
    const __m256 b = _mm256_loadu_ps(b8 + int64_t(j) * 8);
    __m256 d = first ? _mm256_setzero_ps() : _mm256_loadu_ps(dbp + int64_t(j) * 8);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const __m256 x = _mm256_broadcast_ss(dy + i * ldy + j);
      acc[i] = _mm256_fmadd_ps(x, b, acc[i]);
      d = _mm256_fmadd_ps(tv[i], x, d);
    }
    _mm256_storeu_ps(dbp + int64_t(j) * 8, d);
  }
  const __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) _mm256_maskstore_ps(dt + i * lddt, lanes, _mm256_mul_ps(acc[i], va));
}

}  // namespace

void gemm_lora_dy_avx2(int rows, int out, int r, const float* dy, int64_t ldy, const float* b8, const float* t,
                       int64_t ldt, float alpha, float* dt, int64_t lddt, float* dbp, bool first) {
  switch (rows) {
    case 1: return lora_dy_tile<1>(out, r, dy, ldy, b8, t, ldt, alpha, dt, lddt, dbp, first);
    case 2: return lora_dy_tile<2>(out, r, dy, ldy, b8, t, ldt, alpha, dt, lddt, dbp, first);
    case 3: return lora_dy_tile<3>(out, r, dy, ldy, b8, t, ldt, alpha, dt, lddt, dbp, first);
    default: return lora_dy_tile<4>(out, r, dy, ldy, b8, t, ldt, alpha, dt, lddt, dbp, first);
  }
}

void gemm_skinny_avx2(int rows, int cols, int K, const float* a, int64_t ars, int64_t aks,
                      const float* b, int64_t bks, bool b_padded, float* c, int64_t ldc,
                      float alpha, float beta) {
  const int nv = (cols + 7) / 8;
  const bool masked = !b_padded && cols % 8 != 0;
  (masked ? pick<true>(rows, nv) : pick<false>(rows, nv))(cols, K, a, ars, aks, b, bks, c, ldc,
                                                           alpha, beta);
}

}  // namespace tuner
