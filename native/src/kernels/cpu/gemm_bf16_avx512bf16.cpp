// gemm_bf16 micro-kernel for AVX512_BF16 (vdpbf16ps): a 14 x 32 tile of C in 28 zmm
// accumulators, as sgemm's AVX-512 kernel, but each instruction multiplies a pair of k steps
// (bf16) and adds both products into the f32 lane: twice the multiplies per instruction. Each
// k pair loads two vectors of packed B and broadcasts one 32-bit pair of A per row (the k loop
// in assembly, as sgemm's). The vector packers and rounding below serve the driver. Compiled
// with -mavx512bf16 and only called when cpu_features() reports AVX512_BF16; it uses no
// standard-library inline code, so nothing of it can leak into paths that run on other CPUs.
#include <immintrin.h>

// GCC 12's shift intrinsics pass _mm512_undefined_epi32() (a self-initialised value) as the
// unused merge source, which -Wmaybe-uninitialized reports at every inlined shift.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/gemm_avx512_tile.h"
#include "kernels/cpu/gemm_bf16_internal.h"

namespace tuner {

namespace {

constexpr int MR = 14;
constexpr int NR = 32;

// One k-pair step in assembly, as sgemm's AVX-512 kernel does its k step (gemm_avx512.cpp): given
// the same loop in intrinsics GCC needs all 32 registers and shuffles accumulators through spare
// ones in the hot loop. zmm0-27 are the accumulators (row i: zmm 2i, 2i+1), zmm28-29 the two
// vectors of B's pairs, zmm30/31 alternate as the broadcast pair of A; each vdpbf16ps adds both
// products of a pair into every f32 lane, in the order the intrinsics kernel added them. A is
// prefetched about nine steps ahead (it streams from L2; B's sliver stays in L1).
#define TUNER_KP_STEP \
  "vmovdqa64 (%[b]), %%zmm28\n\t" \
  "vmovdqa64 64(%[b]), %%zmm29\n\t" \
  "prefetcht0 512(%[a])\n\t" \
  "vpbroadcastd 0(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm0\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm1\n\t" \
  "vpbroadcastd 4(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm2\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm3\n\t" \
  "vpbroadcastd 8(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm4\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm5\n\t" \
  "vpbroadcastd 12(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm6\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm7\n\t" \
  "vpbroadcastd 16(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm8\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm9\n\t" \
  "vpbroadcastd 20(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm10\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm11\n\t" \
  "vpbroadcastd 24(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm12\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm13\n\t" \
  "vpbroadcastd 28(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm14\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm15\n\t" \
  "vpbroadcastd 32(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm16\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm17\n\t" \
  "vpbroadcastd 36(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm18\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm19\n\t" \
  "vpbroadcastd 40(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm20\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm21\n\t" \
  "vpbroadcastd 44(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm22\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm23\n\t" \
  "vpbroadcastd 48(%[a]), %%zmm30\n\t" \
  "vdpbf16ps %%zmm28, %%zmm30, %%zmm24\n\t" \
  "vdpbf16ps %%zmm29, %%zmm30, %%zmm25\n\t" \
  "vpbroadcastd 52(%[a]), %%zmm31\n\t" \
  "vdpbf16ps %%zmm28, %%zmm31, %%zmm26\n\t" \
  "vdpbf16ps %%zmm29, %%zmm31, %%zmm27\n\t" \
  "add $56, %[a]\n\t" \
  "add $128, %[b]\n\t"

static_assert(MR == kTileMR && NR == kTileNR, "the step above and update_c are written for a 14 x 32 tile");

void micro_14x32(int kp, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, int mr,
                 int nr, float alpha, float beta) {
  alignas(64) float tile[MR * NR];
  prefetch_c(c, ldc, mr);
  int64_t quads = kp / 4, rest = kp % 4;
  TUNER_TILE_K_LOOP(TUNER_KP_STEP, a, b, quads, rest, tile);
  update_c(c, ldc, tile, mr, nr, alpha, beta);
}
#undef TUNER_KP_STEP

// Round to nearest even on the bit pattern (u + 0x7fff + lsb) >> 16, NaN kept quiet: the same
// bits as f32_to_bf16 (tuner/dtype.h), in the low half of each 32-bit lane (the high half is
// zero: below a NaN's pattern the sum cannot carry past bit 31). For the values round_avx512
// stores, vcvtneps2bf16 is not used: it flushes subnormals.
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

// The packers below round f32 values with vcvtne2ps2bf16, one instruction for 32 values where
// round_lanes takes eight for 16. It rounds as f32_to_bf16 does (nearest even, NaN made quiet)
// except that it flushes subnormals to zero, and vdpbf16ps, the only reader of packed slivers,
// treats subnormal inputs as zero anyway: the products are the same (test_gemm_bf16 checks
// both). round_avx512 keeps round_lanes, since the bf16 values it writes are stored and exported.
inline __m512i round_two(__m512 lo, __m512 hi) { return (__m512i)_mm512_cvtne2ps_pbh(hi, lo); }

// 16-bit lanes x of the low 256 bits and x of the high 256 bits side by side: 32-bit lane x.
inline __m512i interleave_halves(__m512i v) {
  const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                         20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(order, v);
}

// Pair words of one row pair of k: lane x = row 2q's value (low half) | row 2q + 1's (high half),
// zero past the first `load` lanes (and in the high halves without a next row); f32 values
// rounded as above, or bf16 values as they are.
inline __m512i pair_lanes(const float* row, const float* next, __mmask16 load) {
  const __m512 hi = next ? _mm512_maskz_loadu_ps(load, next) : _mm512_setzero_ps();
  return interleave_halves(round_two(_mm512_maskz_loadu_ps(load, row), hi));
}
inline __m512i pair_lanes(const uint16_t* row, const uint16_t* next, __mmask16 load) {
  const __m256i hi = next ? _mm256_maskz_loadu_epi16(load, next) : _mm256_setzero_si256();
  return interleave_halves(_mm512_inserti64x4(_mm512_castsi256_si512(_mm256_maskz_loadu_epi16(load, row)), hi, 1));
}

// One sliver of k pairs from rows of k (RoundPairsKernel, PairRowsBf16Kernel): row 2q in the low
// half of each word, row 2q + 1 in the high half. Masked loads read the valid lines and leave
// zeros, so full-width stores also zero lines past `lines`.
template <class S>
void pairs_from_rows(uint32_t* dst, int W, const S* src, int64_t ld, int lines, int kc) {
  const int kp = (kc + 1) / 2, full = kc / 2;
  for (int x = 0; x < W; x += 16) {
    const __mmask16 load = first_lanes(lines_from(lines, x)), store = first_lanes(W - x);
    const S* lo = src + x;
    uint32_t* o = dst + x;
    for (int q = 0; q < kp; ++q, lo += 2 * ld, o += W)
      _mm512_mask_storeu_epi32(o, store, pair_lanes(lo, q < full ? lo + ld : nullptr, load));
  }
}

void round_pairs_avx512(uint32_t* dst, int W, const float* src, int64_t ld, int lines, int kc) {
  pairs_from_rows(dst, W, src, ld, lines, kc);
}
void pair_rows_bf16(uint32_t* dst, int W, const uint16_t* src, int64_t ld, int lines, int kc) {
  pairs_from_rows(dst, W, src, ld, lines, kc);
}

// The 16 pair words q0 .. q0 + 15 of a line holding k contiguously (k 2 q0 .. 2 q0 + 31), zero
// past kc: from f32 values rounded as round_two rounds, or from bf16 values as they are.
inline __m512i pair_words(const float* line, int q0, int kc) {
  const int n = kc - 2 * q0;
  return round_two(_mm512_maskz_loadu_ps(first_lanes(n), line + 2 * q0),
                   _mm512_maskz_loadu_ps(first_lanes(n - 16), line + 2 * q0 + 16));
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

// mc 140 x kc 1024 A block = 280 KiB (L2 >= 1 MiB on every AVX512_BF16 part); B sliver 32 x 1024
// bf16 = 64 KiB, the bytes of sgemm's AVX-512 sliver on such an L2, streaming from L2 beside A.
// kc 1024 rather than 512: a product over 1024 tokens (the weight gradients) makes one pass over
// C instead of two, and the micro-kernel, twice as fast per k as sgemm's, spends half as large
// a share of its time updating C (measured against PyTorch's oneDNN in the same runs: +1-9% on
// the weight gradients, +2-4% on the input gradients, the K = 512 products unchanged).
constexpr GemmBf16Kernel kKernel{"avx512bf16", MR, NR, 140, 1024, 4096, micro_14x32, round_avx512, round_pairs_avx512,
                                  pack_kmajor_f32, pack_kmajor_bf16, pair_rows_bf16};

}  // namespace

const GemmBf16Kernel& gemm_bf16_kernel_avx512bf16() { return kKernel; }

}  // namespace tuner
