// Device side of the dequantizing products (gemm_quant.cu): the formats' decoders, which compute
// exactly what the CPU decoders (src/quant/qgemm_kernels_generic.cpp) compute -- every product
// and sum rounded as written (__fmul_rn / __fadd_rn: no contraction into FMA) -- the loader that
// decodes a quantized B tile into shared memory for the tensor-core GEMM, and the decode GEMV.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/gemm_kernel.cuh"
#include "cuda/gemm_quant_decode.h"
#include "tuner/quant.h"

namespace tuner::cuda::gemm_detail {

namespace QD = quant_decode;

constexpr int kNF4MapSize = 256;                    // the absmax map, then
constexpr int kCodebookFloats = kNF4MapSize + 16;   // the 16 NF4 values

// Plain device pointers into a DeviceQuantMatrix.
struct QuantView {
  int rows, cols;
  size_t row_bytes;
  const uint8_t* data;
  const float* row_scale;     // int8
  const uint8_t* absmax_q;    // nf4
  const float* absmax_scale;  // nf4
  float absmax_offset;        // nf4
  const float* codebooks;     // nf4: kCodebookFloats (global memory)
};

__device__ __forceinline__ float f16_bits_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) { return __ldg(reinterpret_cast<const unsigned short*>(p)); }

// NF4 absmax of block b (flat index): map[code] * scale + offset, in the CPU's order of rounding.
__device__ __forceinline__ float nf4_absmax(const QuantView& w, const float* map, int64_t b) {
  return QD::nf4_absmax(map[__ldg(w.absmax_q + b)], __ldg(w.absmax_scale + b / kNF4ScaleBlock), w.absmax_offset);
}

// w[r, k] for any format and position (the element-wise decoder of dequantize_bf16 and of the
// GEMV's path for widths that are not a multiple of 32).
template <QuantType F>
__device__ __forceinline__ float decode_one(const QuantView& w, const float* codebooks, int r, int k) {
  const uint8_t* row = w.data + (size_t)r * w.row_bytes;
  if constexpr (F == QuantType::F32) {
    return __ldg(reinterpret_cast<const float*>(row) + k);
  } else if constexpr (F == QuantType::F16) {
    return f16_bits_to_f32(load_u16(row + 2 * (size_t)k));
  } else if constexpr (F == QuantType::Q8_0) {
    const uint8_t* blk = row + (size_t)(k / kQK8_0) * sizeof(BlockQ8_0);
    return QD::mul_rn((float)(int8_t)__ldg(blk + 2 + k % kQK8_0), f16_bits_to_f32(load_u16(blk)));
  } else if constexpr (F == QuantType::Q4_0) {
    const uint8_t* blk = row + (size_t)(k / kQK4_0) * sizeof(BlockQ4_0);
    const int j = k % kQK4_0;
    const uint8_t byte = __ldg(blk + 2 + (j & 15));
    const int q = j < 16 ? (byte & 0x0F) : (byte >> 4);
    return QD::mul_rn((float)(q - 8), f16_bits_to_f32(load_u16(blk)));
  } else if constexpr (F == QuantType::INT8) {
    return QD::mul_rn((float)(int8_t)__ldg(row + k), __ldg(w.row_scale + r));
  } else {
    const uint8_t byte = __ldg(row + k / 2);
    const int code = (k & 1) ? (byte & 0x0F) : (byte >> 4);  // the first of a pair in the high nibble
    const float a = nf4_absmax(w, codebooks, ((int64_t)r * w.cols + k) / kQKNF4);
    return QD::mul_rn(codebooks[kNF4MapSize + code], a);
  }
}

// ---- Quantized B tile for the tensor-core GEMM -----------------------------------------------
// Y = X W^T: B = W stored [N = rows][K = cols], a k-major operand. Two threads per weight row
// (gemm_layout's quant_decode_coord), 16 weights each: load() fetches the packed bytes of k tile
// kt into registers before the current tile's products; finish() decodes them to bf16 and stores
// them into the stage after the products, so the global loads' latency hides behind the mma.
// Needs cols % 32 == 0 (every k tile whole, each thread's bytes aligned for its vector load).
template <int THREADS, int ROWS, QuantType F>
struct QuantLoader {
  static_assert(THREADS == 2 * ROWS, "two decoding threads per weight row");
  QuantView w;
  int n0;
  const float* tables;  // shared-memory copy of the codebooks (nf4)
  uint32_t q[4];        // packed bytes of this thread's 16 weights
  float scale;          // their scale (int8, q8_0, q4_0) or block absmax (nf4)
  bool valid;

