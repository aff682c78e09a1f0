// Causal attention on the CPU (tuner/ops.h), threaded over (batch, head) tasks, or (batch, kv
// head) in backward; inside a task the products run single-threaded (attention_products.h), so
// tasks never contend for the pool. Every sum runs in a fixed order independent of the thread
// count, so a run is reproducible bit for bit with any number of threads.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/attention_products.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

namespace tuner {

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
// row_first_key: the window's first key, never before its record's start. A block's keys begin
// at its first row's, rounded down to a multiple of `align` (the products' key slivers).
struct RowBlocks {
  const int32_t* ss;  // [T] or null
  int T, window, align;
  int end(int r0) const {
    int r1 = std::min(T, r0 + kRowBlock);
    if (ss)
      for (int i = r0 + 1; i < r1; i++)
        if (ss[i] != ss[r0]) return i;
    return r1;
  }
  int first(int i) const { return std::max(first_key(i, window), ss ? (int)ss[i] : 0); }
  int keys_from(int r0) const { return first(r0) / align * align; }
};

inline float extras_scale(const AttentionExtras* ex, int HD) {
  return ex && ex->scale > 0 ? ex->scale : 1.0f / std::sqrt((float)HD);
}

// make() gives each thread's products (BlockGemmProducts or PackedBf16Products).
template <class MakeProducts>
void forward_tasks(const MakeProducts& make, float* y, float* lse, const float* q, const float* k, const float* v,
                   float* scratch, int B, int T, int NH, int NKV, int HD, int window, ThreadPool* pool,
                   const AttentionExtras* ex, const int32_t* sample_start) {
  const VectorKernels& vk = vector_kernels();
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const float scale = extras_scale(ex, HD);
  parallel_rows(pool, (int64_t)B * NH, [&](int64_t tb, int64_t te, int thread) {
    float* P = scratch + (int64_t)thread * 2 * kRowBlock * T;
    auto products = make();
    for (int64_t task = tb; task < te; task++) {
      int b = (int)(task / NH), h = (int)(task % NH), kh = h / G;
      const float* qb = q + (int64_t)b * T * QD + h * HD;
      float* yb = y + (int64_t)b * T * QD + h * HD;
      float* lse_bh = lse + task * T;
      products.bind_forward(k + (int64_t)b * T * KD + kh * HD, v + (int64_t)b * T * KD + kh * HD);
      const RowBlocks blocks{sample_start ? sample_start + (int64_t)b * T : nullptr, T, window, products.kKeyAlign};
      for (int r0 = 0, r1; r0 < T; r0 = r1) {
        r1 = blocks.end(r0);
        const int R = r1 - r0;
        const int k0 = blocks.keys_from(r0), K = r1 - k0;  // the block's keys [k0, r1), P's columns
        // P[R, K] = scale * Q_block K[k0:r1]^T, then a softmax per row over its own keys (zeros elsewhere).
        products.scores(P, qb + (int64_t)r0 * QD, R, k0, K, scale);
        for (int i = r0; i < r1; i++) {
          // Backward recomputes these probabilities as exp(s - lse), from the same lse.
          float* row = P + (int64_t)(i - r0) * K;
          const int lo = blocks.first(i) - k0, n = i + 1 - k0 - lo;
          apply_attention_extras(row + lo, nullptr, n, i, k0 + lo, h, ex);
          lse_bh[i] = vk.softmax_row(row + lo, n);
          std::fill(row, row + lo, 0.0f);
          std::fill(row + lo + n, row + K, 0.0f);
        }
        products.values(yb + (int64_t)r0 * QD, P, R, k0, K);
      }
    }
  });
}

template <class MakeProducts>
void backward_tasks(const MakeProducts& make, float* dq, float* dk, float* dv, const float* dy, const float* y,
                    const float* lse, const float* q, const float* k, const float* v, float* scratch, int B, int T,
                    int NH, int NKV, int HD, int window, ThreadPool* pool, const AttentionExtras* ex,
                    const int32_t* sample_start) {
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
    std::vector<float> dots(T);                    // dY_i . Y_i of the head's rows: rowsum(P * dP)
    auto products = make();
    for (int64_t task = tb; task < te; task++) {
      int b = (int)(task / NKV), kh = (int)(task % NKV);
      float* dkb = dk + (int64_t)b * T * KD + kh * HD;
      float* dvb = dv + (int64_t)b * T * KD + kh * HD;
      for (int t = 0; t < T; t++) {
        std::memset(dkb + (int64_t)t * KD, 0, sizeof(float) * HD);
        std::memset(dvb + (int64_t)t * KD, 0, sizeof(float) * HD);
      }
      products.bind_backward(k + (int64_t)b * T * KD + kh * HD, v + (int64_t)b * T * KD + kh * HD);
      for (int g = 0; g < G; g++) {
        int h = kh * G + g;
        const float* lse_bh = lse + ((int64_t)b * NH + h) * T;
        const float* dyb = dy + (int64_t)b * T * QD + h * HD;
        const float* yb = y + (int64_t)b * T * QD + h * HD;
        const float* qb = q + (int64_t)b * T * QD + h * HD;
        float* dqb = dq + (int64_t)b * T * QD + h * HD;
        const RowBlocks blocks{sample_start ? sample_start + (int64_t)b * T : nullptr, T, window, products.kKeyAlign};
        vk.row_dots(dots.data(), dyb, yb, QD, T, HD);
        for (int r0 = 0, r1; r0 < T; r0 = r1) {
          r1 = blocks.end(r0);
          const int R = r1 - r0;
          const int k0 = blocks.keys_from(r0), K = r1 - k0;
          // Recompute P = exp(scale Q K^T - lse) on the block's keys, as forward did.
          products.scores(P, qb + (int64_t)r0 * QD, R, k0, K, scale);
          products.dprobs(dP, dyb + (int64_t)r0 * QD, R, k0, K);  // dY V^T
          for (int i = r0; i < r1; i++) {
            float* pr = P + (int64_t)(i - r0) * K;
            float* dr = dP + (int64_t)(i - r0) * K;
            const int lo = blocks.first(i) - k0, hi = i + 1 - k0;
            apply_attention_extras(pr + lo, capped ? tanh_row.data() : nullptr, hi - lo, i, k0 + lo, h, ex);
            // P, and dS with rowsum(P * dP) = dY_i . Y_i, the forward output row (no extra pass).
            vk.attention_dscores_row(pr + lo, dr + lo, hi - lo, lse_bh[i], dots[i], scale);
            if (capped)
              for (int j = lo; j < hi; j++) dr[j] *= 1.0f - tanh_row[j - lo] * tanh_row[j - lo];
            std::fill(pr, pr + lo, 0.0f);
            std::fill(dr, dr + lo, 0.0f);
            std::fill(pr + hi, pr + K, 0.0f);
            std::fill(dr + hi, dr + K, 0.0f);
          }
          products.dquery(dqb + (int64_t)r0 * QD, dP, R, k0, K);          // dQ = dS K
          products.dkey(dkb, dP, qb + (int64_t)r0 * QD, R, k0, K);        // dK += dS^T Q
          products.dvalue(dvb, P, dyb + (int64_t)r0 * QD, R, k0, K);      // dV += P^T dY
        }
      }
    }
  });
}

