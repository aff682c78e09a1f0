// Picks the vector-kernel table for this CPU once (see vector_kernels.h).
#include "kernels/cpu/vector_kernels.h"

#include "tuner/cpu_features.h"

namespace tuner {

const VectorKernels& vector_kernels() {
  static const VectorKernels& best = []() -> const VectorKernels& {
    const CpuFeatures& f = cpu_features();
    if (f.avx2 && f.fma && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) return vector_kernels_avx512();
    if (f.avx2 && f.fma) return vector_kernels_avx2();
    return vector_kernels_generic();
  }();
  return best;
}

}  // namespace tuner
