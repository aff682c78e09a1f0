// cuda_ops (src/cuda/cuda_ops.cu) against host_ops (the CPU engine's kernels behind the same
// DeviceOps interface): every op runs on both with the same seeded inputs, uploaded and
// downloaded through the ops themselves, and the results are compared. Limits:
//   exact (every bit)  memory round trips, to_bf16 / to_f32, embedding forward and backward, dequantize
//                      (also against f32_to_bf16 of the CPU's dequantize_matrix), the dropout mask;
//   bf16 products      |gpu - host| <= 2e-5 x (|alpha| sum_k |a||b| + |beta c|) per element (the
//                      products are exact in fp32, only the summation order differs);
//   qgemm              4e-3 x sum_k |x||w| (the GPU decodes weights to bf16, which rounds them by up
//                      to 2^-9; the host may multiply them in fp32);
//   sums over rows     1e-5 x the sum of the terms' magnitudes (bias gradient);
//   element-wise fp32  1e-5 of the largest value (FMA contraction, tanhf, reduction order in
//                      RMSNorm / LayerNorm, cross-entropy's row sums); optimizers 1e-6 after 3
//                      steps; dropout's kept values 1e-6; the q/k/v split and merge exact;
//   attention          y 1e-2, lse 1e-3, gradients 2e-2 of the largest value (test_cuda_attention's:
//                      P and dS are rounded to bf16 for the tensor-core products); decode's y 1e-2;
//   gemv_bf16, qgemv   1e-5 x (sum_k |x||w| + |y|) (fp32 products of the same weights, other order);
//   sum_squares        2e-12 relative to host_ops (double sums in another order), 1e-13 to a long
//                      double sum;
// and the GPU's own reductions are checked for being the same bits on a second run (bias gradient,
// sum_squares). Also: out of memory is cuda_out_of_memory and the ops keep working after it,
// in_use / peak (alloc and quantized weights) / total / free, release of an unknown pointer, a
// missing GPU is no_cuda_device.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cuda_test_util.cuh"
#include "device/device_ops.h"
#include "tuner/dtype.h"
#include "tuner/error.h"
#include "tuner/quant.h"

using namespace tuner;
using namespace tuner::dev;
using tuner::cuda_test::close_enough;
using tuner::cuda_test::random_vector;

namespace {

DeviceOps* H = nullptr;  // host_ops, the reference
DeviceOps* G = nullptr;  // cuda_ops, under test
int g_failed = 0;

// The same array on both ops.
template <typename T>
struct Pair {
  DeviceArray<T> h, g;
  explicit Pair(const std::vector<T>& init) : h(*H, (int64_t)init.size()), g(*G, (int64_t)init.size()) { put(init); }
  explicit Pair(size_t n) : Pair(std::vector<T>(n, T{})) {}
  void put(const std::vector<T>& v) {
    H->upload(h.get(), v.data(), v.size() * sizeof(T));
    G->upload(g.get(), v.data(), v.size() * sizeof(T));
  }
  std::vector<T> host() const {
    std::vector<T> v(h.size());
    H->download(v.data(), h.get(), h.bytes());
    return v;
  }
  std::vector<T> gpu() const {
    std::vector<T> v(g.size());
    G->download(v.data(), g.get(), g.bytes());
    return v;
  }
};

void report(const char* name, bool ok, const std::string& detail) {
  std::printf("%-52s %s %s\n", name, detail.c_str(), ok ? "ok" : "FAIL");
  if (!ok) ++g_failed;
}

// Every element's bits equal (NaN included).
template <typename T>
void check_exact(const char* name, const std::vector<T>& got, const std::vector<T>& want) {
  size_t wrong = got.size() == want.size() ? 0 : 1;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) wrong += std::memcmp(&got[i], &want[i], sizeof(T)) != 0;
  report(name, wrong == 0, std::to_string(wrong) + " of " + std::to_string(want.size()) + " differ;");
}

void check_rel(const char* name, const std::vector<float>& got, const std::vector<float>& want, double tol) {
  if (!close_enough(name, got, want, tol)) ++g_failed;
}

// |got - want| <= tol * bound[i] for every element (bound: the sum of the terms' magnitudes).
void check_bound(const char* name, const std::vector<float>& got, const std::vector<float>& want,
                 const std::vector<double>& bound, double tol) {
  double worst = 0;
  bool ok = got.size() == want.size() && want.size() == bound.size();
  for (size_t i = 0; ok && i < want.size(); ++i) {
    const double err = std::fabs((double)got[i] - want[i]);
    const double b = bound[i] > 0 ? bound[i] : 1e-30;
    worst = std::fmax(worst, err / b);
    if (!(err <= tol * b)) ok = false;  // NaN fails too
  }
  char detail[96];
  std::snprintf(detail, sizeof detail, "max error %.3g of the terms' magnitude (limit %.3g)", worst, tol);
  report(name, ok, detail);
}

void expect_error(const char* name, const std::function<void()>& fn, const char* code) {
  try {
    fn();
  } catch (const TunerError& e) {
    report(name, e.code() == code, std::string("threw ") + e.code() + " (" + e.what() + ");");
    return;
  }
  report(name, false, std::string("did not throw ") + code + ";");
}

std::vector<uint16_t> bf16_vector(size_t n, unsigned seed, float scale = 1.0f) {
  const std::vector<float> f = random_vector(n, seed, scale);
  std::vector<uint16_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = f32_to_bf16(f[i]);
  return b;
}

std::vector<float> to_float(const std::vector<uint16_t>& b) {
  std::vector<float> f(b.size());
  for (size_t i = 0; i < b.size(); ++i) f[i] = bf16_to_f32(b[i]);
  return f;
}

