// Open MPI backend, resolved with dlopen/dlsym from libmpi.so.40 so tuner-train needs no MPI to
// build or to run alone. In Open MPI's ABI, MPI_COMM_WORLD, MPI_FLOAT, MPI_BYTE and MPI_SUM are
// the addresses of the library's predefined objects (ompi_mpi_comm_world, …) and MPI_IN_PLACE is
// (void*)1; MPICH's ABI (integer handles) is different and not supported here.
#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "comm/communicator.h"
#include "tuner/error.h"

namespace tuner {

namespace {

using Handle = void*;  // MPI_Comm, MPI_Datatype, MPI_Op: pointers to Open MPI's objects

struct MpiApi {
  int (*Initialized)(int*);
  int (*Init)(int*, char***);
  int (*Finalized)(int*);
  int (*Finalize)();
  int (*Comm_rank)(Handle, int*);
  int (*Comm_size)(Handle, int*);
  int (*Allreduce)(const void*, void*, int, Handle, Handle, Handle);
  int (*Bcast)(void*, int, Handle, int, Handle);
  int (*Barrier)(Handle);
  int (*Abort)(Handle, int);
  Handle comm_world, type_float, type_byte, op_sum;
};

void* const kInPlace = reinterpret_cast<void*>(1);
const int kMpiSuccess = 0;
// Counts are C ints: bigger buffers go in pieces of at most this many elements.
const size_t kMaxCount = size_t{1} << 30;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    static const char* const kNames[] = {"libmpi.so.40", "libmpi.so", nullptr};
    std::string why;
    lib_ = open_library(kNames, &why);
    if (!lib_)
      throw TunerError("comm_unavailable", "mpirun started tuner-train but Open MPI's library could not be loaded: " + why,
                       "Install Open MPI (Debian/Ubuntu: sudo apt-get install -y openmpi-bin libopenmpi-dev), or launch "
                       "with torchrun, which uses TCP.");
    fn(&api_.Initialized, "MPI_Initialized");
    fn(&api_.Init, "MPI_Init");
    fn(&api_.Finalized, "MPI_Finalized");
    fn(&api_.Finalize, "MPI_Finalize");
    fn(&api_.Comm_rank, "MPI_Comm_rank");
    fn(&api_.Comm_size, "MPI_Comm_size");
    fn(&api_.Allreduce, "MPI_Allreduce");
    fn(&api_.Bcast, "MPI_Bcast");
    fn(&api_.Barrier, "MPI_Barrier");
    fn(&api_.Abort, "MPI_Abort");
    api_.comm_world = sym("ompi_mpi_comm_world");
    api_.type_float = sym("ompi_mpi_float");
    api_.type_byte = sym("ompi_mpi_byte");
    api_.op_sum = sym("ompi_mpi_op_sum");
    int inited = 0;
    check(api_.Initialized(&inited), "MPI_Initialized");
    if (!inited) check(api_.Init(nullptr, nullptr), "MPI_Init");
    check(api_.Comm_rank(api_.comm_world, &rank_), "MPI_Comm_rank");
    check(api_.Comm_size(api_.comm_world, &size_), "MPI_Comm_size");
  }
  ~MpiCommunicator() override {
    int done = 1;
    if (api_.Finalized && api_.Finalized(&done) == kMpiSuccess && !done) api_.Finalize();
  }
  const char* backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  void all_reduce_sum(float* data, size_t n) override {
    CollectiveScope in(this);
    for (size_t at = 0; at < n; at += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, n - at));
      check(api_.Allreduce(kInPlace, data + at, count, api_.type_float, api_.op_sum, api_.comm_world), "MPI_Allreduce");
    }
  }
  void broadcast(void* data, size_t bytes, int root) override {
    CollectiveScope in(this);
    char* p = static_cast<char*>(data);
    for (size_t at = 0; at < bytes; at += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, bytes - at));
      check(api_.Bcast(p + at, count, api_.type_byte, root, api_.comm_world), "MPI_Bcast");
    }
  }
  void barrier() override {
    CollectiveScope in(this);
    check(api_.Barrier(api_.comm_world), "MPI_Barrier");
  }
  [[noreturn]] void abort(int code) override {
    api_.Abort(api_.comm_world, code);
    std::_Exit(code);  // MPI_Abort does not return; this only satisfies [[noreturn]]
  }

 private:
  void* sym(const char* name) {
    void* p = ::dlsym(lib_, name);
    if (!p)
      throw TunerError("comm_unavailable", std::string("the MPI library has no symbol ") + name + " (is it Open MPI 4 or 5?)",
                       "tuner-train speaks Open MPI's ABI; install Debian's openmpi-bin and libopenmpi-dev, or launch with torchrun.");
    return p;
  }
  template <typename F>
  void fn(F* out, const char* name) {
    *out = reinterpret_cast<F>(sym(name));
  }
  // With MPI's default error handler a failed call ends the job first; this covers the rest.
  static void check(int rc, const char* what) {
    if (rc != kMpiSuccess)
      throw TunerError("rank_lost", std::string(what) + " failed with MPI error " + std::to_string(rc),
                       "A rank of the data-parallel run ended; resume from the last checkpoint.");
  }
  void* lib_ = nullptr;
  MpiApi api_{};
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace tuner
