// AdamW and global-norm clipping against a double-precision transcription of
// torch.optim.AdamW / clip_grad_norm_, clipping folded into the update against a separate pass,
// the same results for every thread count, and the writes a step makes for the trainer (bf16
// copies, zeroed gradients).
#include <algorithm>
#include <cmath>
#include <vector>

#include "trainer_test_util.h"
#include "tuner/gemm_bf16.h"
#include "tuner/optimizer.h"
#include "tuner/rng.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

struct Owned {
  std::vector<float> data, grad;
  Param p;
  Owned(const std::string& name, int64_t n, uint64_t seed) : data(n), grad(n) {
    Rng r(seed);
    for (int64_t i = 0; i < n; ++i) {
      data[i] = static_cast<float>(static_cast<double>(r.next_u64() >> 11) / 9007199254740992.0 * 2 - 1);
    }
    p.name = name;
    p.shape = {n};
    p.data = data.data();
    p.grad = grad.data();
  }
  void set_grads(uint64_t seed, double scale) {
    Rng r(seed);
    for (auto& g : grad) g = static_cast<float>((static_cast<double>(r.next_u64() >> 11) / 9007199254740992.0 - 0.5) * scale);
  }
};

// torch.optim.AdamW, amsgrad=False, in double.
void reference_adamw(std::vector<double>& w, std::vector<double>& m, std::vector<double>& v, const std::vector<float>& g,
                     int step, double lr, const OptimizerConfig& c) {
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] *= 1 - lr * c.weight_decay;
    m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
    v[i] = c.beta2 * v[i] + (1 - c.beta2) * double(g[i]) * g[i];
    const double bc1 = 1 - std::pow(c.beta1, step), bc2 = 1 - std::pow(c.beta2, step);
    w[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + c.eps);
  }
}

}  // namespace