void test_memory() {
  report("kind is cuda", std::string(G->kind()) == "cuda", std::string("\"") + G->kind() + "\";");
  report("device name", !G->device_name().empty(), "\"" + G->device_name() + "\";");
  const DeviceMemoryInfo before = G->memory();
  void* p = G->alloc(3 << 20);
  const DeviceMemoryInfo during = G->memory();
  G->release(p);
  const DeviceMemoryInfo after = G->memory();
  report("in_use and peak follow alloc / release",
         during.in_use == before.in_use + (3 << 20) && after.in_use == before.in_use && during.peak >= during.in_use &&
             after.peak == during.peak,
         "in_use " + std::to_string(before.in_use) + " -> " + std::to_string(during.in_use) + " -> " +
             std::to_string(after.in_use) + ", peak " + std::to_string(after.peak) + ";");
  report("total and free from the driver", during.total > 0 && during.free <= during.total,
         "total " + std::to_string(during.total >> 20) + " MiB, free " + std::to_string(during.free >> 20) + " MiB;");
  report("alloc(0) is null", G->alloc(0) == nullptr, "");
  G->release(nullptr);
  expect_error("release of a pointer alloc did not give", [] { G->release(&g_failed); }, "internal");
  const size_t too_much = 2 * during.total + (size_t(1) << 30);  // twice the GPU's memory
  expect_error("out of memory (twice the GPU's memory)", [too_much] { G->alloc(too_much); }, "cuda_out_of_memory");
  expect_error("a GPU this machine lacks", [] { make_cuda_ops(1 << 20); }, "no_cuda_device");

  // Round trips (after the failed allocation: it must not poison the next launches).
  const std::vector<float> x = random_vector(100003, 1);
  Pair<float> a(x), b(x.size());
  G->copy(b.g.get(), a.g.get(), a.g.bytes());
  check_exact("upload, copy, download", b.gpu(), x);
  G->fill_zero(b.g.get(), 40 * sizeof(float));
  std::vector<float> want = x;
  for (int i = 0; i < 40; ++i) want[i] = 0.0f;
  check_exact("fill_zero (first 40)", b.gpu(), want);

  // Small uploads are queued through pinned slots and return at once: the source is reused for
  // the next upload straight away, more uploads than there are slots, and each device array must
  // still hold what its source held when upload() was called.
  constexpr int kUploads = 20;
  std::vector<DeviceArray<float>> staged;
  std::vector<float> source(4099);
  for (int u = 0; u < kUploads; ++u) {
    for (size_t i = 0; i < source.size(); ++i) source[i] = float(u * 10000 + int(i));
    staged.emplace_back(*G, (int64_t)source.size());
    G->upload(staged.back().get(), source.data(), source.size() * sizeof(float));
  }
  bool staged_ok = true;
  std::vector<float> back(source.size());
  for (int u = 0; u < kUploads; ++u) {
    G->download(back.data(), staged[u].get(), back.size() * sizeof(float));
    for (size_t i = 0; i < back.size(); ++i) staged_ok = staged_ok && back[i] == float(u * 10000 + int(i));
  }
  report("staged uploads keep what the reused source held", staged_ok, std::to_string(kUploads) + " uploads of 16 KiB;");
}

void test_conversions() {
  // Ties both ways, subnormals, infinities, NaN, overflow to infinity, signed zeros, random.
  std::vector<float> x = random_vector(4099, 2, 100.0f);
  for (uint32_t bits : {0x3F808000u, 0x3F818000u, 0x00000001u, 0x80400000u, 0x7F800000u, 0xFF800000u, 0x7FC00001u,
                        0x7F7FFFFFu, 0x00000000u, 0x80000000u, 0x7F800001u})
    x.push_back(bits_to_f32(bits));
  Pair<float> in(x);
  Pair<uint16_t> out(x.size());
  H->to_bf16(out.h.get(), in.h.get(), (int64_t)x.size());
  G->to_bf16(out.g.get(), in.g.get(), (int64_t)x.size());
  const std::vector<uint16_t> got = out.gpu();
  check_exact("to_bf16 against host_ops", got, out.host());
  std::vector<uint16_t> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = f32_to_bf16(x[i]);
  check_exact("to_bf16 against f32_to_bf16", got, want);

  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = (uint16_t)i;
  Pair<uint16_t> b(all);
  Pair<float> f(all.size());
  H->to_f32(f.h.get(), b.h.get(), 65536);
  G->to_f32(f.g.get(), b.g.get(), 65536);
  check_exact("to_f32, every bf16 value", f.gpu(), f.host());
}

void test_gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, float beta, unsigned seed) {
  const int a_rows = ta == Trans::N ? M : K, a_cols = ta == Trans::N ? K : M;
  const int b_rows = tb == Trans::N ? K : N, b_cols = tb == Trans::N ? N : K;
  const std::vector<uint16_t> A = bf16_vector((size_t)a_rows * a_cols, seed), B = bf16_vector((size_t)b_rows * b_cols, seed + 1);
  const std::vector<float> C0 = random_vector((size_t)M * N, seed + 2);
  Pair<uint16_t> a(A), b(B);
  Pair<float> c(C0);
  H->gemm(ta, tb, M, N, K, alpha, a.h.get(), a_cols, b.h.get(), b_cols, beta, c.h.get(), N);
  G->gemm(ta, tb, M, N, K, alpha, a.g.get(), a_cols, b.g.get(), b_cols, beta, c.g.get(), N);
  const std::vector<float> fa = to_float(A), fb = to_float(B);
  std::vector<double> bound((size_t)M * N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) {
        const float av = ta == Trans::N ? fa[(size_t)i * a_cols + k] : fa[(size_t)k * a_cols + i];
        const float bv = tb == Trans::N ? fb[(size_t)k * b_cols + j] : fb[(size_t)j * b_cols + k];
        s += std::fabs((double)av * bv);
      }
      bound[(size_t)i * N + j] = std::fabs(alpha) * s + std::fabs((double)beta * C0[(size_t)i * N + j]);
    }
  char name[96];
  std::snprintf(name, sizeof name, "gemm %s%s M%d N%d K%d alpha %g beta %g", ta == Trans::N ? "N" : "T",
                tb == Trans::N ? "N" : "T", M, N, K, alpha, beta);
  check_bound(name, c.gpu(), c.host(), bound, 2e-5);
}

