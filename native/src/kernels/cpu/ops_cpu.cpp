// Fast CPU kernels: the reference math of ops.h, threaded over rows (or over (batch, head) for
// attention, with single-threaded sgemm inside each task so tasks never contend for the pool).
// Every reduction runs in a fixed order independent of the thread count, except where noted,
// so a run is reproducible bit for bit with the same threads.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tuner/gemm.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

namespace tuner {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps, ThreadPool* pool) {
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      const float* x = inp + n * C;
      float ss = 0;
      for (int c = 0; c < C; c++) ss += x[c] * x[c];
      float r = 1.0f / std::sqrt(ss / C + eps);
      rstd[n] = r;
      float* o = out + n * C;
      for (int c = 0; c < C; c++) o[c] = x[c] * r * weight[c];
    }
  });
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C, bool accumulate, ThreadPool* pool) {
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      float r = rstd[n];
      float dot = 0;
      for (int c = 0; c < C; c++) dot += weight[c] * dy[c] * x[c];
      float k = r * r * r * dot / C;
      float* dx = dinp + n * C;
      if (accumulate)
        for (int c = 0; c < C; c++) dx[c] += r * weight[c] * dy[c] - x[c] * k;
      else
        for (int c = 0; c < C; c++) dx[c] = r * weight[c] * dy[c] - x[c] * k;
    }
  });
  if (!dweight) return;
  // Column blocks per task: each dweight[c] sums its rows in order, whatever the thread count.
  const int CB = 64;
  parallel_rows(pool, (C + CB - 1) / CB, [&](int64_t b, int64_t e, int) {
    for (int64_t blk = b; blk < e; blk++) {
      int c0 = (int)blk * CB, c1 = std::min(C, c0 + CB);
      float acc[CB] = {0};
      for (int n = 0; n < N; n++) {
        const float* x = inp + (int64_t)n * C;
        const float* dy = dout + (int64_t)n * C;
        float r = rstd[n];
        for (int c = c0; c < c1; c++) acc[c - c0] += dy[c] * x[c] * r;
      }
      for (int c = c0; c < c1; c++) dweight[c] += acc[c - c0];
    }
  });
}

