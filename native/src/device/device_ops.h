// The operations a training step runs on an accelerator, behind one interface so that the model
// code written against it (device_model.h) is the same for the GPU and for its CPU stand-in:
//   cuda_ops (src/cuda/cuda_ops.cu)  the CUDA kernels of src/cuda on one stream of one GPU;
//   host_ops (src/device/host_ops.cpp) the CPU engine's own kernels on host memory, which lets
//     the CPU tests run the device model's whole forward, backward and optimizer step (and
//     tuner-train's device path) on machines without a GPU, and compare it with the CPU engine.
//
// Conventions, shared by both implementations:
// - Every pointer an op takes is "device memory": memory from alloc(), possibly offset. Callers
//   never read or write it directly, only through upload/download/copy and the ops. host_ops
//   enforces this: the addresses it hands out are shifted out of the process's address space
//   and shifted back inside each op, so a direct access crashes in the CPU tests as it would on
//   a GPU.
// - Ops are queued in order and may run asynchronously; download() and synchronize() wait for
//   everything queued before them. Host memory passed to upload() may be reused when it returns.
// - 16-bit values are bf16 bit patterns (uint16_t), as in tuner/gemm_bf16.h. fp32 is "float".
// - Sizes use the engine's letters (tuner/model.h): N rows (B*T tokens), C width, V vocab.
// - Errors throw TunerError: cuda_out_of_memory from alloc() (with the estimator's advice), bad
//   arguments as internal errors naming the op.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/cpu/vector_kernels.h"  // AdamWScalars, LionScalars, SgdScalars
#include "tuner/gemm.h"                  // Trans

namespace tuner {

struct QuantMatrix;

namespace dev {

using bf16 = uint16_t;

// Causal attention of one batch, as tuner::cuda::AttentionParams / the CPU's attention_forward:
// q, y [N, NH*HD]; k, v [N, NKV*HD] (bf16); lse [B, NH, T] (fp32, natural log).
struct AttentionShape {
  int B = 1, T = 1, NH = 1, NKV = 1, HD = 64;
  int window = 0;                         // sliding window (0: plain causal)
  float scale = 0.0f;                     // 0: 1 / sqrt(HD)
  float softcap = 0.0f;                   // 0: none
  const float* alibi = nullptr;           // device [NH] or null
  const int32_t* sample_start = nullptr;  // device [N] record starts (packed rows) or null
};

// n query rows at positions pos..pos+n-1 against a KV cache (attention_decode), as
// tuner::cuda::DecodeParams.
struct DecodeShape {
  int n = 1, pos = 0, NH = 1, NKV = 1, HD = 64;
  int window = 0;        // sliding window (0: plain causal)
  float scale = 0.0f;            // 0: 1 / sqrt(HD)
  float softcap = 0.0f;          // 0: none
  const float* alibi = nullptr;  // device [NH] ALiBi slopes (Bloom) or null
};
constexpr int kGemvMaxRows = 8;  // rows gemv_bf16 / qgemv take (cuda::kQgemvMaxRows)

// A frozen quantized weight (QLoRA's base) in the ops' memory; made by upload_quant().
class DeviceQuantWeight {
 public:
  virtual ~DeviceQuantWeight() = default;
  virtual int rows() const = 0;  // out features
  virtual int cols() const = 0;  // in features
  virtual size_t bytes() const = 0;
};

struct DeviceMemoryInfo {
  size_t in_use = 0;  // bytes allocated through alloc() now
  size_t peak = 0;    // most bytes allocated at once since the ops were made
  size_t total = 0;   // the device's memory (host_ops: 0, unknown)
  size_t free = 0;    // free on the device now (host_ops: 0)
};

class DeviceOps {
 public:
  virtual ~DeviceOps() = default;
  // "cuda" or "host".
  virtual const char* kind() const = 0;
  // The device's name ("NVIDIA H100 80GB HBM3"; host_ops: "CPU (host_ops)").
  virtual std::string device_name() const = 0;

  // ---- memory ----
  virtual void* alloc(size_t bytes) = 0;  // zero bytes gives null; contents undefined
  virtual void release(void* p) = 0;      // null is ignored
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;  // waits for queued work
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;           // device to device
  virtual void fill_zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;
  virtual DeviceMemoryInfo memory() const = 0;

  // ---- conversions ----
  virtual void to_bf16(bf16* out, const float* in, int64_t n) = 0;  // round to nearest even
  virtual void to_f32(float* out, const bf16* in, int64_t n) = 0;

