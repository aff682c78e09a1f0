// gemm_bf16 on every path this CPU can run (the vdpbf16ps kernel where AVX512_BF16 exists, and
// always the widening fallback on each sgemm micro-kernel: generic, AVX2, AVX-512), against
//  - gemm_bf16_reference (exact products summed in double): f32 summation error only;
//  - sgemm_reference on the f32 values before rounding (the f32-operand entry points, which
//    round while packing, must give the bf16 entry points' bits): within bf16's input rounding (2^-8
//    relative per operand, bounded by sum |a b|), the tolerance bf16 training lives with;
// for the three products of a linear layer (forward X W^T, dX = dY W, dW = dY^T X) and the fourth
// combination, sizes around tile and block edges (odd K, K past the 512 block), strided rows,
// alpha / beta (beta = 0 over NaN), and identical bits for 1, 2 and 3 threads. round_to_bf16
// must give f32_to_bf16's bits (ties, subnormals, infinities, NaN) on every path; the vdpbf16ps
// packers give them too, but subnormal inputs packed as zero (vcvtne2ps2bf16), which changes no
// product: vdpbf16ps reads subnormals as zero (checked on products of subnormal operands).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "kernels/cpu/gemm_bf16_internal.h"
#include "kernels/cpu/gemm_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/dtype.h"
#include "tuner/gemm_bf16.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

struct Path {
  std::string name;
  const GemmBf16Kernel* native;
  const GemmKernel* f32;
};

std::vector<Path> paths() {
  const CpuFeatures& f = cpu_features();
  std::vector<Path> p{{"f32-generic", nullptr, &gemm_kernel_generic()}};
  if (f.avx2 && f.fma) p.push_back({"f32-avx2", nullptr, &gemm_kernel_avx2()});
  if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) p.push_back({"f32-avx512", nullptr, &gemm_kernel_avx512()});
  if (f.avx512_bf16 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl)
    p.push_back({"avx512bf16", &gemm_bf16_kernel_avx512bf16(), &gemm_kernel_best()});
  return p;
}

struct Case {
  const char* what;
  Trans ta, tb;
  int M, N, K, pad;
  float alpha, beta;
};

