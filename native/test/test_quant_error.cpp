// Quantize -> dequantize error of every format on gaussian weights (N(0, 0.02), as initialised
// linear layers, plus a few 10-sigma outliers), against bounds derived from each format:
//   f16    |e| <= max(2^-11 |x|, 2^-25)               (half subnormals below 2^-14)
//   q8_0   |e| <= (1/254 + 2^-11) * block absmax   (rounding to d/2, fp16 scale)
//   q4_0   |e| <= (1/8 + 2^-8) * block absmax      (d = absmax/8; +8d clips to 7d; fp16 scale)
//   int8   |e| <= (1/254 + 2^-16) * row absmax     (f32 scale and product roundings)
//   nf4    |e| <= 0.1520 * a + |a - a'|, with |a - a'| <= 0.0071 * s (half the widest gap
//          of the NF4 code book, 1 - 0.6962, and of the absmax map near +-1, 0.9/64)
// and on the RMS error relative to the weights' RMS, whose measured values (printed) are held to
// 10% above what this seed gives. Also: quantizing on 1 or 2 threads gives the same bytes.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "check_macros.h"
#include "quant/quant_internal.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

constexpr int R = 64, K = 4096;
// Measured with this seed: f16 0.00021, q8_0 0.00553, q4_0 0.0886, int8 0.0161, nf4 0.0940.
constexpr double RMS_F16 = 0.00023, RMS_Q8_0 = 0.0061, RMS_Q4_0 = 0.0975, RMS_INT8 = 0.0177, RMS_NF4 = 0.1035;

std::vector<float> gaussian_weights() {
  std::mt19937 rng(1234);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> w((size_t)R * K);
  for (auto& v : w) v = dist(rng);
  for (int i = 0; i < 40; i++) w[(size_t)(rng() % w.size())] = (i % 2 ? 0.2f : -0.2f);
  return w;
}

float absmax_of(const float* x, int n) {
  float a = 0.0f;
  for (int i = 0; i < n; i++) a = std::fmax(a, std::fabs(x[i]));
  return a;
}

struct Measured {
  double rms_rel = 0, worst_ratio = 0;  // worst |e| / bound over all weights
};

// bound(i) gives the allowed |error| of weight i.
template <class Bound>
Measured measure(const std::vector<float>& w, const std::vector<float>& back, Bound bound) {
  Measured m;
  double se = 0, sw = 0;
  for (size_t i = 0; i < w.size(); i++) {
    const double e = std::fabs((double)w[i] - back[i]);
    se += e * e;
    sw += (double)w[i] * w[i];
    m.worst_ratio = std::fmax(m.worst_ratio, e / bound(i));
  }
  m.rms_rel = std::sqrt(se / sw);
  return m;
}

void check_format(QuantType t, const std::vector<float>& w, double rms_limit, ThreadPool* pool) {
  QuantMatrix q = quantize_matrix(w.data(), R, K, t, pool);
  QuantMatrix q1 = quantize_matrix(w.data(), R, K, t, nullptr);
  EXPECT(q.data == q1.data && q.row_scale == q1.row_scale && q.absmax_q == q1.absmax_q);
  std::vector<float> back(w.size());
  dequantize_matrix(back.data(), q);
  Measured m;
  const double tiny = 1e-12;
  switch (t) {
    case QuantType::F32:
      m = measure(w, back, [&](size_t) { return tiny; });
      break;
    case QuantType::F16:
      m = measure(w, back, [&](size_t i) { return std::fmax(std::ldexp(std::fabs(w[i]), -11), std::ldexp(1.0, -25)); });
      break;
    case QuantType::Q8_0:
      m = measure(w, back, [&](size_t i) { return (1.0 / 254 + std::ldexp(1.0, -11)) * absmax_of(&w[i / 32 * 32], 32) + tiny; });
      break;
    case QuantType::Q4_0:
      m = measure(w, back, [&](size_t i) { return (1.0 / 8 + std::ldexp(1.0, -8)) * absmax_of(&w[i / 32 * 32], 32) + tiny; });
      break;
    case QuantType::INT8:
      m = measure(w, back, [&](size_t i) { return (1.0 / 254 + std::ldexp(1.0, -16)) * absmax_of(&w[i / K * K], K) + tiny; });
      break;
    case QuantType::NF4:
      m = measure(w, back, [&](size_t i) {
        const size_t b = i / 64;
        return 0.1520 * absmax_of(&w[b * 64], 64) + 0.0071 * q.absmax_scale[b / kNF4ScaleBlock] + 1e-7;
      });
      break;
  }
  std::printf("%-5s bytes/weight %.4f  rms error / rms weight %.5f  worst |e| / bound %.6f\n", quant_type_name(t),
              (double)q.bytes() / w.size(), m.rms_rel, m.worst_ratio);
  EXPECT(m.worst_ratio <= 1.0);
  EXPECT(m.rms_rel <= rms_limit);
}

}  // namespace

int main() {
  const std::vector<float> w = gaussian_weights();
  ThreadPool pool(2);
  check_format(QuantType::F32, w, 0.0, &pool);
  check_format(QuantType::F16, w, RMS_F16, &pool);
  check_format(QuantType::Q8_0, w, RMS_Q8_0, &pool);
  check_format(QuantType::Q4_0, w, RMS_Q4_0, &pool);
  check_format(QuantType::INT8, w, RMS_INT8, &pool);
  check_format(QuantType::NF4, w, RMS_NF4, &pool);
  return finish("test_quant_error");
}
