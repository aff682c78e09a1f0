// Internals shared by the sgemm driver and its per-instruction-set micro-kernels.
// The driver (gemm_driver.cpp) blocks the problem BLIS-style and packs panels of A and B into
// contiguous, zero-padded buffers; a micro-kernel then multiplies one MR x K sliver of packed A
// by one K x NR sliver of packed B into an MR x NR tile of C held in registers.
//
// Packed layouts (k runs slowest so the kernel streams both buffers linearly):
//   A sliver: a[k * MR + i], i < MR   (rows past M are zero)
//   B sliver: b[k * NR + j], j < NR   (columns past N are zero)
#pragma once
#include <cstddef>
#include <cstdint>

#include "tuner/gemm.h"

namespace tuner {

// Computes the full MR x NR product of one A and one B sliver over `kc` steps, then writes its
// top-left mr x nr part: C = alpha * AB + beta * C (beta == 0: C is not read).
using GemmMicroKernel = void (*)(int kc, const float* a, const float* b, float* c, int64_t ldc,
                                 int mr, int nr, float alpha, float beta);

// Packs rows [i0, i0+m) x columns [p0, p0+kc) of a row-major (not transposed) A into MR-row
// slivers: the transposing case, which a kernel may speed up with in-register transposes.
using GemmPackARows = void (*)(float* dst, const float* A, int64_t lda, int i0, int m, int p0,
                               int kc);
// Packs NR-column slivers [s0, s1) of op(B) = B^T (B stored [N][K]), columns j0.., rows p0..:
// the other transposing case.
using GemmPackBCols = void (*)(float* dst, const float* B, int64_t ldb, int p0, int kc, int j0,
                               int n, int s0, int s1);

// The non-transposing cases (op(A) = A^T read down its columns, op(B) = B read along its rows)
// are contiguous copies; a kernel may provide them too, to copy a sliver row with wide moves.
using GemmPackACols = GemmPackARows;  // A stored [K][M]: rows [i0, i0+m) of op(A) = A^T
using GemmPackBRows = GemmPackBCols;  // B stored [K][N]

// Skinny products, where C has at most 16 columns or 8 rows (LoRA's rank-r factors): packing
// the large operand would cost as much as the multiply, so a skinny tile reads it in place.
// One call computes, for r < rows and j < cols, summing k = 0 .. K-1 in order:
//   C[r * ldc + j] = alpha * sum_k a[r * ars + k * aks] * b[k * bks + j] + beta * C[r * ldc + j]
// (beta == 0: C is not read). Limits: rows <= 8, cols <= 32, and rows * ceil(cols / 8) <= 12
// unless cols <= 8. b_padded: every k has ceil(cols / 8) * 8 readable floats in b; otherwise
// only cols, and the tile masks its loads of b.
using GemmSkinnyKernel = void (*)(int rows, int cols, int K, const float* a, int64_t ars,
                                  int64_t aks, const float* b, int64_t bks, bool b_padded,
                                  float* c, int64_t ldc, float alpha, float beta);

// LoRA's two products over the same rows of dy in one pass (sgemm_lora_dy, gemm_skinny.cpp), for
// `rows` <= 4 rows of dy (row i at dy + i * ldy, `out` values) and r <= 8:
//   dt row i (at dt + i * lddt, r values) = the sum over j = 0 .. out-1 in order of
//           dy[i][j] * b8[j * 8 ..] (B [out][8], zero past r), then times alpha;
//   dbp[j * 8 + c] = (first ? 0 : dbp[j * 8 + c]) + t[i][c] * dy[i][j] over the rows in order
//           (t row i at t + i * ldt, r values; lanes past r zero),
// every sum a chain of fused multiply-adds: the skinny tile's and few_rows' sums of the same
// products, so the pass gives their bits.
using GemmLoraDyKernel = void (*)(int rows, int out, int r, const float* dy, int64_t ldy, const float* b8,
                                  const float* t, int64_t ldt, float alpha, float* dt, int64_t lddt, float* dbp,
                                  bool first);

struct GemmKernel {
  const char* name;  // "avx512", "avx2", "generic"
  int mr, nr;        // register tile
  int mc, kc, nc;    // cache blocks: A block mc x kc (L2), B sliver kc x nr (L1), B panel kc x nc (L3)
  GemmMicroKernel micro;
  GemmPackARows pack_a_rows = nullptr;  // optional; the driver's portable loop otherwise
  GemmPackBCols pack_b_cols = nullptr;  // optional
  GemmPackACols pack_a_cols = nullptr;  // optional
  GemmPackBRows pack_b_rows = nullptr;  // optional
  GemmSkinnyKernel skinny = nullptr;    // optional; skinny shapes use the blocked path without it
  GemmLoraDyKernel lora_dy = nullptr;   // optional, with gemm_skinny_avx2 as skinny; two products without it
  // Optional: few_rows' tile (gemm_skinny.cpp) in 16-lane vectors, with the skinny contract
  // except rows <= 8, cols <= 64 and rows * ceil(cols / 16) <= 24; skinny serves it without.
  GemmSkinnyKernel few_rows16 = nullptr;
};

// The AVX2 skinny tile (gemm_skinny_avx2.cpp), shared by the AVX-512 kernel: every AVX-512 CPU
// has AVX2 + FMA, and a rank-8 side fills one 8-wide vector exactly.
void gemm_skinny_avx2(int rows, int cols, int K, const float* a, int64_t ars, int64_t aks,
                      const float* b, int64_t bks, bool b_padded, float* c, int64_t ldc,
                      float alpha, float beta);

// The AVX-512 few-rows tile (gemm_skinny_avx512.cpp): GemmKernel::few_rows16.
void gemm_few_rows_avx512(int rows, int cols, int K, const float* a, int64_t ars, int64_t aks, const float* b,
                          int64_t bks, bool b_padded, float* c, int64_t ldc, float alpha, float beta);

void gemm_lora_dy_avx2(int rows, int out, int r, const float* dy, int64_t ldy, const float* b8, const float* t,
                       int64_t ldt, float alpha, float* dt, int64_t lddt, float* dbp, bool first);

// Per-thread scratch buffers (gemm_driver.cpp): grow-only and 64-byte aligned, so packing needs
// no allocation after warm-up and no locking. One buffer per slot and thread.
enum class GemmScratch { PackA, PackB, SkinnySmall, SkinnyPanel, SkinnyPartial, Attention, Count };
float* gemm_scratch(GemmScratch slot, size_t floats);

constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Data cache sizes in bytes of the CPU this process runs on (gemm_cache.cpp: sysfs, else cpuid);
// 0 where unknown. The AVX-512 kernel sizes its cache blocks from them.
struct CacheSizes {
  int64_t l1d = 0, l2 = 0, l3 = 0;
};
const CacheSizes& cpu_cache_sizes();

// One per instruction set; each is defined in its own file compiled with that ISA's flags.
const GemmKernel& gemm_kernel_generic();
const GemmKernel& gemm_kernel_avx2();
const GemmKernel& gemm_kernel_avx512();       // cache blocks for this CPU (gemm_cache.cpp)
const GemmKernel& gemm_kernel_avx512_base();  // fixed blocks (gemm_avx512.cpp)

// The kernel sgemm uses on this CPU (cpu_features; TUNER_CPU_LIMIT caps it).
const GemmKernel& gemm_kernel_best();

// The skinny path (gemm_skinny.cpp): runs the product and returns true when C has at most 16
// columns, or at most 8 rows with op(B) = B; returns false (nothing done) otherwise. Needs
// kernel.skinny. Checked arguments, K > 0 and alpha != 0.
bool sgemm_skinny(const GemmKernel& kernel, Trans ta, Trans tb, int M, int N, int K, float alpha,
                  const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                  ThreadPool* pool);

// sgemm_lora_dy on an explicit kernel: false (nothing done) where it has no lora_dy or r > 8.
bool sgemm_lora_dy_with_kernel(const GemmKernel& kernel, int N, int out, int r, float alpha, const float* dy,
                               const float* B, const float* t, float* dt, float* dB, ThreadPool* pool);

// sgemm with an explicit kernel: tests compare every kernel this CPU can run with the reference.
void sgemm_with_kernel(const GemmKernel& kernel, Trans ta, Trans tb, int M, int N, int K,
                       float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                       float* C, int ldc, ThreadPool* pool);

}  // namespace tuner
