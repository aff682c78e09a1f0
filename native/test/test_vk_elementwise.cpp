// Element-wise kernels (SwiGLU, tanh GELU and GeGLU, LayerNorm and RMSNorm rows, residual add) of every runnable vector table
// against plain double loops, over odd lengths (vector tails); the baseline table against the
// scalar formulas of ops.h bit for bit; in-place calls and fused kernels against their parts;
// and an element's result independent of where it sits in the array.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check_macros.h"
#include "random_values.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "vector_tables.h"

using tuner::VectorKernels;

namespace {

std::mt19937 rng(5);


bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

void check_swiglu(const VectorKernels& k, int64_t n) {
  std::vector<float> g = randn(n, 3.0f, rng), u = randn(n, 1.0f, rng), d = randn(n, 1.0f, rng);
  if (n > 2) g[0] = -100.0f, g[n - 1] = 100.0f;  // saturated sigmoid at both ends
  std::vector<float> out(n), dg(n), du(n);
  k.swiglu_forward(out.data(), g.data(), u.data(), n);
  k.swiglu_backward(dg.data(), du.data(), d.data(), g.data(), u.data(), n);
  for (int64_t i = 0; i < n; i++) {
    const double s = 1.0 / (1.0 + std::exp(-(double)g[i]));
    const double m = g[i] * s * u[i];
    EXPECT_NEAR(out[i], m, 2e-6 * std::fabs(m) + 1e-30);
    const double want_dg = (double)d[i] * u[i] * s * (1 + g[i] * (1 - s));
    const double mag_dg = std::fabs((double)d[i] * u[i]) * s * (1 + std::fabs(g[i]) * (1 - s));
    EXPECT_NEAR(dg[i], want_dg, 3e-6 * mag_dg + 1e-30);
    const double want_du = (double)d[i] * g[i] * s;
    EXPECT_NEAR(du[i], want_du, 2e-6 * std::fabs(want_du) + 1e-30);
  }
  // The baseline table computes exactly the scalar formulas of ops.h (same operations, no FMA).
  if (std::string(k.name) == "generic") {
    std::vector<float> out1(n), dg1(n), du1(n);
    for (int64_t i = 0; i < n; i++) {
      out1[i] = tuner::swiglu(g[i], u[i]);
      tuner::swiglu_grad(d[i], g[i], u[i], &dg1[i], &du1[i]);
    }
    EXPECT(same_bits(out, out1));
    EXPECT(same_bits(dg, dg1));
    EXPECT(same_bits(du, du1));
  }
  // In place (dgate = dout) and the fused recompute give the same bits.
  std::vector<float> d2 = d, du2(n), m3(n), d3 = d, du3(n);
  k.swiglu_backward(d2.data(), du2.data(), d2.data(), g.data(), u.data(), n);
  EXPECT(same_bits(d2, dg) && same_bits(du2, du));
  k.swiglu_forward_backward(m3.data(), d3.data(), du3.data(), d3.data(), g.data(), u.data(), n);
  EXPECT(same_bits(m3, out) && same_bits(d3, dg) && same_bits(du3, du));
  // An element's result does not depend on its offset (full block vs padded tail).
  if (n > 1) {
    std::vector<float> out_shift(n - 1);
    k.swiglu_forward(out_shift.data(), g.data() + 1, u.data() + 1, n - 1);
    EXPECT(same_bits(out_shift, std::vector<float>(out.begin() + 1, out.end())));
  }
}

// The tanh GELU and GeGLU against the tanh formula in double (torch's gelu_new / approximate="tanh").
void check_gelu(const VectorKernels& k, int64_t n) {
  std::vector<float> x = randn(n, 3.0f, rng), u = randn(n, 1.0f, rng), d = randn(n, 1.0f, rng);
  if (n > 2) x[0] = -100.0f, x[n - 1] = 100.0f;  // saturated at both ends
  std::vector<float> out(n), dx(n), out2(n), gg(n), gu(n), gd(n), gdg(n), gdu(n);
  k.gelu_forward(out.data(), x.data(), n);
  k.gelu_forward_backward(out2.data(), dx.data(), d.data(), x.data(), n);
  k.geglu_forward(gg.data(), x.data(), u.data(), n);
  k.geglu_forward_backward(gu.data(), gdg.data(), gdu.data(), d.data(), x.data(), u.data(), n);
  for (int64_t i = 0; i < n; i++) {
    const double v = x[i], c = 0.7978845608028654, t = std::tanh(c * (v + 0.044715 * v * v * v));
    const double g = 0.5 * v * (1 + t), grad = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v);
    const double mag = 0.5 * std::fabs(v) * (1 + std::fabs(t)) + 1e-30;  // the size of the terms that cancel
    EXPECT_NEAR(out[i], g, 2e-6 * mag);
    EXPECT_NEAR(dx[i], d[i] * grad, 4e-6 * std::fabs(d[i]) * (1 + std::fabs(v)) + 1e-30);
    EXPECT_NEAR(gg[i], g * u[i], 2e-6 * mag * std::fabs(u[i]) + 1e-30);
    EXPECT_NEAR(gdu[i], d[i] * g, 2e-6 * mag * std::fabs(d[i]) + 1e-30);
    EXPECT_NEAR(gdg[i], d[i] * u[i] * grad, 4e-6 * std::fabs(d[i] * u[i]) * (1 + std::fabs(v)) + 1e-30);
  }
  EXPECT(same_bits(out2, out) && same_bits(gu, gg));
  // The baseline table computes exactly the scalar formulas of ops_arch.h.
  if (std::string(k.name) == "generic") {
    std::vector<float> out1(n), dx1(n);
    for (int64_t i = 0; i < n; i++) {
      out1[i] = tuner::gelu_tanh(x[i]);
      dx1[i] = d[i] * tuner::gelu_tanh_grad(x[i]);
    }
    EXPECT(same_bits(out, out1));
    EXPECT(same_bits(dx, dx1));
  }
  // In place (dx = dout, dgate = dout) gives the same bits.
  std::vector<float> d2 = d, d3 = d, m(n), dup(n);
  k.gelu_forward_backward(m.data(), d2.data(), d2.data(), x.data(), n);
  EXPECT(same_bits(d2, dx));
  k.geglu_forward_backward(m.data(), d3.data(), dup.data(), d3.data(), x.data(), u.data(), n);
  EXPECT(same_bits(d3, gdg) && same_bits(dup, gdu));
  // An element's result does not depend on its offset (full block vs padded tail).
  if (n > 1) {
    std::vector<float> shifted(n - 1);
    k.gelu_forward(shifted.data(), x.data() + 1, n - 1);
    EXPECT(same_bits(shifted, std::vector<float>(out.begin() + 1, out.end())));
  }
}

