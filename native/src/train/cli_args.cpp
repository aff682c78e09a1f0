// tuner-train's command line. Kept in the core library so it is unit-tested with the rest.
#include <cstdlib>
#include <string>

#include "tuner/error.h"
#include "tuner/train.h"

namespace tuner {

const char* const kCliUsage =
    "usage: tuner-train --plan PLAN.json [--resume CHECKPOINT_DIR] [--start-paused] [--layer-norms]\n"
    "                   [--control SOCKET] [--heartbeat-ms N]\n"
    "       tuner-train --version | --help\n"
    "\n"
    "Trains a model as the run plan says (docs/trainer-protocol.md). Events go to stdout as JSON\n"
    "lines; commands (pause, resume, step, save, stop, set) are read from stdin and, with --control,\n"
    "from a Unix socket at SOCKET that clients of this user may connect to at any time; logs go to\n"
    "stderr. A heartbeat event is written every --heartbeat-ms (default 5000, 0 for none), also while\n"
    "paused.\n";

CliArgs parse_cli_args(int argc, const char* const* argv) {
  CliArgs a;
  const std::string fix = "Run tuner-train --help for usage.";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)
        throw TunerError("bad_arguments", std::string(name) + " needs a value", fix);
      return argv[++i];
    };
    if (arg == "--plan") a.plan_path = value("--plan");
    else if (arg == "--resume") a.options.resume_dir = value("--resume");
    else if (arg == "--start-paused") a.options.start_paused = true;
    else if (arg == "--layer-norms") a.options.layer_norms = true;
    else if (arg == "--control") a.options.control = value("--control");
    else if (arg == "--heartbeat-ms") {
      const std::string v = value("--heartbeat-ms");
      char* end = nullptr;
      const long ms = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || ms < 0 || ms > 3600000 || (ms > 0 && ms < 10))
        throw TunerError("bad_arguments", "--heartbeat-ms '" + v + "' is not 0 or a whole number of milliseconds from 10 to 3600000",
                         "Pass, for example, --heartbeat-ms 5000 (0 turns heartbeats off).");
      a.options.heartbeat_ms = static_cast<int>(ms);
    }
    else if (arg == "--help" || arg == "-h") a.help = true;
    else if (arg == "--version") a.version = true;
    else throw TunerError("bad_arguments", "unknown argument '" + arg + "'", fix);
  }
  if (!a.help && !a.version && a.plan_path.empty())
    throw TunerError("bad_arguments", "--plan is required", "Pass the run plan: tuner-train --plan plan.json");
  while (a.options.resume_dir.size() > 1 && a.options.resume_dir.back() == '/') a.options.resume_dir.pop_back();
  return a;
}

}  // namespace tuner
