// What this machine offers the engine: CPU model, core and thread counts, instruction sets,
// memory and CUDA devices. The trainer reports it in its start event; the addon hands it to the extension, whose
// estimator decides what fits and how long it takes.
#pragma once
#include <cstdint>
#include <string>

#include "tuner/cpu_features.h"
#include "tuner/cuda_device.h"

namespace tuner {

struct HardwareInfo {
  std::string cpu_model;           // brand string, e.g. "AMD EPYC 7B13"
  int cores = 1;                   // physical cores this process may use
  int threads = 1;                 // logical CPUs this process may use (affinity mask)
  CpuFeatures features;
  uint64_t ram_total_bytes = 0;    // physical memory, capped by a cgroup limit if one is set
  uint64_t ram_available_bytes = 0;  // what can be allocated without swapping (MemAvailable)
  CudaRuntimeInfo cuda;            // the CUDA devices this build can use (none, with the reason, in a CPU-only build)
  std::string cublaslt;            // cuBLASLt for the GEMMs: "cuBLASLt 13.0.1 loaded from ...", "cuBLASLt not found: ..."
};

HardwareInfo probe_hardware();

}  // namespace tuner
