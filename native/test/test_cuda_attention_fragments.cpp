// The CUDA attention kernels' fragment addressing (attention_tiles.h: ldsm_*, c_frag), replayed
// on the CPU against PTX's definitions of ldmatrix.x4 (.trans) and mma.sync.m16n8k16 (A, B and
// C fragment layouts, written out here from the PTX ISA independently of those functions).
// Each product a kernel computes is rebuilt warp by warp with the kernels' loops and compared
// with a plain loop: the forward's S = Q K^T and O = P V (P from the S registers), the
// backward's S^T = K Q^T, dV = P^T dY, dK = dS^T Q and dQ = dS K (dS^T read transposed from
// shared memory), the deterministic dQ kernel's dP = dY V^T and dQ = dS K (dS from the dP
// registers), for head dims 64, 80 and 128. Also: every ldmatrix phase (8 rows) of every
// load hits 8 different 16-byte bank groups with the kernels' padded row strides.
#include <array>
#include <cstdio>
#include <set>
#include <vector>

#include "check_macros.h"
#include "cuda/attention_tiles.h"
#include "tuner/rng.h"

using namespace tuner::attn;

namespace {

using Reg = std::array<float, 2>;       // a 32-bit register: two 16-bit values (low, high)
using Frag4 = std::array<std::array<Reg, 4>, 32>;  // 4 registers in each of 32 lanes
using Acc = std::array<std::array<float, 4>, 32>;  // a 16x8 fp32 accumulator tile, 4 per lane

struct Tile {  // a shared-memory tile [rows][stride]
  int rows, stride;
  std::vector<float> v;
  Tile(int r, int s, tuner::Rng& rng) : rows(r), stride(s), v((size_t)r * s) {
    for (auto& x : v) x = (float)(rng.next_u64() % 17) - 8.0f;  // small integers: exact sums
  }
  float at(int r, int c) const { return v[(size_t)r * stride + c]; }
};

// PTX ldmatrix.sync.aligned.m8n8.x4[.trans].b16: lane 8i + r gives the address of row r of
// matrix i. Without .trans lane l receives row l/4, elements 2(l%4), 2(l%4)+1 of each matrix;
// with .trans, elements (2(l%4), l/4) and (2(l%4)+1, l/4) (the matrix transposed).
Frag4 ldmatrix_x4(const Tile& s, const std::array<Coord, 32>& addr, bool trans) {
  Frag4 out{};
  for (int i = 0; i < 4; i++)
    for (int l = 0; l < 32; l++) {
      const int g = l / 4, t = l % 4;
      for (int h = 0; h < 2; h++) {
        const Coord row = trans ? addr[8 * i + 2 * t + h] : addr[8 * i + g];
        const int col = trans ? g : 2 * t + h;
        EXPECT(row.row >= 0 && row.row < s.rows && row.col + col < s.stride);
        out[l][i][h] = s.at(row.row, row.col + col);
      }
    }
  return out;
}

// PTX mma.m16n8k16 .row.col fragments (g = lane / 4, t = lane % 4):
//   A: reg0 (g, 2t+h), reg1 (g+8, 2t+h), reg2 (g, 2t+8+h), reg3 (g+8, 2t+8+h)
//   B: reg0 (k 2t+h, n g), reg1 (k 2t+8+h, n g)
//   C: c0,c1 (g, 2t+h), c2,c3 (g+8, 2t+h)
void mma(Acc& d, const std::array<std::array<Reg, 4>, 32>& a, const std::array<std::array<Reg, 2>, 32>& b) {
  float A[16][16], B[16][8];
  int seenA[16][16] = {}, seenB[16][8] = {};
  for (int l = 0; l < 32; l++) {
    const int g = l / 4, t = l % 4;
    for (int h = 0; h < 2; h++) {
      const int ar[4] = {g, g + 8, g, g + 8}, ac[4] = {2 * t + h, 2 * t + h, 2 * t + 8 + h, 2 * t + 8 + h};
      for (int r = 0; r < 4; r++) {
        A[ar[r]][ac[r]] = a[l][r][h];
        seenA[ar[r]][ac[r]]++;
      }
      B[2 * t + h][g] = b[l][0][h];
      B[2 * t + 8 + h][g] = b[l][1][h];
      seenB[2 * t + h][g]++;
      seenB[2 * t + 8 + h][g]++;
    }
  }
  for (auto& row : seenA)
    for (int n : row) EXPECT(n == 1);
  for (auto& row : seenB)
    for (int n : row) EXPECT(n == 1);
  for (int l = 0; l < 32; l++) {
    const int g = l / 4, t = l % 4;
    for (int e = 0; e < 4; e++) {
      const int r = g + 8 * (e >> 1), c = 2 * t + (e & 1);
      float s = 0;
      for (int k = 0; k < 16; k++) s += A[r][k] * B[k][c];
      d[l][e] += s;
    }
  }
}

template <typename F>
std::array<Coord, 32> lanes(F&& f) {
  std::array<Coord, 32> a{};
  for (int l = 0; l < 32; l++) a[l] = f(l);
  return a;
}

// The two B fragments (n tiles 0 and 1) of an x4 load.
std::array<std::array<Reg, 2>, 32> b_tile(const Frag4& f, int tile) {
  std::array<std::array<Reg, 2>, 32> b{};
  for (int l = 0; l < 32; l++) b[l] = {f[l][2 * tile], f[l][2 * tile + 1]};
  return b;
}

// The A fragment over 16 k made of two accumulator tiles (the kernels' E::pack order).
std::array<std::array<Reg, 4>, 32> a_from_acc(const Acc& t0, const Acc& t1) {
  std::array<std::array<Reg, 4>, 32> a{};
  for (int l = 0; l < 32; l++)
    a[l] = {Reg{t0[l][0], t0[l][1]}, Reg{t0[l][2], t0[l][3]}, Reg{t1[l][0], t1[l][1]}, Reg{t1[l][2], t1[l][3]}};
  return a;
}

// A warp's [16 x 8*NT] result tiles against want(row, col) with c_frag's coordinates.
template <typename F>
void expect_tiles(const std::vector<Acc>& tiles, F&& want) {
  for (size_t nt = 0; nt < tiles.size(); nt++)
    for (int l = 0; l < 32; l++)
      for (int e = 0; e < 4; e++) {
        const Coord x = c_frag(l, e);
        EXPECT(tiles[nt][l][e] == want(x.row, (int)nt * 8 + x.col));
      }
}

// C = A B^T with A stored [m][k] (rows m0..m0+15), B stored [n][k] (n rows): S = Q K^T,
// S^T = K Q^T, dP^T = V dY^T. kK: the reduced dimension.
std::vector<Acc> product_nk(const Tile& a, int m0, const Tile& b, int n, int kK) {
  std::vector<Acc> c(n / 8, Acc{});
  for (int ks = 0; ks < kK / 16; ks++) {
    const Frag4 fa = ldmatrix_x4(a, lanes([&](int l) { return ldsm_a(m0, ks * 16, l); }), false);
    for (int np = 0; np < n / 16; np++) {
      const Frag4 fb = ldmatrix_x4(b, lanes([&](int l) { return ldsm_b_nk(np * 16, ks * 16, l); }), false);
      mma(c[2 * np], fa, b_tile(fb, 0));
      mma(c[2 * np + 1], fa, b_tile(fb, 1));
    }
  }
  return c;
}

// C = P B with P in accumulator tiles (16 x kK, from a product above), B stored [k][n] (n
// columns): O = P V, dV = P^T dY, dK = dS^T Q.
std::vector<Acc> product_acc_kn(const std::vector<Acc>& p, const Tile& b, int n) {
  std::vector<Acc> c(n / 8, Acc{});
  for (size_t ks = 0; ks < p.size() / 2; ks++) {
    const auto a = a_from_acc(p[2 * ks], p[2 * ks + 1]);
    for (int dp = 0; dp < n / 16; dp++) {
      const Frag4 fb = ldmatrix_x4(b, lanes([&](int l) { return ldsm_b_kn((int)ks * 16, dp * 16, l); }), true);
      mma(c[2 * dp], a, b_tile(fb, 0));
      mma(c[2 * dp + 1], a, b_tile(fb, 1));
    }
  }
  return c;
}

void check_products(int HD) {
  tuner::Rng rng(HD);
  const int S = HD + 8, BM = 64, BN = 64;
  const Tile Q(BM, S, rng), K(BN, S, rng), V(BN, S, rng), dO(BM, S, rng), dST(BN, BM + 8, rng);
  for (int warp = 0; warp < 4; warp++) {
    // Forward: S = Q K^T on the warp's 16 query rows, then O = P V with P = S's registers.
    const auto s = product_nk(Q, warp * 16, K, BN, HD);
    expect_tiles(s, [&](int r, int j) {
      float x = 0;
      for (int e = 0; e < HD; e++) x += Q.at(warp * 16 + r, e) * K.at(j, e);
      return x;
    });
    const auto o = product_acc_kn(s, V, HD);
    expect_tiles(o, [&](int r, int d) {
      float x = 0;
      for (int j = 0; j < BN; j++) {
        float sj = 0;
        for (int e = 0; e < HD; e++) sj += Q.at(warp * 16 + r, e) * K.at(j, e);
        x += sj * V.at(j, d);
      }
      return x;
    });
    // Backward: S^T = K Q^T on the warp's 16 keys; dV = P^T dY and dK = dS^T Q from registers.
    const auto st = product_nk(K, warp * 16, Q, BM, HD);
    expect_tiles(st, [&](int r, int i) {
      float x = 0;
      for (int e = 0; e < HD; e++) x += K.at(warp * 16 + r, e) * Q.at(i, e);
      return x;
    });
    const auto dv = product_acc_kn(st, dO, HD);
    expect_tiles(dv, [&](int r, int d) {
      float x = 0;
      for (int i = 0; i < BM; i++) {
        float p = 0;
        for (int e = 0; e < HD; e++) p += K.at(warp * 16 + r, e) * Q.at(i, e);
        x += p * dO.at(i, d);
      }
      return x;
    });
    // dQ = dS K for the warp's 16 query rows: dS^T stored [key][query], read with .trans.
    std::vector<Acc> dq(HD / 8, Acc{});
    for (int ks = 0; ks < BN / 16; ks++) {
      const Frag4 fa = ldmatrix_x4(dST, lanes([&](int l) { return ldsm_a_km(ks * 16, warp * 16, l); }), true);
      std::array<std::array<Reg, 4>, 32> a{};
      for (int l = 0; l < 32; l++) a[l] = fa[l];
      for (int dp = 0; dp < HD / 16; dp++) {
        const Frag4 fb = ldmatrix_x4(K, lanes([&](int l) { return ldsm_b_kn(ks * 16, dp * 16, l); }), true);
        mma(dq[2 * dp], a, b_tile(fb, 0));
        mma(dq[2 * dp + 1], a, b_tile(fb, 1));
      }
    }
    expect_tiles(dq, [&](int r, int d) {
      float x = 0;
      for (int j = 0; j < BN; j++) x += dST.at(j, warp * 16 + r) * K.at(j, d);
      return x;
    });
    // The deterministic dQ kernel (attention_dq.cu): dP = dY V^T on the warp's 16 query rows (the
    // forward's Q K^T with dY, V), then dQ = dS K with dS in the dP registers (P V with V := K).
    const auto dp = product_nk(dO, warp * 16, V, BN, HD);
    auto dp_at = [&](int r, int j) {
      float x = 0;
      for (int e = 0; e < HD; e++) x += dO.at(warp * 16 + r, e) * V.at(j, e);
      return x;
    };
    expect_tiles(dp, dp_at);
    const auto dq_rows = product_acc_kn(dp, K, HD);
    expect_tiles(dq_rows, [&](int r, int d) {
      float x = 0;
      for (int j = 0; j < BN; j++) x += dp_at(r, j) * K.at(j, d);
      return x;
    });
  }
}

// Each ldmatrix phase reads 8 rows of 16 bytes: conflict-free when their addresses fall in 8
// different 16-byte bank groups (128 bytes of banks / 16).
template <typename F>
void check_phases(int stride_elems, F&& coord) {
  for (int i = 0; i < 4; i++) {
    std::set<int> groups;
    for (int r = 0; r < 8; r++) {
      const Coord x = coord(8 * i + r);
      const int byte = (x.row * stride_elems + x.col) * 2;
      EXPECT(byte % 16 == 0);  // ldmatrix rows are 16-byte aligned
      groups.insert(byte / 16 % 8);
    }
    EXPECT(groups.size() == 8);
  }
}

void check_bank_conflicts() {
  for (int HD : {64, 80, 96, 128}) {
    const int S = HD + 8;
    for (int k0 : {0, 16, 32})
      for (int r0 : {0, 16, 48}) {
        check_phases(S, [&](int l) { return ldsm_a(r0, k0, l); });
        check_phases(S, [&](int l) { return ldsm_b_nk(r0, k0, l); });
        check_phases(S, [&](int l) { return ldsm_b_kn(k0, r0, l); });
        check_phases(64 + 8, [&](int l) { return ldsm_a_km(k0, r0, l); });
      }
  }
}

}  // namespace

int main() {
  for (int HD : {64, 80, 128}) check_products(HD);
  check_bank_conflicts();
  return finish("test_cuda_attention_fragments");
}
