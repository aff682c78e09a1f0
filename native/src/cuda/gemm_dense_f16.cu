// Dense GEMM kernels with fp16 inputs (every layout and tile size).
#include "cuda/gemm_launch.cuh"

namespace tuner::cuda::gemm_detail {

void launch_dense_f16(const DenseArgs& a, cudaStream_t stream) { launch_dense<__half>(a, stream); }

}  // namespace tuner::cuda::gemm_detail
