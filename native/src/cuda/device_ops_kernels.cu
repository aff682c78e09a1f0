// Kernels of device_ops_kernels.cuh: grid-stride element-wise loops (grid_stride.cuh) and two
// fixed-order two-pass reductions (bias gradient, sums of squares).
#include "cuda/cuda_check.cuh"
#include "cuda/device_ops_kernels.cuh"
#include "cuda/device_ops_layout.h"
#include "cuda/grid_stride.cuh"
#include "tuner/bf16_bits.h"
#include "tuner/ops.h"

namespace tuner::cuda {

using namespace ops_layout;

namespace {

__global__ void to_bf16_kernel(uint16_t* out, const float* in, int64_t n) {
  TUNER_GRID_STRIDE(i, n) out[i] = bf16_round_bits(__float_as_uint(in[i]));
}

__global__ void to_f32_kernel(float* out, const uint16_t* in, int64_t n) {
  TUNER_GRID_STRIDE(i, n) out[i] = __uint_as_float(static_cast<uint32_t>(in[i]) << 16);
}

__global__ void add_kernel(float* out, const float* a, const float* b, int64_t n) {
  TUNER_GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

__global__ void axpy_kernel(float* y, float alpha, const float* x, int64_t n) {
  TUNER_GRID_STRIDE(i, n) y[i] += alpha * x[i];
}

__global__ void scale_kernel(float* x, float alpha, int64_t n) {
  TUNER_GRID_STRIDE(i, n) x[i] *= alpha;
}

__global__ void bias_forward_kernel(float* y, const float* bias, int64_t total, int C) {
  TUNER_GRID_STRIDE(i, total) y[i] += bias[i % C];
}

// Block (x: 256 columns, y: one chunk of rows, device_ops_layout.h): each thread sums its column
// over the chunk's rows in order.
__global__ void bias_partial_kernel(float* partial, const float* dy, int N, int C, int chunk_rows) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int chunk = static_cast<int>(blockIdx.y);
  const int64_t end = bias_chunk_end(chunk, chunk_rows, N);
  float acc = 0.0f;
  for (int64_t n = bias_chunk_begin(chunk, chunk_rows); n < end; ++n) acc += dy[n * C + c];
  partial[static_cast<int64_t>(blockIdx.y) * C + c] = acc;
}

// One thread per column: the chunks' sums in order, added once to dbias.
__global__ void bias_finish_kernel(float* dbias, const float* partial, int chunks, int C) {
  TUNER_GRID_STRIDE(c, C) {
    float acc = 0.0f;
    for (int k = 0; k < chunks; ++k) acc += partial[static_cast<int64_t>(k) * C + c];
    dbias[c] += acc;
  }
}

__global__ void embedding_forward_kernel(float* out, const float* table, const uint32_t* tokens, int64_t total, int C,
                                         float scale) {
  TUNER_GRID_STRIDE(i, total) {
    const int64_t n = i / C, c = i % C;
    out[i] = table[static_cast<int64_t>(tokens[n]) * C + c] * scale;
  }
}

// Block (u, y): token group u (ops_layout::group_positions_by_token), columns y * blockDim.x + t.
// The row is added to in position order with separately rounded products and sums (no FMA), the
// additions host_ops makes, so the gradient is the same bits on every run.
__global__ void embedding_backward_kernel(float* dtable, const float* dout, const int32_t* groups, int distinct, int C,
                                          float scale) {
  const int u = blockIdx.x;
  const int64_t c = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int32_t* offsets = groups + distinct;
  const int32_t* positions = offsets + distinct + 1;
  float* row = dtable + static_cast<int64_t>(groups[u]) * C;
  float acc = row[c];
  for (int32_t k = offsets[u]; k < offsets[u + 1]; ++k)
    acc = __fadd_rn(acc, __fmul_rn(dout[static_cast<int64_t>(positions[k]) * C + c], scale));
  row[c] = acc;
}

__global__ void dropout_kernel(float* out, const float* x, int64_t n, float p, float keep_scale, uint64_t seed,
                               uint64_t stream_id, uint64_t first, bool accumulate) {
  TUNER_GRID_STRIDE(i, n) {
    const bool keep = dropout_keep(seed, stream_id, first + static_cast<uint64_t>(i), p);
    if (accumulate) {
      if (keep) out[i] += x[i] * keep_scale;
    } else {
      out[i] = keep ? x[i] * keep_scale : 0.0f;
    }
  }
}

// The sum of the kSumThreads threads' v, added in a fixed tree (the same order on every run);
// thread 0 gets it.
__device__ double block_sum_fixed(double v, double* sums) {
  sums[threadIdx.x] = v;
  __syncthreads();
  for (int half = kSumThreads / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) sums[threadIdx.x] += sums[threadIdx.x + half];
    __syncthreads();
  }
  return sums[0];
}

// Block b: each thread sums x[i]^2 in double over i = b * 256 + t + k * gridDim.x * 256 in
// order, then the block's 256 sums in the fixed tree; partial[b] = the block's sum.
__global__ void sum_squares_partial_kernel(double* partial, const float* x, int64_t n) {
  __shared__ double sums[kSumThreads];
  double acc = 0.0;
  TUNER_GRID_STRIDE(i, n) {
    const double v = x[i];
    acc += v * v;
  }
  const double total = block_sum_fixed(acc, sums);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// One block per array: its kSumSquaresBlocks partial sums (zeros past its block count), thread t
// adding t, t + 256, ... in order, then the fixed tree.
__global__ void sum_squares_finish_kernel(double* out, const double* partial) {
  __shared__ double sums[kSumThreads];
  const double* p = partial + static_cast<int64_t>(blockIdx.x) * kSumSquaresBlocks;
  double acc = 0.0;
  for (int b = threadIdx.x; b < kSumSquaresBlocks; b += kSumThreads) acc += p[b];
  const double total = block_sum_fixed(acc, sums);
  if (threadIdx.x == 0) out[blockIdx.x] = total;
}

// One thread per element over n (grid-stride), nothing for n <= 0.
template <typename... Params, typename... Args>
void launch_elements(void (*kernel)(Params...), int64_t n, cudaStream_t stream, Args... args) {
  launch_elements(kernel, n, stream, args...);
}

}  // namespace

void convert_to_bf16(uint16_t* out, const float* in, int64_t n, cudaStream_t stream) {
  launch_elements(to_bf16_kernel, n, stream, out, in, n);
}

void convert_to_f32(float* out, const uint16_t* in, int64_t n, cudaStream_t stream) {
  launch_elements(to_f32_kernel, n, stream, out, in, n);
}

void add_f32(float* out, const float* a, const float* b, int64_t n, cudaStream_t stream) {
  launch_elements(add_kernel, n, stream, out, a, b, n);
}

void axpy_f32(float* y, float alpha, const float* x, int64_t n, cudaStream_t stream) {
  launch_elements(axpy_kernel, n, stream, y, alpha, x, n);
}

void scale_f32(float* x, float alpha, int64_t n, cudaStream_t stream) {
  launch_elements(scale_kernel, n, stream, x, alpha, n);
}

void bias_forward(float* y, const float* bias, int N, int C, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(N) * C;
  launch_elements(bias_forward_kernel, total, stream, y, bias, total, C);
}

size_t bias_backward_workspace_bytes(int N, int C) {
  if (N <= 0 || C <= 0) return 0;
  return static_cast<size_t>(bias_chunks(N)) * C * sizeof(float);
}

void bias_backward(float* dbias, const float* dy, int N, int C, void* workspace, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const int rows = bias_chunk_rows(N), chunks = bias_chunks(N);
  float* partial = static_cast<float*>(workspace);
  const dim3 grid((C + kElementThreads - 1) / kElementThreads, chunks);
  bias_partial_kernel<<<grid, kElementThreads, 0, stream>>>(partial, dy, N, C, rows);
  TUNER_CUDA_CHECK_LAUNCH();
  bias_finish_kernel<<<element_blocks(C), kElementThreads, 0, stream>>>(dbias, partial, chunks, C);
  TUNER_CUDA_CHECK_LAUNCH();
}

void embedding_forward(float* out, const float* table, const uint32_t* tokens, int N, int C, float scale,
                       cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(N) * C;
  launch_elements(embedding_forward_kernel, total, stream, out, table, tokens, total, C, scale);
}

void embedding_backward(float* dtable, const float* dout, const int32_t* groups, int distinct, int C, float scale,
                        cudaStream_t stream) {
  if (distinct <= 0 || C <= 0) return;
  const dim3 grid(distinct, (C + kElementThreads - 1) / kElementThreads);
  embedding_backward_kernel<<<grid, kElementThreads, 0, stream>>>(dtable, dout, groups, distinct, C, scale);
  TUNER_CUDA_CHECK_LAUNCH();
}

void dropout(float* out, const float* x, int64_t n, float p, float keep_scale, uint64_t seed, uint64_t stream_id,
             uint64_t first, bool accumulate, cudaStream_t stream) {
  launch_elements(dropout_kernel, n, stream, out, x, n, p, keep_scale, seed, stream_id, first, accumulate);
}

size_t sum_squares_workspace_bytes(int count) {
  return count > 0 ? static_cast<size_t>(count) * kSumSquaresBlocks * sizeof(double) : 0;
}

void sum_squares(double* out, const float* const* xs, const int64_t* ns, int count, void* workspace,
                 cudaStream_t stream) {
  if (count <= 0) return;
  double* partial = static_cast<double*>(workspace);
  TUNER_CUDA_CHECK(cudaMemsetAsync(partial, 0, sum_squares_workspace_bytes(count), stream));
  for (int j = 0; j < count; ++j) {
    if (ns[j] <= 0) continue;
    sum_squares_partial_kernel<<<sum_squares_blocks(ns[j]), kSumThreads, 0, stream>>>(
        partial + static_cast<int64_t>(j) * kSumSquaresBlocks, xs[j], ns[j]);
    TUNER_CUDA_CHECK_LAUNCH();
  }
  sum_squares_finish_kernel<<<count, kSumThreads, 0, stream>>>(out, partial);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace tuner::cuda
