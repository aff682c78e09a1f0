// How a row-major product in sgemm's conventions (tuner/gemm.h) is handed to cuBLASLt, which is
// column-major: C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T. A row-major [rows, cols]
// matrix with row stride ld is, read column-major, the [cols, rows] matrix of its transpose with
// the same leading dimension; so cuBLASLt's A is our B (transposed by cuBLASLt exactly when we
// transpose B), its B is our A, and its C is [N, M] with leading dimension ldc. Plain C++ so that
// test_cublaslt_loader checks the mapping on the CPU against a column-major reference loop.
#pragma once
#include <cstdint>

#include "cuda/cublaslt_api.h"
#include "tuner/gemm.h"

namespace tuner::cublaslt {

// One column-major matrix layout (cublasLtMatrixLayoutCreate's rows, cols, ld).
struct Layout {
  uint64_t rows, cols;
  int64_t ld;
};

// cuBLASLt's D = op(A') op(B') with m x k op(A'), k x n op(B'), m x n D (= C' in place).
struct ColumnMajorProduct {
  Operation op_a, op_b;  // CUBLASLT_MATMUL_DESC_TRANSA / TRANSB
  Layout a, b, c;        // a: our B, b: our A, c: our C
  int m, n, k;
};

inline ColumnMajorProduct column_major_product(Trans ta, Trans tb, int M, int N, int K, int lda, int ldb, int ldc) {
  const int a_rows = ta == Trans::N ? M : K, a_cols = ta == Trans::N ? K : M;  // our A as stored
  const int b_rows = tb == Trans::N ? K : N, b_cols = tb == Trans::N ? N : K;  // our B as stored
  ColumnMajorProduct p;
  p.op_a = tb == Trans::T ? kOpT : kOpN;
  p.op_b = ta == Trans::T ? kOpT : kOpN;
  p.a = Layout{uint64_t(b_cols), uint64_t(b_rows), ldb};
  p.b = Layout{uint64_t(a_cols), uint64_t(a_rows), lda};
  p.c = Layout{uint64_t(N), uint64_t(M), ldc};
  p.m = N;
  p.n = M;
  p.k = K;
  return p;
}

}  // namespace tuner::cublaslt
