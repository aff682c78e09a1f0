// The device optimizer (device/device_optimizer.h) on the CPU stand-in host_ops, which runs the
// CPU engine's kernels: N steps of AdamW, Lion and SGD (plain, momentum, Nesterov) with weight
// decay, a changing lr and clipping's grad_scale give the CPU Optimizer's weights and states bit
// for bit; the grad norm and per-tensor squares match the CPU's sums; states pulled to a host
// Optimizer and pushed into a fresh device optimizer continue both ways as one uninterrupted run
// (a checkpoint moving between the CPU and a device).
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "check_macros.h"
#include "device/device_optimizer.h"
#include "tuner/optimizer.h"
#include "tuner/rng.h"

using namespace tuner;

namespace {

double uniform(Rng& r) { return static_cast<double>(r.next_u64() >> 11) / 9007199254740992.0; }

// One parameter on the host (the CPU Optimizer's) and its copy in device memory.
struct Pair {
  std::vector<float> data, grad;
  Param p;
  dev::DeviceArray<float> w, g;
  Pair(dev::DeviceOps& ops, const std::string& name, int64_t n, uint64_t seed) : data(n), grad(n), w(ops, n), g(ops, n) {
    Rng r(seed);
    for (auto& x : data) x = static_cast<float>(uniform(r) * 2 - 1);
    p.name = name;
    p.shape = {n};
    p.data = data.data();
    p.grad = grad.data();
    ops.upload(w.get(), data.data(), w.bytes());
  }
  dev::DeviceParam device() const {
    dev::DeviceParam d;
    d.host = const_cast<Param*>(&p);
    d.w = w.get();
    d.g = g.get();
    d.n = w.size();
    return d;
  }
  void set_grads(dev::DeviceOps& ops, uint64_t seed, double scale) {
    Rng r(seed);
    for (auto& x : grad) x = static_cast<float>((uniform(r) - 0.5) * scale);
    ops.upload(g.get(), grad.data(), g.bytes());
  }
  std::vector<float> device_weights(dev::DeviceOps& ops) const {
    std::vector<float> out(data.size());
    ops.download(out.data(), w.get(), w.bytes());
    return out;
  }
};

struct Setup {
  std::vector<std::unique_ptr<Pair>> pairs;
  std::vector<Param*> host;
  std::vector<dev::DeviceParam> device;
  Setup(dev::DeviceOps& ops, uint64_t seed) {
    // 70001 spans two of the CPU optimizer's work chunks; 33 leaves a vector tail.
    const int64_t sizes[] = {1000, 70001, 33};
    for (int i = 0; i < 3; ++i) pairs.push_back(std::make_unique<Pair>(ops, "p" + std::to_string(i), sizes[i], seed + i));
    for (auto& p : pairs) host.push_back(&p->p), device.push_back(p->device());
  }
  // Grads of step s on both sides (host and device memory); returns the CPU's clip coefficient
  // for max_norm 0.5 and checks the norm of `mine` (the device optimizer over these parameters).
  double grads(dev::DeviceOps& ops, int s, const dev::DeviceOptimizer* mine) {
    for (size_t i = 0; i < pairs.size(); ++i) pairs[i]->set_grads(ops, 1000 * s + i, i == 0 && s % 2 ? 1e-3 : 1.0);
    const double cpu = global_grad_norm(host, nullptr);
    if (mine) EXPECT_NEAR(mine->grad_norm(), cpu, cpu * 1e-14);
    return clip_coefficient(cpu, s % 3 == 0 ? 0.0 : 0.5);  // clipping on, and off every third step
  }
};

bool same_bits(const std::vector<float>& a, const float* b) { return std::memcmp(a.data(), b, a.size() * sizeof(float)) == 0; }

// The device run's weights and states equal the CPU run's, bit for bit.
void expect_equal(dev::DeviceOps& ops, const Setup& cpu, const Optimizer& cpu_opt, const Setup& dev_side,
                  const dev::DeviceOptimizer& dopt, const char* what) {
  Optimizer pulled(cpu_opt.config(), dev_side.host);
  dopt.pull_to(&pulled);
  bool ok = pulled.step_count() == cpu_opt.step_count();
  for (size_t i = 0; i < cpu.pairs.size(); ++i) {
    ok = ok && same_bits(dev_side.pairs[i]->device_weights(ops), cpu.pairs[i]->data.data());
    for (int slot = 0; slot < cpu_opt.state_slots(); ++slot) ok = ok && pulled.state(slot, i) == cpu_opt.state(slot, i);
  }
  if (!ok) std::fprintf(stderr, "%s: device and CPU differ\n", what);
  EXPECT(ok);
}

void check_optimizer(dev::DeviceOps& ops, const OptimizerConfig& cfg, const char* what) {
  // The CPU run and the device run start from the same weights (same seeds).
  Setup cpu(ops, 7), dev_side(ops, 7);
  Optimizer cpu_opt(cfg, cpu.host);
  dev::DeviceOptimizer dopt(ops, cfg, dev_side.device);
  for (int s = 1; s <= 5; ++s) {
    const double lr = 1e-2 / s;
    const double coef = cpu.grads(ops, s, nullptr);
    dev_side.grads(ops, s, &dopt);
    cpu_opt.step(lr, nullptr, coef);
    dopt.step(lr, coef);
  }
  EXPECT(dopt.step_count() == 5);
  expect_equal(ops, cpu, cpu_opt, dev_side, dopt, what);
  // The update moved the weights (a test that would pass with no update cannot fail).
  EXPECT(dev_side.pairs[1]->device_weights(ops) != Setup(ops, 7).pairs[1]->data);

  // Per-tensor squares as the CPU sums them.
  const std::vector<double> wsq = dopt.weight_squares(), gsq = dopt.grad_squares();
  for (size_t i = 0; i < cpu.pairs.size(); ++i) {
    double w = 0, g = 0;
    for (float x : cpu.pairs[i]->data) w += static_cast<double>(x) * x;
    for (float x : cpu.pairs[i]->grad) g += static_cast<double>(x) * x;
    EXPECT_NEAR(wsq[i], w, w * 1e-12);
    EXPECT_NEAR(gsq[i], g, g * 1e-12);
  }

  // CPU -> device: a fresh device optimizer given the CPU's states (a CPU checkpoint resumed on
  // the device) continues as the CPU does. Device -> CPU: the device's states pulled into a
  // fresh CPU optimizer continue on the CPU as on the device.
  Setup resumed(ops, 99);
  for (size_t i = 0; i < cpu.pairs.size(); ++i) {
    resumed.pairs[i]->data = cpu.pairs[i]->data;
    resumed.pairs[i]->p.data = resumed.pairs[i]->data.data();
    ops.upload(resumed.pairs[i]->w.get(), cpu.pairs[i]->data.data(), resumed.pairs[i]->w.bytes());
  }
  dev::DeviceOptimizer dopt2(ops, cfg, resumed.device);
  dopt2.push_from(cpu_opt);
  EXPECT(dopt2.step_count() == 5);
  Optimizer cpu_opt2(cfg, resumed.host);
  dopt.pull_to(&cpu_opt2);
  for (int s = 6; s <= 8; ++s) {
    const double lr = 1e-2 / s;
    const double coef = cpu.grads(ops, s, nullptr);
    dev_side.grads(ops, s, &dopt);
    resumed.grads(ops, s, &dopt2);
    cpu_opt.step(lr, nullptr, coef);
    dopt.step(lr, coef);
    dopt2.step(lr, coef);  // on resumed's device weights
    cpu_opt2.step(lr, nullptr, coef);  // on resumed's host weights
  }
  expect_equal(ops, cpu, cpu_opt, dev_side, dopt, what);
  expect_equal(ops, cpu, cpu_opt, resumed, dopt2, what);
  bool ok = cpu_opt2.step_count() == cpu_opt.step_count();
  for (size_t i = 0; i < cpu.pairs.size(); ++i) {
    ok = ok && resumed.pairs[i]->data == cpu.pairs[i]->data;
    for (int slot = 0; slot < cpu_opt.state_slots(); ++slot) ok = ok && cpu_opt2.state(slot, i) == cpu_opt.state(slot, i);
  }
  if (!ok) std::fprintf(stderr, "%s: the CPU continuation of the device's states differs\n", what);
  EXPECT(ok);
}

}  // namespace

