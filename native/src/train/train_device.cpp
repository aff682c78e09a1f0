// Device selection for tuner-train (include/tuner/train_device.h).
#include "tuner/train_device.h"

#include <cstdlib>

#include "device/device_model.h"
#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner {

namespace {

constexpr const char* kHostOpsName = "CPU (host_ops)";

}  // namespace

bool cuda_can_train(const RunPlan& plan, const ModelConfig& model, int world_size, const CudaDevice& device,
                    std::string* why_not) {
  // The training kernels use bf16 tensor-core instructions (mma.sync m16n8k16 bf16, cp.async)
  // that need Ampere or newer.
  if (device.cc_major < 8) {
    *why_not = "its compute capability is " + std::to_string(device.cc_major) + "." + std::to_string(device.cc_minor) +
               " and the training kernels need 8.0 or newer (Ampere, Ada, Hopper)";
    return false;
  }
  if (plan.is_lomo()) {
    *why_not = "method lomo (each tensor updated inside backward) trains on the CPU only; the GPU path trains full, lora and qlora";
    return false;
  }
  if (plan.method != "full" && !plan.is_lora()) {
    *why_not = "method " + plan.method + " is not trained on the GPU; the GPU path trains full, lora and qlora";
    return false;
  }
  if (plan.is_dpo()) {
    *why_not = "stage dpo trains on the CPU only so far; the GPU path trains stage sft";
    return false;
  }
  if (world_size > 1) {
    *why_not = "data-parallel runs (" + std::to_string(world_size) + " ranks) train on the CPU only so far; the GPU path trains one process on one GPU";
    return false;
  }
  const std::string model_why = dev::device_model_unsupported(model);
  if (!model_why.empty()) {
    *why_not = model_why;
    return false;
  }
  return true;
}

TrainDevice choose_train_device(const RunPlan& plan, const CudaRuntimeInfo& cuda, const std::string& cpu_name,
                                int world_size, const std::function<ModelConfig()>& model_config) {
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
  if (cuda_can_train(plan, model_config(), world_size, gpu, &why_not))
    return {"cuda", gpu.name, plan.device == "cuda" ? "device is \"cuda\" in the plan" : "a CUDA device was found"};
  if (plan.device == "cuda")
    throw TunerError("cuda_training_unavailable", "the plan's device is \"cuda\" and " + gpu.name + " is present, but " + why_not,
                     "Set device to \"auto\" or \"cpu\" in ARGS.json to train on the CPU.");
  return {"cpu", cpu_name, gpu.name + " found, but " + why_not};
}

bool host_ops_requested() {
  const char* v = std::getenv("TUNER_DEVICE_OPS");
  return v && std::string(v) == "host";
}

CudaRuntimeInfo train_devices() {
  if (!host_ops_requested()) return cuda_runtime_info();
  CudaRuntimeInfo info;
  CudaDevice stand_in;
  stand_in.name = kHostOpsName;
  stand_in.cc_major = 8;  // runs whatever the GPU path runs
  info.devices.push_back(stand_in);
  return info;
}

TrainDevice choose_train_device_for_run(const RunPlan& plan, const std::string& cpu_name, int world_size) {
  // The model as it would train: config.json with the plan's rope_scaling override applied.
  const auto model_config = [&] {
    ModelConfig c = load_model_config(plan.model_dir);
    if (!plan.rope_scaling.empty())
      c.rope_scaling = parse_rope_scaling(Json::parse(plan.rope_scaling, "plan rope_scaling"), "plan", "rope_scaling",
                                          c.max_position_embeddings);
    return c;
  };
  TrainDevice d = choose_train_device(plan, train_devices(), cpu_name, world_size, model_config);
  if (d.kind == "cuda" && host_ops_requested()) {
    d.kind = "host_ops";
    d.reason = "TUNER_DEVICE_OPS=host: the GPU path on the CPU stand-in of the device ops (a test hook)";
  }
  return d;
}

}  // namespace tuner
