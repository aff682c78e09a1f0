// The kernels of tuner/ops_arch.h: plain row loops (these layers are a small share of a step;
// the linears dominate), threaded over rows or contiguous element ranges.
#include "tuner/ops_arch.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/column_blocks.h"
#include "kernels/elementwise_math.h"
#include "tuner/threadpool.h"

namespace tuner {

void add_column_sums(float* dst, const float* src, int N, int C, ThreadPool* pool) {
  add_column_blocks(dst, C, pool, [&](float* acc, int c0, int width) {
    for (int n = 0; n < N; n++) {
      const float* row = src + (int64_t)n * C + c0;
      for (int j = 0; j < width; j++) acc[j] += row[j];
    }
  });
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C, float eps, ThreadPool* pool) {
  parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; n++) {
      const float* x = inp + n * C;
      float* y = out + n * C;
      double s = 0;
      for (int c = 0; c < C; c++) s += x[c];
      const float m = (float)(s / C);
      double v = 0;
      for (int c = 0; c < C; c++) v += (double)(x[c] - m) * (x[c] - m);
      const float r = norm_rstd((float)(v / C), eps);
      for (int c = 0; c < C; c++) y[c] = (x[c] - m) * r * weight[c] + (bias ? bias[c] : 0.0f);
      mean[n] = m;
      rstd[n] = r;
    }
  });
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                        const float* mean, const float* rstd, int N, int C, bool accumulate, ThreadPool* pool) {
  if (dinp)
    parallel_rows(pool, N, [&](int64_t b, int64_t e, int) {
      for (int64_t n = b; n < e; n++) {
        const float* x = inp + n * C;
        const float* dy = dout + n * C;
        float* dx = dinp + n * C;
        const float m = mean[n], r = rstd[n];
        // d xhat = dy * w; dx = r (d xhat - mean(d xhat) - xhat mean(d xhat * xhat))
        float a = 0, bsum = 0;
        for (int c = 0; c < C; c++) {
          const float dxh = dy[c] * weight[c], xh = (x[c] - m) * r;
          a += dxh;
          bsum += dxh * xh;
        }
        a /= C;
        bsum /= C;
        for (int c = 0; c < C; c++) {
          const float xh = (x[c] - m) * r;
          const float g = r * (dy[c] * weight[c] - a - xh * bsum);
          dx[c] = accumulate ? dx[c] + g : g;
        }
      }
    });
  if (dbias) add_column_sums(dbias, dout, N, C, pool);
  if (!dweight) return;
  add_column_blocks(dweight, C, pool, [&](float* acc, int c0, int width) {
    for (int n = 0; n < N; n++) {
      const float* x = inp + (int64_t)n * C + c0;
      const float* dy = dout + (int64_t)n * C + c0;
      for (int j = 0; j < width; j++) acc[j] += dy[j] * (x[j] - mean[n]) * rstd[n];
    }
  });
}

void gelu_forward(float* out, const float* x, int64_t n, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) out[i] = gelu_tanh(x[i]);
  });
}

void gelu_forward_backward(float* out, float* dx, const float* dout, const float* x, int64_t n, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) {
      const float d = dout[i];
      out[i] = gelu_tanh(x[i]);
      dx[i] = d * gelu_tanh_grad(x[i]);
    }
  });
}

void geglu_forward(float* out, const float* gate, const float* up, int64_t n, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) out[i] = gelu_tanh(gate[i]) * up[i];
  });
}

void geglu_forward_backward(float* out, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t n, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) {
      const float d = dout[i], g = gate[i], u = up[i], a = gelu_tanh(g);
      out[i] = a * u;
      dup[i] = d * a;
      dgate[i] = d * u * gelu_tanh_grad(g);
    }
  });
}

void softcap_forward(float* x, float* t, int64_t n, float cap, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) {
      t[i] = std::tanh(x[i] / cap);
      x[i] = cap * t[i];
    }
  });
}

void softcap_backward(float* dx, const float* t, int64_t n, ThreadPool* pool) {
  parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) dx[i] *= 1.0f - t[i] * t[i];
  });
}

}  // namespace tuner