void test_quant(QuantType t, int R, int K, int M, unsigned seed) {
  const std::vector<float> w = random_vector((size_t)R * K, seed, 0.05f);
  const QuantMatrix q = quantize_matrix(w.data(), R, K, t, nullptr);
  std::vector<float> deq((size_t)R * K);
  dequantize_matrix(deq.data(), q);
  const size_t in_use_before = G->memory().in_use;
  const std::unique_ptr<DeviceQuantWeight> hw = H->upload_quant(q), gw = G->upload_quant(q);
  char name[96];
  std::snprintf(name, sizeof name, "upload_quant %s [%d, %d] shape and in_use", quant_type_name(t), R, K);
  report(name,
         gw->rows() == R && gw->cols() == K && gw->bytes() >= q.bytes() &&
             G->memory().in_use == in_use_before + gw->bytes(),
         "rows " + std::to_string(gw->rows()) + ", cols " + std::to_string(gw->cols()) + ", " +
             std::to_string(gw->bytes()) + " bytes;");

  Pair<uint16_t> d((size_t)R * K);
  H->dequantize(d.h.get(), *hw);
  G->dequantize(d.g.get(), *gw);
  const std::vector<uint16_t> got = d.gpu();
  std::vector<uint16_t> want(deq.size());
  for (size_t i = 0; i < deq.size(); ++i) want[i] = f32_to_bf16(deq[i]);
  std::snprintf(name, sizeof name, "dequantize %s against the CPU's dequantize_matrix", quant_type_name(t));
  check_exact(name, got, want);
  std::snprintf(name, sizeof name, "dequantize %s against host_ops", quant_type_name(t));
  check_rel(name, to_float(got), to_float(d.host()), 4e-3);
  const DeviceQuantWeight& host_weight = *hw;
  expect_error("dequantize refuses a host_ops weight", [&] { G->dequantize(d.g.get(), host_weight); }, "internal");

  const std::vector<uint16_t> X = bf16_vector((size_t)M * K, seed + 1);
  const std::vector<float> fx = to_float(X);
  std::vector<double> bound((size_t)M * R);
  for (int m = 0; m < M; ++m)
    for (int r = 0; r < R; ++r) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += std::fabs((double)fx[(size_t)m * K + k] * deq[(size_t)r * K + k]);
      bound[(size_t)m * R + r] = s;
    }
  for (const bool accumulate : {false, true}) {
    const std::vector<float> Y0 = random_vector((size_t)M * R, seed + 2, 0.1f);
    std::vector<double> b = bound;
    if (accumulate)
      for (size_t i = 0; i < b.size(); ++i) b[i] += std::fabs(Y0[i]);
    Pair<uint16_t> x(X);
    Pair<float> y(Y0);
    H->qgemm(y.h.get(), R, x.h.get(), K, *hw, M, accumulate);
    G->qgemm(y.g.get(), R, x.g.get(), K, *gw, M, accumulate);
    std::snprintf(name, sizeof name, "qgemm %s M%d R%d K%d%s", quant_type_name(t), M, R, K, accumulate ? " +=" : "");
    check_bound(name, y.gpu(), y.host(), b, 4e-3);
  }
}

void test_vector_ops() {
  const int64_t n = 100003;
  const std::vector<float> a0 = random_vector(n, 3), b0 = random_vector(n, 4);
  {
    Pair<float> a(a0), b(b0), out((size_t)n);
    H->add(out.h.get(), a.h.get(), b.h.get(), n);
    G->add(out.g.get(), a.g.get(), b.g.get(), n);
    check_rel("add", out.gpu(), out.host(), 1e-5);
    H->add(a.h.get(), a.h.get(), b.h.get(), n);  // out is a
    G->add(a.g.get(), a.g.get(), b.g.get(), n);
    check_rel("add in place", a.gpu(), a.host(), 1e-5);
  }
  {
    Pair<float> y(a0), x(b0);
    H->axpy(y.h.get(), -0.75f, x.h.get(), n);
    G->axpy(y.g.get(), -0.75f, x.g.get(), n);
    check_rel("axpy", y.gpu(), y.host(), 1e-5);
    H->scale(y.h.get(), 0.3f, n);
    G->scale(y.g.get(), 0.3f, n);
    check_rel("scale", y.gpu(), y.host(), 1e-5);
  }
}

// A gated activation (SwiGLU, GeGLU): forward and both input gradients.
using GatedForward = void (DeviceOps::*)(float*, const float*, const float*, int64_t);
using GatedBackward = void (DeviceOps::*)(float*, float*, const float*, const float*, const float*, int64_t);
void test_gated(const std::string& name, GatedForward forward, GatedBackward backward, unsigned seed) {
  const int64_t n = 100003;
  Pair<float> g(random_vector(n, seed, 4.0f)), u(random_vector(n, seed + 1, 2.0f)), d(random_vector(n, seed + 2));
  Pair<float> out((size_t)n), dg((size_t)n), du((size_t)n);
  (H->*forward)(out.h.get(), g.h.get(), u.h.get(), n);
  (G->*forward)(out.g.get(), g.g.get(), u.g.get(), n);
  check_rel((name + " forward").c_str(), out.gpu(), out.host(), 1e-5);
  (H->*backward)(dg.h.get(), du.h.get(), d.h.get(), g.h.get(), u.h.get(), n);
  (G->*backward)(dg.g.get(), du.g.get(), d.g.get(), g.g.get(), u.g.get(), n);
  check_rel((name + " backward dgate").c_str(), dg.gpu(), dg.host(), 1e-5);
  check_rel((name + " backward dup").c_str(), du.gpu(), du.host(), 1e-5);
}

