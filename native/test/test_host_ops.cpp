// host_ops (src/device/host_ops.cpp), the CPU stand-in for the GPU's device ops that the device
// model's tests run on: every op against a plain reference on small random inputs (bf16 operands
// rounded first, so the references see the values the ops see), the memory accounting, the
// refusal of pointers that are not live device memory (naming the op), and that device memory
// cannot be dereferenced directly (a child process that tries dies of SIGSEGV / SIGBUS).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#if defined(__linux__)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "check_macros.h"
#include "random_values.h"
#include "device/device_ops.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/dtype.h"
#include "tuner/gemm_bf16.h"
#include "tuner/ops.h"
#include "tuner/quant.h"

using namespace tuner;
using namespace tuner::dev;
using Vec = std::vector<float>;
using Bits = std::vector<uint16_t>;

namespace {

std::mt19937 rng(20261205);
DeviceOps* g_ops = nullptr;

Bits to_bits(const Vec& v) {
  Bits b(v.size());
  for (size_t i = 0; i < v.size(); i++) b[i] = f32_to_bf16(v[i]);
  return b;
}
Vec widen(const Bits& b) {
  Vec v(b.size());
  for (size_t i = 0; i < b.size(); i++) v[i] = bf16_to_f32(b[i]);
  return v;
}
// max |a - b| / max |b| (absolute where b is all zero).
double max_rel(const Vec& a, const Vec& b) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < a.size(); i++) {
    scale = std::max(scale, (double)std::fabs(b[i]));
    err = std::max(err, (double)std::fabs(a[i] - b[i]));
  }
  return scale > 0 ? err / scale : err;
}
bool same_bits(const Vec& a, const Vec& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

template <class T>
DeviceArray<T> put(const std::vector<T>& v) {
  DeviceArray<T> a(*g_ops, (int64_t)v.size());
  g_ops->upload(a.get(), v.data(), v.size() * sizeof(T));
  return a;
}
template <class T>
std::vector<T> get(const DeviceArray<T>& a) {
  std::vector<T> v((size_t)a.size());
  g_ops->download(v.data(), a.get(), a.bytes());
  return v;
}

// ---- memory ----

void test_memory() {
  DeviceOps& ops = *g_ops;
  EXPECT(std::string(ops.kind()) == "host");
  EXPECT(ops.device_name() == "CPU (host_ops)");
  const DeviceMemoryInfo m0 = ops.memory();
  EXPECT(ops.alloc(0) == nullptr);
  ops.release(nullptr);
  void* a = ops.alloc(1000);
  void* b = ops.alloc(24);
  EXPECT(ops.memory().in_use == m0.in_use + 1024);
  EXPECT(ops.memory().peak >= m0.in_use + 1024);
  ops.release(a);
  EXPECT(ops.memory().in_use == m0.in_use + 24);
  void* c = ops.alloc(500);
  EXPECT(ops.memory().peak == std::max(m0.peak, m0.in_use + 1024));  // 524 < 1024: the peak stays
  ops.release(b);
  ops.release(c);
  EXPECT(ops.memory().in_use == m0.in_use);
  EXPECT(ops.memory().total == 0 && ops.memory().free == 0);

  // Fresh memory reads as NaN (what a GPU's garbage would be to code that forgot to write it).
  DeviceArray<float> fresh(ops, 3);
  Vec f(3, 0.0f);
  ops.download(f.data(), fresh.get(), fresh.bytes());
  EXPECT(std::isnan(f[0]) && std::isnan(f[2]));

  // upload / copy / fill_zero / download through offset pointers (callers' pointer arithmetic).
  Vec src = randn(64, 1.0f, rng);
  DeviceArray<float> x(ops, 64), y(ops, 64);
  ops.upload(x.get(), src.data(), 64 * sizeof(float));
  ops.copy(y.get(), x.get(), 64 * sizeof(float));
  ops.fill_zero(y.get() + 8, 8 * sizeof(float));
  ops.copy(y.get() + 40, x.get() + 1, 4 * sizeof(float));
  ops.synchronize();
  Vec out(64);
  ops.download(out.data(), y.get(), 64 * sizeof(float));
  for (int i = 0; i < 64; i++) {
    const float want = i >= 8 && i < 16 ? 0.0f : i >= 40 && i < 44 ? src[i - 39] : src[i];
    EXPECT(out[i] == want);
  }
  Vec part(4);
  ops.download(part.data(), x.get() + 60, 4 * sizeof(float));
  EXPECT(part[3] == src[63]);

  // A quantized weight counts as device memory while it lives.
  const size_t before = ops.memory().in_use;
  Vec w = randn(4 * 64, 1.0f, rng);
  QuantMatrix q = quantize_matrix(w.data(), 4, 64, QuantType::NF4, nullptr);
  {
    auto dq = ops.upload_quant(q);
    EXPECT(dq->rows() == 4 && dq->cols() == 64 && dq->bytes() == q.bytes());
    EXPECT(ops.memory().in_use == before + q.bytes());
  }
  EXPECT(ops.memory().in_use == before);
}

// Pointers that are not live device memory are refused, naming the op.
void test_refusals() {
  DeviceOps& ops = *g_ops;
  Vec host(16, 1.0f);
  DeviceArray<float> d(ops, 16);
  EXPECT_ERROR([&] { ops.add(d.get(), host.data(), d.get(), 16); }, "internal", "add");
  EXPECT_ERROR([&] { ops.scale(host.data(), 2.0f, 16); }, "internal", "scale");
  EXPECT_ERROR([&] { ops.upload(d.get(), host.data(), 17 * sizeof(float)); }, "internal", "upload");
  EXPECT_ERROR([&] { ops.upload(d.get() + 8, host.data(), 9 * sizeof(float)); }, "internal", "runs past");
  EXPECT_ERROR([&] { ops.download(host.data(), host.data(), 4); }, "internal", "download");
  EXPECT_ERROR([&] { ops.upload(d.get(), d.get(), 4); }, "internal", "source is device memory");
  EXPECT_ERROR([&] { ops.fill_zero(nullptr, 4); }, "internal", "fill_zero");
  EXPECT_ERROR([&] { ops.release(d.get() + 1); }, "internal", "release");
  EXPECT_ERROR([&] { ops.release(host.data()); }, "internal", "release");
  float* gone = static_cast<float*>(ops.alloc(64));
  ops.release(gone);
  EXPECT_ERROR([&] { ops.scale(gone, 2.0f, 16); }, "internal", "scale");  // use after release
  EXPECT_ERROR([&] { ops.release(gone); }, "internal", "release");          // double release
  EXPECT_ERROR([&] { ops.gemm(Trans::N, Trans::N, 4, 4, 4, 1.0f, nullptr, 4, nullptr, 4, 0.0f, d.get(), 4); }, "internal",
               "gemm");
  // Embedding tokens past the table and cross-entropy targets past the vocabulary.
  DeviceArray<uint32_t> tok = put(std::vector<uint32_t>{0, 4});
  DeviceArray<float> table(ops, 4 * 4), emb(ops, 2 * 4);
  EXPECT_ERROR([&] { ops.embedding_forward(emb.get(), table.get(), tok.get(), 2, 4, 1.0f); }, "internal",
               "embedding_forward: token 4 of row 1");
  DeviceArray<float> logits(ops, 2 * 4), losses(ops, 2), lse(ops, 2);
  EXPECT_ERROR([&] { ops.cross_entropy_forward(losses.get(), lse.get(), logits.get(), tok.get(), nullptr, 2, 4); },
               "internal", "cross_entropy_forward: target 4 of row 1");
  // A quantized weight of another DeviceOps.
  auto other = make_host_ops();
  Vec w = randn(2 * 32, 1.0f, rng);
  auto foreign = other->upload_quant(quantize_matrix(w.data(), 2, 32, QuantType::Q8_0, nullptr));
  DeviceArray<uint16_t> x(ops, 32);
  DeviceArray<float> y(ops, 2);
  EXPECT_ERROR([&] { ops.qgemm(y.get(), 2, x.get(), 32, *foreign, 1, false); }, "internal", "qgemm");
}

#if defined(__linux__)
// A direct read of device memory in a child process: it must die of a memory fault.
void test_dereference_crashes() {
  DeviceArray<float> d(*g_ops, 4);
  g_ops->fill_zero(d.get(), d.bytes());
  const pid_t pid = fork();
  if (pid == 0) {
    volatile float* p = d.get();
    volatile float v = p[0];  // must fault here
    (void)v;
    _exit(0);
  }
  int status = 0;
  EXPECT(waitpid(pid, &status, 0) == pid);
  EXPECT(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS));
}
#endif

