// The CUDA GEMM's index arithmetic (src/cuda/gemm_layout.h), checked on the CPU without a GPU:
// the kernels (gemm_kernel.cuh) compute every shared-memory address, ldmatrix row address and
// accumulator position with these functions, so this test replays a whole product with them:
//   - the swizzles are bijections onto the tile, and every cp.async phase (8 copies of 16 bytes)
//     and every ldmatrix phase (8 row addresses) touches 8 different 16-byte bank groups;
//   - the block raster visits every tile once; the quantized loader's stores are conflict-free;
//   - a full product per tile configuration and layout (A [M,K] or [K,M], B [N,K] or [K,N]),
//     edge tiles included: global -> tile copies (dense_chunk, zero fill past the edges), ldmatrix
//     emulated from the PTX ISA's definition (.trans too), mma.m16n8k16 emulated from the ISA's
//     fragment tables (mma_*_elem), the epilogue's stores (mma_c_elem) -- equals a plain loop
//     exactly (small integer values, so every sum is exact), and writes each element of C once;
//   - the quantized tile loader (nf4, int8, q8_0, q4_0): the bytes it reads (tile_bytes_offset),
//     packed into words as a vector load does, decoded (gemm_quant_decode.h) and stored into the
//     tile, give exactly the CPU's dequantize_matrix at every (row, k) of every tile.
// What it cannot check is timing: cp.async groups and barriers (gemm_mainloop) need a GPU
// (test/cuda/test_cuda_gemm.cu).
#include <cstdint>
#include <cstdio>
#include <set>
#include <vector>

#include "check_macros.h"
#include "cuda/gemm_layout.h"
#include "cuda/gemm_quant_decode.h"
#include "quant/quant_internal.h"
#include "tuner/dtype.h"
#include "tuner/quant.h"

using namespace tuner::cuda::gemm_layout;
namespace QD = tuner::cuda::quant_decode;
using tuner::QuantType;

namespace {

// Every 8 consecutive offsets (one phase of 16-byte accesses) in distinct bank groups.
bool phases_conflict_free(const std::vector<int>& offsets) {
  for (size_t p = 0; p + 8 <= offsets.size(); p += 8) {
    std::set<int> groups;
    for (size_t i = p; i < p + 8; ++i) groups.insert(bank_group(offsets[i]));
    if (groups.size() != 8) return false;
  }
  return true;
}

void check_swizzles() {
  for (int rows : {64, 128}) {
    std::set<int> seen;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < kKChunks; ++c) {
        const int off = kmajor_offset(r, c);
        EXPECT(off % kChunk == 0 && off >= 0 && off < rows * kBK);
        EXPECT(off / kBK == r);  // the swizzle stays inside the row
        seen.insert(off);
      }
    EXPECT((int)seen.size() == rows * kKChunks);
  }
  for (int width : {64, 128}) {
    std::set<int> seen;
    for (int k = 0; k < kBK; ++k)
      for (int c = 0; c < width / kChunk; ++c) {
        const int off = mnmajor_offset(k, c, width);
        EXPECT(off % kChunk == 0 && off / width == k);
        seen.insert(off);
      }
    EXPECT((int)seen.size() == kBK * width / kChunk);
  }
}

