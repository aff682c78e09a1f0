// The transformer's per-element math, written once as inline functions that the CPU kernels
// use now and CUDA kernels can use later (TUNER_HD becomes __host__ __device__), plus plain
// reference kernels (single-threaded loops, obviously correct) that tests use as the oracle
// for the fast paths. Shapes: N rows (= B*T), C channels, HD head dim, V vocabulary.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TUNER_HD __host__ __device__ inline
#else
#define TUNER_HD inline
#endif

namespace tuner {

// exp(x) for float in branch-free arithmetic (Cephes' polynomial, <= 2 ulp), so loops over it
// vectorise; libm's expf is a scalar call and dominated SwiGLU, softmax and cross-entropy.
// NaN propagates; results for x < -87.3 flush towards 1e-38 instead of 0 (harmless in every
// use here: softmax / sigmoid terms that small vanish against the others).
TUNER_HD float fast_expf(float x) {
  x = x > 88.3762626647949f ? 88.3762626647949f : x;
  x = x < -87.3365447504f ? -87.3365447504f : x;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (no floor call, vectorisable on plain SSE2).
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float z = r * r;
  float y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
             1.6666665459e-1f) * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  uint32_t e = (uint32_t)((int32_t)n + 127) << 23;  // unsigned: NaN's garbage exponent is no UB
  float scale;
  __builtin_memcpy(&scale, &e, 4);
  return y * scale;
}

TUNER_HD float sigmoidf_(float x) { return 1.0f / (1.0f + fast_expf(-x)); }
TUNER_HD float silu(float x) { return x * sigmoidf_(x); }
// d silu(x) / dx = s (1 + x (1 - s)), s = sigmoid(x)
TUNER_HD float silu_grad(float x) {
  float s = sigmoidf_(x);
  return s * (1.0f + x * (1.0f - s));
}

// SwiGLU: m = silu(g) * u.
TUNER_HD float swiglu(float g, float u) { return silu(g) * u; }
TUNER_HD void swiglu_grad(float dm, float g, float u, float* dg, float* du) {
  float s = sigmoidf_(g);
  *dg = dm * u * s * (1.0f + g * (1.0f - s));
  *du = dm * g * s;
}

// RoPE on one (x[i], x[i + HD/2]) pair, Hugging Face rotate_half convention:
//   y0 = x0 c - x1 s,  y1 = x1 c + x0 s   (c, s already include the attention factor)
TUNER_HD void rope_pair(float* x0, float* x1, float c, float s) {
  float a = *x0, b = *x1;
  *x0 = a * c - b * s;
  *x1 = b * c + a * s;
}
// Backward is the transpose of that rotation.
TUNER_HD void rope_pair_grad(float* d0, float* d1, float c, float s) {
  float a = *d0, b = *d1;
  *d0 = a * c + b * s;
  *d1 = b * c - a * s;
}

// Deterministic dropout decision for element `index` of stream `stream` under `seed`
// (counter-based, so backward regenerates the mask instead of storing it).
TUNER_HD uint32_t hash_u32(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t z = seed ^ (stream * 0x9E3779B97F4A7C15ull) ^ (index * 0xD1B54A32D192ED03ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}
TUNER_HD bool dropout_keep(uint64_t seed, uint64_t stream, uint64_t index, float p) {
  return (float)hash_u32(seed, stream, index) * 2.3283064365386963e-10f >= p;
}

// ---- reference kernels (ops_reference.cpp) ----

// out[N,C] = inp * rstd * weight, rstd[N] = 1 / sqrt(mean(inp^2) + eps)
void rmsnorm_forward_ref(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps);
// dinp += d/dinp, dweight += d/dweight (either may be null)
void rmsnorm_backward_ref(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                          const float* rstd, int N, int C);

// In place on x[B*T, nh*HD]; cos/sin[T, HD/2].
void rope_forward_ref(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD);
void rope_backward_ref(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD);

void swiglu_forward_ref(float* out, const float* gate, const float* up, int64_t n);
void swiglu_backward_ref(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);

// Causal attention with GQA. q[B*T, NH*HD], k/v[B*T, NKV*HD], y[B*T, NH*HD], probs[B, NH, T, T]
// (zero outside each row's keys). Scale 1/sqrt(HD). window W > 0 is sliding-window attention as
// transformers masks it for Mistral / Qwen2: query i sees keys j with i - W < j <= i (W keys,
// itself included); W = 0 (or W >= T) is plain causal attention.
void attention_forward_ref(float* y, float* probs, const float* q, const float* k, const float* v, int B, int T, int NH,
                           int NKV, int HD, int window, const int32_t* sample_start = nullptr);
// dq, dk, dv are overwritten.
void attention_backward_ref(float* dq, float* dk, float* dv, const float* dy, const float* probs, const float* q,
                            const float* k, const float* v, int B, int T, int NH, int NKV, int HD, int window,
                            const int32_t* sample_start = nullptr);

// losses[N] = -log softmax(logits)[target] (0 where mask = 0); returns the mean over masked rows
// (0 when none). Backward writes dlogits[N,V] = scale * (softmax - onehot) * mask / count.
float cross_entropy_forward_ref(float* losses, const float* logits, const uint32_t* targets, const uint8_t* mask, int N,
                                int V);
void cross_entropy_backward_ref(float* dlogits, const float* logits, const uint32_t* targets, const uint8_t* mask, int N,
                                int V, float scale);

// ---- fast kernels (ops_cpu.cpp): same contracts, threaded over rows / (batch, head) ----
class ThreadPool;
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps, ThreadPool* pool);
// sum = a + b (sum may be a or b), then out, rstd = RMSNorm of sum: a residual add and the norm
// after it in one pass over the rows.
void add_rmsnorm_forward(float* sum, float* out, float* rstd, const float* a, const float* b, const float* weight, int N,
                         int C, float eps, ThreadPool* pool);
