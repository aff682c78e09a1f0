// sgemm micro-kernel for AVX-512F: a 14 x 32 tile of C in 28 zmm accumulators; each k step loads
// two vectors of packed B and issues 28 FMAs with A broadcast from memory ({1to16}): 30 of the
// 32 vector registers. Compiled with -mavx512f (and friends) and only called when
// cpu_features() reports AVX-512F/BW/DQ/VL. Like gemm_avx2.cpp it uses no standard-library
// inline functions, so no AVX-512 code can leak into paths that run on other CPUs.
// GCC 12 flags its own _mm512_undefined_*() helpers inside the intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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

// Transposes a 16 x 16 block held in 16 rows: afterwards r[j] holds what was column j.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // Within each 128-bit lane L: r[4i + j] = rows 4i..4i+3 of column 4L + j.
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  // Gather lane L of r[j], r[4+j], r[8+j], r[12+j] into column 4L + j.
  for (int j = 0; j < 4; ++j) {
    const __m512 e0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);       // lanes 0, 2
    const __m512 o0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);       // lanes 1, 3
    const __m512 e1 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    const __m512 o1 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    t[j] = _mm512_shuffle_f32x4(e0, e1, 0x88);       // column j
    t[4 + j] = _mm512_shuffle_f32x4(o0, o1, 0x88);   // column 4 + j
    t[8 + j] = _mm512_shuffle_f32x4(e0, e1, 0xDD);   // column 8 + j
    t[12 + j] = _mm512_shuffle_f32x4(o0, o1, 0xDD);  // column 12 + j
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Row-major A (op(A) = A) into 14-row slivers (a[k * 14 + i]): 14 rows of 16 k are loaded
// (two zero rows make a 16 x 16 block), transposed, and each k's 14 values stored with a mask;
// the 16 k of a block fill 224 contiguous floats.
void pack_a_rows(float* dst, const float* A, int64_t lda, int i0, int m, int p0, int kc) {
  const __mmask16 row_mask = (1u << MR) - 1;
  for (int s = 0; s < m; s += MR) {
    const int rows = m - s < MR ? m - s : MR;
    float* out = dst + int64_t(s) * kc;
    const float* src = A + int64_t(i0 + s) * lda + p0;
    int k = 0;
    for (; k + 16 <= kc; k += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_loadu_ps(src + i * lda + k) : _mm512_setzero_ps();
      transpose16(r);
      for (int kk = 0; kk < 16; ++kk) _mm512_mask_storeu_ps(out + (k + kk) * MR, row_mask, r[kk]);
    }
    if (k < kc) {
      const __mmask16 k_mask = (1u << (kc - k)) - 1;
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(k_mask, src + i * lda + k) : _mm512_setzero_ps();
      transpose16(r);
      for (int kk = 0; kk < kc - k; ++kk) _mm512_mask_storeu_ps(out + (k + kk) * MR, row_mask, r[kk]);
    }
  }
}

// A stored [K][M] (op(A) = A^T): each k is 14 contiguous values of a row of A (masked moves).
void pack_a_cols(float* dst, const float* A, int64_t lda, int i0, int m, int p0, int kc) {
  const __mmask16 store_mask = (1u << MR) - 1;
  for (int s = 0; s < m; s += MR) {
    const int rows = m - s < MR ? m - s : MR;
    const __mmask16 load_mask = (1u << rows) - 1;
    float* out = dst + int64_t(s) * kc;
    const float* src = A + int64_t(p0) * lda + i0 + s;
    for (int k = 0; k < kc; ++k)
      _mm512_mask_storeu_ps(out + k * MR, store_mask, _mm512_maskz_loadu_ps(load_mask, src + k * lda));
  }
}

// B^T (B stored [N][K]) into 32-column slivers (b[k * 32 + j]): two 16 x 16 transposes per 16 k.
void pack_b_cols(float* dst, const float* B, int64_t ldb, int p0, int kc, int j0, int n, int s0,
                 int s1) {
  for (int s = s0; s < s1; ++s) {
    const int c0 = s * NR;
    const int cols = n - c0 < NR ? n - c0 : NR;
    float* out = dst + int64_t(s) * NR * kc;
    const float* src = B + int64_t(j0 + c0) * ldb + p0;
    for (int k = 0; k < kc; k += 16) {
      const int ks = kc - k < 16 ? kc - k : 16;
      const __mmask16 k_mask = ks == 16 ? 0xFFFF : (1u << ks) - 1;
      for (int h = 0; h < 2; ++h) {
        __m512 r[16];
        for (int j = 0; j < 16; ++j)
          r[j] = h * 16 + j < cols ? _mm512_maskz_loadu_ps(k_mask, src + (h * 16 + j) * ldb + k)
                                   : _mm512_setzero_ps();
        transpose16(r);
        for (int kk = 0; kk < ks; ++kk) _mm512_store_ps(out + (k + kk) * NR + h * 16, r[kk]);
      }
    }
  }
}

// B stored [K][N]: each k is 32 contiguous values of a row of B (masked at the right edge).
void pack_b_rows(float* dst, const float* B, int64_t ldb, int p0, int kc, int j0, int n, int s0,
                 int s1) {
  for (int s = s0; s < s1; ++s) {
    const int c0 = s * NR;
    const int cols = n - c0 < NR ? n - c0 : NR;
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (1u << cols) - 1;
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1;
    float* out = dst + int64_t(s) * NR * kc;
    const float* src = B + int64_t(p0) * ldb + j0 + c0;
    for (int k = 0; k < kc; ++k) {
      const float* row = src + k * ldb;
      _mm512_store_ps(out + k * NR, _mm512_maskz_loadu_ps(m0, row));
      _mm512_store_ps(out + k * NR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
    }
  }
}

// mc 140 x kc 256 A block = 140 KiB (L2 >= 1 MiB on AVX-512 parts); B sliver 32 x 256 = 32 KiB.
constexpr GemmKernel kKernel{"avx512", MR, NR, 140, 256, 4096, micro_14x32,
                             pack_a_rows, pack_b_cols, pack_a_cols, pack_b_rows, gemm_skinny_avx2};

}  // namespace

const GemmKernel& gemm_kernel_avx512() { return kKernel; }

}  // namespace tuner
