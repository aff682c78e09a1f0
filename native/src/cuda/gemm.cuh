// Tensor-core GEMMs of the CUDA backend, written for this engine (no cuBLAS): dense bf16/fp16
// matrix products with fp32 accumulation for training, and dequantizing products over the
// engine's quantized weight formats (tuner/quant.h) for QLoRA and inference. docs/cuda.md
// ("GEMM kernels") describes the kernels.
//
// Every function takes device pointers and a stream, launches asynchronously on that stream and
// returns; launch errors throw TunerError (cuda_check.cuh). Callers need no CUDA types beyond
// cudaStream_t: 16-bit values are raw bit patterns (uint16_t), as in tuner/gemm_bf16.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "tuner/cuda_device.h"
#include "tuner/gemm.h"
#include "tuner/quant.h"

namespace tuner::cuda {

// Element type of the 16-bit inputs.
enum class Half16 { BF16, F16 };

// C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, with the conventions of sgemm
// (tuner/gemm.h): row-major, op(X) = X or X^T per Trans, lda/ldb/ldc row strides in elements of
// the matrices as stored, beta == 0 never reads C. The trainer's three products are
//   forward  Y = X W^T    gemm(N, T, tokens, out, in, 1, X, in, W, in, 0, Y, out)
//   dX = dY W            gemm(N, N, tokens, in, out, 1, dY, out, W, in, 0, dX, in)
//   dW += dY^T X         gemm(T, N, out, in, tokens, 1, dY, out, X, in, 1, dW, in)
// Any M, N, K >= 0 (edge tiles are predicated). Operands whose stride is a multiple of 8 and whose
// pointer is 16-byte aligned are copied with cp.async; others take a slower element-wise loader.
void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
          int ldb, float beta, float* C, int ldc, cudaStream_t stream, Half16 type = Half16::BF16);
// The same with a bf16 output (beta != 0 reads C as bf16); the sum is rounded once, at the end.
void gemm_out_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
                   const uint16_t* B, int ldb, float beta, uint16_t* C, int ldc, cudaStream_t stream,
                   Half16 type = Half16::BF16);

// Our kernels alone, without the per-shape choice that gemm() and gemm_out_bf16() make between
// them and cuBLASLt when it is present (gemm_dispatch.cuh): same arguments, same results.
void gemm_own(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
              int ldb, float beta, float* C, int ldc, cudaStream_t stream, Half16 type = Half16::BF16);
void gemm_own_out_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
                       const uint16_t* B, int ldb, float beta, uint16_t* C, int ldc, cudaStream_t stream,
                       Half16 type = Half16::BF16);

// Name of the kernel configuration gemm() picks for a shape, e.g. "128x128x32 4-stage cp.async",
// for benchmarks and logs.
const char* gemm_config_name(int M, int N, int K);

// A quantized weight matrix [rows = out features, cols = in features] in device memory, laid out
// byte for byte as the host QuantMatrix (tuner/quant.h). codebooks: nf4's 256-entry absmax map
// followed by the 16 NF4 values (the host tables, copied).
struct DeviceQuantMatrix {
  QuantType type = QuantType::F32;
  int rows = 0, cols = 0;
  size_t row_bytes = 0;
  DeviceBuffer data, row_scale, absmax_q, absmax_scale, codebooks;
  float absmax_offset = 0.0f;
};
// Copies a host QuantMatrix to the device (synchronously). Throws cuda_out_of_memory.
DeviceQuantMatrix upload_quant_matrix(const QuantMatrix& w, int device = 0);

// Y[M, rows] (=|+=) X[M, cols] @ dequant(W)^T with X bf16 (row stride ldx) and Y fp32 (stride ldy):
// the prefill / training product. Weights are decoded to bf16 in shared memory inside the GEMM's
// load stage (q8_0, q4_0, nf4, int8 with cols % 32 == 0); other formats and shapes are decoded to
// a bf16 copy of W first (stream-ordered temporary) and run through gemm().
void qgemm_bf16(float* Y, int ldy, const uint16_t* X, int ldx, const DeviceQuantMatrix& W, int M, bool accumulate,
                cudaStream_t stream);
// y[M, rows] (=|+=) x[M, cols] @ dequant(W)^T with x and y fp32 and contiguous, for decode
// (1 <= M <= 8): reads the packed weights once, decoding to fp32 exactly as the CPU's decoders do.
constexpr int kQgemvMaxRows = 8;
void qgemv(float* y, const float* x, const DeviceQuantMatrix& W, int M, bool accumulate, cudaStream_t stream);
// out[rows, cols] = dequant(W) rounded to bf16: QLoRA's dX = dY W runs gemm() on it.
void dequantize_bf16(uint16_t* out, const DeviceQuantMatrix& W, cudaStream_t stream);

}  // namespace tuner::cuda
