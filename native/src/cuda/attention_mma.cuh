// Warp-level building blocks of the tensor-core attention kernels (sm_80+): cp.async tile loads
// into padded shared memory, ldmatrix fragment loads and the m16n8k16 mma with fp32
// accumulation, for bf16 and fp16 elements. Fragment layouts are PTX's (m16n8k16, .row.col):
//   A (16 x 16, row-major): a0a1 (row g, k 2c..), a2a3 (row g+8), a4a5 (row g, k 2c+8..), a6a7
//   B (16 x 8, k x n):      b0b1 (k 2c.., n g), b2b3 (k 2c+8.., n g)
//   C (16 x 8):             c0c1 (row g, cols 2c, 2c+1), c2c3 (row g+8)
// with g = lane / 4 and c = lane % 4. A C fragment pair (two 8-column tiles) in registers is
// therefore already an A fragment of the next product (flash-attention 2's P V without a trip
// through shared memory).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/attention_tiles.h"

namespace tuner::cuda::attn_mma {

// Shared-memory rows are padded by 8 elements (16 bytes): a row stride that is an odd multiple
// of 16 bytes puts the 8 rows one ldmatrix phase reads in 8 different bank groups.
template <int kHD>
constexpr int kRowStride = kHD + 8;

template <typename T>
struct Elem;
template <>
struct Elem<__nv_bfloat16> {
  using Pair = __nv_bfloat162;
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    Pair p = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&p);
  }
  static __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
  static __device__ __forceinline__ __nv_bfloat16 from_float(float x) { return __float2bfloat16_rn(x); }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    Pair p = *reinterpret_cast<Pair*>(&u);
    return __bfloat1622float2(p);
  }
};
template <>
struct Elem<__half> {
  using Pair = __half2;
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    Pair p = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&p);
  }
  static __device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
  static __device__ __forceinline__ __half from_float(float x) { return __float2half_rn(x); }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    Pair p = *reinterpret_cast<Pair*>(&u);
    return __half22float2(p);
  }
};

// d += a b on one 16x8x16 tile (fp32 accumulators).
template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma_16816<__half>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// Four 8x8 matrices; lanes 8i..8i+7 give the row addresses of matrix i, register i receives it.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row_addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row_addr)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row_addr)));
}

// The lane's ldmatrix row address in a [rows][stride] tile s (elements), from the fragment
// coordinates in attention_tiles.h (ldsm_*; their layouts are spelled out there).
template <typename T>
__device__ __forceinline__ const T* at(const T* s, int stride, attn::Coord x) {
  return s + x.row * stride + x.col;
}
template <typename T>
__device__ __forceinline__ const T* a_frag_addr(const T* s, int stride, int r0, int k0, int lane) {
  return at(s, stride, attn::ldsm_a(r0, k0, lane));
}
template <typename T>
__device__ __forceinline__ const T* b_frag_addr_nk(const T* s, int stride, int n0, int k0, int lane) {
  return at(s, stride, attn::ldsm_b_nk(n0, k0, lane));
}
template <typename T>
__device__ __forceinline__ const T* b_frag_addr_kn(const T* s, int stride, int k0, int n0, int lane) {
  return at(s, stride, attn::ldsm_b_kn(k0, n0, lane));
}
template <typename T>
__device__ __forceinline__ const T* a_frag_addr_km(const T* s, int stride, int k0, int m0, int lane) {
  return at(s, stride, attn::ldsm_a_km(k0, m0, lane));
}

// 16-byte asynchronous copy global -> shared; src_bytes 0 writes zeros (rows past T, columns
// past the real head dim), so padded tiles need no separate fill.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// Rows [row0, row0 + kRows) of a [T, ld] matrix (elements; columns col0.. of width hd) into a
// [kRows][kRowStride<kHD>] tile; missing rows and columns hd..kHD-1 become zeros. hd and ld
// are multiples of 8 elements and the base pointer 16-byte aligned (the dispatch checks).
template <int kRows, int kHD, int kThreads, typename T>
__device__ __forceinline__ void load_tile_async(T* tile, const T* base, int ld, int row0, int T_rows, int hd, int tid) {
  constexpr int kChunks = kHD / 8;
  for (int c = tid; c < kRows * kChunks; c += kThreads) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const bool valid = row0 + r < T_rows && col < hd;
    const T* src = valid ? base + (int64_t)(row0 + r) * ld + col : base;
    cp_async_16(tile + r * kRowStride<kHD> + col, src, valid);
  }
}

// ---- a warp's products (16 rows each) ----

template <int kTiles>
__device__ __forceinline__ void zero_acc(float (&c)[kTiles][4]) {
#pragma unroll
  for (int t = 0; t < kTiles; t++) c[t][0] = c[t][1] = c[t][2] = c[t][3] = 0.0f;
}

