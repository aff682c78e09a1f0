// The few-rows skinny tile for AVX-512 (gemm_skinny.cpp's few_rows: C = S X with S at most 16
// rows, as in LoRA's dA += dt^T x): up to 8 rows x 4 vectors of 16 columns, at most 24
// accumulators, so an 8-row S takes 48 columns of the panel per pass: 3 loads and 8 broadcasts
// feed 24 FMAs, where the AVX2 tile (gemm_skinny_avx2.cpp) feeds 12 half-width ones. Every
// element of C is still one chain of FMAs over k from zero, then alpha * sum + beta * C: the
// AVX2 tile's bits, whatever the tile's width.
// Compiled with -mavx512f; like gemm_avx512.cpp it uses no standard-library inline code.
#include <immintrin.h>

#include "kernels/cpu/gemm_internal.h"

namespace tuner {

namespace {

inline __mmask16 first_lanes(int n) { return n >= 16 ? __mmask16(0xffff) : n > 0 ? __mmask16((1u << n) - 1) : __mmask16(0); }

// R rows x NV vectors; the last vector's columns past `cols` are masked when b is not padded,
// and never stored.
template <int R, int NV>
void tile(int cols, int K, const float* a, int64_t ars, int64_t aks, const float* b, int64_t bks, bool b_padded,
          float* c, int64_t ldc, float alpha, float beta) {
  const __mmask16 tail = first_lanes(cols - (NV - 1) * 16);
  const __mmask16 load_tail = b_padded ? __mmask16(0xffff) : tail;
  __m512 acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  const float* ar[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) ar[r] = a + r * ars;
  int64_t off = 0;
  for (int k = 0; k < K; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(load_tail, b + v * 16) : _mm512_loadu_ps(b + v * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(ar[r][off]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
    }
    off += aks;
    b += bks;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == NV - 1 ? tail : __mmask16(0xffff);
      __m512 t = _mm512_mul_ps(acc[r][v], va);
      if (beta != 0.0f) t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, row + v * 16), vb, t);
      _mm512_mask_storeu_ps(row + v * 16, m, t);
    }
  }
}

using TileFn = void (*)(int, int, const float*, int64_t, int64_t, const float*, int64_t, bool, float*, int64_t, float,
                        float);

template <int R>
TileFn pick_nv(int nv) {
  switch (nv) {
    case 1: return tile<R, 1>;
    case 2: return tile<R, 2>;
    case 3: return tile<R, 3>;
    default: return tile<R, 4>;
  }
}

TileFn pick(int rows, int nv) {
  switch (rows) {
    case 1: return pick_nv<1>(nv);
    case 2: return pick_nv<2>(nv);
    case 3: return pick_nv<3>(nv);
    case 4: return pick_nv<4>(nv);
    case 5: return pick_nv<5>(nv);
    case 6: return pick_nv<6>(nv);
    case 7: return pick_nv<7>(nv);
    default: return pick_nv<8>(nv);
  }
}

}  // namespace

void gemm_few_rows_avx512(int rows, int cols, int K, const float* a, int64_t ars, int64_t aks, const float* b,
                          int64_t bks, bool b_padded, float* c, int64_t ldc, float alpha, float beta) {
  pick(rows, (cols + 15) / 16)(cols, K, a, ars, aks, b, bks, b_padded, c, ldc, alpha, beta);
}

}  // namespace tuner
