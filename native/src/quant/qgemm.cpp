// The dequantizing matmul y[M, R] = x[M, K] @ dequant(w)^T that quantized linears run.
//   Decode (M < kPrefillRows): the weights are streamed once, threads claim row ranges, and
//   each weight row meets every activation row while it is in L1. Formats whose kernel takes
//   int8 activations get x quantized to 32-value blocks first (as llama.cpp does).
//   Prefill (M >= kPrefillRows): sgemm's blocked driver and micro-kernels, its B panels packed
//   by decoding the quantized rows (qgemm_prefill.cpp), so each decoded weight is reused M times;
//   bf16 weights go to gemm_bf16 as they are stored.
// Every row of y is computed by one kernel call from the same inputs whatever the thread count,
// so results do not depend on the number of threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "quant/quant_internal.h"
#include "tuner/cpu_features.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

constexpr int kPrefillRows = 8;   // M from which sgemm's blocked kernels (prefill) win
constexpr int kRowsPerTask = 16;  // smallest row range a thread claims
// Below this many weight bytes (x M) one thread runs the product: waking the pool would cost
// about as much as the work (a 512 x 512 q4_0 matvec is ~150 KB, a few microseconds).
constexpr size_t kMinParallelBytes = 64 * 1024;

void check_args(const QuantMatrix& w, int M) {
  TUNER_CHECK(M >= 0, "qgemm: negative M");
  TUNER_CHECK(w.rows > 0 && w.cols > 0 && (int)w.type >= 0 && (int)w.type < kQuantTypes, "qgemm: empty or invalid matrix");
  TUNER_CHECK(w.data.size() == quant_row_bytes(w.type, w.cols) * (size_t)w.rows, "qgemm: data size does not match the shape");
  TUNER_CHECK(w.type != QuantType::INT8 || w.row_scale.size() == (size_t)w.rows, "qgemm: int8 row scales missing");
  TUNER_CHECK(w.type != QuantType::NF4 || (w.absmax_q.size() == w.data.size() * 2 / kQKNF4 &&
                                           w.absmax_scale.size() * kNF4ScaleBlock >= w.absmax_q.size()),
              "qgemm: nf4 absmax tables do not match the shape");
}

// Runs fn(r0, r1) over [0, rows) in ranges that threads claim as they finish one, so one
// descheduled thread holds up one range, not a fixed share.
template <class F>
void claim_rows(ThreadPool* pool, int rows, F&& fn) {
  const int threads = pool ? pool->size() : 1;
  const int tasks = std::max(1, std::min((rows + kRowsPerTask - 1) / kRowsPerTask, threads * 4));
  const int per = (rows + tasks - 1) / tasks;
  if (threads <= 1 || tasks == 1) {
    fn(0, rows);
    return;
  }
  std::atomic<int> next{0};
  parallel_rows(pool, threads, [&](int64_t, int64_t, int) {
    for (int t; (t = next.fetch_add(1)) < tasks;) fn(t * per, std::min(rows, (t + 1) * per));
  });
}

}  // namespace

const QgemmKernels& qgemm_kernels_best() {
  static const QgemmKernels& best = []() -> const QgemmKernels& {
    const CpuFeatures& f = cpu_features();
    const bool avx2 = f.avx2 && f.fma && f.f16c;
    const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
    if (avx512 && f.avx512_vnni) return qgemm_kernels_avx512_vnni();
    if (avx512) return qgemm_kernels_avx512();
    if (avx2) return qgemm_kernels_avx2();
    return qgemm_kernels_generic();
  }();
  return best;
}

void qgemm_with_kernels(const QgemmKernels& k, float* y, const float* x, const QuantMatrix& w, int M, bool accumulate,
                        ThreadPool* pool) {
  check_args(w, M);
  if (M == 0) return;
  const QuantView v = quant_view(w);
  const int t = (int)w.type, K = w.cols;
  if (M >= kPrefillRows && w.type == QuantType::BF16) {
    gemm_bf16(Trans::N, Trans::T, M, w.rows, K, 1.0f, x, K, reinterpret_cast<const uint16_t*>(w.data.data()), K,
              accumulate ? 1.0f : 0.0f, y, w.rows, pool);
    return;
  }
  if (M >= kPrefillRows) {
    qgemm_prefill(k, y, x, v, M, accumulate, pool);
    return;
  }
  const bool int8_act = k.int8_activations[t] && K % 32 == 0;
  std::vector<int8_t> qs;
  std::vector<float> d, dsum, xp;
  ActQ8 xq{nullptr, nullptr, nullptr, nullptr};
  if (k.prepare[t]) {
    const int Kp = prepared_width(K);
    xp.resize((size_t)M * Kp);
    for (int m = 0; m < M; m++) k.prepare[t](xp.data() + (size_t)m * Kp, x + (size_t)m * K, K);
    xq.xp = xp.data();
  }
  if (int8_act) {
    const int nb = K / 32;
    qs.resize((size_t)M * K);
    d.resize((size_t)M * nb);
    dsum.resize((size_t)M * nb);
    const QuantizeActRow quantize = w.type == QuantType::Q4_0 && k.quantize_act_q4_0 ? k.quantize_act_q4_0 : k.quantize_act;
    for (int m = 0; m < M; m++)
      quantize(qs.data() + (size_t)m * K, d.data() + (size_t)m * nb, dsum.data() + (size_t)m * nb, x + (size_t)m * K, K);
    xq.qs = qs.data();
    xq.d = d.data();
    xq.dsum = dsum.data();
  }
  const QRowsKernel rows = k.rows[t];
  const ActQ8* xqp = int8_act || k.prepare[t] ? &xq : nullptr;
  ThreadPool* row_pool = w.data.size() * (size_t)M >= kMinParallelBytes ? pool : nullptr;
  claim_rows(row_pool, w.rows, [&](int r0, int r1) { rows(y, w.rows, x, xqp, v, M, r0, r1, accumulate); });
}

void qgemm(float* y, const float* x, const QuantMatrix& w, int M, bool accumulate, ThreadPool* pool) {
  qgemm_with_kernels(qgemm_kernels_best(), y, x, w, M, accumulate, pool);
}

// Decodes each weight row with the portable decoder and sums in double: the oracle.
void qgemm_reference(float* y, const float* x, const QuantMatrix& w, int M, bool accumulate) {
  check_args(w, M);
  const QuantView v = quant_view(w);
  std::vector<float> row((size_t)w.cols);
  for (int r = 0; r < w.rows; r++) {
    qgemm_kernels_generic().dequant[(int)w.type](row.data(), v, r, r + 1);
    for (int m = 0; m < M; m++) {
      double s = 0.0;
      const float* xm = x + (size_t)m * w.cols;
      for (int c = 0; c < w.cols; c++) s += (double)xm[c] * row[c];
      float* out = y + (size_t)m * w.rows + r;
      *out = accumulate ? (float)(*out + s) : (float)s;
    }
  }
}

std::string qgemm_kernel_name(QuantType t) {
  const QgemmKernels& k = qgemm_kernels_best();
  const int i = (int)t;
  if (i < 0 || i >= kQuantTypes) return "unknown";
  std::string name = std::string(quant_type_name(t)) + " " + k.isa;
  if (t == QuantType::BF16)
    return name + " (f32 dot, activations rounded to bf16); prefill: gemm_bf16 " + gemm_bf16_kernel_name();
  name += k.int8_activations[i] ? " (int8 dot, activations quantized to q8 blocks)" : " (f32 dot)";
  name += std::string("; prefill: sgemm ") + sgemm_kernel_name() + " on panels decoded while packing";
  return name;
}

}  // namespace tuner
