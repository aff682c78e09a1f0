// Plain single-threaded reference kernels: the oracle for ops_cpu.cpp and for the CUDA kernels
// later. Written for clarity (double accumulators), not speed.
#include <cmath>
#include <vector>

#include "tuner/ops.h"

namespace tuner {

void rmsnorm_forward_ref(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
  for (int n = 0; n < N; n++) {
    const float* x = inp + (int64_t)n * C;
    double ss = 0;
    for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
    float r = (float)(1.0 / std::sqrt(ss / C + eps));
    rstd[n] = r;
    for (int c = 0; c < C; c++) out[(int64_t)n * C + c] = x[c] * r * weight[c];
  }
}

void rmsnorm_backward_ref(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                          const float* rstd, int N, int C) {
  for (int n = 0; n < N; n++) {
    const float* x = inp + (int64_t)n * C;
    const float* dy = dout + (int64_t)n * C;
    double r = rstd[n];
    double dot = 0;  // sum_c (w dy)_c x_c
    for (int c = 0; c < C; c++) dot += (double)weight[c] * dy[c] * x[c];
    for (int c = 0; c < C; c++) {
      if (dinp) dinp[(int64_t)n * C + c] += (float)(r * weight[c] * dy[c] - x[c] * r * r * r * dot / C);
      if (dweight) dweight[c] += (float)(dy[c] * x[c] * r);
    }
  }
}

void rope_forward_ref(float* x, const float* cos, const float* sin, int B, int T, int nh, int HD) {
  int half = HD / 2;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int h = 0; h < nh; h++) {
        float* v = x + ((int64_t)(b * T + t) * nh + h) * HD;
        for (int i = 0; i < half; i++) rope_pair(&v[i], &v[i + half], cos[t * half + i], sin[t * half + i]);
      }
}

void rope_backward_ref(float* dx, const float* cos, const float* sin, int B, int T, int nh, int HD) {
  int half = HD / 2;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int h = 0; h < nh; h++) {
        float* v = dx + ((int64_t)(b * T + t) * nh + h) * HD;
        for (int i = 0; i < half; i++) rope_pair_grad(&v[i], &v[i + half], cos[t * half + i], sin[t * half + i]);
      }
}

void swiglu_forward_ref(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = swiglu(gate[i], up[i]);
}

void swiglu_backward_ref(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) swiglu_grad(dout[i], gate[i], up[i], &dgate[i], &dup[i]);
}

namespace {
// The keys row i attends to: [attention_first_key(i, W), i + 1); the whole causal prefix when W = 0.
int attention_first_key(int i, int window) { return window > 0 && i - window + 1 > 0 ? i - window + 1 : 0; }
}  // namespace

void attention_forward_ref(float* y, float* probs, const float* q, const float* k, const float* v, int B, int T, int NH,
                           int NKV, int HD, int window, const int32_t* sample_start) {
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const double scale = 1.0 / std::sqrt((double)HD);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      int kh = h / G;  // query head h reads key/value head h / (NH / NKV), as repeat_kv does
      float* P = probs + ((int64_t)b * NH + h) * T * T;
      for (int i = 0; i < T; i++) {
        const int j0 = std::max(attention_first_key(i, window), sample_start ? (int)sample_start[(int64_t)b * T + i] : 0);
        const float* qi = q + (int64_t)(b * T + i) * QD + h * HD;
        std::vector<double> s(i + 1);
        double mx = -INFINITY;
        for (int j = j0; j <= i; j++) {
          const float* kj = k + (int64_t)(b * T + j) * KD + kh * HD;
          double d = 0;
          for (int e = 0; e < HD; e++) d += (double)qi[e] * kj[e];
          s[j] = d * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = j0; j <= i; j++) { s[j] = std::exp(s[j] - mx); sum += s[j]; }
        for (int j = 0; j < T; j++) P[(int64_t)i * T + j] = j >= j0 && j <= i ? (float)(s[j] / sum) : 0.0f;
        float* yi = y + (int64_t)(b * T + i) * QD + h * HD;
        for (int e = 0; e < HD; e++) {
          double acc = 0;
          for (int j = j0; j <= i; j++) acc += P[(int64_t)i * T + j] * (double)v[(int64_t)(b * T + j) * KD + kh * HD + e];
          yi[e] = (float)acc;
        }
      }
    }
}

