// NF4 with double quantization against the formulas of the QLoRA paper and bitsandbytes,
// written out here independently of the implementation:
//   - the code book is bitsandbytes' create_normal_map: Phi^-1 of 8 (resp. 7) evenly spaced
//     probabilities from 0.9677083 down to 0.5 for the positive (negative) half, plus 0,
//     normalised by the largest;
//   - the absmax map is create_dynamic_map(signed=True): +-10^(i-6) * the means of neighbours of
//     linspace(0.1, 1, 2^i + 1), i = 0..6, plus 0 and 1;
//   - codes are argmin_i |NF4_i - x / absmax| (ties to the lower code), absmax values are
//     centred on their mean and coded per 256 by argmin |map - (a - mean) / s|, s = max |a - mean|;
//   - decoding is NF4[code] * (map[q] * s + mean).
#include <algorithm>
#include <cmath>
#include <vector>

#include "check_macros.h"
#include "quant/quant_internal.h"
#include "tuner/quant.h"

using namespace tuner;

namespace {

// Phi^-1(p) by Newton's method on erf (double precision, plenty for a 1e-6 check).
double normal_ppf(double p) {
  double y = 0.0;
  for (int i = 0; i < 100; i++) {
    const double f = 0.5 * (1.0 + std::erf(y / std::sqrt(2.0))) - p;
    const double pdf = std::exp(-0.5 * y * y) / std::sqrt(2.0 * M_PI);
    y -= f / pdf;
  }
  return y;
}

void test_code_book() {
  const double offset = 0.9677083;
  std::vector<double> v;
  for (int i = 0; i < 7; i++) v.push_back(-normal_ppf(offset + (0.5 - offset) * i / 7.0));
  v.push_back(0.0);
  for (int i = 7; i >= 0; i--) v.push_back(normal_ppf(offset + (0.5 - offset) * i / 8.0));
  const double top = v.back();
  for (int i = 0; i < 16; i++) {
    EXPECT_NEAR(kNF4Values[i], v[i] / top, 2e-6);  // ascending: -1 .. 0 .. 1
  }
  EXPECT(kNF4Values[0] == -1.0f && kNF4Values[7] == 0.0f && kNF4Values[15] == 1.0f);
  // The coder is nearest-value with midpoints, exactly as bitsandbytes' tree: on a midpoint the
  // lower code wins, just above it the upper one.
  for (int i = 0; i < 15; i++) {
    const float mid = (float)(((double)kNF4Values[i] + kNF4Values[i + 1]) / 2.0);
    EXPECT(nf4_code(std::nextafter(mid, -2.0f)) == i || nf4_code(mid) == i);
    EXPECT(nf4_code(std::nextafter(mid, 2.0f)) == i + 1 || nf4_code(std::nextafter(std::nextafter(mid, 2.0f), 2.0f)) == i + 1);
    EXPECT(nf4_code(kNF4Values[i]) == i);
  }
  EXPECT(nf4_code(0.03979014977812767f) == 7 && nf4_code(std::nextafter(0.03979014977812767f, 1.0f)) == 8);
  EXPECT(nf4_code(-1.5f) == 0 && nf4_code(1.5f) == 15);
}

void test_absmax_map() {
  std::vector<double> d;
  for (int i = 0; i < 7; i++) {
    const int n = (1 << i) + 1;
    for (int j = 0; j + 1 < n; j++) {
      const double lo = 0.1 + 0.9 * j / (n - 1), hi = 0.1 + 0.9 * (j + 1) / (n - 1);
      d.push_back(std::pow(10.0, i - 6) * (lo + hi) / 2.0);
      d.push_back(-d.back());
    }
  }
  d.push_back(0.0);
  d.push_back(1.0);
  std::sort(d.begin(), d.end());
  const float* map = nf4_absmax_map();
  EXPECT(d.size() == 256);
  for (int i = 0; i < 256; i++) EXPECT_NEAR(map[i], d[i], 1e-6 * std::fabs(d[i]) + 1e-12);
  for (int i = 1; i < 256; i++) EXPECT(map[i - 1] < map[i]);
  EXPECT(map[255] == 1.0f);
}

int nearest(const float* table, int n, double v) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (std::fabs(table[i] - v) < std::fabs(table[best] - v)) best = i;
  return best;
}

