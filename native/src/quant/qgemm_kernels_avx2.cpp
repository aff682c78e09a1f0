// qgemm decode kernels for AVX2 + FMA + F16C (this file gets -mavx2 -mfma -mf16c); chosen by
// qgemm_kernels_best() only on CPUs that have them. Everything is in an anonymous namespace so
// no symbol is shared with code built for other instruction sets.
//   f32, f16   f32 FMA, 32 weights per step.
//   q8_0, int8 int8 activations; |w| (x sign(w)) by vpmaddubsw + vpmaddwd per 32-weight block
//              (llama.cpp's way: (w + 128) x pairs would saturate int16); d_w * d_x into f32.
//   q4_0       int8 activations; unsigned nibbles (q = w/d + 8) times x, minus 8 * d_w * dsum_x.
//   nf4        f32 FMA; codes looked up in the 16-entry table by two vpermps and a blend,
//              straight from the packed bytes (x stored in the matching order first).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "quant/quant_internal.h"

namespace tuner {
namespace {

inline void store(float* out, float v, bool accumulate) { *out = accumulate ? *out + v : v; }

inline float hsum(__m256 a) {
  __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  t = _mm_add_ps(t, _mm_movehl_ps(t, t));
  t = _mm_add_ss(t, _mm_movehdup_ps(t));
  return _mm_cvtss_f32(t);
}

inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
inline __m256i dot_s8s8(__m256i w, __m256i x) { return dot_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)); }

// One weight row dotted with x in four running sums of 8 lanes: widen8(w + k) gives weights
// k .. k + 7 as f32, widen1(w[k]) one weight (the tail).
template <class T, class Widen8, class Widen1>
inline float dot_widened(const T* w, const float* x, int K, Widen8 widen8, Widen1 widen1) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int k = 0;
  for (; k + 32 <= K; k += 32) {
    a0 = _mm256_fmadd_ps(widen8(w + k), _mm256_loadu_ps(x + k), a0);
    a1 = _mm256_fmadd_ps(widen8(w + k + 8), _mm256_loadu_ps(x + k + 8), a1);
    a2 = _mm256_fmadd_ps(widen8(w + k + 16), _mm256_loadu_ps(x + k + 16), a2);
    a3 = _mm256_fmadd_ps(widen8(w + k + 24), _mm256_loadu_ps(x + k + 24), a3);
  }
  for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(widen8(w + k), _mm256_loadu_ps(x + k), a0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; k < K; k++) s += widen1(w[k]) * x[k];
  return s;
}

float dot_f32(const float* w, const float* x, int K) {
  return dot_widened(w, x, K, [](const float* p) { return _mm256_loadu_ps(p); }, [](float v) { return v; });
}

float dot_f16(const uint16_t* w, const float* x, int K) {
  return dot_widened(w, x, K, [](const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); },
                     [](uint16_t h) { return _cvtsh_ss(h); });
}

// bf16: the bits moved to the top half of each f32 (x is zero-padded past K, the weights are not).
float dot_bf16(const uint16_t* w, const float* x, int K) {
  return dot_widened(
      w, x, K,
      [](const uint16_t* p) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16)); },
      [](uint16_t h) {
        const uint32_t bits = (uint32_t)h << 16;
        float v;
        __builtin_memcpy(&v, &bits, sizeof v);
        return v;
      });
}

float dot_i8_f32(const int8_t* w, const float* x, int K) {
  __m256 a0 = _mm256_setzero_ps();
  int k = 0;
  for (; k + 8 <= K; k += 8)
    a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(w + k)))), _mm256_loadu_ps(x + k), a0);
  float s = hsum(a0);
  for (; k < K; k++) s += (float)w[k] * x[k];
  return s;
}

float dot_q8_0(const BlockQ8_0* w, const int8_t* xq, const float* xd, int nb) {
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const __m256i dot = dot_s8s8(_mm256_loadu_si256((const __m256i*)w[b].qs), _mm256_loadu_si256((const __m256i*)(xq + (size_t)b * 32)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(_cvtsh_ss(w[b].d) * xd[b]), acc);
  }
  return hsum(acc);
}

