// cuBLASLt, loaded at run time, against our tensor-core GEMM (gemm_own) on the same bf16 inputs,
// and the per-shape dispatcher behind gemm() / gemm_out_bf16() (src/cuda/gemm_dispatch.cuh).
//
// For the four Trans layouts and odd shapes (sizes that are not multiples of any tile, padded and
// odd strides), fp32 and bf16 outputs, fp16 inputs too, beta 0 over a C of NaN and beta != 0:
//   - cuBLASLt's heuristic best algorithm (gemm_cublaslt) equals gemm_own within the limits of
//     fp32 sums of exact bf16 products in another order: 1e-4 of the largest value for fp32 C,
//     8e-3 (one bf16 rounding on each side) for bf16 C. A shape cuBLASLt has no algorithm for is
//     reported, not failed (gemm() then keeps our kernel).
//   - gemm() equals gemm_own within the same limits whichever it picked: in particular beta != 0
//     updates C once although the choice was timed on that call; the choice is printed per shape,
//     made once (a second call logs nothing).
// Without a device: exit 77 (skipped). Without cuBLASLt on the GPU machine: the comparisons are
// skipped with a message, and gemm() must then be gemm_own bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/cublaslt_loader.h"
#include "cuda/gemm_dispatch.cuh"
#include "cuda_test_util.cuh"
#include "tuner/dtype.h"

using namespace tuner;
using tuner::cuda_test::DeviceArray;

namespace {

int g_failed = 0;
std::vector<std::string> g_choices;  // lines from the dispatcher

struct Case {
  Trans ta, tb;
  int M, N, K;
  float beta;
  int pad = 0;  // added to every stride
  bool out_bf16 = false;
  cuda::Half16 type = cuda::Half16::BF16;
};

std::vector<uint16_t> half_bits(size_t n, unsigned seed, cuda::Half16 type) {
  const std::vector<float> v = cuda_test::random_vector(n, seed);
  std::vector<uint16_t> bits(n);
  for (size_t i = 0; i < n; ++i) bits[i] = type == cuda::Half16::BF16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
  return bits;
}

// C's M x N block as floats (either output type).
std::vector<float> block(const std::vector<float>& c, int M, int N, int ldc) {
  std::vector<float> out;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) out.push_back(c[(size_t)m * ldc + n]);
  return out;
}

