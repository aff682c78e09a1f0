// tuner-train's device choice (train_device.h) for each plan device on a machine with and without
// a CUDA device: cpu always trains on the CPU; auto trains on the GPU when the device path can
// train the plan there, else on the CPU saying why (no device, compute capability below 8.0,
// LOMO, DPO, data parallel, a model the device model refuses: xPos, head_dim 512); cuda is refused with the
// code, reason and fix for each case, never trained on the CPU in its place. The machine's own
// answer is test_cuda_device's; the TUNER_DEVICE_OPS=host stand-in is checked last.
#include <cstdlib>

#include "check_macros.h"
#include "tuner/train_device.h"

using namespace tuner;

namespace {

ModelConfig llama() {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.head_dim = 64;
  return c;
}

}  // namespace

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
  CudaRuntimeInfo turing = one;
  turing.devices[0].name = "Tesla T4";
  turing.devices[0].cc_major = 7;
  turing.devices[0].cc_minor = 5;

  ModelConfig model = llama();
  int config_reads = 0;
  const auto cfg = [&] {
    ++config_reads;
    return model;
  };

  RunPlan plan;
  plan.method = "lora";
  plan.device = "cpu";
  for (const CudaRuntimeInfo* cuda : {&none, &one}) {
    const TrainDevice d = choose_train_device(plan, *cuda, "Test CPU", 1, cfg);
    EXPECT(d.kind == "cpu" && d.name == "Test CPU" && d.reason == "device is \"cpu\" in the plan" && !d.on_device());
  }
  EXPECT(config_reads == 0);  // no device to decide about: config.json is not read

  // auto: the GPU for every method it trains, with any optimizer and precision.
  plan.device = "auto";
  TrainDevice d = choose_train_device(plan, none, "Test CPU", 1, cfg);
  EXPECT(d.kind == "cpu" && d.reason == "no CUDA device (no NVIDIA driver found)");
  for (const char* method : {"full", "lora", "qlora"}) {
    for (const char* precision : {"fp32", "bf16"}) {
      plan.method = method;
      plan.precision = precision;
      plan.optimizer.kind = OptimizerKind::Lion;
      d = choose_train_device(plan, one, "Test CPU", 1, cfg);
      EXPECT(d.kind == "cuda" && d.name == "NVIDIA H100 80GB HBM3" && d.reason == "a CUDA device was found" && d.on_device());
    }
  }
  EXPECT(config_reads == 6);
  plan.method = "lora";
  plan.precision = "fp32";

  // What the device path refuses: auto falls back to the CPU with the reason, cuda names it.
  struct Refusal {
    const char* what;
    std::function<void(RunPlan*, ModelConfig*, int*, const CudaRuntimeInfo**)> set;
    const char* reason;
  };
  const Refusal refusals[] = {
      {"compute capability", [&](RunPlan*, ModelConfig*, int*, const CudaRuntimeInfo** c) { *c = &turing; },
       "its compute capability is 7.5 and the training kernels need 8.0 or newer"},
      {"lomo", [](RunPlan* p, ModelConfig*, int*, const CudaRuntimeInfo**) { p->method = "lomo"; },
       "method lomo (each tensor updated inside backward) trains on the CPU only"},
      {"dpo", [](RunPlan* p, ModelConfig*, int*, const CudaRuntimeInfo**) { p->stage = "dpo"; },
       "stage dpo trains on the CPU only so far"},
      {"data parallel", [](RunPlan*, ModelConfig*, int* w, const CudaRuntimeInfo**) { *w = 2; },
       "data-parallel runs (2 ranks) train on the CPU only so far"},
      {"xpos", [](RunPlan*, ModelConfig* m, int*, const CudaRuntimeInfo**) { m->rope_scaling.type = "xpos"; },
       "xPos positions (rope_scaling xpos) do not train on a GPU yet"},
      {"head_dim", [](RunPlan*, ModelConfig* m, int*, const CudaRuntimeInfo**) { m->head_dim = 512; },
       "head_dim 512 does not train on a GPU (even, at most 256)"},
  };
  for (const Refusal& r : refusals) {
    for (const char* device : {"auto", "cuda"}) {
      RunPlan p = plan;
      p.device = device;
      model = llama();
      int world = 1;
      const CudaRuntimeInfo* cuda = &one;
      r.set(&p, &model, &world, &cuda);
      const std::string gpu = cuda->devices[0].name;
      if (p.device == "auto") {
        d = choose_train_device(p, *cuda, "Test CPU", world, cfg);
        if (!(d.kind == "cpu" && d.reason.find(gpu + " found, but " + r.reason) == 0))
          std::fprintf(stderr, "%s: auto chose %s: %s\n", r.what, d.kind.c_str(), d.reason.c_str());
        EXPECT(d.kind == "cpu" && d.reason.find(gpu + " found, but " + r.reason) == 0);
      } else {
        expect_error(__FILE__, __LINE__, [&] { choose_train_device(p, *cuda, "Test CPU", world, cfg); }, "cuda_training_unavailable",
                     "the plan's device is \"cuda\" and " + gpu + " is present, but " + r.reason);
      }
    }
  }
  model = llama();

  plan.device = "cuda";
  d = choose_train_device(plan, one, "Test CPU", 1, cfg);
  EXPECT(d.kind == "cuda" && d.reason == "device is \"cuda\" in the plan");
  expect_error(__FILE__, __LINE__, [&] { choose_train_device(plan, none, "Test CPU", 1, cfg); }, "no_cuda_device",
               "device is \"cuda\", but this machine has no CUDA device (no NVIDIA driver found)");
  plan.method = "lomo";
  try {
    choose_train_device(plan, one, "Test CPU", 1, cfg);
  } catch (const TunerError& e) {
    EXPECT(e.hint().find("Set device to \"auto\" or \"cpu\"") != std::string::npos);
  }
  std::string why;
  EXPECT(!cuda_can_train(plan, model, 1, h100, &why) && !why.empty());
  plan.method = "full";
  EXPECT(cuda_can_train(plan, model, 1, h100, &why));

  // The test hook: the CPU stand-in is the one device, whatever the machine has.
  ::setenv("TUNER_DEVICE_OPS", "host", 1);
  EXPECT(host_ops_requested());
  const CudaRuntimeInfo stand_in = train_devices();
  EXPECT(stand_in.devices.size() == 1 && stand_in.devices[0].name == "CPU (host_ops)" && stand_in.devices[0].cc_major == 8);
  ::unsetenv("TUNER_DEVICE_OPS");
  EXPECT(!host_ops_requested());
  return finish("test_train_device");
}