void test_bias() {
  const int N = 300, C = 70;  // 300 rows: several chunks of the GPU's fixed-order column sums
  const std::vector<float> y0 = random_vector((size_t)N * C, 8), bias = random_vector(C, 9), dy = random_vector((size_t)N * C, 10);
  Pair<float> y(y0), b(bias), d(dy);
  H->bias_forward(y.h.get(), b.h.get(), N, C);
  G->bias_forward(y.g.get(), b.g.get(), N, C);
  check_rel("bias forward", y.gpu(), y.host(), 1e-5);
  const std::vector<float> db0 = random_vector(C, 11);
  Pair<float> db(db0);
  H->bias_backward(db.h.get(), d.h.get(), N, C);
  G->bias_backward(db.g.get(), d.g.get(), N, C);
  std::vector<double> bound(C);
  for (int c = 0; c < C; ++c) {
    bound[c] = std::fabs(db0[c]);
    for (int r = 0; r < N; ++r) bound[c] += std::fabs(dy[(size_t)r * C + c]);
  }
  const std::vector<float> first = db.gpu();
  check_bound("bias backward (column sums, += into dbias)", first, db.host(), bound, 1e-5);
  db.put(db0);
  G->bias_backward(db.g.get(), d.g.get(), N, C);
  check_exact("bias backward, second run: the same bits", db.gpu(), first);
}

void test_embedding() {
  const int V = 50, N = 200, C = 96;
  const float scale = 1.5f;
  const std::vector<float> table = random_vector((size_t)V * C, 12);
  std::vector<uint32_t> tokens(N);
  for (int i = 0; i < N; ++i) tokens[i] = (uint32_t)((i * 37 + i / 3) % V);  // every token repeats
  Pair<float> t(table), out((size_t)N * C);
  Pair<uint32_t> tok(tokens);
  H->embedding_forward(out.h.get(), t.h.get(), tok.h.get(), N, C, scale);
  G->embedding_forward(out.g.get(), t.g.get(), tok.g.get(), N, C, scale);
  check_exact("embedding forward", out.gpu(), out.host());

  const std::vector<float> dout = random_vector((size_t)N * C, 13), dt0 = random_vector((size_t)V * C, 14);
  Pair<float> d(dout), dt(dt0);
  H->embedding_backward(dt.h.get(), d.h.get(), tok.h.get(), N, C, scale);
  G->embedding_backward(dt.g.get(), d.g.get(), tok.g.get(), N, C, scale);
  // Each row's additions in position order, rounded one by one on both: the same bits, run after run.
  const std::vector<float> first = dt.gpu();
  check_exact("embedding backward (repeated tokens)", first, dt.host());
  Pair<float> again(dt0);
  G->embedding_backward(again.g.get(), d.g.get(), tok.g.get(), N, C, scale);
  check_exact("embedding backward, second run", again.gpu(), first);
}

void test_rmsnorm() {
  const int N = 33, C = 1000;
  const std::vector<float> x = random_vector((size_t)N * C, 15, 3.0f), w = random_vector(C, 16), dy = random_vector((size_t)N * C, 17);
  Pair<float> in(x), wt(w), out((size_t)N * C), rstd((size_t)N), d(dy);
  H->rmsnorm_forward(out.h.get(), rstd.h.get(), in.h.get(), wt.h.get(), N, C, 1e-5f);
  G->rmsnorm_forward(out.g.get(), rstd.g.get(), in.g.get(), wt.g.get(), N, C, 1e-5f);
  check_rel("rmsnorm forward", out.gpu(), out.host(), 1e-5);
  check_rel("rmsnorm rstd", rstd.gpu(), rstd.host(), 1e-5);
  for (const bool accumulate : {false, true}) {
    const std::vector<float> dx0 = random_vector((size_t)N * C, 18), dw0 = random_vector(C, 19);
    Pair<float> dx(dx0), dw(dw0);
    H->rmsnorm_backward(dx.h.get(), accumulate ? dw.h.get() : nullptr, d.h.get(), in.h.get(), wt.h.get(), rstd.h.get(), N, C,
                        accumulate);
    G->rmsnorm_backward(dx.g.get(), accumulate ? dw.g.get() : nullptr, d.g.get(), in.g.get(), wt.g.get(), rstd.g.get(), N, C,
                        accumulate);
    check_rel(accumulate ? "rmsnorm backward dinp (+=)" : "rmsnorm backward dinp (=, frozen weight)", dx.gpu(), dx.host(), 1e-5);
    if (accumulate) check_rel("rmsnorm backward dweight", dw.gpu(), dw.host(), 1e-5);
  }
}

