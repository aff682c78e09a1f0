// Each fast CPU kernel (ops_cpu.cpp) against its plain reference (ops_reference.cpp), with and
// without a thread pool, and each reference backward against finite differences of its forward.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "check_macros.h"
#include "kernels/cpu/attention_products.h"
#include "random_values.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

using namespace tuner;
using Vec = std::vector<float>;

static std::mt19937 rng(1234);
static double max_rel(const Vec& a, const Vec& b) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < a.size(); i++) {
    scale = std::max(scale, (double)std::fabs(b[i]));
    err = std::max(err, (double)std::fabs(a[i] - b[i]));
  }
  return scale > 0 ? err / scale : err;
}
static double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
  return s;
}
// Central finite difference of f at x[i] (float, so h is coarse; tolerance accounts for it).
static double numgrad(const std::function<double()>& f, float& xi, float h = 1e-2f) {
  float old = xi;
  xi = old + h;
  double fp = f();
  xi = old - h;
  double fm = f();
  xi = old;
  return (fp - fm) / (2.0 * h);
}

static void test_rmsnorm(ThreadPool* pool) {
  const int N = 37, C = 70;
  Vec x = randn(N * C, 1.0f, rng), w = randn(C, 0.3f, rng), dy = randn(N * C, 1.0f, rng);
  for (auto& v : w) v += 1.0f;
  Vec y1(N * C), y2(N * C), r1(N), r2(N);
  rmsnorm_forward_ref(y1.data(), r1.data(), x.data(), w.data(), N, C, 1e-5f);
  rmsnorm_forward(y2.data(), r2.data(), x.data(), w.data(), N, C, 1e-5f, pool);
  EXPECT(max_rel(y2, y1) < 1e-6);
  Vec dx1(N * C, 0.5f), dw1(C, 0.25f), dx2(N * C, 0.5f), dw2(C, 0.25f);
  rmsnorm_backward_ref(dx1.data(), dw1.data(), dy.data(), x.data(), w.data(), r1.data(), N, C);
  rmsnorm_backward(dx2.data(), dw2.data(), dy.data(), x.data(), w.data(), r2.data(), N, C, true, pool);
  EXPECT(max_rel(dx2, dx1) < 1e-5);
  EXPECT(max_rel(dw2, dw1) < 1e-5);
  Vec dx3(N * C, 99.0f);
  rmsnorm_backward(dx3.data(), nullptr, dy.data(), x.data(), w.data(), r2.data(), N, C, false, pool);
  for (int i = 0; i < N * C; i++) dx3[i] += 0.5f;
  EXPECT(max_rel(dx3, dx1) < 1e-5);
  // Reference backward vs finite differences of L = <dy, rmsnorm(x)>.
  auto loss = [&] {
    Vec y(N * C), r(N);
    rmsnorm_forward_ref(y.data(), r.data(), x.data(), w.data(), N, C, 1e-5f);
    return dot(y, dy);
  };
  Vec gx(N * C, 0.0f), gw(C, 0.0f);
  rmsnorm_backward_ref(gx.data(), gw.data(), dy.data(), x.data(), w.data(), r1.data(), N, C);
  for (int i : {0, 5, 77, 500}) EXPECT_NEAR(numgrad(loss, x[i]), gx[i], 2e-3 * (1 + std::fabs(gx[i])));
  for (int i : {0, 9, 69}) EXPECT_NEAR(numgrad(loss, w[i]), gw[i], 2e-3 * (1 + std::fabs(gw[i])));
}