void check(const Path& path, const Case& c, std::mt19937& rng, ThreadPool* pools[3]) {
  const int ar = c.ta == Trans::N ? c.M : c.K, ac = c.ta == Trans::N ? c.K : c.M;
  const int br = c.tb == Trans::N ? c.K : c.N, bc = c.tb == Trans::N ? c.N : c.K;
  const int lda = ac + c.pad, ldb = bc + c.pad, ldc = c.N + c.pad;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> Af(size_t(ar) * lda), Bf(size_t(br) * ldb);
  for (auto& x : Af) x = dist(rng);
  for (auto& x : Bf) x = dist(rng);
  std::vector<uint16_t> A(Af.size()), B(Bf.size());
  round_to_bf16(A.data(), Af.data(), (int64_t)A.size(), nullptr);
  round_to_bf16(B.data(), Bf.data(), (int64_t)B.size(), nullptr);
  std::vector<float> C0(size_t(c.M) * ldc);
  for (auto& x : C0) x = c.beta == 0.0f ? NAN : dist(rng);
  for (int i = 0; i < c.M; ++i)
    for (int j = c.N; j < ldc; ++j) C0[size_t(i) * ldc + j] = 777.0f;  // padding must stay

  std::vector<float> exact = C0, f32ref = C0;
  gemm_bf16_reference(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, exact.data(), ldc);
  sgemm_reference(c.ta, c.tb, c.M, c.N, c.K, c.alpha, Af.data(), lda, Bf.data(), ldb, c.beta, f32ref.data(), ldc);
  // sum_k |a b| per element, for the bounds.
  std::vector<float> Aabs(Af.size()), Babs(Bf.size()), mag(C0.size(), 0.0f);
  for (size_t i = 0; i < Af.size(); ++i) Aabs[i] = std::fabs(Af[i]);
  for (size_t i = 0; i < Bf.size(); ++i) Babs[i] = std::fabs(Bf[i]);
  sgemm_reference(c.ta, c.tb, c.M, c.N, c.K, std::fabs(c.alpha), Aabs.data(), lda, Babs.data(), ldb, 0.0f, mag.data(), ldc);

  std::vector<float> first;
  for (int t = 0; t < 3; ++t) {
    std::vector<float> C = C0;
    gemm_bf16_with(path.native, *path.f32, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
                   C.data(), ldc, pools[t]);
    int bad = 0;
    for (int i = 0; i < c.M && bad < 3; ++i)
      for (int j = 0; j < ldc && bad < 3; ++j) {
        const size_t x = size_t(i) * ldc + j;
        if (j >= c.N) {
          if (C[x] != 777.0f) ++bad, std::fprintf(stderr, "%s %s: padding (%d,%d) changed\n", path.name.c_str(), c.what, i, j);
          continue;
        }
        const double cmag = mag[x] + (c.beta == 0.0f ? 0.0 : std::fabs(c.beta * C0[x]));
        const double tol_exact = 2.0 * (c.K + 2) * 0x1p-24 * cmag + 1e-30;
        const double tol_bf16 = 2.0 * 0x1p-8 * cmag + tol_exact;
        if (!(std::fabs(C[x] - exact[x]) <= tol_exact) || !(std::fabs(C[x] - f32ref[x]) <= tol_bf16)) {
          ++bad;
          std::fprintf(stderr, "%s %s M=%d N=%d K=%d threads=%d: C(%d,%d) = %.9g, exact %.9g (tol %.3g), f32 %.9g (tol %.3g)\n",
                       path.name.c_str(), c.what, c.M, c.N, c.K, t + 1, i, j, C[x], exact[x], tol_exact, f32ref[x], tol_bf16);
        }
      }
    g_failures += bad;
    if (t == 0) {
      // f32 operands rounded while packing: the same bits as rounding them first.
      std::vector<float> C1 = C0, C2 = C0, C3 = C0;
      gemm_bf16_with(path.native, *path.f32, c.ta, c.tb, c.M, c.N, c.K, c.alpha, Af.data(), lda, B.data(), ldb, c.beta,
                     C1.data(), ldc, pools[t]);
      gemm_bf16_with(path.native, *path.f32, c.ta, c.tb, c.M, c.N, c.K, c.alpha, Af.data(), lda, Bf.data(), ldb, c.beta,
                     C2.data(), ldc, pools[t]);
      gemm_bf16_with(path.native, *path.f32, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, Bf.data(), ldb, c.beta,
                     C3.data(), ldc, pools[t]);
      if (std::memcmp(C1.data(), C.data(), C.size() * sizeof(float)) || std::memcmp(C2.data(), C.data(), C.size() * sizeof(float)) ||
          std::memcmp(C3.data(), C.data(), C.size() * sizeof(float))) {
        std::fprintf(stderr, "%s %s: f32 operands rounded in packing differ from bf16 operands\n", path.name.c_str(), c.what);
        ++g_failures;
      }
    }
    if (t == 0) first = C;
    else if (std::memcmp(first.data(), C.data(), C.size() * sizeof(float)) != 0) {
      std::fprintf(stderr, "%s %s: %d threads gave other bits than 1\n", path.name.c_str(), c.what, t + 1);
      ++g_failures;
    }
  }
}

