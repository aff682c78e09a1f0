// The few collective operations data-parallel training needs, behind one interface whose
// backends are loaded at run time (dlopen), so tuner-train has no link-time dependency on MPI
// or NCCL and one binary runs alone or under a launcher (docs/scale.md).
//
//   mpirun -n N tuner-train …      Open MPI (OMPI_COMM_WORLD_RANK/SIZE): libmpi.so.40
//   torchrun … tuner-train …       RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT: TCP to rank 0
//   tuner-train …                  one process ("none")
//
// TUNER_COMM=none|mpi|tcp|nccl chooses a backend explicitly.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace tuner {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual const char* backend() const = 0;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Sums `n` floats over all ranks; every rank gets the same result in `data`.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  // Copies `bytes` from `root`'s buffer into every rank's.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job (the launcher is told), without returning.
  [[noreturn]] virtual void abort(int code) = 0;
  // True while this process waits inside a collective (read by rank 0's stop watcher).
  bool in_collective() const { return in_collective_.load(); }

 protected:
  // Marks the time spent inside one collective call.
  struct CollectiveScope {
    explicit CollectiveScope(Communicator* c) : c_(c) { c_->in_collective_.store(true); }
    ~CollectiveScope() { c_->in_collective_.store(false); }
    Communicator* c_;
  };
  std::atomic<bool> in_collective_{false};
};

// Who launched this process, read from the environment before any library is loaded (so that
// only rank 0 writes the event stream even when a backend then fails to start).
struct LaunchInfo {
  std::string launcher = "none";  // "mpirun", "torchrun" or "none"
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;  // torchrun
  int master_port = 0;
};
LaunchInfo detect_launch();

// The backend for this launch (TUNER_COMM, else by launcher). Throws TunerError("comm_*") with
// the library or variable at fault and the fix.
std::unique_ptr<Communicator> make_communicator(const LaunchInfo& launch);

// The one-process communicator (world size 1), shared.
Communicator* single_process_communicator();

// The backends (comm_mpi.cpp, comm_tcp.cpp, comm_nccl.cpp).
std::unique_ptr<Communicator> make_mpi_communicator();
std::unique_ptr<Communicator> make_tcp_communicator(const LaunchInfo& launch);
// NCCL all-reduces device memory: `bootstrap` (MPI or TCP) carries the NCCL unique id, and the
// buffers handed to it must be CUDA device pointers on `device`.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator* bootstrap, int device);

// Loads `names` in order with dlopen; the first that loads, or null with every dlerror() text
// joined into *why.
void* open_library(const char* const* names, std::string* why);

}  // namespace tuner
