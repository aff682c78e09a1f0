// The flash-attention kernels' tiling, masking and online-softmax algebra as host-device inline
// functions (TUNER_HD from tuner/ops.h: __host__ __device__ under nvcc, plain inline in C++), so
// that test_cuda_attention_tiling.cpp runs the very same rules on the CPU: a simulation of the
// CUDA forward and backward tile loops built from them must equal the engine's attention, and the
// tile-skip rules must never skip a tile holding a visible (query, key) pair.
//
// Which keys query i sees is the CPU engine's rule (ops.h, attention_forward_ref): causal
// j <= i; a sliding window W > 0 keeps W keys, i - W < j <= i; packed rows (sample_start) keep
// j >= the start of i's record. Records follow each other, so a row's first key never decreases
// with i (packed_rows.cpp checks that): a query block's first key is its first row's.
//
// Scores are carried in log2 units (t = s * log2 e) so the kernels exponentiate with ex2; the
// saved logsumexp is in natural units, as the CPU engine's lse is.
#pragma once
#include <cmath>
#include <cstdint>

#include "tuner/ops.h"

namespace tuner::attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

TUNER_HD int min_int(int a, int b) { return a < b ? a : b; }
TUNER_HD int max_int(int a, int b) { return a > b ? a : b; }

// 2^x: the GPU's ex2 instruction (2 ulp, flushes denormals, 2^-inf = 0), std::exp2 on the CPU.
TUNER_HD float exp2_fast(float x) {
#if defined(__CUDA_ARCH__)
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return std::exp2(x);
#endif
}

// ---- which keys a query sees ----

// The first key query i sees; record_start is sample_start[i] (0 without packed rows).
TUNER_HD int first_key(int i, int window, int record_start) {
  const int w = window > 0 ? max_int(0, i - window + 1) : 0;
  return max_int(w, record_start);
}

// Whether query i sees key j (rows at or past T, a block's padding, see nothing).
TUNER_HD bool visible(int i, int j, int T, int window, int record_start) {
  return i < T && j <= i && j >= first_key(i, window, record_start);
}

struct TileRange {
  int begin, end;  // tile indices [begin, end)
};

// Forward (and the dQ view): the key tiles of BN keys that query rows [m0, m0 + BM) visit.
// record_start_m0: sample_start of row m0 (0 without packed rows). Tiles left of the first row's
// first key and right of the last real row are never loaded.
TUNER_HD TileRange key_tiles(int m0, int BM, int BN, int T, int window, int record_start_m0) {
  const int last = min_int(T, m0 + BM) - 1;
  return {first_key(m0, window, record_start_m0) / BN, last / BN + 1};
}

// Whether every (query, key) pair of rows [m0, last] and keys [n0, n0 + BN) is visible, so the
// tile needs no per-element mask: its last key is at or before the first row (causal) and its
// first key at or after the last row's first key (window, record). record_start_last:
// sample_start of row `last`.
TUNER_HD bool tile_unmasked(int m0, int last, int n0, int BN, int window, int record_start_last) {
  return n0 + BN - 1 <= m0 && n0 >= first_key(last, window, record_start_last);
}

// Backward: the query blocks of BM rows that can see keys [n0, n0 + BN): from the block holding
// query n0 (causal) to the one holding the last query whose window still reaches the tile's
// last key, n_last + W - 1.
TUNER_HD TileRange query_tiles(int n0, int BN, int BM, int T, int window) {
  const int n_last = min_int(T, n0 + BN) - 1;
  const int last = window > 0 && window < T ? min_int(T - 1, n_last + window - 1) : T - 1;  // no int overflow
  return {n0 / BM, last / BM + 1};
}

// Backward with packed rows: once a query block's first row belongs to a record that starts
// after the key tile's last key, neither it nor any later block sees the tile (records only
// move forward), so the loop over query blocks stops there.
TUNER_HD bool records_past_keys(int record_start_m0, int n_last) { return record_start_m0 > n_last; }

// ---- scores ----

// What the score of query i and key j adds to the dot product q.k (the CPU engine's
// AttentionExtras): scale (always), then soft-capping cap * tanh(s / cap) when cap > 0, then
// ALiBi's slope * (j - i) (slope 0: none). Returned in log2 units.
TUNER_HD float score_log2(float qk, float scale, float softcap, float alibi_slope, int i, int j) {
  float s = qk * scale;
  if (softcap > 0) s = softcap * tanhf(s / softcap);
  s += alibi_slope * (float)(j - i);
  return s * kLog2e;
}

