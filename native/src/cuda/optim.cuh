// CUDA optimizer updates: the CPU engine's AdamW, Lion and SGD (vector_kernels.h) on device
// memory, each element through the same formula (kernels/elementwise_math.h) with the same
// per-step scalars the CPU optimizer computes (AdamWScalars, LionScalars, SgdScalars).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/vector_kernels.h"

namespace tuner::cuda {

void adamw_update(float* w, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s, cudaStream_t stream = 0);
void lion_update(float* w, float* m, const float* g, int64_t n, const LionScalars& s, cudaStream_t stream = 0);
// buf null: no momentum buffer (plain SGD).
void sgd_update(float* w, float* buf, const float* g, int64_t n, const SgdScalars& s, cudaStream_t stream = 0);

}  // namespace tuner::cuda