float dot_q4_0(const BlockQ4_0* w, const int8_t* xq, const float* xd, const float* xds, int nb) {
  __m256 acc = _mm256_setzero_ps();
  float bias = 0.0f;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int b = 0; b < nb; b++) {
    const __m128i v = _mm_loadu_si128((const __m128i*)w[b].qs);
    const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), low4);
    const __m256i dot = dot_u8s8(q, _mm256_loadu_si256((const __m256i*)(xq + (size_t)b * 32)));
    const float d = _cvtsh_ss(w[b].d);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * xd[b]), acc);
    bias += d * xds[b];
  }
  return hsum(acc) - 8.0f * bias;
}

float dot_i8_rows(const int8_t* w, const int8_t* xq, const float* xd, int nb) {
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const __m256i dot = dot_s8s8(_mm256_loadu_si256((const __m256i*)(w + (size_t)b * 32)), _mm256_loadu_si256((const __m256i*)(xq + (size_t)b * 32)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(xd[b]), acc);
  }
  return hsum(acc);
}

// NF4 straight from the packed bytes: 32 bytes (one 64-weight block) as 8 dwords, shifted right
// by 4s for s = 0..7; vpermps reads the low 3 bits of each index and bit 3 (moved to the sign
// bit by a left shift) picks the table half. Shift s of dword j is weight 8j + s + 1 (even s,
// low nibble) or 8j + s - 1 (odd s); prepare_nf4 stores x in that order.
void prepare_nf4(float* xp, const float* x, int K) {
  for (int b = 0; b < K / 64; b++, xp += 64, x += 64)
    for (int s = 0; s < 8; s++)
      for (int j = 0; j < 8; j++) xp[s * 8 + j] = x[8 * j + (s % 2 ? s - 1 : s + 1)];
}

inline __m256 nf4_lookup(__m256i c, int s, __m256 lo_table, __m256 hi_table) {
  const __m256i idx = _mm256_srli_epi32(c, 4 * s);
  const __m256 sel = _mm256_castsi256_ps(_mm256_slli_epi32(c, 28 - 4 * s));
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo_table, idx), _mm256_permutevar8x32_ps(hi_table, idx), sel);
}

float dot_nf4(const uint8_t* codes, const float* xp, const QuantView& w, int64_t block0, int nb) {
  const __m256 lo_t = _mm256_loadu_ps(kNF4Values), hi_t = _mm256_loadu_ps(kNF4Values + 8);
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++, codes += 32, xp += 64) {
    const __m256i c = _mm256_loadu_si256((const __m256i*)codes);
    __m256 t0 = _mm256_mul_ps(nf4_lookup(c, 0, lo_t, hi_t), _mm256_loadu_ps(xp));
    __m256 t1 = _mm256_mul_ps(nf4_lookup(c, 1, lo_t, hi_t), _mm256_loadu_ps(xp + 8));
    t0 = _mm256_fmadd_ps(nf4_lookup(c, 2, lo_t, hi_t), _mm256_loadu_ps(xp + 16), t0);
    t1 = _mm256_fmadd_ps(nf4_lookup(c, 3, lo_t, hi_t), _mm256_loadu_ps(xp + 24), t1);
    t0 = _mm256_fmadd_ps(nf4_lookup(c, 4, lo_t, hi_t), _mm256_loadu_ps(xp + 32), t0);
    t1 = _mm256_fmadd_ps(nf4_lookup(c, 5, lo_t, hi_t), _mm256_loadu_ps(xp + 40), t1);
    t0 = _mm256_fmadd_ps(nf4_lookup(c, 6, lo_t, hi_t), _mm256_loadu_ps(xp + 48), t0);
    t1 = _mm256_fmadd_ps(nf4_lookup(c, 7, lo_t, hi_t), _mm256_loadu_ps(xp + 56), t1);
    acc = _mm256_fmadd_ps(_mm256_add_ps(t0, t1), _mm256_set1_ps(nf4_block_absmax(w, block0 + b)), acc);
  }
  return hsum(acc);
}

void rows_f32(float* y, int ldy, const float* x, const ActQ8*, const QuantView& w, int M, int r0, int r1, bool acc) {
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const float* wr = reinterpret_cast<const float*>(w.data + (size_t)r * w.row_bytes);
    for (int m = 0; m < M; m++) store(y + (size_t)m * ldy + r, dot_f32(wr, x + (size_t)m * w.cols, w.cols), acc);
  }
}

void rows_f16(float* y, int ldy, const float* x, const ActQ8*, const QuantView& w, int M, int r0, int r1, bool acc) {
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const uint16_t* wr = reinterpret_cast<const uint16_t*>(w.data + (size_t)r * w.row_bytes);
    for (int m = 0; m < M; m++) store(y + (size_t)m * ldy + r, dot_f16(wr, x + (size_t)m * w.cols, w.cols), acc);
  }
}