template <class Cfg>
void check_bank_conflicts() {
  // cp.async copies: each warp's 32 copies of one pass, in phases of 8 lanes.
  for (bool kmajor : {true, false})
    for (int rows : {Cfg::BM, Cfg::BN}) {
      const int passes = rows * kBK / kChunk / Cfg::kThreads;
      for (int i = 0; i < passes; ++i)
        for (int warp = 0; warp < Cfg::kThreads / 32; ++warp) {
          std::vector<int> offs;
          for (int lane = 0; lane < 32; ++lane)
            offs.push_back(dense_chunk(kmajor, warp * 32 + lane, i, Cfg::kThreads, rows, 0, 0, rows, kBK, kBK).dst);
          EXPECT(phases_conflict_free(offs));
        }
    }
  // ldmatrix: each of the 4 matrices is one phase of 8 row addresses.
  for (bool kmajor : {true, false})
    for (int ks = 0; ks < 2; ++ks) {
      for (int m = 0; m < Cfg::BM; m += 16) {
        std::vector<int> offs;
        for (int lane = 0; lane < 32; ++lane) offs.push_back(ldsm_a_offset(kmajor, lane, m, ks, Cfg::BM));
        EXPECT(phases_conflict_free(offs));
      }
      for (int n = 0; n < Cfg::BN; n += 16) {
        std::vector<int> offs;
        for (int lane = 0; lane < 32; ++lane) offs.push_back(ldsm_b_offset(kmajor, lane, n, ks, Cfg::BN));
        EXPECT(phases_conflict_free(offs));
      }
    }
  // Quantized B tiles: each decoding thread stores chunk c and then c + 1 of its row.
  for (int second = 0; second < 2; ++second)
    for (int warp = 0; warp < Cfg::kThreads / 32; ++warp) {
      std::vector<int> offs;
      for (int lane = 0; lane < 32; ++lane) {
        const TileCoord c = quant_decode_coord(warp * 32 + lane);
        offs.push_back(kmajor_offset(c.row, c.chunk + second));
      }
      EXPECT(phases_conflict_free(offs));
    }
  // Together the decoding threads cover the B tile.
  std::set<int> seen;
  for (int t = 0; t < Cfg::kThreads; ++t)
    for (int second = 0; second < 2; ++second) {
      const TileCoord c = quant_decode_coord(t);
      seen.insert(kmajor_offset(c.row, c.chunk + second));
    }
  EXPECT((int)seen.size() == Cfg::BN * kKChunks);
}

void check_block_raster() {
  for (int tm : {1, 3, 8, 9, 17})
    for (int tn : {1, 2, 5, 13}) {
      std::set<std::pair<int, int>> seen;
      for (int b = 0; b < tm * tn; ++b) {
        const BlockTile t = block_tile(b, tm, tn);
        EXPECT(t.tm >= 0 && t.tm < tm && t.tn >= 0 && t.tn < tn);
        seen.insert({t.tm, t.tn});
      }
      EXPECT((int)seen.size() == tm * tn);
    }
}

// ldmatrix.x4 as the PTX ISA defines it: lanes 8j..8j+7 give the row addresses of matrix j; lane l
// receives in register j row l / 4, columns 2 (l % 4) and + 1 of matrix j (without .trans), or
// column l / 4, rows 2 (l % 4) and + 1 (with .trans).
void ldmatrix_x4(const std::vector<int16_t>& smem, const int (&addr)[32], bool trans, int16_t (&regs)[32][4][2]) {
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) {
        const int row = trans ? 2 * (lane % 4) + h : lane / 4;
        const int col = trans ? lane / 4 : 2 * (lane % 4) + h;
        regs[lane][j][h] = smem[addr[8 * j + row] + col];
      }
}

// d += a * b for one warp, from the fragments as the ISA lays them out.
void mma_16816(double (&d)[32][4], const int16_t (&a)[32][4][2], const int16_t (&b)[32][2][2]) {
  double A[16][16], B[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r)
      for (int h = 0; h < 2; ++h) {
        const ElemCoord e = mma_a_elem(lane, r, h);
        A[e.row][e.col] = a[lane][r][h];
      }
    for (int r = 0; r < 2; ++r)
      for (int h = 0; h < 2; ++h) {
        const ElemCoord e = mma_b_elem(lane, r, h);
        B[e.row][e.col] = b[lane][r][h];
      }
  }
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const ElemCoord e = mma_c_elem(lane, i);
      double s = 0;
      for (int k = 0; k < 16; ++k) s += A[e.row][k] * B[k][e.col];
      d[lane][i] += s;
    }
}

