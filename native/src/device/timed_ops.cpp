#include "device/timed_ops.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

namespace tuner {
namespace dev {

const char* op_family_name(OpFamily f) {
  switch (f) {
    case OpFamily::Gemm: return "gemm";
    case OpFamily::Attention: return "attention";
    case OpFamily::Norm: return "norm";
    case OpFamily::Elementwise: return "elementwise";
    case OpFamily::Loss: return "loss";
    case OpFamily::Optimizer: return "optimizer";
    case OpFamily::Copies: return "copies";
    case OpFamily::Memory: return "memory";
    case OpFamily::Count: break;
  }
  return "?";
}

void TimedOps::reset() {
  for (OpFamilyTime& t : totals_) t = OpFamilyTime{};
}

double TimedOps::total_ms() const {
  double ms = 0.0;
  for (const OpFamilyTime& t : totals_) ms += t.ms;
  return ms;
}

std::string TimedOps::shares_table() const {
  std::vector<int> order;
  for (int f = 0; f < static_cast<int>(OpFamily::Count); ++f)
    if (totals_[f].calls > 0) order.push_back(f);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return totals_[a].ms > totals_[b].ms; });
  const double total = total_ms();
  std::string out;
  char line[128];
  std::snprintf(line, sizeof line, "  %-12s %8s %11s %7s\n", "op family", "calls", "ms", "share");
  out += line;
  int64_t calls = 0;
  for (int f : order) {
    const OpFamilyTime& t = totals_[f];
    calls += t.calls;
    std::snprintf(line, sizeof line, "  %-12s %8lld %11.3f %6.1f%%\n", op_family_name(static_cast<OpFamily>(f)),
                  static_cast<long long>(t.calls), t.ms, total > 0 ? 100.0 * t.ms / total : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-12s %8lld %11.3f %6.1f%%\n", "total", static_cast<long long>(calls), total,
                total > 0 ? 100.0 : 0.0);
  out += line;
  return out;
}

template <typename Fn>
auto TimedOps::timed(OpFamily f, Fn&& fn) -> decltype(fn()) {
  OpFamilyTime& t = totals_[static_cast<int>(f)];
  ++t.calls;
  if (!timing_) return fn();
  // Work queued before this op is not its own.
  inner_.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  struct Stop {  // after the op, around a returned value; not while the op's error unwinds
    TimedOps* self;
    OpFamilyTime& t;
    std::chrono::steady_clock::time_point t0;
    int unwinding = std::uncaught_exceptions();
    ~Stop() noexcept(false) {  // the sync reports the op's asynchronous errors
      if (std::uncaught_exceptions() > unwinding) return;
      self->inner_.synchronize();
      t.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
  } stop{this, t, t0};
  return fn();
}

void* TimedOps::alloc(size_t bytes) { return timed(OpFamily::Memory, [&] { return inner_.alloc(bytes); }); }
void TimedOps::release(void* p) { timed(OpFamily::Memory, [&] { inner_.release(p); }); }
void TimedOps::upload(void* dst, const void* host_src, size_t bytes) {
  timed(OpFamily::Copies, [&] { inner_.upload(dst, host_src, bytes); });
}
void TimedOps::download(void* host_dst, const void* src, size_t bytes) {
  timed(OpFamily::Copies, [&] { inner_.download(host_dst, src, bytes); });
}
void TimedOps::copy(void* dst, const void* src, size_t bytes) { timed(OpFamily::Copies, [&] { inner_.copy(dst, src, bytes); }); }
void TimedOps::fill_zero(void* dst, size_t bytes) { timed(OpFamily::Copies, [&] { inner_.fill_zero(dst, bytes); }); }

void TimedOps::to_bf16(bf16* out, const float* in, int64_t n) { timed(OpFamily::Elementwise, [&] { inner_.to_bf16(out, in, n); }); }
void TimedOps::to_f32(float* out, const bf16* in, int64_t n) { timed(OpFamily::Elementwise, [&] { inner_.to_f32(out, in, n); }); }

void TimedOps::gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
                    float beta, float* C, int ldc) {
  timed(OpFamily::Gemm, [&] { inner_.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); });
}
std::unique_ptr<DeviceQuantWeight> TimedOps::upload_quant(const QuantMatrix& w) {
  return timed(OpFamily::Copies, [&] { return inner_.upload_quant(w); });
}
void TimedOps::qgemm(float* Y, int ldy, const bf16* X, int ldx, const DeviceQuantWeight& W, int M, bool accumulate) {
  timed(OpFamily::Gemm, [&] { inner_.qgemm(Y, ldy, X, ldx, W, M, accumulate); });
}
void TimedOps::dequantize(bf16* out, const DeviceQuantWeight& W) { timed(OpFamily::Gemm, [&] { inner_.dequantize(out, W); }); }

