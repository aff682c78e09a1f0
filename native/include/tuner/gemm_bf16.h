// bf16 matrix multiply with fp32 accumulation, the matmuls of bf16 training and inference:
//   C[M,N] (f32) = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C,  A and B bf16
// Same conventions as sgemm (tuner/gemm.h): row-major, op() per Trans flag, strides in elements,
// beta == 0 never reads C. bf16 values are raw bit patterns (uint16_t, the top half of an f32).
// On CPUs with AVX512_BF16 a vdpbf16ps micro-kernel multiplies pairs of k; elsewhere the
// operands are widened to f32 while packing and sgemm's micro-kernel for this CPU runs them.
// Either way every product of two bf16 values is exact in f32 and sums are f32, so the paths
// differ only in summation order (checked against gemm_bf16_reference with f32 tolerances).
// Results do not depend on the thread count (C is split by whole tiles, never K).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tuner/gemm.h"

namespace tuner {

class ThreadPool;

void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
               const uint16_t* B, int ldb, float beta, float* C, int ldc, ThreadPool* pool);
// The same with f32 operands rounded to bf16 as they are packed (the products of rounding them
// with round_to_bf16 first, without a pass over memory): activations times bf16 weights (forward
// X W^T, dX = dY W) and activations times activations (dW = dY^T X) in bf16 training. The packs
// read f32 subnormals as zero, as the bf16 kernel reads bf16 subnormals; the one difference is an
// f32 subnormal within 2^-134 of the smallest normal, which round_to_bf16 rounds up to it.
void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
               const uint16_t* B, int ldb, float beta, float* C, int ldc, ThreadPool* pool);
void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc, ThreadPool* pool);
void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc, ThreadPool* pool);

// A second product summed in the same pass over C:
//   C = alpha * (op(A) op(B) + op(A2) op(B2)) + beta * C,  op(A2) [M, tail.K], op(B2) [tail.K, N]
// with f32 tail operands rounded to bf16 as they are packed. The tail's k run after A's and B's
// in the last k block, so C is read and written once where a product of its own would read and
// write it again: LoRA's update s (x A^T) B^T added to the frozen weights' x W^T, and dt A to
// dy W in backward. K must be even (a k pair never spans the two products).
struct Bf16KTail {
  int K;
  Trans ta;
  const float* A;
  int lda;
  Trans tb;
  const float* B;
  int ldb;
};
void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda, const uint16_t* B,
               int ldb, const Bf16KTail& tail, float beta, float* C, int ldc, ThreadPool* pool);

// A bf16 matrix packed once as the B operand of the products that read it many times: the
// frozen weights of a LoRA run, read by every step's forward (x W^T) and backward (dy W). A product
// with a packed B packs only A, where at two threads each thread packed its own copy of a
// one-panel B (the decoder's products 1.03-1.09x, docs/sgemm.md). The layout is the vdpbf16ps kernel's (a sliver of
// NR columns holds all of K, k pairs in 32-bit elements), so only a CPU with that kernel packs
// one (pack_bf16_b returns false elsewhere and the caller keeps the plain bf16 copy). `tail`
// k more per sliver are room for a product's Bf16KTail, written by each product that has one.
// Memory: 2 bytes per element (N rounded up to the sliver, K up to even, plus the tail's room).
struct Bf16PackedB {
  int K = 0, N = 0, tail = 0;
  int64_t sliver = 0;  // 32-bit elements per sliver
  size_t words = 0;
  struct Free {
    void operator()(uint32_t* p) const;
  };
  std::unique_ptr<uint32_t[], Free> data;  // 64-byte aligned: the kernel loads B with aligned loads
  size_t bytes() const { return words * sizeof(uint32_t); }
};
// Packs op(W) (K x N; tb and ldw as gemm_bf16's B) from its f32 values, rounded as gemm_bf16
// rounds f32 operands while packing (the bits of round_to_bf16's copy, as the products read
// them), with room for `tail` k (K even when tail > 0). False, with `out` empty, where this CPU
// has no bf16 kernel.
bool pack_bf16_b(Bf16PackedB& out, Trans tb, int K, int N, const float* W, int ldw, int tail, ThreadPool* pool);
// C[M, B.N] = alpha * (op(A) B + op(A2) op(B2)) + beta * C with B packed by pack_bf16_b: the bits
// of gemm_bf16 on B's plain bf16 copy and the same tail (same blocks, same order). The tail's B2
// is packed into B's room (tail.K <= B.tail), so B is written and two products must not share one
// at once.
void gemm_bf16(Trans ta, int M, float alpha, const float* A, int lda, Bf16PackedB& B, const Bf16KTail& tail, float beta,
               float* C, int ldc, ThreadPool* pool);

// The kernel gemm_bf16 runs on this CPU: "avx512bf16", or "f32-<sgemm kernel>" for the
// widening fallback (TUNER_CPU_LIMIT=avx2|generic selects it on any CPU).
const char* gemm_bf16_kernel_name();
// True when this CPU multiplies bf16 natively (what makes bf16 training faster than f32).
bool gemm_bf16_native();

// The plain triple loop over the widened values, the tests' oracle.
void gemm_bf16_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A,
                         int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc);

// dst[i] = bf16(src[i]), round to nearest even (NaN stays NaN), as f32_to_bf16 (tuner/dtype.h)
// and torch's .to(torch.bfloat16); the same bits on every CPU. Split over the pool.
void round_to_bf16(uint16_t* dst, const float* src, int64_t n, ThreadPool* pool);
// Rows of a strided f32 matrix into a dense bf16 one: dst[r * cols + c] = bf16(src[r * lds + c]).
void round_rows_to_bf16(uint16_t* dst, const float* src, int64_t lds, int rows, int cols, ThreadPool* pool);
// Rounds an f32 matrix (rows x cols, row stride lds) to bf16 in its own memory, for an operand
// that several products read: row r's bf16 values fill the first half of row r's storage, so the
// result is a bf16 matrix at the same address with row stride 2 * lds (returned), and the f32
// values are gone. Each row is independent, so threads take whole rows.
uint16_t* round_rows_to_bf16_in_place(float* data, int64_t lds, int rows, int cols, ThreadPool* pool);

}  // namespace tuner