void test_cuda_ops_absent() {
#if !defined(TUNER_HAVE_CUDA)
  EXPECT_ERROR([] { make_cuda_ops(0); }, "no_cuda_device", "CUDA device 0: this build");
#endif
}

// ---- conversions ----

// Round to nearest even by its definition: the nearer of the two bf16 neighbours, the even one on a tie.
uint16_t bf16_nearest_even(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f) || std::isinf(f)) return (uint16_t)(u >> 16);
  const uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;
  float flo, fhi;
  std::memcpy(&flo, &lo, 4);
  std::memcpy(&fhi, &hi, 4);
  const double dl = std::fabs((double)f - flo), dh = std::isinf(fhi) ? INFINITY : std::fabs((double)fhi - f);
  if (std::isinf(fhi) && u - lo >= 0x8000u) return (uint16_t)(hi >> 16);  // rounds to infinity past the largest bf16
  if (dl < dh) return (uint16_t)(lo >> 16);
  if (dh < dl) return (uint16_t)(hi >> 16);
  return (uint16_t)(((lo >> 16) & 1) ? hi >> 16 : lo >> 16);
}

void test_conversions() {
  std::vector<uint32_t> bits = {0x3F808000u,   // 1.00390625: tie, 0x3F80 is even -> down
                                0x3F818000u,   // tie, 0x3F81 is odd -> up to 0x3F82
                                0xBF818000u,   // negative tie -> 0xBF82
                                0x3F808001u,   // just above the tie -> up
                                0x3F807FFFu,   // just below -> down
                                0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x00008000u, 0x00018000u};
  Vec v(bits.size());
  std::memcpy(v.data(), bits.data(), bits.size() * 4);
  Vec more = randn(3000, 10.0f, rng);
  v.insert(v.end(), more.begin(), more.end());
  DeviceArray<float> in = put(v);
  DeviceArray<uint16_t> out(*g_ops, (int64_t)v.size());
  g_ops->to_bf16(out.get(), in.get(), (int64_t)v.size());
  Bits got = get(out);
  EXPECT(got[0] == 0x3F80 && got[1] == 0x3F82 && got[2] == 0xBF82 && got[3] == 0x3F81 && got[4] == 0x3F80);
  EXPECT(got[9] == 0x0000 && got[10] == 0x0002);  // subnormal ties: to even
  int bad = 0;
  for (size_t i = 0; i < v.size(); i++) bad += got[i] != bf16_nearest_even(v[i]);
  EXPECT(bad == 0);
  // NaN stays NaN.
  Vec nan = {std::nanf("")};
  DeviceArray<float> nin = put(nan);
  DeviceArray<uint16_t> nout(*g_ops, 1);
  g_ops->to_bf16(nout.get(), nin.get(), 1);
  EXPECT(std::isnan(bf16_to_f32(get(nout)[0])));
  // And back: exact widening.
  DeviceArray<float> back(*g_ops, (int64_t)v.size());
  g_ops->to_f32(back.get(), out.get(), (int64_t)v.size());
  EXPECT(same_bits(get(back), widen(got)));
}

