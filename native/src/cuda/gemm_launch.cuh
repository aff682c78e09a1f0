// Launch helpers shared by the GEMM sources (gemm.cu, gemm_dense_*.cu, gemm_quant.cu): the tile
// configuration for a shape and the launch of one kernel instantiation.
#pragma once
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

#include "cuda/cuda_check.cuh"
#include "cuda/gemm.cuh"
#include "cuda/gemm_kernel.cuh"

namespace tuner::cuda::gemm_detail {

// A dense product as gemm.cuh takes it, for the per-type launchers.
struct DenseArgs {
  Trans ta, tb;
  int M, N, K;
  float alpha;
  const uint16_t* A;
  int lda;
  const uint16_t* B;
  int ldb;
  float beta;
  void* C;
  int ldc;
  bool c_bf16;
};
// Throws bad_gemm_shape for negative sizes or strides shorter than a row (gemm.cu).
void check_dense_shape(Trans ta, Trans tb, int M, int N, int K, int lda, int ldb, int ldc);
void launch_dense_bf16(const DenseArgs& a, cudaStream_t stream);
void launch_dense_f16(const DenseArgs& a, cudaStream_t stream);

inline int current_sm_count() {
  static std::atomic<int> cached[64] = {};
  int dev = 0;
  TUNER_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 0 || dev >= 64) dev = 0;
  int n = cached[dev].load(std::memory_order_relaxed);
  if (n == 0) {
    TUNER_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    cached[dev].store(n, std::memory_order_relaxed);
  }
  return n;
}

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// The 128x128 tiles when they alone give every SM at least one block, else the 64x64 ones (LoRA
// ranks, short sequences): four times the blocks for the same product.
inline bool use_big_tiles(int M, int N) {
  return (int64_t)ceil_div(M, BigTile::BM) * ceil_div(N, BigTile::BN) >= current_sm_count();
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

inline EpilogueParams epilogue_params(int M, int N, float alpha, float beta, void* C, int ldc, bool c_bf16) {
  const uintptr_t pair_bytes = c_bf16 ? 4 : 8;
  const bool pair_ok = ldc % 2 == 0 && reinterpret_cast<uintptr_t>(C) % pair_bytes == 0;
  return EpilogueParams{M, N, alpha, beta, C, ldc, c_bf16, pair_ok};
}

// Launches Kernel with Cfg's threads and shared memory, raising the kernel's dynamic shared-memory
// limit on this device the first time it needs more than the default 48 KiB (the flag is per
// kernel: Kernel is a template argument, so each kernel has its own static).
template <class Cfg, auto Kernel, class Params>
void launch_tiles(int smem_bytes, int tiles_m, int tiles_n, const Params& params, cudaStream_t stream) {
  if (smem_bytes > 48 * 1024) {
    static std::atomic<uint64_t> raised{0};  // one bit per device
    int dev = 0;
    TUNER_CUDA_CHECK(cudaGetDevice(&dev));
    const uint64_t bit = uint64_t{1} << (dev & 63);
    if (!(raised.load(std::memory_order_relaxed) & bit)) {
      TUNER_CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes));
      raised.fetch_or(bit, std::memory_order_relaxed);
    }
  }
  const int64_t blocks = (int64_t)tiles_m * tiles_n;
  if (blocks > 0x7fffffff) throw TunerError("bad_gemm_shape", "GEMM with more than 2^31 tiles");
  Kernel<<<(unsigned)blocks, Cfg::kThreads, smem_bytes, stream>>>(params);
  TUNER_CUDA_CHECK_LAUNCH();
}

template <class Cfg, class T, bool kAKMajor, bool kBKMajor, bool kAsync>
void launch_dense_config(const DenseArgs& a, cudaStream_t stream) {
  DenseParams p{a.M, a.N, a.K, a.A, a.lda, a.B, a.ldb, ceil_div(a.M, Cfg::BM), ceil_div(a.N, Cfg::BN),
                epilogue_params(a.M, a.N, a.alpha, a.beta, a.C, a.ldc, a.c_bf16)};
  launch_tiles<Cfg, dense_gemm_kernel<Cfg, T, kAKMajor, kBKMajor, kAsync>>(Cfg::kSmemBytes, p.tiles_m, p.tiles_n, p,
                                                                         stream);
}

// Picks the layout (k-major or mn-major per operand), the loader and the tile size.
template <class T, bool kAKMajor, bool kBKMajor>
void launch_dense_layout(const DenseArgs& a, cudaStream_t stream) {
  const bool async = a.lda % 8 == 0 && a.ldb % 8 == 0 && aligned16(a.A) && aligned16(a.B);
  if (!async) return launch_dense_config<SmallTile, T, kAKMajor, kBKMajor, false>(a, stream);
  if (use_big_tiles(a.M, a.N)) return launch_dense_config<BigTile, T, kAKMajor, kBKMajor, true>(a, stream);
  launch_dense_config<SmallTile, T, kAKMajor, kBKMajor, true>(a, stream);
}

template <class T>
void launch_dense(const DenseArgs& a, cudaStream_t stream) {
  // A is k-major when stored [M,K] (ta == N); B is k-major when stored [N,K] (tb == T).
  const bool ak = a.ta == Trans::N, bk = a.tb == Trans::T;
  if (ak && bk) return launch_dense_layout<T, true, true>(a, stream);
  if (ak) return launch_dense_layout<T, true, false>(a, stream);
  if (bk) return launch_dense_layout<T, false, true>(a, stream);
  launch_dense_layout<T, false, false>(a, stream);
}

}  // namespace tuner::cuda::gemm_detail
