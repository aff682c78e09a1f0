// Index arithmetic of the tensor-core GEMMs (gemm_kernel.cuh), as plain functions that compile
// both in CUDA and in ordinary C++, so that a CPU test (test/test_cuda_gemm_layout.cpp) can replay
// a whole thread block's data movement with them and check it multiplies correctly without a GPU.
//
// Conventions (docs/cuda.md, "GEMM kernels"):
//   - Operands are 16-bit (bf16 or fp16); shared memory holds tiles of kBK = 32 k values.
//   - A tile is "k-major" when k is contiguous ([rows][32]: A stored [M,K], B stored [N,K]) and
//     "mn-major" when m or n is contiguous ([32][width]: A stored [K,M], B stored [K,N]).
//   - A chunk is 16 bytes = 8 elements, the unit of cp.async, ldmatrix rows and the swizzle.
//   - Fragments follow the PTX ISA's mma.m16n8k16 layouts (groupID = lane / 4, tid = lane % 4).
#pragma once

#if defined(__CUDACC__)
#define TUNER_GEMM_HD __host__ __device__ __forceinline__
#else
#define TUNER_GEMM_HD inline
#endif

namespace tuner::cuda::gemm_layout {

constexpr int kBK = 32;          // k values per shared-memory tile
constexpr int kChunk = 8;        // elements per 16-byte chunk
constexpr int kKChunks = kBK / kChunk;  // chunks per row of a k-major tile

// ---- Tile shapes ---------------------------------------------------------------------------
template <int BM_, int BN_, int WARPS_M_, int WARPS_N_, int STAGES_>
struct TileConfig {
  static constexpr int BM = BM_, BN = BN_, WARPS_M = WARPS_M_, WARPS_N = WARPS_N_, STAGES = STAGES_;
  static constexpr int kThreads = WARPS_M * WARPS_N * 32;
  static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;
  static constexpr int MI = WM / 16, NI = WN / 8;  // m16 and n8 fragments per warp
  static constexpr int kStageElems = (BM + BN) * kBK;
  static constexpr int kSmemBytes = STAGES * kStageElems * 2;
  static_assert(BM % 64 == 0 && BN % 64 == 0, "mn-major tiles need widths that are multiples of 64 (swizzle)");
  static_assert(WM % 16 == 0 && WN % 16 == 0, "B fragments are loaded two n8 tiles at a time");
  static_assert(STAGES >= 2, "the pipeline needs at least two stages");
};
// Large products: 128x128 tiles, 8 warps of 64x32, 4 stages (64 KiB of shared memory, which
// every target from sm_80 to sm_90 grants a block).
using BigTile = TileConfig<128, 128, 2, 4, 4>;
// Small or skinny products (LoRA ranks, few tiles): 64x64 tiles, 4 warps of 32x32, 4 stages.
using SmallTile = TileConfig<64, 64, 2, 2, 4>;

// Element offset of chunk `chunk` of row `row` in a k-major tile ([rows][32], 64-byte rows).
// Two rows share one 128-byte line of the 32 banks, so the chunk is XORed with (row / 2) % 4: the
// 8 rows an ldmatrix phase reads (rows r..r+7 at one logical chunk) and the 8 chunks a cp.async
// phase writes (two whole rows) land in 8 different 16-byte bank groups.
TUNER_GEMM_HD int kmajor_offset(int row, int chunk) { return row * kBK + ((chunk ^ ((row >> 1) & 3)) * kChunk); }

// Element offset of chunk `chunk` of k row `krow` in an mn-major tile ([32][width], width a
// multiple of 64 so that the XOR stays inside the row): rows are whole multiples of 128 bytes, so
// the chunk's low 3 bits are XORed with krow % 8 and the 8 consecutive k rows an ldmatrix.trans
// phase reads hit 8 different bank groups.
TUNER_GEMM_HD int mnmajor_offset(int krow, int chunk, int width) { return krow * width + ((chunk ^ (krow & 7)) * kChunk); }

// Bank group (0..7: which 16 bytes of a 128-byte line) of an element offset, for the tests.
TUNER_GEMM_HD int bank_group(int elem_offset) { return (elem_offset / kChunk) & 7; }

// --- Global -> shared loads: copy `i` of thread `tid` (threads copies in flight per pass). ---
// k-major tile of `rows` rows: 4 chunks per row, consecutive threads take consecutive chunks of a
// row (64 contiguous bytes of global memory per 4 threads).
struct TileCoord { int row, chunk; };
TUNER_GEMM_HD TileCoord kmajor_load_coord(int tid, int i, int threads) {
  const int id = tid + i * threads;
  return {id / kKChunks, id % kKChunks};
}
// mn-major tile of `width` elements per k row: width / 8 chunks per row.
TUNER_GEMM_HD TileCoord mnmajor_load_coord(int tid, int i, int threads, int width) {
  const int id = tid + i * threads;
  return {id / (width / kChunk), id % (width / kChunk)};
}

// One 16-byte copy of a dense operand tile (rows [r0, r0 + tile_rows) x k [k0, k0 + 32) of
// op(X)): where it goes in the tile, which element of X it starts at, and how many of its 8
// elements lie inside the matrix (the rest are zeros). kmajor: X stored [rows][K], element (r, k)
// at X[r * ld + k]; else X stored [K][rows], element (r, k) at X[k * ld + r].
struct ChunkCopy {
  int dst;        // element offset in the tile
  long long src;  // element offset in X (meaningful when n > 0)
  int n;          // elements inside the matrix, 0..8
};
TUNER_GEMM_HD int clamp_chunk(int n) { return n < 0 ? 0 : (n > kChunk ? kChunk : n); }
TUNER_GEMM_HD ChunkCopy dense_chunk(bool kmajor, int tid, int i, int threads, int tile_rows, int r0, int k0, int rows,
                                    int K, int ld) {
  if (kmajor) {
    const TileCoord c = kmajor_load_coord(tid, i, threads);
    const int r = r0 + c.row, k = k0 + c.chunk * kChunk;
    return {kmajor_offset(c.row, c.chunk), (long long)r * ld + k, r < rows ? clamp_chunk(K - k) : 0};
  }
  const TileCoord c = mnmajor_load_coord(tid, i, threads, tile_rows);
  const int k = k0 + c.row, r = r0 + c.chunk * kChunk;
  return {mnmajor_offset(c.row, c.chunk, tile_rows), (long long)k * ld + r, k < K ? clamp_chunk(rows - r) : 0};
}

// A quantized B tile is decoded by two threads per weight row (tile_rows = threads / 2): thread
// tid decodes 16 consecutive k of row tid / 2 into the tile's chunks 2 * (tid % 2) and + 1.
TUNER_GEMM_HD TileCoord quant_decode_coord(int tid) { return {tid >> 1, (tid & 1) * 2}; }

// --- ldmatrix.x4 row addresses: which (row, chunk) of the tile lane `lane` points at. ---
// A fragment 16x16 from a k-major tile (ldmatrix): matrices 0..3 = (m 0-7, k 0-7), (m 8-15, k 0-7),
// (m 0-7, k 8-15), (m 8-15, k 8-15) -> registers a0..a3 of mma.m16n8k16. Row relative to the
// fragment's first m, chunk relative to the k16 step's first chunk.
TUNER_GEMM_HD TileCoord ldsm_a_kmajor(int lane) { return {lane & 15, lane >> 4}; }
// A fragment from an mn-major tile (ldmatrix.trans): row = k row, chunk = m chunk.
TUNER_GEMM_HD TileCoord ldsm_a_mnmajor(int lane) { return {(lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1}; }
// Two B fragments (n 0-7 and n 8-15, k 16) from a k-major tile [n][k] (ldmatrix): matrices =
// (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15) -> b[0][0], b[0][1], b[1][0], b[1][1].
TUNER_GEMM_HD TileCoord ldsm_b_kmajor(int lane) { return {(lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1}; }
// The same two B fragments from an mn-major tile [k][n] (ldmatrix.trans): row = k row, chunk = n chunk.
TUNER_GEMM_HD TileCoord ldsm_b_mnmajor(int lane) { return {(lane & 7) + (((lane >> 3) & 1) << 3), lane >> 4}; }

// Element offsets, in a stage's tile, that lane `lane` hands to ldmatrix for the A fragment of
// rows [m, m + 16) and the B fragments of columns [n, n + 16), at k16 step `ks` (0 or 1) of the tile.
// c is the lane's (row, chunk) from the maps above: in a k-major tile relative to the fragment's
// first row and the k16 step's first chunk; in an mn-major tile relative to the k16 step's first
// k row and the fragment's first chunk.
TUNER_GEMM_HD int ldsm_offset(bool kmajor, TileCoord c, int first, int ks, int width) {
  return kmajor ? kmajor_offset(first + c.row, ks * 2 + c.chunk)
                : mnmajor_offset(ks * 16 + c.row, first / kChunk + c.chunk, width);
}
TUNER_GEMM_HD int ldsm_a_offset(bool kmajor, int lane, int m, int ks, int bm) {
  return ldsm_offset(kmajor, kmajor ? ldsm_a_kmajor(lane) : ldsm_a_mnmajor(lane), m, ks, bm);
}
TUNER_GEMM_HD int ldsm_b_offset(bool kmajor, int lane, int n, int ks, int bn) {
  return ldsm_offset(kmajor, kmajor ? ldsm_b_kmajor(lane) : ldsm_b_mnmajor(lane), n, ks, bn);
}

// Warp `warp` of a block with warps_n warps per tile row computes sub-tile (wm, wn).
struct WarpTile { int wm, wn; };
TUNER_GEMM_HD WarpTile warp_tile(int warp, int warps_n) { return {warp / warps_n, warp % warps_n}; }

// --- mma.m16n8k16 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16", 16-bit types). ---
// A (16x16, row): register r (0..3) of lane holds halves h = 0, 1 at (row, col).
struct ElemCoord { int row, col; };
TUNER_GEMM_HD ElemCoord mma_a_elem(int lane, int r, int h) {
  return {(lane >> 2) + ((r & 1) ? 8 : 0), (lane & 3) * 2 + h + ((r & 2) ? 8 : 0)};
}
// B (16x8, col): register r (0..1), half h at (k = row, n = col).
TUNER_GEMM_HD ElemCoord mma_b_elem(int lane, int r, int h) { return {(lane & 3) * 2 + h + (r ? 8 : 0), lane >> 2}; }
// C/D (16x8, f32): element i (0..3) at (row, col); elements 0,1 and 2,3 are column neighbours.
TUNER_GEMM_HD ElemCoord mma_c_elem(int lane, int i) { return {(lane >> 2) + (i >= 2 ? 8 : 0), (lane & 3) * 2 + (i & 1)}; }

// --- Thread block order: tiles visited in groups of kGroupM tile rows, so that blocks running at
// the same time share A rows and B columns in L2 (the "swizzled" raster of Triton/CUTLASS). ---
constexpr int kGroupM = 8;
struct BlockTile { int tm, tn; };  // tile row and column of C
TUNER_GEMM_HD BlockTile block_tile(int block, int tiles_m, int tiles_n) {
  const int per_group = kGroupM * tiles_n;
  const int group = block / per_group;
  const int first_m = group * kGroupM;
  const int group_rows = (tiles_m - first_m) < kGroupM ? (tiles_m - first_m) : kGroupM;
  const int in_group = block % per_group;
  return {first_m + in_group % group_rows, in_group / group_rows};
}

}  // namespace tuner::cuda::gemm_layout