// ---- matrix products ----

void test_gemm() {
  const int M = 37, N = 29, K = 45;
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T}) {
      const int ar = ta == Trans::N ? M : K, ac = ta == Trans::N ? K : M;
      const int br = tb == Trans::N ? K : N, bc = tb == Trans::N ? N : K;
      const int lda = ac + 3, ldb = bc + 1, ldc = N + 2;
      Bits A = to_bits(randn((size_t)ar * lda, 1.0f, rng)), B = to_bits(randn((size_t)br * ldb, 1.0f, rng));
      Vec C = randn((size_t)M * ldc, 1.0f, rng);
      for (float beta : {0.0f, 0.5f}) {
        const float alpha = 0.75f;
        Vec want = C;
        gemm_bf16_reference(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, want.data(), ldc);
        DeviceArray<uint16_t> a = put(A), b = put(B);
        DeviceArray<float> c = put(C);
        g_ops->gemm(ta, tb, M, N, K, alpha, a.get(), lda, b.get(), ldb, beta, c.get(), ldc);
        Vec got = get(c);
        EXPECT(max_rel(got, want) < 1e-5);
        for (int i = 0; i < M; i++)  // the padding between rows is untouched
          for (int j = N; j < ldc; j++) EXPECT(got[(size_t)i * ldc + j] == C[(size_t)i * ldc + j]);
      }
    }
}

void test_quant() {
  const int R = 24, Kc = 128, M = 5, ldx = Kc + 8, ldy = R + 3;
  for (QuantType t : {QuantType::NF4, QuantType::INT8, QuantType::Q4_0, QuantType::Q8_0}) {
    Vec w = randn((size_t)R * Kc, 0.5f, rng);
    QuantMatrix q = quantize_matrix(w.data(), R, Kc, t, nullptr);
    Vec wd((size_t)R * Kc);
    dequantize_matrix(wd.data(), q);
    auto dq = g_ops->upload_quant(q);
    // dequantize: the decoded values rounded to bf16.
    DeviceArray<uint16_t> out(*g_ops, (int64_t)R * Kc);
    g_ops->dequantize(out.get(), *dq);
    EXPECT(get(out) == to_bits(wd));
    // qgemm with strided X and Y, = and +=.
    Bits X = to_bits(randn((size_t)M * ldx, 1.0f, rng));
    Vec xd((size_t)M * Kc);
    for (int m = 0; m < M; m++)
      for (int c = 0; c < Kc; c++) xd[(size_t)m * Kc + c] = bf16_to_f32(X[(size_t)m * ldx + c]);
    Vec Y0 = randn((size_t)M * ldy, 1.0f, rng);
    for (bool acc : {false, true}) {
      Vec want((size_t)M * R);
      for (int m = 0; m < M; m++)
        for (int r = 0; r < R; r++) want[(size_t)m * R + r] = Y0[(size_t)m * ldy + r];
      qgemm_reference(want.data(), xd.data(), q, M, acc);
      DeviceArray<uint16_t> x = put(X);
      DeviceArray<float> y = put(Y0);
      g_ops->qgemm(y.get(), ldy, x.get(), ldx, *dq, M, acc);
      Vec got = get(y), dense((size_t)M * R);
      for (int m = 0; m < M; m++)
        for (int r = 0; r < ldy; r++) {
          if (r < R) dense[(size_t)m * R + r] = got[(size_t)m * ldy + r];
          else EXPECT(got[(size_t)m * ldy + r] == Y0[(size_t)m * ldy + r]);
        }
      EXPECT(max_rel(dense, want) < 1e-5);
      // Dense Y (ldy == rows) takes the direct path.
      DeviceArray<float> yd = put(Vec((size_t)M * R, 0.0f));
      g_ops->qgemm(yd.get(), R, x.get(), ldx, *dq, M, false);
      Vec want0((size_t)M * R);
      qgemm_reference(want0.data(), xd.data(), q, M, false);
      EXPECT(max_rel(get(yd), want0) < 1e-5);
    }
  }
}

// ---- element-wise and row ops ----

void test_elementwise() {
  const int64_t n = 3000;
  Vec a = randn(n, 1.0f, rng), b = randn(n, 1.0f, rng);
  DeviceArray<float> da = put(a), db = put(b), out(*g_ops, n);
  g_ops->add(out.get(), da.get(), db.get(), n);
  Vec got = get(out);
  for (int64_t i = 0; i < n; i++) EXPECT(got[i] == a[i] + b[i]);
  g_ops->axpy(da.get(), -0.5f, db.get(), n);
  got = get(da);
  for (int64_t i = 0; i < n; i++) EXPECT_NEAR(got[i], a[i] - 0.5f * b[i], 1e-6 * (1 + std::fabs(a[i])));
  g_ops->scale(db.get(), 3.0f, n);
  got = get(db);
  for (int64_t i = 0; i < n; i++) EXPECT(got[i] == b[i] * 3.0f);

  // bias over N rows of C.
  const int N = 13, C = 70;
  Vec y = randn(N * C, 1.0f, rng), bias = randn(C, 1.0f, rng), dbias = randn(C, 1.0f, rng);
  DeviceArray<float> dy = put(y), dbi = put(bias), ddb = put(dbias);
  g_ops->bias_forward(dy.get(), dbi.get(), N, C);
  got = get(dy);
  for (int r = 0; r < N; r++)
    for (int c = 0; c < C; c++) EXPECT(got[r * C + c] == y[r * C + c] + bias[c]);
  g_ops->bias_backward(ddb.get(), dy.get(), N, C);
  Vec gb = get(ddb);
  for (int c = 0; c < C; c++) {
    double s = dbias[c];
    for (int r = 0; r < N; r++) s += got[r * C + c];
    EXPECT_NEAR(gb[c], s, 1e-5 * (1 + std::fabs(s)));
  }

  // SwiGLU.
  Vec g = randn(n, 1.0f, rng), u = randn(n, 1.0f, rng), dout = randn(n, 1.0f, rng), w1(n), w2(n), w3(n);
  swiglu_forward_ref(w1.data(), g.data(), u.data(), n);
  DeviceArray<float> dg = put(g), du = put(u), dd = put(dout), o(*g_ops, n), dgo(*g_ops, n), duo(*g_ops, n);
  g_ops->swiglu_forward(o.get(), dg.get(), du.get(), n);
  EXPECT(max_rel(get(o), w1) < 1e-6);
  swiglu_backward_ref(w2.data(), w3.data(), dout.data(), g.data(), u.data(), n);
  g_ops->swiglu_backward(dgo.get(), duo.get(), dd.get(), dg.get(), du.get(), n);
  EXPECT(max_rel(get(dgo), w2) < 1e-5);
  EXPECT(max_rel(get(duo), w3) < 1e-5);
}

