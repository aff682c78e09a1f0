// Where a device training step's time goes: TimedOps wraps any DeviceOps (cuda_ops, host_ops),
// forwards every call unchanged, and counts the calls of each op family. With timing on it also
// synchronizes the device before and after each op and adds the wall time between to the op's
// family, so the shares are those of the kernels themselves, not of whichever op happened to wait
// for the queue. Synchronizing serializes the host and the device, so a timed step is slower than
// an untimed one: benchmarks time their steps with timing off and run one separate profiled step
// for the shares (tuner-bench-cuda-train).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "device/device_ops.h"

namespace tuner {
namespace dev {

enum class OpFamily {
  Gemm,         // gemm, qgemm, dequantize
  Attention,    // attention forward / backward
  Norm,         // RMSNorm, LayerNorm forward / backward
  Elementwise,  // add, axpy, scale, bias, embedding, RoPE, dropout, SwiGLU, GELU, GeGLU, soft-capping,
                //   q/k/v split and merge, bf16 <-> fp32
  Loss,         // cross-entropy forward / backward
  Optimizer,    // AdamW / Lion / SGD updates, gradient sums of squares
  Copies,       // upload, download, device-to-device copy, fill_zero, upload_quant
  Memory,       // alloc, release
  Count
};
const char* op_family_name(OpFamily f);

struct OpFamilyTime {
  int64_t calls = 0;  // counted whether timing is on or not
  double ms = 0.0;    // wall milliseconds, only while timing is on
};

class TimedOps final : public DeviceOps {
 public:
  explicit TimedOps(DeviceOps& inner) : inner_(inner) {}

  // On: every op is bracketed by inner.synchronize() and timed. Off (the default): calls are
  // only counted and forwarded.
  void set_timing(bool on) { timing_ = on; }
  bool timing() const { return timing_; }
  void reset();
  const OpFamilyTime& family(OpFamily f) const { return totals_[static_cast<int>(f)]; }
  double total_ms() const;
  // One line per family with calls, milliseconds and share of the timed total, largest first,
  // then the total; families never called are left out.
  std::string shares_table() const;

  const char* kind() const override { return inner_.kind(); }
  std::string device_name() const override { return inner_.device_name(); }

  void* alloc(size_t bytes) override;
  void release(void* p) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill_zero(void* dst, size_t bytes) override;
  void synchronize() override { inner_.synchronize(); }
  DeviceMemoryInfo memory() const override { return inner_.memory(); }

  void to_bf16(bf16* out, const float* in, int64_t n) override;
  void to_f32(float* out, const bf16* in, int64_t n) override;

  void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
            float beta, float* C, int ldc) override;
  std::unique_ptr<DeviceQuantWeight> upload_quant(const QuantMatrix& w) override;
  void qgemm(float* Y, int ldy, const bf16* X, int ldx, const DeviceQuantWeight& W, int M, bool accumulate) override;
  void dequantize(bf16* out, const DeviceQuantWeight& W) override;

  void add(float* out, const float* a, const float* b, int64_t n) override;
  void axpy(float* y, float alpha, const float* x, int64_t n) override;
  void scale(float* x, float alpha, int64_t n) override;
  void bias_forward(float* y, const float* bias, int N, int C) override;
  void bias_backward(float* dbias, const float* dy, int N, int C) override;
  void embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale) override;
  void embedding_backward(float* dtable, const float* dout, const uint32_t* tokens, int N, int C, float scale) override;
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) override;
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int N, int C, bool accumulate) override;
  void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos) override;
  void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos) override;
  void dropout(float* out, const float* x, int64_t n, float p, uint64_t seed, uint64_t stream, uint64_t first,
               bool accumulate) override;
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) override;
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) override;

  void attention_forward(bf16* y, float* lse, const bf16* q, const bf16* k, const bf16* v, const AttentionShape& p) override;
  size_t attention_backward_workspace_bytes(const AttentionShape& p) override {
    return inner_.attention_backward_workspace_bytes(p);
  }
  void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dy, const bf16* y, const float* lse, const bf16* q,
                          const bf16* k, const bf16* v, void* workspace, const AttentionShape& p) override;

  void cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets, const uint8_t* mask,
                             int N, int V) override;
  void cross_entropy_backward(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N, int V,
                              float scale) override;

  // ---- decode ----
  void attention_decode(bf16* y, const bf16* q, const bf16* k_cache, const bf16* v_cache, const DecodeShape& p) override;
  void gemv_bf16(float* y, const float* x, const bf16* W, int rows, int cols, int M, bool accumulate) override;
  void qgemv(float* y, const float* x, const DeviceQuantWeight& W, int M, bool accumulate) override;

  void sum_squares(double* host_out, const float* const* xs, const int64_t* ns, int count) override;

  void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s) override;
  void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s) override;
  void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s) override;

  // ---- other architectures ----
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                         int N, int C, float eps) override;
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int N, int C, bool accumulate) override;
  void gelu_forward(float* out, const float* x, int64_t n) override;
  void gelu_backward(float* dx, const float* dout, const float* x, int64_t n) override;
  void geglu_forward(float* out, const float* gate, const float* up, int64_t n) override;
  void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) override;
  void softcap_forward(float* x, float* t, int64_t n, float cap) override;
  void softcap_backward(float* dx, const float* t, int64_t n) override;
  void split_qkv(float* q, float* k, float* v, const float* qkv, int N, int NH, int NKV, int HD, bool per_head) override;
  void merge_qkv(float* qkv, const float* q, const float* k, const float* v, int N, int NH, int NKV, int HD,
                 bool per_head) override;

 private:
  // Counts the call and, with timing on, runs fn between two synchronizations and adds the time.
  template <typename Fn>
  auto timed(OpFamily f, Fn&& fn) -> decltype(fn());

  DeviceOps& inner_;
  bool timing_ = false;
  OpFamilyTime totals_[static_cast<int>(OpFamily::Count)];
};

}  // namespace dev
}  // namespace tuner