  __device__ __forceinline__ void load(uint16_t*, int kt) {
    const L::TileCoord c = L::quant_decode_coord(threadIdx.x);
    const int n = n0 + c.row, half = c.chunk / 2;
    valid = n < w.rows;
    if (!valid) return;
    const uint8_t* row = w.data + (size_t)n * w.row_bytes;
    const uint8_t* bytes = row + QD::tile_bytes_offset(F, kt, half);
    if constexpr (F == QuantType::NF4) {
      const uint2 v = __ldg(reinterpret_cast<const uint2*>(bytes));
      q[0] = v.x;
      q[1] = v.y;
      const int64_t b = ((int64_t)n * w.cols + kt * L::kBK) / kQKNF4;
      q[2] = __ldg(w.absmax_q + b);
      scale = __ldg(w.absmax_scale + b / kNF4ScaleBlock);
    } else if constexpr (F == QuantType::INT8) {
      const uint4 v = __ldg(reinterpret_cast<const uint4*>(bytes));
      q[0] = v.x, q[1] = v.y, q[2] = v.z, q[3] = v.w;
      scale = __ldg(w.row_scale + n);
    } else {  // q8_0, q4_0: blocks of 34 / 18 bytes are only 2-byte aligned
      scale = f16_bits_to_f32(load_u16(row + QD::tile_scale_offset(F, kt)));
#pragma unroll
      for (int i = 0; i < 4; ++i) q[i] = load_u16(bytes + 4 * i) | ((uint32_t)load_u16(bytes + 4 * i + 2) << 16);
    }
  }

  __device__ __forceinline__ void finish(uint16_t* tile) const {
    const L::TileCoord c = L::quant_decode_coord(threadIdx.x);
    float v[16];
    if (!valid) {
#pragma unroll
      for (int j = 0; j < 16; ++j) v[j] = 0.0f;
    } else if constexpr (F == QuantType::NF4) {
      QD::decode16_nf4(q, tables + kNF4MapSize, QD::nf4_absmax(tables[q[2]], scale, w.absmax_offset), v);
    } else if constexpr (F == QuantType::Q4_0) {
      QD::decode16_q4_0(q, c.chunk != 0, scale, v);
    } else {
      QD::decode16_int8(q, scale, v);
    }
    uint32_t packed[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const __nv_bfloat162 p2 = __floats2bfloat162_rn(v[2 * j], v[2 * j + 1]);
      packed[j] = *reinterpret_cast<const uint32_t*>(&p2);
    }
    *reinterpret_cast<uint4*>(tile + L::kmajor_offset(c.row, c.chunk)) = make_uint4(packed[0], packed[1], packed[2], packed[3]);
    *reinterpret_cast<uint4*>(tile + L::kmajor_offset(c.row, c.chunk + 1)) = make_uint4(packed[4], packed[5], packed[6], packed[7]);
  }
};

struct QuantGemmParams {
  int M;
  const uint16_t* X;
  int ldx;
  QuantView w;
  int tiles_m, tiles_n;
  EpilogueParams out;
};

template <class Cfg>
constexpr int quant_gemm_smem_bytes() {
  return Cfg::kSmemBytes + kCodebookFloats * (int)sizeof(float);
}

template <class Cfg, QuantType F>
__global__ void __launch_bounds__(Cfg::kThreads) quant_gemm_kernel(const QuantGemmParams p) {
  extern __shared__ __align__(128) uint16_t smem[];
  float* tables = reinterpret_cast<float*>(smem + Cfg::STAGES * Cfg::kStageElems);
  if constexpr (F == QuantType::NF4) {
    for (int i = threadIdx.x; i < kCodebookFloats; i += Cfg::kThreads) tables[i] = __ldg(p.w.codebooks + i);
    __syncthreads();  // the prologue's decoders read the tables
  }
  const L::BlockTile t = L::block_tile(blockIdx.x, p.tiles_m, p.tiles_n);
  const int m0 = t.tm * Cfg::BM, n0 = t.tn * Cfg::BN;
  const int K = p.w.cols;
  const DenseLoader<Cfg::kThreads, Cfg::BM, true, true> la{p.X, p.ldx, p.M, K, m0};
  QuantLoader<Cfg::kThreads, Cfg::BN, F> lb{p.w, n0, tables};
  gemm_block<Cfg, __nv_bfloat16, true, true>(la, lb, smem, K / L::kBK, p.out, m0, n0);
}

