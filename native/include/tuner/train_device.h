// Where tuner-train trains a plan (the plan's `device`: auto, cpu or cuda) on this machine's CUDA
// devices (docs/cuda.md "tuner-train on the GPU"). The GPU path trains sft with full, lora or
// qlora on a Llama-family model (device/device_model.h) on one GPU of compute capability 8.0 or
// newer; everything else trains on the CPU: auto says why it chose the CPU, and cuda is refused
// with the reason and the fix rather than silently trained on the CPU.
#pragma once
#include <functional>
#include <string>

#include "tuner/cuda_device.h"
#include "tuner/model.h"
#include "tuner/train.h"

namespace tuner {

struct TrainDevice {
  // "cpu", "cuda", or "host_ops": the device path on the CPU stand-in of the device ops
  // (TUNER_DEVICE_OPS=host, a test hook).
  std::string kind;
  std::string name;    // the CPU model or the GPU's name ("CPU (host_ops)" for the stand-in)
  std::string reason;  // why this device: "device is \"cpu\" in the plan", "no CUDA device: ...", ...
  bool on_device() const { return kind == "cuda" || kind == "host_ops"; }
};

// Whether the device path trains `plan` (on a model of config `model`, over `world_size` ranks)
// on CUDA device `device`; when not, *why_not says why.
bool cuda_can_train(const RunPlan& plan, const ModelConfig& model, int world_size, const CudaDevice& device,
                    std::string* why_not);

// The device for `plan` given the CUDA runtime's view and the CPU's name; model_config is asked
// (config.json read) only when there is a device to decide about. Throws TunerError
// no_cuda_device (cuda asked for, no usable device) or cuda_training_unavailable (cuda asked for,
// a device is present, but the device path cannot train this plan), each naming the fix.
TrainDevice choose_train_device(const RunPlan& plan, const CudaRuntimeInfo& cuda, const std::string& cpu_name,
                                int world_size, const std::function<ModelConfig()>& model_config);

// TUNER_DEVICE_OPS=host: a test hook that makes tuner-train take the device path on host_ops
// (the CPU engine's kernels behind the device ops) as if it were a GPU of compute capability 8.0.
bool host_ops_requested();
// The devices tuner-train chooses among: cuda_runtime_info(), or the stand-in alone under the hook.
CudaRuntimeInfo train_devices();
// choose_train_device on train_devices(), the stand-in's choice named kind "host_ops".
TrainDevice choose_train_device_for_run(const RunPlan& plan, const std::string& cpu_name, int world_size);

}  // namespace tuner
