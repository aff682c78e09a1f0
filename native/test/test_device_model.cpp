// The device model (src/device) on host_ops, the CPU engine's kernels behind the device-ops
// interface: every case of device_model_cases.h against the CPU LlamaModel in fp32. The GPU runs
// the same cases in test/cuda/test_cuda_device_model.cu.
#include "device_model_cases.h"

int main() {
  device_cases::run_all([] { return tuner::dev::make_host_ops(); }, device_cases::Limits());
  return finish("test_device_model");
}
