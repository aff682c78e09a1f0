// The skinny sgemm path: products where C has at most 16 columns, or at most 16 rows, as in
// LoRA's rank-r factors (x A^T, dy B, dA += dt^T x, dB += dy^T t). The blocked driver would
// pack the large operand, a copy as costly as the multiply when one side is 8 wide, and fill
// only half of its 6 x 16 register tile. Here skinny tiles (gemm_internal.h) hold the short
// side in registers:
//   few columns, op(A) = A: C rows in blocks of 8 (or 6), one or two vectors across each row,
//                op(A) read in place (its rows run along k) and broadcast element by element;
//   few rows (or few columns with op(A) = A^T, computed as C^T = op(B)^T A): C columns in
//                tiles of 24 or so (48 in AVX-512's 16-lane tile); the large operand is stored
//                with k as its row index, and is streamed along those rows, a block of k at a
//                time (few_rows), the blocks shared out among threads.
// Reading that operand down its columns instead would touch a new 4 KiB page every step or two
// (beyond hardware prefetch, which matters most when it comes from memory, as in a training
// step) and, with a power-of-two row length, reuse the same few cache sets.
// Deterministic: k blocks depend only on the shape, so every element of C is summed in the
// same order whichever thread or tile width runs it.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

constexpr int kSkinnyCols = 16;
constexpr int kSkinnyRows = 16;
// A few-rows product streams its large operand a block of k at a time into a panel of about
// kPanelFloats (256 KiB, half of a small L2).
constexpr int kPanelFloats = 64 * 1024;
// Its partial sums when threads share out the k blocks: at most 4 MiB at a time.
constexpr int64_t kPartialFloats = 1 << 20;

// Rows per tile that is nv vectors (of 8 columns) wide: at most 12 accumulators, or 8 rows of
// one vector. And its inverse: vectors per tile for a C of `rows` rows.
inline int skinny_rows(int nv) { return nv == 1 ? 8 : 12 / nv; }
inline int skinny_vectors(int rows) { return rows >= 7 ? 1 : std::min(4, 12 / rows); }


