// What the two AVX-512 GEMM kernels (sgemm's gemm_avx512.cpp and gemm_bf16's
// gemm_bf16_avx512bf16.cpp) share: both hold a 14 x 32 f32 tile of C in 28 zmm accumulators and
// write it through update_c, and both pack with the 16 x 16 in-register transpose of 32-bit
// elements (f32 values, or k pairs of bf16 as 32-bit words). Include only from files compiled
// with AVX-512 flags; the anonymous namespace gives each object its own copy, so the linker
// cannot keep one object's code for another.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tuner {
namespace {

constexpr int kTileMR = 14;
constexpr int kTileNR = 32;

// The tile's rows of C on their way into L1 while the k loop runs: first and last element of
// each row, since an unaligned row of 32 floats spans two cache lines.
inline void prefetch_c(const float* c, int64_t ldc, int mr) {
  for (int i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 31), _MM_HINT_T0);
  }
}

// C = alpha * tile + beta * C for the top-left mr x nr of a 14 x 32 tile stored row by row
// (beta == 0: C is not read).
inline void update_c(float* c, int64_t ldc, const float* tile, int mr, int nr, float alpha, float beta) {
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = nr >= 16 ? 0xFFFF : (1u << nr) - 1;
  const __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (1u << (nr - 16)) - 1;
  if (nr == kTileNR) {
    // Whole rows: plain moves (masked stores are slow on some cores, e.g. AMD's).
    for (int i = 0; i < mr; ++i) {
      float* row = c + i * ldc;
      __m512 t0 = _mm512_mul_ps(_mm512_load_ps(tile + i * kTileNR), va);
      __m512 t1 = _mm512_mul_ps(_mm512_load_ps(tile + i * kTileNR + 16), va);
      if (beta != 0.0f) {
        t0 = _mm512_fmadd_ps(_mm512_loadu_ps(row), vb, t0);
        t1 = _mm512_fmadd_ps(_mm512_loadu_ps(row + 16), vb, t1);
      }
      _mm512_storeu_ps(row, t0);
      _mm512_storeu_ps(row + 16, t1);
    }
    return;
  }
  for (int i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    __m512 t0 = _mm512_mul_ps(_mm512_load_ps(tile + i * kTileNR), va);
    __m512 t1 = _mm512_mul_ps(_mm512_load_ps(tile + i * kTileNR + 16), va);
    if (beta != 0.0f) {
      t0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, row), vb, t0);
      t1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, row + 16), vb, t1);
    }
    _mm512_mask_storeu_ps(row, m0, t0);
    _mm512_mask_storeu_ps(row + 16, m1, t1);
  }
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

}  // namespace
}  // namespace tuner

