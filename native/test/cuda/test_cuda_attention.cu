// The CUDA attention kernels (src/cuda/attention.cuh) against the CPU engine's attention (fp32,
// already checked against PyTorch) on the same bf16-rounded inputs: forward output and
// logsumexp, dQ / dK / dV, and the decode kernel against the forward's rows. Cases: sequence
// lengths 1, 17, 128, 1000, 2048; head dims 64 and 128 (tensor cores), 80 / 96 (their own tiles),
// 40 (padded to 64) and 256 (SIMT); GQA 8:2; no window, a window smaller than a tile (16) and
// one longer than the sequence; packed records, Gemma's scale + soft-cap, Bloom's ALiBi; fp16;
// the SIMT path forced on a tensor-core shape. dQ both ways (AttentionParams::deterministic):
// the default query-major kernel, whose second run must give the same bits (dQ, dK and dV), and
// the fp32-atomic one, which must agree with it within the gradient tolerance.
//
// Tolerances, as the largest error relative to the largest reference value: y 1e-2 (bf16
// output, P rounded to bf16 for P V), lse 1e-3 (fp32 from bf16 inputs; ex2.approx), gradients
// 2e-2 (P and dS rounded to bf16 for the products, dQ summed in fp32).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/attention.cuh"
#include "cuda_test_util.cuh"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

using namespace tuner;
using namespace tuner::cuda;
using namespace tuner::cuda_test;

namespace {

constexpr double kTolY = 1e-2, kTolLse = 1e-3, kTolGrad = 2e-2;
constexpr size_t kGuard = 256;  // elements after each output that no kernel may touch

template <typename T>
std::vector<T> to_device_type(const std::vector<float>& x) {
  std::vector<T> out(x.size());
  for (size_t i = 0; i < x.size(); i++) out[i] = T(x[i]);
  return out;
}
template <typename T>
std::vector<float> to_float(const std::vector<T>& x) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); i++) out[i] = (float)x[i];
  return out;
}
// The values the GPU sees, back in fp32: the CPU reference runs on exactly these.
template <typename T>
std::vector<float> rounded(const std::vector<float>& x) {
  return to_float(to_device_type<T>(x));
}

struct Case {
  std::string name;
  int B, T, NH, NKV, HD, window;
  float scale = 0, softcap = 0;
  bool alibi = false, records = false, fp16 = false;
  AttentionPath path = AttentionPath::automatic;
};

std::vector<int32_t> records_of(int B, int T) {  // records of 1, 37, 200, ... positions
  std::vector<int32_t> ss((size_t)B * T);
  for (int b = 0; b < B; b++) {
    int start = 0, len = 1 + 13 * b;
    for (int t = 0; t < T; t++) {
      if (t - start >= len) {
        start = t;
        len = len * 3 + 7;
      }
      ss[(size_t)b * T + t] = start;
    }
  }
  return ss;
}