// ---- dequantize_bf16 ---------------------------------------------------------------------------
template <QuantType F>
__global__ void __launch_bounds__(256) dequantize_bf16_kernel(__nv_bfloat16* out, const QuantView w) {
  const int64_t n = (int64_t)w.rows * w.cols;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int r = (int)(i / w.cols), k = (int)(i % w.cols);
    out[i] = __float2bfloat16_rn(decode_one<F>(w, w.codebooks, r, k));
  }
}

// ---- Decode GEMV -------------------------------------------------------------------------------
// y[m, r] (=|+=) sum_k x[m, k] w[r, k], m < M <= 8. A warp takes kGemvRowsPerWarp weight rows; its
// lanes walk the rows' 32-weight units (16 contiguous bytes of nf4 per lane, a warp reading 512
// contiguous bytes per row and step), decode them to fp32 and dot them with x, which is read once
// per unit for all the warp's rows; the lanes' partial sums meet through shuffles.
constexpr int kGemvWarps = 4, kGemvRowsPerWarp = 2, kGemvMaxM = 8;

// The 32 weights of unit u (k = 32u .. 32u + 31) of row r; cols % 32 == 0.
template <QuantType F>
__device__ __forceinline__ void decode_unit(const QuantView& w, const float* codebooks, int r, int u, float (&v)[32]) {
  const uint8_t* row = w.data + (size_t)r * w.row_bytes;
  if constexpr (F == QuantType::NF4) {
    const uint4 b = __ldg(reinterpret_cast<const uint4*>(row) + u);
    const uint32_t words[4] = {b.x, b.y, b.z, b.w};
    const float a = nf4_absmax(w, codebooks, ((int64_t)r * w.cols + 32 * u) / kQKNF4);
    QD::decode16_nf4(words, codebooks + kNF4MapSize, a, v);
    QD::decode16_nf4(words + 2, codebooks + kNF4MapSize, a, v + 16);
  } else if constexpr (F == QuantType::INT8) {
    const float s = __ldg(w.row_scale + r);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const uint4 b = __ldg(reinterpret_cast<const uint4*>(row) + 2 * u + h);
      const uint32_t words[4] = {b.x, b.y, b.z, b.w};
      QD::decode16_int8(words, s, v + 16 * h);
    }
  } else if constexpr (F == QuantType::Q8_0 || F == QuantType::Q4_0) {
    constexpr int kBlockBytes = F == QuantType::Q8_0 ? (int)sizeof(BlockQ8_0) : (int)sizeof(BlockQ4_0);
    constexpr int kWords = (kBlockBytes - 2) / 4;  // 8 or 4
    const uint8_t* blk = row + (size_t)u * kBlockBytes;
    const float d = f16_bits_to_f32(load_u16(blk));
    uint32_t words[kWords];
#pragma unroll
    for (int i = 0; i < kWords; ++i) words[i] = load_u16(blk + 2 + 4 * i) | ((uint32_t)load_u16(blk + 4 + 4 * i) << 16);
    if constexpr (F == QuantType::Q8_0) {
      QD::decode16_int8(words, d, v);
      QD::decode16_int8(words + 4, d, v + 16);
    } else {
      QD::decode16_q4_0(words, false, d, v);
      QD::decode16_q4_0(words, true, d, v + 16);
    }
  } else if constexpr (F == QuantType::F16) {
#pragma unroll
    for (int h = 0; h < 4; ++h) {
      const uint4 b = __ldg(reinterpret_cast<const uint4*>(row) + 4 * u + h);
      const uint32_t words[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int j = 0; j < 8; ++j) v[8 * h + j] = f16_bits_to_f32((uint16_t)(words[j / 2] >> (16 * (j % 2))));
    }
  } else {
#pragma unroll
    for (int h = 0; h < 8; ++h) {
      const float4 b = __ldg(reinterpret_cast<const float4*>(row) + 8 * u + h);
      v[4 * h] = b.x, v[4 * h + 1] = b.y, v[4 * h + 2] = b.z, v[4 * h + 3] = b.w;
    }
  }
}

