// Softmax-row kernels of every runnable vector table against plain double loops (the one-sweep
// log-sum-exp against max + log of the sum): odd lengths (vector tails), rows of large and -inf
// values, NaN and +inf turning into a NaN sum, and the same result whatever the row's alignment.
#include <cmath>
#include <random>
#include <vector>

#include "check_macros.h"
#include "vector_tables.h"

static void check_row(const tuner::VectorKernels& k, const std::vector<float>& x) {
  const int64_t n = (int64_t)x.size();
  double mx = -INFINITY;
  for (float v : x) mx = std::max(mx, (double)v);
  EXPECT(k.row_max(x.data(), n) == (float)mx);
  if (n == 0) {
    EXPECT(k.sum_exp(x.data(), 0, 0.0f) == 0.0);
    EXPECT(k.log_sum_exp(x.data(), 0) == -INFINITY);
    return;
  }
  const float shift = (float)mx;
  double want = 0;
  for (float v : x) want += std::exp((double)v - shift);
  EXPECT_NEAR(k.sum_exp(x.data(), n, shift), want, 2e-6 * want);
  // The one-sweep log-sum-exp (the max found block by block) agrees with max + log(sum).
  const double want_lse = mx + std::log(want);
  EXPECT_NEAR(k.log_sum_exp(x.data(), n), want_lse, 2e-6 + 1e-7 * std::fabs(want_lse));
  // softmax_row: the softmax in place and the log-sum-exp, the bits of the three passes it
  // stands for (attention's backward recomputes them from the lse).
  std::vector<float> sm = x, three = x;
  const float sm_lse = k.softmax_row(sm.data(), n);
  EXPECT_NEAR(sm_lse, want_lse, 2e-6 + 1e-7 * std::fabs(want_lse));
  const float three_lse = k.row_max(x.data(), n) + (float)std::log(k.sum_exp(x.data(), n, k.row_max(x.data(), n)));
  k.exp_scale(three.data(), n, three_lse, 1.0f);
  EXPECT(sm_lse == three_lse && sm == three);
  for (int64_t i = 0; i < n; i++) {  // exp(x - lse) for the lse returned (a float near 1e4 is 1e-3 coarse)
    const double p = std::exp((double)x[i] - sm_lse);
    EXPECT_NEAR(sm[i], p, p == 0 ? 1e-30 : 3e-7 * (2 + std::fabs(x[i] - sm_lse)) * p + 1e-30);
  }
  // exp_scale with the row's log-sum-exp gives the softmax, scaled.
  const float lse = (float)(shift + std::log(want)), scale = 0.37f;
  std::vector<float> y = x;
  k.exp_scale(y.data(), n, lse, scale);
  for (int64_t i = 0; i < n; i++) {
    double p = scale * std::exp((double)x[i] - lse);
    // x - lse rounds to float (an error growing with |x - lse|); terms below exp(-87) flush
    // to ~1e-38 instead of 0, which the absolute tolerance covers.
    EXPECT_NEAR(y[i], p, p == 0 ? 1e-30 : 3e-7 * (2 + std::fabs(x[i] - lse)) * p + 1e-30);
  }
}

int main() {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 4.0f);
  for (const tuner::VectorKernels* k : runnable_vector_tables()) {
    for (int64_t n : {0, 1, 3, 7, 8, 15, 16, 17, 255, 256, 257, 1000, 32000, 32001}) {
      std::vector<float> x((size_t)n);
      for (float& v : x) v = d(rng);
      check_row(*k, x);
      // A maximum at the very end (in the scalar tail) and at the very start.
      if (n > 2) {
        x[n - 1] = 50.0f;
        check_row(*k, x);
        x[0] = 60.0f;
        check_row(*k, x);
      }
    }
    // Large logits (no overflow: everything is relative to the maximum) and -inf entries
    // (masked vocabulary: probability 0).
    std::vector<float> big(1001);
    for (size_t i = 0; i < big.size(); i++) big[i] = 1e4f + (float)(i % 13) * 3.0f;
    check_row(*k, big);
    std::vector<float> neg(77);
    for (size_t i = 0; i < neg.size(); i++) neg[i] = i % 3 ? -INFINITY : d(rng);
    check_row(*k, neg);
    // Leading blocks of -inf only (a masked vocabulary range), then finite values; a row of
    // -inf only; the maximum rising block after block (the running sum rescaled each time).
    std::vector<float> lead(1000, -INFINITY);
    for (size_t i = 600; i < lead.size(); i++) lead[i] = d(rng);
    check_row(*k, lead);
    std::vector<float> all_neg(300, -INFINITY);
    EXPECT(k->log_sum_exp(all_neg.data(), 300) == -INFINITY);
    std::vector<float> rising(5000);
    for (size_t i = 0; i < rising.size(); i++) rising[i] = 0.02f * (float)i + d(rng);
    check_row(*k, rising);
    // Same results at every alignment (the blocks follow the index, not the address).
    std::vector<float> base(3000);
    for (float& v : base) v = d(rng);
    const double s0 = k->sum_exp(base.data() + 1, 2990, 1.0f);
    for (int off = 0; off < 8; off++) {
      std::vector<float> shifted(3000 + 8);
      std::copy(base.begin() + 1, base.begin() + 2991, shifted.begin() + off);
      EXPECT(k->sum_exp(shifted.data() + off, 2990, 1.0f) == s0);
    }
    // NaN and +inf propagate into the sum (the trainer's non-finite check relies on it).
    std::vector<float> bad(100, 1.0f);
    bad[37] = NAN;
    EXPECT(std::isnan(k->sum_exp(bad.data(), 100, k->row_max(bad.data(), 100))));
    bad[37] = 2.0f;
    bad[99] = NAN;  // in the scalar tail
    EXPECT(std::isnan(k->sum_exp(bad.data(), 100, 2.0f)));
    bad[99] = INFINITY;  // an overflowed logit: the maximum is +inf, inf - inf gives NaN
    EXPECT(k->row_max(bad.data(), 100) == INFINITY);
    EXPECT(std::isnan(k->sum_exp(bad.data(), 100, INFINITY)));
    EXPECT(std::isnan(k->log_sum_exp(bad.data(), 100)));
    std::vector<float> nan_lse(700, 1.0f);
    nan_lse[3] = NAN;  // in the first block: later blocks must not wash it out
    EXPECT(std::isnan(k->log_sum_exp(nan_lse.data(), 700)));
    nan_lse[3] = 1.0f;
    nan_lse[699] = NAN;  // in the scalar tail of the last block
    EXPECT(std::isnan(k->log_sum_exp(nan_lse.data(), 700)));
    std::vector<float> nan_row(40, 1.0f);
    nan_row[5] = NAN;
    k->exp_scale(nan_row.data(), 40, 0.0f, 1.0f);
    EXPECT(std::isnan(nan_row[5]) && std::fabs(nan_row[6] - 2.7182817f) < 1e-6f);
    // An attention row with an overflowed score (in the tail): every probability NaN, lse too.
    std::vector<float> inf_row(40, 1.0f);
    inf_row[39] = INFINITY;
    EXPECT(std::isnan(k->softmax_row(inf_row.data(), 40)) && std::isnan(inf_row[0]) && std::isnan(inf_row[39]));
  }
  return finish("test_vk_softmax");
}
