// The per-shape choice between our tensor-core GEMM and cuBLASLt behind gemm() and
// gemm_out_bf16() (gemm.cuh), when cuBLASLt could be loaded at run time (cublaslt_loader.h).
//
// The first time gemm() sees a product (device, layouts, M, N, K, strides, input and output types,
// operand alignment), it times our kernel and cuBLASLt's heuristic candidates (up to 3) on the
// stream, on the real operands, and keeps the faster for every later call. With beta == 0 the
// timed runs write C (which the real call then writes again); with beta != 0 they write a scratch
// copy of C, so C is updated exactly once. A stream being captured into a CUDA graph is never
// timed (our kernel runs, undecided). Without cuBLASLt every product goes straight to our kernel.
// docs/cuda-gemm.md ("cuBLASLt") describes it.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <string>

#include "cuda/gemm.cuh"

namespace tuner::cuda {

// cuBLASLt's best heuristic algorithm for this product, run directly (tests and benchmarks compare
// it with gemm_own). C is fp32, or bf16 when c_bf16. Returns false, with nothing launched, when
// cuBLASLt is not loaded, has no handle on this device, or offers no algorithm for the shape.
bool gemm_cublaslt(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
                   int ldb, float beta, void* C, int ldc, bool c_bf16, cudaStream_t stream,
                   Half16 type = Half16::BF16);

// Receives one line for each shape gemm() decides, e.g.
//   "gemm N,T 8192x2048x2048 bf16->fp32 (ld 2048,2048,2048): ours 0.61 ms, cuBLASLt 0.52 ms -> cuBLASLt"
// and one for each time cuBLASLt fails and gemm() falls back to our kernel. By default the lines
// go to stderr when TUNER_GEMM_LOG=1, and nowhere otherwise. An empty function restores that.
void set_gemm_choice_listener(std::function<void(const std::string&)> listener);

// The decisions made so far, one line per shape ("<device> <layouts> M N K lda ldb ldc <in> <out>
// <alignments> <choice>", choice 0 = ours, k = cuBLASLt's candidate k), and their restoration in a
// new process, which then makes the same choice for those shapes without timing them. tuner-train
// keeps them beside each checkpoint on a GPU, so a resumed run multiplies with the kernels of the
// run it continues and its losses stay the same bits. Lines it cannot read are skipped; returns the
// number restored. A restored cuBLASLt choice that this machine's library does not offer runs ours.
std::string gemm_choices();
int restore_gemm_choices(const std::string& text);

}  // namespace tuner::cuda
