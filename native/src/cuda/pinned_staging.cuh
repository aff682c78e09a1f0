// Uploads of small host arrays (a micro-batch's tokens, targets, loss mask, record starts and
// positions; RoPE tables) through page-locked memory: the bytes are copied into a pinned slot and
// a DMA transfer is queued on the stream, so the upload neither waits for the work queued before
// it (the previous step's backward and optimizer) nor makes the GPU wait for the host, and the
// caller's memory is free again when upload() returns, as DeviceOps requires. A slot is reused
// only after its transfer has completed (an event per slot); weights, uploaded once and larger
// than a slot, go through the plain synchronous copy instead.
#pragma once
#include <cuda_runtime.h>

#include <cstring>

#include "cuda/cuda_check.cuh"
#include "tuner/cuda_device.h"

namespace tuner::cuda {

class PinnedStaging {
 public:
  static constexpr size_t kSlotBytes = size_t(4) << 20;
  static constexpr int kSlots = 8;  // more than one forward's uploads, so a step never waits on its own copies

  PinnedStaging() = default;
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;
  ~PinnedStaging() {
    for (Slot& s : slots_)
      if (s.done) {
        cudaEventSynchronize(s.done);
        cudaEventDestroy(s.done);
      }
  }

  static bool fits(size_t bytes) { return bytes <= kSlotBytes; }

  // Queues dst <- src (bytes <= kSlotBytes) on `stream`; src may be reused when this returns.
  void upload(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
    Slot& s = slots_[next_];
    next_ = (next_ + 1) % kSlots;
    if (!s.done) {
      s.buffer = PinnedHostBuffer(kSlotBytes);
      TUNER_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
    } else {
      TUNER_CUDA_CHECK(cudaEventSynchronize(s.done));  // its last transfer has been read out
    }
    std::memcpy(s.buffer.data(), src, bytes);
    TUNER_CUDA_CHECK(cudaMemcpyAsync(dst, s.buffer.data(), bytes, cudaMemcpyHostToDevice, stream));
    TUNER_CUDA_CHECK(cudaEventRecord(s.done, stream));
  }

 private:
  struct Slot {
    PinnedHostBuffer buffer;
    cudaEvent_t done = nullptr;
  };
  Slot slots_[kSlots];
  int next_ = 0;
};

}  // namespace tuner::cuda
