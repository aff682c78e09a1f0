// cuda_ops: the DeviceOps of device_ops.h on one non-blocking stream of one GPU. Each op checks
// its arguments and queues the kernels of src/cuda on that stream: the tensor-core GEMMs and
// dequantizing products (gemm.cuh), flash attention (attention.cuh), the element-wise kernels,
// RMSNorm, RoPE and cross-entropy (elementwise.cuh), the optimizers (optim.cuh) and the kernels
// added for the device model (device_ops_kernels.cuh). docs/cuda.md, "Device ops on the GPU".
//
// Memory comes from the device's stream-ordered pool (cudaMallocAsync / cudaFreeAsync on the
// stream, so a release waits for the queued work that uses it), which keeps freed memory for
// reuse instead of returning it to the driver at each synchronisation; devices without memory
// pools fall back to cudaMalloc / cudaFree after a stream synchronisation. in_use and peak count
// what alloc() handed out and the quantized weights upload_quant() holds (as host_ops does); the
// ops' short-lived scratch is not counted there (memory().free, from the driver, sees it).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda/attention.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device_ops_kernels.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/gemm.cuh"
#include "cuda/layernorm_qkv.cuh"
#include "cuda/gemv_bf16.cuh"
#include "cuda/optim.cuh"
#include "cuda/pinned_staging.cuh"
#include "device/device_ops.h"
#include "tuner/cuda_device.h"
#include "tuner/error.h"

