// Attention of new query rows over the KV cache: the training kernel's blocked softmax
// (attention_forward in attention_cpu.cpp) with the query rows offset to positions p..p+n-1 and the
// keys read from the cache. A prompt chunk runs as blocks of kAttnRowBlock rows; a decode step
// is one row per head (decode_heads). Each (head, row block) is one task with single-threaded
// sgemm inside, so tasks never contend for the pool and results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "infer/infer_internal.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/gemm.h"

namespace tuner {

namespace {
// The first key a query at position a sees: [first_key(a, W), a] (W keys, itself included).
inline int first_key(int a, int window) { return window > 0 ? std::max(0, a - window + 1) : 0; }

// Soft-capping and ALiBi on head h's scores of the query at position `query` over keys key0...
inline void apply_extras(float* row, int n, int query, int key0, int h, const AttentionExtras* ex) {
  apply_attention_extras(row, nullptr, n, query, key0, h, ex);
}

// One decode step (query at position a) of heads h0 .. h0+heads-1, without the GEMM's set-up:
// their scores against every key they see, the extras, softmax, then the weighted sum of value
// rows; the vector kernels sweep the cache rows once for all these heads. P: heads x (a + 1).
void decode_heads(float* y, float* P, const float* q, const float* kc, const float* vc, int a, int window, int KD,
                  int HD, int h0, int heads, int G, float scale, const VectorKernels& vk, const AttentionExtras* ex) {
  const int k0 = first_key(a, window), K = a + 1 - k0;
  vk.attention_scores(P, K, q, kc + (int64_t)k0 * KD, K, KD, HD, h0, heads, G, scale);
  for (int h = 0; h < heads; h++) {
    float* row = P + (int64_t)h * K;
    apply_extras(row, K, a, k0, h0 + h, ex);
    vk.softmax_row(row, K);
  }
  vk.attention_weighted_sum(y, P, K, vc + (int64_t)k0 * KD, K, KD, HD, h0, heads, G);
}
}  // namespace

int64_t attention_cache_scratch_floats(int ctx, int threads) {
  return (int64_t)std::max(1, threads) * kAttnRowBlock * ctx;
}

void attention_cache_forward(float* y, const float* q, const float* kc, const float* vc, float* scratch, int n, int p,
                             int NH, int NKV, int HD, int window, ThreadPool* pool, const AttentionExtras* ex) {
  const VectorKernels& vk = vector_kernels();
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const int blocks = (n + kAttnRowBlock - 1) / kAttnRowBlock;
  const float scale = ex && ex->scale > 0 ? ex->scale : 1.0f / std::sqrt((float)HD);
  const int64_t per_thread = (int64_t)kAttnRowBlock * (p + n);
  if (n == 1) {  // a decode step: one row per head
    parallel_rows(pool, NH, [&](int64_t hb, int64_t he, int thread) {
      for (int64_t h = hb; h < he; h += kAttnRowBlock) {  // scratch holds kAttnRowBlock score rows
        const int heads = (int)std::min<int64_t>(kAttnRowBlock, he - h);
        decode_heads(y + h * HD, scratch + thread * per_thread, q + h * HD, kc, vc, p, window, KD, HD, (int)h, heads, G,
                     scale, vk, ex);
      }
    });
    return;
  }
  parallel_rows(pool, (int64_t)NH * blocks, [&](int64_t tb, int64_t te, int thread) {
    float* P = scratch + thread * per_thread;
    for (int64_t task = tb; task < te; task++) {
      const int h = (int)(task / blocks), blk = (int)(task % blocks), kh = h / G;
      const int r0 = blk * kAttnRowBlock, r1 = std::min(n, r0 + kAttnRowBlock), R = r1 - r0;
      // Rows [r0, r1) sit at positions p + r0 ..; together they see keys [k0, p + r1).
      const int k0 = first_key(p + r0, window), K = p + r1 - k0;
      const float* qb = q + (int64_t)r0 * QD + h * HD;
      sgemm(Trans::N, Trans::T, R, K, HD, scale, qb, QD, kc + (int64_t)k0 * KD + kh * HD, KD, 0.0f, P, K, nullptr);
      for (int i = r0; i < r1; i++) {
        const int a = p + i;
        float* row = P + (int64_t)(i - r0) * K;
        const int lo = first_key(a, window) - k0, cnt = a + 1 - k0 - lo;
        apply_extras(row + lo, cnt, a, k0 + lo, h, ex);
        vk.softmax_row(row + lo, cnt);
        std::fill(row, row + lo, 0.0f);
        std::fill(row + lo + cnt, row + K, 0.0f);
      }
      sgemm(Trans::N, Trans::N, R, HD, K, 1.0f, P, K, vc + (int64_t)k0 * KD + kh * HD, KD, 0.0f, y + (int64_t)r0 * QD + h * HD,
            QD, nullptr);
    }
  });
}

void attention_cache_reference(float* y, const float* q, const float* kc, const float* vc, int n, int p, int NH, int NKV,
                               int HD, int window) {
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const double scale = 1.0 / std::sqrt((double)HD);
  std::vector<double> s(p + n);
  for (int i = 0; i < n; i++)
    for (int h = 0; h < NH; h++) {
      const int a = p + i, j0 = first_key(a, window), kh = h / G;
      const float* qi = q + (int64_t)i * QD + h * HD;
      double mx = -INFINITY, sum = 0;
      for (int j = j0; j <= a; j++) {
        double d = 0;
        for (int e = 0; e < HD; e++) d += (double)qi[e] * kc[(int64_t)j * KD + kh * HD + e];
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
      }
      for (int j = j0; j <= a; j++) sum += (s[j] = std::exp(s[j] - mx));
      for (int e = 0; e < HD; e++) {
        double acc = 0;
        for (int j = j0; j <= a; j++) acc += s[j] / sum * vc[(int64_t)j * KD + kh * HD + e];
        y[(int64_t)i * QD + h * HD + e] = (float)acc;
      }
    }
}

}  // namespace tuner
