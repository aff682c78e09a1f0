// Decoding of the engine's quantized weight formats (tuner/quant.h) as the CUDA kernels do it
// (gemm_quant_kernel.cuh: the GEMM's tile loader and the decode GEMV), in plain functions that
// also compile as C++, so that test/test_cuda_gemm_layout.cpp replays the loader on the CPU
// against the CPU's dequantize_matrix.
//
// Packed bytes arrive as little-endian 32-bit words, as a vector load puts them in registers.
// Every product and sum is rounded as written (on the GPU __fmul_rn / __fadd_rn, which the
// compiler may not contract into an FMA), exactly as the CPU decoders compute them.
#pragma once
#include <cstdint>

#include "cuda/gemm_layout.h"
#include "tuner/quant.h"

namespace tuner::cuda::quant_decode {

TUNER_GEMM_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
TUNER_GEMM_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// Byte j of a run of little-endian words.
TUNER_GEMM_HD uint32_t byte_of(const uint32_t* words, int j) { return (words[j >> 2] >> (8 * (j & 3))) & 0xFFu; }

// nf4 absmax of a 64-weight block from its double-quantized code: map[code] * scale + offset.
TUNER_GEMM_HD float nf4_absmax(float map_value, float scale, float offset) { return add_rn(mul_rn(map_value, scale), offset); }

// nf4: 8 bytes = 16 weights; byte j holds weight 2j in its high nibble and 2j + 1 in its low one.
TUNER_GEMM_HD void decode16_nf4(const uint32_t* q, const float* nf4_values, float absmax, float* v) {
  for (int j = 0; j < 8; ++j) {
    const uint32_t byte = byte_of(q, j);
    v[2 * j] = mul_rn(nf4_values[byte >> 4], absmax);
    v[2 * j + 1] = mul_rn(nf4_values[byte & 0x0F], absmax);
  }
}

// q4_0: the 16 bytes of a block; weight j (< 16) is the low nibble of byte j and weight j + 16 the
// high nibble: `high` picks which 16 weights, x = (q - 8) * d.
TUNER_GEMM_HD void decode16_q4_0(const uint32_t* q, bool high, float d, float* v) {
  for (int j = 0; j < 16; ++j) {
    const int nib = (int)((byte_of(q, j) >> (high ? 4 : 0)) & 0x0F);
    v[j] = mul_rn((float)(nib - 8), d);
  }
}

// int8 and q8_0: 16 signed bytes, x = q * scale.
TUNER_GEMM_HD void decode16_int8(const uint32_t* q, float scale, float* v) {
  for (int j = 0; j < 16; ++j) v[j] = mul_rn((float)(int8_t)byte_of(q, j), scale);
}

// The GEMM's quantized tile loader: for k tile kt (32 weights of a row) the thread decoding
// weights 16 * half .. 16 * half + 15 reads these bytes of the row (8 for nf4, 16 otherwise) ...
TUNER_GEMM_HD int tile_bytes_offset(QuantType t, int kt, int half) {
  switch (t) {
    case QuantType::NF4: return kt * 16 + half * 8;
    case QuantType::INT8: return kt * 32 + half * 16;
    case QuantType::Q8_0: return kt * (int)sizeof(BlockQ8_0) + 2 + 16 * half;
    default: return kt * (int)sizeof(BlockQ4_0) + 2;  // q4_0: both halves read the block's 16 bytes
  }
}
// ... and, for q8_0 / q4_0, the block's fp16 scale here.
TUNER_GEMM_HD int tile_scale_offset(QuantType t, int kt) {
  return kt * (t == QuantType::Q8_0 ? (int)sizeof(BlockQ8_0) : (int)sizeof(BlockQ4_0));
}

}  // namespace tuner::cuda::quant_decode