namespace {
// Rotates every head of every row by its position's angles; Pair is rope_pair (forward) or
// rope_pair_grad (backward, the inverse rotation), the only difference between the two passes.
template <void (*Pair)(float*, float*, float, float)>
void rope_rows(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool) {
  const int half = HD / 2;
  parallel_rows(pool, (int64_t)B * T, [&](int64_t b, int64_t e, int) {
    for (int64_t row = b; row < e; row++) {
      int t = (int)(row % T);
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

void rope_forward(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool) {
  rope_rows<rope_pair>(x, cos, sin, B, T, nh, HD, pool);
}

void rope_backward(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD, ThreadPool* pool) {
  rope_rows<rope_pair_grad>(dx, cos, sin, B, T, nh, HD, pool);
}

// Causal attention works on blocks of kRowBlock query rows: block [r0, r1) only meets keys
// [0, r1), so the products skip most of the masked upper triangle (about 40% of the work at
// T = 256) while each product stays large enough for the GEMM kernel to run at speed.
constexpr int kRowBlock = 64;

int64_t attention_scratch_floats(int T, int threads) {
  // Per thread: a probability block and a dP block, kRowBlock x T each.
  return (int64_t)std::max(1, threads) * 2 * kRowBlock * T;
}

void attention_forward(float* y, float* lse, const float* q, const float* k, const float* v, float* scratch, int B, int T,
                       int NH, int NKV, int HD, ThreadPool* pool) {
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HD);
  parallel_rows(pool, (int64_t)B * NH, [&](int64_t tb, int64_t te, int thread) {
    float* P = scratch + (int64_t)thread * 2 * kRowBlock * T;
    for (int64_t task = tb; task < te; task++) {
      int b = (int)(task / NH), h = (int)(task % NH), kh = h / G;
      const float* qb = q + (int64_t)b * T * QD + h * HD;
      const float* kb = k + (int64_t)b * T * KD + kh * HD;
      const float* vb = v + (int64_t)b * T * KD + kh * HD;
      float* yb = y + (int64_t)b * T * QD + h * HD;
      float* lse_bh = lse + task * T;
      for (int r0 = 0; r0 < T; r0 += kRowBlock) {
        const int r1 = std::min(T, r0 + kRowBlock), R = r1 - r0;
        // P[R, r1] = scale * Q_block K^T, then a causal softmax per row (zeros above the diagonal).
        sgemm(Trans::N, Trans::T, R, r1, HD, scale, qb + (int64_t)r0 * QD, QD, kb, KD, 0.0f, P, r1, nullptr);
        for (int i = r0; i < r1; i++) {
          float* row = P + (int64_t)(i - r0) * r1;
          float mx = row[0];
          for (int j = 1; j <= i; j++) mx = std::max(mx, row[j]);
          for (int j = 0; j <= i; j++) row[j] = fast_expf(row[j] - mx);  // separate loops: this one vectorises
          float sum = 0;
          for (int j = 0; j <= i; j++) sum += row[j];
          float inv = 1.0f / sum;
          for (int j = 0; j <= i; j++) row[j] *= inv;
          for (int j = i + 1; j < r1; j++) row[j] = 0.0f;
          lse_bh[i] = mx + std::log(sum);
        }
        sgemm(Trans::N, Trans::N, R, HD, r1, 1.0f, P, r1, vb, KD, 0.0f, yb + (int64_t)r0 * QD, QD, nullptr);
      }
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dy, const float* y, const float* lse, const float* q,
                        const float* k, const float* v, float* scratch, int B, int T, int NH, int NKV, int HD,
                        ThreadPool* pool) {
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HD);
  // One task per (batch, kv head): the G query heads sharing a kv head accumulate into the same
  // dK/dV slice, so that slice has exactly one writer and a fixed summation order.
  parallel_rows(pool, (int64_t)B * NKV, [&](int64_t tb, int64_t te, int thread) {
    float* P = scratch + (int64_t)thread * 2 * kRowBlock * T;
    float* dP = P + (int64_t)kRowBlock * T;
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
        for (int r0 = 0; r0 < T; r0 += kRowBlock) {
          const int r1 = std::min(T, r0 + kRowBlock), R = r1 - r0;
          // Recompute P = exp(scale Q K^T - lse) on the causal part of the block.
          sgemm(Trans::N, Trans::T, R, r1, HD, scale, qb + (int64_t)r0 * QD, QD, kb, KD, 0.0f, P, r1, nullptr);
          sgemm(Trans::N, Trans::T, R, r1, HD, 1.0f, dyb + (int64_t)r0 * QD, QD, vb, KD, 0.0f, dP, r1, nullptr);  // dY V^T
          for (int i = r0; i < r1; i++) {
            float* pr = P + (int64_t)(i - r0) * r1;
            float* dr = dP + (int64_t)(i - r0) * r1;
            const float l = lse_bh[i];
            for (int j = 0; j <= i; j++) pr[j] = fast_expf(pr[j] - l);
            // rowsum(P * dP) = dY_i . Y_i, the forward output row (no extra pass over the block).
            const float* dyi = dyb + (int64_t)i * QD;
            const float* yi = yb + (int64_t)i * QD;
            float dot = 0;
            for (int e = 0; e < HD; e++) dot += dyi[e] * yi[e];
            for (int j = 0; j <= i; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;  // dS
            for (int j = i + 1; j < r1; j++) pr[j] = dr[j] = 0.0f;
          }
          sgemm(Trans::N, Trans::N, R, HD, r1, 1.0f, dP, r1, kb, KD, 0.0f, dqb + (int64_t)r0 * QD, QD, nullptr);  // dQ = dS K
          sgemm(Trans::T, Trans::N, r1, HD, R, 1.0f, dP, r1, qb + (int64_t)r0 * QD, QD, 1.0f, dkb, KD, nullptr);  // dK += dS^T Q
          sgemm(Trans::T, Trans::N, r1, HD, R, 1.0f, P, r1, dyb + (int64_t)r0 * QD, QD, 1.0f, dvb, KD, nullptr);  // dV += P^T dY
        }
      }
    }
  });
}

float cross_entropy_forward(float* losses, const float* logits, const uint32_t* targets, const uint8_t* mask, int N,
                            int V, ThreadPool* pool) {
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      if (!mask[n]) { losses[n] = 0.0f; continue; }
      const float* l = logits + n * V;
      float mx = l[0];
      for (int j = 1; j < V; j++) mx = std::max(mx, l[j]);
      // exp in blocks into a stack buffer (vectorised), summed in a fixed order.
      double sum = 0;
      float buf[256];
      for (int j0 = 0; j0 < V; j0 += 256) {
        int j1 = std::min(V, j0 + 256);
        for (int j = j0; j < j1; j++) buf[j - j0] = fast_expf(l[j] - mx);
        float part = 0;
        for (int j = j0; j < j1; j++) part += buf[j - j0];
        sum += part;
      }
      losses[n] = (float)(std::log(sum) + mx - l[targets[n]]);
    }
  });
  double total = 0;
  int count = 0;
  for (int n = 0; n < N; n++)
    if (mask[n]) { total += losses[n]; count++; }
  return count ? (float)(total / count) : 0.0f;
}

void cross_entropy_backward_inplace(float* d, const uint32_t* targets, const uint8_t* mask, int N, int V, float scale,
                                    ThreadPool* pool) {
  int count = 0;
  for (int n = 0; n < N; n++) count += mask[n] ? 1 : 0;
  const float w = count ? scale / count : 0.0f;
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      float* l = d + n * V;
      if (!mask[n]) { std::memset(l, 0, sizeof(float) * V); continue; }
      float mx = l[0];
      for (int j = 1; j < V; j++) mx = std::max(mx, l[j]);
      float sum = 0;
      for (int j = 0; j < V; j++) l[j] = fast_expf(l[j] - mx);
      for (int j = 0; j < V; j++) sum += l[j];
      float k = w / sum;
      for (int j = 0; j < V; j++) l[j] *= k;
      l[targets[n]] -= w;
    }
  });
}

}  // namespace tuner
