// Fast CPU kernels: the reference math of ops.h, threaded over rows (or over (batch, head) for
// attention, with single-threaded sgemm inside each task so tasks never contend for the pool).
// Every reduction runs in a fixed order independent of the thread count, except where noted,
// so a run is reproducible bit for bit with the same threads.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/column_blocks.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

namespace tuner {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    k.rmsnorm_forward_rows(out + b * C, rstd + b, inp + b * C, weight, e - b, C, eps);
  });
}

void add_rmsnorm_forward(float* sum, float* out, float* rstd, const float* a, const float* b, const float* weight, int N,
                         int C, float eps, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t r0, int64_t r1, int) {
    k.add_rmsnorm_forward_rows(sum + r0 * C, out + r0 * C, rstd + r0, a + r0 * C, b + r0 * C, weight, r1 - r0, C, eps);
  });
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C, bool accumulate, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    k.rmsnorm_backward_rows(dinp + b * C, dout + b * C, inp + b * C, weight, rstd + b, e - b, C, accumulate);
  });
  if (!dweight) return;
  add_column_blocks(dweight, C, pool, [&](float* acc, int c0, int width) {
    k.rmsnorm_dweight_block(acc, dout + c0, inp + c0, rstd, N, C, width);
  });
}

// Element-wise kernels split into contiguous pieces per thread; every element's result is the
// same whatever piece it falls in, so the split never changes a bit.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) { k.swiglu_forward(out + b, gate + b, up + b, e - b); });
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n,
                     ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    k.swiglu_backward(dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

void swiglu_forward_backward(float* out, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                             int64_t n, ThreadPool* pool) {
  const VectorKernels& k = vector_kernels();
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    k.swiglu_forward_backward(out + b, dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

namespace {
// Rotates every head of every row by its position's angles; Pair is rope_pair (forward) or
// rope_pair_grad (backward, the inverse rotation), the only difference between the two passes.
template <void (*Pair)(float*, float*, float, float)>
void rope_rows(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
               const int32_t* pos) {
  const int half = HD / 2;
  parallel_rows(pool, (int64_t)B * T, [&](int64_t b, int64_t e, int) {
    for (int64_t row = b; row < e; row++) {
      int t = pos ? pos[row] : (int)(row % T);
      const float* c = cos + (int64_t)t * half;
      const float* s = sin + (int64_t)t * half;
      for (int h = 0; h < nh; h++) {
        float* v = x + (row * nh + h) * HD;
        for (int i = 0; i < half; i++) Pair(&v[i], &v[i + half], c[i], s[i]);
      }
    }
  });
}
}  // namespace

void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
                  const int32_t* pos) {
  rope_rows<rope_pair>(x, cos, sin, B, T, nh, HD, pool, pos);
}

void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool,
                   const int32_t* pos) {
  rope_rows<rope_pair_grad>(dx, cos, sin, B, T, nh, HD, pool, pos);
}

// Causal attention works on blocks of kRowBlock query rows: block [r0, r1) only meets keys
// [k0, r1), k0 = 0 without a window, so the products skip most of the masked upper triangle
// (about 40% of the work at T = 256) while each product stays large enough for the GEMM kernel
// to run at speed. A sliding window W also skips the key blocks left of the block's first row's
// window: k0 = max(0, r0 - W + 1), so a block's products are at most 64 x (64 + W - 1) and the
// cost grows with T * W. Inside the block each row still zeroes the keys outside its own window.
constexpr int kRowBlock = 64;

int64_t attention_scratch_floats(int T, int threads) {
  // Per thread: a probability block and a dP block, kRowBlock x T each (a window only narrows them).
  return (int64_t)std::max(1, threads) * 2 * kRowBlock * T;
}

namespace {
// The keys row i attends to: [first_key(i, W), i + 1).
inline int first_key(int i, int window) { return window > 0 ? std::max(0, i - window + 1) : 0; }

// Row blocks of one batch row: [r0, block_end(r0)) holds at most kRowBlock rows of one record
// (packed rows: ss = that row's sample_start, null otherwise), and a row's keys begin at
// row_first_key: the window's first key, never before its record's start.
struct RowBlocks {
  const int32_t* ss;  // [T] or null
  int T, window;
  int end(int r0) const {
    int r1 = std::min(T, r0 + kRowBlock);
    if (ss)
      for (int i = r0 + 1; i < r1; i++)
        if (ss[i] != ss[r0]) return i;
    return r1;
  }
  int first(int i) const { return std::max(first_key(i, window), ss ? (int)ss[i] : 0); }
};

inline float extras_scale(const AttentionExtras* ex, int HD) {
  return ex && ex->scale > 0 ? ex->scale : 1.0f / std::sqrt((float)HD);
}

// One product of the attention block on this thread (no pool: tasks are already per thread):
// sgemm, or gemm_bf16 on the same f32 operands rounded as it packs them (ex->bf16).
inline void block_gemm(const AttentionExtras* ex, Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A,
                       int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (ex && ex->bf16) gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr);
  else sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr);
}

}  // namespace

