// Commands on stdin, read on a thread of their own so a command reaches the training loop
// between any two steps while the loop never blocks on input.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <memory>
#include <thread>

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/protocol.h"

namespace tuner {

const char* command_name(CommandType c) {
  switch (c) {
    case CommandType::Pause: return "pause";
    case CommandType::Resume: return "resume";
    case CommandType::Step: return "step";
    case CommandType::Save: return "save";
    case CommandType::Stop: return "stop";
  }
  return "?";
}

static bool command_from_name(const std::string& name, CommandType* out) {
  for (CommandType c : {CommandType::Pause, CommandType::Resume, CommandType::Step,
                        CommandType::Save, CommandType::Stop}) {
    if (name == command_name(c)) {
      *out = c;
      return true;
    }
  }
  return false;
}

static std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool parse_command(const std::string& raw, CommandType* out, std::string* why) {
  const std::string line = trim(raw);
  if (line.empty() || line[0] != '{') {
    if (command_from_name(line, out)) return true;
    *why = "unknown command '" + line + "'; send pause, resume, step, save or stop";
    return false;
  }
  Json j;
  try {
    j = Json::parse(line, "stdin");
  } catch (const TunerError& e) {
    *why = e.what();
    return false;
  }
  if (!j.is_object()) {
    *why = "a command is a JSON object such as {\"version\":1,\"type\":\"pause\"}";
    return false;
  }
  const Json* v = j.find("version");
  if (!v || !v->is_number() || v->as_number() != kProtocolVersion) {
    *why = "command protocol version must be " + std::to_string(kProtocolVersion);
    return false;
  }
  const Json* t = j.find("type");
  if (!t || !t->is_string() || !command_from_name(t->as_string(), out)) {
    *why = "unknown command type; expected pause, resume, step, save or stop";
    return false;
  }
  return true;
}

struct ReaderShared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<CommandType> queue;
  bool ended = false;
};

CommandReader::CommandReader(int fd) : fd_(fd), shared_(std::make_shared<ReaderShared>()) {}
CommandReader::~CommandReader() = default;

void CommandReader::start() {
  std::shared_ptr<ReaderShared> sh = shared_;
  const int fd = fd_;
  std::thread([sh, fd] {
    std::string buf;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (trim(line).empty()) continue;
        CommandType c;
        std::string why;
        if (parse_command(line, &c, &why)) {
          std::lock_guard<std::mutex> lock(sh->mu);
          sh->queue.push_back(c);
          sh->cv.notify_all();
        } else {
          std::fprintf(stderr, "tuner-train: ignored command: %s\n", why.c_str());
        }
      }
    }
    std::lock_guard<std::mutex> lock(sh->mu);
    sh->ended = true;
    sh->cv.notify_all();
  }).detach();
}

bool CommandReader::poll(CommandType* out) {
  std::shared_ptr<ReaderShared> sh = shared_;
  std::lock_guard<std::mutex> lock(sh->mu);
  if (sh->queue.empty()) return false;
  *out = sh->queue.front();
  sh->queue.pop_front();
  return true;
}

void CommandReader::wait_for_input(int timeout_ms) {
  std::shared_ptr<ReaderShared> sh = shared_;
  std::unique_lock<std::mutex> lock(sh->mu);
  sh->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !sh->queue.empty() || sh->ended; });
}

bool CommandReader::input_ended() {
  std::shared_ptr<ReaderShared> sh = shared_;
  std::lock_guard<std::mutex> lock(sh->mu);
  return sh->ended;
}

}  // namespace tuner
