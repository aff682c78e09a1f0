// host_ops: the DeviceOps of device_ops.h on the CPU engine's own kernels (the fast kernels of
// tuner/ops.h, gemm_bf16, the vector-kernel table, qgemm's prefill path), so that the device
// model's tests run its whole step on machines without a GPU and compare it with the CPU engine.
// Memory is host memory at shifted addresses (host_memory.h); every op checks and shifts back the
// ranges it touches. Ops run synchronously on the ops' own thread pool, so synchronize() has
// nothing to wait for.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "device/device_ops.h"
#include "device/host_memory.h"
#include "infer/infer_internal.h"
#include "kernels/cpu/vector_kernels.h"
#include "quant/quant_internal.h"
#include "tuner/dtype.h"
#include "tuner/error.h"
#include "tuner/gemm_bf16.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

namespace tuner {
namespace dev {

namespace {

// A quantized weight "uploaded" to host_ops: a copy of the host matrix, counted in the ops' memory.
class HostQuantWeight final : public DeviceQuantWeight {
 public:
  HostQuantWeight(const QuantMatrix& w, HostMemory& mem, const void* owner) : w_(w), mem_(mem), owner_(owner) {
    mem_.add_resident(w_.bytes());
  }
  ~HostQuantWeight() override { mem_.remove_resident(w_.bytes()); }
  int rows() const override { return w_.rows; }
  int cols() const override { return w_.cols; }
  size_t bytes() const override { return w_.bytes(); }
  const QuantMatrix& matrix() const { return w_; }
  const void* owner() const { return owner_; }

 private:
  QuantMatrix w_;
  HostMemory& mem_;
  const void* owner_;
};

class HostOps final : public DeviceOps {
 public:
  HostOps() : pool_(0), vk_(vector_kernels()) {}

  const char* kind() const override { return "host"; }
  std::string device_name() const override { return "CPU (host_ops)"; }