void check_rounding() {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 1.00390625f /* tie, even stays */, 1.01171875f /* tie, rounds up */,
                          bits_to_f32(0x3f80ffff), bits_to_f32(0x00000001) /* subnormal */, bits_to_f32(0x807fffff),
                          INFINITY, -INFINITY, NAN, bits_to_f32(0x7f800001) /* signalling NaN */, bits_to_f32(0x7f7fffff),
                          3.14159265f, -2.7182818f, 65504.0f, 1e-40f};
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 1000; ++i) v.push_back(bits_to_f32(bits(rng)));
  for (int n : {(int)v.size(), 15, 17, 33}) {
    std::vector<uint16_t> got(n), generic(n);
    round_to_bf16(got.data(), v.data(), n, nullptr);
    round_to_bf16_generic(generic.data(), v.data(), n);
    for (int i = 0; i < n; ++i) {
      const uint16_t want = f32_to_bf16(v[i]);
      if (got[i] != want || generic[i] != want) {
        std::fprintf(stderr, "round_to_bf16(%08x) = %04x / %04x, want %04x\n", f32_to_bits(v[i]), got[i], generic[i], want);
        ++g_failures;
      }
    }
    for (int i = 0; i < n; ++i) EXPECT(!std::isnan(v[i]) || std::isnan(bf16_to_f32(got[i])));
  }
  // The packers' pair rounding of k across rows: row 2q in the low half, row 2q + 1 in the high
  // half (zero past an odd kc), lines past `lines` zero, nothing written past W lines.
  // f32 values as f32_to_bf16 rounds them, subnormal inputs as a signed zero.
  const auto packed = [](float x) -> uint16_t {
    const uint32_t b = f32_to_bits(x);
    return (b & 0x7f800000u) == 0 ? uint16_t(b >> 16 & 0x8000u) : f32_to_bf16(x);
  };
  const CpuFeatures& f = cpu_features();
  if (f.avx512_bf16 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) {
    const RoundPairsKernel pairs = gemm_bf16_kernel_avx512bf16().round_pairs;
    const int ld = (int)v.size() / 3;  // three rows of k: pairs (0, 1) and (2, zero) for kc 3
    for (int W : {14, 32, ld}) {
      const int lines = W == 32 ? 27 : W;
      std::vector<uint32_t> got(2 * W + 1, 0xdeadbeefu);
      pairs(got.data(), W, v.data(), ld, lines, 3);
      for (int q = 0; q < 2; ++q)
        for (int x = 0; x < W; ++x) {
          const uint32_t lo = packed(v[2 * q * ld + x]), hi = q == 0 ? packed(v[ld + x]) : 0;
          const uint32_t want = x < lines ? lo | hi << 16 : 0;
          if (got[q * W + x] != want) {
            std::fprintf(stderr, "round_pairs W=%d pair %d line %d = %08x, want %08x\n", W, q, x, got[q * W + x], want);
            ++g_failures;
          }
        }
      EXPECT(got[2 * W] == 0xdeadbeefu);
    }
  }
  // The packers of k-contiguous lines (f32 rounded, bf16 as is) and of bf16 rows of k: a sliver
  // of 14 or 32 lines with fewer lines holding data, k running past a 16-pair block, odd kc.
  if (f.avx512_bf16 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) {
    const GemmBf16Kernel& kern = gemm_bf16_kernel_avx512bf16();
    const int ld = 41;  // 32 lines (or rows of k) of it, from the values above over and over
    std::vector<float> x32(size_t(32) * ld);
    for (size_t i = 0; i < x32.size(); ++i) x32[i] = v[i % v.size()];
    std::vector<uint16_t> v16(x32.size());
    for (size_t i = 0; i < x32.size(); ++i) v16[i] = f32_to_bf16(x32[i]);
    for (int W : {14, 32})
      for (int lines : {W, W - 3, 5})
        for (int kc : {37, 32, 23, 1}) {
          const int kp = (kc + 1) / 2;
          const auto word = [&](auto at) {  // at(x, k): bf16 bits of op(X)(x, k)
            std::vector<uint32_t> want(size_t(kp) * W, 0);
            for (int q = 0; q < kp; ++q)
              for (int x = 0; x < lines; ++x)
                want[size_t(q) * W + x] = uint32_t(at(x, 2 * q)) | (2 * q + 1 < kc ? uint32_t(at(x, 2 * q + 1)) << 16 : 0u);
            return want;
          };
          const std::vector<uint32_t> kmajor = word([&](int x, int k) { return v16[size_t(x) * ld + k]; });
          const std::vector<uint32_t> kmajor_f32 = word([&](int x, int k) { return packed(x32[size_t(x) * ld + k]); });
          const std::vector<uint32_t> rows = word([&](int x, int k) { return v16[size_t(k) * ld + x]; });
          const auto expect = [&](const char* what, const std::vector<uint32_t>& want, auto pack) {
            std::vector<uint32_t> got(want.size() + 1, 0xdeadbeefu);
            pack(got.data());
            int bad = 0;
            for (size_t i = 0; i < want.size(); ++i) bad += got[i] != want[i];
            if (bad || got.back() != 0xdeadbeefu) {
              std::fprintf(stderr, "%s W=%d lines=%d kc=%d: %d words differ%s\n", what, W, lines, kc, bad,
                           got.back() != 0xdeadbeefu ? ", wrote past the sliver" : "");
              ++g_failures;
            }
          };
          expect("pack_kmajor_f32", kmajor_f32, [&](uint32_t* d) { kern.pack_kmajor_f32(d, W, x32.data(), ld, lines, kc); });
          expect("pack_kmajor_bf16", kmajor, [&](uint32_t* d) { kern.pack_kmajor_bf16(d, W, v16.data(), ld, lines, kc); });
          expect("pair_rows_bf16", rows, [&](uint32_t* d) { kern.pair_rows_bf16(d, W, v16.data(), ld, lines, kc); });
        }
  }
  // In place, rows of a strided matrix longer than the rounding's chunk: row r's bf16 values at
  // r * 2 * lds, the same bits as rounding each value, on two threads.
  {
    const int rows = 5, cols = 2500, lds = 2503;
    std::vector<float> m(size_t(rows) * lds);
    for (size_t i = 0; i < m.size(); ++i) m[i] = v[i % v.size()] * 1.5f;
    const std::vector<float> orig = m;
    ThreadPool two(2);
    const uint16_t* d = round_rows_to_bf16_in_place(m.data(), lds, rows, cols, &two);
    EXPECT(static_cast<const void*>(d) == static_cast<const void*>(m.data()));
    int bad = 0;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) bad += d[size_t(r) * 2 * lds + c] != f32_to_bf16(orig[size_t(r) * lds + c]);
    if (bad) std::fprintf(stderr, "round_rows_to_bf16_in_place: %d values differ\n", bad), ++g_failures;
  }
  // Strided rows: only the first cols of each row.
  std::vector<float> m(3 * 21, 1.5f);
  for (int r = 0; r < 3; ++r) m[r * 21 + 20] = NAN;
  std::vector<uint16_t> d(3 * 20);
  round_rows_to_bf16(d.data(), m.data(), 21, 3, 20, nullptr);
  for (uint16_t x : d) EXPECT(x == f32_to_bf16(1.5f));
}

}  // namespace

