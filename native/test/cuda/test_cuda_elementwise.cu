// The CUDA element-wise kernels, cross-entropy and optimizers (src/cuda/elementwise.cuh, optim.cuh) against the
// CPU engine's kernels (already checked against PyTorch) on seeded inputs. Both call the same
// formulas (kernels/elementwise_math.h); what may differ is the last bit or two: nvcc contracts
// multiply-adds into FMAs, the GPU's tanhf and the CPU's libm tanh differ by an ulp, and
// RMSNorm's sum of squares is added in another order. Hence the limits: 2e-6 of the largest
// value for per-element math and the optimizers (several steps), 1e-5 for RMSNorm (forward and
// backward) and cross-entropy (their row sums are added in another order; the CPU's in double).
#include <cstdio>
#include <vector>

#include "cuda/elementwise.cuh"
#include "cuda/optim.cuh"
#include "cuda_test_util.cuh"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"
#include "tuner/threadpool.h"

using namespace tuner;
using namespace tuner::cuda_test;

namespace {

int g_failed = 0;
void check(const char* name, const std::vector<float>& got, const std::vector<float>& want, double tol) {
  if (!close_enough(name, got, want, tol)) ++g_failed;
}

}  // namespace

int main() {
  require_device();
  ThreadPool pool(4);
  const VectorKernels& k = vector_kernels_generic();
  const int64_t n = 1 << 20;
  // Activations over a wide range (|x| up to 12) to reach the flat ends of sigmoid and tanh.
  const std::vector<float> a = random_vector(n, 1, 12.0f), b = random_vector(n, 2, 3.0f), d = random_vector(n, 3, 1.0f);
  DeviceArray<float> da(a), db(b), dd(d), out(n), out2(n);

  {  // SwiGLU forward and backward
    std::vector<float> want(n), dg(n), du(n);
    k.swiglu_forward(want.data(), a.data(), b.data(), n);
    cuda::swiglu_forward(out.ptr, da.ptr, db.ptr, n);
    check("swiglu forward", out.to_host(), want, 2e-6);
    k.swiglu_backward(dg.data(), du.data(), d.data(), a.data(), b.data(), n);
    cuda::swiglu_backward(out.ptr, out2.ptr, dd.ptr, da.ptr, db.ptr, n);
    check("swiglu backward dgate", out.to_host(), dg, 2e-6);
    check("swiglu backward dup", out2.to_host(), du, 2e-6);
  }
  {  // tanh GELU and GeGLU
    std::vector<float> want(n), dx(n), dg(n), du(n);
    gelu_forward(want.data(), a.data(), n, &pool);
    cuda::gelu_forward(out.ptr, da.ptr, n);
    check("gelu forward", out.to_host(), want, 2e-6);
    gelu_forward_backward(want.data(), dx.data(), d.data(), a.data(), n, &pool);
    cuda::gelu_backward(out.ptr, dd.ptr, da.ptr, n);
    check("gelu backward", out.to_host(), dx, 2e-6);
    geglu_forward(want.data(), a.data(), b.data(), n, &pool);
    cuda::geglu_forward(out.ptr, da.ptr, db.ptr, n);
    check("geglu forward", out.to_host(), want, 2e-6);
    geglu_forward_backward(want.data(), dg.data(), du.data(), d.data(), a.data(), b.data(), n, &pool);
    cuda::geglu_backward(out.ptr, out2.ptr, dd.ptr, da.ptr, db.ptr, n);
    check("geglu backward dgate", out.to_host(), dg, 2e-6);
    check("geglu backward dup", out2.to_host(), du, 2e-6);
  }
  {  // soft-capping
    std::vector<float> x = a, t(n);
    softcap_forward(x.data(), t.data(), n, 30.0f, &pool);
    DeviceArray<float> dx(a), dt(n);
    cuda::softcap_forward(dx.ptr, dt.ptr, n, 30.0f);
    check("softcap forward", dx.to_host(), x, 2e-6);
    std::vector<float> g = d;
    softcap_backward(g.data(), t.data(), n, &pool);
    DeviceArray<float> dgrad(d);
    cuda::softcap_backward(dgrad.ptr, dt.ptr, n);
    check("softcap backward", dgrad.to_host(), g, 2e-6);
  }
  {  // RoPE forward and backward, by row position and by explicit positions (packed records)
    const int B = 2, T = 64, nh = 4, HD = 128, half = HD / 2;
    std::vector<float> cos_t((size_t)T * half), sin_t((size_t)T * half);
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < half; ++i) {
        const double angle = t * std::pow(10000.0, -2.0 * i / HD);
        cos_t[(size_t)t * half + i] = (float)std::cos(angle);
        sin_t[(size_t)t * half + i] = (float)std::sin(angle);
      }
    const size_t len = (size_t)B * T * nh * HD;
    std::vector<float> x = random_vector(len, 4);
    std::vector<int32_t> pos((size_t)B * T);
    for (size_t r = 0; r < pos.size(); ++r) pos[r] = (int32_t)((r * 7) % T);
    DeviceArray<float> dcos(cos_t), dsin(sin_t);
    DeviceArray<int32_t> dpos(pos);
    for (const bool packed : {false, true}) {
      std::vector<float> want = x;
      rope_forward(want.data(), cos_t.data(), sin_t.data(), B, T, nh, HD, &pool, packed ? pos.data() : nullptr);
      DeviceArray<float> dx(x);
      cuda::rope_forward(dx.ptr, dcos.ptr, dsin.ptr, B, T, nh, HD, packed ? dpos.ptr : nullptr);
      check(packed ? "rope forward (positions)" : "rope forward", dx.to_host(), want, 2e-6);
      rope_backward(want.data(), cos_t.data(), sin_t.data(), B, T, nh, HD, &pool, packed ? pos.data() : nullptr);
      cuda::rope_backward(dx.ptr, dcos.ptr, dsin.ptr, B, T, nh, HD, packed ? dpos.ptr : nullptr);
      check(packed ? "rope backward of forward = x (positions)" : "rope backward of forward = x", dx.to_host(), want, 2e-6);
    }
  }
  {  // RMSNorm forward and backward
    const int N = 256, C = 2048;
    const std::vector<float> x = random_vector((size_t)N * C, 5, 2.0f), w = random_vector(C, 6);
    std::vector<float> want((size_t)N * C), rstd(N);
    rmsnorm_forward(want.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f, &pool);
    DeviceArray<float> dx(x), dw(w), dy((size_t)N * C), dr(N);
    cuda::rmsnorm_forward(dy.ptr, dr.ptr, dx.ptr, dw.ptr, N, C, 1e-6f);
    check("rmsnorm forward", dy.to_host(), want, 1e-5);
    check("rmsnorm rstd", dr.to_host(), rstd, 1e-5);
    // Backward, accumulating into dinp, with the weight gradient over all rows.
    const std::vector<float> grad_out = random_vector((size_t)N * C, 10), dx0 = random_vector((size_t)N * C, 11);
    std::vector<float> dxw = dx0, dweight(C, 0.5f);
    rmsnorm_backward(dxw.data(), dweight.data(), grad_out.data(), x.data(), w.data(), rstd.data(), N, C, true, &pool);
    DeviceArray<float> ddy(grad_out), ddx(dx0), ddw(std::vector<float>(C, 0.5f));
    cuda::rmsnorm_backward(ddx.ptr, ddw.ptr, ddy.ptr, dx.ptr, dw.ptr, dr.ptr, N, C, true);
    check("rmsnorm backward dinp (accumulated)", ddx.to_host(), dxw, 1e-5);
    check("rmsnorm backward dweight", ddw.to_host(), dweight, 1e-5);
  }
  {  // Cross-entropy over a 32k vocabulary, some rows masked out: losses, lse and the gradient.
    const int N = 64, V = 32000;
    const std::vector<float> logits = random_vector((size_t)N * V, 9, 8.0f);
    std::vector<uint32_t> targets(N);
    std::vector<uint8_t> mask(N);
    for (int r = 0; r < N; ++r) {
      targets[r] = (uint32_t)((r * 7919u) % V);
      mask[r] = r % 5 != 3;
    }
    std::vector<float> losses(N), lse(N), dl = logits;
    cross_entropy_forward(losses.data(), lse.data(), logits.data(), targets.data(), mask.data(), N, V, &pool);
    cross_entropy_backward_inplace(dl.data(), lse.data(), targets.data(), mask.data(), N, V, 1.0f, &pool);
    int counted = 0;
    for (uint8_t m : mask) counted += m;
    DeviceArray<float> dlog(logits), dloss(N), dlse(N);
    DeviceArray<uint32_t> dtarget(targets);
    DeviceArray<uint8_t> dmask(mask);
    cuda::cross_entropy_forward(dloss.ptr, dlse.ptr, dlog.ptr, dtarget.ptr, dmask.ptr, N, V);
    check("cross-entropy losses", dloss.to_host(), losses, 1e-5);
    check("cross-entropy log-sum-exp", dlse.to_host(), lse, 1e-6);
    cuda::cross_entropy_backward_inplace(dlog.ptr, dlse.ptr, dtarget.ptr, dmask.ptr, N, V, 1.0f / counted);
    check("cross-entropy dlogits", dlog.to_host(), dl, 1e-5);
  }
  {  // Optimizers: five steps on the same weights, state and gradients as the CPU.
    const std::vector<float> w0 = random_vector(n, 7), g = random_vector(n, 8, 0.1f);
    AdamWScalars as{0.5f, 1.0f - 1e-3f * 0.01f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f / 0.1f, std::sqrt(0.001f), 1e-8f};
    LionScalars ls{0.5f, 1.0f - 1e-4f * 0.1f, 1e-4f, 0.9f, 0.1f, 0.99f, 0.01f};
    for (const bool nesterov : {false, true}) {
      SgdScalars ss{0.5f, 1e-2f, 0.9f, 1e-2f, nesterov};
      std::vector<float> w = w0, buf(n, 0.0f);
      DeviceArray<float> dw(w0), dbuf(buf), dg(g);
      for (int step = 0; step < 5; ++step) {
        k.sgd_update(w.data(), buf.data(), g.data(), n, ss);
        cuda::sgd_update(dw.ptr, dbuf.ptr, dg.ptr, n, ss);
      }
      check(nesterov ? "sgd nesterov weights (5 steps)" : "sgd momentum weights (5 steps)", dw.to_host(), w, 2e-6);
    }
    {
      SgdScalars ss{0.5f, 1e-2f, 0.0f, 1e-2f, false};
      std::vector<float> w = w0;
      DeviceArray<float> dw(w0), dg(g);
      for (int step = 0; step < 5; ++step) {
        k.sgd_update(w.data(), nullptr, g.data(), n, ss);
        cuda::sgd_update(dw.ptr, nullptr, dg.ptr, n, ss);
      }
      check("sgd weights (5 steps)", dw.to_host(), w, 2e-6);
    }
    {
      std::vector<float> w = w0, m(n, 0.0f), v(n, 0.0f);
      DeviceArray<float> dw(w0), dm(m), dv(v), dg(g);
      for (int step = 0; step < 5; ++step) {
        k.adamw_update(w.data(), m.data(), v.data(), g.data(), n, as);
        cuda::adamw_update(dw.ptr, dm.ptr, dv.ptr, dg.ptr, n, as);
      }
      check("adamw weights (5 steps)", dw.to_host(), w, 2e-6);
      check("adamw first moment", dm.to_host(), m, 2e-6);
      check("adamw second moment", dv.to_host(), v, 2e-6);
    }
    {
      std::vector<float> w = w0, m(n, 0.0f);
      DeviceArray<float> dw(w0), dm(m), dg(g);
      for (int step = 0; step < 5; ++step) {
        k.lion_update(w.data(), m.data(), g.data(), n, ls);
        cuda::lion_update(dw.ptr, dm.ptr, dg.ptr, n, ls);
      }
      check("lion weights (5 steps)", dw.to_host(), w, 2e-6);
      check("lion moment", dm.to_host(), m, 2e-6);
    }
  }
  TUNER_CUDA_CHECK(cudaDeviceSynchronize());
  std::printf("test_cuda_elementwise: %s\n", g_failed ? "FAILED" : "all checks passed");
  return g_failed ? 1 : 0;
}
