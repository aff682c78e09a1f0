// Shared by the GPU tests (test_cuda_*.cu): each compares a CUDA kernel with the CPU engine's
// kernel (already checked against PyTorch) on seeded random inputs. Without a CUDA device a test
// exits with kSkipNoDevice, which ctest reports as skipped (SKIP_RETURN_CODE) and
// `npm run test:gpu` reports as a failure: that command is for machines with a GPU.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cuda/cuda_check.cuh"

namespace tuner::cuda_test {

constexpr int kSkipNoDevice = 77;

// Exits with kSkipNoDevice (and says why) when no usable CUDA device is present.
inline void require_device() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    std::printf("no CUDA device (%s): skipped\n", err == cudaSuccess ? "none found" : cudaGetErrorString(err));
    std::exit(kSkipNoDevice);
  }
  cudaDeviceProp prop{};
  TUNER_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
}

// Seeded uniform values in [-scale, scale) (xorshift: the same inputs on every machine).
inline std::vector<float> random_vector(size_t n, unsigned seed, float scale = 1.0f) {
  std::vector<float> v(n);
  unsigned s = seed * 2654435761u + 1u;
  for (auto& x : v) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    x = scale * (static_cast<float>(s >> 8) / 8388608.0f - 1.0f);
  }
  return v;
}

// A device copy of host data, freed when it goes out of scope.
template <typename T>
struct DeviceArray {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceArray(size_t count) : n(count) { TUNER_CUDA_CHECK(cudaMalloc(&ptr, count * sizeof(T))); }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
    TUNER_CUDA_CHECK(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceArray() { cudaFree(ptr); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  std::vector<T> to_host() const {
    std::vector<T> host(n);
    TUNER_CUDA_CHECK(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};

// Largest |a - b| relative to the largest |b| (the reference), printed with the case's name;
// returns whether it is within tol.
inline bool close_enough(const char* name, const std::vector<float>& got, const std::vector<float>& want, double tol) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_diff = std::fmax(max_diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    max_ref = std::fmax(max_ref, std::fabs(static_cast<double>(want[i])));
  }
  const double rel = max_ref > 0 ? max_diff / max_ref : max_diff;
  const bool ok = got.size() == want.size() && rel <= tol;
  std::printf("%-48s max error %.3g of the largest value (limit %.3g) %s\n", name, rel, tol, ok ? "ok" : "FAIL");
  return ok;
}

}  // namespace tuner::cuda_test
