// The 16 x 16 in-register transpose of 32-bit elements that the AVX-512 packers share: sgemm's
// transposing packs (gemm_avx512.cpp) and gemm_bf16's packs of lines holding k contiguously
// (gemm_bf16_avx512bf16.cpp, on k pairs as 32-bit words). Include only from files compiled with
// AVX-512 flags; the anonymous namespace gives each object its own copy, so the linker cannot
// keep one object's code for another.
#pragma once
#include <immintrin.h>

namespace tuner {
namespace {

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
