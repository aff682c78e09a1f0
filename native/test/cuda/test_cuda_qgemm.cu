// The CUDA dequantizing products (src/cuda/gemm.cuh) against the CPU engine's formats
// (tuner/quant.h), on seeded random weights quantized by the engine's own quantize_matrix:
//   - dequantize_bf16 must give exactly f32_to_bf16 of the CPU's dequantize_matrix (every bit:
//     the GPU decoders round each product as the CPU does);
//   - qgemm_bf16 (tensor cores, weights decoded to bf16 in shared memory; the dequantize + gemm
//     fallback for f16/f32 and widths not a multiple of 32) against sgemm on the same bf16 values,
//     limit 2e-5 of the largest output (fp32 summation order only);
//   - qgemv (decode, fp32 x and fp32 weights) against qgemm_reference, limit 1e-5;
// for nf4 (double-quantized), int8, q4_0, q8_0, f16, f32; M = 1..8 and prefill sizes with edge
// tiles; accumulate (y +=) and overwrite.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/gemm.cuh"
#include "cuda_test_util.cuh"
#include "tuner/dtype.h"
#include "tuner/gemm.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

using namespace tuner;
using tuner::cuda_test::DeviceArray;

namespace {

int g_failed = 0;

struct Weights {
  QuantMatrix q;
  cuda::DeviceQuantMatrix dev;
  std::vector<float> deq;  // the CPU's dequantized values
};

Weights make_weights(QuantType t, int rows, int cols, unsigned seed, ThreadPool* pool) {
  Weights w;
  const std::vector<float> f = cuda_test::random_vector((size_t)rows * cols, seed, 0.05f);
  w.q = quantize_matrix(f.data(), rows, cols, t, pool);
  w.dev = cuda::upload_quant_matrix(w.q);
  w.deq.resize(f.size());
  dequantize_matrix(w.deq.data(), w.q);
  return w;
}

void check_dequantize(QuantType t, const Weights& w) {
  DeviceArray<uint16_t> out((size_t)w.q.rows * w.q.cols);
  cuda::dequantize_bf16(out.ptr, w.dev, nullptr);
  TUNER_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<uint16_t> got = out.to_host();
  size_t wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += got[i] != f32_to_bf16(w.deq[i]);
  std::printf("dequantize_bf16 %-5s [%d, %d]: %zu of %zu values differ from the CPU's %s\n", quant_type_name(t),
              w.q.rows, w.q.cols, wrong, got.size(), wrong ? "FAIL" : "ok");
  if (wrong) g_failed++;
}

void check_qgemm(QuantType t, const Weights& w, int M, bool accumulate, unsigned seed, ThreadPool* pool) {
  const int R = w.q.rows, K = w.q.cols;
  std::vector<float> x = cuda_test::random_vector((size_t)M * K, seed);
  std::vector<uint16_t> x16(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x16[i] = f32_to_bf16(x[i]);
    x[i] = bf16_to_f32(x16[i]);
  }
  std::vector<float> wb(w.deq.size());
  for (size_t i = 0; i < wb.size(); ++i) wb[i] = bf16_to_f32(f32_to_bf16(w.deq[i]));
  std::vector<float> y0 = cuda_test::random_vector((size_t)M * R, seed + 1);
  std::vector<float> want = y0;
  sgemm(Trans::N, Trans::T, M, R, K, 1.0f, x.data(), K, wb.data(), K, accumulate ? 1.0f : 0.0f, want.data(), R, pool);
  DeviceArray<uint16_t> dx(x16);
  DeviceArray<float> dy(y0);
  cuda::qgemm_bf16(dy.ptr, R, dx.ptr, K, w.dev, M, accumulate, nullptr);
  TUNER_CUDA_CHECK(cudaDeviceSynchronize());
  char name[96];
  std::snprintf(name, sizeof name, "qgemm_bf16 %s M%d R%d K%d%s", quant_type_name(t), M, R, K, accumulate ? " +=" : "");
  if (!cuda_test::close_enough(name, dy.to_host(), want, 2e-5)) g_failed++;
}

void check_qgemv(QuantType t, const Weights& w, int M, bool accumulate, unsigned seed) {
  const int R = w.q.rows, K = w.q.cols;
  const std::vector<float> x = cuda_test::random_vector((size_t)M * K, seed);
  const std::vector<float> y0 = cuda_test::random_vector((size_t)M * R, seed + 1);
  std::vector<float> want = y0;
  qgemm_reference(want.data(), x.data(), w.q, M, accumulate);
  DeviceArray<float> dx(x), dy(y0);
  cuda::qgemv(dy.ptr, dx.ptr, w.dev, M, accumulate, nullptr);
  TUNER_CUDA_CHECK(cudaDeviceSynchronize());
  char name[96];
  std::snprintf(name, sizeof name, "qgemv %s M%d R%d K%d%s", quant_type_name(t), M, R, K, accumulate ? " +=" : "");
  if (!cuda_test::close_enough(name, dy.to_host(), want, 1e-5)) g_failed++;
}

}  // namespace

int main() {
  cuda_test::require_device();
  ThreadPool pool(0);
  unsigned seed = 100;
  const QuantType types[] = {QuantType::NF4, QuantType::INT8, QuantType::Q4_0, QuantType::Q8_0, QuantType::F16,
                             QuantType::F32};
  // [rows, cols]: cols multiples of 64 (every format), and 2048 (many nf4 absmax blocks: the
  // second-level scale changes every 256 blocks).
  const int shapes[][2] = {{64, 64}, {200, 256}, {1000, 2048}, {4095, 192}};
  for (QuantType t : types)
    for (const auto& s : shapes) {
      const Weights w = make_weights(t, s[0], s[1], seed++, &pool);
      check_dequantize(t, w);
      for (int M : {1, 7, 129, 300}) check_qgemm(t, w, M, M == 7, seed++, &pool);
      for (int M = 1; M <= cuda::kQgemvMaxRows; ++M) check_qgemv(t, w, M, M % 2 == 0, seed++);
    }
  // Widths the blocked formats cannot have: int8 and the plain formats take the fallback
  // (dequantize + dense GEMM) and the GEMV's weight-by-weight path.
  for (QuantType t : {QuantType::INT8, QuantType::F16, QuantType::F32}) {
    const Weights w = make_weights(t, 77, 100, seed++, &pool);
    check_dequantize(t, w);
    check_qgemm(t, w, 33, false, seed++, &pool);
    check_qgemv(t, w, 3, true, seed++);
  }
  // A prefill large enough for the 128x128 tiles.
  const Weights big = make_weights(QuantType::NF4, 2048, 2048, seed++, &pool);
  check_qgemm(QuantType::NF4, big, 2048, true, seed++, &pool);
  std::printf("%s\n", g_failed ? "FAILED" : "all quantized products within their limits");
  return g_failed ? 1 : 0;
}