static void test_rope(ThreadPool* pool) {
  const int B = 2, T = 9, nh = 3, HD = 8, half = HD / 2;
  Vec cs(T * half), sn(T * half);
  for (int t = 0; t < T; t++)
    for (int i = 0; i < half; i++) {
      double a = t / std::pow(10000.0, 2.0 * i / HD);
      cs[t * half + i] = (float)std::cos(a) * 1.1f;  // an attention factor, as yarn uses
      sn[t * half + i] = (float)std::sin(a) * 1.1f;
    }
  Vec x = randn(B * T * nh * HD, 1.0f, rng), y = randn(x.size(), 1.0f, rng);
  Vec a = x, b = x;
  rope_forward_ref(a.data(), cs.data(), sn.data(), B, T, nh, HD);
  rope_forward(b.data(), cs.data(), sn.data(), B, T, nh, HD, pool);
  EXPECT(max_rel(b, a) == 0.0);
  // Backward is the adjoint: <R x, y> = <x, R^T y>.
  Vec ry = y;
  rope_backward(ry.data(), cs.data(), sn.data(), B, T, nh, HD, pool);
  Vec ry_ref = y;
  rope_backward_ref(ry_ref.data(), cs.data(), sn.data(), B, T, nh, HD);
  EXPECT(max_rel(ry, ry_ref) == 0.0);
  EXPECT_NEAR(dot(a, y), dot(x, ry), 1e-4 * std::fabs(dot(a, y)) + 1e-5);
  // Position 0 is the identity (up to the factor): HF rotate_half convention.
  EXPECT_NEAR(a[0], x[0] * 1.1f, 1e-6);
}

