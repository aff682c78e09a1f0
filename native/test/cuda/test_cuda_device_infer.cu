// The device inference session on the GPU (cuda_ops): the cases of device_infer_cases.h, which
// test_device_infer runs on host_ops, against the CPU InferSession in fp32 with the same limits
// (split-K decode attention, the bf16 GEMV and qgemv on the GPU). Exits 77 without a device.
#include "cuda_test_util.cuh"
#include "device_infer_cases.h"

int main() {
  tuner::cuda_test::require_device();
  device_infer_cases::run_all([] { return tuner::dev::make_cuda_ops(0); }, device_infer_cases::Limits());
  return finish("test_cuda_device_infer");
}
