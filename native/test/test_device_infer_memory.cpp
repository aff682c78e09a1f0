// InferSession::load with device auto on a GPU too small for the model: the load falls back to
// the CPU with the reason, and device cuda reports cuda_out_of_memory. The GPU is host_ops
// (TUNER_DEVICE_OPS=host) with TUNER_HOST_OPS_MEMORY_LIMIT, which host_ops reads at its first
// allocation, so this is a process of its own.
#include <cstdlib>

#include "check_macros.h"
#include "infer_test_util.h"
#include "tuner/infer.h"

int main() {
  setenv("TUNER_DEVICE_OPS", "host", 1);
  setenv("TUNER_HOST_OPS_MEMORY_LIMIT", "65536", 1);  // 64 KiB: less than the model's weights
  TinySpec spec;
  spec.vocab = 64, spec.hidden = 64, spec.inter = 128;
  const std::string dir = write_scaled_model(fresh_dir("devinfer_memory"), spec);
  tuner::InferOptions opt;
  opt.model = dir;
  opt.context_length = 16;
  opt.device = "auto";
  auto s = tuner::InferSession::load(opt);
  EXPECT(s->info().device == "cpu");
  EXPECT(s->info().device_reason.find("CPU (host_ops) found, but the model does not fit its memory") == 0);
  const uint32_t ids[3] = {1, 2, 3};
  s->append(ids, 3);  // the CPU session works
  opt.device = "cuda";
  expect_error(__FILE__, __LINE__, [&] { tuner::InferSession::load(opt); }, "cuda_out_of_memory", "TUNER_HOST_OPS_MEMORY_LIMIT");
  return finish("test_device_infer_memory");
}
