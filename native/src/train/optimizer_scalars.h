// The per-step scalars of each optimizer's update, computed in double and rounded once to fp32
// (as torch does with Python floats). The CPU Optimizer (optimizer.cpp) and the device optimizer
// (device/device_optimizer.cpp) both take them from here, so the same step on the same state
// runs the same fp32 numbers on either side.
#pragma once
#include <cstdint>

#include "kernels/cpu/vector_kernels.h"
#include "tuner/optimizer.h"

namespace tuner {

// `step` is the optimizer step being taken (1 for the first), for AdamW's bias corrections.
AdamWScalars adamw_scalars(const OptimizerConfig& cfg, int64_t step, double lr, double grad_scale);
LionScalars lion_scalars(const OptimizerConfig& cfg, double lr, double grad_scale);
SgdScalars sgd_scalars(const OptimizerConfig& cfg, double lr, double grad_scale);

// State slots per parameter: adamw 2 (exp_avg, exp_avg_sq), lion 1 (exp_avg), sgd 1
// (momentum_buffer) with momentum, else 0.
int optimizer_state_slots(const OptimizerConfig& cfg);

}  // namespace tuner
