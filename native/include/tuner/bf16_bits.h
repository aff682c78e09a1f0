// The fp32 -> bf16 rounding as one bit formula (round to nearest even; a NaN stays a quiet NaN,
// as torch converts), shared by the CPU's f32_to_bf16 (tuner/dtype.h) and the CUDA conversion
// kernel (src/cuda/device_ops_kernels.cu), so the CPU tests of f32_to_bf16 cover the bits the GPU
// writes. TUNER_HD is tuner/ops.h's marker (__host__ __device__ under nvcc), defined the same way
// here so that dtype.h need not pull in ops.h.
#pragma once
#include <cstdint>

#ifndef TUNER_HD
#if defined(__CUDACC__)
#define TUNER_HD __host__ __device__ inline
#else
#define TUNER_HD inline
#endif
#endif

namespace tuner {

// bf16 bits of the fp32 whose bits are u.
TUNER_HD uint16_t bf16_round_bits(uint32_t u) {
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace tuner
