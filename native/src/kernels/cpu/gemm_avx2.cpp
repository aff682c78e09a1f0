// sgemm micro-kernel for AVX2 + FMA: a 6 x 16 tile of C in 12 ymm accumulators; each k step
// loads two vectors of packed B, broadcasts six values of packed A and issues 12 FMAs, which
// keeps both FMA pipes of a Haswell / Zen core busy (2 loads + 6 broadcasts per 12 FMAs).
// This file is compiled with -mavx2 -mfma and only called when cpu_features() reports both.
// It uses no standard-library inline functions, so no AVX2 copy of one can leak into code that
// runs on older CPUs through the linker's choice among duplicate inline definitions.
#include <immintrin.h>

#include "kernels/cpu/gemm_internal.h"

namespace tuner {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// C = alpha * acc + beta * C for one full 6 x 16 tile at c (beta == 0: C not read).
inline void store_tile(float* c, int64_t ldc, const __m256 (&acc)[MR][2], float alpha, float beta) {
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
    __m256 t0 = _mm256_mul_ps(acc[i][0], va);
    __m256 t1 = _mm256_mul_ps(acc[i][1], va);
    if (beta != 0.0f) {
      t0 = _mm256_fmadd_ps(_mm256_loadu_ps(row), vb, t0);
      t1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8), vb, t1);
    }
    _mm256_storeu_ps(row, t0);
    _mm256_storeu_ps(row + 8, t1);
  }
}

void micro_6x16(int kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr,
                float alpha, float beta) {
  // Named accumulators, not an array: an array whose address escapes makes the compiler store
  // every accumulator to the stack on each k step.
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  }
#define TUNER_STEP(k)                                              \
  {                                                                \
    const __m256 b0 = _mm256_load_ps(b + (k) * NR);                \
    const __m256 b1 = _mm256_load_ps(b + (k) * NR + 8);            \
    __m256 ai = _mm256_broadcast_ss(a + (k) * MR + 0);             \
    c00 = _mm256_fmadd_ps(ai, b0, c00);                            \
    c01 = _mm256_fmadd_ps(ai, b1, c01);                            \
    ai = _mm256_broadcast_ss(a + (k) * MR + 1);                    \
    c10 = _mm256_fmadd_ps(ai, b0, c10);                            \
    c11 = _mm256_fmadd_ps(ai, b1, c11);                            \
    ai = _mm256_broadcast_ss(a + (k) * MR + 2);                    \
    c20 = _mm256_fmadd_ps(ai, b0, c20);                            \
    c21 = _mm256_fmadd_ps(ai, b1, c21);                            \
    ai = _mm256_broadcast_ss(a + (k) * MR + 3);                    \
    c30 = _mm256_fmadd_ps(ai, b0, c30);                            \
    c31 = _mm256_fmadd_ps(ai, b1, c31);                            \
    ai = _mm256_broadcast_ss(a + (k) * MR + 4);                    \
    c40 = _mm256_fmadd_ps(ai, b0, c40);                            \
    c41 = _mm256_fmadd_ps(ai, b1, c41);                            \
    ai = _mm256_broadcast_ss(a + (k) * MR + 5);                    \
    c50 = _mm256_fmadd_ps(ai, b0, c50);                            \
    c51 = _mm256_fmadd_ps(ai, b1, c51);                            \
  }
  int k = 0;
  for (; k + 4 <= kc; k += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 10 * NR), _MM_HINT_T0);
    TUNER_STEP(0) TUNER_STEP(1) TUNER_STEP(2) TUNER_STEP(3)
    a += 4 * MR;
    b += 4 * NR;
  }
  for (; k < kc; ++k) {
    TUNER_STEP(0)
    a += MR;
    b += NR;
  }
#undef TUNER_STEP
  const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    store_tile(c, ldc, acc, alpha, beta);
    return;
  }
  // Edge tile: the same arithmetic on a full-size copy, then only the valid part goes back.
  alignas(32) float tile[MR * NR];
  if (beta != 0.0f) {
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < nr; ++j) tile[i * NR + j] = c[i * ldc + j];
  }
  store_tile(tile, NR, acc, alpha, beta);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = tile[i * NR + j];
}

// mc: A block of 120 x 256 floats = 120 KiB sits in a 512 KiB L2 with room for B slivers;
// kc: a 16 x 256 B sliver (16 KiB) plus a 6 x 256 A sliver (6 KiB) fit a 32 KiB L1;
// nc: a 256 x 4096 B panel (4 MiB) stays in L3.
constexpr GemmKernel kKernel{"avx2", MR, NR, 120, 256, 4096, micro_6x16};

}  // namespace

const GemmKernel& gemm_kernel_avx2() { return kKernel; }

}  // namespace tuner
