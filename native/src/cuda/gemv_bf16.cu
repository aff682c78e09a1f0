// gemv_bf16 (gemv_bf16.cuh): a warp per weight row, 8 warps a block.
#include <cuda_bf16.h>

#include <string>

#include "cuda/cuda_check.cuh"
#include "cuda/gemv_bf16.cuh"

namespace tuner::cuda {

namespace {

constexpr int kWarps = 8;

__device__ inline float bf16_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ inline float bf16_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

template <int kM, bool kVector>
__global__ void __launch_bounds__(kWarps * 32)
    gemv_bf16_kernel(float* __restrict__ y, const float* __restrict__ x, const uint16_t* __restrict__ W, int rows, int cols,
                     bool accumulate) {
  const int lane = threadIdx.x & 31, r = blockIdx.x * kWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  const uint16_t* w = W + (int64_t)r * cols;
  float acc[kM];
#pragma unroll
  for (int m = 0; m < kM; m++) acc[m] = 0.0f;
  if (kVector) {
#pragma unroll 4  // several 16-byte loads in flight per lane: decode is bound by memory latency and bandwidth
    for (int c = lane * 8; c < cols; c += 32 * 8) {
      const uint4 raw = __ldg(reinterpret_cast<const uint4*>(w + c));
      const float wf[8] = {bf16_lo(raw.x), bf16_hi(raw.x), bf16_lo(raw.y), bf16_hi(raw.y),
                           bf16_lo(raw.z), bf16_hi(raw.z), bf16_lo(raw.w), bf16_hi(raw.w)};
#pragma unroll
      for (int m = 0; m < kM; m++) {
        const float4 a = __ldg(reinterpret_cast<const float4*>(x + (int64_t)m * cols + c));
        const float4 b = __ldg(reinterpret_cast<const float4*>(x + (int64_t)m * cols + c + 4));
        acc[m] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3] + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
      }
    }
  } else {
    for (int c = lane; c < cols; c += 32) {
      const float wc = __uint_as_float((uint32_t)w[c] << 16);
#pragma unroll
      for (int m = 0; m < kM; m++) acc[m] += x[(int64_t)m * cols + c] * wc;
    }
  }
#pragma unroll
  for (int m = 0; m < kM; m++) {
    float v = acc[m];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    if (lane == 0) {
      float& out = y[(int64_t)m * rows + r];
      out = accumulate ? out + v : v;
    }
  }
}

template <int kM>
void launch(float* y, const float* x, const uint16_t* W, int rows, int cols, bool accumulate, bool vector, cudaStream_t s) {
  const int blocks = (rows + kWarps - 1) / kWarps;
  if (vector) gemv_bf16_kernel<kM, true><<<blocks, kWarps * 32, 0, s>>>(y, x, W, rows, cols, accumulate);
  else gemv_bf16_kernel<kM, false><<<blocks, kWarps * 32, 0, s>>>(y, x, W, rows, cols, accumulate);
  TUNER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void gemv_bf16(float* y, const float* x, const uint16_t* W, int rows, int cols, int M, bool accumulate,
               cudaStream_t stream) {
  if (M < 1 || M > kGemvBf16MaxRows || rows < 0 || cols < 0)
    throw TunerError("bad_gemm_shape", "CUDA gemv_bf16 takes 1 to " + std::to_string(kGemvBf16MaxRows) +
                                           " rows of a non-negative shape, got M " + std::to_string(M) + ", W [" +
                                           std::to_string(rows) + ", " + std::to_string(cols) + "]");
  if (rows == 0) return;
  // 16-byte pieces of W and of x's rows need cols % 8 == 0 and aligned bases.
  const bool vector = cols % 8 == 0 && reinterpret_cast<uintptr_t>(W) % 16 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
  switch (M) {
    case 1: return launch<1>(y, x, W, rows, cols, accumulate, vector, stream);
    case 2: return launch<2>(y, x, W, rows, cols, accumulate, vector, stream);
    case 3: return launch<3>(y, x, W, rows, cols, accumulate, vector, stream);
    case 4: return launch<4>(y, x, W, rows, cols, accumulate, vector, stream);
    case 5: return launch<5>(y, x, W, rows, cols, accumulate, vector, stream);
    case 6: return launch<6>(y, x, W, rows, cols, accumulate, vector, stream);
    case 7: return launch<7>(y, x, W, rows, cols, accumulate, vector, stream);
    default: return launch<8>(y, x, W, rows, cols, accumulate, vector, stream);
  }
}

}  // namespace tuner::cuda