template <typename T>
bool run_case(const Case& c, ThreadPool& pool) {
  const size_t nq = (size_t)c.B * c.T * c.NH * c.HD, nk = (size_t)c.B * c.T * c.NKV * c.HD, nl = (size_t)c.B * c.NH * c.T;
  const unsigned seed = (unsigned)(c.T * 131 + c.HD * 7 + c.window);
  const auto q = rounded<T>(random_vector(nq, seed, 1.0f)), k = rounded<T>(random_vector(nk, seed + 1, 1.0f));
  const auto v = rounded<T>(random_vector(nk, seed + 2, 1.0f)), dy = rounded<T>(random_vector(nq, seed + 3, 1.0f));
  std::vector<float> slopes;
  for (int h = 0; h < c.NH; h++) slopes.push_back(std::pow(2.0f, -8.0f * (h + 1) / c.NH));
  const std::vector<int32_t> ss = c.records ? records_of(c.B, c.T) : std::vector<int32_t>();

  // CPU engine, fp32.
  AttentionExtras ex{c.scale, c.softcap, c.alibi ? slopes.data() : nullptr};
  std::vector<float> y(nq), lse(nl), dq(nq), dk(nk), dv(nk), scratch((size_t)attention_scratch_floats(c.T, pool.size()));
  attention_forward(y.data(), lse.data(), q.data(), k.data(), v.data(), scratch.data(), c.B, c.T, c.NH, c.NKV, c.HD, c.window,
                    &pool, &ex, c.records ? ss.data() : nullptr);
  attention_backward(dq.data(), dk.data(), dv.data(), dy.data(), y.data(), lse.data(), q.data(), k.data(), v.data(),
                     scratch.data(), c.B, c.T, c.NH, c.NKV, c.HD, c.window, &pool, &ex, c.records ? ss.data() : nullptr);

  // GPU. Outputs get kGuard extra elements set to 0xFF bytes: a kernel writing past its rows
  // changes them.
  DeviceArray<T> d_q(to_device_type<T>(q)), d_k(to_device_type<T>(k)), d_v(to_device_type<T>(v)), d_dy(to_device_type<T>(dy));
  DeviceArray<T> d_y(nq + kGuard), d_dq(nq + kGuard), d_dk(nk + kGuard), d_dv(nk + kGuard);
  DeviceArray<float> d_lse(nl + kGuard), d_slopes(c.alibi ? slopes : std::vector<float>(1, 0.0f));
  DeviceArray<int32_t> d_ss(c.records ? ss : std::vector<int32_t>(1, 0));
  for (void* ptr : {(void*)d_y.ptr, (void*)d_dq.ptr, (void*)d_dk.ptr, (void*)d_dv.ptr})
    TUNER_CUDA_CHECK(cudaMemset(ptr, 0xFF, (ptr == d_dk.ptr || ptr == d_dv.ptr ? nk + kGuard : nq + kGuard) * sizeof(T)));
  TUNER_CUDA_CHECK(cudaMemset(d_lse.ptr, 0xFF, (nl + kGuard) * sizeof(float)));
  AttentionParams p;
  p.B = c.B, p.T = c.T, p.NH = c.NH, p.NKV = c.NKV, p.HD = c.HD, p.window = c.window;
  p.scale = c.scale, p.softcap = c.softcap;
  p.alibi = c.alibi ? d_slopes.ptr : nullptr;
  p.sample_start = c.records ? d_ss.ptr : nullptr;
  AttentionParams atomic = p;
  atomic.deterministic = false;  // the larger workspace (the fp32 dQ accumulator) serves both
  DeviceArray<unsigned char> ws(attention_backward_workspace_bytes(atomic));
  attention_forward(d_y.ptr, d_lse.ptr, d_q.ptr, d_k.ptr, d_v.ptr, p, nullptr, c.path);
  attention_backward(d_dq.ptr, d_dk.ptr, d_dv.ptr, d_dy.ptr, d_y.ptr, d_lse.ptr, d_q.ptr, d_k.ptr, d_v.ptr, ws.ptr, p, nullptr,
                     c.path);
  TUNER_CUDA_CHECK(cudaDeviceSynchronize());

  std::printf("%s\n", c.name.c_str());
  bool ok = true;
  auto rows = [&](auto host, size_t n, const char* what) {  // the n real values; the guard intact
    using E = typename decltype(host)::value_type;
    const std::vector<unsigned char> bytes(reinterpret_cast<const unsigned char*>(host.data() + n),
                                           reinterpret_cast<const unsigned char*>(host.data() + host.size()));
    for (unsigned char byte : bytes)
      if (byte != 0xFF) {
        std::printf("  %s: written past its last row  FAIL\n", what);
        ok = false;
        break;
      }
    host.resize(n);
    if constexpr (std::is_same_v<E, float>) return host;
    else return to_float(host);
  };
  const auto y_gpu = rows(d_y.to_host(), nq, "y"), dk_gpu = rows(d_dk.to_host(), nk, "dk"), dv_gpu = rows(d_dv.to_host(), nk, "dv");
  const auto dq_gpu = rows(d_dq.to_host(), nq, "dq");
  ok &= close_enough("  forward y", y_gpu, y, kTolY);
  ok &= close_enough("  logsumexp", rows(d_lse.to_host(), nl, "lse"), lse, kTolLse);
  ok &= close_enough("  dq", dq_gpu, dq, kTolGrad);
  ok &= close_enough("  dk (summed over the group's heads)", dk_gpu, dk, kTolGrad);
  ok &= close_enough("  dv (summed over the group's heads)", dv_gpu, dv, kTolGrad);

  // The tensor-core backward gives dQ (the default deterministic kernel), dK and dV one writer
  // and a fixed order: a second run is bit-identical. The atomic dQ agrees within the tolerance.
  if (c.path != AttentionPath::simt && attention_path(p, d_q.ptr, d_k.ptr, d_v.ptr) == AttentionPath::tensor_cores) {
    attention_backward(d_dq.ptr, d_dk.ptr, d_dv.ptr, d_dy.ptr, d_y.ptr, d_lse.ptr, d_q.ptr, d_k.ptr, d_v.ptr, ws.ptr, p, nullptr);
    TUNER_CUDA_CHECK(cudaDeviceSynchronize());
    const bool same = rows(d_dq.to_host(), nq, "dq") == dq_gpu && rows(d_dk.to_host(), nk, "dk") == dk_gpu &&
                      rows(d_dv.to_host(), nk, "dv") == dv_gpu;
    std::printf("  %-46s %s\n", "dq, dk, dv identical in a second run", same ? "ok" : "FAIL");
    ok &= same;
    attention_backward(d_dq.ptr, d_dk.ptr, d_dv.ptr, d_dy.ptr, d_y.ptr, d_lse.ptr, d_q.ptr, d_k.ptr, d_v.ptr, ws.ptr, atomic,
                       nullptr);
    TUNER_CUDA_CHECK(cudaDeviceSynchronize());
    ok &= close_enough("  atomic dq vs deterministic dq", rows(d_dq.to_host(), nq, "dq"), dq_gpu, kTolGrad);
    ok &= close_enough("  atomic path's dq vs CPU", rows(d_dq.to_host(), nq, "dq"), dq, kTolGrad);
    // dK and dV come from the same kernel either way.
    const bool same_kv = rows(d_dk.to_host(), nk, "dk") == dk_gpu && rows(d_dv.to_host(), nk, "dv") == dv_gpu;
    std::printf("  %-46s %s\n", "dk, dv identical with the atomic dQ", same_kv ? "ok" : "FAIL");
    ok &= same_kv;
  }

  // Decode: the last n rows of batch row 0 against the cache of rows 0 .. T-1.
  if (!c.records) {
    for (int n : {1, 4}) {
      if (n > c.T) continue;
      DecodeParams d;
      d.n = n, d.pos = c.T - n, d.NH = c.NH, d.NKV = c.NKV, d.HD = c.HD, d.window = c.window;
      d.scale = c.scale, d.softcap = c.softcap, d.alibi = p.alibi;
      const size_t QD = (size_t)c.NH * c.HD;
      DeviceArray<T> d_rows(n * QD), d_out(n * QD);
      TUNER_CUDA_CHECK(cudaMemcpy(d_rows.ptr, d_q.ptr + d.pos * QD, n * QD * sizeof(T), cudaMemcpyDeviceToDevice));
      DeviceArray<unsigned char> d_ws(attention_decode_workspace_bytes(d));
      attention_decode(d_out.ptr, d_rows.ptr, d_k.ptr, d_v.ptr, d_ws.ptr, d, nullptr);
      TUNER_CUDA_CHECK(cudaDeviceSynchronize());
      const std::vector<float> want(y.begin() + d.pos * QD, y.begin() + (d.pos + n) * QD);
      ok &= close_enough(n == 1 ? "  decode, 1 row (split-K)" : "  decode, 4 rows (split-K)", to_float(d_out.to_host()), want,
                         kTolY);
    }
  }
  return ok;
}

}  // namespace

