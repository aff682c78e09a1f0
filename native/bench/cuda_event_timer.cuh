// The CUDA benchmarks' timer: the median of `reps` calls of fn, each timed with CUDA events on
// the default stream, after `warmup` untimed calls (the first launches load modules and caches).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "cuda/cuda_check.cuh"

inline double median_event_ms(const std::function<void()>& fn, int reps, int warmup) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaEvent_t start, stop;
  TUNER_CUDA_CHECK(cudaEventCreate(&start));
  TUNER_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    TUNER_CUDA_CHECK(cudaEventRecord(start));
    fn();
    TUNER_CUDA_CHECK(cudaEventRecord(stop));
    TUNER_CUDA_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    TUNER_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  TUNER_CUDA_CHECK(cudaEventDestroy(start));
  TUNER_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
