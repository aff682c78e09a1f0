// The hot loops outside the GEMM (softmax and cross-entropy rows, SwiGLU, RMSNorm, optimizer
// updates, norms), compiled three times from one source: for the baseline x86-64 instruction set
// (vector_kernels_generic.cpp), with AVX2 + FMA (vector_kernels_avx2.cpp) and with AVX-512
// (vector_kernels_avx512.cpp). Each kernel family's bodies live once in a vk_<family>.inc file
// that every one of those translation units includes.
// vector_kernels() picks the table for this CPU at run time, honouring TUNER_CPU_LIMIT, the
// same way sgemm picks its micro-kernel, so one binary runs everywhere at full speed.
//
// Adding a kernel: declare its pointer here, define it in a vk_*.inc with the vector helpers
// of vk_vector.inc (types at the native width, loads, exp; all inside the anonymous
// namespace the .cpp opens, so AVX2 code never leaks into shared inline symbols; the ctest
// isa_isolation checks that), and set it in that .inc's fill_<family>() function.
#pragma once
#include <cstdint>

namespace tuner {

// The per-step scalars of an AdamW update, rounded to float once per step (as torch does with
// its Python-float hyperparameters); grad_scale is the gradient-clipping coefficient (1 = none).
struct AdamWScalars {
  float grad_scale, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, bias_correction2_sqrt, eps;
};
// Lion's per-step scalars: decay = 1 - lr * weight_decay.
struct LionScalars {
  float grad_scale, decay, lr, beta1, one_minus_beta1, beta2, one_minus_beta2;
};
// SGD's per-step scalars (torch.optim.SGD, dampening 0); momentum 0 means no buffer.
struct SgdScalars {
  float grad_scale, weight_decay, momentum, lr;
  bool nesterov;
};

struct VectorKernels {
  const char* name = nullptr;  // "avx2" or "generic"

  // ---- reductions (vk_reduce.inc) ----
  // sum of x[i]^2, accumulated in double (gradient norms over millions of elements).
  double (*sum_squares)(const float* x, int64_t n) = nullptr;

  // ---- softmax rows (vk_softmax.inc): the passes of cross-entropy over a [V] logits row ----
  // max of x[0, n) (-inf when n == 0; NaN elements may be skipped).
  float (*row_max)(const float* x, int64_t n) = nullptr;
  // sum of exp(x[i] - shift) in a fixed order (NaN propagates; shift = +inf gives NaN).
  double (*sum_exp)(const float* x, int64_t n, float shift) = nullptr;
  // x[i] = exp(x[i] - shift) * scale, in place.
  void (*exp_scale)(float* x, int64_t n, float shift, float scale) = nullptr;
  // x[i] = exp(x[i] - lse) in place, returning lse = log(sum exp(x[i])): attention's score rows
  // (row_max, sum_exp and exp_scale in one call). n >= 1; a NaN or +inf element makes the
  // result NaN.
  float (*softmax_row)(float* x, int64_t n) = nullptr;
  // log(sum exp(x[i])) in one sweep over x (the max and the sum together, block by block);
  // -inf when n == 0 or every x[i] is -inf, NaN when any is NaN or +inf.
  double (*log_sum_exp)(const float* x, int64_t n) = nullptr;