void attention_forward(float* y, float* lse, const float* q, const float* k, const float* v, float* scratch, int B, int T,
                       int NH, int NKV, int HD, int window, ThreadPool* pool, const AttentionExtras* ex,
                       const int32_t* sample_start) {
  const VectorKernels& vk = vector_kernels();
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const float scale = extras_scale(ex, HD);
  parallel_rows(pool, (int64_t)B * NH, [&](int64_t tb, int64_t te, int thread) {
    float* P = scratch + (int64_t)thread * 2 * kRowBlock * T;
    for (int64_t task = tb; task < te; task++) {
      int b = (int)(task / NH), h = (int)(task % NH), kh = h / G;
      const float* qb = q + (int64_t)b * T * QD + h * HD;
      const float* kb = k + (int64_t)b * T * KD + kh * HD;
      const float* vb = v + (int64_t)b * T * KD + kh * HD;
      float* yb = y + (int64_t)b * T * QD + h * HD;
      float* lse_bh = lse + task * T;
      const RowBlocks blocks{sample_start ? sample_start + (int64_t)b * T : nullptr, T, window};
      for (int r0 = 0, r1; r0 < T; r0 = r1) {
        r1 = blocks.end(r0);
        const int R = r1 - r0;
        const int k0 = blocks.first(r0), K = r1 - k0;  // the block's keys [k0, r1), P's columns
        // P[R, K] = scale * Q_block K[k0:r1]^T, then a softmax per row over its own keys (zeros elsewhere).
        block_gemm(ex, Trans::N, Trans::T, R, K, HD, scale, qb + (int64_t)r0 * QD, QD, kb + (int64_t)k0 * KD, KD, 0.0f, P, K);
        for (int i = r0; i < r1; i++) {
          // Softmax as exp(s - lse): the normalisation rides in the shift, one pass fewer, and
          // backward recomputes exactly these probabilities from the same lse.
          float* row = P + (int64_t)(i - r0) * K;
          const int lo = blocks.first(i) - k0, n = i + 1 - k0 - lo;
          apply_attention_extras(row + lo, nullptr, n, i, k0 + lo, h, ex);
          const float mx = vk.row_max(row + lo, n);
          const float l = mx + (float)std::log(vk.sum_exp(row + lo, n, mx));
          vk.exp_scale(row + lo, n, l, 1.0f);
          std::fill(row, row + lo, 0.0f);
          std::fill(row + lo + n, row + K, 0.0f);
          lse_bh[i] = l;
        }
        block_gemm(ex, Trans::N, Trans::N, R, HD, K, 1.0f, P, K, vb + (int64_t)k0 * KD, KD, 0.0f, yb + (int64_t)r0 * QD, QD);
      }
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dy, const float* y, const float* lse, const float* q,
                        const float* k, const float* v, float* scratch, int B, int T, int NH, int NKV, int HD,
                        int window, ThreadPool* pool, const AttentionExtras* ex, const int32_t* sample_start) {
  const VectorKernels& vk = vector_kernels();
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const float scale = extras_scale(ex, HD);
  const bool capped = ex && ex->softcap > 0;
  // One task per (batch, kv head): the G query heads sharing a kv head accumulate into the same
  // dK/dV slice, so that slice has exactly one writer and a fixed summation order.
  parallel_rows(pool, (int64_t)B * NKV, [&](int64_t tb, int64_t te, int thread) {
    float* P = scratch + (int64_t)thread * 2 * kRowBlock * T;
    float* dP = P + (int64_t)kRowBlock * T;
    std::vector<float> tanh_row(capped ? T : 0);  // tanh(s / cap) of the row being differentiated
    for (int64_t task = tb; task < te; task++) {
      int b = (int)(task / NKV), kh = (int)(task % NKV);
      const float* kb = k + (int64_t)b * T * KD + kh * HD;
      const float* vb = v + (int64_t)b * T * KD + kh * HD;
      float* dkb = dk + (int64_t)b * T * KD + kh * HD;
      float* dvb = dv + (int64_t)b * T * KD + kh * HD;
      for (int t = 0; t < T; t++) {
        std::memset(dkb + (int64_t)t * KD, 0, sizeof(float) * HD);
        std::memset(dvb + (int64_t)t * KD, 0, sizeof(float) * HD);
      }
      for (int g = 0; g < G; g++) {
        int h = kh * G + g;
        const float* lse_bh = lse + ((int64_t)b * NH + h) * T;
        const float* dyb = dy + (int64_t)b * T * QD + h * HD;
        const float* yb = y + (int64_t)b * T * QD + h * HD;
        const float* qb = q + (int64_t)b * T * QD + h * HD;
        float* dqb = dq + (int64_t)b * T * QD + h * HD;
        const RowBlocks blocks{sample_start ? sample_start + (int64_t)b * T : nullptr, T, window};
        for (int r0 = 0, r1; r0 < T; r0 = r1) {
          r1 = blocks.end(r0);
          const int R = r1 - r0;
          const int k0 = blocks.first(r0), K = r1 - k0;
          const float* kk = kb + (int64_t)k0 * KD;
          const float* vk0 = vb + (int64_t)k0 * KD;
          // Recompute P = exp(scale Q K^T - lse) on the block's keys, as forward did.
          block_gemm(ex, Trans::N, Trans::T, R, K, HD, scale, qb + (int64_t)r0 * QD, QD, kk, KD, 0.0f, P, K);
          block_gemm(ex, Trans::N, Trans::T, R, K, HD, 1.0f, dyb + (int64_t)r0 * QD, QD, vk0, KD, 0.0f, dP, K);  // dY V^T
          for (int i = r0; i < r1; i++) {
            float* pr = P + (int64_t)(i - r0) * K;
            float* dr = dP + (int64_t)(i - r0) * K;
            const int lo = blocks.first(i) - k0, hi = i + 1 - k0;
            const float l = lse_bh[i];
            apply_attention_extras(pr + lo, capped ? tanh_row.data() : nullptr, hi - lo, i, k0 + lo, h, ex);
            vk.exp_scale(pr + lo, hi - lo, l, 1.0f);
            // rowsum(P * dP) = dY_i . Y_i, the forward output row (no extra pass over the block).
            const float* dyi = dyb + (int64_t)i * QD;
            const float* yi = yb + (int64_t)i * QD;
            float dot = 0;
            for (int e = 0; e < HD; e++) dot += dyi[e] * yi[e];
            for (int j = lo; j < hi; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;  // dS
            if (capped)
              for (int j = lo; j < hi; j++) dr[j] *= 1.0f - tanh_row[j - lo] * tanh_row[j - lo];
            std::fill(pr, pr + lo, 0.0f);
            std::fill(dr, dr + lo, 0.0f);
            std::fill(pr + hi, pr + K, 0.0f);
            std::fill(dr + hi, dr + K, 0.0f);
          }
          block_gemm(ex, Trans::N, Trans::N, R, HD, K, 1.0f, dP, K, kk, KD, 0.0f, dqb + (int64_t)r0 * QD, QD);  // dQ = dS K
          block_gemm(ex, Trans::T, Trans::N, K, HD, R, 1.0f, dP, K, qb + (int64_t)r0 * QD, QD, 1.0f, dkb + (int64_t)k0 * KD, KD);  // dK += dS^T Q
          block_gemm(ex, Trans::T, Trans::N, K, HD, R, 1.0f, P, K, dyb + (int64_t)r0 * QD, QD, 1.0f, dvb + (int64_t)k0 * KD, KD);  // dV += P^T dY
        }
      }
    }
  });
}

}  // namespace tuner
