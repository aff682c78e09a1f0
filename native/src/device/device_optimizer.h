// The trainer's optimizer (tuner/optimizer.h) on a DeviceOps: AdamW, Lion and SGD states in
// device memory, one per DeviceParam, updated by the ops' kernels with the scalars the CPU
// Optimizer computes (train/optimizer_scalars.h), so a device step is the CPU step's formula on
// the same fp32 values (host_ops: bit for bit). Checkpoints stay the CPU's files: pull_to() copies
// the states into a host Optimizer that save_checkpoint writes, push_from() copies a loaded one
// back, so a checkpoint moves between the CPU and a device in either direction.
#pragma once
#include <cstdint>
#include <vector>

#include "device/device_model.h"
#include "device/device_ops.h"
#include "tuner/optimizer.h"

namespace tuner::dev {

class DeviceOptimizer {
 public:
  // States start at zero, as the CPU Optimizer's; `params` are DeviceModel::device_params().
  DeviceOptimizer(DeviceOps& ops, const OptimizerConfig& cfg, const std::vector<DeviceParam>& params);

  // One update of every parameter from g * grad_scale at learning rate lr (Optimizer::step's
  // contract: grad_scale is clip_coefficient(), the gradients are left as they were).
  void step(double lr, double grad_scale = 1.0);
  int64_t step_count() const { return step_; }

  // Sum of squared gradients (weights) per parameter, in double; the global grad norm is the
  // square root of their sum (grad_norm()).
  std::vector<double> grad_squares() const;
  std::vector<double> weight_squares() const;
  double grad_norm() const;

  // The states and step count device -> host Optimizer (before a checkpoint; its states are
  // allocated first) and host -> device (after a resume loaded them). `host` trains the same
  // parameters with the same config.
  void pull_to(Optimizer* host) const;
  void push_from(const Optimizer& host);

 private:
  void check_same(const Optimizer& host) const;
  DeviceOps& ops_;
  OptimizerConfig cfg_;
  std::vector<DeviceParam> params_;
  std::vector<std::vector<DeviceArray<float>>> state_;  // [slot][param]
  int64_t step_ = 0;
};

}  // namespace tuner::dev
