// The CUDA tensor-core GEMM (src/cuda/gemm.cuh) against the CPU engine's sgemm on the same
// inputs: random values in [-1, 1) rounded to bf16 (or fp16), given to both sides, so the only
// difference is the order of fp32 summation.
//
// Limits (largest |GPU - CPU| over the largest |CPU| value):
//   fp32 output: 2e-5 (fp32 accumulation over K <= 4095 in different orders: observed ~1e-6);
//   bf16 output: 4e-3 (one rounding to bf16, half an ulp = 2^-9 of a value, plus the above).
// Cases: the four Trans layouts (forward X W^T, dX = dY W, dW = dY^T X, and A^T B^T), sizes 1, 7,
// 129, 4095 in each position, K = 0, LoRA ranks (8, 16, 64 as M, N or K), a shape large enough for
// the 128x128 tiles, strides that are not multiples of 8 (the element-wise loader) and padded
// ones, alpha/beta (beta = 0 over a C full of NaN must not read it), fp32 and bf16 outputs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/gemm.cuh"
#include "cuda_test_util.cuh"
#include "tuner/dtype.h"
#include "tuner/gemm.h"
#include "tuner/threadpool.h"

using namespace tuner;
using tuner::cuda_test::DeviceArray;

namespace {

int g_failed = 0;
ThreadPool* g_pool = nullptr;

// Rounds to the 16-bit type; returns the bits and overwrites v with the value they stand for.
std::vector<uint16_t> round16(std::vector<float>& v, cuda::Half16 type) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    bits[i] = type == cuda::Half16::BF16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
    v[i] = type == cuda::Half16::BF16 ? bf16_to_f32(bits[i]) : f16_to_f32(bits[i]);
  }
  return bits;
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

struct Case {
  Trans ta, tb;
  int M, N, K;
  float alpha, beta;
  int pad = 0;  // added to every stride (odd: the element-wise loader)
  bool out_bf16 = false;
  cuda::Half16 type = cuda::Half16::BF16;
};

void run_case(const Case& c, unsigned seed) {
  const int a_rows = c.ta == Trans::N ? c.M : c.K, a_cols = c.ta == Trans::N ? c.K : c.M;
  const int b_rows = c.tb == Trans::N ? c.K : c.N, b_cols = c.tb == Trans::N ? c.N : c.K;
  const int lda = std::max(a_cols, 1) + c.pad, ldb = std::max(b_cols, 1) + c.pad, ldc = std::max(c.N, 1) + c.pad;
  // At least one element each, so that an empty operand (M or K = 0) still has a device buffer.
  std::vector<float> a = cuda_test::random_vector(std::max<size_t>((size_t)a_rows * lda, 1), seed);
  std::vector<float> b = cuda_test::random_vector(std::max<size_t>((size_t)b_rows * ldb, 1), seed + 1);
  std::vector<float> cin = cuda_test::random_vector((size_t)std::max(c.M, 1) * ldc, seed + 2);
  const std::vector<uint16_t> a16 = round16(a, c.type), b16 = round16(b, c.type);
  if (c.beta == 0.0f) std::fill(cin.begin(), cin.end(), NAN);  // must be written, never read

  std::vector<float> want = cin;
  std::vector<uint16_t> cin16;
  if (c.out_bf16) cin16 = round16(want, cuda::Half16::BF16);
  sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, a.data(), lda, b.data(), ldb, c.beta, want.data(), ldc, g_pool);

  DeviceArray<uint16_t> da(a16), db(b16);
  std::vector<float> got;
  if (c.out_bf16) {
    DeviceArray<uint16_t> dc(cin16);
    cuda::gemm_out_bf16(c.ta, c.tb, c.M, c.N, c.K, c.alpha, da.ptr, lda, db.ptr, ldb, c.beta, dc.ptr, ldc, nullptr, c.type);
    TUNER_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<uint16_t> out = dc.to_host();
    got.resize(out.size());
    for (size_t i = 0; i < out.size(); ++i) got[i] = bf16_to_f32(out[i]);
  } else {
    DeviceArray<float> dc(cin);
    cuda::gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, da.ptr, lda, db.ptr, ldb, c.beta, dc.ptr, ldc, nullptr, c.type);
    TUNER_CUDA_CHECK(cudaDeviceSynchronize());
    got = dc.to_host();
  }
  // Only the M x N block is compared (padding columns are never written; with beta = 0 they stay NaN).
  std::vector<float> g, w;
  for (int m = 0; m < c.M; ++m)
    for (int n = 0; n < c.N; ++n) {
      g.push_back(got[(size_t)m * ldc + n]);
      w.push_back(want[(size_t)m * ldc + n]);
    }
  char name[160];
  std::snprintf(name, sizeof name, "%s %s%s M%d N%d K%d a%g b%g pad%d%s", c.type == cuda::Half16::BF16 ? "bf16" : "fp16",
                c.ta == Trans::N ? "N" : "T", c.tb == Trans::N ? "N" : "T", c.M, c.N, c.K, c.alpha, c.beta, c.pad,
                c.out_bf16 ? " ->bf16" : "");
  const bool finite = all_finite(g);
  if (!finite) std::printf("%s: non-finite output (C read with beta = 0, or an unwritten element)\n", name);
  if (!cuda_test::close_enough(name, g, w, c.out_bf16 ? 4e-3 : 2e-5) || !finite) g_failed++;
}

}  // namespace

int main() {
  cuda_test::require_device();
  ThreadPool pool(0);
  g_pool = &pool;
  unsigned seed = 1;
  const Trans layouts[4][2] = {{Trans::N, Trans::T}, {Trans::N, Trans::N}, {Trans::T, Trans::N}, {Trans::T, Trans::T}};
  const int shapes[][3] = {
      {1, 1, 1},      {7, 129, 4095}, {129, 7, 33},     {4095, 65, 7},   {1, 4095, 129},  {129, 4095, 1},
      {33, 17, 0},    {0, 5, 9},      {8, 2048, 512},   {2048, 8, 512},  {16, 512, 2048}, {2048, 512, 64},
      {64, 2048, 16}, {200, 300, 40}, {1536, 1536, 256},
  };
  for (const auto& l : layouts)
    for (const auto& s : shapes) run_case(Case{l[0], l[1], s[0], s[1], s[2], 1.0f, 0.0f}, seed++);
  for (const auto& l : layouts) {
    // alpha / beta (dW accumulation is beta = 1), odd strides (element-wise loader), padded ones.
    run_case(Case{l[0], l[1], 129, 200, 77, 0.5f, 1.0f}, seed++);
    run_case(Case{l[0], l[1], 65, 130, 96, -2.0f, 0.25f, 1}, seed++);
    run_case(Case{l[0], l[1], 300, 257, 129, 1.0f, 0.0f, 3}, seed++);
    run_case(Case{l[0], l[1], 300, 257, 129, 1.0f, 1.0f, 8}, seed++);
    // bf16 output, and fp16 inputs.
    run_case(Case{l[0], l[1], 130, 250, 300, 1.0f, 0.0f, 0, true}, seed++);
    run_case(Case{l[0], l[1], 130, 250, 300, 1.0f, 0.5f, 2, true}, seed++);
    run_case(Case{l[0], l[1], 257, 129, 4095, 1.0f, 0.0f, 0, false, cuda::Half16::F16}, seed++);
    run_case(Case{l[0], l[1], 1536, 1536, 64, 0.5f, 1.0f, 0, false, cuda::Half16::F16}, seed++);
  }
  std::printf("%s\n", g_failed ? "FAILED" : "all GEMM cases within their limits");
  return g_failed ? 1 : 0;
}
