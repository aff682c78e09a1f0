// Attention's block products (attention_products.h): per-product GEMM calls, and the packed
// bf16 products that pack a task's keys and values once and run the micro-kernel directly.
#include "kernels/cpu/attention_products.h"

#include <algorithm>

#include "kernels/cpu/gemm_internal.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"

namespace tuner {

void BlockGemmProducts::gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
                             const float* B, int ldb, float beta, float* C, int ldc) const {
  // No pool: attention's tasks already run one per thread.
  if (bf16_) gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr);
  else sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr);
}

void BlockGemmProducts::scores(float* P, const float* q, int R, int k0, int K, float scale) {
  gemm(Trans::N, Trans::T, R, K, s_.HD, scale, q, s_.QD, k_ + int64_t(k0) * s_.KD, s_.KD, 0.0f, P, K);
}
void BlockGemmProducts::values(float* y, const float* P, int R, int k0, int K) {
  gemm(Trans::N, Trans::N, R, s_.HD, K, 1.0f, P, K, v_ + int64_t(k0) * s_.KD, s_.KD, 0.0f, y, s_.QD);
}
void BlockGemmProducts::dprobs(float* dP, const float* dy, int R, int k0, int K) {
  gemm(Trans::N, Trans::T, R, K, s_.HD, 1.0f, dy, s_.QD, v_ + int64_t(k0) * s_.KD, s_.KD, 0.0f, dP, K);
}
void BlockGemmProducts::dquery(float* dq, const float* dS, int R, int k0, int K) {
  gemm(Trans::N, Trans::N, R, s_.HD, K, 1.0f, dS, K, k_ + int64_t(k0) * s_.KD, s_.KD, 0.0f, dq, s_.QD);
}
void BlockGemmProducts::dkey(float* dk, const float* dS, const float* q, int R, int k0, int K) {
  gemm(Trans::T, Trans::N, K, s_.HD, R, 1.0f, dS, K, q, s_.QD, 1.0f, dk + int64_t(k0) * s_.KD, s_.KD);
}
void BlockGemmProducts::dvalue(float* dv, const float* P, const float* dy, int R, int k0, int K) {
  gemm(Trans::T, Trans::N, K, s_.HD, R, 1.0f, P, K, dy, s_.QD, 1.0f, dv + int64_t(k0) * s_.KD, s_.KD);
}

namespace {
constexpr int kKeySliver = PackedBf16Products::kKeyAlign;
// Elements rounded up to a whole cache line, so every region below starts 64-byte aligned (the
// micro-kernel loads right operands with aligned loads).
int64_t lines64(int64_t words) { return (words + 15) / 16 * 16; }
}  // namespace

PackedBf16Products::PackedBf16Products(const AttentionShape& s, const GemmBf16Kernel& kern)
    : s_(s), kern_(kern), hp_((s.HD + 1) / 2), tp_((s.T + 1) / 2) {
  const int mr = kern.mr, nr = kern.nr, rp = (s.block + 1) / 2;
  const int64_t kmajor = lines64(int64_t(ceil_div(s.T, kKeySliver)) * kKeySliver * hp_);
  const int64_t pairs = lines64(int64_t(ceil_div(s.HD, nr)) * nr * tp_);
  // Left operands: a block's rows with k along the head or the keys, or its keys with k along rows.
  const int64_t a = lines64(std::max(int64_t(ceil_div(s.block, mr)) * mr * std::max(hp_, tp_),
                                     int64_t(ceil_div(s.T, mr)) * mr * rp));
  const int64_t b = lines64(int64_t(ceil_div(s.HD, nr)) * nr * rp);
  uint32_t* base = reinterpret_cast<uint32_t*>(gemm_scratch(GemmScratch::Attention, size_t(2 * kmajor + 2 * pairs + a + b)));
  k_kmajor_ = base;
  v_kmajor_ = k_kmajor_ + kmajor;
  k_pairs_ = v_kmajor_ + kmajor;
  v_pairs_ = k_pairs_ + pairs;
  a_pack_ = v_pairs_ + pairs;
  b_pack_ = a_pack_ + a;
}

// W-line slivers of `lines` lines of x (line i at x + i * ld) holding k contiguously, kc of it.
void PackedBf16Products::pack_rows_kmajor(uint32_t* dst, int W, const float* x, int64_t ld, int lines, int kc) const {
  const int kp = (kc + 1) / 2;
  for (int s = 0; s * W < lines; ++s)
    kern_.pack_kmajor_f32(dst + int64_t(s) * W * kp, W, x + int64_t(s) * W * ld, ld, std::min(W, lines - s * W), kc);
}

// W-line slivers of `lines` lines of x (line i at x + i) with k across its rows (row k at x + k * ld).
void PackedBf16Products::pack_rows_pairs(uint32_t* dst, int W, const float* x, int64_t ld, int lines, int kc) const {
  const int kp = (kc + 1) / 2;
  for (int s = 0; s * W < lines; ++s)
    kern_.round_pairs(dst + int64_t(s) * W * kp, W, x + s * W, ld, std::min(W, lines - s * W), kc);
}

