// tuner-bench-cuda-gemm: the CUDA tensor-core GEMMs (src/cuda/gemm.cuh) on the products of one
// training step of a ~1B Llama (hidden 2048, intermediate 5632, vocab 32000, GQA with 4 KV heads
// of 64) at --tokens (default 8192 = 4 x seq 2048), and the quantized decode GEMV.
//   GEMM lines: TFLOP/s (2 M N K per call, median of --reps after warm-up) and the share of the
//   GPU's published dense bf16 peak (tuner/cuda_device.h), for the forward X W^T, dX = dY W and
//   dW += dY^T X of each linear, LoRA's rank-16 products, and nf4 prefill (weights decoded in the
//   load stage) next to the bf16 GEMM of the same shape.
//   GEMV lines (M = 1, decode): GB/s of packed weights streamed, against this GPU's device-to-device
//   copy bandwidth measured in the same run (read + written bytes per second).
//   The dense lines time our kernel (gemm_own); where cuBLASLt was loaded at run time
//   (src/cuda/cublaslt_loader.h), each also shows cuBLASLt's heuristic best algorithm on the same
//   product and our speed as a ratio of it: gemm() picks the faster per shape.
//   tuner-bench-cuda-gemm [--tokens 8192] [--reps 20]
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cuda/cublaslt_loader.h"
#include "cuda/cuda_check.cuh"
#include "cuda/gemm.cuh"
#include "cuda/gemm_dispatch.cuh"
#include "cuda_event_timer.cuh"
#include "tuner/cuda_device.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

int g_reps = 20;

