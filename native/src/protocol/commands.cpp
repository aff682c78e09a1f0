// Commands on stdin, read on a thread of their own so a command reaches the training loop
// between any two steps while the loop never blocks on input.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <thread>

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/protocol.h"
#include "command_queue.h"

namespace tuner {

const char* command_name(CommandType c) {
  switch (c) {
    case CommandType::Pause: return "pause";
    case CommandType::Resume: return "resume";
    case CommandType::Step: return "step";
    case CommandType::Save: return "save";
    case CommandType::Stop: return "stop";
    case CommandType::Set: return "set";
  }
  return "?";
}

static bool command_from_name(const std::string& name, CommandType* out) {
  for (CommandType c : {CommandType::Pause, CommandType::Resume, CommandType::Step,
                        CommandType::Save, CommandType::Stop, CommandType::Set}) {
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

static const char* kSetUsage =
    "set takes one positive finite value: {\"version\":1,\"type\":\"set\",\"lr\":0.0001} or "
    "{\"version\":1,\"type\":\"set\",\"lr_scale\":0.5} (by hand: set lr 0.0001)";

// Fills the lr or lr_scale of a `set` command; both must not be given.
static bool set_value(const std::string& key, double value, bool have_value, Command* out, std::string* why) {
  if (!have_value || !std::isfinite(value) || value <= 0) {
    *why = std::string("set ") + key + ": not a positive finite number; " + kSetUsage;
    return false;
  }
  if (key == "lr") out->lr = value;
  else out->lr_scale = value;
  return true;
}

bool parse_command(const std::string& raw, Command* out, std::string* why) {
  const std::string line = trim(raw);
  *out = Command{};
  if (line.empty() || line[0] != '{') {
    std::istringstream words(line);
    std::string name, key, extra;
    words >> name;
    if (!command_from_name(name, &out->type)) {
      *why = "unknown command '" + line + "'; send pause, resume, step, save, stop or set";
      return false;
    }
    if (out->type != CommandType::Set) {
      if (words >> extra) {
        *why = "unknown command '" + line + "'; " + name + " takes no value";
        return false;
      }
      return true;
    }
    double value = 0;
    const bool have = static_cast<bool>(words >> key >> value);
    if (!have || (key != "lr" && key != "lr_scale") || (words >> extra)) {
      *why = std::string("bad command '") + line + "'; " + kSetUsage;
      return false;
    }
    return set_value(key, value, true, out, why);
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
  if (!t || !t->is_string() || !command_from_name(t->as_string(), &out->type)) {
    *why = "unknown command type; expected pause, resume, step, save, stop or set";
    return false;
  }
  if (out->type != CommandType::Set) return true;
  const Json* lr = j.find("lr");
  const Json* scale = j.find("lr_scale");
  if ((lr != nullptr) == (scale != nullptr)) {
    *why = std::string("set needs exactly one of lr and lr_scale; ") + kSetUsage;
    return false;
  }
  const Json* given = lr ? lr : scale;
  return set_value(lr ? "lr" : "lr_scale", given->is_number() ? given->as_number() : 0, given->is_number(), out, why);
}

bool parse_command(const std::string& raw, CommandType* out, std::string* why) {
  Command c;
  if (!parse_command(raw, &c, why)) return false;
  *out = c.type;
  return true;
}

CommandReader::CommandReader(int fd) : fd_(fd), shared_(std::make_shared<ReaderShared>()) {}
CommandReader::~CommandReader() { close_control(); }

void CommandReader::listen(const std::string& address) {
  control_ = std::make_unique<ControlServer>(address, shared_);
}

void CommandReader::close_control() {
  if (control_) control_->shutdown();
  control_.reset();
}

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
        Command c;
        std::string why;
        if (parse_command(line, &c, &why)) {
          sh->push(c);
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

bool CommandReader::poll(Command* out) {
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
  if (control_) return false;  // a client can connect at any time
  std::shared_ptr<ReaderShared> sh = shared_;
  std::lock_guard<std::mutex> lock(sh->mu);
  return sh->ended;
}

}  // namespace tuner
