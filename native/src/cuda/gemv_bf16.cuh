// Decode's product with bf16 weights: y[M, rows] (=|+=) x[M, cols] @ W^T for 1 <= M <= 8 rows of
// fp32 activations and a bf16 weight matrix [rows, cols], reading W once (the tensor-core GEMM
// would spend a 64-row tile on one token). A warp per output row: its lanes stream the row in
// 16-byte pieces (8 weights) when cols % 8 == 0 and W is 16-byte aligned, one element at a time
// otherwise, and the warp sums its lanes' fp32 partials.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace tuner::cuda {

constexpr int kGemvBf16MaxRows = 8;
void gemv_bf16(float* y, const float* x, const uint16_t* W, int rows, int cols, int M, bool accumulate,
               cudaStream_t stream);

}  // namespace tuner::cuda
