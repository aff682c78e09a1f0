// The device optimizer (device_optimizer.h): the CPU Optimizer's update per parameter as one op
// each, its states in device memory.
#include "device/device_optimizer.h"

#include <cmath>

#include "train/optimizer_scalars.h"
#include "tuner/error.h"

namespace tuner::dev {

DeviceOptimizer::DeviceOptimizer(DeviceOps& ops, const OptimizerConfig& cfg, const std::vector<DeviceParam>& params)
    : ops_(ops), cfg_(cfg), params_(params) {
  TUNER_CHECK(!cfg.nesterov || (cfg.kind == OptimizerKind::Sgd && cfg.momentum > 0.0), "Nesterov needs SGD with momentum");
  state_.resize(static_cast<size_t>(optimizer_state_slots(cfg)));
  for (auto& slot : state_) {
    for (const DeviceParam& p : params_) {
      TUNER_CHECK(p.w && p.g, "device optimizer given a parameter without weights or gradient");
      slot.emplace_back(ops_, p.n);
      ops_.fill_zero(slot.back().get(), slot.back().bytes());
    }
  }
}

void DeviceOptimizer::step(double lr, double grad_scale) {
  ++step_;
  if (cfg_.kind == OptimizerKind::AdamW) {
    const AdamWScalars s = adamw_scalars(cfg_, step_, lr, grad_scale);
    for (size_t i = 0; i < params_.size(); ++i)
      ops_.adamw_update(params_[i].w, state_[0][i].get(), state_[1][i].get(), params_[i].g, params_[i].n, s);
  } else if (cfg_.kind == OptimizerKind::Lion) {
    const LionScalars s = lion_scalars(cfg_, lr, grad_scale);
    for (size_t i = 0; i < params_.size(); ++i) ops_.lion_update(params_[i].w, state_[0][i].get(), params_[i].g, params_[i].n, s);
  } else {
    const SgdScalars s = sgd_scalars(cfg_, lr, grad_scale);
    for (size_t i = 0; i < params_.size(); ++i)
      ops_.sgd_update(params_[i].w, state_.empty() ? nullptr : state_[0][i].get(), params_[i].g, params_[i].n, s);
  }
}

namespace {

std::vector<double> squares(DeviceOps& ops, const std::vector<DeviceParam>& params, bool grads) {
  std::vector<const float*> xs;
  std::vector<int64_t> ns;
  for (const DeviceParam& p : params) {
    xs.push_back(grads ? p.g : p.w);
    ns.push_back(p.n);
  }
  std::vector<double> out(params.size(), 0.0);
  if (!params.empty()) ops.sum_squares(out.data(), xs.data(), ns.data(), static_cast<int>(params.size()));
  return out;
}

}  // namespace

std::vector<double> DeviceOptimizer::grad_squares() const { return squares(ops_, params_, true); }
std::vector<double> DeviceOptimizer::weight_squares() const { return squares(ops_, params_, false); }

double DeviceOptimizer::grad_norm() const {
  double total = 0.0;
  for (double s : grad_squares()) total += s;  // parameter order: the same sum on every run
  return std::sqrt(total);
}

void DeviceOptimizer::check_same(const Optimizer& host) const {
  TUNER_CHECK(host.config().kind == cfg_.kind && host.state_slots() == static_cast<int>(state_.size()) &&
                  host.params().size() == params_.size(),
              "device optimizer paired with a host optimizer of another kind or model");
  for (size_t i = 0; i < params_.size(); ++i)
    TUNER_CHECK(host.params()[i]->numel() == params_[i].n, "device optimizer: parameter " + host.params()[i]->name + " differs in size");
}

void DeviceOptimizer::pull_to(Optimizer* host) const {
  check_same(*host);
  host->allocate_states();
  for (size_t slot = 0; slot < state_.size(); ++slot)
    for (size_t i = 0; i < params_.size(); ++i)
      download_values(ops_, *params_[i].host, host->state(static_cast<int>(slot), i).data(), state_[slot][i].get());
  host->set_step_count(step_);
}

void DeviceOptimizer::push_from(const Optimizer& host) {
  check_same(host);
  for (size_t slot = 0; slot < state_.size(); ++slot)
    for (size_t i = 0; i < params_.size(); ++i)
      upload_values(ops_, *params_[i].host, state_[slot][i].get(), host.state(static_cast<int>(slot), i).data());
  step_ = host.step_count();
}

}  // namespace tuner::dev
