// Every qgemm kernel table this CPU runs (generic, avx2, avx512, avx512-vnni), called directly,
// against qgemm_reference (decoded rows, double sums) for every format: decode sizes M = 1, 3, 7
// and prefill sizes M = 8, 17, 64, 65; odd row counts (1, 37, 129); widths of one block up to
// 4096 and, for the unblocked formats, widths that are not a multiple of 32; y = and y +=;
// 1 thread against 3 (bit-identical). Tolerances:
//   f32 activations: float summation, |e| <= 2^-20 * sum_k |x_k w_k| (+ 1e-30), and with y +=
//   two roundings of the result's size
//   int8 activations (q8_0, q4_0, int8 on a SIMD table): plus what rounding x to 32-value int8
//   blocks can cost, sum over blocks of (absmax_b(x) / 254) * sum_k |w_k|.
//   bf16 (activations rounded to bf16 in decode and prefill alike): plus 2^-8 * sum_k |x_k w_k|.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "random_values.h"
#include "quant/quant_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

int g_cases = 0;

std::vector<const QgemmKernels*> tables_this_cpu_runs() {
  const CpuFeatures& f = cpu_features();
  std::vector<const QgemmKernels*> t = {&qgemm_kernels_generic()};
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
  if (avx2) t.push_back(&qgemm_kernels_avx2());
  if (avx512) t.push_back(&qgemm_kernels_avx512());
  if (avx512 && f.avx512_vnni) t.push_back(&qgemm_kernels_avx512_vnni());
  return t;
}


// Allowed |y - reference| for each output.
// bf16_act: the kernel rounds the activations to bf16 (7 fraction bits: relative error at most 2^-8).
std::vector<double> tolerances(const std::vector<float>& x, const std::vector<float>& wd, int M, int R, int K, bool int8_act,
                               bool bf16_act) {
  std::vector<double> tol((size_t)M * R);
  for (int m = 0; m < M; m++) {
    const float* xm = &x[(size_t)m * K];
    std::vector<double> xblock_err(K);
    for (int k = 0; k < K; k++) {
      float amax = 0.0f;
      const int b0 = k / 32 * 32;
      for (int j = b0; j < std::min(K, b0 + 32); j++) amax = std::max(amax, std::fabs(xm[j]));
      xblock_err[k] = amax / 254.0 * 1.001;
    }
    for (int r = 0; r < R; r++) {
      double sum_abs = 0, act = 0;
      for (int k = 0; k < K; k++) {
        const double wk = std::fabs(wd[(size_t)r * K + k]);
        sum_abs += wk * std::fabs(xm[k]);
        act += wk * xblock_err[k];
      }
      tol[(size_t)m * R + r] = std::ldexp(sum_abs, -20) + 1e-30 + (int8_act ? act : 0.0) + (bf16_act ? std::ldexp(sum_abs, -8) : 0.0);
    }
  }
  return tol;
}

void check_case(QuantType t, int M, int R, int K, std::mt19937& rng, ThreadPool* pool) {
  const std::vector<float> wf = randn((size_t)R * K, 0.05f, rng);
  std::vector<float> x = randn((size_t)M * K, 1.0f, rng);
  x[0] = 4.0f;  // an outlier in the first activation block
  const QuantMatrix w = quantize_matrix(wf.data(), R, K, t, nullptr);
  std::vector<float> wd((size_t)R * K);
  dequantize_matrix(wd.data(), w);
  const std::vector<float> y0 = randn((size_t)M * R, 1.0f, rng);
  for (int accumulate = 0; accumulate < 2; accumulate++) {
    std::vector<float> ref = y0;
    qgemm_reference(ref.data(), x.data(), w, M, accumulate);
    for (const QgemmKernels* k : tables_this_cpu_runs()) {
      const bool int8_act = k->int8_activations[(int)t] && K % 32 == 0 && M < 8;
      const std::vector<double> tol = tolerances(x, wd, M, R, K, int8_act, t == QuantType::BF16);
      std::vector<float> y1 = y0, y3 = y0;
      if (!accumulate) std::fill(y1.begin(), y1.end(), NAN);  // y = never reads y
      qgemm_with_kernels(*k, y1.data(), x.data(), w, M, accumulate, nullptr);
      qgemm_with_kernels(*k, y3.data(), x.data(), w, M, accumulate, pool);
      g_cases++;
      int bad = 0;
      for (size_t i = 0; i < ref.size(); i++) {
        // y += adds two roundings of the sum's size (the product's, then the add's).
        const double base = accumulate ? std::ldexp(std::fabs(y0[i]) + std::fabs(ref[i]), -22) : 0.0;
        if (!(std::fabs((double)y1[i] - ref[i]) <= tol[i] + base) && bad++ < 3)
          std::fprintf(stderr, "%s %s M=%d R=%d K=%d acc=%d: y[%zu] = %.8g, reference %.8g (tol %.3g)\n", k->isa,
                       quant_type_name(t), M, R, K, accumulate, i, y1[i], ref[i], tol[i]);
        if (y1[i] != y3[i] && bad++ < 3)
          std::fprintf(stderr, "%s %s M=%d R=%d K=%d: 3 threads give %.9g, 1 thread %.9g\n", k->isa, quant_type_name(t), M,
                       R, K, y3[i], y1[i]);
      }
      g_failures += bad;
    }
  }
}