namespace tuner::dev {

namespace {

[[noreturn]] void bad_argument(const char* op, const std::string& what) {
  throw TunerError("internal", std::string("cuda_ops ") + op + ": " + what,
                   "This is a bug in Tuner; please report it with the log.");
}

void check_size(const char* op, int64_t n) {
  if (n < 0) bad_argument(op, "negative size " + std::to_string(n));
}

void check_rows(const char* op, int N, int C) {
  if (N < 0 || C < 0) bad_argument(op, "negative shape [" + std::to_string(N) + ", " + std::to_string(C) + "]");
}

std::string mib_text(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

__nv_bfloat16* as_bf16(bf16* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
const __nv_bfloat16* as_bf16(const bf16* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }

// Attention's backward dQ: deterministic (the default) or, with TUNER_ATTENTION_DQ=atomic, the
// faster fp32-atomic sum whose last bits vary run to run (docs/cuda.md). Read once per process.
bool attention_dq_deterministic() {
  static const bool deterministic = [] {
    const char* v = std::getenv("TUNER_ATTENTION_DQ");
    if (!v || !*v || std::strcmp(v, "deterministic") == 0) return true;
    if (std::strcmp(v, "atomic") == 0) return false;
    throw TunerError("bad_arguments", std::string("TUNER_ATTENTION_DQ is '") + v + "', not 'atomic' or 'deterministic'",
                     "Unset TUNER_ATTENTION_DQ for the deterministic dQ, or set it to atomic for the faster one.");
  }();
  return deterministic;
}

cuda::AttentionParams attention_params(const AttentionShape& s) {
  cuda::AttentionParams p;
  p.B = s.B, p.T = s.T, p.NH = s.NH, p.NKV = s.NKV, p.HD = s.HD;
  p.window = s.window;
  p.scale = s.scale;
  p.softcap = s.softcap;
  p.alibi = s.alibi;
  p.sample_start = s.sample_start;
  p.deterministic = attention_dq_deterministic();
  return p;
}

// Bytes the ops hold now and at most (memory()'s in_use and peak).
class MemoryCount {
 public:
  void add(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ += bytes;
    if (in_use_ > peak_) peak_ = in_use_;
  }
  void remove(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ -= bytes;
  }
  size_t in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }
  size_t peak() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

 private:
  mutable std::mutex mu_;
  size_t in_use_ = 0, peak_ = 0;
};

// A quantized weight uploaded by upload_quant_matrix (its own cudaMalloc'd buffers), counted in
// its ops' memory while it lives (the ops outlive their weights, as their allocations).
class CudaQuantWeight final : public DeviceQuantWeight {
 public:
  CudaQuantWeight(cuda::DeviceQuantMatrix m, int device, MemoryCount& count)
      : m_(std::move(m)), device_(device), count_(count) {
    count_.add(bytes());
  }
  ~CudaQuantWeight() override { count_.remove(bytes()); }
  int rows() const override { return m_.rows; }
  int cols() const override { return m_.cols; }
  size_t bytes() const override {
    return m_.data.bytes() + m_.row_scale.bytes() + m_.absmax_q.bytes() + m_.absmax_scale.bytes() + m_.codebooks.bytes();
  }
  const cuda::DeviceQuantMatrix& matrix() const { return m_; }
  int device() const { return device_; }

 private:
  cuda::DeviceQuantMatrix m_;
  int device_;
  MemoryCount& count_;
};

class CudaOps final : public DeviceOps {
 public:
  explicit CudaOps(const CudaDevice& d) : device_(d.index), name_(d.name) {
    TUNER_CUDA_CHECK(cudaSetDevice(device_));
    int pools = 0;
    TUNER_CUDA_CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device_));
    if (pools) {
      TUNER_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool_, device_));
      // Keep freed blocks in the pool (a step frees and reallocates the same sizes); the
      // destructor trims the pool.
      uint64_t keep = UINT64_MAX;
      TUNER_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep));
    }
    TUNER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }

  ~CudaOps() override {
    // No throwing here: errors are dropped (the process is ending the ops or unwinding).
    cudaSetDevice(device_);
    for (const auto& entry : sizes_) free_raw(entry.first);
    cudaStreamSynchronize(stream_);
    if (pool_) cudaMemPoolTrimTo(pool_, 0);
    cudaStreamDestroy(stream_);
    cudaGetLastError();
  }

  const char* kind() const override { return "cuda"; }
  std::string device_name() const override { return name_; }

  // ---- memory ----
  void* alloc(size_t bytes) override {
    if (bytes == 0) return nullptr;
    use();
    void* p = alloc_raw(bytes, "alloc");
    {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = bytes;
    }
    count_.add(bytes);
    return p;
  }

  void release(void* p) override {
    if (!p) return;
    use();
    size_t bytes = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = sizes_.find(p);
      if (it == sizes_.end()) bad_argument("release", "a pointer that alloc() did not return (or released twice)");
      bytes = it->second;
      sizes_.erase(it);
    }
    count_.remove(bytes);
    TUNER_CUDA_CHECK(free_raw(p));
  }

  // Small arrays (batches, RoPE tables) go through pinned slots and do not wait (pinned_staging.cuh);
  // larger ones (weights, once) are copied from pageable memory and complete before this returns.
  // Either way the host buffer is reusable when this returns.
  void upload(void* dst, const void* host_src, size_t bytes) override {
    if (bytes == 0) return;
    use();
    if (cuda::PinnedStaging::fits(bytes)) {
      staging_.upload(dst, host_src, bytes, stream_);
      return;
    }
    TUNER_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    TUNER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void download(void* host_dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    use();
    TUNER_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    TUNER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    use();
    TUNER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
  }

  void fill_zero(void* dst, size_t bytes) override {
    if (bytes == 0) return;
    use();
    TUNER_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream_));
  }

  void synchronize() override {
    use();
    TUNER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  DeviceMemoryInfo memory() const override {
    DeviceMemoryInfo m;
    m.in_use = count_.in_use();
    m.peak = count_.peak();
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaSetDevice(device_) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      m.free = free_bytes;
      m.total = total_bytes;
    } else {
      cudaGetLastError();  // unknown (0) rather than a failed step event
    }
    return m;
  }

  // ---- conversions ----
  void to_bf16(bf16* out, const float* in, int64_t n) override {
    check_size("to_bf16", n);
    use();
    cuda::convert_to_bf16(out, in, n, stream_);
  }
  void to_f32(float* out, const bf16* in, int64_t n) override {
    check_size("to_f32", n);
    use();
    cuda::convert_to_f32(out, in, n, stream_);
  }

  // ---- matrix products ----
  void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
            float beta, float* C, int ldc) override {
    use();
    cuda::gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, stream_, cuda::Half16::BF16);
  }

  std::unique_ptr<DeviceQuantWeight> upload_quant(const QuantMatrix& w) override {
    use();
    try {
      cuda::DeviceQuantMatrix m = cuda::upload_quant_matrix(w, device_);
      // upload_quant_matrix copies on the legacy default stream, which our non-blocking stream
      // does not wait for: finish those copies before any op can read the weight.
      TUNER_CUDA_CHECK(cudaDeviceSynchronize());
      return std::make_unique<CudaQuantWeight>(std::move(m), device_, count_);
    } catch (const TunerError&) {
      cudaGetLastError();  // an allocation failure must not be reported again by the next launch
      throw;
    }
  }

  void qgemm(float* Y, int ldy, const bf16* X, int ldx, const DeviceQuantWeight& W, int M, bool accumulate) override {
    const CudaQuantWeight& w = own_weight("qgemm", W);
    if (M < 0) bad_argument("qgemm", "negative M " + std::to_string(M));
    if (ldx < w.cols() || ldy < w.rows())
      bad_argument("qgemm", "row strides ldx " + std::to_string(ldx) + ", ldy " + std::to_string(ldy) +
                                " are less than the weight's [" + std::to_string(w.rows()) + ", " +
                                std::to_string(w.cols()) + "]");
    use();
    cuda::qgemm_bf16(Y, ldy, X, ldx, w.matrix(), M, accumulate, stream_);
  }

  void dequantize(bf16* out, const DeviceQuantWeight& W) override {
    const CudaQuantWeight& w = own_weight("dequantize", W);
    use();
    cuda::dequantize_bf16(out, w.matrix(), stream_);
  }

  // ---- element-wise and row ops ----
  void add(float* out, const float* a, const float* b, int64_t n) override {
    check_size("add", n);
    use();
    cuda::add_f32(out, a, b, n, stream_);
  }
  void axpy(float* y, float alpha, const float* x, int64_t n) override {
    check_size("axpy", n);
    use();
    cuda::axpy_f32(y, alpha, x, n, stream_);
  }
  void scale(float* x, float alpha, int64_t n) override {
    check_size("scale", n);
    use();
    cuda::scale_f32(x, alpha, n, stream_);
  }

  void bias_forward(float* y, const float* bias, int N, int C) override {
    check_rows("bias_forward", N, C);
    use();
    cuda::bias_forward(y, bias, N, C, stream_);
  }
  void bias_backward(float* dbias, const float* dy, int N, int C) override {
    check_rows("bias_backward", N, C);
    if (N == 0 || C == 0) return;
    use();
    Scratch ws(*this, cuda::bias_backward_workspace_bytes(N, C), "bias_backward scratch");
    cuda::bias_backward(dbias, dy, N, C, ws.p, stream_);
  }

  void embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale) override {
    check_rows("embedding_forward", N, C);
    use();
    cuda::embedding_forward(out, table, tokens, N, C, scale, stream_);
  }
  void embedding_backward(float* dtable, const float* dout, const uint32_t* tokens, int N, int C, float scale) override {
    check_rows("embedding_backward", N, C);
    if (N == 0 || C == 0) return;
    use();
    // The token ids come back to the host (N words, at the end of a backward) to group the
    // positions by token, so each row is summed in a fixed order instead of by atomics.
    std::vector<uint32_t> ids(static_cast<size_t>(N));
    download(ids.data(), tokens, ids.size() * sizeof(uint32_t));
    const cuda::ops_layout::TokenGroups g = cuda::ops_layout::group_positions_by_token(ids.data(), N);
    void* groups = alloc(g.packed.size() * sizeof(int32_t));
    upload(groups, g.packed.data(), g.packed.size() * sizeof(int32_t));
    cuda::embedding_backward(dtable, dout, static_cast<const int32_t*>(groups), g.distinct, C, scale, stream_);
    release(groups);  // stream-ordered: freed after the kernel has read it
  }

  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) override {
    check_rows("rmsnorm_forward", N, C);
    use();
    cuda::rmsnorm_forward(out, rstd, inp, weight, N, C, eps, stream_);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int N, int C, bool accumulate) override {
    check_rows("rmsnorm_backward", N, C);
    use();
    cuda::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C, accumulate, stream_);
  }

  void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, const int32_t* pos) override {
    check_rope("rope_forward", B, T, nh, HD);
    use();
    cuda::rope_forward(x, cos, sin, B, T, nh, HD, pos, stream_);
  }
  void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD,
                     const int32_t* pos) override {
    check_rope("rope_backward", B, T, nh, HD);
    use();
    cuda::rope_backward(dx, cos, sin, B, T, nh, HD, pos, stream_);
  }

  void dropout(float* out, const float* x, int64_t n, float p, uint64_t seed, uint64_t stream, uint64_t first,
               bool accumulate) override {
    check_size("dropout", n);
    if (!(p >= 0.0f && p < 1.0f)) bad_argument("dropout", "probability " + message_number(p) + " is outside [0, 1)");
    use();
    const float keep_scale = 1.0f / (1.0f - p);  // as the CPU engine computes it, so x * keep_scale matches
    cuda::dropout(out, x, n, p, keep_scale, seed, stream, first, accumulate, stream_);
  }

  void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) override {
    check_size("swiglu_forward", n);
    use();
    cuda::swiglu_forward(out, gate, up, n, stream_);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t n) override {
    check_size("swiglu_backward", n);
    use();
    cuda::swiglu_backward(dgate, dup, dout, gate, up, n, stream_);
  }

  // ---- attention ----
  void attention_forward(bf16* y, float* lse, const bf16* q, const bf16* k, const bf16* v,
                         const AttentionShape& p) override {
    use();
    cuda::attention_forward<__nv_bfloat16>(as_bf16(y), lse, as_bf16(q), as_bf16(k), as_bf16(v), attention_params(p),
                                           stream_);
  }
  size_t attention_backward_workspace_bytes(const AttentionShape& p) override {
    return cuda::attention_backward_workspace_bytes(attention_params(p));
  }
  void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dy, const bf16* y, const float* lse, const bf16* q,
                          const bf16* k, const bf16* v, void* workspace, const AttentionShape& p) override {
    use();
    cuda::attention_backward<__nv_bfloat16>(as_bf16(dq), as_bf16(dk), as_bf16(dv), as_bf16(dy), as_bf16(y), lse,
                                            as_bf16(q), as_bf16(k), as_bf16(v), workspace, attention_params(p), stream_);
  }

  // ---- decode ----
  static_assert(cuda::kQgemvMaxRows == kGemvMaxRows && cuda::kGemvBf16MaxRows == kGemvMaxRows, "decode's row limit");
  void attention_decode(bf16* y, const bf16* q, const bf16* k_cache, const bf16* v_cache, const DecodeShape& s) override {
    cuda::DecodeParams p;
    p.n = s.n, p.pos = s.pos, p.NH = s.NH, p.NKV = s.NKV, p.HD = s.HD;
    p.window = s.window;
    p.scale = s.scale;
    p.softcap = s.softcap;
    p.alibi = s.alibi;
    use();
    Scratch ws(*this, cuda::attention_decode_workspace_bytes(p), "attention_decode scratch");
    cuda::attention_decode<__nv_bfloat16>(as_bf16(y), as_bf16(q), as_bf16(k_cache), as_bf16(v_cache), ws.p, p, stream_);
  }
  void gemv_bf16(float* y, const float* x, const bf16* W, int rows, int cols, int M, bool accumulate) override {
    use();
    cuda::gemv_bf16(y, x, W, rows, cols, M, accumulate, stream_);
  }
  void qgemv(float* y, const float* x, const DeviceQuantWeight& W, int M, bool accumulate) override {
    const CudaQuantWeight& w = own_weight("qgemv", W);
    use();
    cuda::qgemv(y, x, w.matrix(), M, accumulate, stream_);
  }

  // ---- loss ----
  void cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets,
                             const uint8_t* mask, int N, int V) override {
    check_rows("cross_entropy_forward", N, V);
    use();
    cuda::cross_entropy_forward(losses, lse, logits, targets, mask, N, V, stream_);
  }
  void cross_entropy_backward(float* logits, const float* lse, const uint32_t* targets, const uint8_t* mask, int N, int V,
                              float scale) override {
    check_rows("cross_entropy_backward", N, V);
    use();
    cuda::cross_entropy_backward_inplace(logits, lse, targets, mask, N, V, scale, stream_);
  }

  // ---- reductions ----
  void sum_squares(double* host_out, const float* const* xs, const int64_t* ns, int count) override {
    if (count <= 0) return;
    for (int i = 0; i < count; ++i) check_size("sum_squares", ns[i]);
    use();
    const size_t partial = cuda::sum_squares_workspace_bytes(count);
    Scratch ws(*this, partial + static_cast<size_t>(count) * sizeof(double), "sum_squares scratch");
    double* out = reinterpret_cast<double*>(static_cast<char*>(ws.p) + partial);
    cuda::sum_squares(out, xs, ns, count, ws.p, stream_);
    TUNER_CUDA_CHECK(cudaMemcpyAsync(host_out, out, static_cast<size_t>(count) * sizeof(double),
                                     cudaMemcpyDeviceToHost, stream_));
    TUNER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  // ---- optimizer updates ----
  void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s) override {
    check_size("adamw_update", n);
    use();
    cuda::adamw_update(w, m, v, g, n, s, stream_);
  }
  void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s) override {
    check_size("lion_update", n);
    use();
    cuda::lion_update(w, m, g, n, s, stream_);
  }
  void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s) override {
    check_size("sgd_update", n);
    use();
    cuda::sgd_update(w, buf, g, n, s, stream_);
  }

  // ---- other architectures: LayerNorm and the q/k/v permutation (layernorm_qkv.cuh), GELU,
  // GeGLU and soft-capping (elementwise.cuh) ----
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                         int N, int C, float eps) override {
    check_rows("layernorm_forward", N, C);
    if (!mean) bad_argument("layernorm_forward", "mean is null (the backward reads it)");
    use();
    cuda::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps, stream_);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int N, int C, bool accumulate) override {
    check_rows("layernorm_backward", N, C);
    use();
    cuda::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, accumulate, stream_);
  }
  void gelu_forward(float* out, const float* x, int64_t n) override {
    check_size("gelu_forward", n);
    use();
    cuda::gelu_forward(out, x, n, stream_);
  }
  void gelu_backward(float* dx, const float* dout, const float* x, int64_t n) override {
    check_size("gelu_backward", n);
    use();
    cuda::gelu_backward(dx, dout, x, n, stream_);
  }
  void geglu_forward(float* out, const float* gate, const float* up, int64_t n) override {
    check_size("geglu_forward", n);
    use();
    cuda::geglu_forward(out, gate, up, n, stream_);
  }
  void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) override {
    check_size("geglu_backward", n);
    use();
    cuda::geglu_backward(dgate, dup, dout, gate, up, n, stream_);
  }
  void softcap_forward(float* x, float* t, int64_t n, float cap) override {
    check_size("softcap_forward", n);
    if (!(cap > 0.0f)) bad_argument("softcap_forward", "cap " + message_number(cap) + " is not positive");
    use();
    cuda::softcap_forward(x, t, n, cap, stream_);
  }
  void softcap_backward(float* dx, const float* t, int64_t n) override {
    check_size("softcap_backward", n);
    use();
    cuda::softcap_backward(dx, t, n, stream_);
  }
  void split_qkv(float* q, float* k, float* v, const float* qkv, int N, int NH, int NKV, int HD, bool per_head) override {
    check_qkv("split_qkv", N, NH, NKV, HD, per_head);
    use();
    cuda::permute_qkv(const_cast<float*>(qkv), q, k, v, N, NH, NKV, HD, per_head, true, stream_);
  }
  void merge_qkv(float* qkv, const float* q, const float* k, const float* v, int N, int NH, int NKV, int HD,
                 bool per_head) override {
    check_qkv("merge_qkv", N, NH, NKV, HD, per_head);
    use();
    cuda::permute_qkv(qkv, const_cast<float*>(q), const_cast<float*>(k), const_cast<float*>(v), N, NH, NKV, HD, per_head,
                      false, stream_);
  }

 private:
  // Stream-ordered scratch of one op, released (after the op's queued work) when it goes out of
  // scope.
  struct Scratch {
    CudaOps& ops;
    void* p = nullptr;
    Scratch(CudaOps& o, size_t bytes, const char* what) : ops(o) {
      if (bytes) p = o.alloc_raw(bytes, what);
    }
    ~Scratch() {
      if (p) ops.free_raw(p);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
  };

  // The CUDA runtime's current device is per host thread: every op makes it this GPU's, so the
  // ops may be called from any thread (cheap when it already is).
  void use() const { TUNER_CUDA_CHECK(cudaSetDevice(device_)); }

  void* alloc_raw(size_t bytes, const char* what) {
    void* p = nullptr;
    const cudaError_t err = pool_ ? cudaMallocAsync(&p, bytes, stream_) : cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
      // The failure is also the runtime's "last error"; clear it, or the next kernel launch's
      // check would report it again after the caller has handled this one.
      cudaGetLastError();
      const std::string msg = std::string(what) + " of " + mib_text(bytes) + " on " + name_ + " (" +
                              mib_text(count_.in_use()) + " already allocated by the engine)";
      cuda::throw_cuda_error(err, msg.c_str(), __FILE__, __LINE__);
    }
    return p;
  }

  cudaError_t free_raw(void* p) {
    if (pool_) return cudaFreeAsync(p, stream_);
    const cudaError_t err = cudaStreamSynchronize(stream_);  // queued work may still use p
    return err != cudaSuccess ? err : cudaFree(p);
  }

  const CudaQuantWeight& own_weight(const char* op, const DeviceQuantWeight& W) const {
    const auto* w = dynamic_cast<const CudaQuantWeight*>(&W);
    if (!w) bad_argument(op, "the weight was not made by cuda_ops' upload_quant");
    if (w->device() != device_)
      bad_argument(op, "the weight is on GPU " + std::to_string(w->device()) + ", these ops on GPU " +
                           std::to_string(device_));
    return *w;
  }

  static void check_qkv(const char* op, int N, int NH, int NKV, int HD, bool per_head) {
    if (N < 0 || NH < 0 || NKV < 0 || HD < 0) bad_argument(op, "negative shape");
    if (per_head && NKV != NH) bad_argument(op, "the per-head layout needs as many key/value heads as heads");
  }
  static void check_rope(const char* op, int B, int T, int nh, int HD) {
    if (B < 0 || T < 0 || nh < 0 || HD < 0 || HD % 2 != 0)
      bad_argument(op, "shape B " + std::to_string(B) + ", T " + std::to_string(T) + ", heads " + std::to_string(nh) +
                           ", head dim " + std::to_string(HD) + " (must be even)");
  }

  const int device_;
  const std::string name_;
  cudaStream_t stream_ = nullptr;
  cudaMemPool_t pool_ = nullptr;  // null: no memory pools on this device (cudaMalloc)
  std::mutex mu_;                            // guards sizes_
  std::unordered_map<void*, size_t> sizes_;  // alloc()'s live blocks
  MemoryCount count_;
  cuda::PinnedStaging staging_;  // upload()'s page-locked slots for small arrays
};

}  // namespace

std::unique_ptr<DeviceOps> make_cuda_ops(int device) {
  const CudaRuntimeInfo& info = cuda_runtime_info();  // probes once, before the ops pick their device
  for (const CudaDevice& d : info.devices)
    if (d.index == device) return std::make_unique<CudaOps>(d);
  const std::string why = info.devices.empty()
                              ? info.reason
                              : "this machine has " + std::to_string(info.devices.size()) + " CUDA device(s), numbered from 0";
  throw TunerError("no_cuda_device", "CUDA device " + std::to_string(device) + ": " + why);
}

}  // namespace tuner::dev
