// Device selection for tuner-train (include/tuner/train_device.h).
#include "tuner/train_device.h"

#include "tuner/error.h"

namespace tuner {

bool cuda_can_train(const RunPlan& plan, const CudaDevice& device, std::string* why_not) {
  // The CUDA kernels (GEMM, attention, element-wise, optimizers) exist; the trainer that runs a
  // whole step on them does not yet. When it lands, this answers per plan (method, precision,
  // memory) and per device (compute capability).
  *why_not = "this build of tuner-train trains on the CPU only so far (the CUDA training path is not written yet)";
  return false;
}

TrainDevice choose_train_device(const RunPlan& plan, const CudaRuntimeInfo& cuda, const std::string& cpu_name) {
  if (plan.device == "cpu") return {"cpu", cpu_name, "device is \"cpu\" in the plan"};
  if (cuda.devices.empty()) {
    const std::string why = "no CUDA device (" + (cuda.reason.empty() ? std::string("none found") : cuda.reason) + ")";
    if (plan.device == "cuda")
      throw TunerError("no_cuda_device", "the plan's device is \"cuda\", but this machine has " + why,
                       "Set device to \"auto\" or \"cpu\" in ARGS.json to train on the CPU, or run on a machine with an "
                       "NVIDIA GPU and driver (and a Tuner built with CUDA, docs/cuda.md).");
    return {"cpu", cpu_name, why};
  }
  const CudaDevice& gpu = cuda.devices.front();
  std::string why_not;
  if (cuda_can_train(plan, gpu, &why_not)) return {"cuda", gpu.name, plan.device == "cuda" ? "device is \"cuda\" in the plan" : "a CUDA device was found"};
  if (plan.device == "cuda")
    throw TunerError("cuda_training_unavailable", "the plan's device is \"cuda\" and " + gpu.name + " is present, but " + why_not,
                     "Set device to \"auto\" or \"cpu\" in ARGS.json to train on the CPU.");
  return {"cpu", cpu_name, gpu.name + " found, but " + why_not};
}

}  // namespace tuner
