// The trainer process protocol, C++ side: JSON-lines events on stdout and commands on stdin.
// The one TypeScript definition is src/core/engine/protocol.ts (docs/trainer-protocol.md);
// this mirrors it. Event lines are written whole under a lock and flushed, so a reader never
// sees half a line; human logs go to stderr.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tuner/json.h"  // json_quote

namespace tuner {

constexpr int kProtocolVersion = 1;

// Builds one JSON object: {"version":1,"type":...,<fields>}.
class EventLine {
 public:
  explicit EventLine(const char* type);
  EventLine& str(const char* key, const std::string& v);
  EventLine& null(const char* key);
  EventLine& num(const char* key, double v);    // shortest text that round-trips a double
  EventLine& numf(const char* key, float v);    // shortest text that round-trips a float
  EventLine& integer(const char* key, int64_t v);
  EventLine& boolean(const char* key, bool v);
  EventLine& raw(const char* key, const std::string& json);  // an already-encoded value
  std::string finish() const { return text_ + "}"; }
  const std::string& type() const { return type_; }
  int64_t step() const { return step_; }  // its "step" field, -1 when it has none

 private:
  void key(const char* k);
  std::string text_;
  std::string type_;
  int64_t step_ = -1;
};

// Small object builder for nested values (model summary, outputs).
class JsonObject {
 public:
  JsonObject& str(const char* key, const std::string& v);
  JsonObject& integer(const char* key, int64_t v);
  std::string finish() const { return "{" + text_ + "}"; }

 private:
  std::string text_;
};

std::string format_double(double v);
std::string format_float(float v);

// Writes event lines to a file descriptor (stdout by default), one write per line. It follows
// the run's state from the events it writes (the step, paused or not, started, ended), which is
// what a heartbeat reports.
class EventSink {
 public:
  explicit EventSink(int fd = 1) : fd_(fd) {}
  void emit(const EventLine& e);
  // A `heartbeat` event with the current step and state, written only between the run's `start`
  // and its last event (`done` or `error`): nothing follows the end of a run.
  void emit_heartbeat(int interval_ms);
  // The training loop's own liveness: the loop calls this each time it makes progress (a step,
  // an evaluation, a save) and each time it checks for commands while paused (a cheap atomic
  // store). Heartbeats then carry `loop_idle_ms`, how long ago that was, so a loop that hangs
  // or deadlocks shows even though the heartbeat thread keeps beating. Never called: no field.
  void mark_loop_alive();
  // True once a write failed (the reader closed stdout): nobody is watching the run any more.
  bool broken() const { return broken_; }

 private:
  void write_line(const std::string& line);  // with mu_ held
  int fd_;
  std::mutex mu_;
  bool broken_ = false;
  bool started_ = false, ended_ = false, paused_ = false;
  int64_t step_ = 0;
  std::atomic<int64_t> loop_mark_ms_{-1};  // steady clock, ms; -1: the loop has not marked yet
};

// Calls sink->emit_heartbeat every interval_ms from a thread of its own (heartbeat.cpp) until it
// is destroyed; interval_ms 0 starts no thread. Steady while the training loop is paused, waits
// at a breakpoint or computes a long step.
class Heartbeat {
 public:
  Heartbeat(EventSink* sink, int interval_ms);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void beat();
  EventSink* sink_;
  int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

enum class CommandType { Pause, Resume, Step, Save, Stop, Set };
const char* command_name(CommandType c);

// One command. `set` changes the learning rate from the next step on: either a factor on the
// scheduled lr (`lr_scale`) or a new peak lr in place of the plan's optimizer.lr (`lr`, turned
// into the same factor by the trainer, so warmup and decay keep their shape). Exactly one of
// the two is > 0.
struct Command {
  CommandType type = CommandType::Pause;
  double lr_scale = 0;
  double lr = 0;
};

// Parses one command line ({"version":1,"type":"pause"}; a bare word such as `pause` is accepted
// too, for people driving tuner-train by hand, and `set lr 1e-4` / `set lr_scale 0.5`).
// Returns false and sets *why on a bad line.
bool parse_command(const std::string& line, Command* out, std::string* why);
bool parse_command(const std::string& line, CommandType* out, std::string* why);

// Reads commands from stdin on its own thread and queues them. End of input only ends the
// reader: training goes on (a CLI user may close stdin). Bad lines are reported on stderr.
// With listen(), commands also come through a control socket (control_server.cpp) that outlives
// any one client: the trainer runs detached from the editor, which connects again after a reload.
struct ReaderShared;
struct ControlServer;

class CommandReader {
 public:
  explicit CommandReader(int fd = 0);
  ~CommandReader();
  void start();
  // Serves the control channel at `address` (a Unix domain socket path): only processes of this
  // user may connect; the first client controls the run, later ones are observers until it
  // leaves. A stale socket left by a dead trainer is replaced; a live one is a TunerError
  // ("run_busy"). The socket file is removed by close_control() and by the destructor.
  void listen(const std::string& address);
  void close_control();
  // Pops the next command if there is one.
  bool poll(Command* out);
  // Returns when a command is queued, input ended, or timeout_ms passed.
  void wait_for_input(int timeout_ms);
  // True when stdin ended and no control channel serves the run: nobody can send a command.
  bool input_ended();

 private:
  int fd_;
  std::unique_ptr<ControlServer> control_;
  // Shared with the reader thread, which is detached: it may sit in read() until the process
  // exits and so must own what it touches.
  std::shared_ptr<ReaderShared> shared_;
};

}  // namespace tuner
