// Decoders from the quantized formats to f32 with AVX2 + F16C (this file gets -mavx2 -mfma
// -mf16c), for the prefill path, which decodes every weight once into sgemm's packed panels.
// Used with the avx2 and avx512 kernel tables; the same formulas as the portable decoders in
// qgemm_kernels_generic.cpp (test_qgemm holds both to the reference). Everything is in an
// anonymous namespace: no symbol is shared with code built for other instruction sets.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "quant/quant_internal.h"

namespace tuner {
namespace {

void decode_f16(float* out, const QuantView& w, int r, int c0, int c1) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(w.data + (size_t)r * w.row_bytes);
  int k = c0;
  for (; k + 8 <= c1; k += 8, out += 8) _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(h + k))));
  for (; k < c1; k++) *out++ = _cvtsh_ss(h[k]);
}

// 8 int32 lanes -> floats * scale, stored.
inline void store8(float* out, __m256i v, __m256 scale) { _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale)); }

void decode_q8_0(float* out, const QuantView& w, int r, int c0, int c1) {
  const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(w.data + (size_t)r * w.row_bytes);
  for (int i = c0 / kQK8_0; i < c1 / kQK8_0; i++, out += kQK8_0) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[i].d));
    for (int j = 0; j < kQK8_0; j += 8) store8(out + j, _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(b[i].qs + j))), d);
  }
}

void decode_q4_0(float* out, const QuantView& w, int r, int c0, int c1) {
  const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(w.data + (size_t)r * w.row_bytes);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi32(8);
  for (int i = c0 / kQK4_0; i < c1 / kQK4_0; i++, out += kQK4_0) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[i].d));
    const __m128i v = _mm_loadu_si128((const __m128i*)b[i].qs);
    const __m128i lo = _mm_and_si128(v, low4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);  // weights 0..15, 16..31
    store8(out, _mm256_sub_epi32(_mm256_cvtepu8_epi32(lo), eight), d);
    store8(out + 8, _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)), eight), d);
    store8(out + 16, _mm256_sub_epi32(_mm256_cvtepu8_epi32(hi), eight), d);
    store8(out + 24, _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)), eight), d);
  }
}

void decode_int8(float* out, const QuantView& w, int r, int c0, int c1) {
  const int8_t* q = reinterpret_cast<const int8_t*>(w.data + (size_t)r * w.row_bytes);
  const float s = w.row_scale[r];
  int k = c0;
  for (; k + 8 <= c1; k += 8, out += 8) store8(out, _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(q + k))), _mm256_set1_ps(s));
  for (; k < c1; k++) *out++ = (float)q[k] * s;
}

// 8 NF4 codes (low bytes of c) -> table values: vpermps within 8, bit 3 picks the half.
inline __m256 nf4_lookup8(__m128i c, __m256 lo_table, __m256 hi_table) {
  const __m256i idx = _mm256_cvtepu8_epi32(c);
  const __m256 sel = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo_table, idx), _mm256_permutevar8x32_ps(hi_table, idx), sel);
}

void decode_nf4(float* out, const QuantView& w, int r, int c0, int c1) {
  const int bpr = w.cols / kQKNF4;
  const uint8_t* row = w.data + (size_t)r * w.row_bytes;
  const __m256 lo_t = _mm256_loadu_ps(kNF4Values), hi_t = _mm256_loadu_ps(kNF4Values + 8);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  for (int i = c0 / kQKNF4; i < c1 / kQKNF4; i++, out += kQKNF4) {
    const __m256 a = _mm256_set1_ps(nf4_block_absmax(w, (int64_t)r * bpr + i));
    for (int h = 0; h < 2; h++) {  // 16 bytes: weights [32h, 32h + 32), the first of a pair in the high nibble
      const __m128i c = _mm_loadu_si128((const __m128i*)(row + (size_t)i * 32 + 16 * h));
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(c, 4), low4), lo = _mm_and_si128(c, low4);
      const __m128i e0 = _mm_unpacklo_epi8(hi, lo), e1 = _mm_unpackhi_epi8(hi, lo);
      float* o = out + 32 * h;
      _mm256_storeu_ps(o, _mm256_mul_ps(nf4_lookup8(e0, lo_t, hi_t), a));
      _mm256_storeu_ps(o + 8, _mm256_mul_ps(nf4_lookup8(_mm_srli_si128(e0, 8), lo_t, hi_t), a));
      _mm256_storeu_ps(o + 16, _mm256_mul_ps(nf4_lookup8(e1, lo_t, hi_t), a));
      _mm256_storeu_ps(o + 24, _mm256_mul_ps(nf4_lookup8(_mm_srli_si128(e1, 8), lo_t, hi_t), a));
    }
  }
}

// f32 has nothing to decode: the portable copy serves.
// bf16 never reaches the decoders: its prefill is gemm_bf16 on the weights as stored.
const QDecodeRange kDecoders[kQuantTypes] = {nullptr, decode_f16, decode_q8_0, decode_q4_0, decode_int8, decode_nf4, nullptr};

}  // namespace

const QDecodeRange* qgemm_decoders_avx2() { return kDecoders; }

}  // namespace tuner