// Runs `fn(C)` on a device copy of the initial C and returns C afterwards, as floats.
template <class Fn>
std::vector<float> run_on_copy(const Case& c, const std::vector<float>& c0, int ldc, Fn fn) {
  std::vector<float> out(c0.size());
  if (c.out_bf16) {
    std::vector<uint16_t> bits(c0.size());
    for (size_t i = 0; i < c0.size(); ++i) bits[i] = f32_to_bf16(c0[i]);
    DeviceArray<uint16_t> dc(bits);
    fn(static_cast<void*>(dc.ptr));
    TUNER_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<uint16_t> got = dc.to_host();
    for (size_t i = 0; i < got.size(); ++i) out[i] = bf16_to_f32(got[i]);
  } else {
    DeviceArray<float> dc(c0);
    fn(static_cast<void*>(dc.ptr));
    TUNER_CUDA_CHECK(cudaDeviceSynchronize());
    out = dc.to_host();
  }
  return block(out, c.M, c.N, ldc);
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

void run_case(const Case& c, unsigned seed, bool have_lt) {
  const int a_rows = c.ta == Trans::N ? c.M : c.K, a_cols = c.ta == Trans::N ? c.K : c.M;
  const int b_rows = c.tb == Trans::N ? c.K : c.N, b_cols = c.tb == Trans::N ? c.N : c.K;
  const int lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  DeviceArray<uint16_t> da(half_bits((size_t)a_rows * lda, seed, c.type)),
      db(half_bits((size_t)b_rows * ldb, seed + 1, c.type));
  std::vector<float> c0 = cuda_test::random_vector((size_t)c.M * ldc, seed + 2);
  if (c.beta == 0.0f) c0.assign(c0.size(), NAN);  // must be written, never read
  const float alpha = 0.75f;
  auto own = [&](void* C) {
    if (c.out_bf16)
      cuda::gemm_own_out_bf16(c.ta, c.tb, c.M, c.N, c.K, alpha, da.ptr, lda, db.ptr, ldb, c.beta,
                              static_cast<uint16_t*>(C), ldc, nullptr, c.type);
    else
      cuda::gemm_own(c.ta, c.tb, c.M, c.N, c.K, alpha, da.ptr, lda, db.ptr, ldb, c.beta, static_cast<float*>(C), ldc,
                     nullptr, c.type);
  };
  auto dispatched = [&](void* C) {
    if (c.out_bf16)
      cuda::gemm_out_bf16(c.ta, c.tb, c.M, c.N, c.K, alpha, da.ptr, lda, db.ptr, ldb, c.beta, static_cast<uint16_t*>(C),
                          ldc, nullptr, c.type);
    else
      cuda::gemm(c.ta, c.tb, c.M, c.N, c.K, alpha, da.ptr, lda, db.ptr, ldb, c.beta, static_cast<float*>(C), ldc,
                 nullptr, c.type);
  };
  char name[128];
  std::snprintf(name, sizeof name, "%s %s%s M%d N%d K%d beta %g pad %d%s", c.type == cuda::Half16::BF16 ? "bf16" : "fp16",
                c.ta == Trans::N ? "N" : "T", c.tb == Trans::N ? "N" : "T", c.M, c.N, c.K, c.beta, c.pad,
                c.out_bf16 ? " ->bf16" : "");
  const double tol = c.out_bf16 ? 8e-3 : 1e-4;
  const std::vector<float> want = run_on_copy(c, c0, ldc, own);

  const size_t logged = g_choices.size();
  const std::vector<float> got = run_on_copy(c, c0, ldc, dispatched);
  if (!have_lt) {
    // No cuBLASLt: gemm() is our kernel, bit for bit, and decides nothing.
    const bool same = got.size() == want.size() &&
                      std::equal(got.begin(), got.end(), want.begin(), [](float x, float y) {
                        return x == y || (std::isnan(x) && std::isnan(y));
                      });
    std::printf("%-40s gemm() is gemm_own bit for bit: %s\n", name, same ? "ok" : "FAIL");
    if (!same || g_choices.size() != logged) g_failed++;
    return;
  }
  std::string gemm_name = std::string("gemm() ") + name;
  if (!cuda_test::close_enough(gemm_name.c_str(), got, want, tol) || !all_finite(got)) g_failed++;
  if (g_choices.size() != logged + 1) {
    std::printf("  expected one choice line for a new shape, got %zu\n", g_choices.size() - logged);
    g_failed++;
  } else {
    std::printf("  %s\n", g_choices.back().c_str());
  }
  (void)run_on_copy(c, c0, ldc, dispatched);  // decided: no second line
  if (g_choices.size() != logged + 1) {
    std::printf("  the second call of a decided shape logged again\n");
    g_failed++;
  }

  bool ran = false;
  const std::vector<float> lt = run_on_copy(c, c0, ldc, [&](void* C) {
    ran = cuda::gemm_cublaslt(c.ta, c.tb, c.M, c.N, c.K, alpha, da.ptr, lda, db.ptr, ldb, c.beta, C, ldc, c.out_bf16,
                              nullptr, c.type);
  });
  if (!ran) {
    std::printf("%-48s cuBLASLt has no algorithm: gemm() keeps ours\n", (std::string("cuBLASLt ") + name).c_str());
    return;
  }
  std::string lt_name = std::string("cuBLASLt ") + name;
  if (!cuda_test::close_enough(lt_name.c_str(), lt, want, tol) || !all_finite(lt)) g_failed++;
}

}  // namespace

int main() {
  cuda_test::require_device();
  std::printf("%s\n", cublaslt_status());
  const bool have_lt = cublaslt::cublaslt().loaded;
  if (!have_lt) std::printf("cuBLASLt not found on this machine: its comparisons are skipped; gemm() must be gemm_own\n");
  cuda::set_gemm_choice_listener([](const std::string& line) { g_choices.push_back(line); });
  unsigned seed = 11;
  const Trans layouts[4][2] = {{Trans::N, Trans::T}, {Trans::N, Trans::N}, {Trans::T, Trans::N}, {Trans::T, Trans::T}};
  for (const auto& l : layouts) {
    run_case(Case{l[0], l[1], 129, 257, 193, 0.0f}, seed++, have_lt);
    run_case(Case{l[0], l[1], 1000, 520, 776, 1.0f}, seed++, have_lt);            // beta != 0: timed on a copy of C
    run_case(Case{l[0], l[1], 300, 130, 96, 0.5f, 8}, seed++, have_lt);           // padded strides
    run_case(Case{l[0], l[1], 65, 33, 47, 0.0f, 1}, seed++, have_lt);             // odd strides: 2-byte aligned rows
    run_case(Case{l[0], l[1], 250, 130, 300, 0.0f, 0, true}, seed++, have_lt);    // bf16 output
    run_case(Case{l[0], l[1], 250, 130, 300, 1.0f, 2, true}, seed++, have_lt);    // bf16 output, beta != 0
    run_case(Case{l[0], l[1], 300, 257, 129, 1.0f, 0, false, cuda::Half16::F16}, seed++, have_lt);  // fp16 inputs
    run_case(Case{l[0], l[1], 2048, 2048, 1024, 0.0f}, seed++, have_lt);          // a large product
  }
  std::printf("%s\n", g_failed ? "FAILED" : "cuBLASLt and the dispatcher agree with our kernel on every case");
  return g_failed ? 1 : 0;
}
