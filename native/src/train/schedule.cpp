// Learning-rate multipliers, transcribed from transformers/optimization.py so that a plan's
// schedule gives the same curve as the Hugging Face Trainer (checked in test_schedule).
#include "tuner/schedule.h"

#include <algorithm>
#include <cmath>

namespace tuner {

bool parse_schedule_kind(const std::string& name, ScheduleKind* out) {
  if (name == "constant") *out = ScheduleKind::Constant;
  else if (name == "linear") *out = ScheduleKind::Linear;
  else if (name == "cosine") *out = ScheduleKind::Cosine;
  else return false;
  return true;
}

const char* schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Constant: return "constant";
    case ScheduleKind::Linear: return "linear";
    case ScheduleKind::Cosine: return "cosine";
  }
  return "constant";
}

double Schedule::multiplier(int64_t step) const {
  const double s = static_cast<double>(step);
  if (step < warmup_steps) return s / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  const double decay_span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  switch (kind) {
    case ScheduleKind::Constant:
      return 1.0;
    case ScheduleKind::Linear:
      return std::max(0.0, static_cast<double>(total_steps - step) / decay_span);
    case ScheduleKind::Cosine: {
      const double progress = static_cast<double>(step - warmup_steps) / decay_span;
      const double num_cycles = 0.5;  // HF default: half a cosine, from 1 down to 0
      return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * num_cycles * 2.0 * progress)));
    }
  }
  return 1.0;
}

}  // namespace tuner
