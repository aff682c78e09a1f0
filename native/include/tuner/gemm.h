// Single-precision matrix multiply, the engine's hot path (>90% of training FLOPs).
//   C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C
// Row-major; op(X) is X or X^T per the Trans flag; lda/ldb/ldc are row strides in elements
// of the matrices as stored. beta == 0 means C is written without being read (may hold NaN).
// sgemm picks the fastest kernel for this CPU at run time (cpu_features); sgemm_reference is
// the plain triple loop that tests use as the oracle.
#pragma once
#include <cstdint>

namespace tuner {

class ThreadPool;
enum class Trans { N, T };

void sgemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc, ThreadPool* pool);

// LoRA's two products over the output gradient dy [N, out], in one pass over dy where the CPU's
// kernel has it (r <= 8):
//   dt = alpha * dy B        (B [out, r], dt [N, r] written)
//   dB += alpha * dy^T t     (t [N, r], dB [out, r])
// with the bits of sgemm(N, N, N, r, out, alpha, dy, out, B, r, 0, dt, r) followed by
// sgemm(T, N, out, r, N, alpha, dy, out, t, r, 1, dB, r), for any thread count.
void sgemm_lora_dy(int N, int out, int r, float alpha, const float* dy, const float* B, const float* t, float* dt,
                   float* dB, ThreadPool* pool);

// Name of the kernel sgemm runs on this CPU ("avx512", "avx2" or "generic"), for logs and the
// hardware report.
const char* sgemm_kernel_name();

void sgemm_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A,
                     int lda, const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace tuner