// dinp = (or += when accumulate) d/dinp; dweight += d/dweight (null when frozen).
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C, bool accumulate, ThreadPool* pool);
// SwiGLU over n elements (swiglu / swiglu_grad above); dgate may be dout. The fused one also
// recomputes out = silu(gate) * up, which backward needs for the down projection's gradient.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, ThreadPool* pool);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n,
                     ThreadPool* pool);
void swiglu_forward_backward(float* out, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                             int64_t n, ThreadPool* pool);
// pos [B*T] (packed rows): the table row of each position, its place in its own record; null:
// the position in the row (t).
void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
                  const int32_t* pos = nullptr);
void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
                   const int32_t* pos = nullptr);
// Causal attention that keeps only lse[B, NH, T] (log-sum-exp of each score row) instead of the
// [B, NH, T, T] probabilities: backward recomputes each probability block from q, k and lse
// (flash-attention style), so attention memory grows with T, not T^2, for one extra Q K^T
// product. scratch: at least attention_scratch_floats(T, pool) floats. window as in
// attention_forward_ref (0 = none); a window skips the key blocks outside it, so the work grows
// with T * W instead of T^2.
int64_t attention_scratch_floats(int T, int threads);  // threads: the pool size (1 without a pool)
// What some architectures change in the scores s_ij = scale q_i . k_j before the softmax:
// scale (0: 1/sqrt(HD); Gemma 3: query_pre_attn_scalar^-0.5), soft-capping s = cap tanh(s / cap)
// (0 = none), and ALiBi (Bloom): s += slope[h] (j - i) with a slope per query head (null = none).
struct AttentionExtras {
  float scale = 0.0f;
  float softcap = 0.0f;
  const float* alibi = nullptr;  // [NH]
  // bf16 training: the products (Q K^T, P V and their gradients) take bf16-rounded operands
  // through gemm_bf16 with f32 sums, as PyTorch's bf16 autocast runs attention's matmuls; the
  // softmax, lse and every output stay f32. The extras above ignore it.
  bool bf16 = false;
};
// Soft-capping, then ALiBi, on head h's scaled scores of the query at position `query` over keys
// key0 .. key0+n-1 (training and cached kernels alike); t, when capping, keeps tanh(s / cap).
inline void apply_attention_extras(float* row, float* t, int n, int query, int key0, int h, const AttentionExtras* ex) {
  if (!ex) return;
  if (ex->softcap > 0)
    for (int j = 0; j < n; j++) {
      const float th = std::tanh(row[j] / ex->softcap);
      if (t) t[j] = th;
      row[j] = ex->softcap * th;
    }
  if (ex->alibi)
    for (int j = 0; j < n; j++) row[j] += ex->alibi[h] * (float)(key0 + j - query);
}
// sample_start [B*T] (packed rows, Batch::sample_start): query i sees only keys j >= sample_start[i],
// its own record; row blocks end at record boundaries and start their keys at the record's
// start, so the blocks between records are never computed (work grows with the sum of squared
// record lengths, not T^2). Null: one record per row.
void attention_forward(float* y, float* lse, const float* q, const float* k, const float* v, float* scratch, int B, int T,
                       int NH, int NKV, int HD, int window, ThreadPool* pool, const AttentionExtras* extras = nullptr,
                       const int32_t* sample_start = nullptr);
// dq, dk, dv are overwritten; y is the forward output (its row dot with dy replaces rowsum(P dP)).
void attention_backward(float* dq, float* dk, float* dv, const float* dy, const float* y, const float* lse, const float* q,
                        const float* k, const float* v, float* scratch, int B, int T, int NH, int NKV, int HD,
                        int window, ThreadPool* pool, const AttentionExtras* extras = nullptr,
                        const int32_t* sample_start = nullptr);
// Cross-entropy (cross_entropy_cpu.cpp). mask == nullptr counts every row. The forward also
// writes lse[N], each counted row's log-sum-exp (0 elsewhere), so that the backward is one pass
// per row: logits become dlogits = scale * (softmax - onehot) / count in place (0 on rows with
// mask = 0; count = rows counted). Per-row results do not depend on the thread count.
float cross_entropy_forward(float* losses, float* lse, const float* logits, const uint32_t* targets, const uint8_t* mask,
                            int N, int V, ThreadPool* pool);
void cross_entropy_backward_inplace(float* logits_to_dlogits, const float* lse, const uint32_t* targets,
                                    const uint8_t* mask, int N, int V, float scale, ThreadPool* pool);
// The same gradient with a weight per row instead of scale / count: dlogits = row_scale[n] *
// (softmax - onehot), for a loss that weighs each token by its sequence (DPO's sequence log-probs).
void cross_entropy_backward_rows_inplace(float* logits_to_dlogits, const float* lse, const uint32_t* targets,
                                         const float* row_scale, int N, int V, ThreadPool* pool);
}  // namespace tuner

#include "tuner/threadpool.h"  // parallel_rows, which the kernels' callers use too
