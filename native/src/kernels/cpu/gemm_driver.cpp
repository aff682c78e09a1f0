// The blocked sgemm driver: the loop nest of BLIS / GotoBLAS (blocked_gemm in gemm_tasks.h,
// shared with gemm_bf16), with sgemm's packing and micro-kernels:
//   for jc over N by nc, pc over K by kc:      B panel, shared by all threads (L3)
//       for ic over M by mc:                   A block, one per thread (L2)
//         pack A[ic:ic+mc, pc:pc+kc]
//         for jr over nc by nr, ir over mc by mr: micro-kernel (B sliver in L1, C tile in registers)
// Threads split C by whole slivers (rows of A, or columns of B when M is small), never K, so each
// element of C is summed in the same order whatever the thread count: results are bit-identical
// for 1, 2 or 64 threads and from run to run. The slivers are dealt out as tasks that threads
// claim as they go (parallel_tasks), which balances a busy machine without touching the sums.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/gemm_internal.h"
#include "kernels/cpu/gemm_tasks.h"
#include "tuner/error.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

// A grow-only, 64-byte aligned scratch buffer (see gemm_scratch).
class Scratch {
 public:
  ~Scratch() { std::free(data_); }
  float* get(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      TUNER_CHECK(data_ != nullptr, "out of memory for a GEMM packing buffer");
      capacity_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local Scratch tls_scratch[static_cast<int>(GemmScratch::Count)];

}  // namespace

float* gemm_scratch(GemmScratch slot, size_t floats) { return tls_scratch[static_cast<int>(slot)].get(floats); }

namespace {

// Packs rows [i0, i0+m) x columns [p0, p0+kc) of op(A) into MR-row slivers.
void pack_a(const GemmKernel& kern, float* dst, Trans ta, const float* A, int64_t lda, int i0,
            int m, int p0, int kc) {
  const int MR = kern.mr;
  GemmPackARows fast = ta == Trans::N ? kern.pack_a_rows : kern.pack_a_cols;
  if (fast) {
    fast(dst, A, lda, i0, m, p0, kc);
    return;
  }
  for (int s = 0; s < m; s += MR) {
    const int rows = std::min(MR, m - s);
    float* out = dst + int64_t(s) * kc;
    if (ta == Trans::T) {
      // op(A)(i, k) = A[k][i]: each k is a contiguous run of rows.
      for (int k = 0; k < kc; ++k) {
        const float* src = A + int64_t(p0 + k) * lda + i0 + s;
        float* o = out + int64_t(k) * MR;
        for (int r = 0; r < rows; ++r) o[r] = src[r];
        for (int r = rows; r < MR; ++r) o[r] = 0.0f;
      }
    } else {
      for (int r = 0; r < rows; ++r) {
        const float* src = A + int64_t(i0 + s + r) * lda + p0;
        for (int k = 0; k < kc; ++k) out[int64_t(k) * MR + r] = src[k];
      }
      for (int r = rows; r < MR; ++r)
        for (int k = 0; k < kc; ++k) out[int64_t(k) * MR + r] = 0.0f;
    }
  }
}

// Packs NR-column slivers [s0, s1) of op(B)[p0:p0+kc, j0:j0+n] (sliver s covers columns s*NR..).
void pack_b(const GemmKernel& kern, float* dst, Trans tb, const float* B, int64_t ldb, int p0,
            int kc, int j0, int n, int s0, int s1) {
  const int NR = kern.nr;
  GemmPackBCols fast = tb == Trans::T ? kern.pack_b_cols : kern.pack_b_rows;
  if (fast) {
    fast(dst, B, ldb, p0, kc, j0, n, s0, s1);
    return;
  }
  for (int s = s0; s < s1; ++s) {
    const int c0 = s * NR;
    const int cols = std::min(NR, n - c0);
    float* out = dst + int64_t(s) * NR * kc;
    if (tb == Trans::N) {
      for (int k = 0; k < kc; ++k) {
        const float* src = B + int64_t(p0 + k) * ldb + j0 + c0;
        float* o = out + int64_t(k) * NR;
        if (cols == NR) {
          std::memcpy(o, src, sizeof(float) * NR);
        } else {
          for (int c = 0; c < cols; ++c) o[c] = src[c];
          for (int c = cols; c < NR; ++c) o[c] = 0.0f;
        }
      }
    } else {
      // op(B)(k, j) = B[j][k]: read each column's k run contiguously, write strided.
      for (int c = 0; c < cols; ++c) {
        const float* src = B + int64_t(j0 + c0 + c) * ldb + p0;
        for (int k = 0; k < kc; ++k) out[int64_t(k) * NR + c] = src[k];
      }
      for (int c = cols; c < NR; ++c)
        for (int k = 0; k < kc; ++k) out[int64_t(k) * NR + c] = 0.0f;
    }
  }
}


struct Problem {
  const GemmKernel* kern;
  Trans ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
};

// Rank updates this short or shorter sweep C row by row (compute).
constexpr int kShortK = 32;

// Rows [m0, m1) of C against B slivers [s0, s1) of the packed panel.
void compute(const Problem& p, const float* bpack, int jc, int nc, int pc, int kc, float beta, int m0, int m1,
             int s0, int s1) {
  const GemmKernel& k = *p.kern;
  float* apack = gemm_scratch(GemmScratch::PackA, size_t(ceil_div(std::min(k.mc, m1 - m0), k.mr)) * k.mr * kc);
  for (int ic = m0; ic < m1; ic += k.mc) {
    const int mc = std::min(k.mc, m1 - ic);
    pack_a(k, apack, p.ta, p.A, p.lda, ic, mc, pc, kc);
    if (kc <= kShortK) {
      // A short update (a rank-8 LoRA product added into y or dx) is all loads and stores of
      // C: sweep C along its rows, so that its lines stream in order, rather than down a
      // 16-column strip a row length apart. The B panel is small enough to stay in cache.
      for (int ir = 0; ir < mc; ir += k.mr) {
        float* crow = p.C + int64_t(ic + ir) * p.ldc + jc;
        for (int s = s0; s < s1; ++s)
          k.micro(kc, apack + int64_t(ir) * kc, bpack + int64_t(s) * k.nr * kc, crow + s * k.nr, p.ldc,
                  std::min(k.mr, mc - ir), std::min(k.nr, nc - s * k.nr), p.alpha, beta);
      }
      continue;
    }
    for (int s = s0; s < s1; ++s) {
      const int nr = std::min(k.nr, nc - s * k.nr);
      const float* b = bpack + int64_t(s) * k.nr * kc;
      float* cblock = p.C + int64_t(ic) * p.ldc + jc + s * k.nr;
      for (int ir = 0; ir < mc; ir += k.mr)
        k.micro(kc, apack + int64_t(ir) * kc, b, cblock + int64_t(ir) * p.ldc, p.ldc, std::min(k.mr, mc - ir), nr,
                p.alpha, beta);
    }
  }
}

}  // namespace

void sgemm_with_kernel(const GemmKernel& kern, Trans ta, Trans tb, int M, int N, int K,
                       float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                       float* C, int ldc, ThreadPool* pool) {
  TUNER_CHECK(M >= 0 && N >= 0 && K >= 0, "sgemm: negative size");
  if (M == 0 || N == 0) return;
  TUNER_CHECK(ldc >= N, "sgemm: ldc < N");
  if (K == 0 || alpha == 0.0f) {
    scale_c(C, ldc, M, N, beta);
    return;
  }
  TUNER_CHECK(lda >= (ta == Trans::N ? K : M), "sgemm: lda smaller than a row of A");
  TUNER_CHECK(ldb >= (tb == Trans::N ? N : K), "sgemm: ldb smaller than a row of B");
  if (kern.skinny && sgemm_skinny(kern, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool))
    return;

  const Problem p{&kern, ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc};
  blocked_gemm(
      GemmBlocking{kern.mr, kern.nr, kern.mc, kern.kc, kern.nc}, M, N, K, beta, pool,
      [&](int n_slivers, int kc) { return gemm_scratch(GemmScratch::PackB, size_t(n_slivers) * kern.nr * kc); },
      [&](float* bpack, int pc, int kc, int jc, int nc, int s0, int s1) {
        pack_b(kern, bpack, tb, B, ldb, pc, kc, jc, nc, s0, s1);
      },
      [&](const float* bpack, int jc, int nc, int pc, int kc, float beta_k, int m0, int m1, int s0, int s1) {
        compute(p, bpack, jc, nc, pc, kc, beta_k, m0, m1, s0, s1);
      });
}

}  // namespace tuner
