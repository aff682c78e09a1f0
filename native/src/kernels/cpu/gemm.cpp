// sgemm entry point: picks the fastest micro-kernel this CPU can run, once, and hands the
// problem to the blocked driver.
#include "tuner/gemm.h"

#include "kernels/cpu/gemm_internal.h"
#include "tuner/cpu_features.h"

namespace tuner {

const GemmKernel& gemm_kernel_best() {
  static const GemmKernel& best = [] () -> const GemmKernel& {
    const CpuFeatures& f = cpu_features();
    if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) return gemm_kernel_avx512();
    if (f.avx2 && f.fma) return gemm_kernel_avx2();
    return gemm_kernel_generic();
  }();
  return best;
}

const char* sgemm_kernel_name() { return gemm_kernel_best().name; }

void sgemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc, ThreadPool* pool) {
  sgemm_with_kernel(gemm_kernel_best(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                    pool);
}

}  // namespace tuner
