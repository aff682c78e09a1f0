// NCCL backend for GPU ranks, resolved with dlopen/dlsym from libnccl.so.2 and libcudart (no
// link-time dependency). NCCL reduces device memory: the buffers given to it must be CUDA device
// pointers on the rank's device, so the trainer uses it only once a CUDA backend holds the
// gradients; the CPU trainer of this build refuses TUNER_COMM=nccl. The unique id that joins the
// ranks travels over the bootstrap communicator (MPI or TCP). Not yet run on a GPU.
#include <dlfcn.h>

#include <cstdlib>

#include "comm/communicator.h"
#include "tuner/error.h"

namespace tuner {

namespace {

using NcclComm = void*;
using CudaStream = void*;
struct NcclUniqueId {
  char internal[128];  // NCCL_UNIQUE_ID_BYTES
};
const int kNcclSuccess = 0, kNcclInt8 = 0, kNcclFloat32 = 7, kNcclSum = 0;

struct NcclApi {
  int (*GetUniqueId)(NcclUniqueId*);
  int (*CommInitRank)(NcclComm*, int, NcclUniqueId, int);
  int (*AllReduce)(const void*, void*, size_t, int, int, NcclComm, CudaStream);
  int (*Broadcast)(const void*, void*, size_t, int, int, NcclComm, CudaStream);
  int (*CommAbort)(NcclComm);
  int (*CommDestroy)(NcclComm);
  const char* (*GetErrorString)(int);
  int (*SetDevice)(int);                 // cudart
  int (*StreamSynchronize)(CudaStream);  // cudart
  int (*Malloc)(void**, size_t);         // cudart
  int (*Free)(void*);                    // cudart
};

[[noreturn]] void unavailable(const std::string& what) {
  throw TunerError("comm_unavailable", what,
                   "Install NVIDIA's NCCL and CUDA runtime (libnccl2, libcudart), or use TUNER_COMM=mpi for CPU ranks.");
}

template <typename F>
void resolve(void* lib, F* out, const char* name) {
  *out = reinterpret_cast<F>(::dlsym(lib, name));
  if (!*out) unavailable(std::string("the NCCL/CUDA library has no symbol ") + name);
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator* bootstrap, int device) : rank_(bootstrap->rank()), size_(bootstrap->world_size()) {
    static const char* const kNccl[] = {"libnccl.so.2", "libnccl.so", nullptr};
    static const char* const kCudart[] = {"libcudart.so.12", "libcudart.so.11.0", "libcudart.so", nullptr};
    std::string why;
    void* nccl = open_library(kNccl, &why);
    if (!nccl) unavailable("NCCL could not be loaded: " + why);
    void* cudart = open_library(kCudart, &why);
    if (!cudart) unavailable("the CUDA runtime could not be loaded: " + why);
    resolve(nccl, &api_.GetUniqueId, "ncclGetUniqueId");
    resolve(nccl, &api_.CommInitRank, "ncclCommInitRank");
    resolve(nccl, &api_.AllReduce, "ncclAllReduce");
    resolve(nccl, &api_.Broadcast, "ncclBroadcast");
    resolve(nccl, &api_.CommAbort, "ncclCommAbort");
    resolve(nccl, &api_.CommDestroy, "ncclCommDestroy");
    resolve(nccl, &api_.GetErrorString, "ncclGetErrorString");
    resolve(cudart, &api_.SetDevice, "cudaSetDevice");
    resolve(cudart, &api_.StreamSynchronize, "cudaStreamSynchronize");
    resolve(cudart, &api_.Malloc, "cudaMalloc");
    resolve(cudart, &api_.Free, "cudaFree");
    if (api_.SetDevice(device) != 0) unavailable("cudaSetDevice(" + std::to_string(device) + ") failed");
    NcclUniqueId id{};
    if (rank_ == 0) check(api_.GetUniqueId(&id), "ncclGetUniqueId");
    bootstrap->broadcast(&id, sizeof id, 0);
    check(api_.CommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    if (api_.Malloc(&barrier_buf_, sizeof(float)) != 0) unavailable("cudaMalloc of 4 bytes failed");
  }
  ~NcclCommunicator() override {
    if (barrier_buf_) api_.Free(barrier_buf_);
    if (comm_) api_.CommDestroy(comm_);
  }
  const char* backend() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  void all_reduce_sum(float* device_data, size_t n) override {
    CollectiveScope in(this);
    check(api_.AllReduce(device_data, device_data, n, kNcclFloat32, kNcclSum, comm_, nullptr), "ncclAllReduce");
    sync();
  }
  void broadcast(void* device_data, size_t bytes, int root) override {
    CollectiveScope in(this);
    check(api_.Broadcast(device_data, device_data, bytes, kNcclInt8, root, comm_, nullptr), "ncclBroadcast");
    sync();
  }
  void barrier() override { all_reduce_sum(static_cast<float*>(barrier_buf_), 1); }
  [[noreturn]] void abort(int code) override {
    if (comm_) api_.CommAbort(comm_);
    std::_Exit(code);
  }

 private:
  void check(int rc, const char* what) {
    if (rc != kNcclSuccess)
      throw TunerError("rank_lost", std::string(what) + " failed: " + api_.GetErrorString(rc),
                       "A rank of the data-parallel run ended or its GPU failed; resume from the last checkpoint.");
  }
  void sync() {
    if (api_.StreamSynchronize(nullptr) != 0)
      throw TunerError("rank_lost", "cudaStreamSynchronize after a collective failed", "Resume from the last checkpoint.");
  }
  NcclApi api_{};
  NcclComm comm_ = nullptr;
  void* barrier_buf_ = nullptr;
  int rank_, size_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator* bootstrap, int device) {
  return std::make_unique<NcclCommunicator>(bootstrap, device);
}

}  // namespace tuner
