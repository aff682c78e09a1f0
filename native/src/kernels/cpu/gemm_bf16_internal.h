// Internals of gemm_bf16 shared by its driver (gemm_bf16.cpp) and the AVX512_BF16 kernel
// (gemm_bf16_avx512bf16.cpp). The driver blocks and threads the product as sgemm's does
// (gemm_driver.cpp); what differs is the packed format. For vdpbf16ps, which multiplies pairs
// of bf16 along k and adds both products into one f32 lane, each packed element is a k pair:
//   A sliver: a[kp * MR + i] = A(i, 2kp) | A(i, 2kp + 1) << 16   (uint32, rows past M zero)
//   B sliver: b[kp * NR + j] = B(2kp, j) | B(2kp + 1, j) << 16   (columns past N zero)
// and a k past K (odd K) is a zero half.
#pragma once
#include <cstdint>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/gemm_bf16.h"

namespace tuner {

// Multiplies one MR x (2 kp) A sliver by one (2 kp) x NR B sliver of k pairs, then writes the
// top-left mr x nr part: C = alpha * AB + beta * C (beta == 0: C is not read).
using GemmBf16MicroKernel = void (*)(int kp, const uint32_t* a, const uint32_t* b, float* c,
                                     int64_t ldc, int mr, int nr, float alpha, float beta);
// dst[i] = bf16(src[i]) for i < n (round to nearest even, NaN kept a NaN).
using RoundToBf16Kernel = void (*)(uint16_t* dst, const float* src, int64_t n);
// One packed sliver of an f32 operand stored with k across its rows (row k at src + k * ld),
// rounded as RoundToBf16Kernel rounds but subnormals read as zero (as vdpbf16ps reads them):
// dst[q * W + x] = bf16(src[2q * ld + x]) | bf16(src[(2q + 1) * ld + x]) << 16 for
// q < (kc + 1) / 2, x < lines (a k past kc: zero high half), and zero for lines <= x < W.
using RoundPairsKernel = void (*)(uint32_t* dst, int W, const float* src, int64_t ld, int lines, int kc);
// One packed sliver of an operand whose lines hold k contiguously (line x at src + x * ld):
// dst[q * W + x] = X(x, 2q) | X(x, 2q + 1) << 16 for q < (kc + 1) / 2, x < lines (f32 values
// rounded as RoundPairsKernel rounds them; a k past kc: zero high half), and zero for lines <= x < W.
using PackKmajorF32Kernel = void (*)(uint32_t* dst, int W, const float* src, int64_t ld, int lines, int kc);
using PackKmajorBf16Kernel = void (*)(uint32_t* dst, int W, const uint16_t* src, int64_t ld, int lines, int kc);
// RoundPairsKernel's sliver from a bf16 operand stored with k across its rows (no rounding).
using PairRowsBf16Kernel = void (*)(uint32_t* dst, int W, const uint16_t* src, int64_t ld, int lines, int kc);

struct GemmBf16Kernel {
  const char* name;
  int mr, nr;        // register tile
  int mc, kc, nc;    // cache blocks; kc counts k (even), not pairs
  GemmBf16MicroKernel micro;
  RoundToBf16Kernel round;
  RoundPairsKernel round_pairs;
  PackKmajorF32Kernel pack_kmajor_f32;
  PackKmajorBf16Kernel pack_kmajor_bf16;
  PairRowsBf16Kernel pair_rows_bf16;
};

// Defined in a file compiled with -mavx512bf16: call only when cpu_features() reports
// AVX512_BF16 (gemm_bf16.cpp's dispatch checks).
const GemmBf16Kernel& gemm_bf16_kernel_avx512bf16();
// The AVX512_BF16 kernel where this CPU has it (and TUNER_CPU_LIMIT allows it), else null.
const GemmBf16Kernel* gemm_bf16_native_kernel();
void round_to_bf16_generic(uint16_t* dst, const float* src, int64_t n);

// gemm_bf16 on an explicit path: the vdpbf16ps kernel (native non-null) or sgemm's f32 kernel
// `f32` on widened operands (native null). Tests compare every path this CPU can run.
void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const uint16_t* A, int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool);
void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const float* A, int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool);
void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool);
void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const uint16_t* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool);
void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const float* A, int lda, const uint16_t* B, int ldb, const Bf16KTail& tail, float beta,
                    float* C, int ldc, ThreadPool* pool);

}  // namespace tuner
