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