static void test_swiglu() {
  for (float g : {-4.0f, -1.0f, -0.1f, 0.0f, 0.3f, 2.0f, 6.0f})
    for (float u : {-1.5f, 0.7f}) {
      float dg, du;
      swiglu_grad(1.0f, g, u, &dg, &du);
      double h = 1e-3;
      double ng = (swiglu((float)(g + h), u) - swiglu((float)(g - h), u)) / (2 * h);
      double nu = (swiglu(g, (float)(u + h)) - swiglu(g, (float)(u - h))) / (2 * h);
      EXPECT_NEAR(dg, ng, 2e-3);
      EXPECT_NEAR(du, nu, 2e-3);
      EXPECT_NEAR(silu_grad(g), (silu((float)(g + h)) - silu((float)(g - h))) / (2 * h), 2e-3);
    }
  Vec g = randn(100, 1.0f, rng), u = randn(100, 1.0f, rng), out1(100), out2(100), dm = randn(100, 1.0f, rng), dg(100), du(100);
  swiglu_forward_ref(out1.data(), g.data(), u.data(), 100);
  for (int i = 0; i < 100; i++) out2[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
  EXPECT(max_rel(out1, out2) < 1e-6);
  swiglu_backward_ref(dg.data(), du.data(), dm.data(), g.data(), u.data(), 100);
  for (int i = 0; i < 100; i++) EXPECT_NEAR(du[i], dm[i] * out2[i] / u[i], 1e-4 * (1 + std::fabs(du[i])));
}

// The threaded SwiGLU and fused add + RMSNorm kernels against the reference loops, and the same
// bits with and without a pool (the pieces each thread gets never change an element's result).
static void test_elementwise_fast(ThreadPool* pool) {
  const int64_t n = 1379;
  Vec g = randn(n, 3.0f, rng), u = randn(n, 1.0f, rng), dm = randn(n, 1.0f, rng);
  Vec m1(n), m2(n), m3(n), dg1(n), du1(n), dg2(n), du2(n), dg3 = dm, du3(n), m0(n), dg0 = dm, du0(n);
  swiglu_forward_ref(m1.data(), g.data(), u.data(), n);
  swiglu_backward_ref(dg1.data(), du1.data(), dm.data(), g.data(), u.data(), n);
  swiglu_forward(m2.data(), g.data(), u.data(), n, pool);
  swiglu_backward(dg2.data(), du2.data(), dm.data(), g.data(), u.data(), n, pool);
  EXPECT(max_rel(m2, m1) < 1e-6 && max_rel(du2, du1) < 1e-6 && max_rel(dg2, dg1) < 1e-5);
  swiglu_forward_backward(m3.data(), dg3.data(), du3.data(), dg3.data(), g.data(), u.data(), n, pool);
  EXPECT(m3 == m2 && dg3 == dg2 && du3 == du2);
  swiglu_forward_backward(m0.data(), dg0.data(), du0.data(), dg0.data(), g.data(), u.data(), n, nullptr);
  EXPECT(m0 == m3 && dg0 == dg3 && du0 == du3);

  const int N = 37, C = 70;
  Vec a = randn(N * C, 1.0f, rng), b = randn(N * C, 1.0f, rng), w = randn(C, 0.3f, rng);
  Vec sum1(N * C), y1(N * C), r1(N), y2(N * C), r2(N), y0(N * C), r0(N);
  for (int i = 0; i < N * C; i++) sum1[i] = a[i] + b[i];
  rmsnorm_forward_ref(y1.data(), r1.data(), sum1.data(), w.data(), N, C, 1e-5f);
  Vec sum2 = a, sum0 = a;
  add_rmsnorm_forward(sum2.data(), y2.data(), r2.data(), sum2.data(), b.data(), w.data(), N, C, 1e-5f, pool);
  EXPECT(sum2 == sum1);
  EXPECT(max_rel(y2, y1) < 1e-6 && max_rel(r2, r1) < 1e-6);
  add_rmsnorm_forward(sum0.data(), y0.data(), r0.data(), sum0.data(), b.data(), w.data(), N, C, 1e-5f, nullptr);
  EXPECT(y0 == y2 && r0 == r2);
}

// window: 0 = plain causal, else query i sees keys (i - window, i] (transformers' sliding window).
static void test_attention(ThreadPool* pool, int B, int T, int NH, int NKV, int HD, int window, bool finite_differences) {
  const int N = B * T;
  Vec q = randn(N * NH * HD, 1.0f, rng), k = randn(N * NKV * HD, 1.0f, rng), v = randn(N * NKV * HD, 1.0f, rng), dy = randn(N * NH * HD, 1.0f, rng);
  Vec y1(N * NH * HD), p1((size_t)B * NH * T * T), y2(y1.size()), lse((size_t)B * NH * T);
  Vec scratch((size_t)attention_scratch_floats(T, pool ? pool->size() : 1));
  attention_forward_ref(y1.data(), p1.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HD, window);
  attention_forward(y2.data(), lse.data(), q.data(), k.data(), v.data(), scratch.data(), B, T, NH, NKV, HD, window, pool);
  EXPECT(max_rel(y2, y1) < 1e-5);
  // The reference's mask: probabilities are exactly zero above the diagonal and, with a window,
  // for keys j <= i - window; positive inside; each row sums to 1.
  for (int i = 0; i < T; i++) {
    double s = 0;
    for (int j = 0; j < T; j++) {
      const bool seen = j <= i && (window == 0 || j > i - window);
      const float p = p1[(size_t)i * T + j];
      EXPECT(seen ? p > 0.0f : p == 0.0f);
      s += p;
    }
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  // lse reproduces the reference probabilities: p_ij = exp(scale q_i.k_j - lse_i).
  for (int i : {0, T / 2, T - 1}) {
    const int G = NH / NKV, h = NH - 1, kh = h / G;
    for (int j = window ? std::max(0, i - window + 1) : 0; j <= i; j++) {
      double sdot = 0;
      for (int e = 0; e < HD; e++) sdot += (double)q[(size_t)i * NH * HD + h * HD + e] * k[(size_t)j * NKV * HD + kh * HD + e];
      double p = std::exp(sdot / std::sqrt((double)HD) - lse[(size_t)h * T + i]);
      EXPECT_NEAR(p, p1[((size_t)h * T + i) * T + j], 1e-5);
    }
  }
  Vec dq1(q.size()), dk1(k.size()), dv1(v.size()), dq2(q.size(), 7.0f), dk2(k.size(), 7.0f), dv2(v.size(), 7.0f);
  attention_backward_ref(dq1.data(), dk1.data(), dv1.data(), dy.data(), p1.data(), q.data(), k.data(), v.data(), B, T, NH, NKV,
                         HD, window);
  attention_backward(dq2.data(), dk2.data(), dv2.data(), dy.data(), y2.data(), lse.data(), q.data(), k.data(), v.data(),
                     scratch.data(), B, T, NH, NKV, HD, window, pool);
  EXPECT(max_rel(dq2, dq1) < 1e-5);
  EXPECT(max_rel(dk2, dk1) < 1e-5);
  EXPECT(max_rel(dv2, dv1) < 1e-5);
  // The same bits whatever the thread count (a single-threaded run of the fast kernels).
  if (pool) {
    Vec y3(y1.size()), lse3(lse.size()), dq3(q.size()), dk3(k.size()), dv3(v.size());
    Vec scratch1((size_t)attention_scratch_floats(T, 1));
    attention_forward(y3.data(), lse3.data(), q.data(), k.data(), v.data(), scratch1.data(), B, T, NH, NKV, HD, window, nullptr);
    attention_backward(dq3.data(), dk3.data(), dv3.data(), dy.data(), y3.data(), lse3.data(), q.data(), k.data(), v.data(),
                       scratch1.data(), B, T, NH, NKV, HD, window, nullptr);
    EXPECT(y3 == y2 && lse3 == lse && dq3 == dq2 && dk3 == dk2 && dv3 == dv2);
  }
  // bf16 products (bf16 training): within bf16 rounding of the f32 results (operands keep 8
  // significant bits; measured over these shapes: y and lse up to 5.5e-3 of the largest value,
  // the gradients up to 1.0e-2; the bounds are about twice that), really rounded (not f32's
  // bits), and the same bits with and without the pool.
  AttentionExtras bf16;
  bf16.bf16 = true;
  Vec y4(y1.size()), lse4(lse.size()), dq4(q.size()), dk4(k.size()), dv4(v.size());
  attention_forward(y4.data(), lse4.data(), q.data(), k.data(), v.data(), scratch.data(), B, T, NH, NKV, HD, window, pool, &bf16);
  attention_backward(dq4.data(), dk4.data(), dv4.data(), dy.data(), y4.data(), lse4.data(), q.data(), k.data(), v.data(),
                     scratch.data(), B, T, NH, NKV, HD, window, pool, &bf16);
  EXPECT(max_rel(y4, y2) < 1.2e-2 && max_rel(lse4, lse) < 1.2e-2);
  EXPECT(max_rel(dq4, dq2) < 2.5e-2 && max_rel(dk4, dk2) < 2.5e-2 && max_rel(dv4, dv2) < 2.5e-2);
  EXPECT(y4 != y2 && dq4 != dq2);
  if (pool) {
    Vec y5(y1.size()), lse5(lse.size()), dq5(q.size()), dk5(k.size()), dv5(v.size());
    Vec scratch1((size_t)attention_scratch_floats(T, 1));
    attention_forward(y5.data(), lse5.data(), q.data(), k.data(), v.data(), scratch1.data(), B, T, NH, NKV, HD, window, nullptr, &bf16);
    attention_backward(dq5.data(), dk5.data(), dv5.data(), dy.data(), y5.data(), lse5.data(), q.data(), k.data(), v.data(),
                       scratch1.data(), B, T, NH, NKV, HD, window, nullptr, &bf16);
    EXPECT(y5 == y4 && lse5 == lse4 && dq5 == dq4 && dk5 == dk4 && dv5 == dv4);
  }
  if (!finite_differences) return;
  // Reference backward vs finite differences of L = <dy, attention(q, k, v)>.
  auto loss = [&] {
    Vec y(y1.size()), p(p1.size());
    attention_forward_ref(y.data(), p.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HD, window);
    return dot(y, dy);
  };
  for (int i : {0, 40, 300, 700}) EXPECT_NEAR(numgrad(loss, q[i]), dq1[i], 3e-3 * (1 + std::fabs(dq1[i])));
  for (int i : {3, 100, 350}) EXPECT_NEAR(numgrad(loss, k[i]), dk1[i], 3e-3 * (1 + std::fabs(dk1[i])));
  for (int i : {5, 200, 400}) EXPECT_NEAR(numgrad(loss, v[i]), dv1[i], 3e-3 * (1 + std::fabs(dv1[i])));
}

// A window of W >= T is no window at all: the very same bits as plain causal attention.
static void test_attention_wide_window(ThreadPool* pool) {
  const int B = 1, T = 70, NH = 2, NKV = 1, HD = 8, N = B * T;
  Vec q = randn(N * NH * HD, 1.0f, rng), k = randn(N * NKV * HD, 1.0f, rng), v = randn(N * NKV * HD, 1.0f, rng), dy = randn(N * NH * HD, 1.0f, rng);
  Vec scratch((size_t)attention_scratch_floats(T, pool ? pool->size() : 1));
  Vec ya(q.size()), yb(q.size()), la((size_t)NH * T), lb((size_t)NH * T);
  Vec dqa(q.size()), dka(k.size()), dva(v.size()), dqb(q.size()), dkb(k.size()), dvb(v.size());
  attention_forward(ya.data(), la.data(), q.data(), k.data(), v.data(), scratch.data(), B, T, NH, NKV, HD, 0, pool);
  attention_forward(yb.data(), lb.data(), q.data(), k.data(), v.data(), scratch.data(), B, T, NH, NKV, HD, T, pool);
  attention_backward(dqa.data(), dka.data(), dva.data(), dy.data(), ya.data(), la.data(), q.data(), k.data(), v.data(),
                     scratch.data(), B, T, NH, NKV, HD, 0, pool);
  attention_backward(dqb.data(), dkb.data(), dvb.data(), dy.data(), yb.data(), lb.data(), q.data(), k.data(), v.data(),
                     scratch.data(), B, T, NH, NKV, HD, T, pool);
  EXPECT(ya == yb && la == lb && dqa == dqb && dka == dkb && dva == dvb);
}

static void test_cross_entropy(ThreadPool* pool, int N, int V) {
  Vec logits = randn((size_t)N * V, 2.0f, rng);
  std::vector<uint32_t> tgt(N);
  std::vector<uint8_t> mask(N);
  for (int n = 0; n < N; n++) { tgt[n] = (uint32_t)(n * 7 % V); mask[n] = n % 3 != 0; }
  Vec l1(N), l2(N), lse(N);
  float m1 = cross_entropy_forward_ref(l1.data(), logits.data(), tgt.data(), mask.data(), N, V);
  float m2 = cross_entropy_forward(l2.data(), lse.data(), logits.data(), tgt.data(), mask.data(), N, V, pool);
  EXPECT_NEAR(m1, m2, 1e-5 * m1);
  EXPECT(max_rel(l2, l1) < 1e-6);
  for (int n = 0; n < N; n++) {
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < V; j++) mx = std::max(mx, (double)logits[(size_t)n * V + j]);
    for (int j = 0; j < V; j++) sum += std::exp(logits[(size_t)n * V + j] - mx);
    EXPECT_NEAR(lse[n], mask[n] ? mx + std::log(sum) : 0.0, 1e-6 * (1 + std::fabs(mx)));
  }
  Vec d1((size_t)N * V), d2 = logits;
  cross_entropy_backward_ref(d1.data(), logits.data(), tgt.data(), mask.data(), N, V, 0.5f);
  cross_entropy_backward_inplace(d2.data(), lse.data(), tgt.data(), mask.data(), N, V, 0.5f, pool);
  EXPECT(max_rel(d2, d1) < 1e-6);
  // The same bits with and without threads.
  Vec l3(N), lse3(N), d3 = logits;
  EXPECT(cross_entropy_forward(l3.data(), lse3.data(), logits.data(), tgt.data(), mask.data(), N, V, nullptr) == m2);
  EXPECT(l3 == l2 && lse3 == lse);
  cross_entropy_backward_inplace(d3.data(), lse3.data(), tgt.data(), mask.data(), N, V, 0.5f, nullptr);
  EXPECT(d3 == d2);
  // mask == nullptr counts every row: the same as an all-ones mask.
  std::vector<uint8_t> all(N, 1);
  Vec l4(N), lse4(N), d4 = logits, d5 = logits;
  float m4 = cross_entropy_forward(l4.data(), lse4.data(), logits.data(), tgt.data(), all.data(), N, V, pool);
  EXPECT(cross_entropy_forward(l3.data(), lse3.data(), logits.data(), tgt.data(), nullptr, N, V, pool) == m4);
  EXPECT(l3 == l4 && lse3 == lse4);
  cross_entropy_backward_inplace(d4.data(), lse4.data(), tgt.data(), all.data(), N, V, 2.0f, pool);
  cross_entropy_backward_inplace(d5.data(), lse4.data(), tgt.data(), nullptr, N, V, 2.0f, pool);
  EXPECT(d4 == d5);
  if (V <= 64) {  // finite differences of the reference (slow for a large vocabulary)
    auto loss = [&] {
      Vec l(N);
      return 0.5 * cross_entropy_forward_ref(l.data(), logits.data(), tgt.data(), mask.data(), N, V);
    };
    for (int i : {0, 51, 60, 333, 549}) EXPECT_NEAR(numgrad(loss, logits[i], 1e-2f), d1[i], 1e-3);
  }
  // No masked token: loss 0 and zero gradient, not NaN.
  std::vector<uint8_t> none(N, 0);
  EXPECT(cross_entropy_forward(l2.data(), lse.data(), logits.data(), tgt.data(), none.data(), N, V, pool) == 0.0f);
  Vec d6 = logits;
  cross_entropy_backward_inplace(d6.data(), lse.data(), tgt.data(), none.data(), N, V, 1.0f, pool);
  EXPECT(*std::max_element(d6.begin(), d6.end()) == 0.0f && *std::min_element(d6.begin(), d6.end()) == 0.0f);
  // A NaN logit gives a NaN loss (the trainer stops on non-finite losses).
  Vec bad = logits;
  bad[(size_t)1 * V + V / 2] = NAN;
  EXPECT(std::isnan(cross_entropy_forward(l2.data(), lse.data(), bad.data(), tgt.data(), mask.data(), N, V, pool)));
}

static void test_fast_expf() {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.000731f) {
    double r = std::exp((double)x);
    worst = std::max(worst, std::fabs(fast_expf(x) - r) / r);
  }
  EXPECT(worst < 3e-7);
  EXPECT(fast_expf(0.0f) == 1.0f);
  EXPECT(std::isnan(fast_expf(NAN)));
  EXPECT(fast_expf(-1000.0f) < 1e-37f && fast_expf(-1000.0f) >= 0.0f);
  EXPECT(std::isfinite(fast_expf(1000.0f)));
}

