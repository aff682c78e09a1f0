// gemm_bf16 micro-kernel for AVX512_BF16 (vdpbf16ps): a 14 x 32 tile of C in 28 zmm
// accumulators, as sgemm's AVX-512 kernel, but each instruction multiplies a pair of k steps
// (bf16) and adds both products into the f32 lane: twice the multiplies per instruction. Each
// k pair loads two vectors of packed B and broadcasts one 32-bit pair of A per row. Compiled
// with -mavx512bf16 and only called when cpu_features() reports AVX512_BF16; it uses no
// standard-library inline code, so nothing of it can leak into paths that run on other CPUs.
#include <immintrin.h>

// GCC 12's shift intrinsics pass _mm512_undefined_epi32() (a self-initialised value) as the
// unused merge source, which -Wmaybe-uninitialized reports at every inlined shift.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/gemm_avx512_transpose.h"
#include "kernels/cpu/gemm_bf16_internal.h"

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

void micro_14x32(int kp, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, int mr,
                 int nr, float alpha, float beta) {
  // Named accumulators, not an array: an array whose address escapes makes the compiler store
  // every accumulator to the stack on each step.
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
    for (int i = 0; i < MR; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 31), _MM_HINT_T0);
    }
  }
#define TUNER_STEP(k)                                                 \
  {                                                                   \
    const __m512i b0 = _mm512_load_si512(b + (k) * NR);               \
    const __m512i b1 = _mm512_load_si512(b + (k) * NR + 16);          \
    __m512i ai;                                                       \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 0]);                  \
    c00 = _mm512_dpbf16_ps(c00, (__m512bh)ai, (__m512bh)b0);    \
    c01 = _mm512_dpbf16_ps(c01, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 1]);                  \
    c10 = _mm512_dpbf16_ps(c10, (__m512bh)ai, (__m512bh)b0);    \
    c11 = _mm512_dpbf16_ps(c11, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 2]);                  \
    c20 = _mm512_dpbf16_ps(c20, (__m512bh)ai, (__m512bh)b0);    \
    c21 = _mm512_dpbf16_ps(c21, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 3]);                  \
    c30 = _mm512_dpbf16_ps(c30, (__m512bh)ai, (__m512bh)b0);    \
    c31 = _mm512_dpbf16_ps(c31, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 4]);                  \
    c40 = _mm512_dpbf16_ps(c40, (__m512bh)ai, (__m512bh)b0);    \
    c41 = _mm512_dpbf16_ps(c41, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 5]);                  \
    c50 = _mm512_dpbf16_ps(c50, (__m512bh)ai, (__m512bh)b0);    \
    c51 = _mm512_dpbf16_ps(c51, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 6]);                  \
    c60 = _mm512_dpbf16_ps(c60, (__m512bh)ai, (__m512bh)b0);    \
    c61 = _mm512_dpbf16_ps(c61, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 7]);                  \
    c70 = _mm512_dpbf16_ps(c70, (__m512bh)ai, (__m512bh)b0);    \
    c71 = _mm512_dpbf16_ps(c71, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 8]);                  \
    c80 = _mm512_dpbf16_ps(c80, (__m512bh)ai, (__m512bh)b0);    \
    c81 = _mm512_dpbf16_ps(c81, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 9]);                  \
    c90 = _mm512_dpbf16_ps(c90, (__m512bh)ai, (__m512bh)b0);    \
    c91 = _mm512_dpbf16_ps(c91, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 10]);                  \
    c100 = _mm512_dpbf16_ps(c100, (__m512bh)ai, (__m512bh)b0);    \
    c101 = _mm512_dpbf16_ps(c101, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 11]);                  \
    c110 = _mm512_dpbf16_ps(c110, (__m512bh)ai, (__m512bh)b0);    \
    c111 = _mm512_dpbf16_ps(c111, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 12]);                  \
    c120 = _mm512_dpbf16_ps(c120, (__m512bh)ai, (__m512bh)b0);    \
    c121 = _mm512_dpbf16_ps(c121, (__m512bh)ai, (__m512bh)b1);    \
    ai = _mm512_set1_epi32((int)a[(k) * MR + 13]);                  \
    c130 = _mm512_dpbf16_ps(c130, (__m512bh)ai, (__m512bh)b0);    \
    c131 = _mm512_dpbf16_ps(c131, (__m512bh)ai, (__m512bh)b1);    \
  }
  int k = 0;
  for (; k + 2 <= kp; k += 2) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR + 16), _MM_HINT_T0);
    TUNER_STEP(0) TUNER_STEP(1)
    a += 2 * MR;
    b += 2 * NR;
  }
  for (; k < kp; ++k) {
    TUNER_STEP(0)
    a += MR;
    b += NR;
  }
#undef TUNER_STEP
  const __m512 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {c100, c101}, {c110, c111}, {c120, c121}, {c130, c131}};
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

// Round to nearest even on the bit pattern (u + 0x7fff + lsb) >> 16, NaN kept quiet: the same
// bits as f32_to_bf16 (tuner/dtype.h), in the low half of each 32-bit lane (the high half is
// zero: below a NaN's pattern the sum cannot carry past bit 31). vcvtneps2bf16 is not used: it
// flushes subnormals.
inline __m512i round_lanes(__m512i u) {
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i quiet = _mm512_set1_epi32(0x40);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
  const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, lsb)), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
  return _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), quiet);
}

