// sgemm micro-kernel for AVX-512F: a 14 x 32 tile of C in 28 zmm accumulators; each k step loads
// two vectors of packed B and issues 28 FMAs, each broadcast of A feeding two (the k loop is in
// assembly: all 32 vector registers). The transposing packs use 16 x 16 in-register transposes.
// Compiled with -mavx512f (and friends) and only called when cpu_features() reports
// AVX-512F/BW/DQ/VL. Like gemm_avx2.cpp it uses no standard-library inline functions and no
// function-local statics, so no AVX-512 code can leak into paths that run on other CPUs.
// GCC 12 flags its own _mm512_undefined_*() helpers inside the intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/cpu/gemm_avx512_tile.h"
#include "kernels/cpu/gemm_internal.h"

namespace tuner {

namespace {

constexpr int MR = 14;
constexpr int NR = 32;

// One k step in assembly: GCC, given the same loop in intrinsics, juggles the 28 accumulators
// through spare registers (moves and rotated FMA forms in the hot loop) because it needs all 32.
// Here zmm0-27 are the accumulators (row i: zmm 2i, 2i+1), zmm28-29 the two vectors of B, and
// zmm30/31 alternate as the broadcast of A, so each broadcast feeds two FMAs while the next one
// loads. A is prefetched about nine k steps ahead (it streams from L2; B stays in L1).
#define TUNER_K_STEP \
  "vmovaps (%[b]), %%zmm28\n\t" \
  "vmovaps 64(%[b]), %%zmm29\n\t" \
  "prefetcht0 512(%[a])\n\t" \
  "vbroadcastss 0(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm0\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm1\n\t" \
  "vbroadcastss 4(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm2\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm3\n\t" \
  "vbroadcastss 8(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm4\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm5\n\t" \
  "vbroadcastss 12(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm6\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm7\n\t" \
  "vbroadcastss 16(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm8\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm9\n\t" \
  "vbroadcastss 20(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm10\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm11\n\t" \
  "vbroadcastss 24(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm12\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm13\n\t" \
  "vbroadcastss 28(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm14\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm15\n\t" \
  "vbroadcastss 32(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm16\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm17\n\t" \
  "vbroadcastss 36(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm18\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm19\n\t" \
  "vbroadcastss 40(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm20\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm21\n\t" \
  "vbroadcastss 44(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm22\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm23\n\t" \
  "vbroadcastss 48(%[a]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm24\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm25\n\t" \
  "vbroadcastss 52(%[a]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm26\n\t" \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm27\n\t" \
  "add $56, %[a]\n\t" \
  "add $128, %[b]\n\t"

void micro_14x32(int kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr,
                 float alpha, float beta) {
  alignas(64) float tile[MR * NR];
  prefetch_c(c, ldc, mr);
  int64_t quads = kc / 4, rest = kc % 4;
  TUNER_TILE_K_LOOP(TUNER_K_STEP, a, b, quads, rest, tile);
  update_c(c, ldc, tile, mr, nr, alpha, beta);
}
#undef TUNER_K_STEP

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
      // Each 16-wide store spills 2 floats into the next k's place, which the next store (or
      // block) overwrites; only the sliver's last k is masked.
      for (int kk = 0; kk < 16; ++kk) {
        if (k + kk + 1 < kc) _mm512_storeu_ps(out + (k + kk) * MR, r[kk]);
        else _mm512_mask_storeu_ps(out + (k + kk) * MR, row_mask, r[kk]);
      }
    }
    if (k < kc) {
      const __mmask16 k_mask = (1u << (kc - k)) - 1;
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(k_mask, src + i * lda + k) : _mm512_setzero_ps();
      transpose16(r);
      for (int kk = 0; kk < kc - k; ++kk) {
        if (k + kk + 1 < kc) _mm512_storeu_ps(out + (k + kk) * MR, r[kk]);
        else _mm512_mask_storeu_ps(out + (k + kk) * MR, row_mask, r[kk]);
      }
    }
  }
}

// A stored [K][M] (op(A) = A^T): each k is 14 contiguous values of a row of A. Slivers are
// packed a few at a time (kGroup), k by k: A is read along its rows in runs of kGroup * 14, and
// only kGroup output streams are written at once (all of a block's slivers at once, kc * 56
// bytes apart, thrash a set of L1: 28 KiB apart is the same set for every sliver).
void pack_a_cols(float* dst, const float* A, int64_t lda, int i0, int m, int p0, int kc) {
  constexpr int kGroup = 4;
  const __mmask16 store_mask = (1u << MR) - 1;
  const int slivers = ceil_div(m, MR);
  const int last_rows = m - (slivers - 1) * MR;
  const __mmask16 last_mask = (1u << last_rows) - 1;
  for (int s0 = 0; s0 < slivers; s0 += kGroup) {
    const int s1 = s0 + kGroup < slivers ? s0 + kGroup : slivers;
    for (int k = 0; k < kc; ++k) {
      const float* src = A + int64_t(p0 + k) * lda + i0;
      float* out = dst + k * MR;
      // A 16-wide store spills 2 floats into the next k's place, written after it; the last k
      // is masked (its spill would land on the next sliver's first k, already written).
      for (int s = s0; s < s1; ++s) {
        const __m512 v = _mm512_maskz_loadu_ps(s + 1 < slivers ? store_mask : last_mask, src + s * MR);
        if (k + 1 < kc) _mm512_storeu_ps(out + int64_t(s) * MR * kc, v);
        else _mm512_mask_storeu_ps(out + int64_t(s) * MR * kc, store_mask, v);
      }
    }
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

// Blocks for an L2 under 1 MiB (or unknown): mc 140 x kc 256 A block = 140 KiB; B sliver
// 32 x 256 = 32 KiB (L1). gemm_kernel_avx512() (gemm_cache.cpp) resizes them for this CPU.
constexpr GemmKernel kKernel{"avx512", MR, NR, 140, 256, 4096, micro_14x32,
                             pack_a_rows, pack_b_cols, pack_a_cols, pack_b_rows, gemm_skinny_avx2, gemm_lora_dy_avx2,
                             gemm_few_rows_avx512};

}  // namespace

const GemmKernel& gemm_kernel_avx512_base() { return kKernel; }

}  // namespace tuner
