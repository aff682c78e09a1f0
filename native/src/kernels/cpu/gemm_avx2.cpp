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
    // First and last element of each row: an unaligned row of C spans two cache lines.
    for (int i = 0; i < MR; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
    }
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
    // Zeros past the valid part keep every value the store reads defined (sanitizer-clean).
    for (int i = 0; i < MR * NR; ++i) tile[i] = 0.0f;
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < nr; ++j) tile[i * NR + j] = c[i * ldc + j];
  }
  store_tile(tile, NR, acc, alpha, beta);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = tile[i * NR + j];
}

// In-register transpose of an 8 x 8 block: afterwards r[j] holds what was column j.
inline void transpose8(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Row-major A into 6-row slivers (a[k * 6 + i]): 8 k at a time through an 8 x 8 transpose
// (two rows of zeros), instead of one strided scalar store per element.
void pack_a_rows(float* dst, const float* A, int64_t lda, int i0, int m, int p0, int kc) {
  for (int s = 0; s < m; s += MR) {
    const int rows = m - s < MR ? m - s : MR;
    float* out = dst + int64_t(s) * kc;
    const float* src = A + int64_t(i0 + s) * lda + p0;
    int k = 0;
    if (rows == MR) {
      for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < MR; ++i) r[i] = _mm256_loadu_ps(src + i * lda + k);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose8(r);
        for (int j = 0; j < 8; ++j) {
          float* o = out + (k + j) * MR;
          _mm_storeu_ps(o, _mm256_castps256_ps128(r[j]));
          _mm_storel_pi(reinterpret_cast<__m64*>(o + 4), _mm256_extractf128_ps(r[j], 1));
        }
      }
    }
    for (; k < kc; ++k) {
      float* o = out + k * MR;
      for (int i = 0; i < rows; ++i) o[i] = src[i * lda + k];
      for (int i = rows; i < MR; ++i) o[i] = 0.0f;
    }
  }
}

// B^T (B stored [N][K]) into 16-column slivers (b[k * 16 + j]): two 8 x 8 transposes per 8 k.
void pack_b_cols(float* dst, const float* B, int64_t ldb, int p0, int kc, int j0, int n, int s0,
                 int s1) {
  for (int s = s0; s < s1; ++s) {
    const int c0 = s * NR;
    const int cols = n - c0 < NR ? n - c0 : NR;
    float* out = dst + int64_t(s) * NR * kc;
    const float* src = B + int64_t(j0 + c0) * ldb + p0;
    int k = 0;
    if (cols == NR) {
      for (; k + 8 <= kc; k += 8) {
        for (int h = 0; h < 2; ++h) {
          __m256 r[8];
          for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + (h * 8 + j) * ldb + k);
          transpose8(r);
          for (int kk = 0; kk < 8; ++kk) _mm256_store_ps(out + (k + kk) * NR + h * 8, r[kk]);
        }
      }
    }
    for (; k < kc; ++k) {
      float* o = out + k * NR;
      for (int j = 0; j < cols; ++j) o[j] = src[j * ldb + k];
      for (int j = cols; j < NR; ++j) o[j] = 0.0f;
    }
  }
}

// A stored [K][M] (op(A) = A^T): each k is 6 contiguous values of a row of A.
void pack_a_cols(float* dst, const float* A, int64_t lda, int i0, int m, int p0, int kc) {
  for (int s = 0; s < m; s += MR) {
    const int rows = m - s < MR ? m - s : MR;
    float* out = dst + int64_t(s) * kc;
    const float* src = A + int64_t(p0) * lda + i0 + s;
    if (rows == MR) {
      for (int k = 0; k < kc; ++k) {
        const float* row = src + k * lda;
        float* o = out + k * MR;
        _mm_storeu_ps(o, _mm_loadu_ps(row));
        _mm_storel_pi(reinterpret_cast<__m64*>(o + 4), _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(row + 4))));
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        float* o = out + k * MR;
        for (int i = 0; i < rows; ++i) o[i] = src[k * lda + i];
        for (int i = rows; i < MR; ++i) o[i] = 0.0f;
      }
    }
  }
}

// B stored [K][N]: each k is 16 contiguous values of a row of B.
void pack_b_rows(float* dst, const float* B, int64_t ldb, int p0, int kc, int j0, int n, int s0,
                 int s1) {
  for (int s = s0; s < s1; ++s) {
    const int c0 = s * NR;
    const int cols = n - c0 < NR ? n - c0 : NR;
    float* out = dst + int64_t(s) * NR * kc;
    const float* src = B + int64_t(p0) * ldb + j0 + c0;
    if (cols == NR) {
      for (int k = 0; k < kc; ++k) {
        const float* row = src + k * ldb;
        _mm256_store_ps(out + k * NR, _mm256_loadu_ps(row));
        _mm256_store_ps(out + k * NR + 8, _mm256_loadu_ps(row + 8));
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        float* o = out + k * NR;
        for (int j = 0; j < cols; ++j) o[j] = src[k * ldb + j];
        for (int j = cols; j < NR; ++j) o[j] = 0.0f;
      }
    }
  }
}

// Cache blocks, measured on Zen 3 (32 KiB L1d, 512 KiB L2 per core) with tuner-bench-gemm:
// mc x kc = 192 x 384 A block (288 KiB) stays in L2; a 16 x 384 B sliver (24 KiB) stays in L1
// while 32 A slivers stream past it; the 384 x 4096 B panel (6 MiB) stays in L3. Against
// 120 x 256 this fetches each C tile a third less often and was 5-10% faster on K >= 1024.
constexpr GemmKernel kKernel{"avx2", MR, NR, 192, 384, 4096, micro_6x16, pack_a_rows, pack_b_cols,
                             pack_a_cols, pack_b_rows, gemm_skinny_avx2, gemm_lora_dy_avx2};

}  // namespace

const GemmKernel& gemm_kernel_avx2() { return kKernel; }

}  // namespace tuner
