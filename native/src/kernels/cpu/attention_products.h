// The five matrix products of causal attention on one row block, as attention_cpu.cpp's loops
// ask for them: a task (one batch row and head, or kv head in backward) binds its key and value
// columns, then each block of R query rows [r0, r0 + R) meets keys [k0, k0 + K):
//   scores  P[R, K]  = scale Q_blk K[k0:]^T        values  Y_blk = P V[k0:]
//   dprobs  dP[R, K] = dY_blk V[k0:]^T             dquery  dQ_blk = dS K[k0:]
//   dkey    dK[k0:] += dS^T Q_blk                  dvalue  dV[k0:] += P^T dY_blk
// Q, Y, dY, dQ rows have stride QD; K, V, dK, dV rows stride KD; P, dP and dS are dense [R, K].
// Two ways to run them:
//   BlockGemmProducts  one sgemm (or gemm_bf16, rounding as it packs) per product, any CPU;
//   PackedBf16Products the AVX512_BF16 micro-kernel on operands packed by the products
//                      themselves: a task's keys and values are packed once for all its row
//                      blocks (and the heads of a group), where a gemm_bf16 call per product
//                      would pack them again for every block, and no call's driver runs.
// Both sum every product in the order of k (pairs of k for bf16), so the packed products give
// gemm_bf16's bits wherever their k ranges start alike.
#pragma once
#include <cstdint>

#include "kernels/cpu/gemm_bf16_internal.h"
#include "tuner/ops.h"

namespace tuner {

struct AttentionShape {
  int T, HD, QD, KD;
  int block;  // the most query rows a block holds
};

class BlockGemmProducts {
 public:
  static constexpr int kKeyAlign = 1;  // a block's keys may start anywhere
  BlockGemmProducts(const AttentionShape& s, bool bf16) : s_(s), bf16_(bf16) {}
  void bind_forward(const float* k, const float* v) { k_ = k, v_ = v; }
  void bind_backward(const float* k, const float* v) { k_ = k, v_ = v; }
  void scores(float* P, const float* q, int R, int k0, int K, float scale);
  void values(float* y, const float* P, int R, int k0, int K);
  void dprobs(float* dP, const float* dy, int R, int k0, int K);
  void dquery(float* dq, const float* dS, int R, int k0, int K);
  void dkey(float* dk, const float* dS, const float* q, int R, int k0, int K);
  void dvalue(float* dv, const float* P, const float* dy, int R, int k0, int K);

 private:
  void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) const;
  AttentionShape s_;
  bool bf16_;
  const float *k_ = nullptr, *v_ = nullptr;
};

class PackedBf16Products {
 public:
  // A block's keys start at a multiple of 32 (the key slivers of the packed K): the loops widen
  // a block's key range down to it, the extra keys masked like any key outside a row's reach.
  static constexpr int kKeyAlign = 32;
  // Buffers are this thread's (gemm_scratch): one object per thread at a time.
  PackedBf16Products(const AttentionShape& s, const GemmBf16Kernel& kern);
  // Packs what the pass's products read of the task's keys and values; the same columns as the
  // last task's (the next head of a group) are not packed again.
  void bind_forward(const float* k, const float* v);
  void bind_backward(const float* k, const float* v);
  void scores(float* P, const float* q, int R, int k0, int K, float scale);
  void values(float* y, const float* P, int R, int k0, int K);
  void dprobs(float* dP, const float* dy, int R, int k0, int K);
  void dquery(float* dq, const float* dS, int R, int k0, int K);
  void dkey(float* dk, const float* dS, const float* q, int R, int k0, int K);
  void dvalue(float* dv, const float* P, const float* dy, int R, int k0, int K);

 private:
  void pack_rows_kmajor(uint32_t* dst, int W, const float* x, int64_t ld, int lines, int kc) const;
  void pack_rows_pairs(uint32_t* dst, int W, const float* x, int64_t ld, int lines, int kc) const;
  // Where a product's keys run: along its columns (scores), its k (P V, dS K) or its rows (dK, dV).
  enum class Keys { AlongN, AlongK, AlongM };
  void product(Keys keys, int M, int N, int kp, const uint32_t* a, const uint32_t* b, int64_t b_stride, float* c,
               int64_t ldc, float alpha, float beta, int diag) const;
  void update(float* c, const float* A, int ldA, const float* X, int R, int K) const;

  AttentionShape s_;
  const GemmBf16Kernel& kern_;
  int hp_, tp_;  // k pairs of a head (HD) and of all keys (T)
  // Keys (and values) as the products read them: *_kmajor slivers of 32 keys with the head's
  // pairs along k (K^T, V^T as right operands), *_pairs slivers of 32 head columns with pairs of
  // keys along k (K, V as right operands).
  uint32_t *k_kmajor_, *v_kmajor_, *k_pairs_, *v_pairs_;
  uint32_t *a_pack_, *b_pack_;  // a block's left operand, and its rows as a right operand
  const float *bound_k_ = nullptr, *bound_v_ = nullptr;
  bool bound_backward_ = false;
};

// attention_forward and attention_backward (tuner/ops.h) on an explicit path: PackedBf16Products
// on `packed`, or (null) BlockGemmProducts. The public functions take the packed products for
// bf16 on CPUs with AVX512_BF16; tests run both paths there.
void attention_forward_on(const GemmBf16Kernel* packed, float* y, float* lse, const float* q, const float* k,
                          const float* v, float* scratch, int B, int T, int NH, int NKV, int HD, int window,
                          ThreadPool* pool, const AttentionExtras* ex, const int32_t* sample_start);
void attention_backward_on(const GemmBf16Kernel* packed, float* dq, float* dk, float* dv, const float* dy,
                           const float* y, const float* lse, const float* q, const float* k, const float* v,
                           float* scratch, int B, int T, int NH, int NKV, int HD, int window, ThreadPool* pool,
                           const AttentionExtras* ex, const int32_t* sample_start);

}  // namespace tuner
