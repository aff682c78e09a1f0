// TCP backend for CPU ranks started by torchrun (or any launcher that sets RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT) where MPI is absent: a star around rank 0, which listens on
// MASTER_ADDR:MASTER_PORT. An all-reduce sends every rank's buffer to rank 0, which adds them in
// rank order (so the sum is the same on every run) and sends the result back: 2(N-1) transfers
// through one process, fine for a few CPU ranks on one node, not a substitute for MPI or NCCL.
// A rank that ends closes its socket, and the others stop with "rank_lost" instead of waiting.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "comm/communicator.h"
#include "tuner/error.h"

namespace tuner {

namespace {

const int kConnectTimeoutS = 120;  // ranks start at different times; rank 0 may come up last

[[noreturn]] void lost(const std::string& what) {
  throw TunerError("rank_lost", what, "A rank of the data-parallel run ended; resume from the last checkpoint.");
}

// A rank killed with data still unread in its socket resets the connection instead of closing it:
// the same end, told the same way.
bool peer_ended(int err) { return err == ECONNRESET || err == EPIPE; }

void send_all(int fd, const void* data, size_t n, int peer) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && peer_ended(errno)) lost("rank " + std::to_string(peer) + " closed its connection (it ended: " + std::strerror(errno) + ")");
    if (k <= 0) lost("sending to rank " + std::to_string(peer) + " failed: " + std::strerror(errno));
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void recv_all(int fd, void* data, size_t n, int peer) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t k = ::recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) lost("rank " + std::to_string(peer) + " closed its connection (it ended)");
    if (k < 0 && peer_ended(errno)) lost("rank " + std::to_string(peer) + " closed its connection (it ended: " + std::strerror(errno) + ")");
    if (k < 0) lost("receiving from rank " + std::to_string(peer) + " failed: " + std::strerror(errno));
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

class TcpCommunicator final : public Communicator {
 public:
  explicit TcpCommunicator(const LaunchInfo& l) : rank_(l.rank), size_(l.world_size), peers_(l.world_size, -1) {
    if (size_ == 1) return;
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (rank_ == 0) hints.ai_flags = AI_PASSIVE;
    const std::string port = std::to_string(l.master_port);
    if (int rc = ::getaddrinfo(l.master_addr.c_str(), port.c_str(), &hints, &res))
      throw TunerError("comm_unavailable", "MASTER_ADDR " + l.master_addr + ": " + ::gai_strerror(rc),
                       "Set MASTER_ADDR to rank 0's host name or address.");
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
    if (rank_ == 0) listen_and_accept(res, l);
    else connect_to_root(res, l);
  }
  ~TcpCommunicator() override {
    for (int fd : peers_)
      if (fd >= 0) ::close(fd);
  }
  const char* backend() const override { return "tcp"; }
  int rank() const override { return rank_; }
  int world_size() const override { return size_; }

  void all_reduce_sum(float* data, size_t n) override {
    if (size_ == 1) return;
    CollectiveScope in(this);
    if (rank_ == 0) {
      scratch_.resize(n);
      for (int r = 1; r < size_; ++r) {
        recv_all(peers_[r], scratch_.data(), n * sizeof(float), r);
        for (size_t i = 0; i < n; ++i) data[i] += scratch_[i];
      }
      for (int r = 1; r < size_; ++r) send_all(peers_[r], data, n * sizeof(float), r);
    } else {
      send_all(peers_[0], data, n * sizeof(float), 0);
      recv_all(peers_[0], data, n * sizeof(float), 0);
    }
  }
  void broadcast(void* data, size_t bytes, int root) override {
    if (size_ == 1) return;
    CollectiveScope in(this);
    if (rank_ == 0) {
      if (root != 0) recv_all(peers_[root], data, bytes, root);
      for (int r = 1; r < size_; ++r)
        if (r != root) send_all(peers_[r], data, bytes, r);
    } else {
      if (rank_ == root) send_all(peers_[0], data, bytes, 0);
      else recv_all(peers_[0], data, bytes, 0);
    }
  }
  void barrier() override {
    float x = 0;
    all_reduce_sum(&x, 1);
  }
  [[noreturn]] void abort(int code) override {
    // Closing the sockets is how the other ranks learn of it (they stop with rank_lost).
    for (int fd : peers_)
      if (fd >= 0) ::close(fd);
    std::_Exit(code);
  }

 private:
  void listen_and_accept(addrinfo* res, const LaunchInfo& l) {
    const int s = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || ::bind(s, res->ai_addr, res->ai_addrlen) != 0 || ::listen(s, size_) != 0)
      throw TunerError("comm_unavailable",
                       "rank 0 cannot listen on " + l.master_addr + ":" + std::to_string(l.master_port) + ": " + std::strerror(errno),
                       "Choose a free MASTER_PORT on rank 0's machine, or set TUNER_COMM_PORT to a free port for tuner-train's "
                     "ranks (under torchrun they use MASTER_PORT + 1: the launcher's own store holds MASTER_PORT).");
    for (int k = 1; k < size_; ++k) {
      const int fd = ::accept(s, nullptr, nullptr);
      if (fd < 0) lost(std::string("accepting a rank failed: ") + std::strerror(errno));
      no_delay(fd);
      int32_t r = -1;
      recv_all(fd, &r, sizeof r, -1);
      if (r <= 0 || r >= size_ || peers_[r] >= 0)
        throw TunerError("comm_unavailable", "a peer announced itself as rank " + std::to_string(r) + " of " + std::to_string(size_),
                         "Start each rank with its own RANK from 0 to WORLD_SIZE-1 and the same MASTER_PORT.");
      peers_[r] = fd;
    }
    ::close(s);
  }
  void connect_to_root(addrinfo* res, const LaunchInfo& l) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kConnectTimeoutS);
    for (;;) {
      const int fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
      if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
        no_delay(fd);
        const int32_t r = rank_;
        send_all(fd, &r, sizeof r, 0);
        peers_[0] = fd;
        return;
      }
      if (fd >= 0) ::close(fd);
      if (std::chrono::steady_clock::now() > deadline)
        throw TunerError("comm_unavailable",
                         "rank " + std::to_string(rank_) + " could not reach rank 0 at " + l.master_addr + ":" +
                             std::to_string(l.master_port) + " within " + std::to_string(kConnectTimeoutS) + " s",
                         "Check that rank 0 runs and that MASTER_ADDR and MASTER_PORT name its address and port.");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  int rank_, size_;
  std::vector<int> peers_;  // rank 0: a socket per rank; others: peers_[0] only
  std::vector<float> scratch_;
};

}  // namespace

std::unique_ptr<Communicator> make_tcp_communicator(const LaunchInfo& launch) { return std::make_unique<TcpCommunicator>(launch); }

}  // namespace tuner
