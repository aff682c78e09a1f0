// The fixed orders of cuda_ops' reductions (src/cuda/device_ops_layout.h), checked on the CPU
// without a GPU, for row counts from 1 to the largest int: the bias gradient's chunks cover rows
// 0 .. N-1 once, in order, none empty, and there are never more than CUDA's 65535 of them
// (gridDim.y); the sums of squares use 1 to 1024 blocks, more only as the array grows. Both depend
// on the sizes alone, which the GPU test (test/cuda/test_cuda_ops.cu) relies on for its
// same-bits-on-a-second-run checks. And the embedding gradient's grouping of positions by token.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "check_macros.h"
#include "cuda/device_ops_layout.h"

using namespace tuner::cuda::ops_layout;

namespace {

// Chunks of N rows: contiguous from 0 to N, none empty, within the grid limit.
void check_bias_chunks(int N) {
  const int rows = bias_chunk_rows(N), chunks = bias_chunks(N);
  EXPECT(rows >= kBiasMinChunkRows);
  EXPECT(chunks >= 1 && chunks <= kMaxGridY);
  EXPECT(bias_chunk_begin(0, rows) == 0);
  EXPECT(bias_chunk_end(chunks - 1, rows, N) == N);
  // Every boundary when there are few chunks; otherwise the first and last 1000.
  for (int c = 0; c < chunks; ++c) {
    if (chunks > 2000 && c == 1000) c = chunks - 1000;
    const int64_t begin = bias_chunk_begin(c, rows), end = bias_chunk_end(c, rows, N);
    if (!(begin < end)) {
      std::fprintf(stderr, "N %d: chunk %d of %d is empty [%lld, %lld)\n", N, c, chunks, (long long)begin, (long long)end);
      ++g_failures;
      return;
    }
    if (c + 1 < chunks && end != bias_chunk_begin(c + 1, rows)) {
      std::fprintf(stderr, "N %d: chunk %d ends at %lld, chunk %d begins at %lld\n", N, c, (long long)end, c + 1,
                   (long long)bias_chunk_begin(c + 1, rows));
      ++g_failures;
      return;
    }
  }
}

// The embedding gradient's groups: every position once, each group one token in position order,
// and the kernel's per-column sums replayed here give host_ops' bits (row[c] += d * scale in
// position order).
void check_token_groups() {
  const int N = 1000, V = 37, C = 5;
  std::vector<uint32_t> tokens(N);
  for (int i = 0; i < N; ++i) tokens[i] = (uint32_t)((i * 7919u + (uint32_t)i / 11u) % V);
  const TokenGroups g = group_positions_by_token(tokens.data(), N);
  const int32_t* ids = g.packed.data();
  const int32_t* offsets = ids + g.distinct;
  const int32_t* positions = offsets + g.distinct + 1;
  EXPECT(g.distinct == V && g.packed.size() == (size_t)(2 * g.distinct + 1 + N));
  EXPECT(offsets[0] == 0 && offsets[g.distinct] == N);
  std::vector<int> seen(N, 0);
  for (int u = 0; u < g.distinct; ++u) {
    EXPECT(u == 0 || ids[u] > ids[u - 1]);
    for (int k = offsets[u]; k < offsets[u + 1]; ++k) {
      seen[positions[k]]++;
      EXPECT((int32_t)tokens[positions[k]] == ids[u]);
      EXPECT(k == offsets[u] || positions[k] > positions[k - 1]);
    }
  }
  EXPECT(std::count(seen.begin(), seen.end(), 1) == N);
  std::vector<float> dout((size_t)N * C), host((size_t)V * C, 0.25f), grouped = host;
  for (size_t i = 0; i < dout.size(); ++i) dout[i] = std::sin(0.37f * (float)i) * 1e-3f * (float)(i % 97);
  const float scale = 1.0f / 3.0f;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) host[(size_t)tokens[n] * C + c] += dout[(size_t)n * C + c] * scale;
  for (int u = 0; u < g.distinct; ++u)
    for (int c = 0; c < C; ++c) {
      float acc = grouped[(size_t)ids[u] * C + c];
      for (int k = offsets[u]; k < offsets[u + 1]; ++k) acc += dout[(size_t)positions[k] * C + c] * scale;
      grouped[(size_t)ids[u] * C + c] = acc;
    }
  EXPECT(std::memcmp(host.data(), grouped.data(), host.size() * sizeof(float)) == 0);
  EXPECT(group_positions_by_token(tokens.data(), 0).distinct == 0);
}

}  // namespace

int main() {
  check_token_groups();
  for (const int N : {1, 2, 63, 64, 65, 127, 128, 1000, 16384, 65535, kMaxGridY * 64 - 1, kMaxGridY * 64,
                      kMaxGridY * 64 + 1, 100000007, INT_MAX - 1, INT_MAX})
    check_bias_chunks(N);
  EXPECT(bias_chunk_rows(16384) == 64 && bias_chunks(16384) == 256);
  EXPECT(bias_chunks(kMaxGridY * 64) == kMaxGridY);
  EXPECT(bias_chunk_rows(kMaxGridY * 64 + 1) == 65);

  EXPECT(sum_squares_blocks(0) == 1);
  EXPECT(sum_squares_blocks(1) == 1);
  EXPECT(sum_squares_blocks(kSumElementsPerBlock) == 1);
  EXPECT(sum_squares_blocks(kSumElementsPerBlock + 1) == 2);
  EXPECT(sum_squares_blocks(kSumElementsPerBlock * kSumSquaresBlocks) == kSumSquaresBlocks);
  EXPECT(sum_squares_blocks(INT64_MAX / 2) == kSumSquaresBlocks);
  int previous = 1;
  for (int64_t n = 1; n < (int64_t(1) << 40); n = n * 3 + 1) {
    const int b = sum_squares_blocks(n);
    EXPECT(b >= previous && b <= kSumSquaresBlocks);
    previous = b;
  }
  std::printf("test_cuda_ops_layout: %s\n", g_failures ? "FAILED" : "all checks passed");
  return g_failures ? 1 : 0;
}