// Median milliseconds of fn over g_reps calls (after 3 warm-up calls), timed with events.
double time_ms(const std::function<void()>& fn) { return median_event_ms(fn, g_reps, 3); }

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  TUNER_CUDA_CHECK(cudaMalloc(&p, bytes));
  TUNER_CUDA_CHECK(cudaMemset(p, 0, bytes));  // zeros: every product is finite, timing is data-independent
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  int tokens = 8192;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokens")) tokens = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps")) g_reps = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: tuner-bench-cuda-gemm [--tokens 8192] [--reps 20]\n");
      return 2;
    }
  }
  const CudaRuntimeInfo& info = cuda_runtime_info();
  if (info.devices.empty()) {
    std::printf("no CUDA device: %s\n", info.reason.c_str());
    return 77;
  }
  const CudaDevice& dev = info.devices[0];
  const double peak = dev.peak.bf16_tflops;
  std::printf("%s (sm_%d%d, %d SMs), dense bf16 peak %.0f TFLOP/s (%s); tokens %d, median of %d\n", dev.name.c_str(),
              dev.cc_major, dev.cc_minor, dev.sm_count, peak, dev.peak.source.c_str(), tokens, g_reps);
  std::printf("%s\n", cublaslt_status());
  const bool have_lt = cublaslt::cublaslt().loaded;

  const int H = 2048, I = 5632, V = 32000, KV = 256, R = 16;
  const int T = tokens;
  // Buffers big enough for every product below (bf16 operands, fp32 outputs): the largest operand
  // or output is dlogits [T, V], the lm_head [V, H] or an MLP activation [T, I].
  const size_t max_elems = std::max({(size_t)T * V, (size_t)V * H, (size_t)T * I});
  uint16_t* a = static_cast<uint16_t*>(device_alloc(max_elems * 2));
  uint16_t* b = static_cast<uint16_t*>(device_alloc(max_elems * 2));
  float* c = static_cast<float*>(device_alloc(max_elems * 4));
  ThreadPool pool(0);

  // lt_ms: cuBLASLt on the same product (0: not loaded or no algorithm; the column is left out).
  auto report = [&](const char* what, int M, int N, int K, double ms, double lt_ms = 0) {
    const double tflops = 2.0 * M * N * K / (ms * 1e-3) / 1e12;
    if (peak > 0) std::printf("%-34s %6d x %6d x %6d  %7.3f ms  %6.1f TFLOP/s  %5.1f%% of peak", what, M, N, K, ms, tflops, 100.0 * tflops / peak);
    else std::printf("%-34s %6d x %6d x %6d  %7.3f ms  %6.1f TFLOP/s", what, M, N, K, ms, tflops);
    if (lt_ms > 0) std::printf("  | cuBLASLt %6.1f TFLOP/s, ours %.2fx", 2.0 * M * N * K / (lt_ms * 1e-3) / 1e12, lt_ms / ms);
    std::printf("\n");
  };
  // One dense product: our kernel, then (when loaded) cuBLASLt on the same operands.
  auto dense = [&](const char* what, Trans ta, Trans tb, int M, int N, int K, int lda, int ldb, float beta, int ldc,
                   bool out_bf16 = false) {
    const double ms = time_ms([&] {
      if (out_bf16) cuda::gemm_own_out_bf16(ta, tb, M, N, K, 1.0f, a, lda, b, ldb, beta, reinterpret_cast<uint16_t*>(c), ldc, nullptr);
      else cuda::gemm_own(ta, tb, M, N, K, 1.0f, a, lda, b, ldb, beta, c, ldc, nullptr);
    });
    double lt_ms = 0;
    if (have_lt) {
      bool ran = true;
      lt_ms = time_ms([&] { ran = cuda::gemm_cublaslt(ta, tb, M, N, K, 1.0f, a, lda, b, ldb, beta, c, ldc, out_bf16, nullptr) && ran; });
      if (!ran) lt_ms = 0;
    }
    report(what, M, N, K, ms, lt_ms);
  };
  struct Linear { const char* name; int out, in; };
  const Linear linears[] = {{"q/o proj", H, H}, {"k/v proj", KV, H}, {"gate/up", I, H}, {"down", H, I}, {"lm_head", V, H}};
  std::printf("%s\n", cuda::gemm_config_name(T, H, H));
  for (const Linear& l : linears) {
    std::string n = std::string(l.name) + " forward X W^T";
    dense(n.c_str(), Trans::N, Trans::T, T, l.out, l.in, l.in, l.in, 0.0f, l.out);
    n = std::string(l.name) + " dX = dY W";
    dense(n.c_str(), Trans::N, Trans::N, T, l.in, l.out, l.out, l.in, 0.0f, l.in);
    n = std::string(l.name) + " dW += dY^T X";
    dense(n.c_str(), Trans::T, Trans::N, l.out, l.in, T, l.out, l.in, 1.0f, l.in);
  }
  dense("LoRA r16 X A^T", Trans::N, Trans::T, T, R, I, I, I, 0.0f, R);
  dense("LoRA r16 T B^T", Trans::N, Trans::T, T, I, R, R, R, 1.0f, I);
  dense("LoRA r16 dA += dT^T X", Trans::T, Trans::N, R, I, T, R, I, 1.0f, I);
  dense("gate/up bf16 out", Trans::N, Trans::T, T, I, H, H, H, 0.0f, I, true);

  // Quantized weights: random values, quantized on the CPU, uploaded.
  std::vector<float> wf((size_t)I * H);
  unsigned s = 7;
  for (float& v : wf) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    v = 0.05f * ((float)(s >> 8) / 8388608.0f - 1.0f);
  }
  const cuda::DeviceQuantMatrix nf4 = cuda::upload_quant_matrix(quantize_matrix(wf.data(), I, H, QuantType::NF4, &pool));
  report("gate/up nf4 prefill (qgemm_bf16)", T, I, H, time_ms([&] { cuda::qgemm_bf16(c, I, a, H, nf4, T, false, nullptr); }));

  // Decode: copy bandwidth first, then each format's GEMV at M = 1.
  const size_t copy_bytes = (size_t)512 << 20;
  void* src = device_alloc(copy_bytes);
  void* dst = device_alloc(copy_bytes);
  const double copy_ms = time_ms([&] { TUNER_CUDA_CHECK(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice)); });
  const double copy_gbs = 2.0 * copy_bytes / (copy_ms * 1e-3) / 1e9;
  std::printf("device-to-device copy                %8.0f GB/s (read + write)\n", copy_gbs);
  float* x = static_cast<float*>(device_alloc((size_t)8 * H * 4));
  for (QuantType t : {QuantType::NF4, QuantType::INT8, QuantType::Q4_0, QuantType::Q8_0}) {
    // The lm_head shape, so that the matrix is far larger than L2.
    std::vector<float> w((size_t)V * H);
    for (size_t i = 0; i < w.size(); ++i) w[i] = wf[i % wf.size()];
    const cuda::DeviceQuantMatrix q = cuda::upload_quant_matrix(quantize_matrix(w.data(), V, H, t, &pool));
    const double bytes = (double)q.data.bytes() + q.row_scale.bytes() + q.absmax_q.bytes() + q.absmax_scale.bytes();
    for (int M : {1, 8}) {
      const double ms = time_ms([&] { cuda::qgemv(c, x, q, M, false, nullptr); });
      const double gbs = bytes / (ms * 1e-3) / 1e9;
      std::printf("qgemv %-5s M=%d %6d x %6d  %7.3f ms  %6.0f GB/s  %5.1f%% of copy bandwidth\n", quant_type_name(t), M, V,
                  H, ms, gbs, 100.0 * gbs / copy_gbs);
    }
  }
  TUNER_CUDA_CHECK(cudaDeviceSynchronize());
  return 0;
}