void rows_bf16(float* y, int ldy, const float*, const ActQ8* xq, const QuantView& w, int M, int r0, int r1, bool acc) {
  const int Kp = prepared_width(w.cols);
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const uint16_t* wr = reinterpret_cast<const uint16_t*>(w.data + (size_t)r * w.row_bytes);
    for (int m = 0; m < M; m++) store(y + (size_t)m * ldy + r, dot_bf16(wr, xq->xp + (size_t)m * Kp, w.cols), acc);
  }
}

void rows_q8_0(float* y, int ldy, const float*, const ActQ8* xq, const QuantView& w, int M, int r0, int r1, bool acc) {
  const int nb = w.cols / 32;
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const BlockQ8_0* wr = reinterpret_cast<const BlockQ8_0*>(w.data + (size_t)r * w.row_bytes);
    for (int m = 0; m < M; m++) store(y + (size_t)m * ldy + r, dot_q8_0(wr, xq->qs + (size_t)m * w.cols, xq->d + (size_t)m * nb, nb), acc);
  }
}

void rows_q4_0(float* y, int ldy, const float*, const ActQ8* xq, const QuantView& w, int M, int r0, int r1, bool acc) {
  const int nb = w.cols / 32;
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const BlockQ4_0* wr = reinterpret_cast<const BlockQ4_0*>(w.data + (size_t)r * w.row_bytes);
    for (int m = 0; m < M; m++)
      store(y + (size_t)m * ldy + r, dot_q4_0(wr, xq->qs + (size_t)m * w.cols, xq->d + (size_t)m * nb, xq->dsum + (size_t)m * nb, nb), acc);
  }
}

void rows_int8(float* y, int ldy, const float* x, const ActQ8* xq, const QuantView& w, int M, int r0, int r1, bool acc) {
  const int nb = w.cols / 32;
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const int8_t* wr = reinterpret_cast<const int8_t*>(w.data + (size_t)r * w.row_bytes);
    for (int m = 0; m < M; m++) {
      const float v = xq ? dot_i8_rows(wr, xq->qs + (size_t)m * w.cols, xq->d + (size_t)m * nb, nb) : dot_i8_f32(wr, x + (size_t)m * w.cols, w.cols);
      store(y + (size_t)m * ldy + r, v * w.row_scale[r], acc);
    }
  }
}

void rows_nf4(float* y, int ldy, const float*, const ActQ8* xq, const QuantView& w, int M, int r0, int r1, bool acc) {
  const int nb = w.cols / kQKNF4, Kp = prepared_width(w.cols);
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    const uint8_t* wr = w.data + (size_t)r * w.row_bytes;
    for (int m = 0; m < M; m++) store(y + (size_t)m * ldy + r, dot_nf4(wr, xq->xp + (size_t)m * Kp, w, (int64_t)r * nb, nb), acc);
  }
}

// Activations -> int8 blocks: d = absmax / 127, q = x / d rounded to nearest even.
void quantize_act(int8_t* qs, float* d, float* dsum, const float* x, int K) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int b = 0; b < K / 32; b++, x += 32, qs += 32) {
    __m256 v[4], m = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
      v[i] = _mm256_loadu_ps(x + 8 * i);
      m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 t = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    t = _mm_max_ps(t, _mm_movehl_ps(t, t));
    t = _mm_max_ss(t, _mm_movehdup_ps(t));
    const float db = _mm_cvtss_f32(t) / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
    __m256i q[4];
    for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], _mm256_set1_ps(id)));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    // packs work within 128-bit lanes; the permute puts the 8-value groups back in order.
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256((__m256i*)qs, _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
    d[b] = db;
    dsum[b] = db * (float)_mm_cvtsi128_si32(h);
  }
}

const QgemmKernels kTable = {
    "avx2",
    {rows_f32, rows_f16, rows_q8_0, rows_q4_0, rows_int8, rows_nf4, rows_bf16},
    {false, false, true, true, true, false, false},
    {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
    quantize_act,
    {nullptr, nullptr, nullptr, nullptr, nullptr, prepare_nf4, prepare_bf16_act},
    nullptr,
};

}  // namespace

const QgemmKernels& qgemm_kernels_avx2() { return kTable; }

}  // namespace tuner