// Subnormal operands on the vdpbf16ps path: the packers read f32 subnormals as zero and the
// kernel reads bf16 subnormals as zero, so a product of f32 operands holding subnormals (which
// f32_to_bf16 keeps subnormal, below 2^-126 - 2^-134) gives the bits of the same product on the
// operands rounded first, and of the product with those values zeroed: every layout, with B
// large enough (2^100) that a subnormal's product would show in C.
void check_subnormal_products() {
  const CpuFeatures& f = cpu_features();
  if (!(f.avx512_bf16 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl)) return;
  const GemmBf16Kernel* native = &gemm_bf16_kernel_avx512bf16();
  std::mt19937 rng(9);
  std::uniform_int_distribution<uint32_t> mant(1, 0x007effffu);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int M = 19, N = 37, K = 45;
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T}) {
      // Even rows of op(A) all subnormal (their rows of C must come out zero), odd rows a mix.
      std::vector<float> A(size_t(M) * K), B(size_t(K) * N), Azero(A.size());
      for (int i = 0; i < M; ++i)
        for (int k = 0; k < K; ++k) {
          const size_t at = ta == Trans::N ? size_t(i) * K + k : size_t(k) * M + i;
          const bool sub = i % 2 == 0 || k % 3 != 0;
          A[at] = sub ? bits_to_f32(mant(rng) | (k % 2 ? 0x80000000u : 0u)) : normal(rng);
          Azero[at] = sub ? 0.0f : A[at];
        }
      for (auto& x : B) x = 0x1p100f * (1.0f + std::fabs(normal(rng)));
      std::vector<uint16_t> A16(A.size());
      for (size_t i = 0; i < A.size(); ++i) A16[i] = f32_to_bf16(A[i]);
      const int lda = ta == Trans::N ? K : M, ldb = tb == Trans::N ? N : K;
      std::vector<float> C(size_t(M) * N), C16(C.size()), Cz(C.size());
      gemm_bf16_with(native, gemm_kernel_generic(), ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N, nullptr);
      gemm_bf16_with(native, gemm_kernel_generic(), ta, tb, M, N, K, 1.0f, A16.data(), lda, B.data(), ldb, 0.0f, C16.data(), N,
                     nullptr);
      gemm_bf16_with(native, gemm_kernel_generic(), ta, tb, M, N, K, 1.0f, Azero.data(), lda, B.data(), ldb, 0.0f, Cz.data(), N,
                     nullptr);
      if (std::memcmp(C.data(), C16.data(), C.size() * sizeof(float)) || std::memcmp(C.data(), Cz.data(), C.size() * sizeof(float))) {
        std::fprintf(stderr, "subnormal operands (ta %d, tb %d): f32, rounded-first and zeroed products differ\n", (int)ta, (int)tb);
        ++g_failures;
      }
    }
}

