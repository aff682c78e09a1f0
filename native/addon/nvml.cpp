// NVML loaded with dlopen: the driver's libnvidia-ml.so.1 (nvml.dll on Windows is not handled;
// the TypeScript side falls back to nvidia-smi there). Only the handful of entry points the
// planner needs are resolved; their signatures are NVML's stable C ABI (nvml.h, CUDA 11+).
#include "nvml.h"

#include <string>

#if defined(__linux__)
#include <dlfcn.h>
#endif

namespace tuner_addon {
namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = void*;
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr nvmlReturn_t NVML_SUCCESS = 0;

using InitFn = nvmlReturn_t (*)();
using ShutdownFn = nvmlReturn_t (*)();
using CountFn = nvmlReturn_t (*)(unsigned int*);
using HandleFn = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);
using NameFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);
using MemoryFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t*);
using DriverFn = nvmlReturn_t (*)(char*, unsigned int);
using CapabilityFn = nvmlReturn_t (*)(nvmlDevice_t, int*, int*);
using ErrorStringFn = const char* (*)(nvmlReturn_t);

Napi::Object Unavailable(Napi::Env env, const std::string& reason) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", false);
  out.Set("reason", reason);
  out.Set("gpus", Napi::Array::New(env));
  return out;
}

}  // namespace

Napi::Value Gpus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if !defined(__linux__)
  return Unavailable(env, "NVML probing is implemented for Linux only");
#else
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return Unavailable(env, "libnvidia-ml.so.1 not found (no NVIDIA driver)");
  auto sym = [&](const char* name) { return dlsym(lib, name); };
  auto init = reinterpret_cast<InitFn>(sym("nvmlInit_v2"));
  auto shutdown = reinterpret_cast<ShutdownFn>(sym("nvmlShutdown"));
  auto count_fn = reinterpret_cast<CountFn>(sym("nvmlDeviceGetCount_v2"));
  auto handle_fn = reinterpret_cast<HandleFn>(sym("nvmlDeviceGetHandleByIndex_v2"));
  auto name_fn = reinterpret_cast<NameFn>(sym("nvmlDeviceGetName"));
  auto memory_fn = reinterpret_cast<MemoryFn>(sym("nvmlDeviceGetMemoryInfo"));
  auto driver_fn = reinterpret_cast<DriverFn>(sym("nvmlSystemGetDriverVersion"));
  auto capability_fn = reinterpret_cast<CapabilityFn>(sym("nvmlDeviceGetCudaComputeCapability"));
  auto error_fn = reinterpret_cast<ErrorStringFn>(sym("nvmlErrorString"));
  if (!init || !shutdown || !count_fn || !handle_fn || !name_fn || !memory_fn) {
    dlclose(lib);
    return Unavailable(env, "libnvidia-ml.so.1 lacks the NVML entry points Tuner needs (driver too old)");
  }
  const nvmlReturn_t rc = init();
  if (rc != NVML_SUCCESS) {
    std::string why = error_fn ? error_fn(rc) : std::to_string(rc);
    dlclose(lib);
    return Unavailable(env, "nvmlInit failed: " + why);
  }
  Napi::Object out = Napi::Object::New(env);
  Napi::Array gpus = Napi::Array::New(env);
  char driver[96] = {0};
  const bool have_driver = driver_fn && driver_fn(driver, sizeof(driver)) == NVML_SUCCESS;
  unsigned int n = 0;
  if (count_fn(&n) == NVML_SUCCESS) {
    for (unsigned int i = 0; i < n; ++i) {
      nvmlDevice_t dev = nullptr;
      if (handle_fn(i, &dev) != NVML_SUCCESS) continue;
      Napi::Object g = Napi::Object::New(env);
      g.Set("index", i);
      char name[96] = {0};
      g.Set("name", name_fn(dev, name, sizeof(name)) == NVML_SUCCESS ? std::string(name) : std::string("NVIDIA GPU"));
      nvmlMemory_t mem{};
      if (memory_fn(dev, &mem) == NVML_SUCCESS) {
        // Byte counts exceed 2^32; doubles hold them exactly up to 2^53.
        g.Set("memoryTotalBytes", Napi::Number::New(env, double(mem.total)));
        g.Set("memoryFreeBytes", Napi::Number::New(env, double(mem.free)));
      }
      if (have_driver) g.Set("driverVersion", std::string(driver));
      int major = 0, minor = 0;
      if (capability_fn && capability_fn(dev, &major, &minor) == NVML_SUCCESS) {
        g.Set("computeCapability", std::to_string(major) + "." + std::to_string(minor));
      }
      gpus.Set(gpus.Length(), g);
    }
  }
  shutdown();
  dlclose(lib);
  out.Set("available", true);
  out.Set("gpus", gpus);
  return out;
#endif
}

}  // namespace tuner_addon