// The other architectures' ops: LayerNorm with and without bias, GELU, GeGLU, soft-capping and
// the fused q/k/v split / merge.
void test_arch_ops() {
  {
    const int N = 33, C = 1000;
    const std::vector<float> x = random_vector((size_t)N * C, 90, 3.0f), w = random_vector(C, 91), bias = random_vector(C, 92),
                             dy = random_vector((size_t)N * C, 93);
    for (const bool with_bias : {true, false}) {
      Pair<float> in(x), wt(w), b(bias), out((size_t)N * C), mean((size_t)N), rstd((size_t)N), d(dy);
      H->layernorm_forward(out.h.get(), mean.h.get(), rstd.h.get(), in.h.get(), wt.h.get(), with_bias ? b.h.get() : nullptr, N,
                           C, 1e-5f);
      G->layernorm_forward(out.g.get(), mean.g.get(), rstd.g.get(), in.g.get(), wt.g.get(), with_bias ? b.g.get() : nullptr, N,
                           C, 1e-5f);
      check_rel(with_bias ? "layernorm forward (bias)" : "layernorm forward (no bias)", out.gpu(), out.host(), 1e-5);
      check_rel("layernorm mean", mean.gpu(), mean.host(), 1e-5);
      check_rel("layernorm rstd", rstd.gpu(), rstd.host(), 1e-5);
      // With bias: accumulate into dinp, both weight gradients; without: overwrite, frozen.
      const std::vector<float> dx0 = random_vector((size_t)N * C, 94), dw0 = random_vector(C, 95), db0 = random_vector(C, 96);
      Pair<float> dx(dx0), dw(dw0), db(db0);
      H->layernorm_backward(dx.h.get(), with_bias ? dw.h.get() : nullptr, with_bias ? db.h.get() : nullptr, d.h.get(), in.h.get(),
                            wt.h.get(), mean.h.get(), rstd.h.get(), N, C, with_bias);
      G->layernorm_backward(dx.g.get(), with_bias ? dw.g.get() : nullptr, with_bias ? db.g.get() : nullptr, d.g.get(), in.g.get(),
                            wt.g.get(), mean.g.get(), rstd.g.get(), N, C, with_bias);
      check_rel(with_bias ? "layernorm backward dinp (+=)" : "layernorm backward dinp (=, frozen)", dx.gpu(), dx.host(), 1e-5);
      if (with_bias) {
        check_rel("layernorm backward dweight", dw.gpu(), dw.host(), 1e-5);
        check_rel("layernorm backward dbias", db.gpu(), db.host(), 1e-5);
      }
    }
  }
  const int64_t n = 100003;
  const std::vector<float> a = random_vector(n, 97, 4.0f), dout = random_vector(n, 99);
  {
    Pair<float> x(a), d(dout), out((size_t)n), dx((size_t)n);
    H->gelu_forward(out.h.get(), x.h.get(), n);
    G->gelu_forward(out.g.get(), x.g.get(), n);
    check_rel("gelu forward", out.gpu(), out.host(), 1e-5);
    H->gelu_backward(dx.h.get(), d.h.get(), x.h.get(), n);
    G->gelu_backward(dx.g.get(), d.g.get(), x.g.get(), n);
    check_rel("gelu backward", dx.gpu(), dx.host(), 1e-5);
  }
  test_gated("geglu", &DeviceOps::geglu_forward, &DeviceOps::geglu_backward, 98);
  {
    Pair<float> x(random_vector(n, 100, 60.0f)), t((size_t)n), d(dout);
    H->softcap_forward(x.h.get(), t.h.get(), n, 30.0f);
    G->softcap_forward(x.g.get(), t.g.get(), n, 30.0f);
    check_rel("softcap forward", x.gpu(), x.host(), 1e-5);
    check_rel("softcap tanh kept", t.gpu(), t.host(), 1e-5);
    H->softcap_backward(d.h.get(), t.h.get(), n);
    G->softcap_backward(d.g.get(), t.g.get(), n);
    check_rel("softcap backward", d.gpu(), d.host(), 1e-5);
  }
  // Fused q/k/v: [q | k | v] with GQA (GPT-2's layout, 4 heads on 2 kv heads here) and per head
  // (Bloom's); split then merge must give back the fused rows exactly.
  for (const bool per_head : {false, true}) {
    const int N = 17, NH = 4, NKV = per_head ? 4 : 2, HD = 24;
    const size_t QD = (size_t)NH * HD, KD = (size_t)NKV * HD;
    const std::vector<float> fused = random_vector(N * (QD + 2 * KD), 101);
    Pair<float> qkv(fused), q(N * QD), k(N * KD), v(N * KD), back(fused.size());
    H->split_qkv(q.h.get(), k.h.get(), v.h.get(), qkv.h.get(), N, NH, NKV, HD, per_head);
    G->split_qkv(q.g.get(), k.g.get(), v.g.get(), qkv.g.get(), N, NH, NKV, HD, per_head);
    check_exact(per_head ? "split_qkv per head: q" : "split_qkv [q|k|v]: q", q.gpu(), q.host());
    check_exact(per_head ? "split_qkv per head: k" : "split_qkv [q|k|v]: k", k.gpu(), k.host());
    check_exact(per_head ? "split_qkv per head: v" : "split_qkv [q|k|v]: v", v.gpu(), v.host());
    H->merge_qkv(back.h.get(), q.h.get(), k.h.get(), v.h.get(), N, NH, NKV, HD, per_head);
    G->merge_qkv(back.g.get(), q.g.get(), k.g.get(), v.g.get(), N, NH, NKV, HD, per_head);
    check_exact(per_head ? "merge_qkv per head against host_ops" : "merge_qkv [q|k|v] against host_ops", back.gpu(), back.host());
    check_exact(per_head ? "merge_qkv per head gives back the fused rows" : "merge_qkv [q|k|v] gives back the fused rows",
                back.gpu(), fused);
  }
}

void test_rope() {
  const int B = 2, T = 24, nh = 3, HD = 64, half = HD / 2, positions = 64;
  std::vector<float> cs((size_t)positions * half), sn(cs.size());
  for (int p = 0; p < positions; ++p)
    for (int i = 0; i < half; ++i) {
      const double angle = p * std::pow(10000.0, -2.0 * i / HD);
      cs[(size_t)p * half + i] = (float)std::cos(angle);
      sn[(size_t)p * half + i] = (float)std::sin(angle);
    }
  std::vector<int32_t> pos(B * T);
  for (int r = 0; r < B * T; ++r) pos[r] = (r % T) % 10 + 3 * (r / T);  // packed records of 10
  const std::vector<float> x0 = random_vector((size_t)B * T * nh * HD, 20);
  Pair<float> c(cs), s(sn);
  Pair<int32_t> p(pos);
  for (const bool packed : {false, true}) {
    Pair<float> x(x0);
    H->rope_forward(x.h.get(), c.h.get(), s.h.get(), B, T, nh, HD, packed ? p.h.get() : nullptr);
    G->rope_forward(x.g.get(), c.g.get(), s.g.get(), B, T, nh, HD, packed ? p.g.get() : nullptr);
    check_rel(packed ? "rope forward (packed positions)" : "rope forward", x.gpu(), x.host(), 1e-5);
    H->rope_backward(x.h.get(), c.h.get(), s.h.get(), B, T, nh, HD, packed ? p.h.get() : nullptr);
    G->rope_backward(x.g.get(), c.g.get(), s.g.get(), B, T, nh, HD, packed ? p.g.get() : nullptr);
    check_rel(packed ? "rope backward (packed positions)" : "rope backward", x.gpu(), x.host(), 1e-5);
  }
}