void check_add(const VectorKernels& k, int64_t n) {
  std::vector<float> a = randn(n, 1.0f, rng), b = randn(n, 1.0f, rng), out(n);
  k.add(out.data(), a.data(), b.data(), n);
  for (int64_t i = 0; i < n; i++) EXPECT(out[i] == a[i] + b[i]);
  k.add(a.data(), a.data(), b.data(), n);  // in place
  EXPECT(same_bits(a, out));
}

void check_rmsnorm(const VectorKernels& k, int64_t rows, int64_t C) {
  const float eps = 1e-5f;
  std::vector<float> x = randn(rows * C, 2.0f, rng), w = randn(C, 1.0f, rng), dy = randn(rows * C, 1.0f, rng);
  std::vector<float> out(rows * C), rstd(rows);
  k.rmsnorm_forward_rows(out.data(), rstd.data(), x.data(), w.data(), rows, C, eps);
  std::vector<double> r(rows);
  for (int64_t n = 0; n < rows; n++) {
    double ss = 0;
    for (int64_t c = 0; c < C; c++) ss += (double)x[n * C + c] * x[n * C + c];
    r[n] = 1.0 / std::sqrt(ss / C + eps);
    EXPECT_NEAR(rstd[n], r[n], 1e-6 * r[n]);
    for (int64_t c = 0; c < C; c++) {
      const double want = x[n * C + c] * r[n] * w[c];
      EXPECT_NEAR(out[n * C + c], want, 2e-6 * std::fabs(want) + 1e-30);
    }
  }
  // Residual add fused with the norm: the same bits as add, then norm; in place too.
  std::vector<float> a = randn(rows * C, 1.0f, rng), b = randn(rows * C, 1.0f, rng), sum(rows * C), out2(rows * C), rstd2(rows);
  k.add_rmsnorm_forward_rows(sum.data(), out2.data(), rstd2.data(), a.data(), b.data(), w.data(), rows, C, eps);
  std::vector<float> sum1(rows * C), out1(rows * C), rstd1(rows);
  k.add(sum1.data(), a.data(), b.data(), rows * C);
  k.rmsnorm_forward_rows(out1.data(), rstd1.data(), sum1.data(), w.data(), rows, C, eps);
  EXPECT(same_bits(sum, sum1) && same_bits(out2, out1) && same_bits(rstd2, rstd1));
  k.add_rmsnorm_forward_rows(a.data(), out2.data(), rstd2.data(), a.data(), b.data(), w.data(), rows, C, eps);
  EXPECT(same_bits(a, sum1) && same_bits(out2, out1));

  // Backward: overwrite and accumulate.
  std::vector<float> dx(rows * C), dx_acc(rows * C, 0.5f);
  k.rmsnorm_backward_rows(dx.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, C, false);
  k.rmsnorm_backward_rows(dx_acc.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, C, true);
  for (int64_t n = 0; n < rows; n++) {
    const double rn = rstd[n];
    double dot = 0, dot_mag = 0;
    for (int64_t c = 0; c < C; c++) {
      dot += (double)w[c] * dy[n * C + c] * x[n * C + c];
      dot_mag += std::fabs((double)w[c] * dy[n * C + c] * x[n * C + c]);
    }
    const double kk = rn * rn * rn * dot / C, kk_mag = rn * rn * rn * dot_mag / C;
    for (int64_t c = 0; c < C; c++) {
      const int64_t i = n * C + c;
      const double want = rn * w[c] * dy[i] - x[i] * kk;
      const double tol = 2e-6 * (std::fabs(rn * w[c] * dy[i]) + std::fabs(x[i]) * kk_mag) + 1e-30;
      EXPECT_NEAR(dx[i], want, tol);
      EXPECT_NEAR(dx_acc[i], 0.5 + want, tol + 1e-7);
    }
  }
  // Weight gradient of a column block, rows summed in order, added to what acc held.
  for (int64_t c0 : {int64_t(0), C / 3}) {
    const int64_t width = C - c0;
    std::vector<float> acc(width, 1.0f);
    k.rmsnorm_dweight_block(acc.data(), dy.data() + c0, x.data() + c0, rstd.data(), rows, C, width);
    for (int64_t j = 0; j < width; j++) {
      double want = 1.0, mag = 1.0;
      for (int64_t n = 0; n < rows; n++) {
        const double t = (double)dy[n * C + c0 + j] * x[n * C + c0 + j] * rstd[n];
        want += t;
        mag += std::fabs(t);
      }
      EXPECT_NEAR(acc[j], want, 1e-6 * mag * (1 + rows / 8.0));
    }
  }
}

