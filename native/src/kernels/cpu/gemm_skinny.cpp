// The skinny sgemm path: products where C has at most 16 columns, or at most 8 rows, as in
// LoRA's rank-r factors (x A^T, dy B, dA += dt^T x, dB += dy^T t). The blocked driver would
// pack the large operand, a copy as costly as the multiply when one side is 8 wide, and fill
// only half of its 6 x 16 register tile. Here a skinny tile (gemm_internal.h) covers the whole
// short side and all of K in one pass:
//   few columns: C rows in blocks of 8 (or 6), one or two vectors across each row; op(A) is
//                broadcast element by element (read in place when its rows run along k);
//   few rows:    C columns in tiles of 8 to 32; op(B)'s rows are the vectors.
// A large operand stored with k as its row index (A^T for few columns, B for few rows) is read
// down its columns: it is first copied, a panel of columns at a time, into tiles whose K rows
// are contiguous, since reading it in place touches a new 4 KiB page every step or two (no
// hardware prefetch) and, with a power-of-two row length, reuses the same few cache sets.
// Deterministic: tiles and panels depend only on the shape, and every element of C is summed
// over k = 0 .. K-1 in order by one tile, whichever thread runs it.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

constexpr int kSkinnyCols = 16;
constexpr int kSkinnyRows = 8;
// Target size of one packed panel (K x up to 64 columns): 256 KiB, half of a small L2.
constexpr int64_t kPanelFloats = 64 * 1024;

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Rows per tile that is nv vectors (of 8 columns) wide: at most 12 accumulators, or 8 rows of
// one vector. And its inverse: vectors per tile for a C of `rows` rows.
inline int skinny_rows(int nv) { return nv == 1 ? 8 : 12 / nv; }
inline int skinny_vectors(int rows) { return rows >= 7 ? 1 : std::min(4, 12 / rows); }

// Columns per packed panel: whole tiles, about kPanelFloats in all, at most 64 columns (enough
// to cover a row segment's cache lines in full).
inline int panel_cols(int K, int width) {
  const int64_t fit = kPanelFloats / (int64_t(K) * width);
  return width * int(std::max<int64_t>(1, std::min<int64_t>(fit, std::max(1, 64 / width))));
}

thread_local std::vector<float> tls_small;  // the small operand, shared by all threads
thread_local std::vector<float> tls_panel;  // this thread's packed panel of the large operand

float* scratch(std::vector<float>& v, size_t floats) {
  if (v.size() < floats) v.resize(floats);
  return v.data();
}

// Columns [j0, j0 + cols) of a matrix stored [K][ld] into tiles of `width` columns with their
// K rows contiguous: dst[(t * K + k) * width + w], zero past `cols`. Rows are read a whole
// segment at a time, and a few rows ahead are prefetched by hand (see the file comment).
// W: the tile width as a constant, so each full tile's row is a fixed-size (vector) copy.
template <int W>
void pack_panel_w(float* dst, const float* src, int64_t ld, int K, int j0, int cols) {
#ifndef TUNER_PF_AHEAD
#define TUNER_PF_AHEAD 8
#endif
  constexpr int kAhead = TUNER_PF_AHEAD;
  const int full = cols / W, tail = cols - full * W;
  for (int k = 0; k < K; ++k) {
    const float* row = src + int64_t(k) * ld + j0;
    if (k + kAhead < K)
      for (int c = 0; c < cols; c += 16) __builtin_prefetch(row + kAhead * ld + c);
    float* out = dst + int64_t(k) * W;
    for (int t = 0; t < full; ++t, row += W, out += int64_t(K) * W)
      std::memcpy(out, row, sizeof(float) * W);
    if (tail) {
      for (int w = 0; w < tail; ++w) out[w] = row[w];
      for (int w = tail; w < W; ++w) out[w] = 0.0f;
    }
  }
}

void pack_panel(float* dst, const float* src, int64_t ld, int K, int j0, int cols, int width) {
  switch (width) {
    case 6: return pack_panel_w<6>(dst, src, ld, K, j0, cols);
    case 8: return pack_panel_w<8>(dst, src, ld, K, j0, cols);
    case 16: return pack_panel_w<16>(dst, src, ld, K, j0, cols);
    case 24: return pack_panel_w<24>(dst, src, ld, K, j0, cols);
    default: return pack_panel_w<32>(dst, src, ld, K, j0, cols);
  }
}

// op(X) (K x n, n small) into dst[k * width + j], zero for j >= n. X is stored [K][n] when
// `rows_are_k`, else [n][K].
void pack_small(float* dst, const float* X, int64_t ld, bool rows_are_k, int K, int n, int width) {
  for (int k = 0; k < K; ++k) {
    float* out = dst + int64_t(k) * width;
    for (int j = 0; j < n; ++j) out[j] = rows_are_k ? X[int64_t(k) * ld + j] : X[int64_t(j) * ld + k];
    for (int j = n; j < width; ++j) out[j] = 0.0f;
  }
}

