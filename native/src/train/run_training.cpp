// Entry point of a training run: everything the run can throw becomes one `error` event and a
// non-zero exit code. Only exceptions are caught; real crashes (signals) are left to the OS so
// they are never hidden.
#include <cstdio>
#include <fstream>
#include <new>
#include <string>

#include "tuner/error.h"
#include "trainer_internal.h"

namespace tuner {

int64_t peak_memory_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // reported in kB
  }
  return 0;
}

int emit_error(EventSink* sink, const std::string& code, const std::string& message, const std::string& hint, int64_t step) {
  EventLine e("error");
  e.str("code", code).str("message", message).str("hint", hint);
  if (step >= 0) e.integer("step", step);
  sink->emit(e);
  std::fprintf(stderr, "tuner-train: error [%s]: %s\n%s%s", code.c_str(), message.c_str(), hint.empty() ? "" : "  hint: ",
               hint.empty() ? "" : (hint + "\n").c_str());
  return 1;
}

int run_training(const RunPlan& plan, const TrainOptions& opts) {
  EventSink sink(1);
  // Beats from the run's `start` event to its last (the sink drops heartbeats outside them).
  Heartbeat heartbeat(&sink, opts.heartbeat_ms);
  CommandReader commands(0);
  commands.start();
  Trainer trainer(plan, opts, &sink, &commands);
  try {
    if (!opts.control.empty()) commands.listen(opts.control);
    return trainer.run();
  } catch (const StepError& e) {
    return emit_error(&sink, e.code(), e.what(), e.hint(), e.step());
  } catch (const TunerError& e) {
    return emit_error(&sink, e.code(), e.what(), e.hint(), trainer.step() > 0 ? trainer.step() : -1);
  } catch (const std::bad_alloc&) {
    return emit_error(&sink, "out_of_memory", "ran out of memory", "Lower batch_size or seq_len, use LoRA, or close other programs.", -1);
  } catch (const std::exception& e) {
    return emit_error(&sink, "internal", e.what(), "This is a bug in Tuner; please report it with the log.", -1);
  }
}

}  // namespace tuner