// C[M, N] = alpha * A B + beta * C over kp pairs of k: A in mr-line slivers (a), B in nr-column
// slivers b_stride apart (b). Each B sliver stays in L1 while A's slivers pass it. Only the tiles
// and k the causal mask leaves are computed (row i of the block sees keys j <= i + diag): past a
// row sliver's last key the scores are never read and P and dS are zero, so what is skipped is
// either unread or a sum of zeros, and the sums keep their order and bits.
void PackedBf16Products::product(Keys keys, int M, int N, int kp, const uint32_t* a, const uint32_t* b,
                                 int64_t b_stride, float* c, int64_t ldc, float alpha, float beta, int diag) const {
  const int mr = kern_.mr, nr = kern_.nr;
  for (int j = 0; j < N; j += nr)
    for (int i = 0; i < M; i += mr) {
      const int lines = std::min(mr, M - i);
      int cols = std::min(nr, N - j), k_first = 0, k_end = kp;
      if (keys == Keys::AlongN) {  // the sliver's rows see keys [0, i + lines + diag)
        const int seen = i + lines + diag;
        if (j >= seen) continue;
        cols = std::min(cols, seen - j);
      } else if (keys == Keys::AlongK) {
        k_end = std::min(kp, (i + lines + diag + 1) / 2);
      } else {  // Keys::AlongM: rows from i - diag on see the sliver's keys
        k_first = std::max(0, i - diag) / 2;
        if (k_first >= kp) continue;
      }
      kern_.micro(k_end - k_first, a + int64_t(i) * kp + int64_t(k_first) * mr,
                  b + int64_t(j / nr) * b_stride + int64_t(k_first) * nr, c + int64_t(i) * ldc + j, ldc, lines, cols,
                  alpha, beta);
    }
}

void PackedBf16Products::bind_forward(const float* k, const float* v) {
  if (k == bound_k_ && v == bound_v_ && !bound_backward_) return;
  pack_rows_kmajor(k_kmajor_, kKeySliver, k, s_.KD, s_.T, s_.HD);
  pack_rows_pairs(v_pairs_, kern_.nr, v, s_.KD, s_.HD, s_.T);
  bound_k_ = k, bound_v_ = v, bound_backward_ = false;
}

void PackedBf16Products::bind_backward(const float* k, const float* v) {
  if (k == bound_k_ && v == bound_v_ && bound_backward_) return;
  pack_rows_kmajor(k_kmajor_, kKeySliver, k, s_.KD, s_.T, s_.HD);
  pack_rows_kmajor(v_kmajor_, kKeySliver, v, s_.KD, s_.T, s_.HD);
  pack_rows_pairs(k_pairs_, kern_.nr, k, s_.KD, s_.HD, s_.T);
  bound_k_ = k, bound_v_ = v, bound_backward_ = true;
}

void PackedBf16Products::scores(float* P, const float* q, int R, int k0, int K, float scale) {
  pack_rows_kmajor(a_pack_, kern_.mr, q, s_.QD, R, s_.HD);
  product(Keys::AlongN, R, K, hp_, a_pack_, k_kmajor_ + int64_t(k0) * hp_, int64_t(kKeySliver) * hp_, P, K, scale, 0.0f,
          K - R);
}

void PackedBf16Products::values(float* y, const float* P, int R, int k0, int K) {
  pack_rows_kmajor(a_pack_, kern_.mr, P, K, R, K);
  product(Keys::AlongK, R, s_.HD, (K + 1) / 2, a_pack_, v_pairs_ + int64_t(k0 / 2) * kern_.nr, int64_t(kern_.nr) * tp_, y,
          s_.QD, 1.0f, 0.0f, K - R);
}

void PackedBf16Products::dprobs(float* dP, const float* dy, int R, int k0, int K) {
  pack_rows_kmajor(a_pack_, kern_.mr, dy, s_.QD, R, s_.HD);
  product(Keys::AlongN, R, K, hp_, a_pack_, v_kmajor_ + int64_t(k0) * hp_, int64_t(kKeySliver) * hp_, dP, K, 1.0f, 0.0f,
          K - R);
}

void PackedBf16Products::dquery(float* dq, const float* dS, int R, int k0, int K) {
  pack_rows_kmajor(a_pack_, kern_.mr, dS, K, R, K);
  product(Keys::AlongK, R, s_.HD, (K + 1) / 2, a_pack_, k_pairs_ + int64_t(k0 / 2) * kern_.nr, int64_t(kern_.nr) * tp_, dq,
          s_.QD, 1.0f, 0.0f, K - R);
}

// c[K, HD] (rows KD apart) += A^T X for A [R, K] (rows ldA apart) and X [R, HD] (rows QD apart):
// dK's and dV's update, k along the block's rows.
void PackedBf16Products::update(float* c, const float* A, int ldA, const float* X, int R, int K) const {
  const int rp = (R + 1) / 2;
  pack_rows_pairs(a_pack_, kern_.mr, A, ldA, K, R);
  pack_rows_pairs(b_pack_, kern_.nr, X, s_.QD, s_.HD, R);
  product(Keys::AlongM, K, s_.HD, rp, a_pack_, b_pack_, int64_t(kern_.nr) * rp, c, s_.KD, 1.0f, 1.0f, K - R);
}

void PackedBf16Products::dkey(float* dk, const float* dS, const float* q, int R, int k0, int K) {
  update(dk + int64_t(k0) * s_.KD, dS, K, q, R, K);
}

void PackedBf16Products::dvalue(float* dv, const float* P, const float* dy, int R, int k0, int K) {
  update(dv + int64_t(k0) * s_.KD, P, K, dy, R, K);
}

}  // namespace tuner
