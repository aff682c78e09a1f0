// The decode-attention loops of every runnable vector table (scores of one query row per head
// against n cached keys, the weighted sum of n value rows) against plain double loops: head
// sizes that exercise full vectors, tails and rows shorter than one vector; grouped key heads
// (GQA) and head ranges that start inside a group. Also training's backward row (probabilities
// back from scores and lse, and the score gradient) over row lengths around the vector width.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "check_macros.h"
#include "vector_tables.h"

int main() {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  struct Heads { int64_t nh, group, h0, heads; };
  for (const tuner::VectorKernels* k : runnable_vector_tables()) {
    for (int64_t hd : {1, 3, 8, 13, 64, 80, 128}) {
      for (Heads hs : {Heads{1, 1, 0, 1}, Heads{4, 1, 0, 4}, Heads{6, 3, 0, 6}, Heads{6, 3, 2, 3}, Heads{8, 4, 1, 7}}) {
        for (int64_t n : {1, 2, 5, 17, 300}) {
          const int64_t nkv = hs.nh / hs.group, ld = nkv * hd + 5;  // cache rows [n, nkv * hd], padded
          std::vector<float> q((size_t)(hs.nh * hd)), kc((size_t)(n * ld)), vc((size_t)(n * ld));
          for (float& x : q) x = d(rng);
          for (float& x : kc) x = d(rng);
          for (float& x : vc) x = d(rng);
          const float scale = 0.125f;
          const int64_t lds = n + 3;
          std::vector<float> s((size_t)(hs.heads * lds)), p((size_t)(hs.heads * lds));
          k->attention_scores(s.data(), lds, q.data() + hs.h0 * hd, kc.data(), n, ld, hd, hs.h0, hs.heads, hs.group, scale);
          for (int64_t h = 0; h < hs.heads; h++) {
            const int64_t kv = (hs.h0 + h) / hs.group;
            for (int64_t j = 0; j < n; j++) {
              double want = 0;
              for (int64_t e = 0; e < hd; e++) want += (double)q[(hs.h0 + h) * hd + e] * kc[j * ld + kv * hd + e];
              EXPECT_NEAR(s[h * lds + j], scale * want, 1e-5 * (1 + std::sqrt((double)hd)));
            }
          }
          for (float& x : p) x = std::fabs(d(rng));
          std::vector<float> y((size_t)(hs.heads * hd) + 1, 42.0f);  // y past the heads stays untouched
          k->attention_weighted_sum(y.data(), p.data(), lds, vc.data(), n, ld, hd, hs.h0, hs.heads, hs.group);
          for (int64_t h = 0; h < hs.heads; h++) {
            const int64_t kv = (hs.h0 + h) / hs.group;
            for (int64_t e = 0; e < hd; e++) {
              double want = 0, mag = 0;
              for (int64_t j = 0; j < n; j++) {
                const double t = (double)p[h * lds + j] * vc[j * ld + kv * hd + e];
                want += t, mag += std::fabs(t);
              }
              EXPECT_NEAR(y[h * hd + e], want, 1e-6 * (1 + mag));
            }
          }
          EXPECT(y[hs.heads * hd] == 42.0f);
        }
      }
    }
  }
  for (const tuner::VectorKernels* k : runnable_vector_tables()) {
    for (int64_t n : {0, 1, 7, 16, 17, 63, 200}) {
      const int64_t hd = 24;
      std::vector<float> s((size_t)n + 1), dp((size_t)n + 1), dy((size_t)hd), y((size_t)hd);
      for (float& x : s) x = 2 * d(rng);
      for (float& x : dp) x = d(rng);
      for (float& x : dy) x = d(rng);
      for (float& x : y) x = d(rng);
      const float lse = 3.5f, scale = 0.2f;
      double dot = 0;
      for (int64_t e = 0; e < hd; e++) dot += (double)dy[e] * y[e];
      std::vector<float> p = s, g = dp;
      // row_dots over rows ld apart, this row's pair the last of three.
      const int64_t ld = hd + 5;
      std::vector<float> a((size_t)(3 * ld)), bb((size_t)(3 * ld));
      for (float& x : a) x = d(rng);
      for (float& x : bb) x = d(rng);
      std::copy(dy.begin(), dy.end(), a.begin() + 2 * ld);
      std::copy(y.begin(), y.end(), bb.begin() + 2 * ld);
      float dots[3];
      k->row_dots(dots, a.data(), bb.data(), ld, 3, hd);
      for (int64_t r = 0; r < 3; r++) {
        double want = 0;
        for (int64_t e = 0; e < hd; e++) want += (double)a[r * ld + e] * bb[r * ld + e];
        EXPECT_NEAR(dots[r], want, 1e-5 * (1 + std::sqrt((double)hd)));
      }
      k->attention_dscores_row(p.data(), g.data(), n, lse, (float)dot, scale);
      for (int64_t j = 0; j < n; j++) {
        const double pw = std::exp((double)s[j] - lse), gw = pw * (dp[j] - dot) * scale;
        EXPECT_NEAR(p[j], pw, 1e-6 * pw);
        EXPECT_NEAR(g[j], gw, 1e-5 * (pw * (std::fabs(dp[j]) + std::fabs(dot)) * scale) + 1e-30);
      }
      EXPECT(p[n] == s[n] && g[n] == dp[n]);  // nothing past the row is written
    }
  }
  return g_failures;
}
