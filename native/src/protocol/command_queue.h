// What the command sources (the stdin reader thread and the control socket's thread) share with
// the training loop: one queue of parsed commands, and the control server's handle. Internal to
// native/src/protocol.
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "tuner/protocol.h"

namespace tuner {

struct ReaderShared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Command> queue;
  bool ended = false;  // stdin reached its end

  void push(const Command& c) {
    std::lock_guard<std::mutex> lock(mu);
    queue.push_back(c);
    cv.notify_all();
  }
};

// The control socket: bound in the constructor (throws TunerError), served on a detached thread
// until shutdown() (or the process ends). The thread owns what it touches through `state`.
struct ControlState;

struct ControlServer {
  ControlServer(const std::string& address, std::shared_ptr<ReaderShared> queue);
  ~ControlServer();
  void shutdown();

  std::string address;
  std::shared_ptr<ControlState> state;
};

}  // namespace tuner