// 300 blocks of 64 in one row (two absmax groups: 256 + 44). Block b has absmax 2^(b % 4 - 1)
// (a power of two, so x / absmax is exact) and values at every code, near every midpoint, and
// a spread of others.
void test_fixed_matrix() {
  const int nb = 300, K = nb * 64;
  const float t[] = {0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 0.03f, -0.03f, 0.12f, 0.7f, -0.7f, 0.86f, -0.85f, 0.2f, 0.3f};
  std::vector<float> x(K);
  std::vector<float> absmax(nb);
  for (int b = 0; b < nb; b++) {
    const float a = std::ldexp(1.0f, b % 4 - 1);
    absmax[b] = a;
    for (int j = 0; j < 64; j++) {
      float u;
      if (j < 16) u = kNF4Values[j];
      else if (j < 31) u = (kNF4Values[j - 16] + kNF4Values[j - 15]) / 2.0f + (j % 2 ? 1e-4f : -1e-4f);
      else if (j < 45) u = t[j - 31];
      else u = std::sin(0.37f * (float)(j * (b + 1)));
      x[(size_t)b * 64 + j] = (j == 0 && b % 2 ? -1.0f : j == 0 ? 1.0f : u) * a;
    }
  }
  QuantMatrix q = quantize_matrix(x.data(), 1, K, QuantType::NF4, nullptr);
  EXPECT(q.data.size() == (size_t)K / 2 && q.absmax_q.size() == (size_t)nb && q.absmax_scale.size() == 2);

  for (int b = 0; b < nb; b++) {
    for (int j = 0; j < 64; j++) {
      const int expect = nearest(kNF4Values, 16, (double)x[(size_t)b * 64 + j] / absmax[b]);
      const uint8_t byte = q.data[(size_t)b * 32 + j / 2];
      const int got = j % 2 ? byte & 15 : byte >> 4;
      if (got != expect) {
        std::fprintf(stderr, "block %d weight %d: code %d, expected %d\n", b, j, got, expect);
        g_failures++;
      }
    }
  }
  double sum = 0.0;
  for (float a : absmax) sum += a;
  const float mean = (float)(sum / nb);
  EXPECT(q.absmax_offset == mean);
  const float* map = nf4_absmax_map();
  std::vector<float> back(K);
  dequantize_matrix(back.data(), q);
  for (int g = 0; g < 2; g++) {
    const int b0 = g * 256, b1 = std::min(nb, b0 + 256);
    float s = 0.0f;
    for (int b = b0; b < b1; b++) s = std::fmax(s, std::fabs(absmax[b] - mean));
    EXPECT(q.absmax_scale[g] == s);
    for (int b = b0; b < b1; b++) {
      const int code = nearest(map, 256, (double)((absmax[b] - mean) * (1.0f / s)));
      EXPECT(q.absmax_q[b] == code);
      const float a2 = map[code] * s + mean;
      EXPECT(std::fabs(a2 - absmax[b]) <= 0.01f * absmax[b] + 0.01f);
      for (int j = 0; j < 64; j += 7) {
        const uint8_t byte = q.data[(size_t)b * 32 + j / 2];
        EXPECT(back[(size_t)b * 64 + j] == kNF4Values[j % 2 ? byte & 15 : byte >> 4] * a2);
      }
    }
  }
  // A block of zeros codes to 0.0 (code 7) and decodes to zeros.
  std::vector<float> z(128, 0.0f);
  z[64] = 1.0f;
  QuantMatrix qz = quantize_matrix(z.data(), 2, 64, QuantType::NF4, nullptr);
  for (int j = 0; j < 32; j++) EXPECT(qz.data[j] == 0x77);
  std::vector<float> zb(128);
  dequantize_matrix(zb.data(), qz);
  EXPECT(zb[0] == 0.0f && zb[1] == 0.0f && std::fabs(zb[64] - 1.0f) < 1e-6f);
}

}  // namespace

int main() {
  test_code_book();
  test_absmax_map();
  test_fixed_matrix();
  return finish("test_quant_nf4");
}
