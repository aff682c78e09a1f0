// A CPU-only build's make_cuda_ops (device_ops.h): there is no CUDA backend to make, so asking
// for one is the no_cuda_device error that the trainer turns into its event (device auto falls
// back to the CPU before it gets here). Replaced by src/cuda/cuda_ops.cu when CMake finds CUDA.
#include <string>

#include "device/device_ops.h"
#include "tuner/error.h"

namespace tuner {
namespace dev {

std::unique_ptr<DeviceOps> make_cuda_ops(int device) {
  throw TunerError("no_cuda_device", "CUDA device " + std::to_string(device) + ": this build has no CUDA backend",
                   "Set device to auto or cpu in ARGS.json, or build Tuner with the CUDA toolkit installed (docs/cuda.md).");
}

}  // namespace dev
}  // namespace tuner