void test_embedding() {
  const int V = 11, N = 40, C = 20;
  const float scale = 1.5f;
  Vec table = randn(V * C, 1.0f, rng), dout = randn(N * C, 1.0f, rng), dtable = randn(V * C, 1.0f, rng);
  std::vector<uint32_t> tokens(N);
  for (int i = 0; i < N; i++) tokens[i] = (uint32_t)(i * 7 % 5);  // tokens 0..4, each repeated
  DeviceArray<float> t = put(table), o(*g_ops, N * C), d = put(dout), dt = put(dtable);
  DeviceArray<uint32_t> tok = put(tokens);
  g_ops->embedding_forward(o.get(), t.get(), tok.get(), N, C, scale);
  Vec got = get(o);
  for (int r = 0; r < N; r++)
    for (int c = 0; c < C; c++) EXPECT(got[r * C + c] == table[tokens[r] * C + c] * scale);
  g_ops->embedding_backward(dt.get(), d.get(), tok.get(), N, C, scale);
  Vec want = dtable;  // rows summed in token order: the same bits
  for (int r = 0; r < N; r++)
    for (int c = 0; c < C; c++) want[tokens[r] * C + c] += dout[r * C + c] * scale;
  EXPECT(same_bits(get(dt), want));
}

void test_rmsnorm() {
  const int N = 9, C = 48;
  Vec x = randn(N * C, 1.0f, rng), w = randn(C, 0.2f, rng), dout = randn(N * C, 1.0f, rng);
  for (auto& v : w) v += 1.0f;
  Vec y(N * C), rstd(N);
  rmsnorm_forward_ref(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
  DeviceArray<float> dx = put(x), dw = put(w), dy(*g_ops, N * C), dr(*g_ops, N), dd = put(dout);
  g_ops->rmsnorm_forward(dy.get(), dr.get(), dx.get(), dw.get(), N, C, 1e-5f);
  EXPECT(max_rel(get(dy), y) < 1e-6);
  EXPECT(max_rel(get(dr), rstd) < 1e-6);
  for (bool acc : {false, true})
    for (bool with_dw : {false, true}) {
      Vec di0 = randn(N * C, 1.0f, rng), dw0 = randn(C, 1.0f, rng);
      Vec wdi = acc ? di0 : Vec(N * C, 0.0f), wdw = dw0;
      rmsnorm_backward_ref(wdi.data(), with_dw ? wdw.data() : nullptr, dout.data(), x.data(), w.data(), rstd.data(), N, C);
      DeviceArray<float> gdi = put(di0), gdw = put(dw0);
      g_ops->rmsnorm_backward(gdi.get(), with_dw ? gdw.get() : nullptr, dd.get(), dx.get(), dw.get(), dr.get(), N, C, acc);
      EXPECT(max_rel(get(gdi), wdi) < 1e-5);
      EXPECT(max_rel(get(gdw), wdw) < 1e-5);
    }
}

// The other architectures' ops against plain double references: LayerNorm (biased variance, with
// and without bias; dinp =/+=, dweight and dbias column sums), tanh GELU and GeGLU, soft-capping,
// and the fused q/k/v layouts ([q | k | v] on GQA, per head [head][q, k, v]).
double gelu_d(double x) { return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double gelu_grad_d(double x) {
  const double u = 0.7978845608028654 * (x + 0.044715 * x * x * x), t = std::tanh(u);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3 * 0.044715 * x * x);
}

void test_arch_ops() {
  const int N = 7, C = 40;
  const float eps = 1e-5f;
  Vec x = randn(N * C, 2.0f, rng), w = randn(C, 0.2f, rng), bias = randn(C, 0.3f, rng), dout = randn(N * C, 1.0f, rng);
  for (auto& v : w) v += 1.0f;
  for (const bool with_bias : {true, false}) {
    Vec want(N * C), want_mean(N), want_rstd(N), want_dx(N * C), want_dw(C, 0.0f), want_db(C, 0.0f);
    for (int n = 0; n < N; n++) {
      double m = 0, var = 0;
      for (int c = 0; c < C; c++) m += x[n * C + c];
      m /= C;
      for (int c = 0; c < C; c++) var += (x[n * C + c] - m) * (x[n * C + c] - m);
      const double r = 1.0 / std::sqrt(var / C + eps);
      want_mean[n] = (float)m, want_rstd[n] = (float)r;
      double a = 0, b = 0;
      for (int c = 0; c < C; c++) {
        const double xh = (x[n * C + c] - m) * r, g = (double)dout[n * C + c] * w[c];
        want[n * C + c] = (float)(xh * w[c] + (with_bias ? bias[c] : 0.0));
        a += g, b += g * xh;
        want_dw[c] += (float)(dout[n * C + c] * xh), want_db[c] += dout[n * C + c];
      }
      for (int c = 0; c < C; c++) {
        const double xh = (x[n * C + c] - m) * r;
        want_dx[n * C + c] = (float)(r * ((double)dout[n * C + c] * w[c] - a / C - xh * b / C));
      }
    }
    DeviceArray<float> dx = put(x), dw = put(w), db = put(bias), dy(*g_ops, N * C), dm(*g_ops, N), dr(*g_ops, N), dd = put(dout);
    g_ops->layernorm_forward(dy.get(), dm.get(), dr.get(), dx.get(), dw.get(), with_bias ? db.get() : nullptr, N, C, eps);
    EXPECT(max_rel(get(dy), want) < 1e-5);
    EXPECT(max_rel(get(dm), want_mean) < 1e-5);
    EXPECT(max_rel(get(dr), want_rstd) < 1e-5);
    // With bias: accumulate into dinp and both parameter gradients; without: overwrite, frozen.
    Vec di0 = randn(N * C, 1.0f, rng), dw0 = randn(C, 1.0f, rng), db0 = randn(C, 1.0f, rng);
    DeviceArray<float> gdi = put(di0), gdw = put(dw0), gdb = put(db0);
    g_ops->layernorm_backward(gdi.get(), with_bias ? gdw.get() : nullptr, with_bias ? gdb.get() : nullptr, dd.get(), dx.get(),
                              dw.get(), dm.get(), dr.get(), N, C, with_bias);
    Vec wdi = want_dx;
    if (with_bias)
      for (int i = 0; i < N * C; i++) wdi[i] += di0[i];
    EXPECT(max_rel(get(gdi), wdi) < 1e-5);
    if (with_bias) {
      for (int c = 0; c < C; c++) want_dw[c] += dw0[c], want_db[c] += db0[c];
      EXPECT(max_rel(get(gdw), want_dw) < 1e-5);
      EXPECT(max_rel(get(gdb), want_db) < 1e-5);
    } else {
      EXPECT(get(gdw) == dw0 && get(gdb) == db0);  // frozen: untouched
    }
  }

  const int64_t n = 2000;
  Vec g = randn(n, 3.0f, rng), u = randn(n, 1.0f, rng), d = randn(n, 1.0f, rng);
  DeviceArray<float> dg = put(g), du = put(u), dd = put(d), out(*g_ops, n), o2(*g_ops, n);
  Vec wf(n), wb(n), wgf(n), wgg(n), wgu(n);
  for (int64_t i = 0; i < n; i++) {
    wf[i] = (float)gelu_d(g[i]), wb[i] = (float)(d[i] * gelu_grad_d(g[i]));
    wgf[i] = (float)(gelu_d(g[i]) * u[i]), wgg[i] = (float)(d[i] * u[i] * gelu_grad_d(g[i])), wgu[i] = (float)(d[i] * gelu_d(g[i]));
  }
  g_ops->gelu_forward(out.get(), dg.get(), n);
  EXPECT(max_rel(get(out), wf) < 1e-5);
  g_ops->gelu_backward(out.get(), dd.get(), dg.get(), n);
  EXPECT(max_rel(get(out), wb) < 1e-5);
  g_ops->geglu_forward(out.get(), dg.get(), du.get(), n);
  EXPECT(max_rel(get(out), wgf) < 1e-5);
  g_ops->geglu_backward(out.get(), o2.get(), dd.get(), dg.get(), du.get(), n);
  EXPECT(max_rel(get(out), wgg) < 1e-5);
  EXPECT(max_rel(get(o2), wgu) < 1e-5);
  // Soft-capping at 2 (these values reach 9): cap tanh(x / cap), backward (1 - t^2).
  Vec t_want(n), capped(n), dcap(n);
  for (int64_t i = 0; i < n; i++) {
    const double t = std::tanh(g[i] / 2.0);
    t_want[i] = (float)t, capped[i] = (float)(2.0 * t), dcap[i] = (float)(d[i] * (1.0 - t * t));
  }
  DeviceArray<float> xc = put(g), tc(*g_ops, n), dc = put(d);
  g_ops->softcap_forward(xc.get(), tc.get(), n, 2.0f);
  EXPECT(max_rel(get(xc), capped) < 1e-5);
  EXPECT(max_rel(get(tc), t_want) < 1e-5);
  g_ops->softcap_backward(dc.get(), tc.get(), n);
  EXPECT(max_rel(get(dc), dcap) < 1e-5);

  for (const bool per_head : {false, true}) {
    const int R = 5, NH = 4, NKV = per_head ? 4 : 2, HD = 6, QD = NH * HD, KD = NKV * HD, W = QD + 2 * KD;
    Vec fused = randn((size_t)R * W, 1.0f, rng);
    DeviceArray<float> f = put(fused), q(*g_ops, R * QD), k(*g_ops, R * KD), v(*g_ops, R * KD), back(*g_ops, R * W);
    g_ops->split_qkv(q.get(), k.get(), v.get(), f.get(), R, NH, NKV, HD, per_head);
    const Vec gq = get(q), gk = get(k), gv = get(v);
    bool ok = true;
    for (int r = 0; r < R; r++)
      for (int h = 0; h < NH; h++)
        for (int e = 0; e < HD; e++) {
          // Where q, k, v of head h, element e sit in the fused row.
          const int qi = per_head ? (3 * h) * HD + e : h * HD + e;
          ok = ok && gq[r * QD + h * HD + e] == fused[r * W + qi];
          if (h >= NKV) continue;
          const int ki = per_head ? (3 * h + 1) * HD + e : QD + h * HD + e, vi = per_head ? (3 * h + 2) * HD + e : QD + KD + h * HD + e;
          ok = ok && gk[r * KD + h * HD + e] == fused[r * W + ki] && gv[r * KD + h * HD + e] == fused[r * W + vi];
        }
    EXPECT(ok);
    g_ops->merge_qkv(back.get(), q.get(), k.get(), v.get(), R, NH, NKV, HD, per_head);
    EXPECT(get(back) == fused);
  }
  // Bloom's per-head layout needs as many key/value heads as heads.
  DeviceArray<float> a(*g_ops, 64);
  bool refused = false;
  try {
    g_ops->split_qkv(a.get(), a.get(), a.get(), a.get(), 1, 4, 2, 4, true);
  } catch (const TunerError& e) {
    refused = std::string(e.what()).find("split_qkv") != std::string::npos;
  }
  EXPECT(refused);
}

void test_rope() {
  const int B = 2, T = 6, nh = 3, HD = 8, half = HD / 2, P = 10;
  Vec cs(P * half), sn(P * half);
  for (int p = 0; p < P; p++)
    for (int i = 0; i < half; i++) {
      const double a = p * std::pow(10000.0, -2.0 * i / HD);
      cs[p * half + i] = (float)std::cos(a);
      sn[p * half + i] = (float)std::sin(a);
    }
  std::vector<int32_t> pos = {0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 4, 9};  // packed records
  Vec x = randn(B * T * nh * HD, 1.0f, rng);
  DeviceArray<float> dc = put(cs), ds = put(sn);
  DeviceArray<int32_t> dp = put(pos);
  for (bool with_pos : {false, true})
    for (bool backward : {false, true}) {
      Vec want = x;
      for (int r = 0; r < B * T; r++) {
        const int p = with_pos ? pos[r] : r % T;
        for (int h = 0; h < nh; h++)
          for (int i = 0; i < half; i++) {
            float* v = &want[(size_t)r * nh * HD + h * HD];
            if (backward) rope_pair_grad(&v[i], &v[i + half], cs[p * half + i], sn[p * half + i]);
            else rope_pair(&v[i], &v[i + half], cs[p * half + i], sn[p * half + i]);
          }
      }
      DeviceArray<float> dx = put(x);
      if (backward) g_ops->rope_backward(dx.get(), dc.get(), ds.get(), B, T, nh, HD, with_pos ? dp.get() : nullptr);
      else g_ops->rope_forward(dx.get(), dc.get(), ds.get(), B, T, nh, HD, with_pos ? dp.get() : nullptr);
      EXPECT(max_rel(get(dx), want) < 1e-6);
    }
  // Without pos the table needs T rows; with it, max(pos) + 1 rows (a shorter table is refused).
  Vec xs = randn(B * T * nh * HD, 1.0f, rng);
  DeviceArray<float> dx = put(xs), short_cos(*g_ops, 9 * half), short_sin(*g_ops, 9 * half);
  EXPECT_ERROR([&] { g_ops->rope_forward(dx.get(), short_cos.get(), short_sin.get(), B, T, nh, HD, dp.get()); }, "internal",
               "rope_forward");
}

void test_dropout() {
  const int64_t n = 2500;
  const float p = 0.3f;
  const uint64_t seed = 77, stream = 5, first = 1000;
  Vec x = randn(n, 1.0f, rng), base = randn(n, 1.0f, rng);
  DeviceArray<float> dx = put(x);
  for (bool acc : {false, true}) {
    DeviceArray<float> out = put(base);
    g_ops->dropout(out.get(), dx.get(), n, p, seed, stream, first, acc);
    Vec got = get(out), want = base;
    int64_t kept = 0;
    const float keep_scale = 1.0f / (1.0f - p);  // as linear.cpp's LoRA dropout
    for (int64_t i = 0; i < n; i++) {
      const bool keep = dropout_keep(seed, stream, first + (uint64_t)i, p);
      kept += keep;
      if (acc) want[i] += keep ? x[i] * keep_scale : 0.0f;
      else want[i] = keep ? x[i] * keep_scale : 0.0f;
    }
    EXPECT(same_bits(got, want));
    EXPECT(kept > n * 0.6 && kept < n * 0.8);
  }
}

// ---- attention ----

struct AttnCase {
  int B, T, NH, NKV, HD, window;
  float scale, softcap;
  bool alibi, packed;
};

// A plain double-precision forward with every extra: y and lse.
void attention_plain(Vec& y, Vec& lse, const Vec& q, const Vec& k, const Vec& v, const AttnCase& c, const Vec& slopes,
                     const std::vector<int32_t>& ss) {
  const int QD = c.NH * c.HD, KD = c.NKV * c.HD, G = c.NH / c.NKV;
  const double sc = c.scale > 0 ? c.scale : 1.0 / std::sqrt((double)c.HD);
  for (int b = 0; b < c.B; b++)
    for (int h = 0; h < c.NH; h++)
      for (int i = 0; i < c.T; i++) {
        int j0 = c.window > 0 ? std::max(0, i - c.window + 1) : 0;
        if (c.packed) j0 = std::max(j0, ss[b * c.T + i]);
        std::vector<double> s(c.T, -INFINITY);
        double mx = -INFINITY;
        for (int j = j0; j <= i; j++) {
          double d = 0;
          for (int e = 0; e < c.HD; e++)
            d += (double)q[(size_t)(b * c.T + i) * QD + h * c.HD + e] * k[(size_t)(b * c.T + j) * KD + h / G * c.HD + e];
          d = (float)(d * sc);
          if (c.softcap > 0) d = c.softcap * std::tanh(d / c.softcap);
          if (c.alibi) d += slopes[h] * (double)(j - i);
          s[j] = d;
          mx = std::max(mx, d);
        }
        double sum = 0;
        for (int j = j0; j <= i; j++) sum += std::exp(s[j] - mx);
        lse[((size_t)b * c.NH + h) * c.T + i] = (float)(mx + std::log(sum));
        for (int e = 0; e < c.HD; e++) {
          double acc = 0;
          for (int j = j0; j <= i; j++) acc += std::exp(s[j] - mx) / sum * v[(size_t)(b * c.T + j) * KD + h / G * c.HD + e];
          y[(size_t)(b * c.T + i) * QD + h * c.HD + e] = (float)acc;
        }
      }
}

void test_attention(const AttnCase& c) {
  const int N = c.B * c.T;
  const size_t nq = (size_t)N * c.NH * c.HD, nkv = (size_t)N * c.NKV * c.HD, nl = (size_t)c.B * c.NH * c.T;
  Bits q = to_bits(randn(nq, 1.0f, rng)), k = to_bits(randn(nkv, 1.0f, rng)), v = to_bits(randn(nkv, 1.0f, rng)), dy = to_bits(randn(nq, 1.0f, rng));
  const Vec qf = widen(q), kf = widen(k), vf = widen(v), dyf = widen(dy);
  Vec slopes(c.NH);
  for (int h = 0; h < c.NH; h++) slopes[h] = std::pow(2.0f, -(float)(h + 1));
  std::vector<int32_t> ss(N);
  for (int b = 0; b < c.B; b++)
    for (int t = 0; t < c.T; t++) ss[b * c.T + t] = t < c.T / 3 ? 0 : t < c.T / 2 ? c.T / 3 : c.T / 2;
  DeviceArray<uint16_t> dq_ = put(q), dk_ = put(k), dv_ = put(v), ddy = put(dy), y(*g_ops, (int64_t)nq);
  DeviceArray<float> lse(*g_ops, (int64_t)nl), dslopes = put(slopes);
  DeviceArray<int32_t> dss = put(ss);
  AttentionShape p;
  p.B = c.B, p.T = c.T, p.NH = c.NH, p.NKV = c.NKV, p.HD = c.HD, p.window = c.window, p.scale = c.scale,
  p.softcap = c.softcap;
  p.alibi = c.alibi ? dslopes.get() : nullptr;
  p.sample_start = c.packed ? dss.get() : nullptr;
  g_ops->attention_forward(y.get(), lse.get(), dq_.get(), dk_.get(), dv_.get(), p);
  const Vec yg = widen(get(y)), lg = get(lse);

  Vec yw(nq), lw(nl);
  attention_plain(yw, lw, qf, kf, vf, c, slopes, ss);
  EXPECT(max_rel(yg, yw) < 8e-3);  // y rounded to bf16
  EXPECT(max_rel(lg, lw) < 1e-5);
  // The plain cases also against the engine's reference (and its backward).
  Vec probs((size_t)c.B * c.NH * c.T * c.T);
  const bool plain = c.scale == 0 && c.softcap == 0 && !c.alibi;
  if (plain) {
    Vec yr(nq);
    attention_forward_ref(yr.data(), probs.data(), qf.data(), kf.data(), vf.data(), c.B, c.T, c.NH, c.NKV, c.HD, c.window,
                          c.packed ? ss.data() : nullptr);
    EXPECT(max_rel(yg, yr) < 8e-3);
  }

  DeviceArray<uint16_t> gq(*g_ops, (int64_t)nq), gk(*g_ops, (int64_t)nkv), gv(*g_ops, (int64_t)nkv);
  DeviceArray<uint8_t> work(*g_ops, (int64_t)g_ops->attention_backward_workspace_bytes(p));
  g_ops->attention_backward(gq.get(), gk.get(), gv.get(), ddy.get(), y.get(), lse.get(), dq_.get(), dk_.get(), dv_.get(),
                            work.get(), p);
  const Vec gqf = widen(get(gq)), gkf = widen(get(gk)), gvf = widen(get(gv));
  // The CPU kernel on the same fp32 operands, rounded: the same bits.
  AttentionExtras ex;
  ex.scale = c.scale, ex.softcap = c.softcap, ex.alibi = c.alibi ? slopes.data() : nullptr;
  Vec cq(nq), ck(nkv), cv(nkv), scratch((size_t)attention_scratch_floats(c.T, 1));
  const Vec yb = yg;  // the bf16 output the backward read
  tuner::attention_backward(cq.data(), ck.data(), cv.data(), dyf.data(), yb.data(), lg.data(), qf.data(), kf.data(),
                            vf.data(), scratch.data(), c.B, c.T, c.NH, c.NKV, c.HD, c.window, nullptr, &ex,
                            c.packed ? ss.data() : nullptr);
  EXPECT(same_bits(gqf, widen(to_bits(cq))) && same_bits(gkf, widen(to_bits(ck))) && same_bits(gvf, widen(to_bits(cv))));
  if (plain) {
    Vec rq(nq), rk(nkv), rv(nkv);
    attention_backward_ref(rq.data(), rk.data(), rv.data(), dyf.data(), probs.data(), qf.data(), kf.data(), vf.data(), c.B,
                           c.T, c.NH, c.NKV, c.HD, c.window, c.packed ? ss.data() : nullptr);
    EXPECT(max_rel(gqf, rq) < 2e-2);
    EXPECT(max_rel(gkf, rk) < 2e-2);
    EXPECT(max_rel(gvf, rv) < 2e-2);
  }
  // A workspace smaller than asked for is refused.
  DeviceArray<uint8_t> small(*g_ops, 16);
  EXPECT_ERROR([&] {
    g_ops->attention_backward(gq.get(), gk.get(), gv.get(), ddy.get(), y.get(), lse.get(), dq_.get(), dk_.get(), dv_.get(),
                              small.get(), p);
  }, "internal", "attention_backward: workspace");
}

// ---- loss ----

void test_cross_entropy() {
  const int N = 7, V = 50;
  const float scale = 0.25f;
  Vec logits = randn(N * V, 3.0f, rng);
  std::vector<uint32_t> targets = {3, 49, 0, 1000, 17, 8, 2};  // row 3's target is masked out (never read)
  std::vector<uint8_t> mask = {1, 1, 0, 0, 1, 1, 1};
  for (bool with_mask : {true, false}) {
    if (!with_mask) targets[3] = 9;
    DeviceArray<float> dl = put(logits), losses(*g_ops, N), lse(*g_ops, N);
    DeviceArray<uint32_t> dt = put(targets);
    DeviceArray<uint8_t> dm = put(mask);
    g_ops->cross_entropy_forward(losses.get(), lse.get(), dl.get(), dt.get(), with_mask ? dm.get() : nullptr, N, V);
    g_ops->cross_entropy_backward(dl.get(), lse.get(), dt.get(), with_mask ? dm.get() : nullptr, N, V, scale);
    const Vec gl = get(losses), glse = get(lse), gd = get(dl);
    for (int n = 0; n < N; n++) {
      const bool kept = !with_mask || mask[n];
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < V; j++) mx = std::max(mx, (double)logits[n * V + j]);
      for (int j = 0; j < V; j++) sum += std::exp(logits[n * V + j] - mx);
      const double z = mx + std::log(sum);
      EXPECT_NEAR(glse[n], kept ? z : 0.0, 1e-5 * (1 + std::fabs(z)));
      EXPECT_NEAR(gl[n], kept ? z - logits[n * V + targets[n]] : 0.0, 1e-4);
      for (int j = 0; j < V; j++) {
        const double want = kept ? scale * (std::exp(logits[n * V + j] - z) - (j == (int)targets[n] ? 1.0 : 0.0)) : 0.0;
        EXPECT_NEAR(gd[n * V + j], want, 1e-6);
      }
    }
  }
}