  // ---- memory ----
  void* alloc(size_t bytes) override {
    // TUNER_HOST_OPS_MEMORY_LIMIT=<bytes> (a test hook, docs/cuda.md): a device of that size, so
    // the tests reach the trainer's out-of-memory report as a GPU's cudaMalloc failure would.
    static const size_t limit = [] {
      const char* v = std::getenv("TUNER_HOST_OPS_MEMORY_LIMIT");
      return v ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : size_t(0);
    }();
    const size_t in_use = mem_.info().in_use;
    if (limit > 0 && bytes > 0 && in_use + bytes > limit)
      throw TunerError("cuda_out_of_memory",
                       "host_ops alloc of " + std::to_string(bytes) + " bytes: out of memory (TUNER_HOST_OPS_MEMORY_LIMIT " +
                           std::to_string(limit) + " bytes, " + std::to_string(in_use) + " in use)",
                       "The GPU ran out of memory: lower batch_size or max_length, turn on gradient_checkpointing, or use "
                       "method qlora.");
    return mem_.alloc(bytes);
  }
  void release(void* p) override { mem_.release(p); }
  void upload(void* dst, const void* host_src, size_t bytes) override {
    void* d = mem_.host(dst, bytes, "upload", "dst");
    if (bytes == 0) return;
    if (HostMemory::is_device(host_src)) refuse("upload", "the source is device memory (copy() moves device to device)");
    std::memcpy(d, host_src, bytes);
  }
  void download(void* host_dst, const void* src, size_t bytes) override {
    const void* s = mem_.host(src, bytes, "download", "src");
    if (bytes == 0) return;
    if (HostMemory::is_device(host_dst)) refuse("download", "the destination is device memory (copy() moves device to device)");
    std::memcpy(host_dst, s, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    void* d = mem_.host(dst, bytes, "copy", "dst");
    const void* s = mem_.host(src, bytes, "copy", "src");
    if (bytes) std::memmove(d, s, bytes);
  }
  void fill_zero(void* dst, size_t bytes) override {
    void* d = mem_.host(dst, bytes, "fill_zero", "dst");
    if (bytes) std::memset(d, 0, bytes);
  }
  void synchronize() override {}
  DeviceMemoryInfo memory() const override { return mem_.info(); }

  // ---- conversions ----
  void to_bf16(bf16* out, const float* in, int64_t n) override {
    round_to_bf16(at(out, n, "to_bf16", "out"), at(in, n, "to_bf16", "in"), n, &pool_);
  }
  void to_f32(float* out, const bf16* in, int64_t n) override {
    widen(at(out, n, "to_f32", "out"), at(in, n, "to_f32", "in"), n);
  }

  // ---- matrix products ----
  void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
            float beta, float* C, int ldc) override {
    const char* op = "gemm";
    const bool an = ta == Trans::N, bn = tb == Trans::N;
    const uint16_t* a = at(A, extent(an ? M : K, an ? K : M, lda, op, "A"), op, "A");
    const uint16_t* b = at(B, extent(bn ? K : N, bn ? N : K, ldb, op, "B"), op, "B");
    float* c = at(C, extent(M, N, ldc, op, "C"), op, "C");
    if (M <= 0 || N <= 0) return;
    gemm_bf16(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, &pool_);
  }
  std::unique_ptr<DeviceQuantWeight> upload_quant(const QuantMatrix& w) override {
    return std::make_unique<HostQuantWeight>(w, mem_, this);
  }
  // The CPU engine's QLoRA path (qgemm_prefill: sgemm on decoded panels, never the int8-activation
  // decode kernels), so the device model sees exactly the dequantized weights, as the host model does.
  void qgemm(float* Y, int ldy, const bf16* X, int ldx, const DeviceQuantWeight& W, int M, bool accumulate) override {
    const char* op = "qgemm";
    const QuantMatrix& w = quant(W, op);
    const uint16_t* x = at(X, extent(M, w.cols, ldx, op, "X"), op, "X");
    float* y = at(Y, extent(M, w.rows, ldy, op, "Y"), op, "Y");
    if (M <= 0) return;
    std::vector<float>& xf = scratch(0, (size_t)M * w.cols);
    parallel_rows(&pool_, M, [&](int64_t b, int64_t e, int) {
      for (int64_t m = b; m < e; m++)
        for (int c = 0; c < w.cols; c++) xf[m * w.cols + c] = bf16_to_f32(x[m * ldx + c]);
    });
    if (ldy == w.rows) {
      qgemm_prefill(qgemm_kernels_best(), y, xf.data(), quant_view(w), M, accumulate, &pool_);
      return;
    }
    std::vector<float>& yd = scratch(1, (size_t)M * w.rows);
    if (accumulate)
      for (int m = 0; m < M; m++) std::memcpy(&yd[(size_t)m * w.rows], y + (int64_t)m * ldy, sizeof(float) * w.rows);
    qgemm_prefill(qgemm_kernels_best(), yd.data(), xf.data(), quant_view(w), M, accumulate, &pool_);
    for (int m = 0; m < M; m++) std::memcpy(y + (int64_t)m * ldy, &yd[(size_t)m * w.rows], sizeof(float) * w.rows);
  }
  void dequantize(bf16* out, const DeviceQuantWeight& W) override {
    const QuantMatrix& w = quant(W, "dequantize");
    const int64_t n = (int64_t)w.rows * w.cols;
    uint16_t* o = at(out, n, "dequantize", "out");
    std::vector<float>& f = scratch(0, (size_t)n);
    dequantize_matrix(f.data(), w);
    round_to_bf16(o, f.data(), n, &pool_);
  }

