// The device model on the GPU (cuda_ops): the cases of device_model_cases.h, which
// test_device_model runs on host_ops, against the CPU engine in fp32 with the same limits.
// Checkpointing on vs off is held to 1e-5 instead of the same bits: the GPU's attention backward
// may sum in a different order from one run to the next.
#include "cuda_test_util.cuh"
#include "device_model_cases.h"

int main() {
  tuner::cuda_test::require_device();
  device_cases::Limits lim;
  lim.checkpoint_exact = false;
  device_cases::run_all([] { return tuner::dev::make_cuda_ops(0); }, lim);
  return finish("test_cuda_device_model");
}
