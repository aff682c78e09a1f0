// Event lines: JSON text built by hand (flat objects of strings and numbers need no DOM) with
// numbers printed in the shortest form that parses back to the same value, so a loss read by
// the extension (or compared across a resume) is exactly the float the trainer computed.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tuner/protocol.h"

namespace tuner {

// Milliseconds on the monotonic clock: the loop's marks and the heartbeat's reading of them.
static int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string format_double(double v) {
  if (!std::isfinite(v)) return "null";  // JSON has no NaN/Inf; such values are errors upstream
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string format_float(float v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  for (int prec = 1; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

EventLine::EventLine(const char* type) : type_(type) {
  text_ = "{\"version\":" + std::to_string(kProtocolVersion) + ",\"type\":" + json_quote(type);
}

void EventLine::key(const char* k) { text_ += "," + json_quote(k) + ":"; }

EventLine& EventLine::str(const char* k, const std::string& v) { key(k); text_ += json_quote(v); return *this; }
EventLine& EventLine::null(const char* k) { key(k); text_ += "null"; return *this; }
EventLine& EventLine::num(const char* k, double v) { key(k); text_ += format_double(v); return *this; }
EventLine& EventLine::numf(const char* k, float v) { key(k); text_ += format_float(v); return *this; }
EventLine& EventLine::integer(const char* k, int64_t v) {
  if (std::strcmp(k, "step") == 0) step_ = v;
  key(k);
  text_ += std::to_string(v);
  return *this;
}
EventLine& EventLine::boolean(const char* k, bool v) { key(k); text_ += v ? "true" : "false"; return *this; }
EventLine& EventLine::raw(const char* k, const std::string& json) { key(k); text_ += json; return *this; }

JsonObject& JsonObject::str(const char* k, const std::string& v) {
  if (!text_.empty()) text_ += ",";
  text_ += json_quote(k) + ":" + json_quote(v);
  return *this;
}

JsonObject& JsonObject::integer(const char* k, int64_t v) {
  if (!text_.empty()) text_ += ",";
  text_ += json_quote(k) + ":" + std::to_string(v);
  return *this;
}

void EventSink::emit(const EventLine& e) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string& type = e.type();
  if (type == "start") started_ = true;
  if (type == "paused") paused_ = true;
  if (type == "resumed" || type == "step") paused_ = false;
  if (e.step() >= 0 && (type == "start" || type == "step" || type == "paused" || type == "resumed")) step_ = e.step();
  write_line(e.finish() + "\n");
  if (type == "done" || type == "error") ended_ = true;
}

void EventSink::mark_loop_alive() { loop_mark_ms_.store(steady_ms(), std::memory_order_relaxed); }

void EventSink::emit_heartbeat(int interval_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || ended_) return;
  const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EventLine e("heartbeat");
  e.integer("step", step_).str("state", paused_ ? "paused" : "training").integer("interval_ms", interval_ms);
  e.integer("unix_ms", static_cast<int64_t>(unix_ms));
  const int64_t mark = loop_mark_ms_.load(std::memory_order_relaxed);
  if (mark >= 0) e.integer("loop_idle_ms", std::max<int64_t>(0, steady_ms() - mark));
  write_line(e.finish() + "\n");
}

void EventSink::write_line(const std::string& line) {
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // the reader went away (EPIPE; SIGPIPE is ignored by the trainer)
      broken_ = true;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

}  // namespace tuner
