// sgemm micro-kernel for AVX-512F: a 14 x 32 tile of C in 28 zmm accumulators; each k step loads
// two vectors of packed B and issues 28 FMAs with A broadcast from memory ({1to16}): 30 of the
// 32 vector registers. Compiled with -mavx512f (and friends) and only called when
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
  // Named accumulators, not an array: an array whose address escapes makes the compiler store
  // every accumulator to the stack on each k step.
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  __m512 c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps();
  __m512 c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps();
  __m512 c100 = _mm512_setzero_ps(), c101 = _mm512_setzero_ps();
  __m512 c110 = _mm512_setzero_ps(), c111 = _mm512_setzero_ps();
  __m512 c120 = _mm512_setzero_ps(), c121 = _mm512_setzero_ps();
  __m512 c130 = _mm512_setzero_ps(), c131 = _mm512_setzero_ps();
  if (mr == MR && nr == NR) {
    // First and last element of each row: an unaligned row of C spans two cache lines.
    for (int i = 0; i < MR; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 31), _MM_HINT_T0);
    }
  }
#define TUNER_STEP(k)                                              \
  {                                                                \
    const __m512 b0 = _mm512_load_ps(b + (k) * NR);                \
    const __m512 b1 = _mm512_load_ps(b + (k) * NR + 16);           \
    __m512 ai;                                                     \
    ai = _mm512_set1_ps(a[(k) * MR + 0]);                      \
    c00 = _mm512_fmadd_ps(ai, b0, c00);                        \
    c01 = _mm512_fmadd_ps(ai, b1, c01);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 1]);                      \
    c10 = _mm512_fmadd_ps(ai, b0, c10);                        \
    c11 = _mm512_fmadd_ps(ai, b1, c11);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 2]);                      \
    c20 = _mm512_fmadd_ps(ai, b0, c20);                        \
    c21 = _mm512_fmadd_ps(ai, b1, c21);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 3]);                      \
    c30 = _mm512_fmadd_ps(ai, b0, c30);                        \
    c31 = _mm512_fmadd_ps(ai, b1, c31);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 4]);                      \
    c40 = _mm512_fmadd_ps(ai, b0, c40);                        \
    c41 = _mm512_fmadd_ps(ai, b1, c41);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 5]);                      \
    c50 = _mm512_fmadd_ps(ai, b0, c50);                        \
    c51 = _mm512_fmadd_ps(ai, b1, c51);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 6]);                      \
    c60 = _mm512_fmadd_ps(ai, b0, c60);                        \
    c61 = _mm512_fmadd_ps(ai, b1, c61);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 7]);                      \
    c70 = _mm512_fmadd_ps(ai, b0, c70);                        \
    c71 = _mm512_fmadd_ps(ai, b1, c71);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 8]);                      \
    c80 = _mm512_fmadd_ps(ai, b0, c80);                        \
    c81 = _mm512_fmadd_ps(ai, b1, c81);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 9]);                      \
    c90 = _mm512_fmadd_ps(ai, b0, c90);                        \
    c91 = _mm512_fmadd_ps(ai, b1, c91);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 10]);                      \
    c100 = _mm512_fmadd_ps(ai, b0, c100);                        \
    c101 = _mm512_fmadd_ps(ai, b1, c101);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 11]);                      \
    c110 = _mm512_fmadd_ps(ai, b0, c110);                        \
    c111 = _mm512_fmadd_ps(ai, b1, c111);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 12]);                      \
    c120 = _mm512_fmadd_ps(ai, b0, c120);                        \
    c121 = _mm512_fmadd_ps(ai, b1, c121);                        \
    ai = _mm512_set1_ps(a[(k) * MR + 13]);                      \
    c130 = _mm512_fmadd_ps(ai, b0, c130);                        \
    c131 = _mm512_fmadd_ps(ai, b1, c131);                        \
  }
  int k = 0;
  for (; k + 2 <= kc; k += 2) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR + 16), _MM_HINT_T0);
    TUNER_STEP(0) TUNER_STEP(1)
    a += 2 * MR;
    b += 2 * NR;
  }
  for (; k < kc; ++k) {
    TUNER_STEP(0)
    a += MR;
    b += NR;
  }
#undef TUNER_STEP
  const __m512 acc[MR][2] = {{c00, c01},   {c10, c11},   {c20, c21},   {c30, c31},   {c40, c41},
                             {c50, c51},   {c60, c61},   {c70, c71},   {c80, c81},   {c90, c91},
                             {c100, c101}, {c110, c111}, {c120, c121}, {c130, c131}};
  if (mr == MR && nr == NR) {
    store_tile(c, ldc, acc, alpha, beta);
    return;
  }
  alignas(64) float tile[MR * NR];
  if (beta != 0.0f) {
    // Zeros past the valid part keep every value the store reads defined (sanitizer-clean).
    for (int i = 0; i < MR * NR; ++i) tile[i] = 0.0f;
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < nr; ++j) tile[i * NR + j] = c[i * ldc + j];
  }
  store_tile(tile, NR, acc, alpha, beta);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = tile[i * NR + j];
}

// mc 140 x kc 256 A block = 140 KiB (L2 >= 1 MiB on AVX-512 parts); B sliver 32 x 256 = 32 KiB.
constexpr GemmKernel kKernel{"avx512", MR, NR, 140, 256, 4096, micro_14x32,
                             nullptr, nullptr, nullptr, nullptr, gemm_skinny_avx2};

}  // namespace

const GemmKernel& gemm_kernel_avx512() { return kKernel; }

}  // namespace tuner
