// Learning-rate schedules with linear warmup, with the formulas of Hugging Face transformers'
// get_{constant,linear,cosine}_schedule_with_warmup, so a plan means the same lr curve here as
// in a Python trainer. Step s (0-based: the number of optimizer steps already taken) gets
// lr = base_lr * multiplier(s); the first update uses s = 0, which is 0 when warmup > 0.
#pragma once
#include <cstdint>
#include <string>

namespace tuner {

enum class ScheduleKind { Constant, Linear, Cosine };

// Parses "constant" | "linear" | "cosine"; returns false for anything else.
bool parse_schedule_kind(const std::string& name, ScheduleKind* out);
const char* schedule_kind_name(ScheduleKind kind);

struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;
  double base_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // linear and cosine decay to 0 at this step

  double multiplier(int64_t step) const;
  double lr(int64_t step) const { return base_lr * multiplier(step); }
};

}  // namespace tuner
