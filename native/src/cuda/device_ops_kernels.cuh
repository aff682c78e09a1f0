// The CUDA kernels that cuda_ops (cuda_ops.cu) adds to those of elementwise.cuh, optim.cuh,
// gemm.cuh and attention.cuh to run a whole training step: bf16 conversions, fp32 vector
// arithmetic, bias, embedding, LoRA dropout and the gradient norm's sums of squares. Each is the
// device_ops.h op of the same name; pointers are device memory, work is queued on `stream`.
//
// Determinism: every result is the same bits from run to run (the embedding gradient sums each
// token's rows in position order, from groups the host makes; no atomics).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda/device_ops_layout.h"

namespace tuner::cuda {

// bf16 bits (tuner/bf16_bits.h: round to nearest even, the CPU's f32_to_bf16) and back.
void convert_to_bf16(uint16_t* out, const float* in, int64_t n, cudaStream_t stream);
void convert_to_f32(float* out, const uint16_t* in, int64_t n, cudaStream_t stream);

// out = a + b (out may be a or b); y += alpha x; x *= alpha.
void add_f32(float* out, const float* a, const float* b, int64_t n, cudaStream_t stream);
void axpy_f32(float* y, float alpha, const float* x, int64_t n, cudaStream_t stream);
void scale_f32(float* x, float alpha, int64_t n, cudaStream_t stream);

// y[n, c] += bias[c] over N rows of C.
void bias_forward(float* y, const float* bias, int N, int C, cudaStream_t stream);
// dbias[c] += the sum over rows of dy[n, c], in a fixed order: the rows in chunks
// (device_ops_layout.h; each chunk's rows in order, one thread per column and chunk), then the
// chunks' partial sums in order.
// `workspace` holds bias_backward_workspace_bytes(N, C).
size_t bias_backward_workspace_bytes(int N, int C);
void bias_backward(float* dbias, const float* dy, int N, int C, void* workspace, cudaStream_t stream);

// out[n, :] = table[tokens[n], :] * scale; dtable[tokens[n], :] += dout[n, :] * scale over the
// positions of each of `distinct` token groups (device memory laid out by
// ops_layout::group_positions_by_token), in position order.
void embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale,
                       cudaStream_t stream);
void embedding_backward(float* dtable, const float* dout, const int32_t* groups, int distinct, int C, float scale,
                        cudaStream_t stream);

// LoRA dropout, element for element the CPU's (LlamaModel::lora_input / lora backward):
// out[i] = keep ? x[i] * keep_scale : 0, or out[i] += x[i] * keep_scale where kept when
// accumulate, keep = dropout_keep(seed, stream_id, first + i, p), keep_scale = 1 / (1 - p).
void dropout(float* out, const float* x, int64_t n, float p, float keep_scale, uint64_t seed, uint64_t stream_id,
             uint64_t first, bool accumulate, cudaStream_t stream);

// out[i] (device, `count` doubles) = sum of xs[i][j]^2 in double. xs and ns are host arrays (of
// device pointers and sizes). Each array is cut into at most kSumSquaresBlocks blocks of a fixed
// layout that depends only on its size (device_ops_layout.h, never on the GPU), each block's sum
// reduced in a fixed tree, then the blocks' sums added in order: the same bits on every run and
// every GPU. `workspace` holds sum_squares_workspace_bytes(count).
using ops_layout::kSumSquaresBlocks;
size_t sum_squares_workspace_bytes(int count);
void sum_squares(double* out, const float* const* xs, const int64_t* ns, int count, void* workspace,
                 cudaStream_t stream);

}  // namespace tuner::cuda
