// Portable sgemm micro-kernel (4 x 8 tile in plain C++ that the compiler vectorizes with the
// baseline instruction set): the fallback for CPUs without AVX2 + FMA, and for other
// architectures. Compiled with the default flags, so it runs everywhere.
#include "kernels/cpu/gemm_internal.h"

namespace tuner {

namespace {

constexpr int MR = 4;
constexpr int NR = 8;

void micro_4x8(int kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr,
               float alpha, float beta) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < mr; ++i) {
    for (int j = 0; j < nr; ++j) {
      float& out = c[i * ldc + j];
      const float t = alpha * acc[i][j];
      out = beta == 0.0f ? t : beta * out + t;
    }
  }
}

// The skinny contract (gemm_internal.h) in plain loops: 8-wide rows the compiler vectorizes.
void skinny(int rows, int cols, int K, const float* a, int64_t ars, int64_t aks, const float* b,
            int64_t bks, bool b_padded, float* c, int64_t ldc, float alpha, float beta) {
  constexpr int W = 32;
  float acc[8][W] = {};
  for (int k = 0; k < K; ++k) {
    const float* bk = b + k * bks;
    for (int r = 0; r < rows; ++r) {
      const float x = a[r * ars + k * aks];
      for (int j = 0; j < cols; ++j) acc[r][j] += x * bk[j];
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      float& out = c[r * ldc + j];
      const float t = alpha * acc[r][j];
      out = beta == 0.0f ? t : beta * out + t;
    }
  }
}

constexpr GemmKernel kKernel{"generic", MR, NR, 128, 256, 4096, micro_4x8,
                             nullptr, nullptr, nullptr, nullptr, skinny};

}  // namespace

const GemmKernel& gemm_kernel_generic() { return kKernel; }

}  // namespace tuner