// bf16 rounds the activations in prefill (gemm_bf16's packs) and decode (prepare) alike: the
// rows of one prefill call equal the same rows decoded one at a time up to f32 summation order
// (a decode that skipped the rounding would miss by up to 2^-8 of sum |x w|).
void check_bf16_prefill_matches_decode(std::mt19937& rng, ThreadPool* pool) {
  const int M = 32, R = 96;
  for (const int K : {128, 256, 300}) {
    const std::vector<float> wf = randn((size_t)R * K, 0.05f, rng), x = randn((size_t)M * K, 1.0f, rng);
    const QuantMatrix w = quantize_matrix(wf.data(), R, K, QuantType::BF16, nullptr);
    std::vector<float> wd((size_t)R * K), prefill((size_t)M * R), decode((size_t)M * R);
    dequantize_matrix(wd.data(), w);
    const std::vector<double> tol = tolerances(x, wd, M, R, K, false, false);
    for (const QgemmKernels* k : tables_this_cpu_runs()) {
      qgemm_with_kernels(*k, prefill.data(), x.data(), w, M, false, pool);
      for (int m = 0; m < M; m++)
        qgemm_with_kernels(*k, decode.data() + (size_t)m * R, x.data() + (size_t)m * K, w, 1, false, pool);
      int bad = 0;
      for (size_t i = 0; i < prefill.size(); i++)
        if (!(std::fabs((double)prefill[i] - decode[i]) <= 2 * tol[i]) && bad++ < 3)
          std::fprintf(stderr, "%s bf16 K=%d: prefill y[%zu] = %.8g, decode %.8g (tol %.3g)\n", k->isa, K, i, prefill[i],
                       decode[i], 2 * tol[i]);
      g_failures += bad;
      g_cases++;
    }
  }
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  ThreadPool pool(3);
  std::string isas;
  for (const QgemmKernels* k : tables_this_cpu_runs()) isas += std::string(k->isa) + " ";
  std::printf("kernel tables: %s\n", isas.c_str());
  const QuantType types[] = {QuantType::F32, QuantType::F16, QuantType::BF16, QuantType::Q8_0, QuantType::Q4_0, QuantType::INT8, QuantType::NF4};
  const int Ms[] = {1, 3, 7, 8, 17, 64, 65};
  const int Rs[] = {1, 37, 129};
  for (QuantType t : types) {
    const int block = quant_block_size(t) == 1 ? 32 : quant_block_size(t);
    std::vector<int> Ks = {block, 3 * block, 4096};
    if (block == 32) Ks.push_back(32 * 7);   // an odd number of 32-blocks
    if (block == 32) Ks.push_back(32 * 45);  // 2 x 16 blocks, 12 more in groups of 4, and 1
    if (quant_block_size(t) == 1) {
      Ks.push_back(5);
      Ks.push_back(100);  // not a multiple of 32: int8 rows fall back to f32 activations
    }
    for (int M : Ms)
      for (int R : Rs)
        for (int K : Ks) {
          if ((size_t)M * R * K > 20000000) continue;
          check_case(t, M, R, K, rng, &pool);
        }
  }
  check_bf16_prefill_matches_decode(rng, &pool);
  // The table qgemm picks is the best this CPU runs, and its name says so.
  const QgemmKernels* best = tables_this_cpu_runs().back();
  EXPECT(&qgemm_kernels_best() == best);
  EXPECT(qgemm_kernel_name(QuantType::Q4_0).find(best->isa) != std::string::npos);
  std::printf("qgemm: %d cases (format x M x rows x cols x accumulate x kernel table)\n", g_cases);
  for (QuantType t : types) std::printf("  %s\n", qgemm_kernel_name(t).c_str());
  return finish("test_qgemm");
}