// d score / d(q.k): scale, times 1 - tanh^2 under soft-capping (the CPU backward's factor).
TUNER_HD float score_grad_factor(float qk, float scale, float softcap) {
  if (softcap <= 0) return scale;
  const float th = tanhf(qk * scale / softcap);
  return scale * (1.0f - th * th);
}

// ---- online softmax (flash-attention 2) ----
// A row keeps m, the largest visible score so far (log2 units; -inf before any), l, the sum of
// 2^(t - m) over the keys seen, and its output accumulator, also relative to 2^m. After a tile
// whose visible scores peak at tile_max:
//   m' = max(m, tile_max); shift = m' (0 while m' = -inf, so no -inf - -inf);
//   p_j = 2^(t_j - shift) (0 for masked keys, scored -inf);
//   l' = l * 2^(m - shift) + sum p_j;  acc' = acc * 2^(m - shift) + sum p_j v_j.

TUNER_HD float online_max(float m_old, float tile_max) { return m_old > tile_max ? m_old : tile_max; }
TUNER_HD float online_shift(float m_new) { return m_new == -INFINITY ? 0.0f : m_new; }
// The factor the old l and accumulator are multiplied by (0 when nothing was seen before).
TUNER_HD float online_correction(float m_old, float shift) { return exp2_fast(m_old - shift); }

// The row's logsumexp in natural units, what backward recomputes P from: (m + log2 l) ln 2.
// A row that saw nothing (only padding rows) gets +inf, so its recomputed P is 0.
TUNER_HD float row_lse(float m, float l) { return l > 0 ? (m + log2f(l)) * kLn2 : INFINITY; }
TUNER_HD float row_inv_sum(float l) { return l > 0 ? 1.0f / l : 0.0f; }

// Backward: P of a visible pair from its log2 score and the row's saved lse (natural units).
TUNER_HD float prob_from_lse(float t, float lse) { return exp2_fast(t - lse * kLog2e); }

// Split-K decode: partial states (m_s, l_s, acc_s) over disjoint key ranges combine as
//   M = max m_s, w_s = 2^(m_s - shift(M)), l = sum w_s l_s, out = sum w_s acc_s / l.
TUNER_HD float split_weight(float m_s, float m_all) { return exp2_fast(m_s - online_shift(m_all)); }

// Split-K decode: the number of key chunks of `chunk` keys covering `keys` keys.
TUNER_HD int split_count(int keys, int chunk) { return keys <= 0 ? 0 : (keys + chunk - 1) / chunk; }

// ---- mma.sync m16n8k16 fragments ----
// Where each lane's values sit in the tiles, as (row, col) of the tile in shared memory or of
// the 16x8 product tile. The kernels' address arithmetic (attention_mma.cuh) is these
// functions; test_cuda_attention_fragments.cpp replays them against PTX's ldmatrix and mma
// layouts on the CPU.
struct Coord {
  int row, col;
};

// ldmatrix.x4 row addresses (lanes 8i..8i+7 give matrix i's rows):
// A fragment of rows r0..r0+15, k columns k0..k0+15 from a tile stored [m][k].
TUNER_HD Coord ldsm_a(int r0, int k0, int lane) { return {r0 + (lane & 15), k0 + (lane >> 4) * 8}; }
// B fragments of the n tiles n0..n0+7 (registers 0, 1) and n0+8.. (2, 3) over k0..k0+15 from a
// tile stored [n][k] (plain load).
TUNER_HD Coord ldsm_b_nk(int n0, int k0, int lane) { return {n0 + (lane & 7) + (lane >> 4) * 8, k0 + ((lane >> 3) & 1) * 8}; }
// The same two n tiles from a tile stored [k][n] (.trans load).
TUNER_HD Coord ldsm_b_kn(int k0, int n0, int lane) { return {k0 + (lane & 7) + ((lane >> 3) & 1) * 8, n0 + (lane >> 4) * 8}; }
// An A fragment (m0..m0+15, k0..k0+15) from a tile stored [k][m] (.trans load).
TUNER_HD Coord ldsm_a_km(int k0, int m0, int lane) { return {k0 + (lane & 7) + (lane >> 4) * 8, m0 + ((lane >> 3) & 1) * 8}; }

// Accumulator element e (0..3) of `lane` in a 16x8 product tile. Two adjacent 8-column tiles'
// accumulators, packed in pairs (tile 0: e 0,1 | e 2,3; tile 1: e 0,1 | e 2,3), are the A
// fragment of the 16x16 block they form: P V and dS Q take P and dS from registers.
TUNER_HD Coord c_frag(int lane, int e) { return {(lane >> 2) + 8 * (e >> 1), 2 * (lane & 3) + (e & 1)}; }

}  // namespace tuner::attn
