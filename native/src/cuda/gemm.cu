// Our dense tensor-core GEMM's entry points (gemm_own*, gemm.cuh): argument checks, then the
// per-type launchers. gemm() and gemm_out_bf16() choose between these and cuBLASLt per shape
// (gemm_dispatch.cu).
#include <string>

#include "cuda/gemm_launch.cuh"
#include "tuner/error.h"

namespace tuner::cuda {

namespace gemm_detail {

void check_dense_shape(Trans ta, Trans tb, int M, int N, int K, int lda, int ldb, int ldc) {
  auto fail = [&](const std::string& what) {
    throw TunerError("bad_gemm_shape", "CUDA GEMM [" + std::to_string(M) + " x " + std::to_string(K) + "] x [" +
                                           std::to_string(K) + " x " + std::to_string(N) + "]: " + what);
  };
  if (M < 0 || N < 0 || K < 0) fail("negative size");
  const int a_cols = ta == Trans::N ? K : M, b_cols = tb == Trans::N ? N : K;
  if (lda < (a_cols > 1 ? a_cols : 1)) fail("lda " + std::to_string(lda) + " is less than A's row length");
  if (ldb < (b_cols > 1 ? b_cols : 1)) fail("ldb " + std::to_string(ldb) + " is less than B's row length");
  if (ldc < (N > 1 ? N : 1)) fail("ldc " + std::to_string(ldc) + " is less than N");
}

}  // namespace gemm_detail

namespace {

using gemm_detail::DenseArgs;

void run(const DenseArgs& a, Half16 type, cudaStream_t stream) {
  gemm_detail::check_dense_shape(a.ta, a.tb, a.M, a.N, a.K, a.lda, a.ldb, a.ldc);
  if (a.M == 0 || a.N == 0) return;
  if (type == Half16::BF16) gemm_detail::launch_dense_bf16(a, stream);
  else gemm_detail::launch_dense_f16(a, stream);
}

}  // namespace

void gemm_own(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
              int ldb, float beta, float* C, int ldc, cudaStream_t stream, Half16 type) {
  run(DenseArgs{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, false}, type, stream);
}

void gemm_own_out_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
                       const uint16_t* B, int ldb, float beta, uint16_t* C, int ldc, cudaStream_t stream, Half16 type) {
  run(DenseArgs{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, true}, type, stream);
}

const char* gemm_config_name(int M, int N, int K) {
  (void)K;
  return gemm_detail::use_big_tiles(M, N) ? "128x128x32, 8 warps, 4-stage cp.async"
                                          : "64x64x32, 4 warps, 4-stage cp.async";
}

}  // namespace tuner::cuda