// LayerNorm rows (with and without bias) against double loops, offset x so the mean matters.
void check_layernorm(const VectorKernels& k, int64_t rows, int64_t C) {
  std::vector<float> x = randn(rows * C, 2.0f, rng), w = randn(C, 1.0f, rng), bias = randn(C, 1.0f, rng), dy = randn(rows * C, 1.0f, rng);
  for (float& v : x) v += 3.0f;
  std::vector<float> out(rows * C), out_nb(rows * C), mean(rows), rstd(rows), dx(rows * C), dx_acc(rows * C, 1.0f);
  const float eps = 1e-5f;
  k.layernorm_forward_rows(out.data(), mean.data(), rstd.data(), x.data(), w.data(), bias.data(), rows, C, eps);
  k.layernorm_forward_rows(out_nb.data(), nullptr, rstd.data(), x.data(), w.data(), nullptr, rows, C, eps);
  k.layernorm_backward_rows(dx.data(), dy.data(), x.data(), w.data(), mean.data(), rstd.data(), rows, C, false);
  k.layernorm_backward_rows(dx_acc.data(), dy.data(), x.data(), w.data(), mean.data(), rstd.data(), rows, C, true);
  for (int64_t n = 0; n < rows; n++) {
    const float* xr = x.data() + n * C;
    const float* dr = dy.data() + n * C;
    double m = 0, v = 0;
    for (int64_t c = 0; c < C; c++) m += xr[c];
    m /= (double)C;
    for (int64_t c = 0; c < C; c++) v += (xr[c] - m) * (xr[c] - m);
    const double r = 1.0 / std::sqrt(v / (double)C + eps);
    EXPECT_NEAR(mean[n], m, 1e-6 * (std::fabs(m) + 1));
    EXPECT_NEAR(rstd[n], r, 2e-6 * r);
    double a = 0, b = 0;
    for (int64_t c = 0; c < C; c++) {
      const double xh = (xr[c] - m) * r, g = (double)dr[c] * w[c];
      a += g;
      b += g * xh;
      EXPECT_NEAR(out[n * C + c], xh * w[c] + bias[c], 1e-5 * (std::fabs(xh * w[c]) + std::fabs(bias[c]) + 1));
      EXPECT_NEAR(out_nb[n * C + c], xh * w[c], 1e-5 * (std::fabs(xh * w[c]) + 1));
    }
    a /= (double)C;
    b /= (double)C;
    for (int64_t c = 0; c < C; c++) {
      const double xh = (xr[c] - m) * r, want = r * ((double)dr[c] * w[c] - a - xh * b);
      const double tol = 1e-5 * r * (std::fabs((double)dr[c] * w[c]) + std::fabs(a) + std::fabs(xh * b) + 1);
      EXPECT_NEAR(dx[n * C + c], want, tol);
      EXPECT_NEAR(dx_acc[n * C + c], 1.0 + want, tol + 1e-6);
    }
  }
}

}  // namespace

int main() {
  for (const VectorKernels* k : runnable_vector_tables()) {
    for (int64_t n : {0, 1, 7, 8, 9, 15, 16, 17, 100, 1379}) {
      check_swiglu(*k, n);
      check_gelu(*k, n);
      check_add(*k, n);
    }
    for (int64_t C : {1, 7, 8, 13, 64, 515}) check_rmsnorm(*k, 5, C);
    for (int64_t C : {1, 7, 8, 13, 64, 515}) check_layernorm(*k, 5, C);
    // NaN in a row propagates to its norm and gradient (the trainer's non-finite check).
    std::vector<float> x(16, 1.0f), w(16, 1.0f), out(16), rstd(1), g(16, 0.0f), m(16);
    x[11] = NAN;
    k->rmsnorm_forward_rows(out.data(), rstd.data(), x.data(), w.data(), 1, 16, 1e-5f);
    EXPECT(std::isnan(rstd[0]) && std::isnan(out[0]));
    k->swiglu_forward(m.data(), x.data(), w.data(), 16);
    EXPECT(std::isnan(m[11]) && m[0] == m[0]);
  }
  return finish("test_vk_elementwise");
}