namespace {

// Element (row, col) of op(X) for X stored row-major with stride ld.
float op_at(const std::vector<float>& X, int ld, Trans t, int row, int col) {
  return t == Trans::N ? X[size_t(row) * ld + col] : X[size_t(col) * ld + row];
}

// gemm_bf16 with a tail (K2 more k from a second pair of f32 operands): the product of the
// operands concatenated along k, within f32 summation error of the exact one; the same bits as
// gemm_bf16 on the concatenated operands when they fit one k block (the same k order), and for
// 1, 2 and 3 threads; the padding of C untouched.
struct TailCase {
  const char* what;
  Trans ta, tb, ta2, tb2;
  int M, N, K, K2;
  float beta;
};

void check_tail(const Path& path, const TailCase& c, std::mt19937& rng, ThreadPool* pools[3]) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto make = [&](Trans t, int rows, int cols, int pad, int& ld) {  // op(X) is rows x cols
    ld = (t == Trans::N ? cols : rows) + pad;
    std::vector<float> X(size_t(t == Trans::N ? rows : cols) * ld);
    for (auto& x : X) x = dist(rng);
    return X;
  };
  int lda, ldb, lda2, ldb2;
  const std::vector<float> A = make(c.ta, c.M, c.K, 3, lda), B = make(c.tb, c.K, c.N, 1, ldb);
  const std::vector<float> A2 = make(c.ta2, c.M, c.K2, 2, lda2), B2 = make(c.tb2, c.K2, c.N, 0, ldb2);
  std::vector<uint16_t> B16(B.size());
  round_to_bf16(B16.data(), B.data(), (int64_t)B.size(), nullptr);
  // The concatenated operands, op(A) | op(A2) and op(B) over op(B2), stored untransposed.
  const int KT = c.K + c.K2, ldc = c.N + 2;
  std::vector<float> Acat(size_t(c.M) * KT), Bcat(size_t(KT) * c.N);
  for (int i = 0; i < c.M; ++i)
    for (int k = 0; k < KT; ++k)
      Acat[size_t(i) * KT + k] = k < c.K ? op_at(A, lda, c.ta, i, k) : op_at(A2, lda2, c.ta2, i, k - c.K);
  for (int k = 0; k < KT; ++k)
    for (int j = 0; j < c.N; ++j)
      Bcat[size_t(k) * c.N + j] = k < c.K ? bits_to_f32(uint32_t(B16[c.tb == Trans::N ? size_t(k) * ldb + j : size_t(j) * ldb + k]) << 16)
                                          : op_at(B2, ldb2, c.tb2, k - c.K, j);
  std::vector<uint16_t> Acat16(Acat.size()), Bcat16(Bcat.size());
  round_to_bf16(Acat16.data(), Acat.data(), (int64_t)Acat.size(), nullptr);
  round_to_bf16(Bcat16.data(), Bcat.data(), (int64_t)Bcat.size(), nullptr);
  std::vector<float> C0(size_t(c.M) * ldc);
  for (auto& x : C0) x = c.beta == 0.0f ? NAN : dist(rng);
  for (int i = 0; i < c.M; ++i) C0[size_t(i) * ldc + c.N] = C0[size_t(i) * ldc + c.N + 1] = 777.0f;
  std::vector<float> exact = C0, concat = C0;
  gemm_bf16_reference(Trans::N, Trans::N, c.M, c.N, KT, 1.0f, Acat16.data(), KT, Bcat16.data(), c.N, c.beta, exact.data(), ldc);
  gemm_bf16_with(path.native, *path.f32, Trans::N, Trans::N, c.M, c.N, KT, 1.0f, Acat16.data(), KT, Bcat16.data(), c.N,
                 c.beta, concat.data(), ldc, nullptr);
  const Bf16KTail tail{c.K2, c.ta2, A2.data(), lda2, c.tb2, B2.data(), ldb2};
  std::vector<float> first;
  for (int t = 0; t < 3; ++t) {
    std::vector<float> C = C0;
    gemm_bf16_with(path.native, *path.f32, c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B16.data(), ldb, tail, c.beta,
                   C.data(), ldc, pools[t]);
    int bad = 0;
    for (int i = 0; i < c.M && bad < 3; ++i)
      for (int j = 0; j < ldc && bad < 3; ++j) {
        const size_t x = size_t(i) * ldc + j;
        const double tol = 2.0 * (KT + 2) * 0x1p-24 * (double(KT) + (c.beta == 0.0f ? 0.0 : 1.0)) + 1e-30;
        if (j >= c.N ? C[x] != 777.0f : !(std::fabs(C[x] - exact[x]) <= tol)) {
          ++bad;
          std::fprintf(stderr, "%s tail %s threads=%d: C(%d,%d) = %.9g, exact %.9g\n", path.name.c_str(), c.what, t + 1, i, j,
                       C[x], exact[x]);
        }
      }
    g_failures += bad;
    if (t == 0) first = C;
    else if (std::memcmp(first.data(), C.data(), C.size() * sizeof(float)) != 0) {
      std::fprintf(stderr, "%s tail %s: %d threads gave other bits than 1\n", path.name.c_str(), c.what, t + 1);
      ++g_failures;
    }
  }
  const int kc = path.native ? path.native->kc : path.f32->kc;
  if (KT <= kc && std::memcmp(first.data(), concat.data(), first.size() * sizeof(float)) != 0) {
    std::fprintf(stderr, "%s tail %s: not the bits of the concatenated product\n", path.name.c_str(), c.what);
    ++g_failures;
  }
}

}  // namespace

