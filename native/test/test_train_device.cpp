// tuner-train's device choice (train_device.h) for each plan device on a machine with and without
// a CUDA device: cpu always trains on the CPU; auto trains on the CPU and says why (no device, or
// a device this build cannot train on yet); cuda is refused with the code and fix for each case,
// never trained on the CPU in its place. The machine's own answer is test_cuda_device's.
#include "check_macros.h"
#include "tuner/train_device.h"

using namespace tuner;

int main() {
  CudaRuntimeInfo none;
  none.built_with_cuda = true;
  none.reason = "no NVIDIA driver found";
  CudaRuntimeInfo one = none;
  one.reason.clear();
  CudaDevice h100;
  h100.name = "NVIDIA H100 80GB HBM3";
  h100.cc_major = 9;
  h100.sm_count = 132;
  one.devices.push_back(h100);

  RunPlan plan;
  plan.device = "cpu";
  for (const CudaRuntimeInfo* cuda : {&none, &one}) {
    const TrainDevice d = choose_train_device(plan, *cuda, "Test CPU");
    EXPECT(d.kind == "cpu" && d.name == "Test CPU" && d.reason == "device is \"cpu\" in the plan");
  }

  plan.device = "auto";
  TrainDevice d = choose_train_device(plan, none, "Test CPU");
  EXPECT(d.kind == "cpu" && d.reason == "no CUDA device (no NVIDIA driver found)");
  d = choose_train_device(plan, one, "Test CPU");
  EXPECT(d.kind == "cpu");
  EXPECT(d.reason.find("NVIDIA H100 80GB HBM3 found, but this build of tuner-train trains on the CPU only so far") == 0);

  plan.device = "cuda";
  expect_error(__FILE__, __LINE__, [&] { choose_train_device(plan, none, "Test CPU"); }, "no_cuda_device",
               "device is \"cuda\", but this machine has no CUDA device (no NVIDIA driver found)");
  expect_error(__FILE__, __LINE__, [&] { choose_train_device(plan, one, "Test CPU"); }, "cuda_training_unavailable",
               "NVIDIA H100 80GB HBM3 is present, but this build of tuner-train trains on the CPU only so far");
  try {
    choose_train_device(plan, one, "Test CPU");
  } catch (const TunerError& e) {
    EXPECT(e.hint().find("Set device to \"auto\" or \"cpu\"") != std::string::npos);
  }
  std::string why;
  EXPECT(!cuda_can_train(plan, h100, &why) && !why.empty());
  return finish("test_train_device");
}