  // ---- element-wise (vk_elementwise.inc): SwiGLU, GELU, GeGLU, LayerNorm and RMSNorm rows, residual add ----
  // out = silu(gate) * up
  void (*swiglu_forward)(float* out, const float* gate, const float* up, int64_t n) = nullptr;
  // dgate = dout * up * silu'(gate), dup = dout * silu(gate); dgate may be dout.
  void (*swiglu_backward)(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                          int64_t n) = nullptr;
  // swiglu_backward that also recomputes out = silu(gate) * up in the same pass.
  void (*swiglu_forward_backward)(float* out, float* dgate, float* dup, const float* dout, const float* gate,
                                  const float* up, int64_t n) = nullptr;
  // tanh GELU (gelu_tanh in ops_arch.h): out = gelu(x); the fused pass also writes
  // dx = dout * gelu'(x) (dx may be dout).
  void (*gelu_forward)(float* out, const float* x, int64_t n) = nullptr;
  void (*gelu_forward_backward)(float* out, float* dx, const float* dout, const float* x, int64_t n) = nullptr;
  // GeGLU: out = gelu(gate) * up; the fused pass also writes dgate, dup (dgate may be dout).
  void (*geglu_forward)(float* out, const float* gate, const float* up, int64_t n) = nullptr;
  void (*geglu_forward_backward)(float* out, float* dgate, float* dup, const float* dout, const float* gate,
                                 const float* up, int64_t n) = nullptr;
  // rows x C LayerNorm: out = (inp - mean) * rstd * weight (+ bias where not null); mean (where not
  // null) and rstd per row, rstd = 1 / sqrt(biased var + eps).
  void (*layernorm_forward_rows)(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int64_t rows, int64_t C, float eps) = nullptr;
  // rows x C: dinp = (or += when accumulate) the LayerNorm input gradient.
  void (*layernorm_backward_rows)(float* dinp, const float* dout, const float* inp, const float* weight,
                                  const float* mean, const float* rstd, int64_t rows, int64_t C,
                                  bool accumulate) = nullptr;
  // out = a + b; out may be a or b.
  void (*add)(float* out, const float* a, const float* b, int64_t n) = nullptr;
  // rows x C: out = inp * rstd * weight, rstd[row] = 1 / sqrt(mean(inp^2) + eps).
  void (*rmsnorm_forward_rows)(float* out, float* rstd, const float* inp, const float* weight, int64_t rows, int64_t C,
                               float eps) = nullptr;
  // sum = a + b (sum may be a or b), then rmsnorm_forward_rows of sum, in one pass.
  void (*add_rmsnorm_forward_rows)(float* sum, float* out, float* rstd, const float* a, const float* b,
                                   const float* weight, int64_t rows, int64_t C, float eps) = nullptr;
  // rows x C: dinp = (or += when accumulate) the RMSNorm input gradient.
  void (*rmsnorm_backward_rows)(float* dinp, const float* dout, const float* inp, const float* weight,
                                const float* rstd, int64_t rows, int64_t C, bool accumulate) = nullptr;
  // acc[j] += sum over rows of dout[row*C + j] * inp[row*C + j] * rstd[row], j < width, rows in order.
  void (*rmsnorm_dweight_block)(float* acc, const float* dout, const float* inp, const float* rstd, int64_t rows,
                                int64_t C, int64_t width) = nullptr;

  // ---- optimizer (vk_optimizer.inc) ----
  // One AdamW update of w, m, v from grads g * s.grad_scale (torch.optim.AdamW's order).
  void (*adamw_update)(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s) = nullptr;
  // One Lion update of w, m (the paper's rule; sign(0) = 0).
  void (*lion_update)(float* w, float* m, const float* g, int64_t n, const LionScalars& s) = nullptr;
  // One SGD update of w and its momentum buffer buf (null when s.momentum == 0).
  void (*sgd_update)(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s) = nullptr;

  // ---- attention (vk_attention.inc): a decode step, one query row per head, over the KV cache ----
  // The heads are h0 .. h0+heads-1 of a layer whose key/value head 0 is at k / v (GQA: `group`
  // query heads share a key head); q, s and y start at head h0.
  // s[h * lds + j] = scale * (q_h . k_j) for h < heads, j < n: q_h = q + h * hd,
  // k_j = k + j * ld + ((h0 + h) / group) * hd.
  // Training's backward: out[i] = a_i . b_i (hd floats, rows ld apart), then per query row over
  // n keys p = exp(p - lse) (scores back to probabilities) and dp = p (dp - dot) scale.
  void (*row_dots)(float* out, const float* a, const float* b, int64_t ld, int64_t rows, int64_t hd) = nullptr;
  void (*attention_dscores_row)(float* p, float* dp, int64_t n, float lse, float dot, float scale) = nullptr;
  void (*attention_scores)(float* s, int64_t lds, const float* q, const float* k, int64_t n, int64_t ld, int64_t hd,
                           int64_t h0, int64_t heads, int64_t group, float scale) = nullptr;
  // y[h * hd + e] = sum over j < n of p[h * ldp + j] * v_j[((h0 + h) / group) * hd + e],
  // v_j = v + j * ld, keys in order.
  void (*attention_weighted_sum)(float* y, const float* p, int64_t ldp, const float* v, int64_t n, int64_t ld,
                                 int64_t hd, int64_t h0, int64_t heads, int64_t group) = nullptr;
};

const VectorKernels& vector_kernels();         // the best table for this CPU
const VectorKernels& vector_kernels_generic();  // baseline x86-64 (or any other architecture)
const VectorKernels& vector_kernels_avx2();     // AVX2 + FMA; only call when the CPU has both
// AVX-512 F/BW/DQ/VL + AVX2 + FMA, only on such CPUs: 16 floats a vector, computing the AVX2
// table's bits (vector_kernels.cpp says how).
const VectorKernels& vector_kernels_avx512();
// Every kernel compiled at 16 lanes, the AVX2 table's sums not swapped in (vector_kernels_avx512.cpp).
const VectorKernels& vector_kernels_avx512_all_wide();

}  // namespace tuner