void attention_backward_ref(float* dq, float* dk, float* dv, const float* dy, const float* probs, const float* q,
                            const float* k, const float* v, int B, int T, int NH, int NKV, int HD, int window,
                            const int32_t* sample_start) {
  const int QD = NH * HD, KD = NKV * HD, G = NH / NKV;
  const double scale = 1.0 / std::sqrt((double)HD);
  for (int64_t i = 0; i < (int64_t)B * T * QD; i++) dq[i] = 0;
  for (int64_t i = 0; i < (int64_t)B * T * KD; i++) dk[i] = dv[i] = 0;
  std::vector<double> dp(T);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      int kh = h / G;
      const float* P = probs + ((int64_t)b * NH + h) * T * T;
      for (int i = 0; i < T; i++) {
        const int j0 = std::max(attention_first_key(i, window), sample_start ? (int)sample_start[(int64_t)b * T + i] : 0);
        const float* dyi = dy + (int64_t)(b * T + i) * QD + h * HD;
        double rowdot = 0;
        for (int j = j0; j <= i; j++) {
          const float* vj = v + (int64_t)(b * T + j) * KD + kh * HD;
          double d = 0;
          for (int e = 0; e < HD; e++) d += (double)dyi[e] * vj[e];
          dp[j] = d;
          rowdot += d * P[(int64_t)i * T + j];
          for (int e = 0; e < HD; e++) dv[(int64_t)(b * T + j) * KD + kh * HD + e] += (float)(P[(int64_t)i * T + j] * dyi[e]);
        }
        for (int j = j0; j <= i; j++) {
          double ds = P[(int64_t)i * T + j] * (dp[j] - rowdot) * scale;
          for (int e = 0; e < HD; e++) {
            dq[(int64_t)(b * T + i) * QD + h * HD + e] += (float)(ds * k[(int64_t)(b * T + j) * KD + kh * HD + e]);
            dk[(int64_t)(b * T + j) * KD + kh * HD + e] += (float)(ds * q[(int64_t)(b * T + i) * QD + h * HD + e]);
          }
        }
      }
    }
}

float cross_entropy_forward_ref(float* losses, const float* logits, const uint32_t* targets, const uint8_t* mask, int N,
                                int V) {
  double total = 0;
  int count = 0;
  for (int n = 0; n < N; n++) {
    const float* l = logits + (int64_t)n * V;
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < V; j++) mx = std::max(mx, (double)l[j]);
    for (int j = 0; j < V; j++) sum += std::exp(l[j] - mx);
    double loss = std::log(sum) + mx - l[targets[n]];
    losses[n] = mask[n] ? (float)loss : 0.0f;
    if (mask[n]) { total += loss; count++; }
  }
  return count ? (float)(total / count) : 0.0f;
}

void cross_entropy_backward_ref(float* dlogits, const float* logits, const uint32_t* targets, const uint8_t* mask, int N,
                                int V, float scale) {
  int count = 0;
  for (int n = 0; n < N; n++) count += mask[n] ? 1 : 0;
  for (int n = 0; n < N; n++) {
    const float* l = logits + (int64_t)n * V;
    float* d = dlogits + (int64_t)n * V;
    if (!mask[n]) { for (int j = 0; j < V; j++) d[j] = 0; continue; }
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < V; j++) mx = std::max(mx, (double)l[j]);
    for (int j = 0; j < V; j++) sum += std::exp(l[j] - mx);
    double w = (double)scale / count;
    for (int j = 0; j < V; j++) d[j] = (float)(w * (std::exp(l[j] - mx) / sum - (j == (int)targets[n] ? 1.0 : 0.0)));
  }
}

}  // namespace tuner
