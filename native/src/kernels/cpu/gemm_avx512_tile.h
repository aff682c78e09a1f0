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