// kUnits: cols % 32 == 0 and x 16-byte aligned (32-weight units); else weight by weight.
template <QuantType F, bool kUnits>
__global__ void __launch_bounds__(kGemvWarps * 32) qgemv_kernel(float* y, const float* x, const QuantView w, int M,
                                                               bool accumulate) {
  __shared__ float tables[F == QuantType::NF4 ? kCodebookFloats : 1];
  const float* codebooks = w.codebooks;
  if constexpr (F == QuantType::NF4) {
    for (int i = threadIdx.x; i < kCodebookFloats; i += blockDim.x) tables[i] = __ldg(w.codebooks + i);
    __syncthreads();
    codebooks = tables;
  }
  const int lane = threadIdx.x % 32;
  const int r0 = (blockIdx.x * kGemvWarps + threadIdx.x / 32) * kGemvRowsPerWarp;
  const int K = w.cols;
  float acc[kGemvRowsPerWarp][kGemvMaxM];
#pragma unroll
  for (int rr = 0; rr < kGemvRowsPerWarp; ++rr)
#pragma unroll
    for (int m = 0; m < kGemvMaxM; ++m) acc[rr][m] = 0.0f;

  if constexpr (kUnits) {
    for (int u = lane; u < K / 32; u += 32) {
      float v[kGemvRowsPerWarp][32];
#pragma unroll
      for (int rr = 0; rr < kGemvRowsPerWarp; ++rr) {
        if (r0 + rr < w.rows) decode_unit<F>(w, codebooks, r0 + rr, u, v[rr]);
        else
#pragma unroll
          for (int j = 0; j < 32; ++j) v[rr][j] = 0.0f;
      }
#pragma unroll
      for (int m = 0; m < kGemvMaxM; ++m) {
        if (m >= M) break;
        const float4* xm = reinterpret_cast<const float4*>(x + (size_t)m * K) + 8 * u;
#pragma unroll
        for (int h = 0; h < 8; ++h) {
          const float4 xv = __ldg(xm + h);
#pragma unroll
          for (int rr = 0; rr < kGemvRowsPerWarp; ++rr) {
            acc[rr][m] = fmaf(xv.x, v[rr][4 * h], acc[rr][m]);
            acc[rr][m] = fmaf(xv.y, v[rr][4 * h + 1], acc[rr][m]);
            acc[rr][m] = fmaf(xv.z, v[rr][4 * h + 2], acc[rr][m]);
            acc[rr][m] = fmaf(xv.w, v[rr][4 * h + 3], acc[rr][m]);
          }
        }
      }
    }
  } else {
    for (int k = lane; k < K; k += 32) {
      float v[kGemvRowsPerWarp];
#pragma unroll
      for (int rr = 0; rr < kGemvRowsPerWarp; ++rr) v[rr] = r0 + rr < w.rows ? decode_one<F>(w, codebooks, r0 + rr, k) : 0.0f;
#pragma unroll
      for (int m = 0; m < kGemvMaxM; ++m) {
        if (m >= M) break;
        const float xv = __ldg(x + (size_t)m * K + k);
#pragma unroll
        for (int rr = 0; rr < kGemvRowsPerWarp; ++rr) acc[rr][m] = fmaf(xv, v[rr], acc[rr][m]);
      }
    }
  }

#pragma unroll
  for (int rr = 0; rr < kGemvRowsPerWarp; ++rr)
#pragma unroll
    for (int m = 0; m < kGemvMaxM; ++m) {
      if (m >= M) break;
      float s = acc[rr][m];
#pragma unroll
      for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
      const int r = r0 + rr;
      if (lane == 0 && r < w.rows) {
        float* out = y + (size_t)m * w.rows + r;
        *out = accumulate ? *out + s : s;
      }
    }
}

}  // namespace tuner::cuda::gemm_detail