static void test_dropout_mask() {
  // Deterministic, keeps ~(1 - p), independent across streams.
  int kept = 0, same = 0;
  for (int i = 0; i < 100000; i++) {
    bool a = dropout_keep(7, 1, i, 0.3f);
    kept += a;
    EXPECT(a == dropout_keep(7, 1, i, 0.3f));
    same += a == dropout_keep(7, 2, i, 0.3f);
  }
  EXPECT(std::abs(kept - 70000) < 800);
  EXPECT(std::abs(same - 58000) < 1000);  // independent streams agree 0.7^2 + 0.3^2 of the time
}

// bf16 attention on both paths where this CPU has AVX512_BF16: the packed products give the
// bits of a gemm_bf16 call per product where both start a block's keys at the same place (plain
// causal attention), and agree up to the order of f32 sums where the packed products widen a
// block's keys down to a 32-key sliver (windows, packed records); head sizes that fill part of a
// 32-column sliver; a group of heads sharing keys (packed once for the group).
static void test_attention_bf16_paths(ThreadPool* pool) {
  const GemmBf16Kernel* packed = gemm_bf16_native_kernel();
  if (!packed) return;  // the packed path needs AVX512_BF16; test_attention covers the other
  struct Case {
    int B, T, NH, NKV, HD, window, record;  // record: length of each packed record (0: none)
  };
  for (const Case c : {Case{2, 150, 4, 2, 24, 0, 0}, Case{1, 256, 2, 1, 64, 0, 0}, Case{2, 150, 4, 2, 24, 40, 0},
                       Case{1, 200, 2, 2, 80, 0, 45}, Case{2, 97, 6, 2, 16, 23, 30}}) {
    const int N = c.B * c.T, QN = N * c.NH * c.HD, KN = N * c.NKV * c.HD;
    Vec q = randn(QN, 1.0f, rng), k = randn(KN, 1.0f, rng), v = randn(KN, 1.0f, rng), dy = randn(QN, 1.0f, rng);
    std::vector<int32_t> starts((size_t)N);
    for (int i = 0; i < N; i++) starts[i] = c.record ? i % c.T / c.record * c.record : 0;
    const int32_t* ss = c.record ? starts.data() : nullptr;
    Vec scratch((size_t)attention_scratch_floats(c.T, pool ? pool->size() : 1));
    AttentionExtras ex;
    ex.bf16 = true;
    Vec y[2], lse[2], dq[2], dk[2], dv[2];
    for (int path = 0; path < 2; path++) {
      const GemmBf16Kernel* kern = path ? packed : nullptr;
      y[path].resize(QN), lse[path].resize((size_t)c.B * c.NH * c.T), dq[path].resize(QN);
      dk[path].assign(KN, 7.0f), dv[path].assign(KN, 7.0f);  // overwritten, not added to
      attention_forward_on(kern, y[path].data(), lse[path].data(), q.data(), k.data(), v.data(), scratch.data(), c.B, c.T,
                           c.NH, c.NKV, c.HD, c.window, pool, &ex, ss);
      attention_backward_on(kern, dq[path].data(), dk[path].data(), dv[path].data(), dy.data(), y[path].data(),
                            lse[path].data(), q.data(), k.data(), v.data(), scratch.data(), c.B, c.T, c.NH, c.NKV, c.HD,
                            c.window, pool, &ex, ss);
    }
    if (c.window == 0 && c.record == 0) {
      EXPECT(y[1] == y[0] && lse[1] == lse[0] && dq[1] == dq[0] && dk[1] == dk[0] && dv[1] == dv[0]);
    } else {
      EXPECT(max_rel(y[1], y[0]) < 1e-5 && max_rel(lse[1], lse[0]) < 1e-5);
      EXPECT(max_rel(dq[1], dq[0]) < 1e-5 && max_rel(dk[1], dk[0]) < 1e-5 && max_rel(dv[1], dv[0]) < 1e-5);
    }
  }
}