  // ---- matrix products: fp32 accumulation, sgemm's conventions (tuner/gemm.h) ----
  // C[M,N] (fp32) = alpha * op(A) @ op(B) + beta * C; beta == 0 never reads C.
  virtual void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
                    float beta, float* C, int ldc) = 0;
  // The host QuantMatrix (nf4, int8, q4_0, q8_0) copied to the ops' memory.
  virtual std::unique_ptr<DeviceQuantWeight> upload_quant(const QuantMatrix& w) = 0;
  // Y[M, rows] (= or += when accumulate) X[M, cols] @ dequant(W)^T; X bf16 with row stride ldx,
  // Y fp32 with row stride ldy.
  virtual void qgemm(float* Y, int ldy, const bf16* X, int ldx, const DeviceQuantWeight& W, int M, bool accumulate) = 0;
  // out[rows, cols] = dequant(W) rounded to bf16 (QLoRA's dX = dY W runs gemm() on it).
  virtual void dequantize(bf16* out, const DeviceQuantWeight& W) = 0;

  // ---- element-wise and row ops (fp32) ----
  virtual void add(float* out, const float* a, const float* b, int64_t n) = 0;  // out may be a or b
  virtual void axpy(float* y, float alpha, const float* x, int64_t n) = 0;      // y += alpha x
  virtual void scale(float* x, float alpha, int64_t n) = 0;                      // x *= alpha
  // y[n, c] += bias[c] over N rows of C; dbias[c] += sum over rows of dy[n, c].
  virtual void bias_forward(float* y, const float* bias, int N, int C) = 0;
  virtual void bias_backward(float* dbias, const float* dy, int N, int C) = 0;
  // out[n] = table[tokens[n]] * scale (rows of C); dtable[tokens[n]] += dout[n] * scale.
  // tokens are device memory [N].
  virtual void embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale) = 0;
  virtual void embedding_backward(float* dtable, const float* dout, const uint32_t* tokens, int N, int C, float scale) = 0;
  // RMSNorm as tuner/ops.h (rstd [N]); dweight may be null (frozen); accumulate: dinp +=.
  virtual void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) = 0;
  virtual void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                                const float* rstd, int N, int C, bool accumulate) = 0;
  // RoPE in place on x [B, T, nh, HD] with cos/sin [positions, HD/2] (device) at position
  // pos[row] (device [B*T], packed rows) or row % T when pos is null.
  virtual void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos) = 0;
  virtual void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD,
                             const int32_t* pos) = 0;
  // LoRA dropout with the CPU engine's mask (dropout_keep in tuner/ops.h, so both drop the same
  // elements): out[i] (= or += when accumulate) keep(seed, stream, first + i, p) ? x[i] / (1 - p) : 0.
  virtual void dropout(float* out, const float* x, int64_t n, float p, uint64_t seed, uint64_t stream, uint64_t first,
                       bool accumulate) = 0;
  virtual void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) = 0;
  virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) = 0;

  // ---- attention (bf16 in and out, fp32 softmax) ----
  virtual void attention_forward(bf16* y, float* lse, const bf16* q, const bf16* k, const bf16* v,
                                 const AttentionShape& p) = 0;
  virtual size_t attention_backward_workspace_bytes(const AttentionShape& p) = 0;
  // dq, dk, dv overwritten.
  virtual void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dy, const bf16* y, const float* lse,
                                  const bf16* q, const bf16* k, const bf16* v, void* workspace,
                                  const AttentionShape& p) = 0;

  // ---- decode ----
  // Generation over a KV cache (the inference session, device/device_infer.h). attention_decode:
  // n query rows of one sequence at positions pos..pos+n-1, q and y [n, NH*HD], against
  // k_cache / v_cache [ctx, NKV*HD] whose rows 0..pos+n-1 already hold the keys (after RoPE) and
  // values; causal with GQA and a sliding window as attention_forward. Scratch is the ops' own.
  virtual void attention_decode(bf16* y, const bf16* q, const bf16* k_cache, const bf16* v_cache, const DecodeShape& p) = 0;
  // Decode's matrix-vector products (1 <= M <= kGemvMaxRows), which read each weight once:
  // y[M, rows] (= or += when accumulate) x[M, cols] @ W^T, x and y fp32 and contiguous, W a bf16
  // [rows, cols] matrix (gemv_bf16) or a quantized one decoded to fp32 as the CPU decodes it (qgemv).
  virtual void gemv_bf16(float* y, const float* x, const bf16* W, int rows, int cols, int M, bool accumulate) = 0;
  virtual void qgemv(float* y, const float* x, const DeviceQuantWeight& W, int M, bool accumulate) = 0;

  // ---- loss: the CPU's cross_entropy_forward / cross_entropy_backward_inplace contracts ----
  // losses[n], lse[n] for rows with mask 1 (mask null: all rows), 0 elsewhere; targets, mask device.
  virtual void cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets,
                                     const uint8_t* mask, int N, int V) = 0;
  // logits -> scale * (softmax - onehot(target)) in place; rows with mask 0 become 0.
  virtual void cross_entropy_backward(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N,
                                      int V, float scale) = 0;

  // ---- reductions: results to host memory, waiting for queued work ----
  // out[i] = sum of x_i[j]^2 over n_i elements, in double, for `count` device arrays.
  virtual void sum_squares(double* host_out, const float* const* xs, const int64_t* ns, int count) = 0;

  // ---- optimizer updates (kernels/elementwise_math.h formulas, the CPU optimizer's scalars) ----
  virtual void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s) = 0;
  virtual void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s) = 0;
  virtual void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s) = 0;  // buf null: none

  // ---- other architectures ----
  // LayerNorm with bias as tuner/ops_arch.h (GPT-2, Bloom): mean, rstd [N]; bias may be null.
  // Backward: dweight, dbias (either may be null: frozen) += their column sums; accumulate: dinp +=.
  virtual void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int N, int C, float eps) = 0;
  virtual void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* weight, const float* mean, const float* rstd, int N, int C,
                                  bool accumulate) = 0;
  // tanh GELU (GPT-2, Bloom) and GeGLU (Gemma 3) as tuner/ops_arch.h; dx may be dout, dgate may be dout.
  virtual void gelu_forward(float* out, const float* x, int64_t n) = 0;
  virtual void gelu_backward(float* dx, const float* dout, const float* x, int64_t n) = 0;
  virtual void geglu_forward(float* out, const float* gate, const float* up, int64_t n) = 0;
  virtual void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                              int64_t n) = 0;
  // Logit soft-capping (Gemma 3's final logits): x = cap tanh(x / cap) in place keeping t = tanh(x / cap);
  // backward dx *= 1 - t^2.
  virtual void softcap_forward(float* x, float* t, int64_t n, float cap) = 0;
  virtual void softcap_backward(float* dx, const float* t, int64_t n) = 0;
  // A fused projection's output qkv [N, QD + 2 KD] (QD = NH HD, KD = NKV HD) split into q [N, QD],
  // k, v [N, KD], and merged back (the gradients): per_head (Bloom's query_key_value, NKV == NH)
  // lays each row out [head][q, k, v][HD], otherwise (GPT-2's c_attn) [q | k | v].
  virtual void split_qkv(float* q, float* k, float* v, const float* qkv, int N, int NH, int NKV, int HD,
                         bool per_head) = 0;
  virtual void merge_qkv(float* qkv, const float* q, const float* k, const float* v, int N, int NH, int NKV, int HD,
                         bool per_head) = 0;
};

