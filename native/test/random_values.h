// Random test values shared by the native tests.
#pragma once
#include <cstddef>
#include <random>
#include <vector>

// n draws of N(0, sd) from rng, through a distribution of their own, so a test's values depend
// only on its seed and the order of its calls.
inline std::vector<float> randn(size_t n, float sd, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}