int main() {
  require_device();
  ThreadPool pool(0);
  const int big = 1 << 20;  // a window longer than any sequence here
  std::vector<Case> cases;
  for (int T : {1, 17, 128, 1000, 2048})
    for (int HD : {64, 128})
      for (int window : {0, 16, big}) {
        if (T == 2048 && window == big) continue;  // same as no window, the longest case once
        cases.push_back({"T=" + std::to_string(T) + " head_dim=" + std::to_string(HD) + " GQA 8:2 window=" +
                             (window == big ? std::string("longer than T") : std::to_string(window)),
                         1, T, 8, 2, HD, window});
      }
  cases.push_back({"batch 2, T=300 head_dim=64, 4:4 heads, window 100", 2, 300, 4, 4, 64, 100});
  cases.push_back({"packed records + window 100, T=300 head_dim=64 GQA 8:2", 2, 300, 8, 2, 64, 100, 0, 0, false, true});
  cases.push_back({"packed records, T=700 head_dim=64 GQA 8:2", 2, 700, 8, 2, 64, 0, 0, 0, false, true});
  cases.push_back({"packed records + window 50, T=700 head_dim=128", 2, 700, 8, 2, 128, 50, 0, 0, false, true});
  cases.push_back({"Gemma: scale 1/16, soft-cap 1 (tanh active), T=500 head_dim=128", 1, 500, 8, 4, 128, 0, 1.0f / 16, 1.0f});
  cases.push_back({"soft-cap 0.5 + window 64, T=500 head_dim=96", 1, 500, 8, 4, 96, 64, 0, 0.5f});
  cases.push_back({"Bloom: ALiBi, T=400 head_dim=64", 1, 400, 8, 8, 64, 0, 0, 0, true});
  cases.push_back({"head_dim 80 (tiles of 80), T=333", 1, 333, 8, 2, 80, 0});
  cases.push_back({"head_dim 40 (padded to 64), T=333 window 40", 1, 333, 8, 2, 40, 40});
  cases.push_back({"head_dim 256 (SIMT), T=300 window 64", 1, 300, 4, 2, 256, 64});
  cases.push_back({"head_dim 36 (SIMT: not a multiple of 8), T=200", 1, 200, 4, 2, 36, 0});
  Case simt{"SIMT path forced, T=1000 head_dim=64 GQA 8:2 window 16", 1, 1000, 8, 2, 64, 16};
  simt.path = AttentionPath::simt;
  cases.push_back(simt);
  Case half{"fp16, T=1000 head_dim=128 GQA 8:2", 1, 1000, 8, 2, 128, 0};
  half.fp16 = true;
  cases.push_back(half);

  int failed = 0;
  for (const Case& c : cases) failed += c.fp16 ? !run_case<__half>(c, pool) : !run_case<__nv_bfloat16>(c, pool);
  std::printf("%d of %zu cases failed\n", failed, cases.size());
  return failed ? 1 : 0;
}
