// sgemm against its double-accumulating reference: every kernel this CPU can run, all four
// transpose combinations, odd sizes around the tile and block edges, row strides wider than the
// matrix, alpha / beta (beta = 0 over NaN-filled C), 1 / 2 / 4 threads, and bit-identical
// results from run to run and across thread counts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/gemm.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

int g_failures = 0;
int g_checks = 0;

struct Case {
  Trans ta, tb;
  int M, N, K;
  int pad_a, pad_b, pad_c;  // extra elements per row beyond the matrix width
  float alpha, beta;
};

const char* tname(Trans t) { return t == Trans::N ? "N" : "T"; }

std::vector<float> random_matrix(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Runs one case with `kernel` and checks every element against the reference with a bound
// derived from the inputs' magnitudes (float summation error grows at most ~K * eps).
bool check_case(const GemmKernel& kernel, const Case& c, ThreadPool* pool, std::mt19937& rng,
                std::vector<float>* out = nullptr) {
  const int a_rows = c.ta == Trans::N ? c.M : c.K, a_cols = c.ta == Trans::N ? c.K : c.M;
  const int b_rows = c.tb == Trans::N ? c.K : c.N, b_cols = c.tb == Trans::N ? c.N : c.K;
  const int lda = a_cols + c.pad_a, ldb = b_cols + c.pad_b, ldc = c.N + c.pad_c;
  std::vector<float> A = random_matrix(int64_t(a_rows) * lda + 1, rng);
  std::vector<float> B = random_matrix(int64_t(b_rows) * ldb + 1, rng);
  std::vector<float> C0 = random_matrix(int64_t(c.M) * ldc + 1, rng);
  if (c.beta == 0.0f) std::fill(C0.begin(), C0.end(), NAN);
  // Padding past each row must come back untouched.
  const float kSentinel = 12345.0f;
  for (int i = 0; i < c.M; ++i)
    for (int j = c.N; j < ldc; ++j) C0[int64_t(i) * ldc + j] = kSentinel;
  std::vector<float> C = C0, R = C0;

  sgemm_with_kernel(kernel, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb,
                    c.beta, C.data(), ldc, pool);
  sgemm_reference(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
                  R.data(), ldc);
  ++g_checks;
  const double eps = 1.2e-7;
  for (int i = 0; i < c.M; ++i) {
    for (int j = 0; j < ldc; ++j) {
      const int64_t idx = int64_t(i) * ldc + j;
      if (j >= c.N) {
        if (C[idx] != kSentinel) {
          std::printf("FAIL %s %s%s M=%d N=%d K=%d: wrote past row end at (%d,%d)\n",
                      kernel.name, tname(c.ta), tname(c.tb), c.M, c.N, c.K, i, j);
          ++g_failures;
          return false;
        }
        continue;
      }
      // Magnitude bound: |alpha| * sum_k |a||b| + |beta * c| (inputs are in [-1, 1]).
      const double scale = std::fabs(c.alpha) * c.K + (c.beta == 0.0f ? 0.0 : std::fabs(c.beta));
      const double tol = 2.0 * (c.K + 2) * eps * scale + 1e-30;
      if (!(std::fabs(double(C[idx]) - double(R[idx])) <= tol)) {
        std::printf("FAIL %s %s%s M=%d N=%d K=%d alpha=%g beta=%g threads=%d: C(%d,%d)=%.9g "
                    "reference=%.9g tol=%.3g\n",
                    kernel.name, tname(c.ta), tname(c.tb), c.M, c.N, c.K, c.alpha, c.beta,
                    pool ? pool->size() : 1, i, j, C[idx], R[idx], tol);
        ++g_failures;
        return false;
      }
    }
  }
  if (out) *out = C;
  return true;
}

// One case on the same inputs with two kernels (each checked against the reference too).
void run_both(const GemmKernel& a, const GemmKernel& b, const Case& c, ThreadPool* pool, std::vector<float>& out_a,
              std::vector<float>& out_b) {
  std::mt19937 ra(5), rb(5);
  check_case(a, c, pool, ra, &out_a);
  check_case(b, c, pool, rb, &out_b);
}

void test_kernel(const GemmKernel& kernel) {
  std::printf("kernel %s (%dx%d, mc=%d kc=%d nc=%d)\n", kernel.name, kernel.mr, kernel.nr,
              kernel.mc, kernel.kc, kernel.nc);
  ThreadPool pool1(1), pool2(2), pool4(4);
  ThreadPool* pools[] = {nullptr, &pool1, &pool2, &pool4};
  std::mt19937 rng(1234);
  const int sizes[] = {1, 2, 7, 17, 63, 65, 129};
  const Trans ts[] = {Trans::N, Trans::T};
  // Sizes around tile and block edges, every transpose pair, strided rows.
  for (Trans ta : ts)
    for (Trans tb : ts)
      for (int M : sizes)
        for (int N : sizes)
          for (int K : {1, 17, 65}) {
            Case c{ta, tb, M, N, K, (M + N) % 3, (N + K) % 5, (M + K) % 4, 1.0f, 0.0f};
            check_case(kernel, c, pools[(M + N + K) % 4], rng);
          }
  // K past the kc block (several rank-kc updates, beta applied only once), N past nc.
  for (Trans ta : ts)
    for (Trans tb : ts) {
      check_case(kernel, {ta, tb, 37, 45, kernel.kc * 2 + 3, 1, 2, 3, 0.5f, -1.5f}, &pool2, rng);
      check_case(kernel, {ta, tb, 9, kernel.nc + kernel.nr + 5, 11, 0, 0, 0, 1.0f, 1.0f}, &pool2, rng);
      check_case(kernel, {ta, tb, kernel.mc * 2 + 5, 33, 300, 4, 0, 1, 2.0f, 0.0f}, &pool4, rng);
    }
  // One row or column either side of the register tile and its multiples (the masked edges of
  // the packs and of the C update), K either side of 16 (the packs' transpose blocks) and of kc.
  for (Trans ta : ts)
    for (Trans tb : ts)
      for (int dm : {-1, 0, 1})
        for (int dn : {-1, 0, 1}) {
          const int M = 2 * kernel.mr + dm, N = kernel.nr + 17 + dn;
          for (int K : {15, 16, 33, kernel.kc - 1, kernel.kc + 1})
            check_case(kernel, {ta, tb, M, N, K, (dm + 1) * 3, (dn + 1) * 5, 1, 1.0f, dm == 0 ? 0.0f : 0.5f},
                       pools[(M + N + K) % 4], rng);
        }
  // alpha / beta variants, including alpha = 0 (C = beta * C) and K = 0.
  const float alphas[] = {1.0f, -2.0f, 0.0f};
  const float betas[] = {0.0f, 1.0f, 0.25f};
  for (float alpha : alphas)
    for (float beta : betas) {
      check_case(kernel, {Trans::N, Trans::T, 70, 50, 90, 3, 1, 2, alpha, beta}, &pool2, rng);
      check_case(kernel, {Trans::T, Trans::N, 13, 29, 0, 0, 0, 0, alpha, beta}, &pool2, rng);
    }
  // Training shapes in miniature: tall-skinny (LoRA), and M smaller than the thread count.
  check_case(kernel, {Trans::N, Trans::T, 512, 8, 256, 0, 0, 0, 1.0f, 0.0f}, &pool4, rng);
  check_case(kernel, {Trans::T, Trans::N, 8, 256, 512, 0, 0, 0, 1.0f, 1.0f}, &pool4, rng);
  check_case(kernel, {Trans::N, Trans::N, 3, 300, 40, 0, 0, 0, 1.0f, 0.0f}, &pool4, rng);

  // Skinny shapes (gemm_skinny.cpp): C with <= 16 columns or <= 16 rows, every transpose pair,
  // around the tile widths (8, 16, 24, 32), K past one or several k blocks (their length
  // depends on N: 1100 columns make blocks of 56); C NaN-filled under beta = 0, strided rows.
  for (Trans ta : ts)
    for (Trans tb : ts) {
      for (int n : {1, 3, 8, 9, 13, 16})
        for (int m : {5, 8, 9, 67, 200}) {
          check_case(kernel, {ta, tb, m, n, 37, 1, 2, 3, 1.0f, 0.0f}, pools[(m + n) % 4], rng);
          check_case(kernel, {ta, tb, m, n, 300, 0, 1, 0, -0.5f, 0.75f}, pools[(m + n + 1) % 4], rng);
        }
      for (int m : {1, 2, 3, 4, 5, 6, 7, 8, 11, 16})
        for (int n : {17, 23, 24, 33, 64, 65, 131}) {
          check_case(kernel, {ta, tb, m, n, 29, 2, 0, 1, 1.0f, 0.0f}, pools[(m + n) % 4], rng);
          check_case(kernel, {ta, tb, m, n, 70, 0, 3, 0, 2.0f, 1.0f}, pools[(m + n + 1) % 4], rng);
        }
      check_case(kernel, {ta, tb, 8, 77, 5000, 0, 0, 0, 1.0f, 0.0f}, &pool2, rng);
      check_case(kernel, {ta, tb, 5, 1100, 129, 0, 0, 0, 1.0f, 0.5f}, &pool1, rng);
      check_case(kernel, {ta, tb, 1100, 7, 128, 0, 0, 0, 1.0f, 0.0f}, &pool4, rng);
      check_case(kernel, {ta, tb, 45, 8, 5000, 0, 0, 0, 1.0f, 1.0f}, &pool2, rng);
      check_case(kernel, {ta, tb, 45, 12, 3000, 0, 0, 0, 1.0f, 0.0f}, &pool4, rng);
    }

  // Determinism: the same problem twice, and with 1, 2 and 4 threads, gives identical bits;
  // a blocked shape and the skinny ones of a rank-8 LoRA layer (and rank 16, odd ranks).
  std::vector<Case> same_bits;
  for (Trans ta : ts)
    for (Trans tb : ts) {
      same_bits.push_back({ta, tb, 131, 97, kernel.kc + 77, 0, 0, 0, 1.0f, 0.5f});
      same_bits.push_back({ta, tb, 515, 8, 131, 0, 0, 0, 0.5f, 0.0f});
      same_bits.push_back({ta, tb, 515, 16, 131, 1, 0, 2, 1.0f, 1.0f});
      same_bits.push_back({ta, tb, 8, 515, 131, 0, 1, 0, 1.0f, 1.0f});
      same_bits.push_back({ta, tb, 5, 203, 67, 0, 0, 0, 1.0f, 0.0f});
      same_bits.push_back({ta, tb, 333, 7, 67, 0, 0, 0, 2.0f, 0.25f});
      // How threads share B (gemm_tasks.h): each thread's own copy of the one panel (at two
      // threads), column tasks over a wide B (at two threads; shared panels at four).
      same_bits.push_back({ta, tb, 4 * kernel.mc + 5, 45, std::min(kernel.kc, 100), 0, 0, 0, 1.0f, 0.0f});
      same_bits.push_back({ta, tb, 20, 3 * kernel.nc + kernel.nr + 5, 33, 0, 0, 0, 1.0f, 1.0f});
    }
  for (const Case& c : same_bits) {
    std::vector<float> first, again;
    for (int round = 0; round < 2; ++round)
      for (ThreadPool* pool : pools) {
        std::mt19937 same(99);
        check_case(kernel, c, pool, same, first.empty() ? &first : &again);
        if (!again.empty() && std::memcmp(first.data(), again.data(), first.size() * 4) != 0) {
          std::printf("FAIL %s %s%s M=%d N=%d K=%d: results differ between runs / thread counts\n",
                      kernel.name, tname(c.ta), tname(c.tb), c.M, c.N, c.K);
          ++g_failures;
        }
        ++g_checks;
      }
  }

  // The wide few-rows tile (16-lane vectors) gives the skinny tile's bits: each element is the
  // same chain of FMAs over the same k blocks, whatever the tile's width; with 1, 2 and 4 threads.
  if (kernel.few_rows16) {
    GemmKernel narrow = kernel;
    narrow.few_rows16 = nullptr;
    const Case few[] = {{Trans::T, Trans::N, 8, 512, 1024, 0, 0, 0, 1.0f, 1.0f},
                        {Trans::T, Trans::N, 8, 1376, 300, 0, 0, 0, 1.0f, 0.0f},
                        {Trans::N, Trans::N, 13, 515, 131, 1, 2, 3, 0.5f, 0.75f},
                        {Trans::T, Trans::N, 16, 97, 67, 0, 0, 0, 1.0f, 0.0f},
                        {Trans::T, Trans::N, 3, 203, 257, 0, 0, 0, 2.0f, 1.0f},
                        {Trans::T, Trans::N, 1376, 8, 1024, 0, 0, 0, 1.0f, 1.0f},
                        {Trans::T, Trans::T, 515, 7, 131, 0, 0, 0, 1.0f, 0.0f},
                        // 38 k blocks of 16, partials for 15 at a time: three rounds
                        {Trans::T, Trans::N, 16, 4100, 600, 0, 0, 0, 1.0f, 1.0f}};
    for (const Case& c : few)
      for (ThreadPool* pool : {pools[0], pools[2], pools[3]}) {
        std::vector<float> wide_out, narrow_out;
        run_both(kernel, narrow, c, pool, wide_out, narrow_out);
        ++g_checks;
        if (std::memcmp(wide_out.data(), narrow_out.data(), wide_out.size() * 4) != 0) {
          std::printf("FAIL %s wide vs narrow few-rows tile %s%s M=%d N=%d K=%d threads=%d: bits differ\n",
                      kernel.name, tname(c.ta), tname(c.tb), c.M, c.N, c.K, pool ? pool->size() : 1);
          ++g_failures;
        }
      }
  }

  // The skinny path against the blocked one (the same kernel without it) on LoRA shapes.
  if (kernel.skinny) {
    GemmKernel blocked = kernel;
    blocked.skinny = nullptr;
    const Case lora[] = {{Trans::N, Trans::T, 256, 8, 128, 0, 0, 0, 1.0f, 0.0f},
                         {Trans::T, Trans::N, 8, 128, 256, 0, 0, 0, 1.0f, 1.0f},
                         {Trans::T, Trans::N, 200, 8, 256, 0, 0, 0, 2.0f, 1.0f},
                         {Trans::N, Trans::N, 256, 8, 200, 0, 0, 0, 2.0f, 0.0f}};
    for (const Case& c : lora) {
      std::vector<float> skinny_out, blocked_out;
      run_both(kernel, blocked, c, &pool2, skinny_out, blocked_out);
      double worst = 0;
      for (size_t i = 0; i < skinny_out.size(); ++i)
        worst = std::max(worst, double(std::fabs(skinny_out[i] - blocked_out[i])));
      ++g_checks;
      if (!(worst <= 1e-4 * c.K)) {
        std::printf("FAIL %s skinny vs blocked %s%s M=%d N=%d K=%d: differ by %g\n", kernel.name,
                    tname(c.ta), tname(c.tb), c.M, c.N, c.K, worst);
        ++g_failures;
      }
    }
  }
}

}  // namespace

int main() {
  const CpuFeatures& f = cpu_features();
  test_kernel(gemm_kernel_generic());
  if (f.avx2 && f.fma) test_kernel(gemm_kernel_avx2());
  else std::printf("skipped avx2 kernel: this CPU lacks AVX2/FMA\n");
  if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) test_kernel(gemm_kernel_avx512());
  else std::printf("skipped avx512 kernel: this CPU lacks AVX-512\n");

  // The public entry point reaches the best kernel.
  std::printf("sgemm dispatches to %s\n", gemm_kernel_best().name);
  std::mt19937 rng(7);
  ThreadPool pool(2);
  const int M = 33, N = 47, K = 29;
  std::vector<float> A = random_matrix(M * K, rng), B = random_matrix(K * N, rng);
  std::vector<float> C(M * N, NAN), R(M * N, NAN);
  sgemm(Trans::N, Trans::N, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N, &pool);
  sgemm_reference(Trans::N, Trans::N, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, R.data(), N);
  for (int i = 0; i < M * N; ++i)
    if (!(std::fabs(C[i] - R[i]) <= 1e-5f)) {
      std::printf("FAIL sgemm entry point at %d: %g vs %g\n", i, C[i], R[i]);
      ++g_failures;
      break;
    }

  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