void test_dropout() {
  const int64_t n = 50001;
  const float p = 0.1f;
  std::vector<float> x = random_vector(n, 21);
  for (float& v : x) v = 1.0f + std::fabs(v);  // never 0, so a 0 out is a dropped element
  for (const bool accumulate : {false, true}) {
    const std::vector<float> out0 = random_vector(n, 22);
    Pair<float> in(x), out(out0);
    H->dropout(out.h.get(), in.h.get(), n, p, 1234, 7, 99991, accumulate);
    G->dropout(out.g.get(), in.g.get(), n, p, 1234, 7, 99991, accumulate);
    const std::vector<float> got = out.gpu(), want = out.host();
    std::vector<uint8_t> gm(n), wm(n);
    for (int64_t i = 0; i < n; ++i) {
      gm[i] = accumulate ? got[i] != out0[i] : got[i] != 0.0f;
      wm[i] = accumulate ? want[i] != out0[i] : want[i] != 0.0f;
    }
    check_exact(accumulate ? "dropout mask (+=)" : "dropout mask", gm, wm);
    check_rel(accumulate ? "dropout values (+=)" : "dropout values", got, want, 1e-6);
  }
  Pair<float> any(8);
  expect_error("dropout refuses p = 1", [&] { G->dropout(any.g.get(), any.g.get(), 8, 1.0f, 1, 1, 0, false); }, "internal");
}

void test_attention(int B, int T, int NH, int NKV, int HD, int window, bool packed) {
  const size_t nq = (size_t)B * T * NH * HD, nk = (size_t)B * T * NKV * HD, nl = (size_t)B * NH * T;
  const unsigned seed = (unsigned)(T * 7 + HD + window);
  Pair<uint16_t> q(bf16_vector(nq, seed)), k(bf16_vector(nk, seed + 1)), v(bf16_vector(nk, seed + 2)),
      dy(bf16_vector(nq, seed + 3));
  Pair<uint16_t> y(nq), dq(nq), dk(nk), dv(nk);
  Pair<float> lse(nl);
  std::vector<int32_t> starts((size_t)B * T);
  for (int r = 0; r < B * T; ++r) starts[r] = (r % T) / 13 * 13;  // records of 13 positions
  Pair<int32_t> ss(starts);
  AttentionShape sh, sg;
  sh.B = sg.B = B, sh.T = sg.T = T, sh.NH = sg.NH = NH, sh.NKV = sg.NKV = NKV, sh.HD = sg.HD = HD;
  sh.window = sg.window = window;
  sh.sample_start = packed ? ss.h.get() : nullptr;
  sg.sample_start = packed ? ss.g.get() : nullptr;
  DeviceArray<unsigned char> wh(*H, (int64_t)H->attention_backward_workspace_bytes(sh));
  DeviceArray<unsigned char> wg(*G, (int64_t)G->attention_backward_workspace_bytes(sg));
  H->attention_forward(y.h.get(), lse.h.get(), q.h.get(), k.h.get(), v.h.get(), sh);
  G->attention_forward(y.g.get(), lse.g.get(), q.g.get(), k.g.get(), v.g.get(), sg);
  H->attention_backward(dq.h.get(), dk.h.get(), dv.h.get(), dy.h.get(), y.h.get(), lse.h.get(), q.h.get(), k.h.get(),
                        v.h.get(), wh.get(), sh);
  G->attention_backward(dq.g.get(), dk.g.get(), dv.g.get(), dy.g.get(), y.g.get(), lse.g.get(), q.g.get(), k.g.get(),
                        v.g.get(), wg.get(), sg);
  std::printf("attention B%d T%d heads %d/%d HD%d window %d%s\n", B, T, NH, NKV, HD, window, packed ? " packed" : "");
  check_rel("  y", to_float(y.gpu()), to_float(y.host()), 1e-2);
  check_rel("  lse", lse.gpu(), lse.host(), 1e-3);
  check_rel("  dq", to_float(dq.gpu()), to_float(dq.host()), 2e-2);
  check_rel("  dk", to_float(dk.gpu()), to_float(dk.host()), 2e-2);
  check_rel("  dv", to_float(dv.gpu()), to_float(dv.host()), 2e-2);
}

