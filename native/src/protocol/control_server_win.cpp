// The control channel on Windows: a named pipe (tuner-train --control \\.\pipe\tuner-<hash>)
// that speaks exactly what the Unix socket does (control_lines.cpp: hello, role, refused; the
// stdin command lines; take_control). Why a pipe: Node's `net` module, which the extension
// connects with, speaks named pipes on Windows and has no AF_UNIX client there; a pipe lives as
// long as the trainer process (no file is left behind by a crash), and its security descriptor
// lets only this user's processes in.
//
// Who may connect: the pipe is created with a DACL that grants access to the trainer's own user
// SID alone (nobody else can even open it for reading), and PIPE_REJECT_REMOTE_CLIENTS keeps
// other machines out. FILE_FLAG_FIRST_PIPE_INSTANCE makes a second trainer of the same run fail
// with run_busy rather than share the name. One thread serves every client with overlapped I/O:
// one event for the instance waiting for the next client, one per client's pending read, one to
// end the thread.
#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <sddl.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "command_queue.h"
#include "control_lines.h"
#include "tuner/error.h"

namespace tuner {

struct ControlState {
  std::wstring name;
  HANDLE stop = nullptr;  // set: the serving thread ends (and closes it)
  bool stopping = false;
  SECURITY_ATTRIBUTES sa{};
  PSECURITY_DESCRIPTOR sd = nullptr;
  HANDLE first = INVALID_HANDLE_VALUE;  // the first instance, made in the constructor (name claimed)
};

namespace {

// WaitForMultipleObjects' limit, less the stop and listening events.
constexpr size_t kMaxClients = MAXIMUM_WAIT_OBJECTS - 2;

struct Client {
  HANDLE pipe = INVALID_HANDLE_VALUE;
  OVERLAPPED ov{};
  char chunk[4096];
  bool controller = false;
  std::string buf;
};

std::string last_error_text() {
  const DWORD code = ::GetLastError();
  char* text = nullptr;
  ::FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0,
                   reinterpret_cast<LPSTR>(&text), 0, nullptr);
  std::string s = text ? text : ("error " + std::to_string(code));
  if (text) ::LocalFree(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '.')) s.pop_back();
  return s;
}

// A DACL granting all access to this process's user and no one else.
PSECURITY_DESCRIPTOR owner_only_descriptor() {
  HANDLE token = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) return nullptr;
  DWORD size = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::vector<unsigned char> info(size);
  LPWSTR sid = nullptr;
  const bool ok = size > 0 && ::GetTokenInformation(token, TokenUser, info.data(), size, &size) &&
                  ::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(info.data())->User.Sid, &sid);
  ::CloseHandle(token);
  if (!ok) return nullptr;
  const std::wstring sddl = std::wstring(L"D:P(A;;GA;;;") + sid + L")";
  ::LocalFree(sid);
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd, nullptr)) return nullptr;
  return sd;
}

HANDLE make_instance(ControlState* st, bool first) {
  const DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
  return ::CreateNamedPipeW(st->name.c_str(), open_mode, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, 64 * 1024, 64 * 1024, 0, &st->sa);
}

// Best effort, waiting for the write to finish: a client that went away is noticed by its read.
void write_line(HANDLE pipe, const std::string& line) {
  const std::string text = line + "\n";
  OVERLAPPED ov{};
  ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  DWORD n = 0;
  if (::WriteFile(pipe, text.data(), static_cast<DWORD>(text.size()), nullptr, &ov) || ::GetLastError() == ERROR_IO_PENDING)
    ::GetOverlappedResult(pipe, &ov, &n, TRUE);
  ::CloseHandle(ov.hEvent);
}

// Starts the next read; false when the client is gone.
bool start_read(Client& c) {
  ::ResetEvent(c.ov.hEvent);
  if (::ReadFile(c.pipe, c.chunk, sizeof c.chunk, nullptr, &c.ov)) return true;  // done at once: the event is set
  return ::GetLastError() == ERROR_IO_PENDING;
}

void close_client(Client& c) {
  ::CancelIo(c.pipe);
  ::DisconnectNamedPipe(c.pipe);
  ::CloseHandle(c.pipe);
  ::CloseHandle(c.ov.hEvent);
}

// Starts waiting for a client on `pipe`; true when one is already connected.
bool start_listen(HANDLE pipe, OVERLAPPED* ov) {
  ::ResetEvent(ov->hEvent);
  if (::ConnectNamedPipe(pipe, ov)) return false;
  const DWORD err = ::GetLastError();
  if (err == ERROR_PIPE_CONNECTED) {
    ::SetEvent(ov->hEvent);
    return true;
  }
  return false;
}