  // ---- element-wise and row ops ----
  void add(float* out, const float* a, const float* b, int64_t n) override {
    float* o = at(out, n, "add", "out");
    const float *x = at(a, n, "add", "a"), *y = at(b, n, "add", "b");
    chunks(n, [&](int64_t i0, int64_t i1) { vk_.add(o + i0, x + i0, y + i0, i1 - i0); });
  }
  void axpy(float* y, float alpha, const float* x, int64_t n) override {
    float* o = at(y, n, "axpy", "y");
    const float* in = at(x, n, "axpy", "x");
    chunks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) o[i] += alpha * in[i];
    });
  }
  void scale(float* x, float alpha, int64_t n) override {
    float* o = at(x, n, "scale", "x");
    chunks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) o[i] *= alpha;
    });
  }
  void bias_forward(float* y, const float* bias, int N, int C) override {
    float* o = at(y, (int64_t)N * C, "bias_forward", "y");
    const float* b = at(bias, C, "bias_forward", "bias");
    parallel_rows(&pool_, N, [&](int64_t r0, int64_t r1, int) {
      for (int64_t n = r0; n < r1; n++)
        for (int c = 0; c < C; c++) o[n * C + c] += b[c];
    });
  }
  void bias_backward(float* dbias, const float* dy, int N, int C) override {
    float* db = at(dbias, C, "bias_backward", "dbias");
    const float* d = at(dy, (int64_t)N * C, "bias_backward", "dy");
    add_column_sums(db, d, N, C, &pool_);
  }
  void embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale) override {
    const char* op = "embedding_forward";
    float* o = at(out, (int64_t)N * C, op, "out");
    const uint32_t* tok = at(tokens, N, op, "tokens");
    const float* t = table_rows(table, tok, N, C, op);
    parallel_rows(&pool_, N, [&](int64_t r0, int64_t r1, int) {
      for (int64_t n = r0; n < r1; n++) {
        const float* row = t + (int64_t)tok[n] * C;
        for (int c = 0; c < C; c++) o[n * C + c] = row[c] * scale;
      }
    });
  }
  // Rows are summed in token order (columns split over threads), so repeated tokens get the same
  // result for any thread count.
  void embedding_backward(float* dtable, const float* dout, const uint32_t* tokens, int N, int C, float scale) override {
    const char* op = "embedding_backward";
    const float* d = at(dout, (int64_t)N * C, op, "dout");
    const uint32_t* tok = at(tokens, N, op, "tokens");
    float* t = const_cast<float*>(table_rows(dtable, tok, N, C, op));
    parallel_rows(&pool_, C, [&](int64_t c0, int64_t c1, int) {
      for (int n = 0; n < N; n++) {
        float* row = t + (int64_t)tok[n] * C;
        for (int64_t c = c0; c < c1; c++) row[c] += d[(int64_t)n * C + c] * scale;
      }
    });
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) override {
    const char* op = "rmsnorm_forward";
    const int64_t nc = (int64_t)N * C;
    tuner::rmsnorm_forward(at(out, nc, op, "out"), at(rstd, N, op, "rstd"), at(inp, nc, op, "inp"),
                           at(weight, C, op, "weight"), N, C, eps, &pool_);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int N, int C, bool accumulate) override {
    const char* op = "rmsnorm_backward";
    const int64_t nc = (int64_t)N * C;
    tuner::rmsnorm_backward(at(dinp, nc, op, "dinp"), optional(dweight, C, op, "dweight"), at(dout, nc, op, "dout"),
                            at(inp, nc, op, "inp"), at(weight, C, op, "weight"), at(rstd, N, op, "rstd"), N, C,
                            accumulate, &pool_);
  }
  void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos) override {
    rope("rope_forward", x, cos, sin, B, T, nh, HD, pos, false);
  }
  void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD,
                     const int32_t* pos) override {
    rope("rope_backward", dx, cos, sin, B, T, nh, HD, pos, true);
  }
  // linear.cpp's lora_input / linear_backward_input loops: the same keep decision and scale.
  void dropout(float* out, const float* x, int64_t n, float p, uint64_t seed, uint64_t stream, uint64_t first,
               bool accumulate) override {
    float* o = at(out, n, "dropout", "out");
    const float* in = at(x, n, "dropout", "x");
    const float keep_scale = 1.0f / (1.0f - p);
    chunks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        const bool keep = dropout_keep(seed, stream, first + (uint64_t)i, p);
        if (accumulate) {
          if (keep) o[i] += in[i] * keep_scale;
        } else {
          o[i] = keep ? in[i] * keep_scale : 0.0f;
        }
      }
    });
  }
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) override {
    const char* op = "swiglu_forward";
    tuner::swiglu_forward(at(out, n, op, "out"), at(gate, n, op, "gate"), at(up, n, op, "up"), n, &pool_);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) override {
    const char* op = "swiglu_backward";
    tuner::swiglu_backward(at(dgate, n, op, "dgate"), at(dup, n, op, "dup"), at(dout, n, op, "dout"),
                           at(gate, n, op, "gate"), at(up, n, op, "up"), n, &pool_);
  }

  // ---- attention ----
  void attention_forward(bf16* y, float* lse, const bf16* q, const bf16* k, const bf16* v,
                         const AttentionShape& p) override {
    const char* op = "attention_forward";
    const AttentionArgs a = attention_args(p, op);
    uint16_t* yo = at(y, a.nq, op, "y");
    float* l = at(lse, a.nlse, op, "lse");
    std::vector<float>& qf = scratch(0, a.nq);
    std::vector<float>& kf = scratch(1, a.nkv);
    std::vector<float>& vf = scratch(2, a.nkv);
    std::vector<float>& yf = scratch(3, a.nq);
    std::vector<float>& work = scratch(4, (size_t)attention_scratch_floats(p.T, pool_.size()));
    widen(qf.data(), at(q, a.nq, op, "q"), a.nq);
    widen(kf.data(), at(k, a.nkv, op, "k"), a.nkv);
    widen(vf.data(), at(v, a.nkv, op, "v"), a.nkv);
    tuner::attention_forward(yf.data(), l, qf.data(), kf.data(), vf.data(), work.data(), p.B, p.T, p.NH, p.NKV, p.HD,
                             p.window, &pool_, &a.extras, a.sample_start);
    round_to_bf16(yo, yf.data(), a.nq, &pool_);
  }
  // The CPU backward's scratch (attention_scratch_floats); the fp32 copies of the operands are
  // the ops' own host buffers.
  size_t attention_backward_workspace_bytes(const AttentionShape& p) override {
    return sizeof(float) * (size_t)attention_scratch_floats(p.T, pool_.size());
  }
  void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dy, const bf16* y, const float* lse, const bf16* q,
                          const bf16* k, const bf16* v, void* workspace, const AttentionShape& p) override {
    const char* op = "attention_backward";
    const AttentionArgs a = attention_args(p, op);
    uint16_t* dqo = at(dq, a.nq, op, "dq");
    uint16_t* dko = at(dk, a.nkv, op, "dk");
    uint16_t* dvo = at(dv, a.nkv, op, "dv");
    const float* l = at(lse, a.nlse, op, "lse");
    float* work = static_cast<float*>(mem_.host(workspace, attention_backward_workspace_bytes(p), op, "workspace"));
    std::vector<float>& qf = scratch(0, a.nq);
    std::vector<float>& kf = scratch(1, a.nkv);
    std::vector<float>& vf = scratch(2, a.nkv);
    std::vector<float>& yf = scratch(3, a.nq);
    std::vector<float>& dyf = scratch(4, a.nq);
    std::vector<float>& dqf = scratch(5, a.nq);
    std::vector<float>& dkf = scratch(6, a.nkv);
    std::vector<float>& dvf = scratch(7, a.nkv);
    widen(qf.data(), at(q, a.nq, op, "q"), a.nq);
    widen(kf.data(), at(k, a.nkv, op, "k"), a.nkv);
    widen(vf.data(), at(v, a.nkv, op, "v"), a.nkv);
    widen(yf.data(), at(y, a.nq, op, "y"), a.nq);
    widen(dyf.data(), at(dy, a.nq, op, "dy"), a.nq);
    tuner::attention_backward(dqf.data(), dkf.data(), dvf.data(), dyf.data(), yf.data(), l, qf.data(), kf.data(),
                              vf.data(), work, p.B, p.T, p.NH, p.NKV, p.HD, p.window, &pool_, &a.extras, a.sample_start);
    round_to_bf16(dqo, dqf.data(), a.nq, &pool_);
    round_to_bf16(dko, dkf.data(), a.nkv, &pool_);
    round_to_bf16(dvo, dvf.data(), a.nkv, &pool_);
  }

  // ---- decode ----
  // The CPU inference session's cached attention (attention_cache.cpp) on the cache widened to fp32.
  void attention_decode(bf16* y, const bf16* q, const bf16* k_cache, const bf16* v_cache, const DecodeShape& p) override {
    const char* op = "attention_decode";
    if (p.n < 1 || p.pos < 0 || p.NH < 1 || p.NKV < 1 || p.HD < 1 || p.NH % p.NKV != 0)
      refuse(op, "bad shape n " + std::to_string(p.n) + " pos " + std::to_string(p.pos) + " NH " + std::to_string(p.NH) +
                     " NKV " + std::to_string(p.NKV) + " HD " + std::to_string(p.HD));
    const int64_t nq = (int64_t)p.n * p.NH * p.HD, nkv = (int64_t)(p.pos + p.n) * p.NKV * p.HD;
    std::vector<float>& qf = scratch(0, nq);
    std::vector<float>& kf = scratch(1, nkv);
    std::vector<float>& vf = scratch(2, nkv);
    std::vector<float>& yf = scratch(3, nq);
    std::vector<float>& work = scratch(4, (size_t)attention_cache_scratch_floats(p.pos + p.n, pool_.size()));
    widen(qf.data(), at(q, nq, op, "q"), nq);
    widen(kf.data(), at(k_cache, nkv, op, "k_cache"), nkv);
    widen(vf.data(), at(v_cache, nkv, op, "v_cache"), nkv);
    AttentionExtras extras;
    extras.scale = p.scale;
    extras.softcap = p.softcap;
    extras.alibi = optional(p.alibi, p.NH, op, "alibi");
    attention_cache_forward(yf.data(), qf.data(), kf.data(), vf.data(), work.data(), p.n, p.pos, p.NH, p.NKV, p.HD, p.window,
                            &pool_, &extras);
    round_to_bf16(at(y, nq, op, "y"), yf.data(), nq, &pool_);
  }
  void gemv_bf16(float* y, const float* x, const bf16* W, int rows, int cols, int M, bool accumulate) override {
    const char* op = "gemv_bf16";
    check_gemv_rows(op, M);
    float* yo = at(y, (int64_t)M * rows, op, "y");
    const float* xi = at(x, (int64_t)M * cols, op, "x");
    const uint16_t* w = at(W, (int64_t)rows * cols, op, "W");
    parallel_rows(&pool_, rows, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; r++)
        for (int m = 0; m < M; m++) {
          float acc = 0.0f;
          for (int c = 0; c < cols; c++) acc += xi[(int64_t)m * cols + c] * bf16_to_f32(w[r * cols + c]);
          float& out = yo[(int64_t)m * rows + r];
          out = accumulate ? out + acc : acc;
        }
    });
  }
  // qgemm's prefill path on fp32 rows: the weights decoded by the CPU's decoders, as qgemm() here.
  void qgemv(float* y, const float* x, const DeviceQuantWeight& W, int M, bool accumulate) override {
    const char* op = "qgemv";
    check_gemv_rows(op, M);
    const QuantMatrix& w = quant(W, op);
    qgemm_prefill(qgemm_kernels_best(), at(y, (int64_t)M * w.rows, op, "y"), at(x, (int64_t)M * w.cols, op, "x"),
                  quant_view(w), M, accumulate, &pool_);
  }

  // ---- loss ----
  void cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets, const uint8_t* mask,
                             int N, int V) override {
    const char* op = "cross_entropy_forward";
    const uint32_t* t = at(targets, N, op, "targets");
    const uint8_t* m = optional(mask, N, op, "mask");
    check_targets(t, m, N, V, op);
    tuner::cross_entropy_forward(at(losses, N, op, "losses"), at(lse, N, op, "lse"), at(logits, (int64_t)N * V, op, "logits"),
                                 t, m, N, V, &pool_);
  }
  // The CPU's backward divides by the counted rows; the device contract leaves that to the caller
  // (scale), so each kept row gets weight `scale` through the per-row variant.
  void cross_entropy_backward(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N, int V,
                              float scale) override {
    const char* op = "cross_entropy_backward";
    const uint32_t* t = at(targets, N, op, "targets");
    const uint8_t* m = optional(mask, N, op, "mask");
    check_targets(t, m, N, V, op);
    std::vector<float> row_scale((size_t)std::max(N, 0));
    for (int n = 0; n < N; n++) row_scale[n] = (!m || m[n]) ? scale : 0.0f;
    cross_entropy_backward_rows_inplace(at(logits, (int64_t)N * V, op, "logits"), at(lse, N, op, "lse"), t,
                                        row_scale.data(), N, V, &pool_);
  }

  // ---- reductions ----
  void sum_squares(double* host_out, const float* const* xs, const int64_t* ns, int count) override {
    std::vector<const float*> host(count);
    for (int i = 0; i < count; i++) host[i] = at(xs[i], ns[i], "sum_squares", "xs[i]");
    parallel_rows(&pool_, count, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; i++) host_out[i] = vk_.sum_squares(host[i], ns[i]);
    });
  }

  // ---- optimizer updates ----
  void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s) override {
    const char* op = "adamw_update";
    float *wp = at(w, n, op, "w"), *mp = at(m, n, op, "m"), *vp = at(v, n, op, "v");
    const float* gp = at(g, n, op, "g");
    chunks(n, [&](int64_t i0, int64_t i1) { vk_.adamw_update(wp + i0, mp + i0, vp + i0, gp + i0, i1 - i0, s); });
  }
  void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s) override {
    const char* op = "lion_update";
    float *wp = at(w, n, op, "w"), *mp = at(m, n, op, "m");
    const float* gp = at(g, n, op, "g");
    chunks(n, [&](int64_t i0, int64_t i1) { vk_.lion_update(wp + i0, mp + i0, gp + i0, i1 - i0, s); });
  }
  void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s) override {
    const char* op = "sgd_update";
    float *wp = at(w, n, op, "w"), *bp = optional(buf, n, op, "buf");
    const float* gp = at(g, n, op, "g");
    chunks(n, [&](int64_t i0, int64_t i1) { vk_.sgd_update(wp + i0, bp ? bp + i0 : nullptr, gp + i0, i1 - i0, s); });
  }

  // ---- other architectures: the CPU engine's kernels of tuner/ops_arch.h ----
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                         int N, int C, float eps) override {
    const char* op = "layernorm_forward";
    const int64_t nc = (int64_t)N * C;
    tuner::layernorm_forward(at(out, nc, op, "out"), at(mean, N, op, "mean"), at(rstd, N, op, "rstd"), at(inp, nc, op, "inp"),
                             at(weight, C, op, "weight"), optional(bias, C, op, "bias"), N, C, eps, &pool_);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int N, int C, bool accumulate) override {
    const char* op = "layernorm_backward";
    const int64_t nc = (int64_t)N * C;
    tuner::layernorm_backward(at(dinp, nc, op, "dinp"), optional(dweight, C, op, "dweight"), optional(dbias, C, op, "dbias"),
                              at(dout, nc, op, "dout"), at(inp, nc, op, "inp"), at(weight, C, op, "weight"),
                              at(mean, N, op, "mean"), at(rstd, N, op, "rstd"), N, C, accumulate, &pool_);
  }
  void gelu_forward(float* out, const float* x, int64_t n) override {
    tuner::gelu_forward(at(out, n, "gelu_forward", "out"), at(x, n, "gelu_forward", "x"), n, &pool_);
  }
  // The CPU's fused kernel also remakes gelu(x), which the device model recomputes on its own.
  void gelu_backward(float* dx, const float* dout, const float* x, int64_t n) override {
    const char* op = "gelu_backward";
    std::vector<float>& out = scratch(0, (size_t)std::max<int64_t>(n, 0));
    tuner::gelu_forward_backward(out.data(), at(dx, n, op, "dx"), at(dout, n, op, "dout"), at(x, n, op, "x"), n, &pool_);
  }
  void geglu_forward(float* out, const float* gate, const float* up, int64_t n) override {
    const char* op = "geglu_forward";
    tuner::geglu_forward(at(out, n, op, "out"), at(gate, n, op, "gate"), at(up, n, op, "up"), n, &pool_);
  }
  void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) override {
    const char* op = "geglu_backward";
    std::vector<float>& out = scratch(0, (size_t)std::max<int64_t>(n, 0));
    tuner::geglu_forward_backward(out.data(), at(dgate, n, op, "dgate"), at(dup, n, op, "dup"), at(dout, n, op, "dout"),
                                  at(gate, n, op, "gate"), at(up, n, op, "up"), n, &pool_);
  }
  void softcap_forward(float* x, float* t, int64_t n, float cap) override {
    tuner::softcap_forward(at(x, n, "softcap_forward", "x"), at(t, n, "softcap_forward", "t"), n, cap, &pool_);
  }
  void softcap_backward(float* dx, const float* t, int64_t n) override {
    tuner::softcap_backward(at(dx, n, "softcap_backward", "dx"), at(t, n, "softcap_backward", "t"), n, &pool_);
  }
  void split_qkv(float* q, float* k, float* v, const float* qkv, int N, int NH, int NKV, int HD, bool per_head) override {
    permute_qkv("split_qkv", const_cast<float*>(qkv), q, k, v, N, NH, NKV, HD, per_head, true);
  }
  void merge_qkv(float* qkv, const float* q, const float* k, const float* v, int N, int NH, int NKV, int HD,
                 bool per_head) override {
    permute_qkv("merge_qkv", qkv, const_cast<float*>(q), const_cast<float*>(k), const_cast<float*>(v), N, NH, NKV, HD,
                per_head, false);
  }

 private:
  // The fused projection's row layout (arch_forward.cpp's split_qkv / merge_qkv): split copies
  // qkv -> q, k, v, merge the other way.
  void permute_qkv(const char* op, float* qkv, float* q, float* k, float* v, int N, int NH, int NKV, int HD, bool per_head,
                   bool split) {
    if (per_head && NKV != NH) refuse(op, "the per-head layout needs as many key/value heads as heads");
    const int64_t QD = (int64_t)NH * HD, KD = (int64_t)NKV * HD, W = QD + 2 * KD;
    float* f = at(qkv, (int64_t)N * W, op, "qkv");
    float* parts[3] = {at(q, (int64_t)N * QD, op, "q"), at(k, (int64_t)N * KD, op, "k"), at(v, (int64_t)N * KD, op, "v")};
    const int64_t width[3] = {QD, KD, KD};
    parallel_rows(&pool_, N, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; n++)
        for (int j = 0; j < 3; j++)
          for (int h = 0; h < (per_head ? NH : 1); h++) {
            const int64_t len = per_head ? HD : width[j];
            const int64_t fused = per_head ? (3 * h + j) * HD : (j == 0 ? 0 : j == 1 ? QD : QD + KD);
            float* a = f + n * W + fused;
            float* p = parts[j] + n * width[j] + (per_head ? h * HD : 0);
            if (split) std::memcpy(p, a, sizeof(float) * len);
            else std::memcpy(a, p, sizeof(float) * len);
          }
    });
  }
  // ---- argument checks: device range -> host pointer ----
  template <class T>
  T* at(T* p, int64_t count, const char* op, const char* arg) {
    if (count < 0) refuse(op, std::string(arg) + " has a negative size (" + std::to_string(count) + ")");
    return static_cast<T*>(mem_.host(p, (size_t)count * sizeof(T), op, arg));
  }
  template <class T>
  T* optional(T* p, int64_t count, const char* op, const char* arg) {
    return p ? at(p, count, op, arg) : nullptr;
  }
  // Elements a row-major rows x cols matrix with row stride ld spans.
  static int64_t extent(int rows, int cols, int ld, const char* op, const char* arg) {
    if (rows <= 0 || cols <= 0) return 0;
    if (ld < cols)
      refuse(op, std::string(arg) + "'s row stride " + std::to_string(ld) + " is less than its " + std::to_string(cols) +
                     " columns");
    return (int64_t)(rows - 1) * ld + cols;
  }
  static void check_gemv_rows(const char* op, int M) {
    if (M < 1 || M > kGemvMaxRows)
      refuse(op, "takes 1 to " + std::to_string(kGemvMaxRows) + " rows, got " + std::to_string(M));
  }
  [[noreturn]] static void refuse(const char* op, const std::string& why) {
    throw TunerError("internal", std::string("host_ops ") + op + ": " + why);
  }
  const QuantMatrix& quant(const DeviceQuantWeight& W, const char* op) const {
    auto* h = dynamic_cast<const HostQuantWeight*>(&W);
    if (!h || h->owner() != this) refuse(op, "the weight was not made by this DeviceOps' upload_quant()");
    return h->matrix();
  }
  // The table (or its gradient) as host memory, checked to hold every row `tokens` names.
  const float* table_rows(const float* table, const uint32_t* tokens, int N, int C, const char* op) const {
    size_t available = 0;
    const float* t = static_cast<const float*>(mem_.host_span(table, 0, op, "table", &available));
    const int64_t rows = C > 0 ? (int64_t)(available / (sizeof(float) * C)) : 0;
    for (int n = 0; n < N; n++)
      if ((int64_t)tokens[n] >= rows)
        refuse(op, "token " + std::to_string(tokens[n]) + " of row " + std::to_string(n) + " is outside the table's " +
                       std::to_string(rows) + " rows");
    return t;
  }
  static void check_targets(const uint32_t* t, const uint8_t* m, int N, int V, const char* op) {
    for (int n = 0; n < N; n++)
      if ((!m || m[n]) && t[n] >= (uint32_t)V)
        refuse(op, "target " + std::to_string(t[n]) + " of row " + std::to_string(n) + " is outside the vocabulary of " +
                       std::to_string(V));
  }
  void rope(const char* op, float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos,
            bool backward) {
    const int64_t N = (int64_t)B * T;
    float* xh = at(x, N * nh * HD, op, "x");
    const int32_t* ph = optional(pos, N, op, "pos");
    int64_t positions = T;
    if (ph) {
      positions = 0;
      for (int64_t i = 0; i < N; i++) {
        if (ph[i] < 0) refuse(op, "pos[" + std::to_string(i) + "] is negative");
        positions = std::max<int64_t>(positions, (int64_t)ph[i] + 1);
      }
    }
    const float* c = at(cos, positions * (HD / 2), op, "cos");
    const float* s = at(sin, positions * (HD / 2), op, "sin");
    if (backward) tuner::rope_backward(xh, c, s, B, T, nh, HD, &pool_, ph);
    else tuner::rope_forward(xh, c, s, B, T, nh, HD, &pool_, ph);
  }
  struct AttentionArgs {
    size_t nq = 0, nkv = 0, nlse = 0;
    AttentionExtras extras;
    const int32_t* sample_start = nullptr;
  };
  AttentionArgs attention_args(const AttentionShape& p, const char* op) {
    if (p.B < 1 || p.T < 1 || p.NH < 1 || p.NKV < 1 || p.HD < 1 || p.NH % p.NKV != 0)
      refuse(op, "bad shape B " + std::to_string(p.B) + " T " + std::to_string(p.T) + " NH " + std::to_string(p.NH) +
                     " NKV " + std::to_string(p.NKV) + " HD " + std::to_string(p.HD));
    AttentionArgs a;
    const size_t N = (size_t)p.B * p.T;
    a.nq = N * p.NH * p.HD;
    a.nkv = N * p.NKV * p.HD;
    a.nlse = (size_t)p.B * p.NH * p.T;
    a.extras.scale = p.scale;
    a.extras.softcap = p.softcap;
    a.extras.alibi = optional(p.alibi, p.NH, op, "alibi");
    a.sample_start = optional(p.sample_start, (int64_t)N, op, "sample_start");
    return a;
  }

  // ---- host helpers ----
  void widen(float* dst, const uint16_t* src, int64_t n) {
    chunks(n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) dst[i] = bf16_to_f32(src[i]);
    });
  }
  // fn(i0, i1) over [0, n) in pieces of whole 1024-element blocks, so vector kernels split this way
  // give the same bits as one call over the whole array (their tails fall at the array's end).
  template <class F>
  void chunks(int64_t n, F&& fn) {
    constexpr int64_t kBlock = 1024;
    parallel_rows(&pool_, (n + kBlock - 1) / kBlock, [&](int64_t b, int64_t e, int) {
      fn(b * kBlock, std::min(n, e * kBlock));
    });
  }
  // Host buffer `slot`, at least n floats (kept between ops).
  std::vector<float>& scratch(int slot, size_t n) {
    if (scratch_[slot].size() < n) scratch_[slot].resize(n);
    return scratch_[slot];
  }

  ThreadPool pool_;
  const VectorKernels& vk_;
  HostMemory mem_;
  std::vector<float> scratch_[8];
};

}  // namespace

std::unique_ptr<DeviceOps> make_host_ops() { return std::make_unique<HostOps>(); }

}  // namespace dev
}  // namespace tuner
