// The oracle for every sgemm kernel: a plain triple loop, accumulating in double so that its own
// rounding error is negligible next to the float kernels it checks.
#include <cstdint>

#include "tuner/gemm.h"

namespace tuner {

void sgemm_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A,
                     int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int k = 0; k < K; ++k) {
        const float a = ta == Trans::N ? A[int64_t(i) * lda + k] : A[int64_t(k) * lda + i];
        const float b = tb == Trans::N ? B[int64_t(k) * ldb + j] : B[int64_t(j) * ldb + k];
        acc += double(a) * double(b);
      }
      float& c = C[int64_t(i) * ldc + j];
      const double prior = beta == 0.0f ? 0.0 : double(beta) * double(c);
      c = float(double(alpha) * acc + prior);
    }
  }
}

}  // namespace tuner