// The A fragment over 16 k made of accumulator tiles 2ks and 2ks + 1 (C fragment pair -> A).
template <typename T, int kTiles>
__device__ __forceinline__ void a_from_acc(uint32_t (&a)[4], const float (&c)[kTiles][4], int ks) {
  a[0] = Elem<T>::pack(c[2 * ks][0], c[2 * ks][1]);
  a[1] = Elem<T>::pack(c[2 * ks][2], c[2 * ks][3]);
  a[2] = Elem<T>::pack(c[2 * ks + 1][0], c[2 * ks + 1][1]);
  a[3] = Elem<T>::pack(c[2 * ks + 1][2], c[2 * ks + 1][3]);
}

// c[kNT tiles of 8] += A B^T over kK: A rows a_row0.. of sA stored [m][k], B = rows 0.. of sB
// stored [n][k] (S = Q K^T, S^T = K Q^T, dP^T = V dY^T).
template <typename T, int kK, int kNT>
__device__ __forceinline__ void mma_smem_nk(float (&c)[kNT][4], const T* sA, int a_row0, const T* sB, int stride, int lane) {
#pragma unroll
  for (int ks = 0; ks < kK / 16; ks++) {
    uint32_t a[4];
    ldmatrix_x4(a, a_frag_addr(sA, stride, a_row0, ks * 16, lane));
#pragma unroll
    for (int np = 0; np < kNT / 2; np++) {
      uint32_t b[4];
      ldmatrix_x4(b, b_frag_addr_nk(sB, stride, np * 16, ks * 16, lane));
      mma_16816<T>(c[2 * np], a, b[0], b[1]);
      mma_16816<T>(c[2 * np + 1], a, b[2], b[3]);
    }
  }
}

// c[kNT tiles of 8] += A B for one A fragment over k0..k0+15 and B stored [k][n] in shared memory.
template <typename T, int kNT>
__device__ __forceinline__ void mma_frag_kn(float (&c)[kNT][4], const uint32_t (&a)[4], const T* sB, int stride, int k0,
                                            int lane) {
#pragma unroll
  for (int dp = 0; dp < kNT / 2; dp++) {
    uint32_t b[4];
    ldmatrix_x4_trans(b, b_frag_addr_kn(sB, stride, k0, dp * 16, lane));
    mma_16816<T>(c[2 * dp], a, b[0], b[1]);
    mma_16816<T>(c[2 * dp + 1], a, b[2], b[3]);
  }
}

// c[kNT tiles of 8] += P B with P in accumulator registers (kKT tiles of 8 over k) and B stored
// [k][n] in shared memory (O += P V, dV += P^T dY, dK += dS^T Q).
template <typename T, int kKT, int kNT>
__device__ __forceinline__ void mma_acc_kn(float (&c)[kNT][4], const float (&p)[kKT][4], const T* sB, int stride, int lane) {
#pragma unroll
  for (int ks = 0; ks < kKT / 2; ks++) {
    uint32_t a[4];
    a_from_acc<T>(a, p, ks);
    mma_frag_kn<T>(c, a, sB, stride, ks * 16, lane);
  }
}

// Epilogue of the query-major kernels: a warp's 16 rows of output accumulators (kHD / 8 tiles,
// row g times scale[0], row g + 8 times scale[1]) staged as T in the warp's own 16 rows of the
// shared tile s (rows no other warp reads), then written as 16-byte row pieces to rows
// row0 .. row0 + 15 of out [.., ld] that are below T_rows, columns below hd.
template <typename T, int kHD>
__device__ __forceinline__ void store_warp_rows(T* out, int ld, int row0, int T_rows, int hd, T* s,
                                                const float (&acc)[kHD / 8][4], const float (&scale)[2], int lane) {
  constexpr int S = kRowStride<kHD>;
  const int g = attn::c_frag(lane, 0).row, c = attn::c_frag(lane, 0).col / 2;
  __syncwarp();
#pragma unroll
  for (int r = 0; r < 2; r++) {
    T* srow = s + (g + 8 * r) * S;
#pragma unroll
    for (int dt = 0; dt < kHD / 8; dt++)
      *reinterpret_cast<uint32_t*>(srow + dt * 8 + 2 * c) =
          Elem<T>::pack(acc[dt][2 * r] * scale[r], acc[dt][2 * r + 1] * scale[r]);
  }
  __syncwarp();
  for (int idx = lane; idx < 16 * (kHD / 8); idx += 32) {
    const int r = idx / (kHD / 8), col = (idx % (kHD / 8)) * 8, i = row0 + r;
    if (i < T_rows && col < hd)
      *reinterpret_cast<uint4*>(out + (int64_t)i * ld + col) = *reinterpret_cast<const uint4*>(s + r * S + col);
  }
}

// Sum (or max) over the 32 lanes of a warp.
__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Sum (or max) over the 4 lanes that share a C fragment row.
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

}  // namespace tuner::cuda::attn_mma