// One block tile of C as the kernel computes it, every warp and k tile, single stage.
template <class Cfg>
void emulate_block(int tm, int tn, bool ak, bool bk, int M, int N, int K, const std::vector<int16_t>& A, int lda,
                   const std::vector<int16_t>& B, int ldb, std::vector<double>& C, std::vector<int>& writes) {
  const int m0 = tm * Cfg::BM, n0 = tn * Cfg::BN;
  const int warps = Cfg::kThreads / 32;
  std::vector<double> acc((size_t)warps * Cfg::MI * Cfg::NI * 32 * 4, 0.0);
  auto acc_at = [&](int w, int mi, int ni) { return &acc[(((size_t)w * Cfg::MI + mi) * Cfg::NI + ni) * 128]; };
  std::vector<int16_t> ta(Cfg::BM * kBK), tb(Cfg::BN * kBK);
  for (int kt = 0; kt * kBK < K; ++kt) {
    // Copies: the tile is filled with poison first, so a chunk no copy writes shows up.
    std::fill(ta.begin(), ta.end(), int16_t(0x7777));
    std::fill(tb.begin(), tb.end(), int16_t(0x7777));
    auto copy = [&](std::vector<int16_t>& tile, bool kmajor, int tile_rows, int r0, int rows, const std::vector<int16_t>& X,
                    int ld) {
      for (int t = 0; t < Cfg::kThreads; ++t)
        for (int i = 0; i < tile_rows * kBK / kChunk / Cfg::kThreads; ++i) {
          const ChunkCopy c = dense_chunk(kmajor, t, i, Cfg::kThreads, tile_rows, r0, kt * kBK, rows, K, ld);
          for (int e = 0; e < kChunk; ++e) {
            if (e < c.n) EXPECT(c.src + e >= 0 && c.src + e < (long long)X.size());
            tile[c.dst + e] = e < c.n ? X[c.src + e] : 0;
          }
        }
    };
    copy(ta, ak, Cfg::BM, m0, M, A, lda);
    copy(tb, bk, Cfg::BN, n0, N, B, ldb);
    for (int w = 0; w < warps; ++w) {
      const WarpTile wt = warp_tile(w, Cfg::WARPS_N);
      for (int ks = 0; ks < kBK / 16; ++ks) {
        int16_t a[Cfg::MI][32][4][2];
        int16_t b[Cfg::NI][32][2][2];
        for (int mi = 0; mi < Cfg::MI; ++mi) {
          int addr[32];
          for (int lane = 0; lane < 32; ++lane) addr[lane] = ldsm_a_offset(ak, lane, wt.wm * Cfg::WM + mi * 16, ks, Cfg::BM);
          ldmatrix_x4(ta, addr, !ak, a[mi]);
        }
        for (int nj = 0; nj < Cfg::NI / 2; ++nj) {
          int addr[32];
          for (int lane = 0; lane < 32; ++lane) addr[lane] = ldsm_b_offset(bk, lane, wt.wn * Cfg::WN + nj * 16, ks, Cfg::BN);
          int16_t r[32][4][2];
          ldmatrix_x4(tb, addr, !bk, r);
          for (int lane = 0; lane < 32; ++lane)
            for (int h = 0; h < 2; ++h) {
              b[2 * nj][lane][0][h] = r[lane][0][h];
              b[2 * nj][lane][1][h] = r[lane][1][h];
              b[2 * nj + 1][lane][0][h] = r[lane][2][h];
              b[2 * nj + 1][lane][1][h] = r[lane][3][h];
            }
        }
        for (int mi = 0; mi < Cfg::MI; ++mi)
          for (int ni = 0; ni < Cfg::NI; ++ni) mma_16816(*reinterpret_cast<double(*)[32][4]>(acc_at(w, mi, ni)), a[mi], b[ni]);
      }
    }
  }
  // Epilogue: C = acc (alpha 1, beta 0), bounds-checked as the kernel does.
  for (int w = 0; w < warps; ++w) {
    const WarpTile wt = warp_tile(w, Cfg::WARPS_N);
    for (int mi = 0; mi < Cfg::MI; ++mi)
      for (int ni = 0; ni < Cfg::NI; ++ni)
        for (int lane = 0; lane < 32; ++lane)
          for (int i = 0; i < 4; ++i) {
            const ElemCoord e = mma_c_elem(lane, i);
            const int row = m0 + wt.wm * Cfg::WM + mi * 16 + e.row, col = n0 + wt.wn * Cfg::WN + ni * 8 + e.col;
            if (row < M && col < N) {
              C[(size_t)row * N + col] = acc_at(w, mi, ni)[lane * 4 + i];
              writes[(size_t)row * N + col]++;
            }
          }
  }
}

