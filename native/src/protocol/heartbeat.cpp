// The trainer's heartbeat: a `heartbeat` event every interval from a thread of its own, so it
// keeps coming while the training loop is paused, waits at a debugger breakpoint (a pause between
// steps) or computes one long step. A window that reattaches to a detached trainer cannot ask it
// anything before it connects; what it can see is events.jsonl: a recent heartbeat (with the
// run's pid and process start time in run.json) says the trainer is alive and able to write its
// events; a live pid with no heartbeat for several intervals says it is stopped or hung (SIGSTOP,
// a full disk, a frozen machine); no such process says it died. Heartbeats say nothing about
// progress: steps do. Because the thread beats whatever the training loop does, the line also
// carries `loop_idle_ms`: how long ago the loop last marked itself alive (EventSink::mark_loop_alive,
// after each step and on each command check, also every wait while paused). A loop that hangs or
// deadlocks keeps the heartbeat coming but its loop_idle_ms grows. The line is built by EventSink::emit_heartbeat under the sink's lock, from
// the events it wrote, so the step and state it reports are never older than the line before it:
//   {"version":1,"type":"heartbeat","step":N,"state":"training"|"paused","interval_ms":I,"unix_ms":T,
//    "loop_idle_ms":L}   (L only once the loop has marked itself)
#include <chrono>

#include "tuner/protocol.h"

namespace tuner {

Heartbeat::Heartbeat(EventSink* sink, int interval_ms) : sink_(sink), interval_ms_(interval_ms) {
  if (interval_ms_ > 0) thread_ = std::thread([this] { beat(); });
}

// Returns once the thread has ended (at once, not after the rest of an interval).
Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::beat() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; })) {
    lock.unlock();  // the sink's lock is taken inside; the destructor may wait for ours meanwhile
    sink_->emit_heartbeat(interval_ms_);
    lock.lock();
  }
}

}  // namespace tuner