int main() {
  OptimizerConfig cfg;
  cfg.beta1 = 0.8;
  cfg.beta2 = 0.95;
  cfg.eps = 1e-6;
  cfg.weight_decay = 0.1;

  // 10 steps with changing grads and lr match the double reference to fp32 accuracy.
  {
    Owned a("a", 1000, 1), b("b", 200000, 2);  // b spans several work chunks
    std::vector<double> wa(a.data.begin(), a.data.end()), ma(1000), va(1000);
    Optimizer opt(cfg, {&a.p, &b.p});
    for (int s = 1; s <= 10; ++s) {
      a.set_grads(100 + s, s % 3 == 0 ? 1e-3 : 1.0);
      b.set_grads(200 + s, 0.5);
      const double lr = 1e-2 / s;
      reference_adamw(wa, ma, va, a.grad, s, lr, cfg);
      opt.step(lr, nullptr);
    }
    CHECK(opt.step_count() == 10);
    double max_err = 0;
    for (size_t i = 0; i < wa.size(); ++i) max_err = std::max(max_err, std::fabs(wa[i] - a.data[i]));
    CHECK_NEAR(max_err, 0.0, 2e-6);
    double merr = 0;
    for (size_t i = 0; i < ma.size(); ++i) merr = std::max(merr, std::fabs(ma[i] - opt.state(0, 0)[i]));
    CHECK_NEAR(merr, 0.0, 1e-7);
  }

  // Decoupled weight decay: a zero gradient only shrinks the weight by (1 - lr * wd).
  {
    Owned a("a", 16, 3);
    std::vector<float> before = a.data;
    a.set_grads(0, 0.0);
    Optimizer opt(cfg, {&a.p});
    opt.step(0.5, nullptr);
    for (size_t i = 0; i < before.size(); ++i) CHECK_NEAR(a.data[i], before[i] * (1 - 0.5 * 0.1), 1e-7);
  }

  // Global norm and the clip coefficient as clip_grad_norm_: max_norm / (norm + 1e-6), only if < 1.
  {
    Owned a("a", 3, 4), b("b", 1, 5);
    a.grad = {3, 0, 0};
    b.grad = {4};
    a.p.grad = a.grad.data();
    b.p.grad = b.grad.data();
    const double norm = global_grad_norm({&a.p, &b.p}, nullptr);
    CHECK_NEAR(norm, 5.0, 1e-12);
    CHECK_NEAR(clip_coefficient(norm, 10.0), 1.0, 0);
    CHECK_NEAR(clip_coefficient(norm, 0.0), 1.0, 0);  // clipping off
    CHECK_NEAR(clip_coefficient(norm, 1.0), 1.0 / (5.0 + 1e-6), 1e-15);
    a.grad[1] = NAN;
    CHECK(!std::isfinite(global_grad_norm({&a.p, &b.p}, nullptr)));
  }

  // Clipping folded into the step gives the same bits as scaling the grads in place first (what
  // clip_grad_norm_ does before torch's AdamW step), and leaves the grads as they were.
  {
    Owned a("a", 70001, 8), b("b", 70001, 8);  // same weights, several work chunks
    Optimizer fused(cfg, {&a.p}), separate(cfg, {&b.p});
    for (int s = 1; s <= 3; ++s) {
      a.set_grads(300 + s, 2.0);
      b.set_grads(300 + s, 2.0);
      const std::vector<float> grads = a.grad;
      const double coef = clip_coefficient(global_grad_norm({&a.p}, nullptr), 0.5);
      CHECK(coef < 1.0);
      fused.step(1e-2, nullptr, coef);
      for (float& g : b.grad) g *= static_cast<float>(coef);
      separate.step(1e-2, nullptr);
      CHECK(a.grad == grads);
    }
    CHECK(a.data == b.data);
    CHECK(fused.state(0, 0) == separate.state(0, 0) && fused.state(1, 0) == separate.state(1, 0));
  }

  // Bit-identical weights and norms for 1, 2 and 3 threads.
  {
    std::vector<std::vector<float>> finals;
    std::vector<double> norms;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      Owned a("a", 300001, 7);
      Optimizer opt(cfg, {&a.p});
      double n = 0;
      for (int s = 1; s <= 3; ++s) {
        a.set_grads(s, 1.0);
        n = global_grad_norm({&a.p}, &pool);
        opt.step(1e-3, &pool, clip_coefficient(n, 0.5));
      }
      finals.push_back(a.data);
      norms.push_back(n);
    }
    CHECK(finals[0] == finals[1] && finals[0] == finals[2]);
    CHECK(norms[0] == norms[1] && norms[0] == norms[2]);
  }
  // OptimizerWrites: each optimizer, with threads, gives the weights and states of a step without
  // them, the bf16 copy round_to_bf16 makes of the new weights (only where a copy is given), and
  // zero gradients.
  for (OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Lion, OptimizerKind::Sgd}) {
    OptimizerConfig c = cfg;
    c.kind = kind;
    c.momentum = 0.9;
    ThreadPool pool(3);
    Owned a("a", 150001, 9), b("b", 150001, 9), x("x", 5000, 10), y("y", 5000, 10);  // a, b span chunks
    Optimizer with(c, {&a.p, &x.p}), without(c, {&b.p, &y.p});
    std::vector<uint16_t> copy(a.data.size(), 0x7fc0), expected(a.data.size());
    const std::vector<uint16_t*> copies = {copy.data(), nullptr};
    for (int s = 1; s <= 2; ++s) {
      a.set_grads(400 + s, 1.0);
      b.set_grads(400 + s, 1.0);
      x.set_grads(500 + s, 1.0);
      y.set_grads(500 + s, 1.0);
      with.step(1e-2, &pool, 0.75, {&copies, true});
      without.step(1e-2, &pool, 0.75);
      CHECK(a.data == b.data && x.data == y.data);
      for (int slot = 0; slot < with.state_slots(); ++slot)
        CHECK(with.state(slot, 0) == without.state(slot, 0) && with.state(slot, 1) == without.state(slot, 1));
      round_to_bf16(expected.data(), a.data.data(), int64_t(expected.size()), nullptr);
      CHECK(copy == expected);
      CHECK(std::all_of(a.grad.begin(), a.grad.end(), [](float g) { return g == 0.0f; }));
      CHECK(std::all_of(x.grad.begin(), x.grad.end(), [](float g) { return g == 0.0f; }));
      CHECK(!std::all_of(b.grad.begin(), b.grad.end(), [](float g) { return g == 0.0f; }));
    }
  }
  return trainer_test::finish("test_optimizer");
}
