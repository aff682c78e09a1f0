// Entry point of a training run: everything the run can throw becomes one `error` event and a
// non-zero exit code. Only exceptions are caught; real crashes (signals) are left to the OS so
// they are never hidden.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
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

namespace {

// Ranks other than 0 of a data-parallel run: their stdout and stderr go to /dev/null (rank 0
// alone writes the event stream and the log); an error of theirs still reaches the launcher's
// stderr, prefixed with the rank.
int g_error_fd = 2;
int g_rank = 0;

void quiet_non_root_rank(int rank) {
  g_rank = rank;
  g_error_fd = ::dup(2);
  const int null_fd = ::open("/dev/null", O_WRONLY);
  if (null_fd < 0 || g_error_fd < 0) return;
  ::dup2(null_fd, 1);
  ::dup2(null_fd, 2);
  ::close(null_fd);
}

}  // namespace

int emit_error(EventSink* sink, const std::string& code, const std::string& message, const std::string& hint, int64_t step) {
  EventLine e("error");
  e.str("code", code).str("message", message).str("hint", hint);
  if (step >= 0) e.integer("step", step);
  sink->emit(e);
  const std::string rank = g_rank > 0 ? " rank " + std::to_string(g_rank) : "";
  ::dprintf(g_error_fd, "tuner-train%s: error [%s]: %s\n%s%s", rank.c_str(), code.c_str(), message.c_str(), hint.empty() ? "" : "  hint: ",
            hint.empty() ? "" : (hint + "\n").c_str());
  return 1;
}

int run_training(const RunPlan& plan, const TrainOptions& opts) {
  LaunchInfo launch;
  try {
    launch = detect_launch();
  } catch (const TunerError& e) {
    EventSink sink(1);
    return emit_error(&sink, e.code(), e.what(), e.hint(), -1);
  }
  const bool root = launch.rank == 0;
  if (!root) quiet_non_root_rank(launch.rank);
  EventSink sink(1);
  // Beats from the run's `start` event to its last (the sink drops heartbeats outside them).
  Heartbeat heartbeat(&sink, root ? opts.heartbeat_ms : 0);
  CommandReader commands(0);
  commands.start();
  Trainer trainer(plan, opts, &sink, &commands);
  std::unique_ptr<Communicator> comm;
  std::atomic<bool> ended{false};
  std::thread watcher;
  // After an error a data-parallel run ends every rank (the others may wait in a collective).
  const auto fail = [&](int rc) {
    ended = true;
    if (watcher.joinable()) watcher.join();
    if (comm && comm->world_size() > 1) {
      // Before the first step every rank checks the same plan and data: give rank 0 a moment to
      // report the error itself (the user reads rank 0's events) before this rank's abort ends it
      // and its report becomes "rank lost".
      if (!root && trainer.steps_done() == 0) std::this_thread::sleep_for(std::chrono::seconds(3));
      comm->abort(rc);
    }
    return rc;
  };
  try {
    comm = make_communicator(launch);
    if (comm->world_size() != launch.world_size)
      throw TunerError("comm_unavailable",
                       launch.launcher + " announced " + std::to_string(launch.world_size) + " ranks but the " + comm->backend() +
                           " backend sees " + std::to_string(comm->world_size()),
                       "Launch with the matching tool: mpirun for TUNER_COMM=mpi, torchrun for tcp.");
    trainer.attach(comm.get());
    if (comm->world_size() > 1 && root) {
      // A launcher stops every rank with a signal when one of them ends (mpirun) or the job is
      // cancelled: rank 0 may then wait in a collective for a rank that is gone, so this thread
      // reports it and ends the process (checkpoints are written atomically: the last stays good).
      watcher = std::thread([&]() {
        while (!ended.load()) {
          if (stop_signal_received()) {
            const int64_t step = trainer.steps_done();
            emit_error(&sink, "rank_lost",
                       "the data-parallel run stopped after step " + std::to_string(step) +
                           ": the launcher ended rank 0 (another rank ended, was killed or ran out of memory, or the job was cancelled)",
                       "Resume from the last checkpoint in " + plan.output_dir + "/checkpoints; stop a data-parallel run with the "
                       "`stop` command, which saves first.",
                       step);
            std::_Exit(1);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      });
    }
    if (!opts.control.empty() && root) commands.listen(opts.control);
    const int rc = trainer.run();
    ended = true;
    if (watcher.joinable()) watcher.join();
    return rc;
  } catch (const StepError& e) {
    return fail(emit_error(&sink, e.code(), e.what(), e.hint(), e.step()));
  } catch (const TunerError& e) {
    return fail(emit_error(&sink, e.code(), e.what(), e.hint(), trainer.step() > 0 ? trainer.step() : -1));
  } catch (const std::bad_alloc&) {
    return fail(emit_error(&sink, "out_of_memory", "ran out of memory", "Lower batch_size or seq_len, use LoRA, or close other programs.", -1));
  } catch (const std::exception& e) {
    return fail(emit_error(&sink, "internal", e.what(), "This is a bug in Tuner; please report it with the log.", -1));
  }
}

}  // namespace tuner