// The CPU stand-in (always available).
std::unique_ptr<DeviceOps> make_host_ops();
// The CUDA implementation on GPU `device`; throws TunerError no_cuda_device when this build has
// no CUDA backend or the machine no such device.
std::unique_ptr<DeviceOps> make_cuda_ops(int device = 0);

// Device memory owned by one allocation of `ops` (RAII), typed for readability.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(DeviceOps& ops, int64_t count) : ops_(&ops), n_(count) {
    p_ = static_cast<T*>(ops.alloc(static_cast<size_t>(count) * sizeof(T)));
  }
  ~DeviceArray() { reset(); }
  DeviceArray(DeviceArray&& o) noexcept : ops_(o.ops_), p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      reset();
      ops_ = o.ops_, p_ = o.p_, n_ = o.n_;
      o.p_ = nullptr, o.n_ = 0;
    }
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  void reset() {
    if (p_) ops_->release(p_);
    p_ = nullptr, n_ = 0;
  }
  T* get() const { return p_; }
  int64_t size() const { return n_; }
  size_t bytes() const { return static_cast<size_t>(n_) * sizeof(T); }

 private:
  DeviceOps* ops_ = nullptr;
  T* p_ = nullptr;
  int64_t n_ = 0;
};

}  // namespace dev
}  // namespace tuner
