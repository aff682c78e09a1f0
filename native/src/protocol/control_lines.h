// What the control channel says and does, apart from how its bytes move: the Unix domain socket
// (control_server.cpp) and the Windows named pipe (control_server_win.cpp) both feed their
// clients' bytes here. Whole lines are acted on: a command from the controller is queued for the
// training loop, anyone else's is refused; take_control moves control to the client that asks;
// when the controller leaves, the oldest observer is promoted. Internal to native/src/protocol.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "command_queue.h"

namespace tuner {

constexpr size_t kMaxControlLineBytes = 64 * 1024;

// {"version":1,"type":<type><fields>}
std::string control_message(const char* type, const std::string& fields);
std::string role_message(bool controller);                  // {"type":"role","role":...}
std::string hello_message(bool controller, long pid);       // {"type":"hello","role":...,"pid":N}
std::string refused_message(const std::string& why);        // {"type":"refused","message":...}
bool is_take_control(const std::string& line);              // {"version":1,"type":"take_control"}
// A command line from a client: true and *out when it is to be queued (the client controls the
// run); otherwise false and *answer the refusal to send back (empty: a blank line, nothing to say).
bool accept_command(const std::string& line, bool controller, Command* out, std::string* answer);

// Peer: {bool controller; std::string buf;}. Send(size_t j, const std::string& line) writes a
// line to peers[j]. Returns false when the peer sent a line over kMaxControlLineBytes (drop it).
template <class Peer, class Send>
bool control_feed(std::vector<Peer>& peers, size_t i, const char* data, size_t n, ReaderShared* queue, Send send) {
  peers[i].buf.append(data, n);
  size_t nl;
  while ((nl = peers[i].buf.find('\n')) != std::string::npos) {
    const std::string line = peers[i].buf.substr(0, nl);
    peers[i].buf.erase(0, nl + 1);
    if (is_take_control(line)) {
      if (!peers[i].controller) {
        for (size_t j = 0; j < peers.size(); ++j) {
          if (!peers[j].controller) continue;
          peers[j].controller = false;
          send(j, role_message(false));
        }
        peers[i].controller = true;
        std::fprintf(stderr, "tuner-train: control taken by another window\n");
      }
      send(i, role_message(true));
      continue;
    }
    Command cmd;
    std::string answer;
    if (accept_command(line, peers[i].controller, &cmd, &answer)) queue->push(cmd);
    else if (!answer.empty()) send(i, answer);
  }
  if (peers[i].buf.size() <= kMaxControlLineBytes) return true;
  std::fprintf(stderr, "tuner-train: control client sent a line over %zu bytes; disconnected\n", kMaxControlLineBytes);
  return false;
}

// After clients left: with no controller, the oldest observer is promoted (and told). Returns
// whether a controller is connected now.
template <class Peer, class Send>
bool control_promote(std::vector<Peer>& peers, Send send) {
  for (const Peer& p : peers)
    if (p.controller) return true;
  if (peers.empty()) return false;
  peers.front().controller = true;
  send(size_t{0}, role_message(true));
  return true;
}

}  // namespace tuner
