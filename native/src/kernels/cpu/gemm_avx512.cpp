// sgemm micro-kernel for AVX-512F: a 14 x 32 tile of C in 28 zmm accumulators; each k step loads
// two vectors of packed B and issues 28 FMAs with A broadcast from memory ({1to16}), leaving
// registers to spare of the 32. Compiled with -mavx512f (and friends) and only called when
// cpu_features() reports AVX-512F/BW/DQ/VL. Like gemm_avx2.cpp it uses no standard-library
// inline functions, so no AVX-512 code can leak into paths that run on other CPUs.
#include <immintrin.h>

#include "kernels/cpu/gemm_internal.h"

namespace tuner {

namespace {

constexpr int MR = 14;
constexpr int NR = 32;

inline void store_tile(float* c, int64_t ldc, const __m512 (&acc)[MR][2], float alpha, float beta) {
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
    __m512 t0 = _mm512_mul_ps(acc[i][0], va);
    __m512 t1 = _mm512_mul_ps(acc[i][1], va);
    if (beta != 0.0f) {
      t0 = _mm512_fmadd_ps(_mm512_loadu_ps(row), vb, t0);
      t1 = _mm512_fmadd_ps(_mm512_loadu_ps(row + 16), vb, t1);
    }
    _mm512_storeu_ps(row, t0);
    _mm512_storeu_ps(row + 16, t1);
  }
}

void micro_14x32(int kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr,
                 float alpha, float beta) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 256), _MM_HINT_T0);
#define TUNER_ROW(i)                                    \
    {                                                   \
      const __m512 ai = _mm512_set1_ps(a[i]);           \
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);   \
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);   \
    }
    TUNER_ROW(0) TUNER_ROW(1) TUNER_ROW(2) TUNER_ROW(3) TUNER_ROW(4) TUNER_ROW(5) TUNER_ROW(6)
    TUNER_ROW(7) TUNER_ROW(8) TUNER_ROW(9) TUNER_ROW(10) TUNER_ROW(11) TUNER_ROW(12) TUNER_ROW(13)
#undef TUNER_ROW
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
    store_tile(c, ldc, acc, alpha, beta);
    return;
  }
  alignas(64) float tile[MR * NR];
  if (beta != 0.0f) {
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < nr; ++j) tile[i * NR + j] = c[i * ldc + j];
  }
  store_tile(tile, NR, acc, alpha, beta);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = tile[i * NR + j];
}

// mc 140 x kc 256 A block = 140 KiB (L2 >= 1 MiB on AVX-512 parts); B sliver 32 x 256 = 32 KiB.
constexpr GemmKernel kKernel{"avx512", MR, NR, 140, 256, 4096, micro_14x32};

}  // namespace

const GemmKernel& gemm_kernel_avx512() { return kKernel; }

}  // namespace tuner
