// The trainer's heartbeat (protocol.h Heartbeat, EventSink::emit_heartbeat): a `heartbeat` event
// every interval from its own thread, only between the run's `start` and its last event, with the
// step and state (training / paused) of the events written before it; destroying it ends the
// thread at once; interval 0 writes nothing. `loop_idle_ms` appears once the training loop marks
// itself alive and grows while the loop is silent (a hung loop under a beating heartbeat). Lines parse as the protocol's JSON.
#include "check_macros.h"
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tuner/json.h"
#include "tuner/protocol.h"

using tuner::EventLine;
using tuner::Json;
using std::chrono::milliseconds;

// Every line written to the pipe so far, parsed.
static std::vector<Json> drain(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  std::vector<Json> lines;
  size_t start = 0, nl;
  while ((nl = text.find('\n', start)) != std::string::npos) {
    lines.push_back(Json::parse(text.substr(start, nl - start), "events"));
    start = nl + 1;
  }
  EXPECT(start == text.size());  // whole lines only
  return lines;
}

static std::vector<Json> heartbeats(const std::vector<Json>& lines) {
  std::vector<Json> out;
  for (const Json& j : lines)
    if (j.find("type")->as_string() == "heartbeat") out.push_back(j);
  return out;
}

int main() {
  int p[2];
  EXPECT(::pipe(p) == 0);
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  {
    tuner::EventSink sink(p[1]);
    tuner::Heartbeat hb(&sink, 20);
    std::this_thread::sleep_for(milliseconds(80));
    EXPECT(drain(p[0]).empty());  // no heartbeat before the run's start

    sink.emit(EventLine("start").integer("step", 4));
    sink.emit(EventLine("step").integer("step", 5));
    sink.emit(EventLine("paused").integer("step", 5));
    std::this_thread::sleep_for(milliseconds(150));
    std::vector<Json> beats = heartbeats(drain(p[0]));
    EXPECT(beats.size() >= 2);  // ~7 at 20 ms; a loaded machine may give fewer, never none
    const double now_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const Json& j : beats) {
      EXPECT(j.find("version")->as_number() == tuner::kProtocolVersion);
      EXPECT(j.find("step")->as_number() == 5);
      EXPECT(j.find("state")->as_string() == "paused");  // paused: the loop waits, the heartbeat goes on
      EXPECT(j.find("interval_ms")->as_number() == 20);
      const double unix_ms = j.find("unix_ms")->as_number();
      EXPECT(unix_ms > now_ms - 5000 && unix_ms <= now_ms);
      EXPECT(j.find("loop_idle_ms") == nullptr);  // the loop never marked itself: no field
    }

    // The loop marks itself, then goes silent (hung): loop_idle_ms grows with the silence while
    // the heartbeat keeps coming; marking again brings it back near zero.
    auto since_ms = [](std::chrono::steady_clock::time_point t) {
      return static_cast<double>(std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t).count());
    };
    auto marked = std::chrono::steady_clock::now();
    sink.mark_loop_alive();
    std::this_thread::sleep_for(milliseconds(150));
    beats = heartbeats(drain(p[0]));
    double elapsed = since_ms(marked);
    EXPECT(beats.size() >= 2);
    double prev = -1;
    for (const Json& j : beats) {
      EXPECT(j.find("loop_idle_ms") != nullptr);
      if (j.find("loop_idle_ms") == nullptr) continue;
      const double idle = j.find("loop_idle_ms")->as_number();
      EXPECT(idle >= prev && idle <= elapsed + 1);  // grows, never beyond the silence itself
      prev = idle;
    }
    EXPECT(prev >= 20);  // the silence shows: beats came over 150 ms after the mark
    marked = std::chrono::steady_clock::now();
    sink.mark_loop_alive();
    std::this_thread::sleep_for(milliseconds(45));
    beats = heartbeats(drain(p[0]));
    elapsed = since_ms(marked);
    EXPECT(!beats.empty());
    if (!beats.empty()) EXPECT(beats.back().find("loop_idle_ms")->as_number() <= elapsed + 1);  // counted from the new mark

    sink.emit(EventLine("resumed").integer("step", 5));
    sink.emit(EventLine("step").integer("step", 6));
    std::this_thread::sleep_for(milliseconds(80));
    beats = heartbeats(drain(p[0]));
    EXPECT(!beats.empty());
    for (const Json& j : beats) {
      EXPECT(j.find("step")->as_number() == 6);
      EXPECT(j.find("state")->as_string() == "training");
    }

    // Nothing after the last event: `done` (or `error`) ends the run's lines.
    sink.emit(EventLine("done").integer("step", 6).str("reason", "completed"));
    std::this_thread::sleep_for(milliseconds(80));
    std::vector<Json> rest = drain(p[0]);
    EXPECT(rest.size() <= 1 && (rest.empty() || rest.back().find("type")->as_string() == "done"));
    if (!rest.empty()) EXPECT(rest.back().find("type")->as_string() == "done");

    const auto t0 = std::chrono::steady_clock::now();
    {
      tuner::EventSink other(p[1]);
      tuner::Heartbeat slow(&other, 3600000);
    }  // an hour's interval still ends at once
    EXPECT(std::chrono::steady_clock::now() - t0 < milliseconds(1000));
  }
  {
    tuner::EventSink sink(p[1]);
    tuner::Heartbeat none(&sink, 0);
    sink.emit(EventLine("start").integer("step", 0));
    std::this_thread::sleep_for(milliseconds(60));
    EXPECT(heartbeats(drain(p[0])).empty());
  }
  ::close(p[0]);
  ::close(p[1]);
  if (g_failures == 0) std::printf("test_heartbeat: ok\n");
  return g_failures == 0 ? 0 : 1;
}
