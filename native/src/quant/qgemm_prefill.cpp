// Prefill (many activation rows): the quantized weights go through sgemm's blocked driver and
// micro-kernels unchanged, except that packing a panel of B = W^T decodes the quantized rows
// instead of copying f32 ones. Each weight is decoded once per product, straight into the
// packed panel that the micro-kernel then reuses for all M rows: no f32 copy of the matrix and
// no extra pass over memory. The driver hands its B pointer to the packing routine untouched,
// so B carries the decoding context.
#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm_internal.h"
#include "quant/quant_internal.h"
#include "tuner/error.h"

namespace tuner {

namespace {

struct DecodeContext {
  QuantView w;
  QDecodeRange decode;
  const GemmKernel* base;  // the kernel whose micro-kernel runs, and whose transposing pack we reuse
};

// Packs NR-column slivers [s0, s1) of op(B)[p0 : p0 + kc, j0 : j0 + n] with op(B)(k, j) = w[j, k]:
// decodes the sliver's NR weight rows over columns [p0, p0 + kc) into a row-major scratch tile,
// then packs that tile as a transposed f32 B (the kernel's own in-register transposes).
void pack_decoded(float* dst, const float* B, int64_t, int p0, int kc, int j0, int n, int s0, int s1) {
  const DecodeContext& c = *reinterpret_cast<const DecodeContext*>(B);
  const int NR = c.base->nr;
  thread_local std::vector<float> tile;
  tile.resize((size_t)NR * kc);
  for (int s = s0; s < s1; s++) {
    const int cols = std::min(NR, n - s * NR);
    for (int i = 0; i < cols; i++) c.decode(tile.data() + (size_t)i * kc, c.w, j0 + s * NR + i, p0, p0 + kc);
    float* out = dst + (size_t)s * NR * kc;
    if (c.base->pack_b_cols) {
      c.base->pack_b_cols(out, tile.data(), kc, 0, kc, 0, cols, 0, 1);
      continue;
    }
    for (int k = 0; k < kc; k++)
      for (int i = 0; i < NR; i++) out[(size_t)k * NR + i] = i < cols ? tile[(size_t)i * kc + k] : 0.0f;
  }
}

}  // namespace

void qgemm_prefill(const QgemmKernels& kernels, float* y, const float* x, const QuantView& w, int M, bool accumulate,
                   ThreadPool* pool) {
  const GemmKernel& base = gemm_kernel_best();
  TUNER_CHECK(base.kc % kQKNF4 == 0, "qgemm_prefill: sgemm's k block must hold whole quant blocks");
  GemmKernel k = base;
  k.pack_b_cols = pack_decoded;
  k.skinny = nullptr;  // the skinny path reads B in place; ours must always be packed
  QDecodeRange decode = quant_decode_range(w.type);
  if (&kernels != &qgemm_kernels_generic() && qgemm_decoders_avx2()[(int)w.type]) decode = qgemm_decoders_avx2()[(int)w.type];
  const DecodeContext ctx{w, decode, &base};
  // y[M, R] = x[M, K] @ op(B)[K, R], op(B) = W^T
  sgemm_with_kernel(k, Trans::N, Trans::T, M, w.rows, w.cols, 1.0f, x, w.cols, reinterpret_cast<const float*>(&ctx),
                    w.cols, accumulate ? 1.0f : 0.0f, y, w.rows, pool);
}

}  // namespace tuner
