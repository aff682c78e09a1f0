// Column reductions over N rows (norm weight and bias gradients) split into blocks of 64
// columns, one block per task: each column sums its rows in order, so the result does not
// depend on the thread count.
#pragma once
#include <algorithm>
#include <cstdint>

#include "tuner/threadpool.h"

namespace tuner {

constexpr int kColumnBlock = 64;

// dst[c0 + j] += acc[j] for every block, where block(acc, c0, width) fills acc[0, width) (zeroed
// before) with the block's sums over the rows.
template <class Block>
void add_column_blocks(float* dst, int C, ThreadPool* pool, Block&& block) {
  parallel_rows(pool, (C + kColumnBlock - 1) / kColumnBlock, [&](int64_t b, int64_t e, int) {
    for (int64_t blk = b; blk < e; blk++) {
      const int c0 = (int)blk * kColumnBlock, width = std::min(C - c0, kColumnBlock);
      float acc[kColumnBlock] = {0};
      block(acc, c0, width);
      for (int j = 0; j < width; j++) dst[c0 + j] += acc[j];
    }
  });
}

}  // namespace tuner
