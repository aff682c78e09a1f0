// The fixed orders of cuda_ops' two reductions (device_ops_kernels.cu) as host-device functions:
// how the bias gradient cuts the rows into chunks and how many blocks sum an array of squares; and,
// on the host, the grouping of a batch's positions by token that makes the embedding gradient a
// fixed-order sum.
// Both depend on the sizes alone (never on the GPU), which is what makes the results the same bits
// on every run and every GPU; test_cuda_ops_layout.cpp checks on the CPU that the chunks cover
// every row once and that both stay within CUDA's grid limits for every size an int allows.
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tuner/ops.h"  // TUNER_HD

namespace tuner::cuda::ops_layout {

constexpr int kMaxGridY = 65535;        // CUDA's limit on gridDim.y
constexpr int kBiasMinChunkRows = 64;

// Rows per chunk of the bias gradient: 64, more when N rows would need over kMaxGridY chunks.
TUNER_HD int bias_chunk_rows(int N) {
  const int min_rows = static_cast<int>((static_cast<int64_t>(N) + kMaxGridY - 1) / kMaxGridY);
  return min_rows > kBiasMinChunkRows ? min_rows : kBiasMinChunkRows;
}
TUNER_HD int bias_chunks(int N) {
  const int rows = bias_chunk_rows(N);
  return static_cast<int>((static_cast<int64_t>(N) + rows - 1) / rows);
}
// Chunk c holds rows [begin, end).
TUNER_HD int64_t bias_chunk_begin(int c, int rows) { return static_cast<int64_t>(c) * rows; }
TUNER_HD int64_t bias_chunk_end(int c, int rows, int N) {
  const int64_t end = static_cast<int64_t>(c + 1) * rows;
  return end < N ? end : N;
}

// Most blocks one array is summed by: 1024 blocks of 256 threads fill an H100's 132 SMs (2048
// resident threads each), so a large gradient streams at a good share of the memory bandwidth.
constexpr int kSumSquaresBlocks = 1024;
constexpr int kSumThreads = 256;                // threads a block
constexpr int64_t kSumElementsPerBlock = 2048;  // fewer blocks for small arrays

// How many blocks sum an array of n elements (1 to kSumSquaresBlocks).
TUNER_HD int sum_squares_blocks(int64_t n) {
  const int64_t b = (n + kSumElementsPerBlock - 1) / kSumElementsPerBlock;
  return static_cast<int>(b < 1 ? 1 : b > kSumSquaresBlocks ? kSumSquaresBlocks : b);
}

// The embedding gradient's order: a batch's positions grouped by token id, each group in position
// order, as one int32 array [U distinct tokens | U + 1 offsets into the positions | N positions].
// The kernel gives each token's row to one thread per column, which adds its positions' rows in
// that order: the sequence of additions host_ops (and the CPU engine) makes, with no atomics.
struct TokenGroups {
  int distinct = 0;
  std::vector<int32_t> packed;
};
inline TokenGroups group_positions_by_token(const uint32_t* tokens, int N) {
  std::vector<int32_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [tokens](int32_t a, int32_t b) { return tokens[a] < tokens[b]; });
  TokenGroups g;
  std::vector<int32_t> ids, offsets;
  for (int i = 0; i < N; ++i)
    if (i == 0 || tokens[order[i]] != tokens[order[i - 1]]) {
      ids.push_back(static_cast<int32_t>(tokens[order[i]]));
      offsets.push_back(i);
    }
  offsets.push_back(N);
  g.distinct = static_cast<int>(ids.size());
  g.packed.reserve(ids.size() + offsets.size() + order.size());
  g.packed.insert(g.packed.end(), ids.begin(), ids.end());
  g.packed.insert(g.packed.end(), offsets.begin(), offsets.end());
  g.packed.insert(g.packed.end(), order.begin(), order.end());
  return g;
}

}  // namespace tuner::cuda::ops_layout