void round_avx512(uint16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(round_lanes(_mm512_loadu_si512(src + i))));
  if (i < n) round_to_bf16_generic(dst + i, src + i, n - i);
}

// The lines of a sliver's 16 from x0 that hold data, and a mask of the first n lanes (none for
// n <= 0). No std::min here: this file's inline code must not be shared with other CPUs' paths.
inline int lines_from(int lines, int x0) { return lines - x0 >= 16 ? 16 : lines - x0 > 0 ? lines - x0 : 0; }
inline __mmask16 first_lanes(int n) { return n >= 16 ? __mmask16(0xffff) : n > 0 ? __mmask16((1u << n) - 1) : __mmask16(0); }

// One sliver of k pairs from rows of k (gemm_bf16_internal.h's RoundPairsKernel): masked loads
// read the valid lines and leave zeros, so full-width stores also zero lines past `lines`.
void round_pairs_avx512(uint32_t* dst, int W, const float* src, int64_t ld, int lines, int kc) {
  const int kp = (kc + 1) / 2, full = kc / 2;
  for (int x = 0; x < W; x += 16) {
    const __mmask16 load = first_lanes(lines_from(lines, x)), store = first_lanes(W - x);
    const float* lo = src + x;
    uint32_t* o = dst + x;
    for (int q = 0; q < kp; ++q, lo += 2 * ld, o += W) {
      __m512i w = round_lanes(_mm512_maskz_loadu_epi32(load, lo));
      if (q < full) w = _mm512_or_si512(w, _mm512_slli_epi32(round_lanes(_mm512_maskz_loadu_epi32(load, lo + ld)), 16));
      _mm512_mask_storeu_epi32(o, store, w);
    }
  }
}

// The 16 pair words q0 .. q0 + 15 of a line holding k contiguously (k 2 q0 .. 2 q0 + 31), zero
// past kc: from f32 values rounded as round_lanes rounds, or from bf16 values as they are.
inline __m512i pair_words(const float* line, int q0, int kc) {
  const int n = kc - 2 * q0;
  const __m256i lo = _mm512_cvtepi32_epi16(round_lanes(_mm512_maskz_loadu_epi32(first_lanes(n), line + 2 * q0)));
  const __m256i hi = _mm512_cvtepi32_epi16(round_lanes(_mm512_maskz_loadu_epi32(first_lanes(n - 16), line + 2 * q0 + 16)));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m512i pair_words(const uint16_t* line, int q0, int kc) {
  const int n = kc - 2 * q0;
  const __mmask32 m = n >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << n) - 1);
  return _mm512_maskz_loadu_epi16(m, line + 2 * q0);
}

// One sliver of k pairs from lines that hold k contiguously (PackKmajorKernel): each block of 16
// lines x 16 pairs is loaded line by line and turned around in registers, so every store writes
// one pair's 16 lines (a scalar loop would write one 32-bit word at a time, W words apart).
template <class S>
void pack_kmajor(uint32_t* dst, int W, const S* src, int64_t ld, int lines, int kc) {
  const int kp = (kc + 1) / 2;
  for (int x = 0; x < W; x += 16) {
    const int valid = lines_from(lines, x);
    const __mmask16 store = first_lanes(W - x);
    for (int q0 = 0; q0 < kp; q0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < valid ? _mm512_castsi512_ps(pair_words(src + (x + i) * ld, q0, kc)) : _mm512_setzero_ps();
      transpose16(r);
      const int qs = kp - q0 >= 16 ? 16 : kp - q0;
      for (int q = 0; q < qs; ++q) _mm512_mask_storeu_ps(dst + int64_t(q0 + q) * W + x, store, r[q]);
    }
  }
}

void pack_kmajor_f32(uint32_t* dst, int W, const float* src, int64_t ld, int lines, int kc) {
  pack_kmajor(dst, W, src, ld, lines, kc);
}
void pack_kmajor_bf16(uint32_t* dst, int W, const uint16_t* src, int64_t ld, int lines, int kc) {
  pack_kmajor(dst, W, src, ld, lines, kc);
}

// One sliver of k pairs from bf16 rows of k (PairRowsKernel): row 2q widened into the low half of
// each word, row 2q + 1 into the high half.
void pair_rows_bf16(uint32_t* dst, int W, const uint16_t* src, int64_t ld, int lines, int kc) {
  const int kp = (kc + 1) / 2, full = kc / 2;
  for (int x = 0; x < W; x += 16) {
    const __mmask16 load = first_lanes(lines_from(lines, x)), store = first_lanes(W - x);
    const uint16_t* lo = src + x;
    uint32_t* o = dst + x;
    for (int q = 0; q < kp; ++q, lo += 2 * ld, o += W) {
      __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(load, lo));
      if (q < full) w = _mm512_or_si512(w, _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(load, lo + ld)), 16));
      _mm512_mask_storeu_epi32(o, store, w);
    }
  }
}

// mc 140 x kc 512 A block = 140 KiB (L2 >= 1 MiB on AVX-512 parts); B sliver 32 x 512 bf16 =
// 32 KiB, as sgemm's AVX-512 blocks hold the same number of bytes.
constexpr GemmBf16Kernel kKernel{"avx512bf16", MR, NR, 140, 512, 4096, micro_14x32, round_avx512, round_pairs_avx512,
                                  pack_kmajor_f32, pack_kmajor_bf16, pair_rows_bf16};

}  // namespace

const GemmBf16Kernel& gemm_bf16_kernel_avx512bf16() { return kKernel; }

}  // namespace tuner
