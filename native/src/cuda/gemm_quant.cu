// Dequantizing products on the GPU (gemm.cuh): quantized weights uploaded as the host stores
// them, the prefill/training GEMM that decodes them to bf16 inside its load stage, the decode
// GEMV, and a plain dequantization to bf16 (QLoRA's backward and the fallback for shapes the
// fused GEMM does not take).
#include <algorithm>
#include <string>
#include <type_traits>

#include "cuda/gemm_launch.cuh"
#include "cuda/gemm_quant_kernel.cuh"
#include "quant/quant_internal.h"
#include "tuner/error.h"

namespace tuner::cuda {

using namespace gemm_detail;

namespace {

QuantView view_of(const DeviceQuantMatrix& w) {
  return QuantView{w.rows,
                   w.cols,
                   w.row_bytes,
                   static_cast<const uint8_t*>(w.data.data()),
                   static_cast<const float*>(w.row_scale.data()),
                   static_cast<const uint8_t*>(w.absmax_q.data()),
                   static_cast<const float*>(w.absmax_scale.data()),
                   w.absmax_offset,
                   static_cast<const float*>(w.codebooks.data())};
}

// Runs fn(std::integral_constant<QuantType, F>) for the matrix's format F, which each kernel
// takes as a compile-time constant.
template <QuantType F>
using Format = std::integral_constant<QuantType, F>;
template <class Fn>
void with_format(QuantType t, Fn&& fn) {
  switch (t) {
    case QuantType::F32: return fn(Format<QuantType::F32>{});
    case QuantType::F16: return fn(Format<QuantType::F16>{});
    case QuantType::Q8_0: return fn(Format<QuantType::Q8_0>{});
    case QuantType::Q4_0: return fn(Format<QuantType::Q4_0>{});
    case QuantType::INT8: return fn(Format<QuantType::INT8>{});
    case QuantType::NF4: return fn(Format<QuantType::NF4>{});
    case QuantType::BF16: break;  // bf16 weights are plain bf16 matrices on the device (gemm, gemv_bf16)
  }
  throw TunerError("unknown_quant_type", "no quantized GEMM for " + std::string(quant_type_name(t)) + " weights");
}

template <class Cfg, QuantType F>
void launch_quant_config(float* Y, int ldy, const uint16_t* X, int ldx, const QuantView& w, int M, bool accumulate,
                         cudaStream_t stream) {
  QuantGemmParams p{M, X, ldx, w, ceil_div(M, Cfg::BM), ceil_div(w.rows, Cfg::BN),
                    epilogue_params(M, w.rows, 1.0f, accumulate ? 1.0f : 0.0f, Y, ldy, false)};
  launch_tiles<Cfg, quant_gemm_kernel<Cfg, F>>(quant_gemm_smem_bytes<Cfg>(), p.tiles_m, p.tiles_n, p, stream);
}

}  // namespace

DeviceQuantMatrix upload_quant_matrix(const QuantMatrix& w, int device) {
  DeviceQuantMatrix d;
  d.type = w.type;
  d.rows = w.rows;
  d.cols = w.cols;
  d.row_bytes = quant_row_bytes(w.type, w.cols);
  d.absmax_offset = w.absmax_offset;
  auto upload = [&](DeviceBuffer& buf, const void* src, size_t bytes) {
    buf = DeviceBuffer(bytes, device);
    if (bytes) buf.copy_from_host(src, bytes);
  };
  upload(d.data, w.data.data(), w.data.size());
  upload(d.row_scale, w.row_scale.data(), w.row_scale.size() * sizeof(float));
  upload(d.absmax_q, w.absmax_q.data(), w.absmax_q.size());
  upload(d.absmax_scale, w.absmax_scale.data(), w.absmax_scale.size() * sizeof(float));
  float codebooks[kCodebookFloats];
  const float* map = nf4_absmax_map();
  for (int i = 0; i < kNF4MapSize; ++i) codebooks[i] = map[i];
  for (int i = 0; i < 16; ++i) codebooks[kNF4MapSize + i] = kNF4Values[i];
  upload(d.codebooks, codebooks, sizeof(codebooks));
  return d;
}

void dequantize_bf16(uint16_t* out, const DeviceQuantMatrix& W, cudaStream_t stream) {
  const int64_t n = (int64_t)W.rows * W.cols;
  if (n == 0) return;
  const int blocks = (int)std::min<int64_t>((n + 255) / 256, 65535);
  const QuantView w = view_of(W);
  with_format(W.type, [&](auto format) {
    constexpr QuantType F = decltype(format)::value;
    dequantize_bf16_kernel<F><<<blocks, 256, 0, stream>>>(reinterpret_cast<__nv_bfloat16*>(out), w);
    TUNER_CUDA_CHECK_LAUNCH();
  });
}

void qgemm_bf16(float* Y, int ldy, const uint16_t* X, int ldx, const DeviceQuantMatrix& W, int M, bool accumulate,
                cudaStream_t stream) {
  if (M < 0 || ldx < W.cols || ldy < W.rows)
    throw TunerError("bad_gemm_shape", "CUDA qgemm: X [" + std::to_string(M) + ", " + std::to_string(W.cols) +
                                           "] (stride " + std::to_string(ldx) + ") times W^T into Y (stride " +
                                           std::to_string(ldy) + ") for W [" + std::to_string(W.rows) + ", " +
                                           std::to_string(W.cols) + "]");
  if (M == 0 || W.rows == 0) return;
  const bool fused_format = W.type == QuantType::NF4 || W.type == QuantType::INT8 || W.type == QuantType::Q8_0 ||
                            W.type == QuantType::Q4_0;
  if (fused_format && W.cols % L::kBK == 0 && ldx % 8 == 0 && aligned16(X)) {
    const QuantView w = view_of(W);
    const bool big = use_big_tiles(M, W.rows);
    with_format(W.type, [&](auto format) {
      constexpr QuantType F = decltype(format)::value;
      if constexpr (F == QuantType::NF4 || F == QuantType::INT8 || F == QuantType::Q8_0 || F == QuantType::Q4_0) {
        if (big) launch_quant_config<BigTile, F>(Y, ldy, X, ldx, w, M, accumulate, stream);
        else launch_quant_config<SmallTile, F>(Y, ldy, X, ldx, w, M, accumulate, stream);
      }
    });
    return;
  }
  // Other formats and widths: W decoded to a stream-ordered bf16 copy, then the dense GEMM.
  uint16_t* wb = nullptr;
  TUNER_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&wb), (size_t)W.rows * W.cols * sizeof(uint16_t), stream));
  dequantize_bf16(wb, W, stream);
  gemm(Trans::N, Trans::T, M, W.rows, W.cols, 1.0f, X, ldx, wb, W.cols, accumulate ? 1.0f : 0.0f, Y, ldy, stream);
  TUNER_CUDA_CHECK(cudaFreeAsync(wb, stream));
}

void qgemv(float* y, const float* x, const DeviceQuantMatrix& W, int M, bool accumulate, cudaStream_t stream) {
  if (M < 1 || M > kQgemvMaxRows)
    throw TunerError("bad_gemm_shape", "CUDA qgemv takes 1 to " + std::to_string(kQgemvMaxRows) + " rows, got " +
                                           std::to_string(M), "Use qgemm_bf16 for more rows.");
  if (W.rows == 0) return;
  static_assert(kQgemvMaxRows == kGemvMaxM, "the GEMV's accumulators cover kQgemvMaxRows");
  const QuantView w = view_of(W);
  const bool units = W.cols % 32 == 0 && aligned16(x);
  const int rows_per_block = kGemvWarps * kGemvRowsPerWarp;
  const int blocks = ceil_div(W.rows, rows_per_block);
  with_format(W.type, [&](auto format) {
    constexpr QuantType F = decltype(format)::value;
    if (units) qgemv_kernel<F, true><<<blocks, kGemvWarps * 32, 0, stream>>>(y, x, w, M, accumulate);
    else qgemv_kernel<F, false><<<blocks, kGemvWarps * 32, 0, stream>>>(y, x, w, M, accumulate);
    TUNER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace tuner::cuda