// Generation: attention over a KV cache and the 1-8 row products that read each weight once.
void test_decode() {
  const int NH = 4, NKV = 2, HD = 64, ctx = 50;
  // Gemma 3's attention scale and soft-cap, Bloom's ALiBi slopes (the device session's extras).
  Pair<float> slopes(std::vector<float>{0.25f, 0.0625f, 0.015625f, 0.00390625f});
  for (const int window : {0, 16})
    for (const int n : {1, 4})
      for (const bool extras : {false, true}) {
        DecodeShape s;
        s.n = n, s.pos = ctx - n, s.NH = NH, s.NKV = NKV, s.HD = HD, s.window = window;
        if (extras) s.scale = 0.2f, s.softcap = 3.0f;
        DecodeShape sg = s;
        s.alibi = extras ? slopes.h.get() : nullptr;
        sg.alibi = extras ? slopes.g.get() : nullptr;
        const unsigned seed = (unsigned)(60 + n + window);
        Pair<uint16_t> q(bf16_vector((size_t)n * NH * HD, seed)), k(bf16_vector((size_t)ctx * NKV * HD, seed + 1)),
            v(bf16_vector((size_t)ctx * NKV * HD, seed + 2)), y((size_t)n * NH * HD);
        H->attention_decode(y.h.get(), q.h.get(), k.h.get(), v.h.get(), s);
        G->attention_decode(y.g.get(), q.g.get(), k.g.get(), v.g.get(), sg);
        char name[128];
        std::snprintf(name, sizeof name, "attention_decode %d row%s at %d, window %d%s", n, n == 1 ? "" : "s", s.pos, window,
                      extras ? ", scale, soft-cap, ALiBi" : "");
        check_rel(name, to_float(y.gpu()), to_float(y.host()), 1e-2);
      }

  // gemv_bf16 on an aligned width (16-byte pieces) and an odd one (element loads).
  for (const int cols : {512, 301})
    for (const int M : {1, 5, 8})
      for (const bool accumulate : {false, true}) {
        const int rows = 200;
        const std::vector<float> x = random_vector((size_t)M * cols, 70 + M), y0 = random_vector((size_t)M * rows, 71);
        const std::vector<uint16_t> W = bf16_vector((size_t)rows * cols, 72);
        std::vector<double> bound((size_t)M * rows);
        for (int m = 0; m < M; ++m)
          for (int r = 0; r < rows; ++r) {
            double b = accumulate ? std::fabs(y0[(size_t)m * rows + r]) : 0.0;
            for (int c = 0; c < cols; ++c) b += std::fabs((double)x[(size_t)m * cols + c] * bf16_to_f32(W[(size_t)r * cols + c]));
            bound[(size_t)m * rows + r] = b;
          }
        Pair<float> xs(x), y(y0);
        Pair<uint16_t> w(W);
        H->gemv_bf16(y.h.get(), xs.h.get(), w.h.get(), rows, cols, M, accumulate);
        G->gemv_bf16(y.g.get(), xs.g.get(), w.g.get(), rows, cols, M, accumulate);
        char name[96];
        std::snprintf(name, sizeof name, "gemv_bf16 M%d rows %d cols %d%s", M, rows, cols, accumulate ? " +=" : "");
        check_bound(name, y.gpu(), y.host(), bound, 1e-5);
      }

  // qgemv: the weights decoded to fp32 by the CPU's decoders on both sides.
  for (const QuantType t : {QuantType::NF4, QuantType::INT8, QuantType::Q4_0, QuantType::Q8_0}) {
    const int rows = 96, cols = 256;
    const std::vector<float> wf = random_vector((size_t)rows * cols, 80, 0.05f);
    const QuantMatrix q = quantize_matrix(wf.data(), rows, cols, t, nullptr);
    std::vector<float> deq((size_t)rows * cols);
    dequantize_matrix(deq.data(), q);
    const std::unique_ptr<DeviceQuantWeight> hw = H->upload_quant(q), gw = G->upload_quant(q);
    for (const int M : {1, 8}) {
      const std::vector<float> x = random_vector((size_t)M * cols, 81 + M), y0 = random_vector((size_t)M * rows, 82);
      std::vector<double> bound((size_t)M * rows);
      for (int m = 0; m < M; ++m)
        for (int r = 0; r < rows; ++r) {
          double b = std::fabs(y0[(size_t)m * rows + r]);
          for (int c = 0; c < cols; ++c) b += std::fabs((double)x[(size_t)m * cols + c] * deq[(size_t)r * cols + c]);
          bound[(size_t)m * rows + r] = b;
        }
      Pair<float> xs(x), y(y0);
      H->qgemv(y.h.get(), xs.h.get(), *hw, M, true);
      G->qgemv(y.g.get(), xs.g.get(), *gw, M, true);
      char name[96];
      std::snprintf(name, sizeof name, "qgemv %s M%d [%d, %d] +=", quant_type_name(t), M, rows, cols);
      check_bound(name, y.gpu(), y.host(), bound, 1e-5);
    }
  }
}

void test_cross_entropy() {
  const int N = 24, V = 5000;
  const std::vector<float> logits = random_vector((size_t)N * V, 23, 6.0f);
  std::vector<uint32_t> targets(N);
  std::vector<uint8_t> mask(N);
  int counted = 0;
  for (int r = 0; r < N; ++r) {
    targets[r] = (uint32_t)((r * 7919u) % V);
    mask[r] = r % 5 != 2;
    counted += mask[r];
  }
  Pair<uint32_t> t(targets);
  Pair<uint8_t> m(mask);
  for (const bool masked : {true, false}) {
    Pair<float> l(logits), losses((size_t)N), lse((size_t)N);
    H->cross_entropy_forward(losses.h.get(), lse.h.get(), l.h.get(), t.h.get(), masked ? m.h.get() : nullptr, N, V);
    G->cross_entropy_forward(losses.g.get(), lse.g.get(), l.g.get(), t.g.get(), masked ? m.g.get() : nullptr, N, V);
    check_rel(masked ? "cross-entropy losses (masked rows)" : "cross-entropy losses", losses.gpu(), losses.host(), 1e-5);
    check_rel(masked ? "cross-entropy lse (masked rows)" : "cross-entropy lse", lse.gpu(), lse.host(), 1e-5);
    const float scale = 1.0f / (masked ? counted : N);
    H->cross_entropy_backward(l.h.get(), lse.h.get(), t.h.get(), masked ? m.h.get() : nullptr, N, V, scale);
    G->cross_entropy_backward(l.g.get(), lse.g.get(), t.g.get(), masked ? m.g.get() : nullptr, N, V, scale);
    check_rel(masked ? "cross-entropy dlogits (masked rows)" : "cross-entropy dlogits", l.gpu(), l.host(), 1e-5);
  }
}