void serve(std::shared_ptr<ControlState> st, std::shared_ptr<ReaderShared> queue) {
  std::vector<std::unique_ptr<Client>> clients;  // pointers: an OVERLAPPED must not move while pending
  OVERLAPPED listen_ov{};
  listen_ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  HANDLE listening = st->first;
  st->first = INVALID_HANDLE_VALUE;
  start_listen(listening, &listen_ov);
  struct Peer {
    bool controller;
    std::string buf;
  };
  for (;;) {
    std::vector<HANDLE> events = {st->stop, listen_ov.hEvent};
    for (const auto& c : clients) events.push_back(c->ov.hEvent);
    const DWORD r = ::WaitForMultipleObjects(static_cast<DWORD>(events.size()), events.data(), FALSE, INFINITE);
    if (r == WAIT_OBJECT_0 || r == WAIT_FAILED) break;
    // Clients' lines go through control_lines with a view of (controller, buf) per client.
    std::vector<Peer> peers;
    for (const auto& c : clients) peers.push_back({c->controller, std::move(c->buf)});
    const auto send = [&clients](size_t j, const std::string& line) { write_line(clients[j]->pipe, line); };
    std::vector<bool> gone(clients.size(), false);
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = *clients[i];
      if (::WaitForSingleObject(c.ov.hEvent, 0) != WAIT_OBJECT_0) continue;
      DWORD n = 0;
      if (!::GetOverlappedResult(c.pipe, &c.ov, &n, FALSE) || n == 0 ||
          !control_feed(peers, i, c.chunk, n, queue.get(), send) || !start_read(c))
        gone[i] = true;
    }
    for (size_t i = clients.size(); i-- > 0;) {
      clients[i]->controller = peers[i].controller;
      clients[i]->buf = std::move(peers[i].buf);
      if (!gone[i]) continue;
      close_client(*clients[i]);
      clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
      peers.erase(peers.begin() + static_cast<std::ptrdiff_t>(i));
    }
    const bool has_controller = control_promote(peers, send);
    for (size_t i = 0; i < clients.size(); ++i) clients[i]->controller = peers[i].controller;
    if (::WaitForSingleObject(listen_ov.hEvent, 0) == WAIT_OBJECT_0) {
      DWORD ignored = 0;
      const bool connected = ::GetOverlappedResult(listening, &listen_ov, &ignored, FALSE) || ::GetLastError() == ERROR_PIPE_CONNECTED;
      if (connected && clients.size() < kMaxClients) {
        auto c = std::make_unique<Client>();
        c->pipe = listening;
        c->ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
        c->controller = !has_controller;
        write_line(c->pipe, hello_message(c->controller, static_cast<long>(::GetCurrentProcessId())));
        if (start_read(*c)) clients.push_back(std::move(c));
        else close_client(*c);
      } else {
        if (connected) write_line(listening, refused_message("too many windows are connected to this run"));
        ::DisconnectNamedPipe(listening);
        ::CloseHandle(listening);
      }
      listening = make_instance(st.get(), false);
      if (listening == INVALID_HANDLE_VALUE) {
        std::fprintf(stderr, "tuner-train: the control pipe takes no more clients: %s\n", last_error_text().c_str());
        ::ResetEvent(listen_ov.hEvent);
      } else {
        start_listen(listening, &listen_ov);
      }
    }
  }
  for (auto& c : clients) close_client(*c);
  if (listening != INVALID_HANDLE_VALUE) ::CloseHandle(listening);
  ::CloseHandle(listen_ov.hEvent);
  ::CloseHandle(st->stop);
}

}  // namespace

ControlServer::ControlServer(const std::string& addr, std::shared_ptr<ReaderShared> queue)
    : address(addr), state(std::make_shared<ControlState>()) {
  if (addr.rfind("\\\\.\\pipe\\", 0) != 0 || addr.size() > 256) {
    throw TunerError("bad_arguments", "--control '" + addr + "': on Windows the control channel is a named pipe, \\\\.\\pipe\\<name> (at most 256 characters)",
                     "Pass a pipe name such as \\\\.\\pipe\\tuner-run (the extension derives it from the run folder).");
  }
  ControlState* st = state.get();
  st->name.assign(addr.begin(), addr.end());  // pipe names Tuner makes are ASCII
  st->sd = owner_only_descriptor();
  if (!st->sd) throw TunerError("control", "cannot build the control pipe's security descriptor: " + last_error_text(), "");
  st->sa.nLength = sizeof st->sa;
  st->sa.lpSecurityDescriptor = st->sd;
  st->sa.bInheritHandle = FALSE;
  st->first = make_instance(st, true);
  if (st->first == INVALID_HANDLE_VALUE) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY) {
      throw TunerError("run_busy", "another tuner-train already serves '" + addr + "'",
                       "That run is still training: stop it (or wait for it) before starting another in its folder.");
    }
    throw TunerError("control", "cannot create the control pipe '" + addr + "': " + last_error_text(), "");
  }
  st->stop = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  std::thread(serve, state, std::move(queue)).detach();
}

ControlServer::~ControlServer() { shutdown(); }

// Ends the serving thread; the pipe's name goes with its last handle (nothing is left on disk).
// The security descriptor stays until the process ends: the thread may be making an instance.
void ControlServer::shutdown() {
  if (state->stopping) return;
  state->stopping = true;
  ::SetEvent(state->stop);
}

}  // namespace tuner
#endif  // _WIN32