int main() {
  ThreadPool p2(2), p3(3);
  ThreadPool* pools[3] = {nullptr, &p2, &p3};
  std::mt19937 rng(42);
  const Trans N = Trans::N, T = Trans::T;
  const TailCase tail_cases[] = {
      // LoRA's forward y = x W^T + (s t) B^T: K = in (one k block, two blocks, a whole multiple
      // of the block), r = 8, 1 and an odd 7.
      {"forward, r 8", N, T, N, T, 64, 96, 128, 8, 0.0f},
      {"forward, two k blocks", N, T, N, T, 29, 70, 1376, 8, 1.0f},
      {"forward, K a multiple of the k block", N, T, N, T, 30, 33, 1024, 8, 0.0f},
      {"forward, odd r", N, T, N, T, 45, 50, 98, 7, 0.0f},
      {"forward, r 1", N, T, N, T, 17, 40, 64, 1, 1.0f},
      // Conv1D's forward (W stored [in, out]) and backward dx = dy W + dt A.
      {"forward, W stored [in, out]", N, N, N, T, 33, 65, 100, 8, 0.0f},
      {"dx = dy W + dt A", N, N, N, N, 200, 40, 64, 8, 0.0f},
      {"dx += dy W + dt A, wide", N, N, N, N, 20, 300, 40, 16, 1.0f},
      {"tail only (K = 0)", N, T, N, N, 9, 12, 0, 5, 0.5f},
  };
  const Case cases[] = {
      {"forward X W^T", N, T, 64, 96, 128, 0, 1.0f, 0.0f},
      {"forward X W^T, K past a block, odd", N, T, 29, 70, 1031, 3, 1.0f, 1.0f},
      {"dX = dY W", N, N, 45, 130, 99, 0, 1.0f, 0.0f},
      {"dX += dY W", N, N, 15, 33, 513, 2, 1.0f, 1.0f},
      {"dW += dY^T X", T, N, 47, 65, 300, 1, 1.0f, 1.0f},
      {"dW = dY^T X, odd K", T, N, 14, 32, 7, 0, 1.0f, 0.0f},
      {"A^T B^T", T, T, 31, 17, 129, 5, -0.5f, 0.25f},
      {"1 x 1 x 1", N, T, 1, 1, 1, 0, 2.0f, 0.0f},
      {"single row", N, T, 1, 200, 64, 0, 1.0f, 0.0f},
      {"single column", T, N, 90, 1, 33, 0, 1.0f, 0.5f},
      {"many rows (threads split rows)", N, T, 200, 40, 64, 0, 1.0f, 0.0f},
      {"wide (threads split columns)", N, N, 20, 300, 40, 0, 1.0f, 0.0f},
      // How threads share B (gemm_tasks.h): rows enough for each thread's own copy of the panel
      // at two threads (and, on AVX-512 sgemm's blocks, not at three); B wide enough for column tasks at
      // two threads and shared panels at three. Every way gives the one-thread bits.
      {"own B panel per thread", N, T, 1200, 70, 130, 0, 1.0f, 0.0f},
      {"column tasks over a wide B", N, T, 20, 3 * 4096 + 45, 40, 0, 1.0f, 1.0f},
  };
  int runs = 0;
  for (const Path& path : paths()) {
    for (const Case& c : cases) check(path, c, rng, pools), ++runs;
    for (const TailCase& c : tail_cases) check_tail(path, c, rng, pools), ++runs;
    std::printf("%s: %zu cases, %zu with a tail\n", path.name.c_str(), sizeof(cases) / sizeof(cases[0]),
                sizeof(tail_cases) / sizeof(tail_cases[0]));
  }
  // K = 0 scales C; alpha = 0 likewise; M or N = 0 touches nothing.
  std::vector<float> C = {1.0f, 2.0f};
  gemm_bf16(Trans::N, Trans::N, 1, 2, 0, 1.0f, (const uint16_t*)nullptr, 1, (const uint16_t*)nullptr, 2, 0.5f, C.data(), 2, nullptr);
  EXPECT(C[0] == 0.5f && C[1] == 1.0f);
  EXPECT_ERROR([] { float c = 0; uint16_t a = 0; gemm_bf16(Trans::N, Trans::N, 1, 1, 2, 1.0f, &a, 1, &a, 1, 0.0f, &c, 1, nullptr); },
               "internal", "lda");
  check_rounding();
  check_subnormal_products();
  std::printf("gemm_bf16 runs %s here; %d path x case checks\n", gemm_bf16_kernel_name(), runs);
  return finish("test_gemm_bf16");
}
