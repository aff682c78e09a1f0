// The tensor-core GEMM kernel template behind gemm.cuh (included by gemm_*.cu only).
//
// One thread block computes a BM x BN tile of C with 4 or 8 warps, each a WM x WN sub-tile of
// mma.sync.m16n8k16 products (fp32 accumulators in registers). k advances in tiles of 32 through
// a STAGES-deep ring of shared-memory stages: loads for tile kt + STAGES - 1 are in flight while
// tile kt is multiplied (cp.async for plain operands; for quantized weights, global loads into
// registers that are decoded to bf16 and stored after the tile's products). Fragments come out of
// shared memory with ldmatrix (.trans for operands stored m/n-contiguous); the swizzle of
// gemm_layout.h keeps both the copies and ldmatrix free of bank conflicts. The epilogue writes
// alpha * acc + beta * C straight from the accumulators (each quad of lanes covers 32 contiguous
// bytes of a row, whole sectors).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/gemm_layout.h"

namespace tuner::cuda::gemm_detail {

namespace L = gemm_layout;

// ---- PTX wrappers --------------------------------------------------------------------------
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte copy global -> shared; bytes past src_bytes (0..16) are filled with zeros and not read.
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

template <bool kTrans>
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], uint32_t addr) {
  if constexpr (kTrans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// d += a (16x16, row) * b (16x8, col), fp32 accumulation.
template <class T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

using L::BigTile;
using L::SmallTile;
using L::TileConfig;

// ---- Dense operand loader --------------------------------------------------------------------
// Copies rows [r0, r0 + ROWS) x k [k0, k0 + 32) of op(X) into a stage tile. kKMajor: X stored
// [rows][K], element (r, k) at X[r * ld + k]; else X stored [K][rows], element (r, k) at
// X[k * ld + r]. kAsync needs ld % 8 == 0 and X 16-byte aligned (checked by the launcher): each
// chunk is then one cp.async whose bytes past the matrix's edge are zero-filled, never read.
// Without kAsync every element is loaded with its own bounds check (any ld, any alignment).
template <int THREADS, int ROWS, bool kKMajor, bool kAsync>
struct DenseLoader {
  const uint16_t* X;
  int ld, rows, K, r0;

  static constexpr int kChunks = ROWS * L::kBK / L::kChunk;
  static_assert(kChunks % THREADS == 0, "every thread copies the same number of chunks");

  __device__ __forceinline__ void load(uint16_t* tile, int kt) const {
    const int k0 = kt * L::kBK;
#pragma unroll
    for (int i = 0; i < kChunks / THREADS; ++i) {
      const L::ChunkCopy c = L::dense_chunk(kKMajor, threadIdx.x, i, THREADS, ROWS, r0, k0, rows, K, ld);
      const int n = c.n, dst = c.dst;
      const uint16_t* src = X + c.src;
      if constexpr (kAsync) {
        cp_async_16(smem_addr(tile + dst), n > 0 ? src : X, n * 2);
      } else {
        uint16_t v[L::kChunk];
#pragma unroll
        for (int e = 0; e < L::kChunk; ++e) v[e] = e < n ? src[e] : uint16_t(0);
        uint4 packed;
        packed.x = v[0] | (uint32_t(v[1]) << 16);
        packed.y = v[2] | (uint32_t(v[3]) << 16);
        packed.z = v[4] | (uint32_t(v[5]) << 16);
        packed.w = v[6] | (uint32_t(v[7]) << 16);
        *reinterpret_cast<uint4*>(tile + dst) = packed;
      }
    }
  }
  // Loads that go through registers store here after the tile's products; these are done.
  __device__ __forceinline__ void finish(uint16_t*) const {}
};

// ---- Main loop -------------------------------------------------------------------------------
// acc += the block's tile of op(A) op(B) over KT k tiles. smem: STAGES stages of [A tile | B tile].
template <class Cfg, class T, bool kAKMajor, bool kBKMajor, class ALoader, class BLoader>
__device__ __forceinline__ void gemm_mainloop(float (&acc)[Cfg::MI][Cfg::NI][4], const ALoader& la, BLoader& lb,
                                              uint16_t* smem, int KT) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, STAGES = Cfg::STAGES;
  const int lane = threadIdx.x % 32;
  const L::WarpTile w = L::warp_tile(threadIdx.x / 32, Cfg::WARPS_N);
  const int wm = w.wm, wn = w.wn;
  auto tile_a = [&](int s) { return smem + s * Cfg::kStageElems; };
  auto tile_b = [&](int s) { return smem + s * Cfg::kStageElems + BM * L::kBK; };

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < KT) {
      la.load(tile_a(s), s);
      lb.load(tile_b(s), s);
      lb.finish(tile_b(s));
    }
    cp_async_commit();  // one group per stage, empty or not, so wait_group counts stages
  }

  for (int kt = 0; kt < KT; ++kt) {
    cp_async_wait<STAGES - 2>();  // this thread's copies of tile kt have landed
    __syncthreads();              // everyone's have, and every warp is done with tile kt - 1
    const int next = kt + STAGES - 1, next_stage = next % STAGES;
    if (next < KT) {
      la.load(tile_a(next_stage), next);  // the stage tile kt - 1 used
      lb.load(tile_b(next_stage), next);
    }
    cp_async_commit();

    const uint16_t* sa = tile_a(kt % STAGES);
    const uint16_t* sb = tile_b(kt % STAGES);
#pragma unroll
    for (int ks = 0; ks < L::kBK / 16; ++ks) {
      uint32_t a[Cfg::MI][4], b[Cfg::NI][2];
#pragma unroll
      for (int mi = 0; mi < Cfg::MI; ++mi)
        ldsm_x4<!kAKMajor>(a[mi], smem_addr(sa + L::ldsm_a_offset(kAKMajor, lane, wm * Cfg::WM + mi * 16, ks, BM)));
#pragma unroll
      for (int nj = 0; nj < Cfg::NI / 2; ++nj) {
        uint32_t r[4];
        ldsm_x4<!kBKMajor>(r, smem_addr(sb + L::ldsm_b_offset(kBKMajor, lane, wn * Cfg::WN + nj * 16, ks, BN)));
        b[2 * nj][0] = r[0];
        b[2 * nj][1] = r[1];
        b[2 * nj + 1][0] = r[2];
        b[2 * nj + 1][1] = r[3];
      }
#pragma unroll
      for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < Cfg::NI; ++ni) mma_16816<T>(acc[mi][ni], a[mi], b[ni][0], b[ni][1]);
    }
    if (next < KT) lb.finish(tile_b(next_stage));
  }
  cp_async_wait<0>();
}

