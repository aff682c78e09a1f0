// The device inference session on host_ops (the CPU engine's kernels behind the device ops): every
// case of device_infer_cases.h against the CPU InferSession. The GPU runs the same cases in
// test/cuda/test_cuda_device_infer.cu. Then InferSession::load's device choice: cpu, cuda and auto
// under TUNER_DEVICE_OPS=host (the stand-in as the GPU), auto's fallback with its reason, and
// the refusals of an unknown device and of cuda without a device.
#include <cstdlib>

#include "device_infer_cases.h"
#include "tuner/cuda_device.h"

using namespace device_infer_cases;

namespace {

void device_choice() {
  const std::string dir = write_scaled_model(fresh_dir("devinfer_choice"), base_spec());
  InferOptions opt = options(dir, "", QuantType::F32);
  EXPECT(InferSession::load(opt)->info().device == "cpu");  // the default
  EXPECT(InferSession::load(opt)->info().device_reason == "device is \"cpu\"");
  opt.device = "gpu";
  expect_error(__FILE__, __LINE__, [&] { InferSession::load(opt); }, "bad_device", "not one of cpu, cuda, auto");

  // Without the hook on a machine without a GPU: cuda is refused, auto generates on the CPU.
  unsetenv("TUNER_DEVICE_OPS");
  if (tuner::cuda_runtime_info().devices.empty()) {
    opt.device = "cuda";
    expect_error(__FILE__, __LINE__, [&] { InferSession::load(opt); }, "no_cuda_device", "no CUDA device");
    opt.device = "auto";
    auto s = InferSession::load(opt);
    EXPECT(s->info().device == "cpu");
    EXPECT(s->info().device_reason.find("no CUDA device") == 0);
  }

  // Under the hook the stand-in is the GPU: cuda and auto generate on it, the same tokens.
  setenv("TUNER_DEVICE_OPS", "host", 1);
  opt.device = "cuda";
  auto dev = InferSession::load(opt);
  EXPECT(dev->info().device == "host_ops");
  EXPECT(dev->info().device_name == "CPU (host_ops)");
  EXPECT(dev->info().kernel.find("bf16") != std::string::npos);
  opt.device = "auto";
  EXPECT(InferSession::load(opt)->info().device == "host_ops");
  // A model the device path does not run: auto falls back with the reason, cuda is refused.
  edit_config(dir, "rope_scaling", tuner::Json::parse(R"({"type": "xpos"})", "test"));
  auto fallback = InferSession::load(opt);
  EXPECT(fallback->info().device == "cpu");
  EXPECT(fallback->info().device_reason.find("CPU (host_ops) found, but xPos positions") == 0);
  opt.device = "cuda";
  expect_error(__FILE__, __LINE__, [&] { InferSession::load(opt); }, "cuda_inference_unavailable", "xPos positions");
  unsetenv("TUNER_DEVICE_OPS");
}

// Every architecture and layout the device model trains generates on the device too; what it
// refuses (xPos, fused per-head q/k/v with fewer key/value heads) is named, so auto generates it
// on the CPU.
void other_architectures() {
  tuner::ModelConfig c;
  c.head_dim = 64;
  InferOptions opt;
  for (const char* arch : {"LlamaForCausalLM", "Qwen3ForCausalLM", "Gemma3ForCausalLM", "GPT2LMHeadModel", "BloomForCausalLM"}) {
    c.architecture = arch;
    EXPECT(tuner::dev::device_infer_unsupported(c, opt).empty());
  }
  c.rope_scaling.type = "dynamic";
  EXPECT(tuner::dev::device_infer_unsupported(c, opt).empty());
  c.rope_scaling.type = "xpos";
  EXPECT(tuner::dev::device_infer_unsupported(c, opt).find("xPos") != std::string::npos);
  c.rope_scaling.type = "none";
  c.architecture = "BloomForCausalLM", c.qkv = tuner::QkvLayout::FusedPerHead, c.num_heads = 4, c.num_kv_heads = 2;
  EXPECT(tuner::dev::device_infer_unsupported(c, opt).find("fewer key/value heads") != std::string::npos);
  c.architecture = "FalconForCausalLM";
  EXPECT(tuner::dev::device_infer_unsupported(c, opt).find("FalconForCausalLM") != std::string::npos);
}

}  // namespace

int main() {
  run_all([] { return tuner::dev::make_host_ops(); }, Limits());
  device_choice();
  other_architectures();
  return finish("test_device_infer");
}