// ---- reductions and optimizer updates ----

void test_sum_squares() {
  Vec a = randn(5000, 1.0f, rng), b = randn(17, 1.0f, rng), c = randn(1, 1.0f, rng);
  DeviceArray<float> da = put(a), db = put(b), dc = put(c);
  const float* xs[3] = {da.get(), db.get() + 1, dc.get()};
  const int64_t ns[3] = {5000, 16, 1};
  double out[3] = {0, 0, 0};
  g_ops->sum_squares(out, xs, ns, 3);
  EXPECT(out[0] == vector_kernels().sum_squares(a.data(), 5000));
  EXPECT(out[1] == vector_kernels().sum_squares(b.data() + 1, 16));
  EXPECT(out[2] == (double)c[0] * c[0]);
  double s = 0;
  for (float x : a) s += (double)x * x;
  EXPECT_NEAR(out[0], s, 1e-9 * s);
}

void test_optimizers() {
  const int64_t n = 5003;  // several 1024-element pieces and a tail
  const VectorKernels& vk = vector_kernels();
  Vec w = randn(n, 1.0f, rng), m = randn(n, 0.1f, rng), v = randn(n, 0.01f, rng), g = randn(n, 1.0f, rng);
  for (auto& x : v) x = std::fabs(x);
  {
    const AdamWScalars s{0.5f, 0.999f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f, 0.3f, 1e-8f};
    DeviceArray<float> dw = put(w), dm = put(m), dv = put(v), dg = put(g);
    g_ops->adamw_update(dw.get(), dm.get(), dv.get(), dg.get(), n, s);
    Vec ww = w, wm = m, wv = v;
    vk.adamw_update(ww.data(), wm.data(), wv.data(), g.data(), n, s);
    EXPECT(same_bits(get(dw), ww) && same_bits(get(dm), wm) && same_bits(get(dv), wv));
  }
  {
    const LionScalars s{1.0f, 0.999f, 1e-4f, 0.9f, 0.1f, 0.99f, 0.01f};
    DeviceArray<float> dw = put(w), dm = put(m), dg = put(g);
    g_ops->lion_update(dw.get(), dm.get(), dg.get(), n, s);
    Vec ww = w, wm = m;
    vk.lion_update(ww.data(), wm.data(), g.data(), n, s);
    EXPECT(same_bits(get(dw), ww) && same_bits(get(dm), wm));
  }
  for (bool momentum : {false, true}) {
    const SgdScalars s{0.8f, 0.01f, momentum ? 0.9f : 0.0f, 0.05f, momentum};
    DeviceArray<float> dw = put(w), db = put(m), dg = put(g);
    g_ops->sgd_update(dw.get(), momentum ? db.get() : nullptr, dg.get(), n, s);
    Vec ww = w, wb = m;
    vk.sgd_update(ww.data(), momentum ? wb.data() : nullptr, g.data(), n, s);
    EXPECT(same_bits(get(dw), ww) && same_bits(get(db), wb));
  }
}

}  // namespace

int main() {
  auto ops = make_host_ops();
  g_ops = ops.get();
  test_memory();
  test_refusals();
#if defined(__linux__)
  test_dereference_crashes();
#endif
  test_cuda_ops_absent();
  test_conversions();
  test_gemm();
  test_quant();
  test_elementwise();
  test_embedding();
  test_rmsnorm();
  test_arch_ops();
  test_rope();
  test_dropout();
  //           B  T   NH NKV HD window scale  softcap alibi  packed
  test_attention({2, 19, 4, 2, 16, 0, 0.0f, 0.0f, false, false});
  test_attention({1, 70, 2, 1, 8, 9, 0.0f, 0.0f, false, false});  // a window, more than one 64-row block
  test_attention({2, 24, 2, 2, 8, 0, 0.0f, 0.0f, false, true});   // packed records
  test_attention({1, 21, 4, 1, 8, 5, 0.2f, 3.0f, true, true});   // every extra at once
  test_cross_entropy();
  test_sum_squares();
  test_optimizers();
  g_ops = nullptr;
  return finish("test_host_ops");
}