template <class Cfg>
void check_product(const char* name, bool ak, bool bk, int M, int N, int K, int pad) {
  // Stored shapes: A [M,K] (ak) or [K,M]; B [N,K] (bk) or [K,N]; rows padded by `pad`.
  const int lda = (ak ? K : M) + pad, ldb = (bk ? K : N) + pad;
  std::vector<int16_t> A((size_t)(ak ? M : K) * lda), B((size_t)(bk ? N : K) * ldb);
  unsigned s = 12345u + (unsigned)(M * 31 + N * 7 + K);
  auto next = [&]() {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    return (int16_t)((int)(s % 9) - 4);
  };
  for (auto& v : A) v = next();
  for (auto& v : B) v = next();
  auto a_at = [&](int m, int k) { return (double)(ak ? A[(size_t)m * lda + k] : A[(size_t)k * lda + m]); };
  auto b_at = [&](int k, int n) { return (double)(bk ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n]); };
  std::vector<double> C((size_t)M * N, -1e30);
  std::vector<int> writes((size_t)M * N, 0);
  const int tiles_m = (M + Cfg::BM - 1) / Cfg::BM, tiles_n = (N + Cfg::BN - 1) / Cfg::BN;
  for (int b = 0; b < tiles_m * tiles_n; ++b) {
    const BlockTile t = block_tile(b, tiles_m, tiles_n);
    emulate_block<Cfg>(t.tm, t.tn, ak, bk, M, N, K, A, lda, B, ldb, C, writes);
  }
  int bad = 0, miswritten = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double want = 0;
      for (int k = 0; k < K; ++k) want += a_at(m, k) * b_at(k, n);
      if (C[(size_t)m * N + n] != want) bad++;
      if (writes[(size_t)m * N + n] != 1) miswritten++;
    }
  std::printf("%-34s %s A %s, B %s, M %d N %d K %d: %d wrong, %d not written once\n", name, ak ? "k-major" : "m-major",
              ak ? "[M,K]" : "[K,M]", bk ? "[N,K]" : "[K,N]", M, N, K, bad, miswritten);
  EXPECT(bad == 0);
  EXPECT(miswritten == 0);
}