int main() {
  std::unique_ptr<dev::DeviceOps> ops = dev::make_host_ops();

  OptimizerConfig adamw;
  adamw.beta1 = 0.8, adamw.beta2 = 0.95, adamw.eps = 1e-6, adamw.weight_decay = 0.1;
  check_optimizer(*ops, adamw, "adamw");

  OptimizerConfig lion;
  lion.kind = OptimizerKind::Lion;
  lion.beta1 = 0.9, lion.beta2 = 0.99, lion.weight_decay = 0.05;
  check_optimizer(*ops, lion, "lion");

  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::Sgd;
  sgd.weight_decay = 0.01;
  check_optimizer(*ops, sgd, "sgd");  // no state
  sgd.momentum = 0.9;
  check_optimizer(*ops, sgd, "sgd momentum");
  sgd.nesterov = true;
  check_optimizer(*ops, sgd, "sgd nesterov");

  // A host optimizer of another kind is refused, not read past its states.
  {
    Setup s(*ops, 3);
    dev::DeviceOptimizer d(*ops, adamw, s.device);
    Optimizer other(lion, s.host);
    EXPECT_ERROR([&] { d.pull_to(&other); }, "internal", "another kind");
  }
  // The trainer's host copy on the GPU path (states_only) holds states only from a pull until it
  // is released, and never updates.
  {
    Setup s(*ops, 5);
    dev::DeviceOptimizer d(*ops, adamw, s.device);
    for (auto& p : s.pairs) p->set_grads(*ops, 11, 1.0);
    d.step(1e-2);
    Optimizer host(adamw, s.host, true);
    EXPECT(host.state(0, 1).empty() && host.state(1, 1).empty());
    d.pull_to(&host);
    Optimizer full(adamw, s.host);
    d.pull_to(&full);
    EXPECT(host.state(1, 1).size() == 70001 && host.state(1, 1) == full.state(1, 1) && host.step_count() == 1);
    host.release_states();
    EXPECT(host.state(0, 1).empty() && host.state(1, 1).capacity() == 0);
    EXPECT_ERROR([&] { host.step(1e-2, nullptr); }, "internal", "host copy of a device optimizer");
    EXPECT_ERROR([&] { full.release_states(); }, "internal", "updates on the host");
  }
  return finish("test_device_optimizer");
}
