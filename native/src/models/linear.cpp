// Linear layers with optional bias and LoRA, over N = B*T rows, all products through sgemm:
//   forward   y  = x W^T + b + s * (d(x) A^T) B^T,   t = d(x) A^T kept for backward
//   backward  dW += dy^T x,  db += colsum(dy),  dx (+)= dy W
//             dB += s dy^T t,  dt = s dy B,  dA += dt^T d(x),  dx += d'(dt A)
// where d() is PEFT's dropout on the LoRA input (mask / (1 - p)), regenerated in backward
// from (seed, stream, index) instead of being stored. GPT-2's Conv1D stores W as [in, out]
// (Linear::in_out): the same products with W's transpose flag flipped. With bf16 compute
// (set_bf16) the three products of W run in gemm_bf16 on W's bf16 copy and bf16-rounded x, dy,
// and LoRA's s t B^T and dt A (without dropout) join x W^T and dy W as r more k (in bf16, as
// autocast computes them), so y and dx are read and written once.
#include <algorithm>
#include <cstring>

#include "models/llama_model.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "quant/quant_internal.h"

namespace tuner {

const float* LlamaModel::lora_input(const Linear& l, const float* x, int N, ThreadPool* pool) {
  if (!lora_dropout(l)) return x;
  float* xd = ws_.lora_xd;
  const float p = l.dropout, keep_scale = 1.0f / (1.0f - p);
  const int in = l.in;
  const uint64_t seed = dropout_seed_, stream = l.stream, first = dropout_first_token_ * in;
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++)
      for (int c = 0; c < in; c++) {
        uint64_t idx = (uint64_t)n * in + c;
        xd[idx] = dropout_keep(seed, stream, first + idx, p) ? x[idx] * keep_scale : 0.0f;
      }
  });
  return xd;
}

void LlamaModel::linear_forward(const Linear& l, float* y, const float* x, float* lora_t, int N, ThreadPool* pool) {
  float beta = 0.0f;
  if (l.b) {
    const float* bias = l.b->data;
    parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; n++) std::memcpy(y + n * l.out, bias, sizeof(float) * l.out);
    });
    beta = 1.0f;
  }
  const bool lora = l.lora_a && !adapter_off_;
  const int r = lora ? (int)l.lora_a->shape[0] : 0;
  // bf16: LoRA's update s t B^T runs as r more k of the base product (gemm_bf16's tail), in bf16
  // as autocast runs it, so y is written once; a tail of no k otherwise.
  const bool update_in_base = lora && l.bf16() && !l.qw && l.in % 2 == 0;
  float* sb = ws_.lora_sb;
  if (update_in_base) {
    ProfScope ps(prof_, kProfLora);
    lora_a_forward(l, lora_t, x, N, pool);
    for (int64_t i = 0; i < (int64_t)l.out * r; i++) sb[i] = l.scaling * l.lora_b->data[i];
  }
  const Bf16KTail tail{update_in_base ? r : 0, Trans::N, lora_t, r, Trans::T, sb, r};
  // QLoRA's frozen quantized base: always sgemm on decoded panels (qgemm's prefill path), never
  // the int8-activation decode kernels, so training sees exactly the dequantized weights.
  if (l.qw) qgemm_prefill(qgemm_kernels_best(), y, x, quant_view(*l.qw), N, beta != 0.0f, pool);
  else if (l.w16_fwd) gemm_bf16(Trans::N, N, 1.0f, x, l.in, *l.w16_fwd, tail, beta, y, l.out, pool);
  else if (l.w16) gemm_bf16(Trans::N, l.in_out ? Trans::N : Trans::T, N, l.out, l.in, 1.0f, x, l.in, l.w16, l.in_out ? l.out : l.in, tail, beta, y, l.out, pool);
  else if (l.in_out) sgemm(Trans::N, Trans::N, N, l.out, l.in, 1.0f, x, l.in, l.w->data, l.out, beta, y, l.out, pool);
  else sgemm(Trans::N, Trans::T, N, l.out, l.in, 1.0f, x, l.in, l.w->data, l.in, beta, y, l.out, pool);
  if (!lora || update_in_base) return;
  ProfScope ps(prof_, kProfLora);
  lora_a_forward(l, lora_t, x, N, pool);
  sgemm(Trans::N, Trans::T, N, l.out, r, l.scaling, lora_t, r, l.lora_b->data, r, 1.0f, y, l.out, pool);
}

void LlamaModel::lora_a_forward(const Linear& l, float* t, const float* x, int N, ThreadPool* pool) {
  const int r = (int)l.lora_a->shape[0];
  sgemm(Trans::N, Trans::T, N, r, l.in, 1.0f, lora_input(l, x, N, pool), l.in, l.lora_a->data, l.in, 0.0f, t, r, pool);
}

