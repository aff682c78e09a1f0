// Reduction kernels of every runnable vector table against a plain double loop.
#include <cmath>
#include <random>
#include <vector>

#include "check_macros.h"
#include "vector_tables.h"

int main() {
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (const tuner::VectorKernels* k : runnable_vector_tables()) {
    for (int64_t n : {0, 1, 7, 8, 9, 63, 1000, 65536 + 5}) {
      std::vector<float> x(static_cast<size_t>(n));
      for (float& v : x) v = d(rng);
      double want = 0;
      for (float v : x) want += static_cast<double>(v) * v;
      EXPECT_NEAR(k->sum_squares(x.data(), n), want, 1e-12 * (1 + want));
    }
    // NaN and Inf propagate (the trainer's non-finite check relies on it).
    std::vector<float> bad(100, 1.0f);
    bad[37] = NAN;
    EXPECT(std::isnan(k->sum_squares(bad.data(), 100)));
    bad[37] = INFINITY;
    EXPECT(std::isinf(k->sum_squares(bad.data(), 100)));
  }
  EXPECT(tuner::vector_kernels().name != nullptr);
  return g_failures;
}