void test_sum_squares() {
  // Empty, one element, sizes around a block, and one over 1024 blocks of 2048.
  const std::vector<int64_t> sizes = {0, 1, 1000, 2049, 3000017};
  std::vector<Pair<float>> arrays;
  arrays.reserve(sizes.size());
  std::vector<long double> exact(sizes.size(), 0.0L);  // 64-bit mantissa: exact to ~1e-16 here
  for (size_t i = 0; i < sizes.size(); ++i) {
    const std::vector<float> x = random_vector((size_t)sizes[i], 24 + (unsigned)i, 2.0f);
    for (float v : x) exact[i] += (long double)v * v;
    arrays.emplace_back(x);
  }
  std::vector<const float*> xh, xg;
  for (const auto& a : arrays) xh.push_back(a.h.get()), xg.push_back(a.g.get());
  const int count = (int)sizes.size();
  std::vector<double> h(count), g(count), g2(count);
  H->sum_squares(h.data(), xh.data(), sizes.data(), count);
  G->sum_squares(g.data(), xg.data(), sizes.data(), count);
  G->sum_squares(g2.data(), xg.data(), sizes.data(), count);
  // host_ops adds in 8 double lanes (about 4e-13 off on 3M elements), a plain double loop would be
  // 1e-12 off; the GPU's short per-thread runs and trees about 2e-14.
  double worst_host = 0, worst_exact = 0;
  for (int i = 0; i < count; ++i) {
    const double ref = (double)exact[i];
    worst_host = std::fmax(worst_host, std::fabs(g[i] - h[i]) / (ref > 0 ? ref : 1.0));
    worst_exact = std::fmax(worst_exact, std::fabs(g[i] - ref) / (ref > 0 ? ref : 1.0));
  }
  char detail[128];
  std::snprintf(detail, sizeof detail, "relative error %.3g against host_ops (limit 2e-12), %.3g against long double (limit 1e-13)",
                worst_host, worst_exact);
  report("sum_squares", worst_host <= 2e-12 && worst_exact <= 1e-13, detail);
  check_exact("sum_squares, second run: the same bits", g2, g);
}

void test_optimizers() {
  const int64_t n = 10007;
  const std::vector<float> w0 = random_vector(n, 30), g0 = random_vector(n, 31, 0.1f), zeros(n, 0.0f);
  const AdamWScalars as{0.5f, 1.0f - 1e-3f * 0.01f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f / 0.1f, std::sqrt(0.001f), 1e-8f};
  const LionScalars ls{0.5f, 1.0f - 1e-4f * 0.1f, 1e-4f, 0.9f, 0.1f, 0.99f, 0.01f};
  {
    Pair<float> w(w0), m(zeros), v(zeros), g(g0);
    for (int step = 0; step < 3; ++step) {
      H->adamw_update(w.h.get(), m.h.get(), v.h.get(), g.h.get(), n, as);
      G->adamw_update(w.g.get(), m.g.get(), v.g.get(), g.g.get(), n, as);
    }
    check_rel("adamw weights (3 steps)", w.gpu(), w.host(), 1e-6);
    check_rel("adamw first moment", m.gpu(), m.host(), 1e-6);
    check_rel("adamw second moment", v.gpu(), v.host(), 1e-6);
  }
  {
    Pair<float> w(w0), m(zeros), g(g0);
    for (int step = 0; step < 3; ++step) {
      H->lion_update(w.h.get(), m.h.get(), g.h.get(), n, ls);
      G->lion_update(w.g.get(), m.g.get(), g.g.get(), n, ls);
    }
    check_rel("lion weights (3 steps)", w.gpu(), w.host(), 1e-6);
    check_rel("lion moment", m.gpu(), m.host(), 1e-6);
  }
  for (const int kind : {0, 1, 2}) {  // plain, momentum, Nesterov
    const SgdScalars ss{0.5f, 1e-2f, kind ? 0.9f : 0.0f, 1e-2f, kind == 2};
    Pair<float> w(w0), buf(zeros), g(g0);
    for (int step = 0; step < 3; ++step) {
      H->sgd_update(w.h.get(), kind ? buf.h.get() : nullptr, g.h.get(), n, ss);
      G->sgd_update(w.g.get(), kind ? buf.g.get() : nullptr, g.g.get(), n, ss);
    }
    check_rel(kind == 0 ? "sgd weights (3 steps)" : kind == 1 ? "sgd momentum weights (3 steps)" : "sgd nesterov weights (3 steps)",
              w.gpu(), w.host(), 1e-6);
  }
}

}  // namespace

int main() {
  cuda_test::require_device();
  try {
    const std::unique_ptr<DeviceOps> host = make_host_ops(), gpu = make_cuda_ops(0);
    H = host.get();
    G = gpu.get();
    test_memory();
    test_conversions();
    // The trainer's three products (forward X W^T, dX = dY W, dW += dY^T X) with edge tiles.
    test_gemm(Trans::N, Trans::T, 37, 70, 96, 1.0f, 0.0f, 40);
    test_gemm(Trans::N, Trans::N, 64, 48, 70, 1.0f, 0.0f, 41);
    test_gemm(Trans::T, Trans::N, 48, 40, 37, 1.0f, 1.0f, 42);
    test_gemm(Trans::N, Trans::T, 130, 128, 128, 0.5f, 0.25f, 43);
    test_quant(QuantType::NF4, 96, 128, 20, 50);
    test_quant(QuantType::INT8, 80, 96, 7, 51);
    test_quant(QuantType::Q4_0, 64, 64, 33, 52);
    test_quant(QuantType::Q8_0, 48, 96, 3, 53);
    test_vector_ops();
    test_gated("swiglu", &DeviceOps::swiglu_forward, &DeviceOps::swiglu_backward, 5);
    test_bias();
    test_embedding();
    test_rmsnorm();
    test_rope();
    test_arch_ops();
    test_dropout();
    test_attention(2, 40, 4, 2, 64, 0, false);
    test_attention(1, 70, 2, 2, 128, 16, true);
    test_decode();
    test_cross_entropy();
    test_sum_squares();
    test_optimizers();
    G->synchronize();
  } catch (const TunerError& e) {
    std::printf("test_cuda_ops: TunerError %s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
  std::printf("test_cuda_ops: %s\n", g_failed ? "FAILED" : "all checks passed");
  return g_failed ? 1 : 0;
}
