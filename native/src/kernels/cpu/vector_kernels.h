// The hot loops outside the GEMM (softmax and cross-entropy rows, SwiGLU, RMSNorm, optimizer
// updates, norms), compiled twice from one source: for the baseline x86-64 instruction set
// (vector_kernels_generic.cpp) and with AVX2 + FMA (vector_kernels_avx2.cpp). Each kernel
// family's bodies live once in a vk_<family>.inc file that both translation units include.
// vector_kernels() picks the table for this CPU at run time, honouring TUNER_CPU_LIMIT, the
// same way sgemm picks its micro-kernel, so one binary runs everywhere at full speed.
//
// Adding a kernel: declare its pointer here, define it in a vk_*.inc (inside the anonymous
// namespace the .cpp opens, so AVX2 code never leaks into shared inline symbols; the ctest
// isa_isolation checks that), and set it in that .inc's fill_<family>() function.
#pragma once
#include <cstdint>

namespace tuner {

struct VectorKernels {
  const char* name = nullptr;  // "avx2" or "generic"

  // ---- reductions (vk_reduce.inc) ----
  // sum of x[i]^2, accumulated in double (gradient norms over millions of elements).
  double (*sum_squares)(const float* x, int64_t n) = nullptr;

  // ---- softmax rows (vk_softmax.inc): the passes of cross-entropy over a [V] logits row ----
  // max of x[0, n) (-inf when n == 0; NaN elements may be skipped).
  float (*row_max)(const float* x, int64_t n) = nullptr;
  // sum of exp(x[i] - shift) in a fixed order (NaN propagates; shift = +inf gives NaN).
  double (*sum_exp)(const float* x, int64_t n, float shift) = nullptr;
  // x[i] = exp(x[i] - shift) * scale, in place.
  void (*exp_scale)(float* x, int64_t n, float shift, float scale) = nullptr;
};

const VectorKernels& vector_kernels();         // the best table for this CPU
const VectorKernels& vector_kernels_generic();  // baseline x86-64 (or any other architecture)
const VectorKernels& vector_kernels_avx2();     // AVX2 + FMA; only call when the CPU has both

}  // namespace tuner
