// sgemm_lora_dy (LoRA's dt = alpha dy B and dB += alpha dy^T t in one pass over dy) against the
// two sgemm calls it replaces, on every kernel this CPU runs that has the fused pass: the same
// bits for dt and dB, for 1, 2 and 3 threads, on ranks 1-8, token counts around the row tile (4)
// and few_rows' k blocks, widths around its tiles; and the fallback (r > 8, kernels without the
// pass) still computes both products.
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "random_values.h"
#include "kernels/cpu/gemm_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/gemm.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void check(const GemmKernel& kern, int N, int out, int r, std::mt19937& rng, ThreadPool* pools[3]) {
  const float alpha = 2.0f / 3.0f;
  const std::vector<float> dy = randn(size_t(N) * out, 1.0f, rng), B = randn(size_t(out) * r, 0.1f, rng),
                           t = randn(size_t(N) * r, 1.0f, rng), dB0 = randn(size_t(out) * r, 0.01f, rng);
  std::vector<float> dt_ref(size_t(N) * r, NAN), dB_ref = dB0;
  sgemm_with_kernel(kern, Trans::N, Trans::N, N, r, out, alpha, dy.data(), out, B.data(), r, 0.0f, dt_ref.data(), r, nullptr);
  sgemm_with_kernel(kern, Trans::T, Trans::N, out, r, N, alpha, dy.data(), out, t.data(), r, 1.0f, dB_ref.data(), r, nullptr);
  for (int p = 0; p < 3; ++p) {
    std::vector<float> dt(size_t(N) * r, NAN), dB = dB0;
    const bool fused = sgemm_lora_dy_with_kernel(kern, N, out, r, alpha, dy.data(), B.data(), t.data(), dt.data(), dB.data(), pools[p]);
    EXPECT(fused == (r <= 8));
    if (!fused) continue;
    if (!same_bits(dt, dt_ref) || !same_bits(dB, dB_ref)) {
      std::fprintf(stderr, "%s N=%d out=%d r=%d threads=%d: dt %s, dB %s\n", kern.name, N, out, r, p + 1,
                   same_bits(dt, dt_ref) ? "same" : "differs", same_bits(dB, dB_ref) ? "same" : "differs");
      ++g_failures;
    }
  }
}

}  // namespace

int main() {
  ThreadPool p2(2), p3(3);
  ThreadPool* pools[3] = {nullptr, &p2, &p3};
  std::mt19937 rng(20261205);
  const CpuFeatures& f = cpu_features();
  std::vector<const GemmKernel*> kernels;
  if (f.avx2 && f.fma) kernels.push_back(&gemm_kernel_avx2());
  if (f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) kernels.push_back(&gemm_kernel_avx512());
  int runs = 0;
  for (const GemmKernel* k : kernels) {
    EXPECT(k->lora_dy != nullptr);
    const int shapes[][3] = {{1024, 512, 8}, {1024, 1376, 8}, {256, 96, 4}, {37, 50, 8}, {130, 200, 1}, {9, 24, 7},
                             {1001, 70, 5}, {16, 33, 3}, {300, 17, 9}};
    for (const auto& s : shapes) check(*k, s[0], s[1], s[2], rng, pools), ++runs;
  }
  // The portable kernel has no fused pass: sgemm_lora_dy falls back to the two products.
  EXPECT(gemm_kernel_generic().lora_dy == nullptr);
  {
    const int N = 20, out = 12, r = 4;
    const std::vector<float> dy = randn(size_t(N) * out, 1.0f, rng), B = randn(size_t(out) * r, 1.0f, rng),
                             t = randn(size_t(N) * r, 1.0f, rng);
    std::vector<float> dt(size_t(N) * r), dB(size_t(out) * r, 0.5f), dt_ref(dt.size()), dB_ref(dB);
    sgemm_lora_dy(N, out, r, 1.5f, dy.data(), B.data(), t.data(), dt.data(), dB.data(), &p2);
    sgemm_reference(Trans::N, Trans::N, N, r, out, 1.5f, dy.data(), out, B.data(), r, 0.0f, dt_ref.data(), r);
    sgemm_reference(Trans::T, Trans::N, out, r, N, 1.5f, dy.data(), out, t.data(), r, 1.0f, dB_ref.data(), r);
    for (size_t i = 0; i < dt.size(); ++i) EXPECT_NEAR(dt[i], dt_ref[i], 1e-4);
    for (size_t i = 0; i < dB.size(); ++i) EXPECT_NEAR(dB[i], dB_ref[i], 1e-4);
  }
  std::printf("sgemm_lora_dy: %d kernel x shape checks against the two sgemm calls\n", runs);
  return finish("test_gemm_lora_dy");
}