// The packed bf16 products where this CPU multiplies bf16 natively and the run asks for bf16.
const GemmBf16Kernel* packed_kernel(const AttentionExtras* ex) {
  return ex && ex->bf16 ? gemm_bf16_native_kernel() : nullptr;
}

// run(make) with make() giving a thread's products: PackedBf16Products on `packed`, else
// BlockGemmProducts (gemm_bf16 calls when the run asks for bf16).
template <class Run>
void with_products(const GemmBf16Kernel* packed, int T, int NH, int NKV, int HD, const AttentionExtras* ex,
                   const Run& run) {
  const AttentionShape shape{T, HD, NH * HD, NKV * HD, kRowBlock};
  if (packed) run([&] { return PackedBf16Products(shape, *packed); });
  else run([&] { return BlockGemmProducts(shape, ex && ex->bf16); });
}

}  // namespace

void attention_forward_on(const GemmBf16Kernel* packed, float* y, float* lse, const float* q, const float* k,
                          const float* v, float* scratch, int B, int T, int NH, int NKV, int HD, int window,
                          ThreadPool* pool, const AttentionExtras* ex, const int32_t* sample_start) {
  with_products(packed, T, NH, NKV, HD, ex, [&](const auto& make) {
    forward_tasks(make, y, lse, q, k, v, scratch, B, T, NH, NKV, HD, window, pool, ex, sample_start);
  });
}

void attention_backward_on(const GemmBf16Kernel* packed, float* dq, float* dk, float* dv, const float* dy,
                           const float* y, const float* lse, const float* q, const float* k, const float* v,
                           float* scratch, int B, int T, int NH, int NKV, int HD, int window, ThreadPool* pool,
                           const AttentionExtras* ex, const int32_t* sample_start) {
  with_products(packed, T, NH, NKV, HD, ex, [&](const auto& make) {
    backward_tasks(make, dq, dk, dv, dy, y, lse, q, k, v, scratch, B, T, NH, NKV, HD, window, pool, ex, sample_start);
  });
}

void attention_forward(float* y, float* lse, const float* q, const float* k, const float* v, float* scratch, int B, int T,
                       int NH, int NKV, int HD, int window, ThreadPool* pool, const AttentionExtras* ex,
                       const int32_t* sample_start) {
  attention_forward_on(packed_kernel(ex), y, lse, q, k, v, scratch, B, T, NH, NKV, HD, window, pool, ex, sample_start);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dy, const float* y, const float* lse, const float* q,
                        const float* k, const float* v, float* scratch, int B, int T, int NH, int NKV, int HD,
                        int window, ThreadPool* pool, const AttentionExtras* ex, const int32_t* sample_start) {
  attention_backward_on(packed_kernel(ex), dq, dk, dv, dy, y, lse, q, k, v, scratch, B, T, NH, NKV, HD, window, pool, ex,
                        sample_start);
}

}  // namespace tuner