void LlamaModel::linear_backward(const Linear& l, float* dx, bool accumulate, const float* dy, const float* x,
                                 const float* lora_t, int N, ThreadPool* pool) {
  linear_backward_input(l, dx, accumulate, dy, lora_t, N, pool);
  linear_backward_weights(l, dy, x, N, pool);
}

// dx (+)= dy W (+ d'(dt A)); with LoRA also dB += s dy^T t (in the same pass over dy as dt) and
// leaves dt = s dy B in ws_.lora_dt for linear_backward_weights. Needs no x, so a caller can
// compute x afterwards (SwiGLU's product).
void LlamaModel::linear_backward_input(const Linear& l, float* dx, bool accumulate, const float* dy,
                                       const float* lora_t, int N, ThreadPool* pool) {
  const float beta = accumulate ? 1.0f : 0.0f;
  const int r = l.lora_a ? (int)l.lora_a->shape[0] : 0;
  float* dt = ws_.lora_dt;
  if (r) {
    ProfScope ps(prof_, kProfLora);
    sgemm_lora_dy(N, l.out, r, l.scaling, dy, l.lora_b->data, lora_t, dt, l.lora_b->grad, pool);
  }
  if (!dx) return;
  // bf16 without dropout: dt A runs as r more k of dy W (gemm_bf16's tail), so dx is written
  // once; a tail of no k otherwise.
  const bool update_in_base = r && l.bf16() && l.out % 2 == 0 && !lora_dropout(l);
  const Bf16KTail tail{update_in_base ? r : 0, Trans::N, dt, r, Trans::N, r ? l.lora_a->data : nullptr, l.in};
  if (l.w16_bwd) gemm_bf16(Trans::N, N, 1.0f, dy, l.out, *l.w16_bwd, tail, beta, dx, l.in, pool);
  else if (l.w16) gemm_bf16(Trans::N, l.in_out ? Trans::T : Trans::N, N, l.in, l.out, 1.0f, dy, l.out, l.w16, l.in_out ? l.out : l.in, tail, beta, dx, l.in, pool);
  else if (l.in_out && !l.qw) sgemm(Trans::N, Trans::T, N, l.in, l.out, 1.0f, dy, l.out, l.w->data, l.out, beta, dx, l.in, pool);
  else sgemm(Trans::N, Trans::N, N, l.in, l.out, 1.0f, dy, l.out, dense_weight(l, pool), l.in, beta, dx, l.in, pool);
  if (!r || update_in_base) return;
  ProfScope ps(prof_, kProfLora);
  if (!lora_dropout(l)) {
    sgemm(Trans::N, Trans::N, N, l.in, r, 1.0f, dt, r, l.lora_a->data, l.in, 1.0f, dx, l.in, pool);
    return;
  }
  float* tmp = ws_.lora_xd;
  sgemm(Trans::N, Trans::N, N, l.in, r, 1.0f, dt, r, l.lora_a->data, l.in, 0.0f, tmp, l.in, pool);
  const float p = l.dropout, keep_scale = 1.0f / (1.0f - p);
  const int in = l.in;
  const uint64_t seed = dropout_seed_, stream = l.stream, first = dropout_first_token_ * in;
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++)
      for (int c = 0; c < in; c++) {
        uint64_t idx = (uint64_t)n * in + c;
        if (dropout_keep(seed, stream, first + idx, p)) dx[idx] += tmp[idx] * keep_scale;
      }
  });
}

// dW += dy^T x, db += colsum(dy); LoRA: dA += dt^T d(x) with the dt that linear_backward_input
// of this same linear left in ws_.lora_dt.
void LlamaModel::linear_backward_weights(const Linear& l, const float* dy, const float* x, int N, ThreadPool* pool) {
  if (l.w->grad && l.w16 && l.in_out) gemm_bf16(Trans::T, Trans::N, l.in, l.out, N, 1.0f, x, l.in, dy, l.out, 1.0f, l.w->grad, l.out, pool);
  else if (l.w->grad && l.w16) gemm_bf16(Trans::T, Trans::N, l.out, l.in, N, 1.0f, dy, l.out, x, l.in, 1.0f, l.w->grad, l.in, pool);
  else if (l.w->grad && l.in_out) sgemm(Trans::T, Trans::N, l.in, l.out, N, 1.0f, x, l.in, dy, l.out, 1.0f, l.w->grad, l.out, pool);
  else if (l.w->grad) sgemm(Trans::T, Trans::N, l.out, l.in, N, 1.0f, dy, l.out, x, l.in, 1.0f, l.w->grad, l.in, pool);
  if (l.b && l.b->grad) add_column_sums(l.b->grad, dy, N, l.out, pool);
  if (!l.lora_a) return;
  ProfScope ps(prof_, kProfLora);
  const int r = (int)l.lora_a->shape[0];
  sgemm(Trans::T, Trans::N, r, l.in, N, 1.0f, ws_.lora_dt, r, lora_input(l, x, N, pool), l.in, 1.0f, l.lora_a->grad, l.in,
        pool);
}

}  // namespace tuner
