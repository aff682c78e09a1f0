// GPU probe through NVML, loaded at run time (dlopen) so the addon builds and loads on machines
// without an NVIDIA driver; there it reports why no GPU list is available.
#pragma once
#include <napi.h>

namespace tuner_addon {

// gpus() -> { available: boolean, reason?: string, gpus: [{ index, name, memoryTotalBytes,
// memoryFreeBytes, driverVersion, computeCapability }] }
Napi::Value Gpus(const Napi::CallbackInfo& info);

}  // namespace tuner_addon