template <class F>
void for_each_task(ThreadPool* pool, int tasks, const F& f) {
  auto run = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) f(int(t));
  };
  if (pool) pool->parallel_for(tasks, run);
  else run(0, tasks, 0);
}

// P = S X for a small S (m <= 8 rows, stored k-major: s[k * m + r]) and X stored [K][ldx] with
// n columns, read in panels. P goes to C (c[r * ldc + j]) or, `transposed`, to C^T
// (c[j * ldc + r]), as alpha * P + beta * C. Rows 7 and 8 run as two groups of 4 x 24 tiles
// (12 accumulators, 3 loads per 12 FMAs) over the same panel rather than one 8 x 8 tile, whose
// 8 accumulators barely cover the FMA latency.
void few_rows(const GemmKernel& kern, const float* s, int m, int K, const float* X, int64_t ldx,
              int n, float alpha, float beta, float* c, int64_t ldc, bool transposed,
              ThreadPool* pool) {
  const int group = m > 6 ? (m + 1) / 2 : m;
  const int width = skinny_vectors(group) * 8;
  const int chunk = panel_cols(K, width);
  for_each_task(pool, ceil_div(n, chunk), [&](int t) {
    const int j0 = t * chunk, nc = std::min(chunk, n - j0);
    float* panel = scratch(tls_panel, size_t(K) * chunk);
    pack_panel(panel, X, ldx, K, j0, nc, width);
    for (int j = 0; j < nc; j += width) {
      const int cols = std::min(width, nc - j);
      for (int r = 0; r < m; r += group) {
        const int rows = std::min(group, m - r);
        const float* b = panel + int64_t(j) * K;
        if (!transposed) {
          kern.skinny(rows, cols, K, s + r, 1, m, b, width, true, c + r * ldc + j0 + j, ldc,
                      alpha, beta);
          continue;
        }
        // The tile's rows are columns of C: through a small buffer, then written across.
        float tile[8 * 32];
        kern.skinny(rows, cols, K, s + r, 1, m, b, width, true, tile, width, 1.0f, 0.0f);
        for (int jj = 0; jj < cols; ++jj) {
          float* out = c + (j0 + j + jj) * ldc + r;
          for (int rr = 0; rr < rows; ++rr) {
            const float v = alpha * tile[rr * width + jj];
            out[rr] = beta == 0.0f ? v : beta * out[rr] + v;
          }
        }
      }
    }
  });
}

}  // namespace

bool sgemm_skinny(const GemmKernel& kern, Trans ta, Trans tb, int M, int N, int K, float alpha,
                  const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                  ThreadPool* pool) {
  if (N <= 8 && ta == Trans::T) {
    // Few columns with op(A) = A^T, A stored [K][M]: C^T = op(B)^T A is a product with few
    // rows, whose large operand is read along its rows.
    float* bt = scratch(tls_small, size_t(K) * N);
    pack_small(bt, B, ldb, tb == Trans::N, K, N, N);
    few_rows(kern, bt, N, K, A, lda, M, alpha, beta, C, ldc, true, pool);
    return true;
  }
  if (N <= kSkinnyCols) {
    // Few columns: op(B) is small; one or two vectors span a row of C.
    const int width = (N + 7) / 8 * 8;
    float* bs = scratch(tls_small, size_t(K) * width);
    pack_small(bs, B, ldb, tb == Trans::N, K, N, width);
    const int rows = skinny_rows(width / 8);
    if (ta == Trans::N) {
      // op(A)'s rows run along k: 8 sequential streams per tile, read in place.
      for_each_task(pool, ceil_div(M, rows), [&](int t) {
        const int i0 = t * rows;
        kern.skinny(std::min(rows, M - i0), N, K, A + int64_t(i0) * lda, lda, 1, bs, width, true,
                    C + int64_t(i0) * ldc, ldc, alpha, beta);
      });
      return true;
    }
    // op(A) = A^T with 9 to 16 columns: pack panels of A's columns (rows of C).
    const int chunk = panel_cols(K, rows);
    for_each_task(pool, ceil_div(M, chunk), [&](int c) {
      const int i0 = c * chunk, m = std::min(chunk, M - i0);
      float* panel = scratch(tls_panel, size_t(K) * chunk);
      pack_panel(panel, A, lda, K, i0, m, rows);
      for (int s = 0; s < m; s += rows) {
        kern.skinny(std::min(rows, m - s), N, K, panel + int64_t(s) * K, 1, rows, bs, width, true,
                    C + int64_t(i0 + s) * ldc, ldc, alpha, beta);
      }
    });
    return true;
  }
  if (M <= kSkinnyRows && tb == Trans::N) {
    // Few rows: op(A) is small (copied k-major so each step's values are adjacent); vectors run
    // along the rows of B, packed a panel of columns at a time.
    float* as = scratch(tls_small, size_t(K) * M);
    pack_small(as, A, lda, ta == Trans::T, K, M, M);
    few_rows(kern, as, M, K, B, ldb, N, alpha, beta, C, ldc, false, pool);
    return true;
  }
  return false;
}

}  // namespace tuner
