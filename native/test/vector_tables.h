// The vector-kernel tables this CPU can run (generic always, AVX2 and AVX-512 when present), so each kernel
// test checks every compiled variant against the same reference, not just the one in use.
#pragma once
#include <vector>

#include "kernels/cpu/vector_kernels.h"
#include "tuner/cpu_features.h"

inline std::vector<const tuner::VectorKernels*> runnable_vector_tables() {
  std::vector<const tuner::VectorKernels*> tables{&tuner::vector_kernels_generic()};
  const tuner::CpuFeatures& f = tuner::cpu_features();
  if (f.avx2 && f.fma) tables.push_back(&tuner::vector_kernels_avx2());
  if (f.avx2 && f.fma && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl)
    tables.push_back(&tuner::vector_kernels_avx512());
  return tables;
}
