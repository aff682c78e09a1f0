// Node addon: the native engine's in-process entry points. In the extension host only cheap,
// safe calls run (version, hardware probe, the sgemm speed probe on a worker thread:
// throughput.cpp); training runs in the tuner-train child process and inference (inferLoad,
// infer.cpp) in a forked worker, so a native fault can never take the extension host down.
#include <napi.h>

#include "tuner/gemm.h"
#include "tuner/hardware_info.h"
#include "infer.h"
#include "nvml.h"
#include "throughput.h"

#ifndef TUNER_VERSION
#define TUNER_VERSION "0.0.0"
#endif

namespace {

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TUNER_VERSION);
}

// The CUDA runtime's view (native/include/tuner/cuda_device.h): what this build can train on,
// unlike NVML's list (gpus()), which also shows GPUs a CPU-only build cannot use.
Napi::Object CudaInfo(Napi::Env env, const tuner::CudaRuntimeInfo& cuda) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("builtWithCuda", cuda.built_with_cuda);
  out.Set("driverVersion", tuner::cuda_version_text(cuda.driver_version));
  out.Set("runtimeVersion", tuner::cuda_version_text(cuda.runtime_version));
  if (!cuda.reason.empty()) out.Set("reason", cuda.reason);
  Napi::Array devices = Napi::Array::New(env);
  for (const tuner::CudaDevice& d : cuda.devices) {
    Napi::Object g = Napi::Object::New(env);
    g.Set("index", d.index);
    g.Set("name", d.name);
    g.Set("computeCapability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
    g.Set("smCount", d.sm_count);
    g.Set("clockKHz", d.clock_khz);
    g.Set("memoryTotalBytes", Napi::Number::New(env, double(d.total_memory_bytes)));
    g.Set("memoryFreeBytes", Napi::Number::New(env, double(d.free_memory_bytes)));
    g.Set("bf16PeakTflops", d.peak.bf16_tflops);
    g.Set("bf16PeakSource", d.peak.source);
    devices.Set(devices.Length(), g);
  }
  out.Set("devices", devices);
  return out;
}

Napi::Value Hardware(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const tuner::HardwareInfo hw = tuner::probe_hardware();
  Napi::Object features = Napi::Object::New(env);
  features.Set("avx2", hw.features.avx2);
  features.Set("fma", hw.features.fma);
  features.Set("f16c", hw.features.f16c);
  features.Set("avx512f", hw.features.avx512f);
  features.Set("avx512bw", hw.features.avx512bw);
  features.Set("avx512dq", hw.features.avx512dq);
  features.Set("avx512vl", hw.features.avx512vl);
  features.Set("avx512bf16", hw.features.avx512_bf16);
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpuModel", hw.cpu_model);
  out.Set("cores", hw.cores);
  out.Set("threads", hw.threads);
  out.Set("features", features);
  // Byte counts exceed 2^32; doubles hold them exactly up to 2^53 (8 PiB).
  out.Set("ramTotalBytes", Napi::Number::New(env, double(hw.ram_total_bytes)));
  out.Set("ramAvailableBytes", Napi::Number::New(env, double(hw.ram_available_bytes)));
  out.Set("gemmKernel", tuner::sgemm_kernel_name());
  Napi::Object cuda = CudaInfo(env, hw.cuda);
  cuda.Set("cublasLt", hw.cublaslt);
  out.Set("cuda", cuda);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("hardware", Napi::Function::New(env, Hardware, "hardware"));
  exports.Set("gpus", Napi::Function::New(env, tuner_addon::Gpus, "gpus"));
  exports.Set("measureCpuThroughput", Napi::Function::New(env, tuner_addon::MeasureCpuThroughput, "measureCpuThroughput"));
  tuner_addon::InitInfer(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tuner, Init)
