// Where tuner-train trains a plan (the plan's `device`: auto, cpu or cuda) on this machine's CUDA
// devices. The CUDA training path is not written yet (docs/cuda.md), so a plan only ever trains on
// the CPU: auto says why it chose the CPU, and cuda is refused with the fix rather than silently
// trained on the CPU.
#pragma once
#include <string>

#include "tuner/cuda_device.h"
#include "tuner/train.h"

namespace tuner {

struct TrainDevice {
  std::string kind;    // "cpu" (the only one so far) or "cuda"
  std::string name;    // the CPU model or the GPU's name
  std::string reason;  // why this device: "device is \"cpu\" in the plan", "no CUDA device: ...", ...
};

// Whether this build trains `plan` on CUDA device `device`; when not, *why_not says why.
bool cuda_can_train(const RunPlan& plan, const CudaDevice& device, std::string* why_not);

// The device for `plan` given the CUDA runtime's view and the CPU's name. Throws TunerError
// no_cuda_device (cuda asked for, no usable device) or cuda_training_unavailable (cuda asked for,
// a device is present, but this build cannot train the plan on it), each naming the fix.
TrainDevice choose_train_device(const RunPlan& plan, const CudaRuntimeInfo& cuda, const std::string& cpu_name);

}  // namespace tuner
