// The control channel of a trainer that runs detached from the editor: a Unix domain socket
// (tuner-train --control PATH; on Windows a named pipe, control_server_win.cpp) that takes the
// same command lines as stdin. What is said on it is control_lines.cpp's. The editor window that
// started the run may close or reload; the socket stays, and the next window connects again.
//
// Why in the trainer and not in a supervisor process: the channel lives exactly as long as the
// run (no second process to lose, no Node runtime that a VS Code update may remove), and a dead
// trainer leaves at worst a socket nobody answers, which the next bind (or client) recognises.
//
// Who may connect: the socket file is made with mode 0600 (umask 077 around bind) and every
// connection's peer credentials are checked (SO_PEERCRED on Linux, getpeereid elsewhere): only
// processes of the trainer's own user are served. One client controls the run (the first to
// connect); later ones are observers, told so, and their commands refused, until the controller
// leaves and the oldest observer is promoted, or an observer takes control
// ({"version":1,"type":"take_control"}: the user's choice in a window whose controller is gone
// or hung; the controller becomes an observer and is told so). Messages to clients are JSON lines:
//   {"version":1,"type":"hello","role":"controller"|"observer","pid":N}
//   {"version":1,"type":"role","role":"controller"|"observer"}   (promoted, or control taken)
//   {"version":1,"type":"refused","message":"..."}               (a command not taken)
#ifndef _WIN32  // Windows: control_server_win.cpp (a named pipe)
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "command_queue.h"
#include "control_lines.h"
#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner {

struct ControlState {
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // a byte on wake[1] ends the serving thread
  dev_t dev = 0;           // the socket file we bound, so shutdown removes only ours
  ino_t ino = 0;
};

namespace {

struct Client {
  int fd;
  bool controller;
  std::string buf;
};

void set_cloexec(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

bool peer_is_same_user(int fd) {
#if defined(__linux__)
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == ::geteuid();
#else
  uid_t uid = 0;
  gid_t gid = 0;
  if (::getpeereid(fd, &uid, &gid) != 0) return false;
  return uid == ::geteuid();
#endif
}

// Best effort: a client that went away is noticed by the next poll.
void write_line(int fd, const std::string& line) {
  const std::string text = line + "\n";
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

bool fill_address(const std::string& path, sockaddr_un* sa) {
  std::memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa->sun_path) return false;
  std::memcpy(sa->sun_path, path.data(), path.size());
  return true;
}

// True when a process accepts connections at `path` (a live trainer serves this run).
bool socket_answers(const std::string& path) {
  sockaddr_un sa;
  if (!fill_address(path, &sa)) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

void serve(std::shared_ptr<ControlState> st, std::shared_ptr<ReaderShared> queue) {
  std::vector<Client> clients;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({st->listen_fd, POLLIN, 0});
    fds.push_back({st->wake[0], POLLIN, 0});
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    // Clients from the last, so erasing one leaves the indices of those before it valid.
    const auto send = [&clients](size_t j, const std::string& line) { write_line(clients[j].fd, line); };
    for (size_t i = clients.size(); i-- > 0;) {
      if (!fds[2 + i].revents) continue;
      char chunk[4096];
      ssize_t n = ::read(clients[i].fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && control_feed(clients, i, chunk, static_cast<size_t>(n), queue.get(), send)) continue;
      ::close(clients[i].fd);
      clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
    }
    const bool has_controller = control_promote(clients, send);
    if (fds[0].revents & POLLIN) {
      int fd = ::accept(st->listen_fd, nullptr, nullptr);
      if (fd < 0) continue;
      set_cloexec(fd);
      if (!peer_is_same_user(fd)) {
        std::fprintf(stderr, "tuner-train: refused a control connection from another user\n");
        write_line(fd, refused_message("this run belongs to another user"));
        ::close(fd);
        continue;
      }
      const bool controller = !has_controller;
      clients.push_back({fd, controller, {}});
      write_line(fd, hello_message(controller, static_cast<long>(::getpid())));
    }
  }
  for (const Client& c : clients) ::close(c.fd);
  ::close(st->listen_fd);
  ::close(st->wake[0]);
}

}  // namespace

ControlServer::ControlServer(const std::string& addr, std::shared_ptr<ReaderShared> queue)
    : address(addr), state(std::make_shared<ControlState>()) {
  sockaddr_un sa;
  if (!fill_address(addr, &sa)) {
    throw TunerError("bad_arguments",
                     "--control '" + addr + "': a Unix socket path holds at most " + std::to_string(sizeof sa.sun_path - 1) +
                         " bytes, this one is " + std::to_string(addr.size()),
                     "Pass a shorter path (the extension uses $XDG_RUNTIME_DIR or the temporary folder when the run "
                     "folder's path is too long).");
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client that left is a write error, not the end of the run
  struct stat st {};
  if (::lstat(addr.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw TunerError("bad_arguments", "--control '" + addr + "' exists and is not a socket",
                       "Remove that file, or pass another --control path.");
    }
    if (socket_answers(addr)) {
      throw TunerError("run_busy", "another tuner-train already serves '" + addr + "'",
                       "That run is still training: stop it (or wait for it) before starting another in its folder.");
    }
    ::unlink(addr.c_str());  // stale: left by a trainer that died
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) throw TunerError("control", std::string("cannot create the control socket: ") + std::strerror(errno), "");
  set_cloexec(fd);
  // Made private at creation (there is no window in which another user could connect). The
  // umask is process-wide: this runs at start-up, before the trainer creates any file.
  const mode_t old_mask = ::umask(077);
  const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    throw TunerError("control", "cannot listen on '" + addr + "': " + std::strerror(bound != 0 ? bind_errno : errno),
                     "Check that the run folder is writable.");
  }
  ::chmod(addr.c_str(), 0600);
  if (::lstat(addr.c_str(), &st) == 0) {
    state->dev = st.st_dev;
    state->ino = st.st_ino;
  }
  if (::pipe(state->wake) != 0) {
    ::close(fd);
    throw TunerError("control", std::string("cannot create a pipe: ") + std::strerror(errno), "");
  }
  set_cloexec(state->wake[0]);
  set_cloexec(state->wake[1]);
  state->listen_fd = fd;
  std::thread(serve, state, std::move(queue)).detach();
}

ControlServer::~ControlServer() { shutdown(); }

// Removes the socket file (only if it is still the one this trainer bound) and ends the thread.
void ControlServer::shutdown() {
  if (state->wake[1] < 0) return;
  struct stat st {};
  if (::lstat(address.c_str(), &st) == 0 && st.st_dev == state->dev && st.st_ino == state->ino) ::unlink(address.c_str());
  const char byte = 1;
  ssize_t ignored = ::write(state->wake[1], &byte, 1);
  (void)ignored;
  ::close(state->wake[1]);
  state->wake[1] = -1;
}

}  // namespace tuner
#endif  // _WIN32
