// Launch detection and backend choice for data-parallel training, and the one-process backend.
#include "comm/communicator.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tuner/error.h"

namespace tuner {

namespace {

// A variable that must hold a whole number in [lo, hi] when set; -1 when unset.
int env_int(const char* name, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    throw TunerError("comm_unavailable", std::string("the launcher's variable ") + name + "=" + v + " is not a whole number from " +
                                             std::to_string(lo) + " to " + std::to_string(hi),
                     "Start tuner-train with mpirun or torchrun, or unset the variable for a one-process run.");
  return static_cast<int>(x);
}

class SingleProcess final : public Communicator {
 public:
  const char* backend() const override { return "none"; }
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

Communicator* single_process_communicator() {
  static SingleProcess one;
  return &one;
}

LaunchInfo detect_launch() {
  LaunchInfo l;
  // mpirun (Open MPI) first: a torchrun variable left in the environment must not win over it.
  const char* const kVars[2][4] = {{"mpirun", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"},
                                   {"torchrun", "WORLD_SIZE", "RANK", "LOCAL_RANK"}};
  for (const auto& v : kVars) {
    const int size = env_int(v[1], 1, 1 << 20);
    if (size < 1) continue;
    l.launcher = v[0];
    l.world_size = size;
    l.rank = env_int(v[2], 0, size - 1);
    l.local_rank = std::max(0, env_int(v[3], 0, size - 1));
    if (l.rank < 0)
      throw TunerError("comm_unavailable", std::string(v[1]) + " is set but " + v[2] + " is not",
                       "Launch with mpirun or torchrun (they set both), or unset it for a one-process run.");
    break;
  }
  if (l.launcher == "torchrun") {
    const char* addr = std::getenv("MASTER_ADDR");
    l.master_addr = addr && *addr ? addr : "127.0.0.1";
    l.master_port = env_int("MASTER_PORT", 1, 65535);
    // torchrun's agent hosts its own store on MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE): the
    // ranks then meet on the next port, or on TUNER_COMM_PORT when set.
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    const int comm_port = env_int("TUNER_COMM_PORT", 1, 65535);
    if (comm_port > 0) l.master_port = comm_port;
    else if (agent_store && std::strcmp(agent_store, "True") == 0 && l.master_port > 0 && l.master_port < 65535) ++l.master_port;
    if (l.world_size > 1 && l.master_port < 0)
      throw TunerError("comm_unavailable", "WORLD_SIZE is " + std::to_string(l.world_size) + " but MASTER_PORT is not set",
                       "Launch with torchrun, or set MASTER_ADDR and MASTER_PORT to rank 0's address and a free port.");
  }
  return l;
}

std::unique_ptr<Communicator> make_communicator(const LaunchInfo& launch) {
  const char* forced = std::getenv("TUNER_COMM");
  std::string kind = forced && *forced ? forced : "";
  if (kind.empty()) kind = launch.launcher == "mpirun" ? "mpi" : launch.world_size > 1 ? "tcp" : "none";
  if (kind == "none") {
    if (launch.world_size > 1)
      throw TunerError("comm_unavailable", "TUNER_COMM=none but the launcher started " + std::to_string(launch.world_size) + " ranks",
                       "Unset TUNER_COMM (or set mpi or tcp) for a multi-process run.");
    return std::make_unique<SingleProcess>();
  }
  if (kind == "mpi") return make_mpi_communicator();
  if (kind == "tcp") return make_tcp_communicator(launch);
  if (kind == "nccl")
    throw TunerError("comm_unavailable",
                     "TUNER_COMM=nccl: NCCL all-reduces GPU memory, and this tuner-train trains on the CPU",
                     "Use TUNER_COMM=mpi (under mpirun) or tcp (under torchrun) for CPU ranks.");
  throw TunerError("comm_unavailable", "TUNER_COMM=" + kind + " is not a backend of tuner-train",
                   "Set TUNER_COMM to none, mpi, tcp or nccl (or unset it to choose by launcher).");
}

void* open_library(const char* const* names, std::string* why) {
  why->clear();
  for (const char* const* n = names; *n; ++n) {
    // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols from the global scope.
    if (void* h = ::dlopen(*n, RTLD_NOW | RTLD_GLOBAL)) return h;
    if (!why->empty()) *why += "; ";
    *why += ::dlerror();
  }
  return nullptr;
}

}  // namespace tuner
