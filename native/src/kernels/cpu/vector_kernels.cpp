// Picks the vector-kernel table for this CPU once (see vector_kernels.h).
#include "kernels/cpu/vector_kernels.h"

#include "tuner/cpu_features.h"

namespace tuner {

// 16 lanes make the exp-bound softmax and cross-entropy rows, SwiGLU and GELU twice as wide per
// instruction, and give the AVX2 table's bits there: the softmax rows step over 16 elements
// whatever the width, and the element-wise kernels and optimizer updates treat each element
// alike. The kernels whose sums run across a vector's lanes (RMSNorm and LayerNorm rows, decode
// attention's scores) would change the order of those sums, and with it a training run's last
// bits: enough to move an 8-step full DPO fine-tune from 3.9e-4 to 1.6e-3 of the update away from
// PyTorch's (trainer-dpo allows 5e-4). The norm rows are bound by memory, so the AVX2 table's
// own serve, and the whole table computes the AVX2 table's bits (test_vk_tables_agree).
const VectorKernels& vector_kernels_avx512() {
  static const VectorKernels table = [] {
    VectorKernels k = vector_kernels_avx512_all_wide();
    const VectorKernels& narrow = vector_kernels_avx2();
    k.rmsnorm_forward_rows = narrow.rmsnorm_forward_rows;
    k.add_rmsnorm_forward_rows = narrow.add_rmsnorm_forward_rows;
    k.rmsnorm_backward_rows = narrow.rmsnorm_backward_rows;
    k.layernorm_forward_rows = narrow.layernorm_forward_rows;
    k.layernorm_backward_rows = narrow.layernorm_backward_rows;
    k.attention_scores = narrow.attention_scores;
    return k;
  }();
  return table;
}

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