void TimedOps::add(float* out, const float* a, const float* b, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.add(out, a, b, n); });
}
void TimedOps::axpy(float* y, float alpha, const float* x, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.axpy(y, alpha, x, n); });
}
void TimedOps::scale(float* x, float alpha, int64_t n) { timed(OpFamily::Elementwise, [&] { inner_.scale(x, alpha, n); }); }
void TimedOps::bias_forward(float* y, const float* bias, int N, int C) {
  timed(OpFamily::Elementwise, [&] { inner_.bias_forward(y, bias, N, C); });
}
void TimedOps::bias_backward(float* dbias, const float* dy, int N, int C) {
  timed(OpFamily::Elementwise, [&] { inner_.bias_backward(dbias, dy, N, C); });
}
void TimedOps::embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale) {
  timed(OpFamily::Elementwise, [&] { inner_.embedding_forward(out, table, tokens, N, C, scale); });
}
void TimedOps::embedding_backward(float* dtable, const float* dout, const uint32_t* tokens, int N, int C, float scale) {
  timed(OpFamily::Elementwise, [&] { inner_.embedding_backward(dtable, dout, tokens, N, C, scale); });
}
void TimedOps::rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
  timed(OpFamily::Norm, [&] { inner_.rmsnorm_forward(out, rstd, inp, weight, N, C, eps); });
}
void TimedOps::rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                                const float* rstd, int N, int C, bool accumulate) {
  timed(OpFamily::Norm, [&] { inner_.rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C, accumulate); });
}
void TimedOps::rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos) {
  timed(OpFamily::Elementwise, [&] { inner_.rope_forward(x, cos, sin, B, T, nh, HD, pos); });
}
void TimedOps::rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD,
                             const int32_t* pos) {
  timed(OpFamily::Elementwise, [&] { inner_.rope_backward(dx, cos, sin, B, T, nh, HD, pos); });
}
void TimedOps::dropout(float* out, const float* x, int64_t n, float p, uint64_t seed, uint64_t stream, uint64_t first,
                       bool accumulate) {
  timed(OpFamily::Elementwise, [&] { inner_.dropout(out, x, n, p, seed, stream, first, accumulate); });
}
void TimedOps::swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.swiglu_forward(out, gate, up, n); });
}
void TimedOps::swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.swiglu_backward(dgate, dup, dout, gate, up, n); });
}

void TimedOps::attention_forward(bf16* y, float* lse, const bf16* q, const bf16* k, const bf16* v, const AttentionShape& p) {
  timed(OpFamily::Attention, [&] { inner_.attention_forward(y, lse, q, k, v, p); });
}
void TimedOps::attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dy, const bf16* y, const float* lse,
                                  const bf16* q, const bf16* k, const bf16* v, void* workspace, const AttentionShape& p) {
  timed(OpFamily::Attention, [&] { inner_.attention_backward(dq, dk, dv, dy, y, lse, q, k, v, workspace, p); });
}

void TimedOps::attention_decode(bf16* y, const bf16* q, const bf16* k_cache, const bf16* v_cache, const DecodeShape& p) {
  timed(OpFamily::Attention, [&] { inner_.attention_decode(y, q, k_cache, v_cache, p); });
}
void TimedOps::gemv_bf16(float* y, const float* x, const bf16* W, int rows, int cols, int M, bool accumulate) {
  timed(OpFamily::Gemm, [&] { inner_.gemv_bf16(y, x, W, rows, cols, M, accumulate); });
}
void TimedOps::qgemv(float* y, const float* x, const DeviceQuantWeight& W, int M, bool accumulate) {
  timed(OpFamily::Gemm, [&] { inner_.qgemv(y, x, W, M, accumulate); });
}

void TimedOps::cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets,
                                     const uint8_t* mask, int N, int V) {
  timed(OpFamily::Loss, [&] { inner_.cross_entropy_forward(losses, lse, logits, targets, mask, N, V); });
}
void TimedOps::cross_entropy_backward(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N,
                                      int V, float scale) {
  timed(OpFamily::Loss, [&] { inner_.cross_entropy_backward(logits, lse, targets, mask, N, V, scale); });
}

void TimedOps::sum_squares(double* host_out, const float* const* xs, const int64_t* ns, int count) {
  timed(OpFamily::Optimizer, [&] { inner_.sum_squares(host_out, xs, ns, count); });
}
void TimedOps::adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s) {
  timed(OpFamily::Optimizer, [&] { inner_.adamw_update(w, m, v, g, n, s); });
}
void TimedOps::lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s) {
  timed(OpFamily::Optimizer, [&] { inner_.lion_update(w, m, g, n, s); });
}
void TimedOps::sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s) {
  timed(OpFamily::Optimizer, [&] { inner_.sgd_update(w, buf, g, n, s); });
}

// ---- other architectures ----
void TimedOps::layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int N, int C, float eps) {
  timed(OpFamily::Norm, [&] { inner_.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps); });
}
void TimedOps::layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* weight, const float* mean, const float* rstd, int N, int C, bool accumulate) {
  timed(OpFamily::Norm,
        [&] { inner_.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, accumulate); });
}
void TimedOps::gelu_forward(float* out, const float* x, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.gelu_forward(out, x, n); });
}
void TimedOps::gelu_backward(float* dx, const float* dout, const float* x, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.gelu_backward(dx, dout, x, n); });
}
void TimedOps::geglu_forward(float* out, const float* gate, const float* up, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.geglu_forward(out, gate, up, n); });
}
void TimedOps::geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.geglu_backward(dgate, dup, dout, gate, up, n); });
}
void TimedOps::softcap_forward(float* x, float* t, int64_t n, float cap) {
  timed(OpFamily::Elementwise, [&] { inner_.softcap_forward(x, t, n, cap); });
}
void TimedOps::softcap_backward(float* dx, const float* t, int64_t n) {
  timed(OpFamily::Elementwise, [&] { inner_.softcap_backward(dx, t, n); });
}
void TimedOps::split_qkv(float* q, float* k, float* v, const float* qkv, int N, int NH, int NKV, int HD, bool per_head) {
  timed(OpFamily::Elementwise, [&] { inner_.split_qkv(q, k, v, qkv, N, NH, NKV, HD, per_head); });
}
void TimedOps::merge_qkv(float* qkv, const float* q, const float* k, const float* v, int N, int NH, int NKV, int HD,
                         bool per_head) {
  timed(OpFamily::Elementwise, [&] { inner_.merge_qkv(qkv, q, k, v, N, NH, NKV, HD, per_head); });
}

}  // namespace dev
}  // namespace tuner