// Columns [j0, j0 + cols) of a matrix stored [K][ld] into tiles of `width` columns with their
// K rows contiguous: dst[(t * K + k) * width + w], zero past `cols`. Rows are read a whole
// segment at a time (hardware prefetch follows a run of whole rows best; prefetching by hand
// measured slower).
// W: the tile width as a constant, so each full tile's row is a fixed-size (vector) copy.
template <int W>
void pack_panel_w(float* dst, const float* src, int64_t ld, int K, int j0, int cols) {
  const int full = cols / W, tail = cols - full * W;
  for (int k = 0; k < K; ++k) {
    const float* row = src + int64_t(k) * ld + j0;
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
    case 8: return pack_panel_w<8>(dst, src, ld, K, j0, cols);
    case 16: return pack_panel_w<16>(dst, src, ld, K, j0, cols);
    case 24: return pack_panel_w<24>(dst, src, ld, K, j0, cols);
    case 32: return pack_panel_w<32>(dst, src, ld, K, j0, cols);
    case 48: return pack_panel_w<48>(dst, src, ld, K, j0, cols);
    default: return pack_panel_w<64>(dst, src, ld, K, j0, cols);
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

// P = S X for a small S (m <= 16 rows, stored k-major: s[k * m + r]) and a large X stored
// [K][ldx] with n columns. P goes to C (c[r * ldc + j]) or, `transposed`, to C^T
// (c[j * ldc + r]), as alpha * P + beta * C.
// X streams through once, a block of kb rows at a time, each row read as one run (so hardware
// prefetch follows it even from memory) into a panel of tiles whose kb rows are contiguous;
// each tile then adds its kb-step sum into a partial sum held in a small buffer. The k blocks
// are fixed by the shape alone (the AVX2 tile's panel), so the order of every sum is too,
// whichever tile runs it.
// AVX2: rows in groups of at most 4, a 4 x 24 tile (12 accumulators, 3 loads per 12 FMAs) rather
// than 8 x 8, whose 8 accumulators barely cover the FMA latency. With few_rows16, groups of up
// to 8 rows in 16-lane vectors: 8 x 48 (24 accumulators, 3 loads per 24 FMAs).
// The AVX2 tile's rows per group (at most 4) and width for an m-row S.
inline int narrow_group(int m) { return m <= 6 ? m : 4; }
inline int narrow_width(int m) { return skinny_vectors(narrow_group(m)) * 8; }

// The k block: the AVX2 tile's panel of all n columns within kPanelFloats (a function of the
// shape only, whichever tile runs it).
int few_rows_kblock(int m, int n) {
  const int n_pad = ceil_div(n, narrow_width(m)) * narrow_width(m);
  return std::max(16, std::min(256, kPanelFloats / n_pad / 8 * 8));
}

struct FewRowsTile {
  GemmSkinnyKernel fn;
  int group, width;
};
FewRowsTile few_rows_tile(const GemmKernel& kern, int m) {
  if (!kern.few_rows16) return {kern.skinny, narrow_group(m), narrow_width(m)};
  const int group = m <= 8 ? m : 8;
  return {kern.few_rows16, group, 16 * std::min(4, 24 / group)};
}

// sum[i] = sum[i] + parts[b * stride + i] for i in [0, n), blocks b = 0 .. count - 1 in order:
// k blocks' partial sums added as one running sum forms them.
void add_in_block_order(float* sum, const float* parts, int64_t stride, int count, int64_t n) {
  for (int b = 0; b < count; ++b) {
    const float* part = parts + b * stride;
    for (int64_t i = 0; i < n; ++i) sum[i] = sum[i] + part[i];
  }
}

void few_rows(const GemmKernel& kern, const float* s, int m, int K, const float* X, int64_t ldx,
              int n, float alpha, float beta, float* c, int64_t ldc, bool transposed,
              ThreadPool* pool) {
  const int kblock = few_rows_kblock(m, n);
  const auto [tile_fn, group, width] = few_rows_tile(kern, m);
  auto store = [&](int r, int j, float sum) {
    float& out = transposed ? c[int64_t(j) * ldc + r] : c[int64_t(r) * ldc + j];
    const float v = alpha * sum;
    out = beta == 0.0f ? v : beta * out + v;
  };
  // The tiles of rows [k0, k0 + kb) and columns [j0, j0 + nc) of X into `part` (columns from
  // j0, ld n_pad), or added to what it holds.
  const int n_pad = ceil_div(n, width) * width;
  auto block = [&](float* panel, int k0, int j0, int nc, float* part, bool add) {
    const int kb = std::min(kblock, K - k0), tiles = ceil_div(nc, width);
    pack_panel(panel, X + int64_t(k0) * ldx, ldx, kb, j0, nc, width);
    for (int t = 0; t < tiles; ++t)
      for (int r = 0; r < m; r += group)
        tile_fn(std::min(group, m - r), std::min(width, nc - t * width), kb, s + int64_t(k0) * m + r, 1, m,
                panel + int64_t(t) * kb * width, width, true, part + int64_t(r) * n_pad + j0 + t * width, n_pad, 1.0f,
                add ? 1.0f : 0.0f);
  };
  const int threads = pool ? pool->size() : 1, blocks = ceil_div(K, kblock);
  if (threads > 1) {
    // Threads share out the k blocks, so each reads whole rows of X, one run per row (and the
    // columns too where there are fewer blocks than threads); every block's sums go to a partial
    // of their own, added in block order as the one-thread loop below adds them (the same bits).
    // At most kPartialFloats of partials at a time: a long K runs in rounds of blocks.
    const int chunks = blocks < threads ? ceil_div(threads, blocks) : 1;
    const int chunk_cols = ceil_div(ceil_div(n, chunks), width) * width;
    const int per_round = std::min(blocks, std::max(threads, int(kPartialFloats / (int64_t(m) * n_pad))));
    float* partials = gemm_scratch(GemmScratch::SkinnyPartial, size_t(per_round + 1) * m * n_pad);
    float* total = partials + int64_t(per_round) * m * n_pad;
    for (int b0 = 0; b0 < blocks; b0 += per_round) {
      const int nb = std::min(per_round, blocks - b0);
      parallel_rows(pool, int64_t(nb) * chunks, [&](int64_t t0, int64_t t1, int) {
        float* panel = gemm_scratch(GemmScratch::SkinnyPanel, size_t(kblock) * chunk_cols);
        for (int64_t t = t0; t < t1; ++t) {
          const int b = int(t / chunks), j0 = int(t % chunks) * chunk_cols;
          if (j0 < n)
            block(panel, (b0 + b) * kblock, j0, std::min(chunk_cols, n - j0), partials + int64_t(b) * m * n_pad, false);
        }
      });
      const bool last = b0 + nb == blocks;
      parallel_rows(pool, n, [&](int64_t j0, int64_t j1, int) {
        for (int r = 0; r < m; ++r) {
          float* sum = total + int64_t(r) * n_pad + j0;
          const float* parts = partials + int64_t(r) * n_pad + j0;
          const int64_t stride = int64_t(m) * n_pad;
          if (b0 == 0) {  // the first block starts the sum
            std::memcpy(sum, parts, sizeof(float) * (j1 - j0));
            add_in_block_order(sum, parts + stride, stride, nb - 1, j1 - j0);
          } else {
            add_in_block_order(sum, parts, stride, nb, j1 - j0);
          }
          if (last)
            for (int64_t j = j0; j < j1; ++j) store(r, int(j), sum[j - j0]);
        }
      });
    }
    return;
  }
  float* panel = gemm_scratch(GemmScratch::SkinnyPanel, size_t(kblock) * n_pad);
  float* part = gemm_scratch(GemmScratch::SkinnyPartial, size_t(m) * n_pad);
  for (int k0 = 0; k0 < K; k0 += kblock) block(panel, k0, 0, n, part, k0 > 0);
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) store(r, j, part[int64_t(r) * n_pad + j]);
}

}  // namespace