// The k loop of both 14 x 32 kernels around their step, in assembly (STEP: one k step as a string
// of instructions on %[a] and %[b], using only zmm28-31 besides the accumulators): zmm0-27
// zeroed, `quads` times four steps, then `rest` steps, and the accumulators stored to `tile` row
// by row (row i in zmm 2i, 2i+1). a, b, quads and rest are updated in place.
#define TUNER_TILE_K_LOOP(STEP, a, b, quads, rest, tile) \
  __asm__ volatile( \
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t" "vpxord %%zmm1, %%zmm1, %%zmm1\n\t" "vpxord %%zmm2, %%zmm2, %%zmm2\n\t" "vpxord %%zmm3, %%zmm3, %%zmm3\n\t" "vpxord %%zmm4, %%zmm4, %%zmm4\n\t" "vpxord %%zmm5, %%zmm5, %%zmm5\n\t" "vpxord %%zmm6, %%zmm6, %%zmm6\n\t" "vpxord %%zmm7, %%zmm7, %%zmm7\n\t" "vpxord %%zmm8, %%zmm8, %%zmm8\n\t" "vpxord %%zmm9, %%zmm9, %%zmm9\n\t" "vpxord %%zmm10, %%zmm10, %%zmm10\n\t" "vpxord %%zmm11, %%zmm11, %%zmm11\n\t" "vpxord %%zmm12, %%zmm12, %%zmm12\n\t" "vpxord %%zmm13, %%zmm13, %%zmm13\n\t" "vpxord %%zmm14, %%zmm14, %%zmm14\n\t" "vpxord %%zmm15, %%zmm15, %%zmm15\n\t" "vpxord %%zmm16, %%zmm16, %%zmm16\n\t" "vpxord %%zmm17, %%zmm17, %%zmm17\n\t" "vpxord %%zmm18, %%zmm18, %%zmm18\n\t" "vpxord %%zmm19, %%zmm19, %%zmm19\n\t" "vpxord %%zmm20, %%zmm20, %%zmm20\n\t" "vpxord %%zmm21, %%zmm21, %%zmm21\n\t" "vpxord %%zmm22, %%zmm22, %%zmm22\n\t" "vpxord %%zmm23, %%zmm23, %%zmm23\n\t" "vpxord %%zmm24, %%zmm24, %%zmm24\n\t" "vpxord %%zmm25, %%zmm25, %%zmm25\n\t" "vpxord %%zmm26, %%zmm26, %%zmm26\n\t" "vpxord %%zmm27, %%zmm27, %%zmm27\n\t" \
      "test %[q], %[q]\n\t" \
      "jz 2f\n\t" \
      "1:\n\t" \
      STEP STEP STEP STEP \
      "dec %[q]\n\t" \
      "jnz 1b\n\t" \
      "2:\n\t" \
      "test %[r], %[r]\n\t" \
      "jz 4f\n\t" \
      "3:\n\t" \
      STEP \
      "dec %[r]\n\t" \
      "jnz 3b\n\t" \
      "4:\n\t" \
      "vmovaps %%zmm0, 0(%[t])\n\t" "vmovaps %%zmm1, 64(%[t])\n\t" \
      "vmovaps %%zmm2, 128(%[t])\n\t" "vmovaps %%zmm3, 192(%[t])\n\t" \
      "vmovaps %%zmm4, 256(%[t])\n\t" "vmovaps %%zmm5, 320(%[t])\n\t" \
      "vmovaps %%zmm6, 384(%[t])\n\t" "vmovaps %%zmm7, 448(%[t])\n\t" \
      "vmovaps %%zmm8, 512(%[t])\n\t" "vmovaps %%zmm9, 576(%[t])\n\t" \
      "vmovaps %%zmm10, 640(%[t])\n\t" "vmovaps %%zmm11, 704(%[t])\n\t" \
      "vmovaps %%zmm12, 768(%[t])\n\t" "vmovaps %%zmm13, 832(%[t])\n\t" \
      "vmovaps %%zmm14, 896(%[t])\n\t" "vmovaps %%zmm15, 960(%[t])\n\t" \
      "vmovaps %%zmm16, 1024(%[t])\n\t" "vmovaps %%zmm17, 1088(%[t])\n\t" \
      "vmovaps %%zmm18, 1152(%[t])\n\t" "vmovaps %%zmm19, 1216(%[t])\n\t" \
      "vmovaps %%zmm20, 1280(%[t])\n\t" "vmovaps %%zmm21, 1344(%[t])\n\t" \
      "vmovaps %%zmm22, 1408(%[t])\n\t" "vmovaps %%zmm23, 1472(%[t])\n\t" \
      "vmovaps %%zmm24, 1536(%[t])\n\t" "vmovaps %%zmm25, 1600(%[t])\n\t" \
      "vmovaps %%zmm26, 1664(%[t])\n\t" "vmovaps %%zmm27, 1728(%[t])\n\t" \
      : [a] "+r"(a), [b] "+r"(b), [q] "+r"(quads), [r] "+r"(rest) \
      : [t] "r"(tile) \
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", \
        "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", \
        "xmm29", "xmm30", "xmm31");