// The GEMM's quantized B loader (QuantLoader in gemm_quant_kernel.cuh) replayed for every thread
// and k tile of each block of a [rows, cols] matrix; the tile must hold the CPU's dequantized
// values exactly (before the bf16 rounding the GPU applies when storing).
template <class Cfg>
void check_quant_loader(QuantType t, int rows, int cols) {
  std::vector<float> f((size_t)rows * cols);
  unsigned s = 777u + (unsigned)t;
  for (float& v : f) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    v = 0.05f * ((float)(s >> 8) / 8388608.0f - 1.0f);
  }
  const tuner::QuantMatrix q = tuner::quantize_matrix(f.data(), rows, cols, t, nullptr);
  std::vector<float> deq(f.size());
  tuner::dequantize_matrix(deq.data(), q);
  const size_t row_bytes = q.data.size() / rows;
  const float* map = tuner::nf4_absmax_map();
  int wrong = 0;
  for (int n0 = 0; n0 < rows; n0 += Cfg::BN)
    for (int kt = 0; kt < cols / kBK; ++kt) {
      std::vector<float> tile((size_t)Cfg::BN * kBK, NAN);
      for (int tid = 0; tid < Cfg::kThreads; ++tid) {
        const TileCoord c = quant_decode_coord(tid);
        const int n = n0 + c.row, half = c.chunk / 2;
        float v[16] = {};
        if (n < rows) {
          const uint8_t* row = q.data.data() + (size_t)n * row_bytes;
          const uint8_t* bytes = row + QD::tile_bytes_offset(t, kt, half);
          uint32_t words[4] = {};
          const int nbytes = t == QuantType::NF4 ? 8 : 16;
          for (int j = 0; j < nbytes; ++j) words[j / 4] |= (uint32_t)bytes[j] << (8 * (j % 4));
          if (t == QuantType::NF4) {
            const int64_t b = ((int64_t)n * cols + kt * kBK) / tuner::kQKNF4;
            const float a = QD::nf4_absmax(map[q.absmax_q[b]], q.absmax_scale[b / tuner::kNF4ScaleBlock], q.absmax_offset);
            QD::decode16_nf4(words, tuner::kNF4Values, a, v);
          } else if (t == QuantType::INT8) {
            QD::decode16_int8(words, q.row_scale[n], v);
          } else {
            const uint8_t* d = row + QD::tile_scale_offset(t, kt);
            const float scale = tuner::f16_to_f32((uint16_t)(d[0] | (d[1] << 8)));
            if (t == QuantType::Q8_0) QD::decode16_int8(words, scale, v);
            else QD::decode16_q4_0(words, c.chunk != 0, scale, v);
          }
        }
        for (int e = 0; e < kChunk; ++e) {
          tile[kmajor_offset(c.row, c.chunk) + e] = v[e];
          tile[kmajor_offset(c.row, c.chunk + 1) + e] = v[kChunk + e];
        }
      }
      for (int r = 0; r < Cfg::BN; ++r)
        for (int k = 0; k < kBK; ++k) {
          const float got = tile[kmajor_offset(r, k / kChunk) + k % kChunk];
          const float want = n0 + r < rows ? deq[(size_t)(n0 + r) * cols + kt * kBK + k] : 0.0f;
          if (!(got == want)) wrong++;
        }
    }
  std::printf("quantized tile loader %-5s [%d, %d], %dx%d tiles: %d values differ from dequantize_matrix\n",
              tuner::quant_type_name(t), rows, cols, Cfg::BM, Cfg::BN, wrong);
  EXPECT(wrong == 0);
}

}  // namespace

int main() {
  check_swizzles();
  check_bank_conflicts<BigTile>();
  check_bank_conflicts<SmallTile>();
  check_block_raster();
  for (bool ak : {true, false})
    for (bool bk : {true, false}) {
      // Edge tiles in M, N and K (K not a multiple of 8), two tiles each way, padded strides.
      check_product<BigTile>("128x128 tiles", ak, bk, 131, 136, 45, 3);
      check_product<SmallTile>("64x64 tiles", ak, bk, 70, 129, 67, 8);
      // A LoRA-rank product and a single row.
      check_product<SmallTile>("64x64 tiles, rank 8", ak, bk, 8, 40, 16, 0);
      check_product<SmallTile>("64x64 tiles, one row", ak, bk, 1, 7, 33, 1);
    }
  for (QuantType t : {QuantType::NF4, QuantType::INT8, QuantType::Q8_0, QuantType::Q4_0}) {
    check_quant_loader<SmallTile>(t, 70, 640);   // edge rows; 10 nf4 blocks per row, 700 blocks
    check_quant_loader<BigTile>(t, 130, 128);
  }
  std::printf("%s\n", g_failures ? "FAILED" : "all layout checks passed");
  return g_failures ? 1 : 0;
}