bool sgemm_skinny(const GemmKernel& kern, Trans ta, Trans tb, int M, int N, int K, float alpha,
                  const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                  ThreadPool* pool) {
  if (N <= kSkinnyCols && ta == Trans::T) {
    // Few columns with op(A) = A^T, A stored [K][M]: C^T = op(B)^T A is a product with few
    // rows, whose large operand is read along its rows.
    float* bt = gemm_scratch(GemmScratch::SkinnySmall, size_t(K) * N);
    pack_small(bt, B, ldb, tb == Trans::N, K, N, N);
    few_rows(kern, bt, N, K, A, lda, M, alpha, beta, C, ldc, true, pool);
    return true;
  }
  if (N <= kSkinnyCols) {
    // Few columns: op(B) is small; one or two vectors span a row of C.
    const int width = (N + 7) / 8 * 8;
    float* bs = gemm_scratch(GemmScratch::SkinnySmall, size_t(K) * width);
    pack_small(bs, B, ldb, tb == Trans::N, K, N, width);
    const int rows = skinny_rows(width / 8);
    // op(A) = A: its rows run along k, 8 sequential streams per tile, read in place.
    parallel_rows(pool, ceil_div(M, rows), [&](int64_t t0, int64_t t1, int) {
      for (int64_t t = t0; t < t1; ++t) {
        const int i0 = int(t) * rows;
        kern.skinny(std::min(rows, M - i0), N, K, A + int64_t(i0) * lda, lda, 1, bs, width, true,
                    C + int64_t(i0) * ldc, ldc, alpha, beta);
      }
    });
    return true;
  }
  if (M <= kSkinnyRows && tb == Trans::N) {
    // Few rows: op(A) is small (copied k-major so each step's values are adjacent); vectors run
    // along the rows of B.
    float* as = gemm_scratch(GemmScratch::SkinnySmall, size_t(K) * M);
    pack_small(as, A, lda, ta == Trans::T, K, M, M);
    few_rows(kern, as, M, K, B, ldb, N, alpha, beta, C, ldc, false, pool);
    return true;
  }
  return false;
}

bool sgemm_lora_dy_with_kernel(const GemmKernel& kern, int N, int out, int r, float alpha, const float* dy,
                               const float* B, const float* t, float* dt, float* dB, ThreadPool* pool) {
  if (!kern.lora_dy || N <= 0 || out <= 0 || r <= 0 || r > 8 || alpha == 0.0f) return false;
  // The k blocks of dB's few_rows product (C^T = t^T dy: r rows against out columns); each block's
  // partial sums go to a buffer of their own and are added in block order, as few_rows adds them.
  const int kblock = few_rows_kblock(r, out), blocks = ceil_div(N, kblock);
  thread_local std::vector<float> store;  // the caller's: B padded to 8 lanes, then the blocks' partials
  store.resize(size_t(out) * 8 * (1 + blocks));
  float* b8 = store.data();
  for (int j = 0; j < out; ++j)
    for (int c = 0; c < 8; ++c) b8[j * 8 + c] = c < r ? B[int64_t(j) * r + c] : 0.0f;
  float* partials = b8 + int64_t(out) * 8;
  constexpr int kRows = 4;  // GemmLoraDyKernel's rows per call
  parallel_rows(pool, blocks, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      const int k0 = int(b) * kblock, kb = std::min(kblock, N - k0);
      for (int i = 0; i < kb; i += kRows) {
        const int64_t n = k0 + i;
        kern.lora_dy(std::min(kRows, kb - i), out, r, dy + n * out, out, b8, t + n * r, r, alpha, dt + n * r, r,
                     partials + b * out * 8, i == 0);
      }
    }
  });
  // The blocks' partials added into the first block's in block order (the sums few_rows forms),
  // a block at a time across whole rows of 8 lanes (vectors, and no dependent chain per element
  // as summing each element over the blocks had: up to 26 blocks of 1376 x 8 per call, serial),
  // the columns of dB shared out.
  parallel_rows(pool, out, [&](int64_t j0, int64_t j1, int) {
    float* sum = partials + j0 * 8;
    add_in_block_order(sum, sum + int64_t(out) * 8, int64_t(out) * 8, blocks - 1, (j1 - j0) * 8);
    for (int64_t j = j0; j < j1; ++j)
      for (int c = 0; c < r; ++c) {
        const float v = alpha * partials[j * 8 + c];  // as few_rows writes C: alpha * sum, then added
        float& o = dB[j * r + c];
        o = o + v;
      }
  });
  return true;
}

void sgemm_lora_dy(int N, int out, int r, float alpha, const float* dy, const float* B, const float* t, float* dt,
                   float* dB, ThreadPool* pool) {
  if (sgemm_lora_dy_with_kernel(gemm_kernel_best(), N, out, r, alpha, dy, B, t, dt, dB, pool)) return;
  sgemm(Trans::N, Trans::N, N, r, out, alpha, dy, out, B, r, 0.0f, dt, r, pool);
  sgemm(Trans::T, Trans::N, out, r, N, alpha, dy, out, t, r, 1.0f, dB, r, pool);
}

}  // namespace tuner
