// Dense GEMM kernels with bf16 inputs (every layout and tile size), compiled apart from the fp16
// ones so that the two build in parallel.
#include "cuda/gemm_launch.cuh"

namespace tuner::cuda::gemm_detail {

void launch_dense_bf16(const DenseArgs& a, cudaStream_t stream) { launch_dense<__nv_bfloat16>(a, stream); }

}  // namespace tuner::cuda::gemm_detail
