// The AVX-512 vector table computes the AVX2 table's bits (vector_kernels.cpp says why),
// so a training run does not change with the table a CPU picks: every kernel of both tables on
// the same inputs, lengths around both widths (tails of 1-15 past a 16-element step), equal to
// the last bit. Skipped on CPUs without AVX-512.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "check_macros.h"
#include "random_values.h"
#include "vector_tables.h"

using namespace tuner;

namespace {


void same(const char* what, int64_t n, const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0) {
    std::fprintf(stderr, "%s n=%lld: the AVX-512 table's bits differ from the AVX2 table's\n", what, (long long)n);
    EXPECT(false);
  }
}

void check(const VectorKernels& w, const VectorKernels& a, int64_t n, std::mt19937& rng) {
  const std::vector<float> x = randn(n, 3.0f, rng), y = randn(n, 1.0f, rng), z = randn(n, 0.5f, rng);
  EXPECT(w.row_max(x.data(), n) == a.row_max(x.data(), n));
  EXPECT(w.sum_exp(x.data(), n, 1.5f) == a.sum_exp(x.data(), n, 1.5f));
  EXPECT(w.log_sum_exp(x.data(), n) == a.log_sum_exp(x.data(), n));
  EXPECT(w.sum_squares(x.data(), n) == a.sum_squares(x.data(), n));
  {
    std::vector<float> p = x, q = x;
    w.exp_scale(p.data(), n, 4.0f, 0.3f);
    a.exp_scale(q.data(), n, 4.0f, 0.3f);
    same("exp_scale", n, p, q);
  }
  // Element-wise kernels: every output of both tables.
  std::vector<float> o1(n), o2(n), d1(n), d2(n), e1(n), e2(n);
  w.swiglu_forward(o1.data(), x.data(), y.data(), n);
  a.swiglu_forward(o2.data(), x.data(), y.data(), n);
  same("swiglu_forward", n, o1, o2);
  w.swiglu_forward_backward(o1.data(), d1.data(), e1.data(), z.data(), x.data(), y.data(), n);
  a.swiglu_forward_backward(o2.data(), d2.data(), e2.data(), z.data(), x.data(), y.data(), n);
  same("swiglu_forward_backward", n, o1, o2), same("swiglu dgate", n, d1, d2), same("swiglu dup", n, e1, e2);
  w.gelu_forward_backward(o1.data(), d1.data(), z.data(), x.data(), n);
  a.gelu_forward_backward(o2.data(), d2.data(), z.data(), x.data(), n);
  same("gelu_forward_backward", n, o1, o2), same("gelu dx", n, d1, d2);
  w.geglu_forward_backward(o1.data(), d1.data(), e1.data(), z.data(), x.data(), y.data(), n);
  a.geglu_forward_backward(o2.data(), d2.data(), e2.data(), z.data(), x.data(), y.data(), n);
  same("geglu_forward_backward", n, o1, o2), same("geglu dgate", n, d1, d2), same("geglu dup", n, e1, e2);
  w.add(o1.data(), x.data(), y.data(), n);
  a.add(o2.data(), x.data(), y.data(), n);
  same("add", n, o1, o2);
  {
    const AdamWScalars s{0.9f, 0.999f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f, 0.03f, 1e-8f};
    std::vector<float> w1 = x, m1 = y, v1(n, 0.01f), w2 = x, m2 = y, v2(n, 0.01f);
    w.adamw_update(w1.data(), m1.data(), v1.data(), z.data(), n, s);
    a.adamw_update(w2.data(), m2.data(), v2.data(), z.data(), n, s);
    same("adamw w", n, w1, w2), same("adamw m", n, m1, m2), same("adamw v", n, v1, v2);
  }
  // Rows: norms (rows of n), the norm weight's column sums, decode attention (head size n).
  const int64_t rows = 3;
  const std::vector<float> in = randn(rows * n, 1.0f, rng), dout = randn(rows * n, 1.0f, rng), gamma = randn(n, 1.0f, rng);
  std::vector<float> r1(rows * n), r2(rows * n), s1(rows), s2(rows), m1(rows), m2(rows);
  w.rmsnorm_forward_rows(r1.data(), s1.data(), in.data(), gamma.data(), rows, n, 1e-6f);
  a.rmsnorm_forward_rows(r2.data(), s2.data(), in.data(), gamma.data(), rows, n, 1e-6f);
  same("rmsnorm_forward_rows", n, r1, r2), same("rmsnorm rstd", n, s1, s2);
  w.rmsnorm_backward_rows(r1.data(), dout.data(), in.data(), gamma.data(), s2.data(), rows, n, false);
  a.rmsnorm_backward_rows(r2.data(), dout.data(), in.data(), gamma.data(), s2.data(), rows, n, false);
  same("rmsnorm_backward_rows", n, r1, r2);
  std::vector<float> c1(n, 0.0f), c2(n, 0.0f);
  w.rmsnorm_dweight_block(c1.data(), dout.data(), in.data(), s2.data(), rows, n, n);
  a.rmsnorm_dweight_block(c2.data(), dout.data(), in.data(), s2.data(), rows, n, n);
  same("rmsnorm_dweight_block", n, c1, c2);
  w.layernorm_forward_rows(r1.data(), m1.data(), s1.data(), in.data(), gamma.data(), nullptr, rows, n, 1e-5f);
  a.layernorm_forward_rows(r2.data(), m2.data(), s2.data(), in.data(), gamma.data(), nullptr, rows, n, 1e-5f);
  same("layernorm_forward_rows", n, r1, r2), same("layernorm mean", n, m1, m2), same("layernorm rstd", n, s1, s2);
  w.layernorm_backward_rows(r1.data(), dout.data(), in.data(), gamma.data(), m2.data(), s2.data(), rows, n, false);
  a.layernorm_backward_rows(r2.data(), dout.data(), in.data(), gamma.data(), m2.data(), s2.data(), rows, n, false);
  same("layernorm_backward_rows", n, r1, r2);
  const int64_t keys = 7, heads = 2;
  const std::vector<float> q = randn(heads * n, 1.0f, rng), kv = randn(keys * n, 1.0f, rng), p = randn(heads * keys, 1.0f, rng);
  std::vector<float> t1(heads * keys), t2(heads * keys), y1(heads * n), y2(heads * n);
  w.attention_scores(t1.data(), keys, q.data(), kv.data(), keys, n, n, 0, heads, heads, 0.125f);
  a.attention_scores(t2.data(), keys, q.data(), kv.data(), keys, n, n, 0, heads, heads, 0.125f);
  same("attention_scores", n, t1, t2);
  w.attention_weighted_sum(y1.data(), p.data(), keys, kv.data(), keys, n, n, 0, heads, heads);
  a.attention_weighted_sum(y2.data(), p.data(), keys, kv.data(), keys, n, n, 0, heads, heads);
  same("attention_weighted_sum", n, y1, y2);
}

}  // namespace

int main() {
  const CpuFeatures& f = cpu_features();
  if (!(f.avx2 && f.fma && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl)) {
    std::printf("test_vk_tables_agree: no AVX-512 here, nothing to compare\n");
    return finish("test_vk_tables_agree");
  }
  std::mt19937 rng(11);
  int lengths = 0;
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257, 512, 1000, 4099}) {
    check(vector_kernels_avx512(), vector_kernels_avx2(), n, rng);
    ++lengths;
  }
  std::printf("test_vk_tables_agree: %d lengths, every kernel of the AVX-512 and AVX2 tables\n", lengths);
  return finish("test_vk_tables_agree");
}