// ---- Epilogue --------------------------------------------------------------------------------
struct EpilogueParams {
  int M, N;
  float alpha, beta;
  void* C;
  int ldc;
  bool c_bf16;     // C holds bf16 (else fp32)
  bool c_pair_ok;  // C's stride and pointer allow storing two neighbouring columns at once
};

__device__ __forceinline__ void store_pair(const EpilogueParams& p, int row, int col, float v0, float v1) {
  const size_t at = (size_t)row * p.ldc + col;
  const bool both = col + 1 < p.N;
  if (p.c_bf16) {
    __nv_bfloat16* c = static_cast<__nv_bfloat16*>(p.C) + at;
    if (both && p.c_pair_ok) {
      __nv_bfloat162* c2 = reinterpret_cast<__nv_bfloat162*>(c);
      if (p.beta != 0.0f) {
        const float2 old = __bfloat1622float2(*c2);
        v0 += p.beta * old.x;
        v1 += p.beta * old.y;
      }
      *c2 = __floats2bfloat162_rn(v0, v1);
      return;
    }
    if (p.beta != 0.0f) v0 += p.beta * __bfloat162float(c[0]);
    c[0] = __float2bfloat16_rn(v0);
    if (both) {
      if (p.beta != 0.0f) v1 += p.beta * __bfloat162float(c[1]);
      c[1] = __float2bfloat16_rn(v1);
    }
    return;
  }
  float* c = static_cast<float*>(p.C) + at;
  if (both && p.c_pair_ok) {
    float2* c2 = reinterpret_cast<float2*>(c);
    if (p.beta != 0.0f) {
      const float2 old = *c2;
      v0 += p.beta * old.x;
      v1 += p.beta * old.y;
    }
    *c2 = make_float2(v0, v1);
    return;
  }
  if (p.beta != 0.0f) v0 += p.beta * c[0];
  c[0] = v0;
  if (both) {
    if (p.beta != 0.0f) v1 += p.beta * c[1];
    c[1] = v1;
  }
}

template <class Cfg>
__device__ __forceinline__ void gemm_epilogue(const float (&acc)[Cfg::MI][Cfg::NI][4], const EpilogueParams& p,
                                              int m0, int n0) {
  const int lane = threadIdx.x % 32;
  const L::WarpTile w = L::warp_tile(threadIdx.x / 32, Cfg::WARPS_N);
  const int wm = w.wm, wn = w.wn;
#pragma unroll
  for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < Cfg::NI; ++ni)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const L::ElemCoord e = L::mma_c_elem(lane, 2 * half);
        const int row = m0 + wm * Cfg::WM + mi * 16 + e.row;
        const int col = n0 + wn * Cfg::WN + ni * 8 + e.col;
        if (row < p.M && col < p.N)
          store_pair(p, row, col, p.alpha * acc[mi][ni][2 * half], p.alpha * acc[mi][ni][2 * half + 1]);
      }
}

// One block's tile of C: the products of KT k tiles accumulated from zero, then stored.
template <class Cfg, class T, bool kAKMajor, bool kBKMajor, class ALoader, class BLoader>
__device__ __forceinline__ void gemm_block(const ALoader& la, BLoader& lb, uint16_t* smem, int KT,
                                           const EpilogueParams& out, int m0, int n0) {
  float acc[Cfg::MI][Cfg::NI][4];
#pragma unroll
  for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < Cfg::NI; ++ni)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0.0f;
  gemm_mainloop<Cfg, T, kAKMajor, kBKMajor>(acc, la, lb, smem, KT);
  gemm_epilogue<Cfg>(acc, out, m0, n0);
}

// ---- Dense kernel ----------------------------------------------------------------------------
struct DenseParams {
  int M, N, K;
  const uint16_t* A;
  int lda;
  const uint16_t* B;
  int ldb;
  int tiles_m, tiles_n;
  EpilogueParams out;
};

template <class Cfg, class T, bool kAKMajor, bool kBKMajor, bool kAsync>
__global__ void __launch_bounds__(Cfg::kThreads) dense_gemm_kernel(const DenseParams p) {
  extern __shared__ __align__(128) uint16_t smem[];
  const L::BlockTile t = L::block_tile(blockIdx.x, p.tiles_m, p.tiles_n);
  const int m0 = t.tm * Cfg::BM, n0 = t.tn * Cfg::BN;
  const DenseLoader<Cfg::kThreads, Cfg::BM, kAKMajor, kAsync> la{p.A, p.lda, p.M, p.K, m0};
  DenseLoader<Cfg::kThreads, Cfg::BN, kBKMajor, kAsync> lb{p.B, p.ldb, p.N, p.K, n0};
  gemm_block<Cfg, T, kAKMajor, kBKMajor>(la, lb, smem, (p.K + L::kBK - 1) / L::kBK, p.out, m0, n0);
}

}  // namespace tuner::cuda::gemm_detail