int main() {
  ThreadPool pool(2);
  for (ThreadPool* p : {(ThreadPool*)nullptr, &pool}) {
    test_rmsnorm(p);
    test_rope(p);
    test_elementwise_fast(p);
    test_attention(p, 2, 13, 4, 2, 8, 0, true);
    test_attention(p, 2, 150, 4, 1, 8, 0, false);  // several causal row blocks, a partial last one
    test_attention(p, 2, 13, 4, 2, 8, 5, true);    // sliding window inside one row block
    test_attention(p, 2, 150, 4, 1, 8, 5, false);  // W < 64: most key blocks skipped
    test_attention(p, 1, 200, 4, 2, 8, 64, false);  // W = one row block
    test_attention(p, 2, 150, 4, 2, 8, 100, false);  // W not a multiple of 64, window edge inside blocks
    test_attention(p, 1, 150, 2, 1, 8, 150, false);  // W = T: plain causal
    test_attention(p, 1, 150, 2, 1, 8, 1000, false);  // W > T
    test_attention_wide_window(p);
    test_attention_bf16_paths(p);
    test_cross_entropy(p, 11, 50);
    test_cross_entropy(p, 9, 32001);  // vector blocks, a scalar tail
  }
  test_swiglu();
  test_fast_expf();
  test_dropout_mask();
  return finish("test_ops");
}
