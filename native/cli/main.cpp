// tuner-train: the trainer process. Thin by design: argument parsing, plan loading and the
// training loop live in the core library (native/src/train) where they are tested.
#include <cstdio>
#include <exception>

#include "tuner/error.h"
#include "tuner/protocol.h"
#include "tuner/train.h"

namespace {

int report(const std::string& code, const std::string& message, const std::string& hint) {
  tuner::EventSink sink(1);
  sink.emit(tuner::EventLine("error").str("code", code).str("message", message).str("hint", hint));
  std::fprintf(stderr, "tuner-train: error [%s]: %s\n  hint: %s\n", code.c_str(), message.c_str(), hint.c_str());
  return code == "bad_arguments" ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const tuner::CliArgs args = tuner::parse_cli_args(argc, argv);
    if (args.help) {
      std::fputs(tuner::kCliUsage, stdout);
      return 0;
    }
    if (args.version) {
      std::printf("tuner-train protocol %d\n", tuner::kProtocolVersion);
      return 0;
    }
    const tuner::RunPlan plan = tuner::load_plan(args.plan_path);
    return tuner::run_training(plan, args.options);
  } catch (const tuner::TunerError& e) {
    return report(e.code(), e.what(), e.hint());
  } catch (const std::exception& e) {
    return report("internal", e.what(), "This is a bug in Tuner; please report it with the log.");
  }
}
