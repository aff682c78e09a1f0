// Learning-rate schedules against values worked out by hand from the Hugging Face formulas
// (get_constant/linear/cosine_schedule_with_warmup; first update at step 0).
#include <cmath>

#include "trainer_test_util.h"
#include "tuner/schedule.h"

using namespace tuner;

int main() {
  Schedule s;
  s.base_lr = 2.0;
  s.warmup_steps = 10;
  s.total_steps = 110;

  // Warmup is shared: step / warmup, so the very first update has lr 0.
  for (ScheduleKind k : {ScheduleKind::Constant, ScheduleKind::Linear, ScheduleKind::Cosine}) {
    s.kind = k;
    CHECK_NEAR(s.multiplier(0), 0.0, 0);
    CHECK_NEAR(s.multiplier(1), 0.1, 1e-15);
    CHECK_NEAR(s.multiplier(5), 0.5, 1e-15);
    CHECK_NEAR(s.multiplier(10), 1.0, 1e-15);
    CHECK_NEAR(s.lr(5), 1.0, 1e-15);
  }

  s.kind = ScheduleKind::Constant;
  CHECK_NEAR(s.multiplier(60), 1.0, 0);
  CHECK_NEAR(s.multiplier(500), 1.0, 0);

  s.kind = ScheduleKind::Linear;  // (total - step) / (total - warmup), floored at 0
  CHECK_NEAR(s.multiplier(60), 0.5, 1e-15);
  CHECK_NEAR(s.multiplier(35), 0.75, 1e-15);
  CHECK_NEAR(s.multiplier(110), 0.0, 0);
  CHECK_NEAR(s.multiplier(200), 0.0, 0);

  s.kind = ScheduleKind::Cosine;  // 0.5 * (1 + cos(pi * progress))
  CHECK_NEAR(s.multiplier(60), 0.5, 1e-15);
  CHECK_NEAR(s.multiplier(35), 0.5 * (1 + std::sqrt(0.5)), 1e-15);  // progress 1/4
  CHECK_NEAR(s.multiplier(85), 0.5 * (1 - std::sqrt(0.5)), 1e-15);  // progress 3/4
  CHECK_NEAR(s.multiplier(110), 0.0, 1e-15);
  CHECK(s.multiplier(150) >= 0.0);  // past the end the half cosine would rise again; HF clamps

  // No warmup: the first update already uses the full lr.
  s.warmup_steps = 0;
  s.total_steps = 4;
  s.kind = ScheduleKind::Linear;
  CHECK_NEAR(s.multiplier(0), 1.0, 0);
  CHECK_NEAR(s.multiplier(1), 0.75, 1e-15);
  s.kind = ScheduleKind::Cosine;
  CHECK_NEAR(s.multiplier(0), 1.0, 1e-15);
  CHECK_NEAR(s.multiplier(2), 0.5, 1e-15);

  // Monotone decay after warmup for linear and cosine.
  s.warmup_steps = 3;
  s.total_steps = 50;
  for (ScheduleKind k : {ScheduleKind::Linear, ScheduleKind::Cosine}) {
    s.kind = k;
    for (int64_t i = 4; i <= 50; ++i) CHECK(s.multiplier(i) <= s.multiplier(i - 1));
  }

  ScheduleKind k;
  CHECK(parse_schedule_kind("cosine", &k) && k == ScheduleKind::Cosine);
  CHECK(!parse_schedule_kind("Cosine", &k));
  CHECK(!parse_schedule_kind("polynomial", &k));
  return trainer_test::finish("test_schedule");
}
