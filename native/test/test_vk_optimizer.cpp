// The AdamW update kernel of every runnable vector table against a double transcription of
// torch.optim.AdamW (odd lengths, vector tails, a clip factor), and the baseline table against
// the plain float loop bit for bit (same operations in the same order, no FMA). Lion (the
// paper's rule, sign(0) = 0) and SGD (momentum, Nesterov, none) against double transcriptions.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "vector_tables.h"

using tuner::AdamWScalars;
using tuner::LionScalars;
using tuner::SgdScalars;
using tuner::VectorKernels;

int main() {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 1.0f);
  const double lr = 3e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, clip = 0.37;
  for (const VectorKernels* k : runnable_vector_tables()) {
    for (int64_t n : {0, 1, 7, 8, 9, 31, 1001}) {
      std::vector<float> w(n), m(n), v(n), g(n);
      for (int64_t i = 0; i < n; i++) {
        w[i] = d(rng);
        m[i] = 0.1f * d(rng);
        v[i] = 0.01f * std::fabs(d(rng));
        g[i] = d(rng);
      }
      if (n > 3) v[2] = 0.0f, g[2] = 0.0f, m[2] = 0.0f;  // denominator is eps alone
      const int step = 4;
      const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
      const AdamWScalars s{(float)clip,          (float)(1 - lr * wd), (float)b1, (float)(1 - b1), (float)b2,
                           (float)(1 - b2), (float)(lr / bc1),     (float)std::sqrt(bc2), (float)eps};
      std::vector<float> w1 = w, m1 = m, v1 = v, g1 = g;
      k->adamw_update(w1.data(), m1.data(), v1.data(), g1.data(), n, s);
      EXPECT(std::memcmp(g1.data(), g.data(), sizeof(float) * n) == 0);  // grads are read, not scaled
      for (int64_t i = 0; i < n; i++) {
        const double gi = (double)g[i] * (float)clip;
        const double mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
        const double wi = w[i] * (1 - lr * wd) - lr / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + eps);
        EXPECT_NEAR(m1[i], mi, 1e-7 * (std::fabs(mi) + std::fabs(m[i]) + std::fabs(gi)));
        EXPECT_NEAR(v1[i], vi, 1e-6 * vi + 1e-12);
        EXPECT_NEAR(w1[i], wi, 1e-6 * (std::fabs(wi) + lr));
      }
      if (std::string(k->name) == "generic") {
        // The loop AdamW ran before the kernel table existed, with clipping as its own pass.
        std::vector<float> w2 = w, m2 = m, v2 = v, g2 = g;
        for (int64_t i = 0; i < n; i++) {
          g2[i] *= s.grad_scale;
          w2[i] *= s.decay;
          m2[i] = m2[i] * s.beta1 + g2[i] * s.one_minus_beta1;
          v2[i] = v2[i] * s.beta2 + g2[i] * g2[i] * s.one_minus_beta2;
          const float denom = std::sqrt(v2[i]) / s.bias_correction2_sqrt + s.eps;
          w2[i] -= s.step_size * (m2[i] / denom);
        }
        EXPECT(std::memcmp(w1.data(), w2.data(), sizeof(float) * n) == 0);
        EXPECT(std::memcmp(m1.data(), m2.data(), sizeof(float) * n) == 0);
        EXPECT(std::memcmp(v1.data(), v2.data(), sizeof(float) * n) == 0);
      }
    }
  }
  for (const VectorKernels* k : runnable_vector_tables()) {
    for (int64_t n : {0, 1, 9, 33, 1001}) {
      std::vector<float> w(n), m(n), g(n);
      for (int64_t i = 0; i < n; i++) w[i] = d(rng), m[i] = 0.1f * d(rng), g[i] = d(rng);
      if (n > 3) m[1] = 0.0f, g[1] = 0.0f;  // c = 0: no step but the decay
      const LionScalars ls{(float)clip, (float)(1 - lr * wd), (float)lr, (float)b1, (float)(1 - b1), 0.99f, (float)(1 - 0.99)};
      std::vector<float> w1 = w, m1 = m;
      k->lion_update(w1.data(), m1.data(), g.data(), n, ls);
      for (int64_t i = 0; i < n; i++) {
        const double gi = (double)g[i] * (float)clip, c = b1 * m[i] + (1 - b1) * gi;
        const double wi = w[i] * (1 - lr * wd) - lr * ((c > 0) - (c < 0));
        EXPECT_NEAR(w1[i], wi, 1e-6 * (std::fabs(wi) + lr));
        EXPECT_NEAR(m1[i], 0.99 * m[i] + 0.01 * gi, 1e-6 * (std::fabs(m[i]) + std::fabs(gi)));
      }
      for (int variant = 0; variant < 3; variant++) {  // no momentum, momentum, Nesterov
        const float mu = variant ? 0.9f : 0.0f;
        const SgdScalars ss{(float)clip, (float)wd, mu, (float)lr, variant == 2};
        std::vector<float> w2 = w, buf = m;
        k->sgd_update(w2.data(), variant ? buf.data() : nullptr, g.data(), n, ss);
        for (int64_t i = 0; i < n; i++) {
          const double di = (double)g[i] * (float)clip + wd * w[i], bi = (double)mu * m[i] + di;
          const double step = variant == 0 ? di : variant == 1 ? bi : di + (double)mu * bi;
          EXPECT_NEAR(w2[i], w[i] - lr * step, 1e-6 * (std::fabs(w[i]) + lr));
          // Rounding error relative to the terms summed (they may cancel).
          const double terms = std::fabs(mu * m[i]) + std::fabs(g[i] * clip) + std::fabs(wd * w[i]);
          if (variant) EXPECT_NEAR(buf[i], bi, 1e-6 * terms);
        }
      }
    }
  }
  return finish("test_vk_optimizer");
}
